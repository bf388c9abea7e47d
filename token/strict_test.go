package token

import (
	"crypto/ed25519"
	"encoding/base64"
	"errors"
	"strings"
	"testing"
	"time"
)

const alphabet = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_"

// spellings returns the other strings that a lenient base64url decoder
// reads as the same token: other last characters of each part with the
// same bytes, padding, line breaks and the standard alphabet's + and /.
func spellings(tok string) []string {
	dot := strings.LastIndexByte(tok, '.')
	parts := [][2]int{{len(Prefix), dot}, {dot + 1, len(tok)}}
	var out []string
	for _, p := range parts {
		part := tok[p[0]:p[1]]
		want, _ := base64.RawURLEncoding.DecodeString(part)
		for _, c := range alphabet {
			alt := part[:len(part)-1] + string(c)
			if got, err := base64.RawURLEncoding.DecodeString(alt); err == nil && alt != part && string(got) == string(want) {
				out = append(out, tok[:p[0]]+alt+tok[p[1]:])
			}
		}
		for _, alt := range []string{part + "=", part + "==", part[:4] + "\n" + part[4:], part[:4] + "\r\n" + part[4:], part + "\n"} {
			out = append(out, tok[:p[0]]+alt+tok[p[1]:])
		}
		if i := strings.IndexAny(part, "-_"); i >= 0 {
			std := strings.NewReplacer("-", "+", "_", "/").Replace(part)
			out = append(out, tok[:p[0]]+std+tok[p[1]:])
		}
	}
	return out
}

// TestNonCanonicalSpellings: a token has exactly one accepted spelling.
// A lenient decoder read 16 spellings of every signature (the last of its
// 86 characters carries 4 unused bits).
func TestNonCanonicalSpellings(t *testing.T) {
	f := newFixture(t)
	good, err := Sign(newClaims(), f.priv)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := f.v.Verify(good); err != nil {
		t.Fatalf("Verify(canonical) = %v", err)
	}
	alts := spellings(good)
	var sigVariants int
	for _, alt := range alts {
		if len(alt) == len(good) && alt[:len(alt)-1] == good[:len(good)-1] {
			sigVariants++
		}
		if _, err := f.v.Verify(alt); !errors.Is(err, ErrMalformed) {
			t.Errorf("Verify(%q) = %v, want ErrMalformed", alt, err)
		}
	}
	if sigVariants != 15 {
		t.Errorf("found %d other spellings of the signature's last character, want 15: the test no longer covers the attack", sigVariants)
	}
}

// fuzzKey is a fixed key so that the fuzzer's corpus stays valid across
// runs.
var fuzzKey = ed25519.NewKeyFromSeed([]byte("warden token fuzz seed 32 bytes!"))

// FuzzParse: Parse never panics; what it accepts is the one canonical
// token of its claims (Ed25519 signs deterministically, so signing the
// claims again gives the input back), and any payload it decodes encodes
// back to the same bytes.
func FuzzParse(f *testing.F) {
	c := newClaims()
	c.TokenID = "00112233445566778899aabbccddeeff"
	good, err := Sign(c, fuzzKey)
	if err != nil {
		f.Fatal(err)
	}
	f.Add(good)
	for _, alt := range spellings(good)[:6] {
		f.Add(alt)
	}
	f.Add("t1..")
	f.Add("t1.AQ." + strings.Repeat("A", 86))
	f.Add(good[:len(good)-1])
	kc := c
	kc.Keystone, kc.Scope, kc.Methods, kc.AuditChain = true, "b1fabcdefghijklmnopq", MethodPassword|MethodToken, "ffeeddccbbaa99887766554433221100"
	kgood, err := Sign(kc, fuzzKey)
	if err != nil {
		f.Fatal(err)
	}
	f.Add(kgood)
	keys := func(id string) (ed25519.PublicKey, bool) {
		return fuzzKey.Public().(ed25519.PublicKey), id == "sgk1"
	}
	f.Fuzz(func(t *testing.T, tok string) {
		prefix := Prefix
		if strings.HasPrefix(tok, KeystonePrefix) {
			prefix = KeystonePrefix
		}
		claims, err := parse(tok, prefix, keys, t0)
		if err == nil {
			again, serr := Sign(claims, fuzzKey)
			if serr != nil || again != tok {
				t.Fatalf("Parse accepted %q, whose claims sign to %q (%v)", tok, again, serr)
			}
			if !claims.ExpiresAt.After(t0) {
				t.Fatalf("Parse accepted a token expired at %v", claims.ExpiresAt)
			}
		}
		_, payload, _, err := split(tok, prefix)
		if err != nil {
			return
		}
		pc, err := decodePayload(payload, prefix == KeystonePrefix, prefix == SessionPrefix)
		if err != nil {
			return
		}
		signed, serr := Sign(pc, fuzzKey)
		if serr != nil {
			t.Fatalf("decoded claims %+v do not sign: %v", pc, serr)
		}
		if got := signed[len(prefix):strings.LastIndexByte(signed, '.')]; got != b64.EncodeToString(payload) {
			t.Fatalf("payload %x decodes to %+v, which encodes to %q", payload, pc, got)
		}
		if pc.IssuedAt.Location() != time.UTC {
			t.Fatalf("IssuedAt not in UTC")
		}
	})
}
