package e2e

import (
	"bytes"
	"context"
	"fmt"
	"io"
	"net/http"
	"path/filepath"
	"runtime/metrics"
	"sync"
	"sync/atomic"
	"syscall"
	"testing"
	"time"

	"warden/storage/postgres"
	"warden/storage/sqlite"
	"warden/storage/sqlstore"
	"warden/storage/storagetest"
)

// BenchmarkServiceAccountCreateParallel measures POST /iam/v1/serviceAccounts
// on loopback from 16 clients at once, all into one folder, against each
// backend with 1,000 and with 100,000 resources (and as many bindings)
// loaded: writes must not slow down as the IAM grows, nor serialise on
// their shared parent. Reported as creates/s.
func BenchmarkServiceAccountCreateParallel(b *testing.B) {
	for _, be := range backends(nil) {
		for _, loaded := range []int{1_000, 100_000} {
			b.Run(fmt.Sprintf("%s/resources=%d", be.name, loaded), func(b *testing.B) {
				dir, db := b.TempDir(), be.database(b)
				n := start(b, dir, db, quiet)
				tok := n.iamToken()
				folder := n.defaultFolder(tok)
				n.stop()
				populate(b, dir, db, loaded)
				n = start(b, dir, db, quiet) // loads the snapshot with them
				const clients = 16
				client := &http.Client{Transport: &http.Transport{MaxIdleConnsPerHost: clients}}
				var next atomic.Int64
				b.ReportAllocs()
				b.ResetTimer()
				began, cpu, gc := time.Now(), processCPU(), gcCPU()
				var wg sync.WaitGroup
				for range clients {
					wg.Go(func() {
						for {
							i := next.Add(1)
							if i > int64(b.N) {
								return
							}
							body := fmt.Sprintf(`{"folderId":%q,"name":"bench-%d"}`, folder, i)
							req, _ := http.NewRequest("POST", "http://"+n.addr+"/iam/v1/serviceAccounts", bytes.NewBufferString(body))
							req.Header.Set("Authorization", "Bearer "+tok)
							resp, err := client.Do(req)
							if err != nil {
								b.Error(err)
								return
							}
							io.Copy(io.Discard, resp.Body)
							resp.Body.Close()
							if resp.StatusCode != 200 {
								b.Errorf("status %d", resp.StatusCode)
								return
							}
						}
					})
				}
				wg.Wait()
				b.ReportMetric(float64(b.N)/time.Since(began).Seconds(), "creates/s")
				// CPU of this process (wardend and the clients; not the
				// PostgreSQL server): what a shared machine does not skew.
				b.ReportMetric(float64((processCPU()-cpu).Microseconds())/float64(b.N), "cpu-µs/create")
				// Of which the garbage collector's: it grows with the heap
				// the loaded resources keep live.
				b.ReportMetric(float64((gcCPU()-gc).Microseconds())/float64(b.N), "gc-cpu-µs/create")
			})
		}
	}
}

// processCPU is the CPU time this process has used, user and system.
func processCPU() time.Duration {
	var u syscall.Rusage
	syscall.Getrusage(syscall.RUSAGE_SELF, &u)
	return time.Duration(u.Utime.Nano() + u.Stime.Nano())
}

// gcCPU is the CPU time the garbage collector has used (as the runtime
// estimates it).
func gcCPU() time.Duration {
	s := []metrics.Sample{{Name: "/cpu/classes/gc/total:cpu-seconds"}}
	metrics.Read(s)
	return time.Duration(s[0].Value.Float64() * float64(time.Second))
}

// quiet discards a benchmark node's logs.
var quiet = startBenchConfig

// populate bulk-loads resources (a tenth of them folders, the rest service
// accounts) and as many bindings into a stopped node's database.
func populate(b *testing.B, dir, database string, resources int) {
	b.Helper()
	ctx := context.Background()
	var s *sqlstore.Store
	var err error
	if database == "" {
		s, err = sqlite.Open(ctx, filepath.Join(dir, "warden.db"))
	} else {
		s, err = postgres.Open(ctx, database)
	}
	if err != nil {
		b.Fatal(err)
	}
	defer s.Close()
	folders := resources / 10
	if _, err := storagetest.Populate(ctx, s.DB(), folders, resources-folders-folders/20-1, resources); err != nil {
		b.Fatal(err)
	}
	if database != "" {
		// As a database that grew over time would be: vacuumed and
		// analysed, not by autovacuum in the middle of the measurement.
		if _, err := s.DB().ExecContext(ctx, `VACUUM ANALYZE`); err != nil {
			b.Fatal(err)
		}
	}
}
