package server

import (
	"context"
	"encoding/json"
	"net/http"
	"strings"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/promhttp"
	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/status"

	"warden/api/cloudru"
	"warden/api/grpcapi"
	"warden/api/jsonbody"
	"warden/api/restapi"
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
	mux.HandleFunc("POST /warden/v1/login", m.serve(MethodLogin, m.login))
	mux.HandleFunc("POST /warden/v1/userAccounts/{id}", m.serve(MethodSetPassword, m.setPassword))
	cloudru.Register(mux, m.svc, m.grpc)
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
	MethodLogin       = "/warden.iam.v1.SessionService/Login"
	MethodSetPassword = "/warden.iam.v1.UserAccountService/SetPassword"
)

// serve runs fn as method through the interceptor chain and answers its
// result as JSON.
func (m *Main) serve(method string, fn func(ctx context.Context, r *http.Request) (any, error)) http.HandlerFunc {
	return func(w http.ResponseWriter, r *http.Request) {
		id := grpcapi.NewRequestID()
		w.Header().Set("X-Request-Id", id)
		var body any
		err := m.grpc.Handle(grpcapi.WithRequestID(restapi.Incoming(r), id), method, func(ctx context.Context) (err error) {
			body, err = fn(ctx, r)
			return err
		})
		if err != nil {
			restapi.WriteError(w, err, id)
			return
		}
		w.Header().Set("Content-Type", "application/json")
		json.NewEncoder(w).Encode(body)
	}
}

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
	tok, err := m.svc.Login(ctx, req.Login, req.Password)
	if err != nil {
		return nil, err
	}
	return map[string]string{"oauthToken": tok.Reveal()}, nil
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
