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
