package e2e

import (
	"fmt"
	"io"
	"net"
	"net/http"
	"strings"
	"testing"
)

// keystoneClient is a keep-alive HTTP client for load runs.
var keystoneClient = &http.Client{Transport: &http.Transport{MaxIdleConnsPerHost: 128}}

func keystoneCall(method, url string, headers map[string]string, body string, want int) func() error {
	return func() error {
		var rd io.Reader
		if body != "" {
			rd = strings.NewReader(body)
		}
		req, err := http.NewRequest(method, url, rd)
		if err != nil {
			return err
		}
		for k, v := range headers {
			req.Header.Set(k, v)
		}
		resp, err := keystoneClient.Do(req)
		if err != nil {
			return err
		}
		io.Copy(io.Discard, resp.Body)
		resp.Body.Close()
		if resp.StatusCode != want {
			return fmt.Errorf("%s %s: status %d", method, url, resp.StatusCode)
		}
		return nil
	}
}

// BenchmarkKeystoneIssue measures POST /identity/v3/auth/tokens with the
// password method and project scope over loopback (client on the same
// cores, SQLite). The first issue of a password costs an argon2id check;
// repeats of it within ten minutes cost an HMAC (see
// service/verifiedpasswords.go), which is what a client re-authenticating
// pays.
func BenchmarkKeystoneIssue(b *testing.B) {
	n := startBench(b, backends(b)[0])
	w := newKSWorld(b, n)
	body := w.passwordAuth(ksPassword, `{"project":{"name":"default","domain":{"name":"`+w.cloudName+`"}}}`)
	call := keystoneCall("POST", "http://"+n.addr+"/identity/v3/auth/tokens", map[string]string{"Content-Type": "application/json"}, body, 201)
	if err := call(); err != nil { // the argon2id check, once
		b.Fatal(err)
	}
	for _, conc := range []int{1, 32} {
		b.Run(fmt.Sprintf("c%d", conc), func(b *testing.B) { loadRun(b, conc, call) })
	}
}

// BenchmarkKeystoneValidate measures GET /v3/auth/tokens (X-Auth-Token
// and X-Subject-Token, the full token document with its catalog) over
// loopback at concurrency 8 and 32, side by side with a minimal net/http
// server answering the same request with the same bytes in the same run.
func BenchmarkKeystoneValidate(b *testing.B) {
	n := startBench(b, backends(b)[0])
	w := newKSWorld(b, n)
	tok := w.issue(b, projectScope(w.folderA))
	headers := map[string]string{"X-Auth-Token": tok, "X-Subject-Token": tok}
	answer := n.ks("GET", "/v3/auth/tokens", headers, "")
	if answer.status != 200 {
		b.Fatalf("validate: %d %s", answer.status, answer.raw)
	}
	// The baseline: the least a Go HTTP server does for this request.
	lis, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		b.Fatal(err)
	}
	minimal := &http.Server{Handler: http.HandlerFunc(func(rw http.ResponseWriter, r *http.Request) {
		if r.Header.Get("X-Auth-Token") == "" || r.Header.Get("X-Subject-Token") == "" {
			rw.WriteHeader(401)
			return
		}
		rw.Header().Set("Content-Type", "application/json")
		rw.Header().Set("X-Subject-Token", r.Header.Get("X-Subject-Token"))
		io.WriteString(rw, answer.raw)
	})}
	go minimal.Serve(lis)
	b.Cleanup(func() { minimal.Close() })
	for _, target := range []struct{ name, url string }{
		{"warden", "http://" + n.addr + "/v3/auth/tokens"},
		{"nethttp", "http://" + lis.Addr().String() + "/v3/auth/tokens"},
	} {
		call := keystoneCall("GET", target.url, headers, "", 200)
		for _, conc := range []int{8, 32} {
			b.Run(fmt.Sprintf("%s/c%d", target.name, conc), func(b *testing.B) { loadRun(b, conc, call) })
		}
	}
}
