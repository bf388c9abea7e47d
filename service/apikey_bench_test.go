package service

import (
	"context"
	"fmt"
	"runtime"
	"sync/atomic"
	"testing"
	"time"

	"warden"
	"warden/apikey"
	"warden/authn"
	"warden/secret"
	"warden/storage/sqlite"
)

// apiKeyWorld is a Service whose index holds n API keys, every one with an
// IPv4 and an IPv6 subnet, a time window, two products and a scope, spread
// over the 10,000 service accounts of bigWorld. Keys are built from stored
// credentials by the same code as a load from the database, without the
// database: a million inserts would dominate the benchmark's setup.
func apiKeyWorld(b *testing.B, n int) (s *Service, secrets []string, heapMiB float64) {
	s = benchService(b)

	created := time.Date(2026, 1, 1, 0, 0, 0, 0, time.UTC)
	var before, after runtime.MemStats
	runtime.GC()
	runtime.ReadMemStats(&before)
	s.apiKeys.mu.Lock()
	defer s.apiKeys.mu.Unlock()
	for i := range n {
		id := warden.NewID(warden.PrefixAPIKey)
		sec := apikey.NewSecret(id)
		if i%(n/100) == 0 {
			secrets = append(secrets, sec)
		}
		k := &APIKey{
			ID: id, ServiceAccountID: fmt.Sprintf("aje%017d", i%10000), Name: "bench", Description: "",
			Scopes: []string{"yc.postbox.send"}, Products: []string{"postbox", "monaas"},
			Addresses: []string{"10.0.0.0/8", "2001:db8::/32"}, Slots: []apikey.Slot{{Start: 8, End: 20}}, Timezone: 3,
			Enabled: true, MaskedSecret: apikey.Masked(sec), CreatedAt: created, UpdatedAt: created,
			ExpiresAt: created.AddDate(1, 0, 0), hash: secret.Hash(sec),
		}
		c, err := k.credential()
		if err != nil {
			b.Fatal(err)
		}
		spec, ok := s.apiKeys.spec(c)
		if !ok {
			b.Fatal("key did not decode")
		}
		if err := s.apiKeys.put(spec); err != nil {
			b.Fatal(err)
		}
	}
	runtime.GC()
	runtime.ReadMemStats(&after)
	return s, secrets, float64(after.HeapAlloc-before.HeapAlloc) / (1 << 20)
}

// benchNow is inside every benchmark key's window (08–20 at UTC+3) and
// validity.
var benchNow = time.Date(2026, 6, 1, 12, 0, 0, 0, time.UTC)

// BenchmarkAPIKeyAuthenticate: an Api-Key secret checked by the
// authentication pipeline with every restriction (format and checksum,
// lookup among 1,000,000 keys, SHA-256 in constant time, enabled, expiry,
// address lists, time window, product, scope, account active) — in process,
// no database read.
func BenchmarkAPIKeyAuthenticate(b *testing.B) {
	s, secrets, mib := apiKeyWorld(b, 1_000_000)
	s.now = func() time.Time { return benchNow }
	pipeline := testPipeline(b, s)
	reads := countReads(s)
	ctx := context.Background()
	reqs := make([]authn.Request, len(secrets))
	for i, sec := range secrets {
		reqs[i] = authn.Request{
			Header: authn.MD{"authorization": {"Api-Key " + sec}}, ClientAddress: "10.20.30.40:51234",
			Service: "postbox", Scope: "yc.postbox.send",
		}
		if _, err := pipeline.Authenticate(ctx, &reqs[i]); err != nil {
			b.Fatalf("Authenticate: %v (%s)", err, authn.Reason(err))
		}
	}
	start := reads()
	b.ReportAllocs()
	b.ResetTimer()
	i := 0
	for b.Loop() {
		if _, err := pipeline.Authenticate(ctx, &reqs[i%len(reqs)]); err != nil {
			b.Fatal(err)
		}
		i++
	}
	b.StopTimer()
	b.ReportMetric(mib, "index-MiB")
	b.ReportMetric(mib*(1<<20)/1e6, "B/key")
	b.ReportMetric(float64(reads()-start), "db-reads")
}

// countReads wraps the service's store to count its reads.
func countReads(s *Service) func() int64 {
	c := &countingStore{Store: s.store}
	s.store, s.apiKeys.store, s.authz.store = c, c, c
	return func() int64 { return c.views.Load() }
}

type countingStore struct {
	warden.Store
	views atomic.Int64
}

func (c *countingStore) View(ctx context.Context, fn func(warden.Tx) error) error {
	c.views.Add(1)
	return c.Store.View(ctx, fn)
}

// BenchmarkAPIKeyIndexLoad: a full load of the index from SQLite (what
// start-up and a stale feed cost), 100,000 keys; the per-key figures
// (wall and CPU time) scale to a million.
func BenchmarkAPIKeyIndexLoad(b *testing.B) {
	const n = 100_000
	store, err := sqlite.Open(context.Background(), b.TempDir()+"/w.db")
	if err != nil {
		b.Fatal(err)
	}
	defer store.Close()
	s, err := New(Config{Store: store, Sealer: mustSealer(b)})
	if err != nil {
		b.Fatal(err)
	}
	created := time.Date(2026, 1, 1, 0, 0, 0, 0, time.UTC)
	err = store.Update(context.Background(), func(tx warden.Tx) error {
		for i := range n {
			id := warden.NewID(warden.PrefixAPIKey)
			k := &APIKey{
				ID: id, ServiceAccountID: fmt.Sprintf("aje%017d", i%10000), Name: "bench", Products: []string{"postbox"},
				Addresses: []string{"10.0.0.0/8"}, Slots: []apikey.Slot{{Start: 8, End: 20}}, Timezone: 3, Enabled: true,
				MaskedSecret: "****abcdef", CreatedAt: created, UpdatedAt: created, hash: secret.Hash(id),
			}
			c, err := k.credential()
			if err != nil {
				return err
			}
			if err := tx.CreateCredential(context.Background(), c); err != nil {
				return err
			}
		}
		return nil
	})
	if err != nil {
		b.Fatal(err)
	}
	b.ReportAllocs()
	cpu := processCPU()
	for b.Loop() {
		if err := s.apiKeys.loadAll(context.Background()); err != nil {
			b.Fatal(err)
		}
	}
	cpu = processCPU() - cpu
	if got := s.apiKeys.Len(); got != n {
		b.Fatalf("index holds %d keys, want %d", got, n)
	}
	b.ReportMetric(float64(b.Elapsed().Nanoseconds())/float64(b.N)/n, "ns/key")
	// CPU time: on a machine whose cores are shared it moves less than
	// the wall time does.
	b.ReportMetric(float64(cpu.Nanoseconds())/float64(b.N)/n, "cpu-ns/key")
}
