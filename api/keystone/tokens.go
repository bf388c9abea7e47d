package keystone

import (
	"bytes"
	"context"
	"encoding/json"
	"net/http"
	"strings"
	"time"

	"warden"
	"warden/api/jsonbody"
	"warden/service"
)

// Wire shapes of POST /v3/auth/tokens. Unknown fields are ignored, as
// Keystone's schema allows them.

type refIn struct {
	ID     string `json:"id"`
	Name   string `json:"name"`
	Domain *refIn `json:"domain"`
}

type authIn struct {
	Auth *struct {
		Identity *struct {
			Methods  []string `json:"methods"`
			Password *struct {
				User *struct {
					refIn
					Password *string `json:"password"`
				} `json:"user"`
			} `json:"password"`
			Token *struct {
				ID string `json:"id"`
			} `json:"token"`
		} `json:"identity"`
		Scope json.RawMessage `json:"scope"`
	} `json:"auth"`
}

type scopeIn struct {
	Project *refIn          `json:"project"`
	Domain  *refIn          `json:"domain"`
	System  json.RawMessage `json:"system"`
	OSTrust json.RawMessage `json:"OS-TRUST:trust"`
}

func (r *refIn) ref() *service.KeystoneRef {
	if r == nil {
		return nil
	}
	out := &service.KeystoneRef{ID: r.ID, Name: r.Name}
	if r.Domain != nil {
		out.Domain = r.Domain.ref()
	}
	return out
}

func invalid(msg string) error { return warden.Errorf(warden.InvalidArgument, "%s", msg) }

// parseAuth turns the body into a service.KeystoneAuth, refusing what is
// malformed with a message that names the field.
func parseAuth(body []byte, clientAddress string) (service.KeystoneAuth, error) {
	var in authIn
	if err := json.Unmarshal(body, &in); err != nil {
		return service.KeystoneAuth{}, &warden.Error{Code: warden.InvalidArgument, Message: "invalid JSON body: " + err.Error(), Cause: err}
	}
	if in.Auth == nil || in.Auth.Identity == nil {
		return service.KeystoneAuth{}, invalid("auth.identity: required")
	}
	id := in.Auth.Identity
	req := service.KeystoneAuth{Methods: id.Methods, ClientAddress: clientAddress}
	if len(id.Methods) == 0 {
		return req, invalid("auth.identity.methods: required")
	}
	for _, m := range id.Methods {
		switch m {
		case service.KeystoneMethodPassword:
			if id.Password == nil || id.Password.User == nil {
				return req, invalid("auth.identity.password.user: required by the password method")
			}
			u := id.Password.User
			if u.Password == nil {
				return req, invalid("auth.identity.password.user.password: required")
			}
			if u.ID == "" && u.Name == "" {
				return req, invalid("auth.identity.password.user: an id or a name is required")
			}
			if u.ID == "" && (u.Domain == nil || (u.Domain.ID == "" && u.Domain.Name == "")) {
				return req, invalid("auth.identity.password.user.domain: an id or a name is required with a user name")
			}
			req.User, req.Password = *u.refIn.ref(), *u.Password
		case service.KeystoneMethodToken:
			if id.Token == nil || id.Token.ID == "" {
				return req, invalid("auth.identity.token.id: required by the token method")
			}
			req.Token = id.Token.ID
		}
	}
	if err := parseScope(in.Auth.Scope, &req); err != nil {
		return req, err
	}
	return req, nil
}

func parseScope(raw json.RawMessage, req *service.KeystoneAuth) error {
	raw = bytes.TrimSpace(raw)
	if len(raw) == 0 || string(raw) == "null" || string(raw) == `"unscoped"` {
		return nil
	}
	var s scopeIn
	if err := json.Unmarshal(raw, &s); err != nil {
		return invalid(`auth.scope: an object with a project or a domain, or "unscoped"`)
	}
	switch {
	case len(s.System) > 0:
		req.System = true
		return nil
	case len(s.OSTrust) > 0:
		return invalid("auth.scope.OS-TRUST:trust: trusts are not supported")
	case s.Project != nil:
		if s.Project.ID == "" && (s.Project.Name == "" || s.Project.Domain == nil || (s.Project.Domain.ID == "" && s.Project.Domain.Name == "")) {
			return invalid("auth.scope.project: an id, or a name and a domain, is required")
		}
		req.Project = s.Project.ref()
	case s.Domain != nil:
		if s.Domain.ID == "" && s.Domain.Name == "" {
			return invalid("auth.scope.domain: an id or a name is required")
		}
		req.Domain = s.Domain.ref()
	}
	if s.Project != nil && s.Domain != nil {
		return invalid("auth.scope: a project or a domain, not both")
	}
	return nil
}

// issueToken answers POST /v3/auth/tokens: 201, the token in
// X-Subject-Token and the token body.
func (h *handler) issueToken(ctx context.Context, r *http.Request) (result, error) {
	body, err := jsonbody.Read(r.Body, maxBody)
	if err != nil {
		return result{}, err
	}
	req, err := parseAuth(body, r.RemoteAddr)
	if err != nil {
		return result{}, err
	}
	if req.Token == "" && len(req.Methods) == 1 && req.Methods[0] == service.KeystoneMethodToken {
		req.Token = r.Header.Get("X-Auth-Token")
	}
	k, err := h.svc.IssueKeystoneToken(ctx, req)
	if err != nil {
		return result{}, err
	}
	return result{status: http.StatusCreated, subjectToken: k.Token,
		body: h.tokenBody(r, k, !noCatalog(r))}, nil
}

// validateToken answers GET and HEAD /v3/auth/tokens. The document is
// kept, per token, endpoint and catalog choice, until the access snapshot
// it was read from changes: validation is what every service behind
// Keystone asks on every request.
func (h *handler) validateToken(ctx context.Context, r *http.Request) (result, error) {
	tok := subjectToken(r)
	if tok == "" {
		return result{}, errNoSubjectToken
	}
	c, err := h.svc.ValidateKeystoneToken(ctx, tok)
	if err != nil {
		return result{}, err
	}
	res := result{subjectToken: tok}
	if r.Method == http.MethodHead {
		return res, nil
	}
	withCatalog := !noCatalog(r)
	key := docKey{tokenID: c.TokenID, host: r.Host, prefix: prefix(r), tls: r.TLS != nil, catalog: withCatalog}
	if h.cfg.PublicAddress != "" {
		key.host = "" // the links name the public address, whatever Host said
	}
	snap := h.svc.Snapshot()
	if b, ok := h.docs.get(snap, key); ok {
		res.raw = b
		return res, nil
	}
	k, err := h.svc.KeystoneTokenView(ctx, c)
	if err != nil {
		return result{}, err
	}
	if res.raw, err = json.Marshal(h.tokenBody(r, k, withCatalog)); err != nil {
		return result{}, err
	}
	h.docs.put(snap, key, res.raw)
	return res, nil
}

// revokeToken answers DELETE /v3/auth/tokens: 204.
func (h *handler) revokeToken(ctx context.Context, r *http.Request) (result, error) {
	if subjectToken(r) == "" {
		return result{}, errNoSubjectToken
	}
	if err := h.svc.RevokeKeystoneToken(ctx, subjectToken(r)); err != nil {
		return result{}, err
	}
	return result{status: http.StatusNoContent}, nil
}

func subjectToken(r *http.Request) string { return strings.TrimSpace(r.Header.Get("X-Subject-Token")) }

var errNoSubjectToken = warden.Errorf(warden.InvalidArgument, "X-Subject-Token: the token to validate or revoke is required")

// noCatalog reports ?nocatalog (any value, as Keystone reads it).
func noCatalog(r *http.Request) bool { return r.URL.RawQuery != "" && r.URL.Query().Has("nocatalog") }

// keystoneTime is Keystone's time format: microseconds and Z.
func keystoneTime(t time.Time) string { return t.UTC().Format("2006-01-02T15:04:05.000000Z") }

type named struct {
	ID   string `json:"id"`
	Name string `json:"name"`
}

type userOut struct {
	ID                string  `json:"id"`
	Name              string  `json:"name"`
	Domain            named   `json:"domain"`
	PasswordExpiresAt *string `json:"password_expires_at"`
}

type projectOut struct {
	ID     string `json:"id"`
	Name   string `json:"name"`
	Domain named  `json:"domain"`
}

type tokenOut struct {
	Methods   []string    `json:"methods"`
	User      userOut     `json:"user"`
	AuditIDs  []string    `json:"audit_ids"`
	ExpiresAt string      `json:"expires_at"`
	IssuedAt  string      `json:"issued_at"`
	Project   *projectOut `json:"project,omitempty"`
	Domain    *named      `json:"domain,omitempty"`
	IsDomain  *bool       `json:"is_domain,omitempty"`
	Roles     []named     `json:"roles,omitempty"`
	Catalog   *[]Service  `json:"catalog,omitempty"`
}

// tokenBody is Keystone's token document.
func (h *handler) tokenBody(r *http.Request, k *service.KeystoneToken, withCatalog bool) map[string]any {
	t := tokenOut{
		Methods:   k.Methods(),
		User:      userOut{ID: k.User.ID, Name: k.User.Name, Domain: named(k.UserDomain)},
		AuditIDs:  k.AuditIDs(),
		ExpiresAt: keystoneTime(k.Claims.ExpiresAt), IssuedAt: keystoneTime(k.Claims.IssuedAt),
	}
	switch {
	case k.Project != nil:
		t.Project = &projectOut{ID: k.Project.ID, Name: k.Project.Name, Domain: named(*k.Domain)}
		isDomain := false
		t.IsDomain = &isDomain
	case k.Domain != nil:
		d := named(*k.Domain)
		t.Domain = &d
	}
	if k.Domain != nil {
		// A scoped token lists its roles, even none; an unscoped one has
		// no roles key, as in Keystone.
		t.Roles = make([]named, 0, len(k.Roles))
		for _, id := range k.Roles {
			t.Roles = append(t.Roles, named{ID: id, Name: id})
		}
		if withCatalog {
			c := h.catalog(r)
			t.Catalog = &c
		}
	}
	return map[string]any{"token": t}
}
