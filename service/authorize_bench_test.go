package service

import (
	"context"
	"fmt"
	"runtime"
	"testing"

	"warden"
	"warden/access"
	"warden/authn"
	"warden/secret"
	"warden/storage/sqlite"
	"warden/token"
)

// bigWorld is the issue's data set: 10,000 folders (in 500 clouds of one
// organization), 100,000 bindings and 10,000 subjects.
func bigWorld() ([]access.Node, []access.Binding) {
	nodes := []access.Node{{ID: "bpforg", Type: warden.TypeOrganization, Status: warden.StatusActive}}
	for i := range 500 {
		nodes = append(nodes, access.Node{ID: fmt.Sprintf("b1gcloud%012d", i), Type: warden.TypeCloud, ParentID: "bpforg", Status: warden.StatusActive})
	}
	for i := range 10000 {
		nodes = append(nodes, access.Node{ID: fmt.Sprintf("b1ffolder%011d", i), Type: warden.TypeFolder, ParentID: fmt.Sprintf("b1gcloud%012d", i%500), Status: warden.StatusActive})
	}
	for i := range 10000 {
		nodes = append(nodes, access.Node{ID: fmt.Sprintf("aje%017d", i), Type: warden.TypeServiceAccount, ParentID: fmt.Sprintf("b1ffolder%011d", i), Status: warden.StatusActive})
	}
	roles := []string{"viewer", "editor", "iam.serviceAccounts.user", "postbox.viewer", "resource-manager.viewer"}
	var bs []access.Binding
	for i := range 100000 {
		bs = append(bs, access.Binding{ResourceID: fmt.Sprintf("b1ffolder%011d", (i*7919)%10000),
			AccessBinding: warden.AccessBinding{RoleID: roles[i%len(roles)], SubjectType: "serviceAccount", SubjectID: fmt.Sprintf("aje%017d", (i*104729)%10000)}})
	}
	return nodes, bs
}

// BenchmarkAuthorizeToken: the authentication pipeline verifies a repeat IAM
// token and checks the subject is active, then one permission is checked on
// a folder — in process, no database.
func BenchmarkAuthorizeToken(b *testing.B) {
	store, err := sqlite.Open(context.Background(), b.TempDir()+"/w.db")
	if err != nil {
		b.Fatal(err)
	}
	defer store.Close()
	s, err := New(Config{Store: store, Sealer: mustSealer(b)})
	if err != nil {
		b.Fatal(err)
	}
	if _, err := s.Start(context.Background()); err != nil {
		b.Fatal(err)
	}
	nodes, bindings := bigWorld()
	var before, after runtime.MemStats
	runtime.GC()
	runtime.ReadMemStats(&before)
	snap := access.NewSnapshot(s.authz.catalog, nodes, bindings)
	runtime.GC()
	runtime.ReadMemStats(&after)
	s.authz.snap.Store(snap)
	// The subject of a viewer binding somewhere in the middle.
	i := len(bindings) / 2
	for bindings[i].RoleID != "viewer" {
		i++
	}
	subject, folder := bindings[i].SubjectID, bindings[i].ResourceID
	tok, _, err := s.issueToken(context.Background(), token.SubjectServiceAccount, subject, "")
	if err != nil {
		b.Fatal(err)
	}
	pipeline := testPipeline(b, s)
	ctx := context.Background()
	req := &authn.Request{Header: authn.MD{"authorization": {"Bearer " + tok}}}
	authorize := func() bool {
		p, err := pipeline.Authenticate(ctx, req)
		if err != nil {
			b.Fatalf("Authenticate: %v (%s)", err, authn.Reason(err))
		}
		return s.Allowed(ctx, p, "iam.serviceAccounts.list", folder)
	}
	if !authorize() {
		b.Fatal("denied")
	}
	b.ReportAllocs()
	b.ResetTimer()
	for b.Loop() {
		if !authorize() {
			b.Fatal("denied")
		}
	}
	b.ReportMetric(float64(after.HeapAlloc-before.HeapAlloc)/(1<<20), "snapshot-MiB")
}

// testPipeline is the authentication pipeline as wardend assembles it.
func testPipeline(b testing.TB, s *Service) *authn.Pipeline {
	p, err := authn.New(authn.Config{Schemes: []authn.Scheme{
		authn.IAMToken{Verifier: s}, authn.APIKey{Index: s.APIKeyIndex(), Now: s.Now},
	}, Accounts: s})
	if err != nil {
		b.Fatal(err)
	}
	return p
}

func mustSealer(b testing.TB) *secret.Sealer {
	s, err := secret.NewSealer(secret.RandomBytes(32))
	if err != nil {
		b.Fatal(err)
	}
	return s
}
