package server

import (
	"context"
	"net/http"
	"sort"
	"strings"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/promhttp"
	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/status"

	"warden/api/cloudru"
	"warden/api/forwardauth"
	"warden/api/grpcapi"
	"warden/api/jsonbody"
	"warden/api/keystone"
	"warden/api/restapi"
	"warden/service"
)

// handler routes one port: gRPC by content type, then health, metrics,
// Warden's own login endpoints, and REST for everything else.
func (m *Main) handler(rest http.Handler, reg *prometheus.Registry) http.Handler {
	mux := http.NewServeMux()
	mux.HandleFunc("GET /healthz", func(w http.ResponseWriter, r *http.Request) {
		w.Write([]byte("ok\n"))
	})
	mux.HandleFunc("GET /readyz", func(w http.ResponseWriter, r *http.Request) {
		ctx, cancel := context.WithTimeout(r.Context(), 2*time.Second)
		defer cancel()
		if err := m.svc.Ready(ctx); err != nil {
			m.log.Warn("not ready", "err", err)
			http.Error(w, "database unreachable\n", http.StatusServiceUnavailable)
			return
		}
		w.Write([]byte("ok\n"))
	})
	mux.Handle("GET /metrics", promhttp.HandlerFor(reg, promhttp.HandlerOpts{}))
	own := map[string]func(context.Context, *http.Request) (any, error){
		MethodLogin: m.login, MethodSetPassword: m.setPassword,
		MethodSetServiceAccountPassword: m.setServiceAccountPassword, MethodRemoveServiceAccountPassword: m.removeServiceAccountPassword,
	}
	for method, fn := range m.staticTokenHandlers() {
		own[method] = fn
	}
	// Routes that share a pattern are told apart by the suffix of {id}
	// (":setPassword"), as Google's custom methods are.
	bySuffix := map[string]map[string]http.HandlerFunc{}
	for _, rt := range ownRoutes {
		if bySuffix[rt.Pattern] == nil {
			bySuffix[rt.Pattern] = map[string]http.HandlerFunc{}
		}
		bySuffix[rt.Pattern][rt.Suffix] = restapi.HandlerFunc(m.grpc, rt.Method, own[rt.Method])
	}
	for pattern, fns := range bySuffix {
		mux.HandleFunc(pattern, func(w http.ResponseWriter, r *http.Request) {
			for suffix, fn := range fns {
				if strings.HasSuffix(r.PathValue("id"), suffix) {
					fn(w, r)
					return
				}
			}
			restapi.WriteError(w, status.Error(codes.NotFound, "no API method at "+r.URL.Path), "")
		})
	}
	cloudru.Register(mux, m.svc, m.grpc)
	keystone.Register(mux, keystone.Config{
		Service: m.svc, Server: m.grpc, PublicAddress: m.cfg.PublicAddress, TLS: m.cfg.TLSCert != "", Catalog: m.catalog,
	})
	mux.Handle(forwardauth.Path, m.fwd.Handler(m.grpc))
	mux.Handle("/", rest)
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if m.limit.shedOverflow(w, r) {
			return
		}
		if r.ProtoMajor == 2 && strings.HasPrefix(r.Header.Get("Content-Type"), "application/grpc") {
			m.grpc.ServeHTTP(w, r)
			return
		}
		bodyDeadlines(w, r, m.cfg.ReadTimeout, m.cfg.WriteTimeout)
		mux.ServeHTTP(w, r)
	})
}

func readJSON(r *http.Request, v any) error {
	return jsonbody.Decode(r.Body, 64<<10, v)
}

// Warden's own routes run through the interceptor chain under these method
// names: authentication (except Login), the permission table, request id,
// log line and metrics, as every other method.
const (
	MethodLogin                        = "/warden.iam.v1.SessionService/Login"
	MethodSetPassword                  = "/warden.iam.v1.UserAccountService/SetPassword"
	MethodSetServiceAccountPassword    = "/warden.iam.v1.ServiceAccountService/SetPassword"
	MethodRemoveServiceAccountPassword = "/warden.iam.v1.ServiceAccountService/RemovePassword"
)

// ownRoute is one of Warden's own hand-written routes: Suffix, when set,
// is what the {id} of the pattern ends in.
type ownRoute struct {
	Pattern, Suffix, Method string
}

// ownRoutes are Warden's own hand-written routes.
var ownRoutes = append([]ownRoute{
	{Pattern: "POST /warden/v1/login", Method: MethodLogin},
	{Pattern: "POST /warden/v1/userAccounts/{id}", Suffix: ":setPassword", Method: MethodSetPassword},
	{Pattern: "POST /warden/v1/serviceAccounts/{id}", Suffix: ":setPassword", Method: MethodSetServiceAccountPassword},
	{Pattern: "POST /warden/v1/serviceAccounts/{id}", Suffix: ":removePassword", Method: MethodRemoveServiceAccountPassword},
}, staticTokenRoutes...)

// infraRoutes answer probes and metrics scrapes: no credential, no data of
// any tenant. Bind wardend where only the operator's network reaches them
// (the default listen address is 127.0.0.1).
var infraRoutes = []string{"GET /healthz", "GET /readyz", "GET /metrics"}

// Route is one route of wardend's port and the method name it runs under
// through the interceptor chain ("" for the infrastructure routes).
type Route struct {
	Route  string // "VERB /path" for HTTP, "gRPC /package.Service/Method" for gRPC
	Method string
}

// Routes lists every route wardend serves: docs/PERMISSIONS.md is
// generated from it, and a test checks each runs under a rule.
func (m *Main) Routes() []Route {
	var out []Route
	for _, r := range infraRoutes {
		out = append(out, Route{Route: r})
	}
	for _, r := range ownRoutes {
		out = append(out, Route{Route: strings.Replace(r.Pattern, "{id}", "{id}"+r.Suffix, 1), Method: r.Method})
	}
	out = append(out, Route{Route: "* " + forwardauth.Path, Method: forwardauth.Method})
	for _, r := range cloudru.Routes {
		out = append(out, Route{Route: r.Pattern, Method: r.Method})
	}
	for _, r := range keystone.Routes() {
		route := r.Pattern
		if !strings.Contains(route, " ") {
			route = "* " + route
		}
		out = append(out, Route{Route: route, Method: r.Method})
		if v, path, _ := strings.Cut(route, " "); v == "GET" {
			out = append(out, Route{Route: "HEAD " + path, Method: r.Method})
		}
	}
	for _, r := range m.rest.Routes() {
		out = append(out, Route{Route: r.Verb + " " + r.Path, Method: r.Method})
	}
	names := make([]string, 0, len(m.grpc.Methods()))
	for name := range m.grpc.Methods() {
		names = append(names, name)
	}
	sort.Strings(names)
	for _, name := range names {
		out = append(out, Route{Route: "gRPC " + name, Method: name})
	}
	return out
}

// IsPublic reports whether a method runs without a credential.
func IsPublic(method string) bool { return publicMethods[method] }

// login exchanges a local user's login and password for an OAuth token:
// POST /warden/v1/login {"login": "...", "password": "..."}.
func (m *Main) login(ctx context.Context, r *http.Request) (any, error) {
	var req struct {
		Login    string `json:"login"`
		Password string `json:"password"`
	}
	if err := readJSON(r, &req); err != nil {
		return nil, err
	}
	res, err := m.svc.Login(ctx, service.LoginRequest{Login: req.Login, Password: req.Password, ClientAddress: r.RemoteAddr})
	if err != nil {
		return nil, err // the request's log line gives the reason, with res.Login, never req.Login
	}
	// The request's own line names no subject: a login is unauthenticated.
	m.log.Info("login", "request_id", grpcapi.RequestID(ctx), "user_account_id", res.UserAccountID)
	return map[string]string{"oauthToken": res.OAuthToken.Reveal()}, nil
}

// setServiceAccountPassword sets a service account's password, or
// generates one and answers it (shown once):
// POST /warden/v1/serviceAccounts/{id}:setPassword {"password": "..."} or {"generate": true}.
func (m *Main) setServiceAccountPassword(ctx context.Context, r *http.Request) (any, error) {
	id, _ := strings.CutSuffix(r.PathValue("id"), ":setPassword")
	var req struct {
		Password string `json:"password"`
		Generate bool   `json:"generate"`
	}
	if err := readJSON(r, &req); err != nil {
		return nil, err
	}
	generated, err := m.svc.SetServiceAccountPassword(ctx, id, req.Password, req.Generate)
	if err != nil {
		return nil, err
	}
	if req.Generate {
		return map[string]string{"password": generated.Reveal()}, nil
	}
	return struct{}{}, nil
}

// removeServiceAccountPassword removes a service account's password:
// POST /warden/v1/serviceAccounts/{id}:removePassword {}.
func (m *Main) removeServiceAccountPassword(ctx context.Context, r *http.Request) (any, error) {
	id, _ := strings.CutSuffix(r.PathValue("id"), ":removePassword")
	if err := m.svc.RemoveServiceAccountPassword(ctx, id); err != nil {
		return nil, err
	}
	return struct{}{}, nil
}

// setPassword sets a user's password:
// POST /warden/v1/userAccounts/{id}:setPassword {"password": "...", "currentPassword": "..."}.
func (m *Main) setPassword(ctx context.Context, r *http.Request) (any, error) {
	user, ok := strings.CutSuffix(r.PathValue("id"), ":setPassword")
	if !ok {
		return nil, status.Error(codes.NotFound, "no API method at "+r.URL.Path)
	}
	var req struct {
		Password        string `json:"password"`
		CurrentPassword string `json:"currentPassword"`
	}
	if err := readJSON(r, &req); err != nil {
		return nil, err
	}
	if err := m.svc.SetPassword(ctx, user, req.CurrentPassword, req.Password); err != nil {
		return nil, err
	}
	return struct{}{}, nil
}
