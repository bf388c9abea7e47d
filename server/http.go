package server

import (
	"context"
	"encoding/json"
	"io"
	"net/http"
	"strings"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/promhttp"
	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/status"

	"warden"
	"warden/api/cloudru"
	"warden/api/grpcapi"
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
	mux.HandleFunc("POST /warden/v1/login", m.login)
	mux.HandleFunc("POST /warden/v1/userAccounts/{id}", m.setPassword)
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
	dec := json.NewDecoder(io.LimitReader(r.Body, 64<<10))
	dec.DisallowUnknownFields()
	if err := dec.Decode(v); err != nil {
		return status.Errorf(codes.InvalidArgument, "invalid JSON body: %v", err)
	}
	return nil
}

// login exchanges a local user's login and password for an OAuth token:
// POST /warden/v1/login {"login": "...", "password": "..."}.
func (m *Main) login(w http.ResponseWriter, r *http.Request) {
	id := grpcapi.NewRequestID()
	w.Header().Set("X-Request-Id", id)
	var req struct {
		Login    string `json:"login"`
		Password string `json:"password"`
	}
	if err := readJSON(r, &req); err != nil {
		restapi.WriteError(w, err, id)
		return
	}
	tok, err := m.svc.Login(r.Context(), req.Login, req.Password)
	if err != nil {
		m.log.Info("login failed", "request_id", id, "login", req.Login, "reason", err.Error())
		restapi.WriteError(w, err, id)
		return
	}
	m.log.Info("login", "request_id", id, "login", req.Login)
	w.Header().Set("Content-Type", "application/json")
	json.NewEncoder(w).Encode(map[string]string{"oauthToken": tok.Reveal()})
}

// setPassword sets a user's password:
// POST /warden/v1/userAccounts/{id}:setPassword {"password": "..."}.
func (m *Main) setPassword(w http.ResponseWriter, r *http.Request) {
	id := grpcapi.NewRequestID()
	w.Header().Set("X-Request-Id", id)
	user, ok := strings.CutSuffix(r.PathValue("id"), ":setPassword")
	if !ok {
		restapi.WriteError(w, status.Error(codes.NotFound, "no API method at "+r.URL.Path), id)
		return
	}
	tok, found := strings.CutPrefix(r.Header.Get("Authorization"), "Bearer ")
	if !found {
		restapi.WriteError(w, warden.ErrUnauthenticated, id)
		return
	}
	sub, err, _ := m.svc.Authenticate(strings.TrimSpace(tok))
	if err != nil {
		restapi.WriteError(w, err, id)
		return
	}
	var req struct {
		Password string `json:"password"`
	}
	if err := readJSON(r, &req); err != nil {
		restapi.WriteError(w, err, id)
		return
	}
	if err := m.svc.SetPassword(service.WithSubject(r.Context(), sub), user, req.Password); err != nil {
		restapi.WriteError(w, err, id)
		return
	}
	m.log.Info("password set", "request_id", id, "user_account_id", user, "subject", sub.ID)
	w.Header().Set("Content-Type", "application/json")
	w.Write([]byte("{}\n"))
}
