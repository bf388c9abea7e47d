// Package forwardauth lets a proxy ask Warden, for every request it
// forwards, whether to let it through: nginx auth_request, Caddy
// forward_auth and Traefik ForwardAuth over HTTP (Handler), Envoy's
// ext_authz over gRPC (ExtAuthz). Both build the same transport-neutral
// request and hand it to the one authentication pipeline, then to the
// authorization snapshot with the permission and resource the operator's
// route file names for the request's method and path.
//
// A proxy does not pass the body (ext_authz may, when it buffers it): a
// SigV4 signature is checked against x-amz-content-sha256, the S3 way, and
// a request signed over a body Warden cannot see is refused.
package forwardauth

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"net/netip"
	"strings"

	"warden"
	"warden/authn"
)

// Headers a proxy passes upstream on an allowed request. A proxy must set
// them from Warden's answer (overwriting what the client sent): the
// upstream trusts them.
const (
	HeaderSubjectID   = "X-Warden-Subject-Id"
	HeaderSubjectType = "X-Warden-Subject-Type"
	HeaderCredential  = "X-Warden-Credential"
)

// Challenge is the WWW-Authenticate value of a 401 answer.
const Challenge = `Bearer realm="warden"`

// Authenticator is the authentication pipeline.
type Authenticator interface {
	Authenticate(ctx context.Context, r *authn.Request) (authn.Principal, error)
}

// Authorizer answers whether a principal holds a permission on a resource
// (service.Service.Allowed).
type Authorizer interface {
	Allowed(ctx context.Context, p authn.Principal, permission, resourceID string) bool
}

// Config configures a Checker.
type Config struct {
	Routes *Routes
	// TrustedProxies are the addresses whose X-Forwarded-For and
	// X-Real-IP (and, for ext_authz, source address) are believed: the
	// proxies in front of Warden. From anyone else the connection's own
	// address is the client.
	TrustedProxies []netip.Prefix
	Auth           Authenticator
	Access         Authorizer
	Logger         *slog.Logger
}

// Checker decides on forwarded requests.
type Checker struct {
	cfg Config
}

// New returns a Checker.
func New(cfg Config) (*Checker, error) {
	if cfg.Routes == nil || cfg.Auth == nil || cfg.Access == nil || cfg.Logger == nil {
		return nil, errors.New("forwardauth: Routes, Auth, Access and Logger are required")
	}
	return &Checker{cfg: cfg}, nil
}

// Original is the request a proxy asks about, as it received it.
type Original struct {
	Method string
	// URI is the request target: the escaped path and the query.
	URI  string
	Host string
	// Header holds the client's headers, lower-case names.
	Header authn.MD
	// BodyHash is the hex SHA-256 of the body when the proxy sent it
	// whole (ext_authz with_request_body), "" otherwise.
	BodyHash string
	// Client is the client's address, after the trusted-proxy rules.
	Client string
}

// ParseTrustedProxies parses a comma-separated list of CIDRs and addresses.
func ParseTrustedProxies(s string) ([]netip.Prefix, error) {
	var out []netip.Prefix
	for _, f := range strings.Split(s, ",") {
		f = strings.TrimSpace(f)
		if f == "" {
			continue
		}
		if p, err := netip.ParsePrefix(f); err == nil {
			out = append(out, p.Masked())
			continue
		}
		a, err := netip.ParseAddr(f)
		if err != nil {
			return nil, fmt.Errorf("forwardauth: trusted proxy %q: a CIDR (10.0.0.0/8) or an address", f)
		}
		out = append(out, netip.PrefixFrom(a.Unmap(), a.Unmap().BitLen()))
	}
	return out, nil
}

// Check authenticates and authorizes o. It returns the principal, or an
// error whose code is Unauthenticated (answer 401) or PermissionDenied
// (403); InvalidArgument means the proxy did not say what it forwards.
func (c *Checker) Check(ctx context.Context, o *Original) (authn.Principal, error) {
	if o.Method == "" || !strings.HasPrefix(o.URI, "/") {
		return authn.Principal{}, warden.Errorf(warden.InvalidArgument,
			"forward auth needs the original method and URI: X-Original-Method and X-Original-URI, or X-Forwarded-Method and X-Forwarded-Uri")
	}
	path, query, _ := strings.Cut(o.URI, "?")
	segs, err := splitPath(path)
	if err != nil {
		return authn.Principal{}, warden.Errorf(warden.PermissionDenied, "access denied: %v", err)
	}
	rt, vars, ok := c.cfg.Routes.Match(o.Method, segs)
	if !ok && len(c.cfg.Routes.routes) == 0 {
		return authn.Principal{}, warden.Errorf(warden.PermissionDenied, "access denied: forward auth has no routes (wardend --forward-auth-routes)")
	}
	if !ok {
		return authn.Principal{}, warden.Errorf(warden.PermissionDenied, "access denied: no route allows %s %s", o.Method, path)
	}
	resource := rt.resource(vars, o.Header)
	if resource == "" {
		return authn.Principal{}, warden.Errorf(warden.PermissionDenied, "access denied: the request names no resource (%s)", rt.Resource)
	}
	if o.Host != "" {
		o.Header["host"] = []string{o.Host}
	}
	p, err := c.cfg.Auth.Authenticate(ctx, &authn.Request{
		Method: o.Method, Path: path, Query: query, Header: o.Header, BodyHash: o.BodyHash, ClientAddress: o.Client,
		Service: rt.Service, Scope: rt.Scope, SigningRegion: rt.SigningRegion, SigningService: rt.SigningService,
	})
	if err != nil {
		return authn.Principal{}, behindProxy(err)
	}
	if !c.cfg.Access.Allowed(ctx, p, rt.Permission, resource) {
		return p, warden.Errorf(warden.PermissionDenied, "permission denied: the caller lacks %s on %s", rt.Permission, resource)
	}
	return p, nil
}

func (r *Route) resource(vars map[string]string, h authn.MD) string {
	switch {
	case strings.HasPrefix(r.Resource, "{"):
		return vars[strings.Trim(r.Resource, "{}")]
	case strings.HasPrefix(r.Resource, "header:"):
		v := h[strings.ToLower(strings.TrimPrefix(r.Resource, "header:"))]
		if len(v) != 1 {
			return "" // absent or repeated: which one would the upstream read?
		}
		return v[0]
	}
	return r.Resource
}

// Answers to SigV4 requests a proxy cannot have checked: the pipeline's
// own answers are addressed to a resource service.
var (
	errBodySigned = warden.Errorf(warden.Unauthenticated,
		"the SigV4 signature covers the request body, which a proxy does not pass to Warden: sign with x-amz-content-sha256 (S3-style, UNSIGNED-PAYLOAD allowed), or send the request to a service that checks it itself")
	errNoSigV4Route = warden.Errorf(warden.Unauthenticated,
		"SigV4 is not accepted on this route: its signingRegion and signingService are not configured")
)

// behindProxy rewrites the refusals whose pipeline answer speaks to a
// resource service, keeping the reason for the logs and metrics.
func behindProxy(err error) error {
	var e *authn.Error
	if !errors.As(err, &e) {
		return err
	}
	var answer error
	switch e.Refusal.Label {
	case "no_payload_hash":
		answer = errBodySigned
	case "no_signing_scope":
		answer = errNoSigV4Route
	default:
		return err
	}
	return &authn.Error{Credential: e.Credential, Refusal: &authn.Refusal{Label: e.Refusal.Label, Detail: e.Refusal.Detail, Answer: answer}}
}

// client returns the client's address: the nearest hop (chain[0], the
// connection's peer), or, while that hop is a trusted proxy, the address it
// reports (the next entry). realIP is believed from a trusted proxy that
// sent no X-Forwarded-For.
func (c *Checker) client(chain []string, realIP string) string {
	addr, ok := parseAddr(chain[0])
	if !ok {
		return chain[0]
	}
	i := 1
	for ; i < len(chain) && c.trusted(addr); i++ {
		next, ok := parseAddr(chain[i])
		if !ok {
			break // a garbled hop: keep the last address vouched for
		}
		addr = next
	}
	if i == len(chain) && c.trusted(addr) && realIP != "" {
		if a, ok := parseAddr(realIP); ok {
			addr = a
		}
	}
	return addr.String()
}

func (c *Checker) trusted(a netip.Addr) bool {
	for _, p := range c.cfg.TrustedProxies {
		if p.Contains(a) {
			return true
		}
	}
	return false
}

// parseAddr reads an address with or without a port.
func parseAddr(s string) (netip.Addr, bool) {
	s = strings.TrimSpace(s)
	if ap, err := netip.ParseAddrPort(s); err == nil {
		return ap.Addr().Unmap(), true
	}
	a, err := netip.ParseAddr(strings.Trim(s, "[]"))
	return a.Unmap(), err == nil
}

// forwardedFor returns the X-Forwarded-For hops, nearest first.
func forwardedFor(values []string) []string {
	var hops []string
	for _, v := range values {
		hops = append(hops, strings.Split(v, ",")...)
	}
	for i, j := 0, len(hops)-1; i < j; i, j = i+1, j-1 {
		hops[i], hops[j] = hops[j], hops[i]
	}
	return hops
}
