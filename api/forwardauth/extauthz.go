package forwardauth

import (
	"context"
	"crypto/sha256"
	"encoding/hex"
	"strings"

	corev3 "github.com/envoyproxy/go-control-plane/envoy/config/core/v3"
	authv3 "github.com/envoyproxy/go-control-plane/envoy/service/auth/v3"
	typev3 "github.com/envoyproxy/go-control-plane/envoy/type/v3"
	rpcstatus "google.golang.org/genproto/googleapis/rpc/status"
	"google.golang.org/grpc/peer"
	"google.golang.org/protobuf/encoding/protojson"

	"warden"
	"warden/api/grpcapi"
	"warden/authn"
	"warden/sigv4"
)

// ExtAuthzMethod is Envoy's ext_authz method; wardend serves it on its own
// port. It is public in the interceptor chain: the credential it checks is
// the one in the request Envoy describes.
const ExtAuthzMethod = "/envoy.service.auth.v3.Authorization/Check"

// ExtAuthz serves Envoy's envoy.service.auth.v3.Authorization.
type ExtAuthz struct {
	authv3.UnimplementedAuthorizationServer
	c *Checker
}

// ExtAuthz returns the ext_authz server of c.
func (c *Checker) ExtAuthz() *ExtAuthz { return &ExtAuthz{c: c} }

// Check implements authv3.AuthorizationServer. A refusal is an answer, not
// an error: a CheckResponse with a DeniedResponse of 401 or 403, which
// Envoy sends the client. Only a request that does not describe an HTTP
// request is an error.
func (x *ExtAuthz) Check(ctx context.Context, req *authv3.CheckRequest) (*authv3.CheckResponse, error) {
	h := req.GetAttributes().GetRequest().GetHttp()
	if h == nil {
		return nil, warden.Errorf(warden.InvalidArgument, "attributes.request.http: ext_authz of HTTP requests only")
	}
	o := &Original{Method: strings.ToUpper(h.GetMethod()), URI: h.GetPath(), Host: h.GetHost(), Header: extHeaders(h)}
	o.BodyHash = bodyHash(h, o.Header)
	chain := []string{""}
	if p, ok := peer.FromContext(ctx); ok {
		chain[0] = p.Addr.String()
	}
	if src := req.GetAttributes().GetSource().GetAddress().GetSocketAddress(); src.GetAddress() != "" {
		chain = append(chain, src.GetAddress())
	}
	chain = append(chain, forwardedFor(o.Header["x-forwarded-for"])...)
	o.Client = x.c.client(chain, o.Header.Get("x-real-ip"))
	p, err := x.c.Check(ctx, o)
	if err != nil {
		if warden.IsCode(err, warden.InvalidArgument) {
			return nil, err
		}
		// The interceptor logs the reason and counts the call under its
		// code only for an error; a denial is an answer, so log it here.
		x.c.logRefusal(ctx, err)
		return denied(err, grpcapi.RequestID(ctx)), nil
	}
	return &authv3.CheckResponse{
		Status: &rpcstatus.Status{},
		HttpResponse: &authv3.CheckResponse_OkResponse{OkResponse: &authv3.OkHttpResponse{
			Headers: []*corev3.HeaderValueOption{
				overwrite(HeaderSubjectID, p.ID), overwrite(HeaderSubjectType, p.Type), overwrite(HeaderCredential, p.Credential),
			},
		}},
	}, nil
}

func overwrite(k, v string) *corev3.HeaderValueOption {
	return &corev3.HeaderValueOption{
		Header:       &corev3.HeaderValue{Key: k, Value: v},
		AppendAction: corev3.HeaderValueOption_OVERWRITE_IF_EXISTS_OR_ADD,
	}
}

// denied is the answer Envoy sends the client for a refusal: 401 with
// WWW-Authenticate or 403, and the google.rpc.Status JSON wardend's REST
// API answers.
func denied(err error, requestID string) *authv3.CheckResponse {
	st := grpcapi.Status(err, requestID)
	code := typev3.StatusCode_Forbidden
	var headers []*corev3.HeaderValueOption
	if warden.IsCode(err, warden.Unauthenticated) {
		code = typev3.StatusCode_Unauthorized
		headers = append(headers, overwrite("WWW-Authenticate", Challenge))
	}
	body, _ := protojson.Marshal(st.Proto())
	return &authv3.CheckResponse{
		Status: st.Proto(),
		HttpResponse: &authv3.CheckResponse_DeniedResponse{DeniedResponse: &authv3.DeniedHttpResponse{
			Status:  &typev3.HttpStatus{Code: code},
			Headers: append(headers, overwrite("Content-Type", "application/json")),
			Body:    string(body),
		}},
	}
}

// extHeaders returns the described request's headers: the map Envoy sends
// by default, or the raw list of encode_raw_headers.
func extHeaders(h *authv3.AttributeContext_HttpRequest) authn.MD {
	md := make(authn.MD, len(h.GetHeaders()))
	for k, v := range h.GetHeaders() {
		md[strings.ToLower(k)] = []string{v}
	}
	for _, hv := range h.GetHeaderMap().GetHeaders() {
		k := strings.ToLower(hv.GetKey())
		v := hv.GetValue()
		if len(hv.GetRawValue()) > 0 {
			v = string(hv.GetRawValue())
		}
		md[k] = append(md[k], v)
	}
	// The request target is in the path, but Envoy also lists pseudo
	// headers; they are never signed.
	for k := range md {
		if strings.HasPrefix(k, ":") {
			delete(md, k)
		}
	}
	return md
}

// bodyHash is the hex SHA-256 of the body when Envoy buffered it whole
// (with_request_body), which lets a signature over the body (SES-style
// SigV4) be checked; "" when it did not. A request Envoy says is empty has
// the empty body's hash.
func bodyHash(h *authv3.AttributeContext_HttpRequest, md authn.MD) string {
	if md.Get("x-envoy-auth-partial-body") == "true" {
		return "" // cut at max_request_bytes: not the body that was signed
	}
	body := h.GetRawBody()
	if len(body) == 0 && h.GetBody() != "" {
		body = []byte(h.GetBody())
	}
	switch {
	case len(body) > 0 && (h.GetSize() < 0 || h.GetSize() == int64(len(body))):
		sum := sha256.Sum256(body)
		return hex.EncodeToString(sum[:])
	case len(body) == 0 && h.GetSize() == 0 && md.Get("transfer-encoding") == "":
		return sigv4.EmptySHA256
	}
	return ""
}

// logRefusal writes the line the interceptor writes for a refused call:
// a denied Check is an answer, not an error, so its own line has code OK.
func (c *Checker) logRefusal(ctx context.Context, err error) {
	reason := authn.Reason(err)
	if reason == "" {
		reason = warden.ErrorMessage(err)
	}
	c.cfg.Logger.Info("ext_authz denied", "request_id", grpcapi.RequestID(ctx), "code", string(warden.ErrorCode(err)), "reason", reason)
}
