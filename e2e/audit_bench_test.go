package e2e

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"log/slog"
	"net/http/httptest"
	"runtime"
	"runtime/pprof"
	"slices"
	"sync"
	"testing"
	"time"

	"google.golang.org/protobuf/types/known/structpb"

	"warden/api/accesspb"
	"warden/server"
)

// BenchmarkAccessAuthorizeDataEvents is BenchmarkAccessAuthorizeLoopback's
// call, in process over REST (inproc: Main.Handler() without a socket) and
// over loopback gRPC, with data events on and off in one run, on one
// wardend that records the decisions of one resource service
// (--audit-data-services postbox): the "on" requests are postbox's, the
// "off" ones another service's, so that nothing but the data events sets
// the modes apart (not the heap of another process, nor its caches). The
// modes take turns of dataChunk requests (off first, then on first), so
// that a machine shared with other work disturbs both alike; after each
// turn of the "on" mode the writer writes what the turn queued. Each mode
// reports its ns/op (the turns' wall time, the writes after them aside)
// and cpu-µs/op (the whole process's CPU over its turns, the writes after
// them included: the requests, the clients, the writer and the store's
// commit). on/off-ns and on/off-cpu are the medians of the ratios of
// adjacent turns: a burst of other work on the machine skews one pair, not
// the figure. "dropped" is how many events the full buffer dropped.
func BenchmarkAccessAuthorizeDataEvents(b *testing.B) {
	n := start(b, b.TempDir(), "", func(c *server.Config) {
		c.Logger = slog.New(slog.DiscardHandler)
		c.Audit.DataServices = []string{"postbox"}
	})
	w := newBenchWorld(b, n)
	w.bind(b, "/resource-manager/v1/folders/"+w.folderA, "ADD", "viewer", "serviceAccount", w.robot)
	client := accesspb.NewAccessServiceClient(sdkConn(b, n.addr))
	h := n.m.Handler()
	writer := n.m.Service().AuditWriter()
	modes := []string{"off", "on"}
	// calls[transport][mode] is one Authorize.
	calls := map[string][]func() error{}
	for _, service := range []string{"monaas", "postbox"} { // off, on
		v, _ := structpb.NewList([]any{"Bearer " + w.robotToken})
		req := &accesspb.AuthorizeRequest{
			Request: &accesspb.Request{Method: "GET", Path: "/", Service: service, Headers: map[string]*structpb.ListValue{"authorization": v}},
			Checks:  []*accesspb.Check{{Permission: "iam.serviceAccounts.list", Resource: &accesspb.Resource{Id: w.folderA}}},
		}
		body, _ := json.Marshal(map[string]any{
			"request": map[string]any{"method": "GET", "path": "/", "service": service, "headers": map[string][]string{"Authorization": {"Bearer " + w.robotToken}}},
			"checks":  []any{map[string]any{"permission": "iam.serviceAccounts.list", "resource": map[string]string{"id": w.folderA}}},
		})
		calls["inproc"] = append(calls["inproc"], func() error {
			r := httptest.NewRequest("POST", "/access/v1:authorize", bytes.NewReader(body))
			r.Header.Set("Content-Type", "application/json")
			rec := httptest.NewRecorder()
			h.ServeHTTP(rec, r)
			if rec.Code != 200 {
				return fmt.Errorf("status %d", rec.Code)
			}
			return nil
		})
		calls["grpc"] = append(calls["grpc"], func() error {
			resp, err := client.Authorize(context.Background(), req)
			if err == nil && !resp.Results[0].Allowed {
				err = fmt.Errorf("denied")
			}
			return err
		})
	}
	for _, tr := range []string{"inproc", "grpc"} {
		for _, conc := range []int{1, 32} {
			b.Run(fmt.Sprintf("%s/c%d", tr, conc), func(b *testing.B) {
				// run makes count calls of mode m and returns their wall
				// time (the write after them aside), the process's CPU
				// (that write included) and their latencies.
				run := func(m, count int) (wall, cpu time.Duration, lat []time.Duration) {
					cpu0, start := processCPU(), time.Now()
					var err error
					// Labelled, so that a CPU profile tells the modes'
					// requests apart (-tagfocus mode=on).
					pprof.Do(context.Background(), pprof.Labels("mode", modes[m]), func(context.Context) {
						lat, err = runCalls(count, conc, calls[tr][m])
					})
					if err != nil {
						b.Fatal(err)
					}
					wall, cpu = time.Since(start), processCPU()-cpu0
					// The garbage of the turn is collected before the
					// write, and counted for neither mode: while the
					// writer waits for the disk the processors are idle,
					// and the collector's idle workers would finish there,
					// charged to "on", the cycle that the next turn of
					// either mode would otherwise pay for.
					runtime.GC()
					cpu0 = processCPU()
					ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
					defer cancel()
					if err := writer.Flush(ctx); err != nil {
						b.Fatal(err)
					}
					return wall, cpu + processCPU() - cpu0, lat
				}
				var (
					wall, cpu           [2]time.Duration
					lat                 [2][]time.Duration
					wallRatio, cpuRatio []float64
				)
				dropped, written := writer.Counts()
				b.ReportAllocs()
				for turn, done := 0, 0; done < b.N; turn++ {
					count := min(dataChunk, b.N-done)
					var tw, tc [2]time.Duration
					for k := range 2 {
						m := k ^ turn&1 // off first, then on first
						w, c, l := run(m, count)
						tw[m], tc[m] = w, c
						wall[m], cpu[m], lat[m] = wall[m]+w, cpu[m]+c, append(lat[m], l...)
					}
					wallRatio = append(wallRatio, float64(tw[1])/float64(tw[0]))
					cpuRatio = append(cpuRatio, float64(tc[1])/float64(tc[0]))
					done += count
				}
				per := func(d time.Duration) float64 { return float64(d.Nanoseconds()) / float64(b.N) }
				for m, mode := range modes {
					b.ReportMetric(per(wall[m]), mode+"-ns/op")
					b.ReportMetric(per(cpu[m])/1e3, mode+"-cpu-µs/op")
					slices.Sort(lat[m])
					b.ReportMetric(float64(lat[m][len(lat[m])*99/100].Microseconds()), mode+"-p99-µs")
				}
				b.ReportMetric(median(wallRatio), "on/off-ns")
				b.ReportMetric(median(cpuRatio), "on/off-cpu")
				d, wr := writer.Counts()
				b.ReportMetric(float64(d-dropped), "dropped")
				b.ReportMetric(float64(wr-written), "events")
			})
		}
	}
}

// median returns the median of xs (which it sorts).
func median(xs []float64) float64 {
	slices.Sort(xs)
	if n := len(xs); n%2 == 0 {
		return (xs[n/2-1] + xs[n/2]) / 2
	}
	return xs[len(xs)/2]
}

// dataChunk is how many requests one wardend of
// BenchmarkAccessAuthorizeDataEvents serves in a turn: enough for a batch
// of events of the length the writer writes under load (~50 ms).
const dataChunk = 2000

// runCalls makes n calls from conc goroutines and returns their latencies.
func runCalls(n, conc int, call func() error) ([]time.Duration, error) {
	lat := make([][]time.Duration, conc)
	errs := make([]error, conc)
	var wg sync.WaitGroup
	for g := range conc {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for i := g; i < n; i += conc {
				t0 := time.Now()
				if errs[g] = call(); errs[g] != nil {
					return
				}
				lat[g] = append(lat[g], time.Since(t0))
			}
		}()
	}
	wg.Wait()
	return slices.Concat(lat...), errors.Join(errs...)
}
