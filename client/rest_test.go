package client_test

import (
	"context"
	"encoding/json"
	"errors"
	"io"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"
	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/status"

	"warden/client"
)

// restCall is one request a fake REST server saw.
type restCall struct {
	Method, Path, Query, Auth, ContentType, Body string
}

// restServer answers every request with status and body, recording it.
func restServer(t *testing.T, tls bool, code int, body string, header map[string]string) (*httptest.Server, func() []restCall) {
	t.Helper()
	var mu sync.Mutex
	var calls []restCall
	h := http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		b, _ := io.ReadAll(r.Body)
		mu.Lock()
		calls = append(calls, restCall{r.Method, r.URL.Path, r.URL.RawQuery, r.Header.Get("Authorization"), r.Header.Get("Content-Type"), string(b)})
		mu.Unlock()
		for k, v := range header {
			w.Header().Set(k, v)
		}
		w.Header().Set("Content-Type", "application/json")
		w.WriteHeader(code)
		io.WriteString(w, body)
	})
	var srv *httptest.Server
	if tls {
		srv = httptest.NewTLSServer(h)
	} else {
		srv = httptest.NewServer(h)
	}
	t.Cleanup(srv.Close)
	return srv, func() []restCall {
		mu.Lock()
		defer mu.Unlock()
		return append([]restCall(nil), calls...)
	}
}

func dialREST(t *testing.T, cfg client.Config) *client.Client {
	t.Helper()
	c, err := client.Dial(context.Background(), cfg)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { c.Close() })
	return c
}

func TestDoJSON(t *testing.T) {
	type key struct {
		ID      string `json:"id"`
		Enabled bool   `json:"enabled"`
	}
	for _, tc := range []struct {
		name          string
		tls           bool
		method, path  string
		body          any
		wantCall      restCall
		answer        string
		want          key
		discardAnswer bool
	}{
		{
			name: "GET with a query", method: http.MethodGet, path: "/api/v1/things?serviceAccountId=aje1&pageSize=2",
			wantCall: restCall{Method: "GET", Path: "/api/v1/things", Query: "serviceAccountId=aje1&pageSize=2", Auth: "Bearer t1.test"},
			answer:   `{"id": "k1", "enabled": true, "unknown": 1}`, want: key{ID: "k1", Enabled: true},
		},
		{
			name: "POST over TLS", tls: true, method: http.MethodPost, path: "/api/v1/things", body: map[string]any{"name": "a", "enabled": false},
			wantCall: restCall{Method: "POST", Path: "/api/v1/things", Auth: "Bearer t1.test", ContentType: "application/json", Body: `{"enabled":false,"name":"a"}`},
			answer:   `{"id": "k2"}`, want: key{ID: "k2"},
		},
		{
			name: "DELETE without a body or an answer", method: http.MethodDelete, path: "/api/v1/things/k%2F1", discardAnswer: true,
			wantCall: restCall{Method: "DELETE", Path: "/api/v1/things/k/1", Auth: "Bearer t1.test"},
			answer:   `{}`,
		},
	} {
		t.Run(tc.name, func(t *testing.T) {
			srv, calls := restServer(t, tc.tls, http.StatusOK, tc.answer, nil)
			cfg := client.Config{Endpoint: srv.URL, IAMToken: "t1.test"}
			if tc.tls {
				cfg.HTTPClient = srv.Client() // trusts the test certificate
			}
			c := dialREST(t, cfg)
			var got key
			var out any = &got
			if tc.discardAnswer {
				out = nil
			}
			if err := c.DoJSON(context.Background(), tc.method, tc.path, tc.body, out); err != nil {
				t.Fatalf("DoJSON: %v", err)
			}
			if got != tc.want {
				t.Errorf("decoded %+v, want %+v", got, tc.want)
			}
			if diff := cmp.Diff([]restCall{tc.wantCall}, calls()); diff != "" {
				t.Errorf("requests (-want +got):\n%s", diff)
			}
		})
	}
}

func TestDoJSONErrors(t *testing.T) {
	const statusBody = `{"code": 3, "message": "restrictions.timeRange.timeSlots[0]: start 19 is not before end 18",
		"details": [{"@type": "type.googleapis.com/google.rpc.RequestInfo", "requestId": "req-in-details"}]}`
	for _, tc := range []struct {
		name          string
		code          int
		body          string
		header        map[string]string
		wantCode      codes.Code
		wantMsg       string
		wantRequestID string
	}{
		{"status with details", http.StatusBadRequest, statusBody, map[string]string{"X-Request-Id": "req-in-header"},
			codes.InvalidArgument, "restrictions.timeRange.timeSlots[0]: start 19 is not before end 18", "req-in-details"},
		{"status, request id in the header", http.StatusNotFound, `{"code": 5, "message": "api key ajk1 not found"}`, map[string]string{"X-Request-Id": "req-in-header"},
			codes.NotFound, "api key ajk1 not found", "req-in-header"},
		{"unauthenticated", http.StatusUnauthorized, `{"code": 16, "message": "the request is unauthenticated"}`, nil,
			codes.Unauthenticated, "the request is unauthenticated", ""},
		{"not a status", http.StatusForbidden, `<html>nope</html>`, nil,
			codes.PermissionDenied, "HTTP 403 Forbidden", ""},
	} {
		t.Run(tc.name, func(t *testing.T) {
			srv, _ := restServer(t, false, tc.code, tc.body, tc.header)
			c := dialREST(t, client.Config{Endpoint: srv.URL, IAMToken: "t1.test"})
			var out map[string]any
			err := c.DoJSON(context.Background(), http.MethodGet, "/api/v1/things/ajk1", nil, &out)
			var e *client.Error
			if !errors.As(err, &e) {
				t.Fatalf("error %v (%T), want *client.Error", err, err)
			}
			if e.Code != tc.wantCode || err.Error() != tc.wantMsg || e.RequestID != tc.wantRequestID || status.Code(err) != tc.wantCode {
				t.Errorf("error = %q (code %v, status code %v, request id %q), want %q (code %v, request id %q)",
					err, e.Code, status.Code(err), e.RequestID, tc.wantMsg, tc.wantCode, tc.wantRequestID)
			}
			if out != nil {
				t.Errorf("out = %v after an error", out)
			}
		})
	}

	t.Run("no credentials", func(t *testing.T) {
		srv, calls := restServer(t, false, http.StatusOK, `{}`, nil)
		c := dialREST(t, client.Config{Endpoint: srv.URL})
		if err := c.DoJSON(context.Background(), http.MethodGet, "/api/v1/things", nil, nil); !errors.Is(err, client.ErrNoCredentials) {
			t.Errorf("error = %v, want ErrNoCredentials", err)
		}
		if got := calls(); len(got) != 0 {
			t.Errorf("requests sent without credentials: %v", got)
		}
	})
	t.Run("unreachable", func(t *testing.T) {
		c := dialREST(t, client.Config{Endpoint: "127.0.0.1:1", IAMToken: "t1.test"})
		err := c.DoJSON(context.Background(), http.MethodGet, "/api/v1/things", nil, nil)
		if status.Code(err) != codes.Unavailable || !strings.HasPrefix(err.Error(), "cannot reach Warden at 127.0.0.1:1: ") || strings.Contains(err.Error(), `"http://`) {
			t.Errorf("error = %q (code %v)", err, status.Code(err))
		}
	})
	t.Run("deadline", func(t *testing.T) {
		block := make(chan struct{})
		srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) { <-block }))
		defer srv.Close()
		defer close(block)
		c := dialREST(t, client.Config{Endpoint: srv.URL, IAMToken: "t1.test"})
		ctx, cancel := context.WithTimeout(context.Background(), 50*time.Millisecond)
		defer cancel()
		if err := c.DoJSON(ctx, http.MethodGet, "/api/v1/things", nil, nil); status.Code(err) != codes.DeadlineExceeded {
			t.Errorf("error = %v (code %v), want DeadlineExceeded", err, status.Code(err))
		}
	})
	t.Run("undecodable answer", func(t *testing.T) {
		srv, _ := restServer(t, false, http.StatusOK, `[1, 2]`, nil)
		c := dialREST(t, client.Config{Endpoint: srv.URL, IAMToken: "t1.test"})
		var out struct{ ID string }
		err := c.DoJSON(context.Background(), http.MethodGet, "/api/v1/things", nil, &out)
		var se *json.UnmarshalTypeError
		if !errors.As(err, &se) || !strings.HasPrefix(err.Error(), "client: decode response of GET /api/v1/things: ") {
			t.Errorf("error = %v", err)
		}
	})
	t.Run("relative path", func(t *testing.T) {
		c := dialREST(t, client.Config{Endpoint: "127.0.0.1:1", IAMToken: "t1.test"})
		if err := c.DoJSON(context.Background(), http.MethodGet, "api/v1/things", nil, nil); err == nil {
			t.Error("no error for a path without a leading /")
		}
	})
}
