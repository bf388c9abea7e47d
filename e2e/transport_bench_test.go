package e2e

import (
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"
	"time"

	"warden/server"
)

// BenchmarkTransportHandler is wardend's own cost of each request that
// `go run ./bench` measures against its limit server, in process (no
// socket, no load generator): the handler the port serves, with the JSON
// request log buffered as shipped (to io.Discard). /healthz through the
// same handler is the floor of any request here.
//
//	go test ./e2e -run '^$' -bench BenchmarkTransportHandler -benchtime 20000x -cpu 1 -count 3
func BenchmarkTransportHandler(b *testing.B) {
	logs := server.NewLogWriter(io.Discard, 100*time.Millisecond)
	b.Cleanup(func() { logs.Close() })
	n := start(b, b.TempDir(), "", func(c *server.Config) {
		c.Logger = server.NewBufferedLogger(server.NewJSONHandler(logs, nil), logs)
	})
	w := newKSWorld(b, n)
	for i := range 9 {
		if r := n.rest("POST", "/iam/v1/serviceAccounts", w.admin, map[string]any{"folderId": w.folderB, "name": fmt.Sprintf("robot-%d", i), "description": "bench"}); r.status != 200 {
			b.Fatalf("create: %d %s", r.status, r.raw)
		}
	}
	w.bind(b, "/resource-manager/v1/folders/"+w.folderB, "ADD", "viewer", "serviceAccount", w.robot)
	tok := w.issue(b, projectScope(w.folderA))
	body, _ := json.Marshal(map[string]any{
		"request": map[string]any{"method": "GET", "path": "/", "headers": map[string][]string{"Authorization": {"Bearer " + w.robotToken}}},
		"checks":  []any{map[string]any{"permission": "iam.serviceAccounts.list", "resource": map[string]string{"type": "resource-manager.folder", "id": w.folderB}}},
	})
	h := n.m.Handler()
	request := func(method, path string, body []byte, headers ...string) func() *http.Request {
		return func() *http.Request {
			var rd io.Reader
			if body != nil {
				rd = strings.NewReader(string(body))
			}
			r := httptest.NewRequest(method, path, rd)
			r.RemoteAddr = "127.0.0.1:40000"
			for i := 0; i < len(headers); i += 2 {
				r.Header.Set(headers[i], headers[i+1])
			}
			return r
		}
	}
	for _, bc := range []struct {
		name string
		req  func() *http.Request
	}{
		{"healthz", request("GET", "/healthz", nil)},
		{"authorize-rest", request("POST", "/access/v1:authorize", body, "Content-Type", "application/json")},
		{"sa-list", request("GET", "/iam/v1/serviceAccounts?folderId="+w.folderB, nil, "Authorization", "Bearer "+w.robotToken)},
		{"keystone-validate", request("GET", "/v3/auth/tokens", nil, "X-Auth-Token", tok, "X-Subject-Token", tok)},
	} {
		b.Run(bc.name, func(b *testing.B) {
			b.ReportAllocs()
			cpu0 := processCPU()
			for b.Loop() {
				rec := httptest.NewRecorder()
				h.ServeHTTP(rec, bc.req())
				if rec.Code != 200 {
					b.Fatalf("%s: %d %s", bc.name, rec.Code, rec.Body)
				}
			}
			// CPU time, unlike the time per op, does not count the time
			// other processes held the cores: the steadier figure on a
			// shared machine.
			b.ReportMetric(float64((processCPU()-cpu0).Microseconds())/float64(b.N), "cpu-µs/op")
		})
	}
}
