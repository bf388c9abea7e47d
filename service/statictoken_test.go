package service

import (
	"crypto/sha256"
	"strings"
	"testing"
	"time"

	"warden"
	"warden/statictoken"
)

// TestCheckStaticToken: the index accepts a token's own secret only, until
// its expiry and its revocation; a secret of the right shape for the
// token's ID but other random bits is refused as a wrong secret, one for
// an ID it does not hold as unknown.
func TestCheckStaticToken(t *testing.T) {
	f := newKeyFixture(t)
	now := f.clock.now()
	tok, sec, err := f.s.CreateStaticToken(f.admin, f.robot, "unit", now.Add(time.Hour))
	if err != nil {
		t.Fatal(err)
	}
	if tok.SubjectID != f.robot || tok.MaskedSecret != "****"+sec.Reveal()[len(sec.Reveal())-6:] || strings.Contains(tok.MaskedSecret, sec.Reveal()[20:40]) {
		t.Fatalf("created %+v", tok)
	}
	check := func(s string) (string, string) {
		sub, _, refusal := f.s.staticTokens.CheckStaticToken(s, f.clock.now())
		return sub, refusal
	}
	forged := statictoken.NewSecret(tok.ID) // the right ID and checksum, other random bits
	tests := []struct {
		name, secret, wantSubject, wantRefusal string
	}{
		{"its own secret", sec.Reveal(), f.robot, ""},
		{"another secret for its ID", forged, "", staticTokenWrongSecret},
		{"an ID the index does not hold", statictoken.NewSecret(warden.NewID(warden.PrefixStaticToken)), "", staticTokenUnknown},
		{"truncated", sec.Reveal()[:len(sec.Reveal())-1], "", staticTokenMalformed},
	}
	for _, tt := range tests {
		if sub, refusal := check(tt.secret); sub != tt.wantSubject || refusal != tt.wantRefusal {
			t.Errorf("%s: %q, %q; want %q, %q", tt.name, sub, refusal, tt.wantSubject, tt.wantRefusal)
		}
	}
	// What is stored is the hash alone.
	var stored *warden.Credential
	f.s.store.View(f.admin, func(tx warden.Tx) (err error) { stored, err = tx.GetCredential(f.admin, tok.ID); return err })
	if want := sha256.Sum256([]byte(sec.Reveal())); stored == nil || string(stored.Hash) != string(want[:]) || strings.Contains(string(stored.Data), sec.Reveal()[20:40]) {
		t.Errorf("stored %+v: want the SHA-256 of the secret and no secret", stored)
	}

	f.clock.advance(time.Hour)
	if _, refusal := check(sec.Reveal()); refusal != staticTokenExpired {
		t.Errorf("at its expiry: %q, want %q", refusal, staticTokenExpired)
	}
	if err := f.s.RevokeStaticToken(f.admin, tok.ID); err != nil {
		t.Fatal(err)
	}
	if _, refusal := check(sec.Reveal()); refusal != staticTokenUnknown {
		t.Errorf("after revocation: %q, want %q", refusal, staticTokenUnknown)
	}
	if !f.s.verifier.IsCredentialRevoked(tok.ID) {
		t.Error("IAM tokens minted with the revoked static token are not revoked")
	}
	// A full reload (a node starting, a stale feed) holds what the store
	// holds.
	_, sec2, err := f.s.CreateStaticToken(f.admin, "", "", time.Time{})
	if err != nil {
		t.Fatal(err)
	}
	f.s.staticTokens.tokens = map[string]*staticTokenEntry{}
	if err := f.s.staticTokens.loadAll(f.admin); err != nil {
		t.Fatal(err)
	}
	if sub, refusal := check(sec2.Reveal()); refusal != "" || !strings.HasPrefix(sub, warden.PrefixUserAccount) || f.s.staticTokens.Len() != 1 {
		t.Errorf("after loadAll: %q, %q, %d tokens", sub, refusal, f.s.staticTokens.Len())
	}
}
