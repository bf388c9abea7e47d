package client

import (
	"bytes"
	"context"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"
	"time"

	rm "github.com/yandex-cloud/go-genproto/yandex/cloud/resourcemanager/v1"
	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/status"
)

// Transport failures say what to do, not the HTTP/2 stack's words.
func TestTransportErrorsExplained(t *testing.T) {
	tlsServer := httptest.NewTLSServer(http.NotFoundHandler())
	defer tlsServer.Close()
	http1 := httptest.NewServer(http.NotFoundHandler())
	defer http1.Close()
	_, grpcAddr := startFake(t)

	for _, tc := range []struct {
		name string
		cfg  Config
		want string
	}{
		{"plaintext to a TLS server", Config{Endpoint: strings.TrimPrefix(tlsServer.URL, "https://")}, "does not speak plaintext gRPC: if it serves TLS, use --tls or an https:// endpoint"},
		{"gRPC to an HTTP/1 server", Config{Endpoint: strings.TrimPrefix(http1.URL, "http://")}, "does not speak plaintext gRPC"},
		{"TLS to a plaintext server", Config{Endpoint: grpcAddr, TLS: true}, "does not speak TLS"},
		{"nothing listening", Config{Endpoint: "127.0.0.1:1"}, "nothing accepts connections there"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			tc.cfg.IAMToken = "t1.x"
			c := dial(t, tc.cfg)
			ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
			defer cancel()
			_, err := c.Clouds.List(ctx, &rm.ListCloudsRequest{})
			if status.Code(err) != codes.Unavailable || !strings.Contains(err.Error(), tc.want) {
				t.Errorf("error = %q (code %v), want Unavailable containing %q", err, status.Code(err), tc.want)
			}
			for _, raw := range []string{"frame too large", "server preface", "rpc error", "desc ="} {
				if strings.Contains(err.Error(), raw) {
					t.Errorf("error = %q: shows the transport's raw text %q", err, raw)
				}
			}
		})
	}
}

// --debug's writer gets a line per call with the outcome and no credential.
func TestDebugWritesCalls(t *testing.T) {
	_, addr := startFake(t)
	var out bytes.Buffer
	c := dial(t, Config{Endpoint: addr, IAMToken: "t1.secret-token", Debug: &out})
	if _, err := c.Clouds.List(context.Background(), &rm.ListCloudsRequest{}); err != nil {
		t.Fatal(err)
	}
	got := out.String()
	if !strings.Contains(got, "DEBUG: grpc /yandex.cloud.resourcemanager.v1.CloudService/List ") || !strings.Contains(got, ": OK") {
		t.Errorf("debug output %q, want a line for CloudService/List with OK", got)
	}
	if strings.Contains(got, "secret-token") {
		t.Errorf("debug output %q shows the credential", got)
	}
}
