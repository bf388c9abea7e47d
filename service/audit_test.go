package service

import (
	"context"
	"fmt"
	"testing"
	"time"

	iam "github.com/yandex-cloud/go-genproto/yandex/cloud/iam/v1"

	"warden"
	"warden/audit"
	"warden/storage/postgres"
	"warden/storage/sqlite"
	"warden/token"
)

// auditService is a started Service on backend whose data events are on,
// running until the test ends.
func auditService(t *testing.T, backend string) (*Service, *Bootstrap) {
	t.Helper()
	var store warden.Store
	var err error
	if backend == "sqlite" {
		store, err = sqlite.Open(t.Context(), t.TempDir()+"/w.db")
	} else {
		store, err = postgres.Open(t.Context(), freshPostgres(t))
	}
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { store.Close() })
	s, err := New(Config{Store: store, Sealer: mustSealer(t), Audit: AuditConfig{DataServices: []string{"*"}}})
	if err != nil {
		t.Fatal(err)
	}
	boot, err := s.Start(t.Context())
	if err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan struct{})
	go func() { s.Run(ctx); close(done) }()
	t.Cleanup(func() { cancel(); <-done })
	return s, boot
}

// TestAuditSealedAfterCommit: on either backend an event committed with
// its change is in the chain when it is listed or verified, whether the
// store sealed it at commit (SQLite) or left it for the sealer
// (PostgreSQL), which seals it on its own shortly after.
func TestAuditSealedAfterCommit(t *testing.T) {
	for _, backend := range []string{"sqlite", "postgres"} {
		t.Run(backend, func(t *testing.T) {
			s, boot := auditService(t, backend)
			admin := WithSubject(context.Background(), SubjectOf(token.SubjectUserAccount, boot.AdminID))
			for i := range 5 {
				call := &audit.Call{Method: "/yandex.cloud.iam.v1.ServiceAccountService/Create", RequestID: fmt.Sprint("req-", i)}
				if _, err := s.ServiceAccounts().Create(audit.WithCall(admin, call), &iam.CreateServiceAccountRequest{FolderId: boot.FolderID, Name: fmt.Sprint("robot-", i)}); err != nil {
					t.Fatal(err)
				}
			}
			// The sealer seals without being asked.
			deadline := time.Now().Add(5 * time.Second)
			for {
				var head warden.AuditHead
				if err := s.store.View(t.Context(), func(tx warden.Tx) (err error) { head, err = tx.AuditHead(t.Context()); return err }); err != nil {
					t.Fatal(err)
				}
				if head.Unsealed == 0 {
					break
				}
				if time.Now().After(deadline) {
					t.Fatalf("%d records still unsealed after 5 s", head.Unsealed)
				}
				time.Sleep(10 * time.Millisecond)
			}
			evs, _, err := s.ListAuditEvents(t.Context(), warden.AuditFilter{Type: "yandex.cloud.iam.v1.ServiceAccountService.Create"})
			if err != nil || len(evs) != 5 {
				t.Fatalf("listed %d events, %v", len(evs), err)
			}
			for i, e := range evs {
				if e.Seq == 0 || e.Hash == "" || e.Resource.Path[len(e.Resource.Path)-1].Name != fmt.Sprint("robot-", i) {
					t.Errorf("event %d: seq %d hash %q path %+v", i, e.Seq, e.Hash, e.Resource.Path)
				}
			}
			rep, err := s.VerifyAudit(t.Context())
			if err != nil || rep.Break != nil || rep.Unsealed != 0 || rep.Events < 5 {
				t.Fatalf("verify: %+v %v", rep, err)
			}
		})
	}
}

// TestAuditDataEventsPageInsideBatches: data events written as batches are
// listed one by one, filtered inside their batches, and a page may end in
// the middle of one.
func TestAuditDataEventsPageInsideBatches(t *testing.T) {
	for _, backend := range []string{"sqlite", "postgres"} {
		t.Run(backend, func(t *testing.T) {
			s, boot := auditService(t, backend)
			p := SubjectOf(token.SubjectUserAccount, boot.AdminID)
			p.Credential = "iamToken"
			var want []string
			for i := range 30 {
				d := Decision{Method: "/warden.access.v1.AccessService/Authorize", Service: "postbox", Principal: p,
					Permission: "iam.serviceAccounts.list", ResourceID: boot.FolderID, Allowed: i%3 != 0}
				if i%3 == 0 {
					want = append(want, fmt.Sprint(i))
				}
				d.ClientAddress = fmt.Sprint(i)
				s.AuditDecision(context.Background(), d)
				if i == 12 {
					// Two batches at least.
					if err := s.AuditWriter().Flush(t.Context()); err != nil {
						t.Fatal(err)
					}
				}
			}
			if err := s.AuditWriter().Flush(t.Context()); err != nil {
				t.Fatal(err)
			}
			// The denials, three to a page: the batches hold 20 more.
			var got []string
			f := warden.AuditFilter{Class: warden.AuditData, ResourceID: boot.FolderID, Page: warden.Page{Size: 3}}
			for pages := 0; ; pages++ {
				if pages > 10 {
					t.Fatal("the pages do not end")
				}
				evs, next, err := s.ListAuditEvents(t.Context(), f)
				if err != nil {
					t.Fatal(err)
				}
				for _, e := range evs {
					if e.Authorization.Authorized {
						continue
					}
					got = append(got, e.Request.RemoteAddress)
					if e.Seq == 0 || e.Authentication.SubjectID != boot.AdminID || len(e.Resource.Path) != 3 {
						t.Errorf("event %+v", e)
					}
				}
				if next == "" {
					break
				}
				f.Page.Token = next
			}
			allowed := 0
			f = warden.AuditFilter{Class: warden.AuditData, Page: warden.Page{Size: 1000}}
			evs, _, err := s.ListAuditEvents(t.Context(), f)
			if err != nil {
				t.Fatal(err)
			}
			for _, e := range evs {
				if e.Authorization.Authorized {
					allowed++
				}
			}
			if fmt.Sprint(got) != fmt.Sprint(want) || allowed != 20 || len(evs) != 30 {
				t.Errorf("denials %v, want %v; %d events, %d allowed", got, want, len(evs), allowed)
			}
			rep, err := s.VerifyAudit(t.Context())
			if err != nil || rep.Break != nil || rep.Events < 31 {
				t.Fatalf("verify: %+v %v", rep, err)
			}
		})
	}
}
