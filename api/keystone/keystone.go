// Package keystone serves the OpenStack Identity API v3 (Keystone) over
// Warden, on /v3 and on /identity/v3 (Selectel's path) alike: version
// discovery, tokens (password and token methods, domain and project scope,
// validation and revocation) and read views of the hierarchy. A Keystone
// domain is a cloud, a project a folder, a user an account with a password.
//
// Every route runs through the interceptor chain (request id, the
// authentication pipeline, one log line, metrics) under a method name of
// the permission table; errors are Keystone's
// {"error": {"code", "title", "message"}}, a 401 with WWW-Authenticate.
package keystone

import (
	"context"
	"encoding/json"
	"net/http"
	"strconv"
	"strings"

	"warden"
	"warden/api/grpcapi"
	"warden/api/restapi"
	"warden/service"
)

// Method names under which requests are logged, counted and listed in the
// permission table.
const (
	MethodVersions        = "/openstack.identity.v3.VersionService/List"
	MethodVersion         = "/openstack.identity.v3.VersionService/Get"
	MethodIssueToken      = "/openstack.identity.v3.TokenService/Issue"
	MethodValidateToken   = "/openstack.identity.v3.TokenService/Validate"
	MethodRevokeToken     = "/openstack.identity.v3.TokenService/Revoke"
	MethodAuthProjects    = "/openstack.identity.v3.AuthService/ListProjects"
	MethodAuthDomains     = "/openstack.identity.v3.AuthService/ListDomains"
	MethodAuthCatalog     = "/openstack.identity.v3.AuthService/GetCatalog"
	MethodListProjects    = "/openstack.identity.v3.ProjectService/List"
	MethodGetProject      = "/openstack.identity.v3.ProjectService/Get"
	MethodListDomains     = "/openstack.identity.v3.DomainService/List"
	MethodGetDomain       = "/openstack.identity.v3.DomainService/Get"
	MethodListUsers       = "/openstack.identity.v3.UserService/List"
	MethodGetUser         = "/openstack.identity.v3.UserService/Get"
	MethodUserProjects    = "/openstack.identity.v3.UserService/ListProjects"
	MethodListRoles       = "/openstack.identity.v3.RoleService/List"
	MethodRoleAssignments = "/openstack.identity.v3.RoleAssignmentService/List"
	MethodListServices    = "/openstack.identity.v3.CatalogService/ListServices"
	MethodGetService      = "/openstack.identity.v3.CatalogService/GetService"
	MethodListEndpoints   = "/openstack.identity.v3.CatalogService/ListEndpoints"
	MethodGetEndpoint     = "/openstack.identity.v3.CatalogService/GetEndpoint"
	MethodNotFound        = "/openstack.identity.v3.NotFound"
)

// PublicMethods need no credential: discovery, and issuing a token (which
// authenticates the credential in its body). An unknown /v3 path is
// answered 404 to anyone.
var PublicMethods = []string{MethodVersions, MethodVersion, MethodIssueToken, MethodNotFound}

// Route is an HTTP route and the method name it runs under.
type Route struct {
	Pattern string // net/http pattern "VERB /path"; a GET route answers HEAD too
	Method  string
}

// Prefixes are where the API is served: Keystone's own /v3, and Selectel's
// /identity/v3.
var Prefixes = []string{"", "/identity"}

// routes are the API's routes below a prefix.
var routes = []Route{
	{"GET /v3", MethodVersion},
	{"GET /v3/{$}", MethodVersion},
	{"POST /v3/auth/tokens", MethodIssueToken},
	{"GET /v3/auth/tokens", MethodValidateToken},
	{"DELETE /v3/auth/tokens", MethodRevokeToken},
	{"GET /v3/auth/projects", MethodAuthProjects},
	{"GET /v3/auth/domains", MethodAuthDomains},
	{"GET /v3/auth/catalog", MethodAuthCatalog},
	{"GET /v3/projects", MethodListProjects},
	{"GET /v3/projects/{id}", MethodGetProject},
	{"GET /v3/domains", MethodListDomains},
	{"GET /v3/domains/{id}", MethodGetDomain},
	{"GET /v3/users", MethodListUsers},
	{"GET /v3/users/{id}", MethodGetUser},
	{"GET /v3/users/{id}/projects", MethodUserProjects},
	{"GET /v3/roles", MethodListRoles},
	{"GET /v3/role_assignments", MethodRoleAssignments},
	{"GET /v3/services", MethodListServices},
	{"GET /v3/services/{id}", MethodGetService},
	{"GET /v3/endpoints", MethodListEndpoints},
	{"GET /v3/endpoints/{id}", MethodGetEndpoint},
	{"/v3/", MethodNotFound},
}

// Routes lists every route under every prefix, and the version lists at
// the roots.
func Routes() []Route {
	out := []Route{{"GET /{$}", MethodVersions}, {"GET /identity", MethodVersions}, {"GET /identity/{$}", MethodVersions}}
	for _, p := range Prefixes {
		for _, rt := range routes {
			verb, path, ok := strings.Cut(rt.Pattern, " ")
			if !ok {
				out = append(out, Route{p + rt.Pattern, rt.Method})
				continue
			}
			out = append(out, Route{verb + " " + p + path, rt.Method})
		}
	}
	return out
}

// Config configures the API.
type Config struct {
	Service *service.Service
	Server  *grpcapi.Server
	// PublicAddress, when set, is the host:port the catalog and the links
	// name; otherwise the request's Host.
	PublicAddress string
	// TLS tells whether clients reach wardend over HTTPS.
	TLS bool
	// Catalog lists the operator's services besides Warden's identity.
	Catalog []Service
}

type handler struct {
	svc  *service.Service
	srv  *grpcapi.Server
	cfg  Config
	docs *docCache
}

// Register adds the routes to mux.
func Register(mux *http.ServeMux, cfg Config) {
	h := &handler{svc: cfg.Service, srv: cfg.Server, cfg: cfg, docs: newDocCache(docCacheEntries)}
	fns := map[string]func(context.Context, *http.Request) (result, error){
		MethodVersions: h.versions, MethodVersion: h.version,
		MethodIssueToken: h.issueToken, MethodValidateToken: h.validateToken, MethodRevokeToken: h.revokeToken,
		MethodAuthProjects: h.authProjects, MethodAuthDomains: h.authDomains, MethodAuthCatalog: h.authCatalog,
		MethodListServices: h.listServices, MethodGetService: h.getService, MethodListEndpoints: h.listEndpoints, MethodGetEndpoint: h.getEndpoint,
		MethodListProjects: h.listProjects, MethodGetProject: h.getProject,
		MethodListDomains: h.listDomains, MethodGetDomain: h.getDomain,
		MethodListUsers: h.listUsers, MethodGetUser: h.getUser, MethodUserProjects: h.userProjects,
		MethodListRoles: h.listRoles, MethodRoleAssignments: h.roleAssignments,
		MethodNotFound: h.notFound,
	}
	for _, rt := range Routes() {
		mux.HandleFunc(rt.Pattern, h.wrap(rt.Method, fns[rt.Method]))
	}
}

// result is a handler's answer: a status (200 when zero), the token to
// answer in X-Subject-Token (when set), and a body encoded as JSON (none
// when nil) or already encoded (raw).
type result struct {
	status       int
	subjectToken string
	body         any
	raw          []byte
}

// maxBody bounds a request body: an auth request is well under 1 KiB.
const maxBody = 64 << 10

// wrap serves fn as method through the interceptor chain and answers in
// Keystone's shapes.
func (h *handler) wrap(method string, fn func(context.Context, *http.Request) (result, error)) http.HandlerFunc {
	return func(w http.ResponseWriter, r *http.Request) {
		id, osID := grpcapi.NewOpenStackRequestID()
		// The answer's headers share one backing array and are stored
		// under their canonical names as they are: no Header.Set (which
		// canonicalises each name) and one allocation, on a path every
		// Keystone request takes.
		hv := make([]string, 0, 6)
		hdr := w.Header()
		set := func(name, v string) {
			hv = append(hv, v)
			hdr[name] = hv[len(hv)-1 : len(hv) : len(hv)]
		}
		set("X-Request-Id", id)
		set("X-Openstack-Request-Id", osID)
		var res result
		var fnErr error
		err := h.srv.Handle(grpcapi.WithRequestID(restapi.Incoming(r), id), method, func(ctx context.Context) error {
			res, fnErr = fn(ctx, r)
			return fnErr
		})
		if err != nil {
			h.writeError(w, r, err, fnErr)
			return
		}
		if res.subjectToken != "" {
			set("X-Subject-Token", res.subjectToken)
		}
		if res.status == 0 {
			res.status = http.StatusOK
		}
		b := res.raw
		if b == nil && res.body != nil {
			if b, err = json.Marshal(res.body); err != nil {
				h.writeError(w, r, err, err)
				return
			}
		}
		if b == nil {
			w.WriteHeader(res.status)
			return
		}
		set("Content-Type", "application/json")
		set("Content-Length", strconv.Itoa(len(b)))
		w.WriteHeader(res.status)
		w.Write(b)
	}
}

// unauthenticatedMessage is Keystone's one answer to every credential
// failure.
const unauthenticatedMessage = "The request you have made requires authentication."

// writeError answers err as Keystone does: {"error": {"code", "title",
// "message"}}. Every 401 says the same thing and names where to
// authenticate (WWW-Authenticate).
func (h *handler) writeError(w http.ResponseWriter, r *http.Request, err, fnErr error) {
	st := grpcapi.Status(err, "")
	code := grpcapi.HTTPStatus(st.Code())
	msg := st.Message()
	switch {
	case warden.IsCode(fnErr, warden.TooLarge):
		code, msg = http.StatusRequestEntityTooLarge, warden.ErrorMessage(fnErr)
	case code == http.StatusUnauthorized:
		msg = unauthenticatedMessage
		w.Header().Set("WWW-Authenticate", `Keystone uri="`+h.root(r)+`"`)
	case code == http.StatusTooManyRequests || code == http.StatusServiceUnavailable:
		w.Header().Set("Retry-After", strconv.Itoa(grpcapi.RetryAfterSeconds(st)))
	case code == http.StatusPreconditionFailed:
		code = http.StatusConflict // Keystone's answer to a request the state refuses
	}
	title := http.StatusText(code)
	if title == "" {
		title = "Error"
	}
	b, _ := json.Marshal(map[string]any{"error": map[string]any{"code": code, "title": title, "message": msg}})
	w.Header().Set("Content-Type", "application/json")
	w.WriteHeader(code)
	w.Write(b)
}

// prefix is the prefix the request came through: "" or "/identity".
func prefix(r *http.Request) string {
	if r.URL.Path == "/identity" || strings.HasPrefix(r.URL.Path, "/identity/") {
		return "/identity"
	}
	return ""
}

// host is what links name: the configured public address, or the Host the
// client reached.
func (h *handler) host(r *http.Request) string {
	scheme := "http://"
	if h.cfg.TLS || r.TLS != nil {
		scheme = "https://"
	}
	if h.cfg.PublicAddress != "" {
		return scheme + h.cfg.PublicAddress
	}
	return scheme + r.Host
}

// root is the unversioned endpoint of the request's prefix: where version
// discovery starts, and what the catalog lists for identity.
func (h *handler) root(r *http.Request) string { return h.host(r) + prefix(r) }

// notFound answers a path the API does not have. A write is refused
// whatever its path, as Keystone refuses one on a read-only identity
// backend: only tokens are issued and revoked here, so a client creating a
// project or a user (Terraform's identity resources) is told why rather
// than that the collection it just listed does not exist.
func (h *handler) notFound(_ context.Context, r *http.Request) (result, error) {
	if r.Method != http.MethodGet && r.Method != http.MethodHead {
		return result{}, warden.Errorf(warden.PermissionDenied, "Warden's Keystone API is read-only: create and change projects, domains, users, roles and their assignments through Warden's own API.")
	}
	return result{}, warden.Errorf(warden.NotFound, "The resource could not be found.")
}
