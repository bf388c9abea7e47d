package authn

import (
	"context"
	"testing"

	"warden/token"
)

type keystoneClaims map[string]*token.Claims

func (k keystoneClaims) VerifyKeystoneToken(_ context.Context, tok string) (*token.Claims, error) {
	if c, ok := k[tok]; ok {
		return c, nil
	}
	return nil, token.ErrMalformed
}

// TestKeystoneScope: a Keystone token's principal is confined to its
// scope, and an unscoped one to nothing.
func TestKeystoneScope(t *testing.T) {
	s := KeystoneToken{Verifier: keystoneClaims{
		"project":  {Keystone: true, SubjectType: token.SubjectServiceAccount, SubjectID: "aje1", TokenID: "t1", CredentialID: "apw1", Scope: "b1f1"},
		"unscoped": {Keystone: true, SubjectType: token.SubjectServiceAccount, SubjectID: "aje1", TokenID: "t2", CredentialID: "apw1"},
	}}
	for tok, want := range map[string]string{"project": "b1f1", "unscoped": NoScope} {
		r := &Request{Header: MD{"x-auth-token": {" " + tok + " "}}}
		found, ok := s.Find(r)
		if !ok {
			t.Fatalf("%s: not found", tok)
		}
		p, err := s.Verify(context.Background(), r, found)
		if err != nil || p.Scope != want || p.ID != "aje1" || p.MintedBy != "apw1" {
			t.Errorf("%s: %+v, %v; want scope %q", tok, p, err, want)
		}
	}
	if _, err := s.Verify(context.Background(), &Request{}, "forged"); err == nil {
		t.Error("an unknown token verified")
	}
	if _, ok := s.Find(&Request{Header: MD{"authorization": {"Bearer x"}}}); ok {
		t.Error("found a Keystone token in Authorization")
	}
}
