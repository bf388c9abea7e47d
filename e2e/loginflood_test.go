package e2e

import (
	"bytes"
	"context"
	"fmt"
	"io"
	"log/slog"
	"net/http"
	"os"
	"runtime/debug"
	"slices"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"warden/server"
	"warden/service"
)

// floodConfig shapes one login flood.
type floodConfig struct {
	workers   int           // parallel unauthenticated logins
	perWorker int           // logins each worker sends at most
	duration  time.Duration // and for at most this long
}

// floodFigures is what a flood measured.
type floodFigures struct {
	writes            int
	writerP50         time.Duration
	writerP99         time.Duration
	writerMax         time.Duration
	writeErrors       []string
	rssBase, rssPeak  int64 // bytes, whole process
	readyzChecks      int
	readyzFailures    int
	logins            int64
	answered401       int64
	answered429       int64
	answeredOther     []string
	missingRetryAfter int64
	loginP99          time.Duration
}

func (f floodFigures) String() string {
	return fmt.Sprintf("writer: %d creates, p50 %s, p99 %s, max %s, %d errors; RSS %d MiB → peak %d MiB; /readyz %d/%d failed; logins %d: %d answered 401, %d answered 429, %d other",
		f.writes, f.writerP50.Round(100*time.Microsecond), f.writerP99.Round(100*time.Microsecond), f.writerMax.Round(time.Millisecond), len(f.writeErrors),
		f.rssBase>>20, f.rssPeak>>20, f.readyzFailures, f.readyzChecks, f.logins, f.answered401, f.answered429, len(f.answeredOther))
}

// flood sends cfg.workers parallel unauthenticated logins for unknown
// logins at n while one client creates service accounts through REST with
// the admin's IAM token and another polls /readyz, and measures the
// writer's latency, the process's RSS and the answers.
func flood(tb testing.TB, n *node, cfg floodConfig) floodFigures {
	tb.Helper()
	tok := n.iamToken()
	folder := n.defaultFolder(tok)
	hc := &http.Client{Timeout: 15 * time.Second, Transport: &http.Transport{MaxIdleConnsPerHost: cfg.workers + 4}}
	defer hc.CloseIdleConnections()
	var fig floodFigures
	debug.FreeOSMemory()
	fig.rssBase = rss(tb, "VmRSS")
	resetPeakRSS()

	ctx, cancel := context.WithTimeout(context.Background(), cfg.duration)
	defer cancel()
	var wg sync.WaitGroup
	var latencies []time.Duration
	wg.Go(func() { // the writer
		for i := 0; ctx.Err() == nil; i++ {
			body := fmt.Sprintf(`{"folderId":%q,"name":"flood-writer-%d"}`, folder, i)
			req, _ := http.NewRequest("POST", "http://"+n.addr+"/iam/v1/serviceAccounts", strings.NewReader(body))
			req.Header.Set("Authorization", "Bearer "+tok)
			start := time.Now()
			resp, err := hc.Do(req)
			if err != nil {
				fig.writeErrors = append(fig.writeErrors, err.Error())
				continue
			}
			raw, _ := io.ReadAll(resp.Body)
			resp.Body.Close()
			latencies = append(latencies, time.Since(start))
			if resp.StatusCode != 200 {
				fig.writeErrors = append(fig.writeErrors, fmt.Sprintf("%d %s", resp.StatusCode, raw))
			}
		}
	})
	wg.Go(func() { // the readiness probe
		for ctx.Err() == nil {
			pctx, pcancel := context.WithTimeout(context.Background(), 2*time.Second)
			req, _ := http.NewRequestWithContext(pctx, "GET", "http://"+n.addr+"/readyz", nil)
			resp, err := hc.Do(req)
			fig.readyzChecks++
			if err != nil || resp.StatusCode != 200 {
				fig.readyzFailures++
			}
			if err == nil {
				io.Copy(io.Discard, resp.Body)
				resp.Body.Close()
			}
			pcancel()
			select {
			case <-ctx.Done():
			case <-time.After(50 * time.Millisecond):
			}
		}
	})
	var peak atomic.Int64
	wg.Go(func() { // RSS sampling, for systems without a resettable VmHWM
		for ctx.Err() == nil {
			if r := rss(tb, "VmRSS"); r > peak.Load() {
				peak.Store(r)
			}
			select {
			case <-ctx.Done():
			case <-time.After(20 * time.Millisecond):
			}
		}
	})
	var mu sync.Mutex
	var loginLatencies []time.Duration
	for w := range cfg.workers {
		wg.Go(func() {
			for i := 0; i < cfg.perWorker && ctx.Err() == nil; i++ {
				body := fmt.Sprintf(`{"login":"flood-%d-%d","password":"guess-%d"}`, w, i, i)
				start := time.Now()
				resp, err := hc.Post("http://"+n.addr+"/warden/v1/login", "application/json", bytes.NewBufferString(body))
				atomic.AddInt64(&fig.logins, 1)
				if err != nil {
					mu.Lock()
					fig.answeredOther = append(fig.answeredOther, err.Error())
					mu.Unlock()
					continue
				}
				raw, _ := io.ReadAll(resp.Body)
				resp.Body.Close()
				mu.Lock()
				loginLatencies = append(loginLatencies, time.Since(start))
				switch resp.StatusCode {
				case http.StatusUnauthorized:
					fig.answered401++
				case http.StatusTooManyRequests:
					fig.answered429++
					if secs, err := strconv.Atoi(resp.Header.Get("Retry-After")); err != nil || secs < 1 {
						fig.missingRetryAfter++
					}
				default:
					fig.answeredOther = append(fig.answeredOther, fmt.Sprintf("%d %s", resp.StatusCode, raw))
				}
				mu.Unlock()
			}
		})
	}
	wg.Wait()
	fig.rssPeak = max(peak.Load(), rss(tb, "VmHWM"))
	fig.writes = len(latencies)
	fig.writerP50, fig.writerP99, fig.writerMax = quantile(latencies, 0.50), quantile(latencies, 0.99), quantile(latencies, 1)
	fig.loginP99 = quantile(loginLatencies, 0.99)
	return fig
}

// rss reads a size field (VmRSS, VmHWM) of /proc/self/status in bytes.
func rss(tb testing.TB, field string) int64 {
	b, err := os.ReadFile("/proc/self/status")
	if err != nil {
		tb.Skipf("no /proc/self/status: %v", err)
	}
	for _, line := range strings.Split(string(b), "\n") {
		if rest, ok := strings.CutPrefix(line, field+":"); ok {
			kb, _ := strconv.ParseInt(strings.TrimSuffix(strings.TrimSpace(rest), " kB"), 10, 64)
			return kb << 10
		}
	}
	return 0
}

// resetPeakRSS resets VmHWM to the current RSS (Linux ≥ 4.0); where it
// cannot, the sampled peak stands.
func resetPeakRSS() { os.WriteFile("/proc/self/clear_refs", []byte("5"), 0) }

func quantile(ds []time.Duration, q float64) time.Duration {
	if len(ds) == 0 {
		return 0
	}
	s := slices.Clone(ds)
	slices.Sort(s)
	return s[min(len(s)-1, int(q*float64(len(s))))]
}

// TestAttackLoginFlood replays the login flood of issue 9 (c): 64 parallel
// unauthenticated logins for unknown logins made writes fail with
// SQLITE_BUSY, /readyz answer 503 and RSS reach 1.8 GiB, because argon2id
// ran inside a write transaction and without a bound. Now every write
// succeeds quickly (BenchmarkLoginFlood measures the p99 against its 250 ms
// target), RSS stays under 512 MiB and /readyz answers 200 throughout:
// with the default limits (the per-address throttle turns most of the flood
// away before any hashing) and with the address throttle off, so that every
// login reaches the bounded password hashing.
func TestAttackLoginFlood(t *testing.T) {
	if testing.Short() {
		t.Skip("a 2×6 s load test")
	}
	for _, tc := range []struct {
		name   string
		limits service.LoginLimits
	}{
		{"default limits", service.LoginLimits{}},
		{"hash limiter alone", service.LoginLimits{PerAddress: 1 << 30}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			n := start(t, t.TempDir(), "", func(c *server.Config) { c.Logins = tc.limits })
			fig := flood(t, n, floodConfig{workers: 64, perWorker: 200, duration: 6 * time.Second})
			t.Logf("%s", fig)
			if len(fig.writeErrors) > 0 {
				t.Errorf("%d writes failed during the flood, first: %s", len(fig.writeErrors), fig.writeErrors[0])
			}
			if fig.writes < 20 {
				t.Errorf("only %d writes in 6 s", fig.writes)
			}
			// The 250 ms target is BenchmarkLoginFlood's (docs/PERFORMANCE.md);
			// a test on a shared machine asserts a bound that only the old
			// failure (writes stuck for seconds, then SQLITE_BUSY) breaks.
			if fig.writerP99 > time.Second {
				t.Errorf("writer p99 %s, want under 1s (target 250ms: see BenchmarkLoginFlood)", fig.writerP99)
			}
			if fig.readyzFailures > 0 {
				t.Errorf("/readyz failed %d of %d times", fig.readyzFailures, fig.readyzChecks)
			}
			if fig.rssPeak > 512<<20 {
				t.Errorf("RSS peaked at %d MiB, want under 512 MiB", fig.rssPeak>>20)
			}
			if growth := fig.rssPeak - fig.rssBase; growth > 384<<20 {
				t.Errorf("RSS grew by %d MiB during the flood", growth>>20)
			}
			if len(fig.answeredOther) > 0 {
				t.Errorf("%d logins answered neither 401 nor 429, first: %s", len(fig.answeredOther), fig.answeredOther[0])
			}
			if fig.answered429 == 0 || fig.missingRetryAfter > 0 {
				t.Errorf("%d logins answered 429, %d of them without Retry-After", fig.answered429, fig.missingRetryAfter)
			}
			if fig.answered401 == 0 {
				t.Errorf("no login was checked at all")
			}
		})
	}
}

// BenchmarkLoginFlood prints the figures of TestAttackLoginFlood for each
// backend, with the writer alone (no-flood) for comparison; one iteration
// is one 6 s flood (run with -benchtime 1x).
func BenchmarkLoginFlood(b *testing.B) {
	for _, be := range backends(nil) {
		for _, lim := range []struct {
			name    string
			limits  service.LoginLimits
			workers int
		}{{"no-flood", service.LoginLimits{}, 0}, {"default", service.LoginLimits{}, 64}, {"hash-limiter-alone", service.LoginLimits{PerAddress: 1 << 30}, 64}} {
			b.Run(be.name+"/"+lim.name, func(b *testing.B) {
				n := start(b, b.TempDir(), be.database(b), func(c *server.Config) {
					c.Logins = lim.limits
					c.Logger = slog.New(slog.DiscardHandler)
				})
				b.ReportAllocs()
				var fig floodFigures
				for b.Loop() {
					fig = flood(b, n, floodConfig{workers: lim.workers, perWorker: 200, duration: 6 * time.Second})
				}
				b.Logf("%s", fig)
				b.ReportMetric(float64(fig.writerP50.Microseconds())/1000, "writer-p50-ms")
				b.ReportMetric(float64(fig.writerP99.Microseconds())/1000, "writer-p99-ms")
				b.ReportMetric(float64(fig.rssPeak>>20), "rss-peak-MiB")
				b.ReportMetric(float64(fig.readyzFailures), "readyz-failures")
				b.ReportMetric(float64(fig.answered401), "logins-401")
				b.ReportMetric(float64(fig.answered429), "logins-429")
			})
		}
	}
}
