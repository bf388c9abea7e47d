package token

import (
	"errors"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"
)

func keystoneClaims() Claims {
	c := newClaims()
	c.Keystone, c.Scope, c.Methods, c.ExpiresAt = true, "b1fabcdefghijklmnopq", MethodPassword, t0.Add(24*time.Hour)
	c.CredentialID = "apwabcdefghijklmnopq"
	return c
}

func TestKeystoneRoundTrip(t *testing.T) {
	f := newFixture(t)
	for name, mod := range map[string]func(*Claims){
		"project":  func(*Claims) {},
		"unscoped": func(c *Claims) { c.Scope = "" },
		"rescoped": func(c *Claims) { c.Methods |= MethodToken; c.AuditChain = "00112233445566778899aabbccddeeff" },
	} {
		t.Run(name, func(t *testing.T) {
			c := keystoneClaims()
			mod(&c)
			tok, err := Sign(c, f.priv)
			if err != nil {
				t.Fatal(err)
			}
			if tok[:len(KeystonePrefix)] != KeystonePrefix {
				t.Errorf("token %q does not start with %q", tok, KeystonePrefix)
			}
			got, err := f.v.VerifyKeystone(tok)
			if err != nil {
				t.Fatal(err)
			}
			if diff := cmp.Diff(c, *got); diff != "" {
				t.Errorf("claims mismatch (-want +got):\n%s", diff)
			}
		})
	}
}

// TestKindsDoNotCross: a Keystone token is never an IAM token and the
// reverse, whether or not the cache has seen it: the scope a Keystone
// token carries would otherwise be shed by presenting it as an IAM token.
func TestKindsDoNotCross(t *testing.T) {
	f := newFixture(t)
	ks, err := Sign(keystoneClaims(), f.priv)
	if err != nil {
		t.Fatal(err)
	}
	iam, err := Sign(newClaims(), f.priv)
	if err != nil {
		t.Fatal(err)
	}
	for _, warm := range []bool{false, true} {
		if warm {
			if _, err := f.v.VerifyKeystone(ks); err != nil {
				t.Fatal(err)
			}
			if _, err := f.v.Verify(iam); err != nil {
				t.Fatal(err)
			}
		}
		if _, err := f.v.Verify(ks); !errors.Is(err, ErrMalformed) {
			t.Errorf("warm=%v: Keystone token as an IAM token: %v, want ErrMalformed", warm, err)
		}
		if _, err := f.v.VerifyKeystone(iam); !errors.Is(err, ErrMalformed) {
			t.Errorf("warm=%v: IAM token as a Keystone token: %v, want ErrMalformed", warm, err)
		}
		// The same payload under the other prefix: the signature covers it.
		if _, err := f.v.Verify(Prefix + ks[len(KeystonePrefix):]); err == nil {
			t.Errorf("warm=%v: Keystone payload under the IAM prefix verified", warm)
		}
		if _, err := f.v.VerifyKeystone(KeystonePrefix + iam[len(Prefix):]); err == nil {
			t.Errorf("warm=%v: IAM payload under the Keystone prefix verified", warm)
		}
	}
}

func TestKeystoneSignRefusesIAMWithScope(t *testing.T) {
	f := newFixture(t)
	c := newClaims()
	c.Scope = "b1fabcdefghijklmnopq"
	if _, err := Sign(c, f.priv); err == nil {
		t.Error("an IAM token with a scope was signed")
	}
}

func BenchmarkVerifyKeystoneRepeat(b *testing.B) {
	f := newFixture(b)
	tok, _ := Sign(keystoneClaims(), f.priv)
	if _, err := f.v.VerifyKeystone(tok); err != nil {
		b.Fatal(err)
	}
	b.ReportAllocs()
	for b.Loop() {
		if _, err := f.v.VerifyKeystone(tok); err != nil {
			b.Fatal(err)
		}
	}
}
