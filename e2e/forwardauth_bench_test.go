package e2e

import (
	"io"
	"net/http"
	"net/http/httptest"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	"log/slog"

	"warden/server"
)

// BenchmarkNginxForwardAuth measures what Warden's forward auth adds to a
// request through nginx: the same nginx serves the README's guarded server
// block, a second one straight to the upstream, and a third whose
// auth_request goes to a minimal net/http handler answering 200 (what any
// auth_request costs here: the floor); 8 clients take turns between them in
// the same run, so all see the same machine. It reports the p50 and p99 of
// each and the p50 and p99 Warden adds (docs/PERFORMANCE.md):
//
//	go test ./e2e -run '^$' -bench BenchmarkNginxForwardAuth -benchtime 20000x -count 1
func BenchmarkNginxForwardAuth(b *testing.B) {
	p := newProxyWorld(b, discardLogs)
	direct, floor := freeAddr(b), freeAddr(b)
	yes := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {}))
	defer yes.Close()
	guarded := startNginx(b, p, "server {\n    listen "+direct+";\n    location / {\n        proxy_pass http://"+p.upstream.addr+";\n    }\n}\n"+
		"upstream yes {\n    server "+strings.TrimPrefix(yes.URL, "http://")+";\n    keepalive 16;\n}\n"+
		"server {\n    listen "+floor+";\n    location / {\n        auth_request /.auth;\n        proxy_pass http://"+p.upstream.addr+";\n    }\n"+
		"    location = /.auth {\n        internal;\n        proxy_pass http://yes;\n        proxy_http_version 1.1;\n        proxy_set_header Connection \"\";\n        proxy_pass_request_body off;\n    }\n}\n")
	const workers = 8
	tr := &http.Transport{MaxIdleConnsPerHost: 2 * workers}
	defer tr.CloseIdleConnections()
	client := &http.Client{Transport: tr, Timeout: 10 * time.Second}
	path := "/" + p.w.folderA + "/photos/cat.jpg"
	get := func(addr string) time.Duration {
		req, _ := http.NewRequest("GET", "http://"+addr+path, nil)
		req.Header.Set("Authorization", "Bearer "+p.w.robotToken)
		start := time.Now()
		resp, err := client.Do(req)
		if err != nil {
			b.Fatal(err)
		}
		io.Copy(io.Discard, resp.Body)
		resp.Body.Close()
		if resp.StatusCode != 200 || !strings.Contains(resp.Header.Get("X-Upstream"), "echo") {
			b.Fatalf("GET through %s: %d", addr, resp.StatusCode)
		}
		return time.Since(start)
	}
	addrs := [3]string{direct, floor, guarded}
	for _, a := range addrs {
		get(a) // warm every path: connections, the token's verification
	}
	b.ReportAllocs()
	b.ResetTimer()
	var mu sync.Mutex
	var lat [3][]time.Duration
	var wg sync.WaitGroup
	next := make(chan int, workers)
	go func() {
		for i := 0; i < b.N; i++ {
			next <- i
		}
		close(next)
	}()
	for range workers {
		wg.Add(1)
		go func() {
			defer wg.Done()
			var mine [3][]time.Duration
			for i := range next {
				mine[i%3] = append(mine[i%3], get(addrs[i%3]))
			}
			mu.Lock()
			for i := range lat {
				lat[i] = append(lat[i], mine[i]...)
			}
			mu.Unlock()
		}()
	}
	wg.Wait()
	b.StopTimer()
	if len(lat[2]) == 0 {
		return
	}
	q := func(d []time.Duration, f float64) float64 {
		slices.Sort(d)
		return float64(d[int(f*float64(len(d)-1))].Microseconds()) / 1000
	}
	d50, d99, w50, w99 := q(lat[0], 0.50), q(lat[0], 0.99), q(lat[2], 0.50), q(lat[2], 0.99)
	b.ReportMetric(d50, "direct-p50-ms")
	b.ReportMetric(d99, "direct-p99-ms")
	b.ReportMetric(q(lat[1], 0.50), "floor-p50-ms")
	b.ReportMetric(q(lat[1], 0.99), "floor-p99-ms")
	b.ReportMetric(w50, "warden-p50-ms")
	b.ReportMetric(w99, "warden-p99-ms")
	b.ReportMetric(w50-d50, "added-p50-ms")
	b.ReportMetric(w99-d99, "added-p99-ms")
}

// discardLogs drops wardend's log lines in benchmarks, as startBench does.
func discardLogs(c *server.Config) { c.Logger = slog.New(slog.DiscardHandler) }

// BenchmarkForwardAuthHandler is Warden's own cost of one forward-auth
// check, in process (no network, no proxy): the request nginx's block
// sends for a GET with an IAM token, through the interceptor chain, the
// route, the pipeline and the snapshot.
//
//	go test ./e2e -run '^$' -bench BenchmarkForwardAuthHandler -benchtime 20000x -cpu 1 -count 3
func BenchmarkForwardAuthHandler(b *testing.B) {
	p := newProxyWorld(b, discardLogs)
	h := p.n.m.Handler()
	req := httptest.NewRequest("GET", "/warden/v1/forwardAuth", nil)
	req.RemoteAddr = "127.0.0.1:40000"
	req.Header.Set("Authorization", "Bearer "+p.w.robotToken)
	req.Header.Set("X-Original-Method", "GET")
	req.Header.Set("X-Original-Uri", "/"+p.w.folderA+"/photos/cat.jpg")
	req.Header.Set("X-Original-Host", "storage.example")
	req.Header.Set("X-Forwarded-For", "198.51.100.7")
	health := httptest.NewRequest("GET", "/healthz", nil)
	// /healthz through the same handler is the floor: what serving any
	// request in process costs here.
	for _, bc := range []struct {
		name string
		req  *http.Request
	}{{"forwardAuth", req}, {"healthz", health}} {
		b.Run(bc.name, func(b *testing.B) {
			b.ReportAllocs()
			b.RunParallel(func(pb *testing.PB) {
				for pb.Next() {
					w := httptest.NewRecorder()
					h.ServeHTTP(w, bc.req)
					if w.Code != 200 {
						b.Fatalf("%s: %d %s", bc.name, w.Code, w.Body)
					}
				}
			})
		})
	}
}
