package service

import (
	"context"
	"testing"

	"warden"
	"warden/storage/sqlite"
	"warden/token"
)

// BenchmarkLoginAudit measures what the audit trail adds to a password
// login: the login's write transaction with its event and without, in one
// run, and the whole login (dominated by argon2id) for scale.
func BenchmarkLoginAudit(b *testing.B) {
	store, err := sqlite.Open(context.Background(), b.TempDir()+"/w.db")
	if err != nil {
		b.Fatal(err)
	}
	defer store.Close()
	s, err := New(Config{Store: store, Sealer: mustSealer(b)})
	if err != nil {
		b.Fatal(err)
	}
	boot, err := s.Start(context.Background())
	if err != nil {
		b.Fatal(err)
	}
	ctx := WithSubject(context.Background(), SubjectOf(token.SubjectUserAccount, boot.AdminID))
	if err := s.SetPassword(ctx, boot.AdminID, "", testPassword); err != nil {
		b.Fatal(err)
	}
	for _, mode := range []struct {
		name string
		off  bool
	}{{"audit", false}, {"no-audit", true}} {
		// The login's write: its OAuth token and, with the trail, its
		// event, in one transaction. The password check before it
		// (argon2id, 64 MiB) is the same either way and dwarfs both.
		b.Run("write/"+mode.name, func(b *testing.B) {
			s.audit.off = mode.off
			b.ReportAllocs()
			for b.Loop() {
				err := s.mutate(ctx, func(tx warden.Tx, ch *auditEdit) error {
					ch.on(ctx, tx, boot.AdminID)
					_, err := s.newOAuthToken(ctx, tx, boot.AdminID, "login")
					return err
				})
				if err != nil {
					b.Fatal(err)
				}
			}
		})
	}
	// The whole login, with the trail and without, alternating.
	for _, mode := range []struct {
		name string
		off  bool
	}{{"audit", false}, {"no-audit", true}, {"audit", false}, {"no-audit", true}} {
		b.Run("login/"+mode.name, func(b *testing.B) {
			s.audit.off = mode.off
			b.ReportAllocs()
			for b.Loop() {
				if _, err := s.Login(context.Background(), LoginRequest{Login: "admin", Password: testPassword}); err != nil {
					b.Fatal(err)
				}
			}
		})
	}
	s.audit.off = false
}
