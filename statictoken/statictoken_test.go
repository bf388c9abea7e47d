package statictoken_test

import (
	"strings"
	"testing"

	"warden"
	"warden/apikey"
	"warden/statictoken"
)

func TestSecretRoundTrip(t *testing.T) {
	id := warden.NewID(warden.PrefixStaticToken)
	s := statictoken.NewSecret(id)
	if !strings.HasPrefix(s, statictoken.Prefix) || len(s) != statictoken.SecretLength {
		t.Fatalf("NewSecret = %q, want prefix %s and length %d", s, statictoken.Prefix, statictoken.SecretLength)
	}
	if got, ok := statictoken.TokenID(s); !ok || got != id {
		t.Errorf("TokenID = %q, %v; want %q", got, ok, id)
	}
	if _, ok := apikey.KeyID(s); ok {
		t.Error("a static token reads as an API key")
	}
	if _, ok := statictoken.TokenID(apikey.NewSecret(warden.NewID(warden.PrefixAPIKey))); ok {
		t.Error("an API key reads as a static token")
	}
	tests := map[string]string{
		"empty":     "",
		"truncated": s[:len(s)-1],
		"one more":  s + "0",
		"typo":      s[:20] + flip(s[20]) + s[21:],
		"upper id":  s[:len(statictoken.Prefix)] + strings.ToUpper(s[len(statictoken.Prefix):len(statictoken.Prefix)+20]) + s[len(statictoken.Prefix)+20:],
	}
	for name, in := range tests {
		if _, ok := statictoken.TokenID(in); ok {
			t.Errorf("%s: TokenID accepted %q", name, in)
		}
	}
}

func flip(c byte) string {
	if c == 'a' {
		return "b"
	}
	return "a"
}

// FuzzTokenID: TokenID never panics, and what it accepts is a secret of
// the format whose ID it returns: the prefix, the length, the ID's
// alphabet and a body whose checksum matches (checked by reading the
// token back as an API key never succeeds: the prefixes differ).
func FuzzTokenID(f *testing.F) {
	s := statictoken.NewSecret(warden.NewID(warden.PrefixStaticToken))
	f.Add(s)
	f.Add("")
	f.Add(statictoken.Prefix)
	f.Add(s[:len(s)-1])
	f.Add("warden_ak_" + s[len(statictoken.Prefix):])
	f.Add(strings.Repeat("_", statictoken.SecretLength))
	f.Fuzz(func(t *testing.T, in string) {
		id, ok := statictoken.TokenID(in)
		if !ok {
			if id != "" {
				t.Errorf("TokenID(%q) = %q, false; want an empty ID with false", in, id)
			}
			return
		}
		if len(in) != statictoken.SecretLength || !strings.HasPrefix(in, statictoken.Prefix) || in[len(statictoken.Prefix)+20] != '_' {
			t.Fatalf("TokenID accepted %q: wrong length, prefix or separator", in)
		}
		if got := in[len(statictoken.Prefix) : len(statictoken.Prefix)+20]; got != id {
			t.Errorf("TokenID(%q) = %q, want %q", in, id, got)
		}
		if _, ok := apikey.KeyID(in); ok {
			t.Errorf("%q reads as both a static token and an API key", in)
		}
	})
}
