package service

import (
	"context"
	"crypto/sha256"
	"fmt"
	"runtime"
	"testing"
	"time"

	"warden"
	"warden/authn"
	"warden/statictoken"
)

// BenchmarkStaticTokenAuthorize: an X-Token secret through the
// authentication pipeline as wardend assembles it (format and checksum,
// lookup among 1,000,000 tokens, SHA-256 compared in constant time,
// expiry, account active), then one permission on a folder — what the
// access service does per request, in process, no database read.
func BenchmarkStaticTokenAuthorize(b *testing.B) {
	s := benchService(b)
	const n = 1_000_000
	var before, after runtime.MemStats
	runtime.GC()
	runtime.ReadMemStats(&before)
	tokens := make(map[string]*staticTokenEntry, n)
	var secrets, subjects []string
	for i := range n {
		id := warden.NewID(warden.PrefixStaticToken)
		sec := statictoken.NewSecret(id)
		subject := fmt.Sprintf("aje%017d", i%10000) // a string per token, as a load from the store makes
		if i%(n/100) == 0 {
			secrets, subjects = append(secrets, sec), append(subjects, subject)
		}
		tokens[id] = &staticTokenEntry{hash: sha256.Sum256([]byte(sec)), subjectID: subject, expiresAt: benchNow.AddDate(1, 0, 0)}
	}
	runtime.GC()
	runtime.ReadMemStats(&after)
	s.staticTokens.tokens = tokens
	mib := float64(after.HeapAlloc-before.HeapAlloc) / (1 << 20)
	s.now = func() time.Time { return benchNow }
	pipeline, err := authn.New(authn.Config{Schemes: []authn.Scheme{
		authn.IAMToken{Verifier: s}, authn.APIKey{Index: s.APIKeyIndex(), Now: s.Now},
		authn.KeystoneToken{Verifier: s}, authn.StaticToken{Index: s.StaticTokenIndex(), Now: s.Now},
	}, Accounts: s})
	if err != nil {
		b.Fatal(err)
	}
	reads := countReads(s)
	s.staticTokens.store = s.store
	ctx := context.Background()
	reqs := make([]authn.Request, len(secrets))
	folders := make([]string, len(secrets))
	for i, sec := range secrets {
		reqs[i] = authn.Request{Header: authn.MD{"x-token": {sec}}, ClientAddress: "10.20.30.40:51234"}
		folders[i] = "b1ffolder" + subjects[i][len(subjects[i])-11:] // the account's own folder
		if _, err := pipeline.Authenticate(ctx, &reqs[i]); err != nil {
			b.Fatalf("Authenticate: %v (%s)", err, authn.Reason(err))
		}
	}
	start := reads()
	b.ReportAllocs()
	b.ResetTimer()
	i := 0
	for b.Loop() {
		k := i % len(reqs)
		p, err := pipeline.Authenticate(ctx, &reqs[k])
		if err != nil {
			b.Fatal(err)
		}
		s.Allowed(ctx, p, "iam.serviceAccounts.list", folders[k])
		i++
	}
	b.StopTimer()
	b.ReportMetric(mib, "index-MiB")
	b.ReportMetric(mib*(1<<20)/n, "B/token")
	b.ReportMetric(float64(reads()-start), "db-reads")
}
