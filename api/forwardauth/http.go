package forwardauth

import (
	"context"
	"net/http"
	"strings"

	"warden"
	"warden/api/grpcapi"
	"warden/api/restapi"
	"warden/authn"
)

// Method is the name forward auth runs under through the interceptor chain
// (request id, log line, metrics). It is public there: the credential it
// checks is the forwarded request's, through Check.
const Method = "/warden.forwardauth.v1.ForwardAuth/Check"

// Path is where wardend serves forward auth, for any method.
const Path = "/warden/v1/forwardAuth"

// Handler serves forward auth for nginx auth_request, Caddy forward_auth
// and Traefik ForwardAuth: 200 with the X-Warden-Subject-* headers, 401
// with WWW-Authenticate, 403; the body of a refusal is google.rpc.Status
// JSON.
func (c *Checker) Handler(srv *grpcapi.Server) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		id := grpcapi.NewRequestID()
		w.Header().Set("X-Request-Id", id)
		var p authn.Principal
		var checkErr error
		err := srv.Handle(grpcapi.WithRequestID(restapi.Incoming(r), id), Method, func(ctx context.Context) error {
			o, err := c.fromHTTP(r)
			if err != nil {
				checkErr = err
				return err
			}
			p, checkErr = c.Check(ctx, o)
			return checkErr
		})
		if err != nil {
			if warden.IsCode(checkErr, warden.Unauthenticated) {
				w.Header().Set("WWW-Authenticate", Challenge)
			}
			restapi.WriteError(w, err, id)
			return
		}
		w.Header().Set(HeaderSubjectID, p.ID)
		w.Header().Set(HeaderSubjectType, p.Type)
		w.Header().Set(HeaderCredential, p.Credential)
		w.WriteHeader(http.StatusOK)
	})
}

// fromHTTP reads the original request from the headers the proxy set.
// nginx is told to set the X-Original-* ones, Caddy and Traefik set the
// X-Forwarded-* ones; a client can send either family itself, so when
// both are there they must agree, and none may be repeated.
func (c *Checker) fromHTTP(r *http.Request) (*Original, error) {
	method, err := original(r.Header, "X-Original-Method", "X-Forwarded-Method")
	if err != nil {
		return nil, err
	}
	uri, err := original(r.Header, "X-Original-Uri", "X-Forwarded-Uri")
	if err != nil {
		return nil, err
	}
	host, err := original(r.Header, "X-Original-Host", "X-Forwarded-Host")
	if err != nil {
		return nil, err
	}
	if host == "" {
		host = r.Host // Caddy passes the client's Host through
	}
	md := make(authn.MD, len(r.Header))
	for k, v := range r.Header {
		md[strings.ToLower(k)] = v
	}
	// The proxy's request to Warden has no body, so its Content-Length is
	// not the client's; a signature may cover the client's, which nginx
	// passes as X-Original-Content-Length.
	delete(md, "content-length")
	if v := r.Header.Values("X-Original-Content-Length"); len(v) == 1 && v[0] != "" {
		md["content-length"] = v
	}
	chain := append([]string{r.RemoteAddr}, forwardedFor(r.Header.Values("X-Forwarded-For"))...)
	return &Original{
		Method: strings.ToUpper(method), URI: uri, Host: host, Header: md,
		Client: c.client(chain, r.Header.Get("X-Real-Ip")),
	}, nil
}

// original returns the value of the first header, or of the second, which
// must agree when both are sent.
func original(h http.Header, a, b string) (string, error) {
	va, vb := h.Values(a), h.Values(b)
	if len(va) > 1 || len(vb) > 1 {
		return "", warden.Errorf(warden.PermissionDenied, "access denied: %s or %s is repeated", a, b)
	}
	switch {
	case len(va) == 1 && len(vb) == 1 && va[0] != vb[0]:
		return "", warden.Errorf(warden.PermissionDenied, "access denied: %s and %s disagree", a, b)
	case len(va) == 1:
		return va[0], nil
	case len(vb) == 1:
		return vb[0], nil
	}
	return "", nil
}
