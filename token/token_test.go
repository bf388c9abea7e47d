package token

import (
	"crypto/ed25519"
	"crypto/rand"
	"encoding/hex"
	"errors"
	"regexp"
	"strings"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"
)

// yandexPattern is the IAM token pattern of the Yandex Cloud API.
var yandexPattern = regexp.MustCompile(`^t1\.[A-Z0-9a-z_-]+[=]{0,2}\.[A-Z0-9a-z_-]{86}[=]{0,2}$`)

var t0 = time.Date(2026, 11, 24, 12, 0, 0, 0, time.UTC)

type fixture struct {
	pub  ed25519.PublicKey
	priv ed25519.PrivateKey
	v    *Verifier
	now  time.Time
}

func newFixture(t testing.TB) *fixture {
	pub, priv, err := ed25519.GenerateKey(rand.Reader)
	if err != nil {
		t.Fatal(err)
	}
	f := &fixture{pub: pub, priv: priv, now: t0}
	f.v = NewVerifier(func() time.Time { return f.now })
	f.v.SetKeys(map[string]ed25519.PublicKey{"sgk1": pub})
	return f
}

func newClaims() Claims {
	id := make([]byte, 16)
	rand.Read(id)
	return Claims{TokenID: hex.EncodeToString(id), KeyID: "sgk1", SubjectType: SubjectServiceAccount,
		SubjectID: "ajeabcdefghijklmnopq", IssuedAt: t0, ExpiresAt: t0.Add(12 * time.Hour)}
}

func TestRoundTrip(t *testing.T) {
	f := newFixture(t)
	c := newClaims()
	tok, err := Sign(c, f.priv)
	if err != nil {
		t.Fatal(err)
	}
	if !yandexPattern.MatchString(tok) {
		t.Errorf("token %q does not match the Yandex IAM token pattern", tok)
	}
	got, err := f.v.Verify(tok)
	if err != nil {
		t.Fatal(err)
	}
	if diff := cmp.Diff(c, *got); diff != "" {
		t.Errorf("claims mismatch (-want +got):\n%s", diff)
	}
	// A second verification is served from the cache and must agree.
	if got2, err := f.v.Verify(tok); err != nil || got2.SubjectID != c.SubjectID {
		t.Errorf("repeat Verify = %v, %v", got2, err)
	}
}

func TestRejections(t *testing.T) {
	f := newFixture(t)
	good, _ := Sign(newClaims(), f.priv)
	_, otherPriv, _ := ed25519.GenerateKey(rand.Reader)
	forged, _ := Sign(newClaims(), otherPriv)
	unknownKey := newClaims()
	unknownKey.KeyID = "sgk-retired"
	unknown, _ := Sign(unknownKey, f.priv)
	dot := strings.LastIndexByte(good, '.')
	payload := []byte(good[len(Prefix):dot])
	payload[5] ^= 1 // flip a bit of the payload, keep the signature
	tampered := Prefix + string(payload) + good[dot:]

	tests := []struct {
		name string
		tok  string
		want error
	}{
		{"empty", "", ErrMalformed},
		{"no prefix", good[3:], ErrMalformed},
		{"other version prefix", "t2." + good[3:], ErrMalformed},
		{"truncated signature", good[:len(good)-2], ErrMalformed},
		{"bad base64", good[:10] + "!" + good[11:], ErrMalformed},
		{"too long", good + strings.Repeat("A", MaxLength), ErrMalformed},
		{"tampered payload", tampered, ErrSignature},
		{"signed by another key", forged, ErrSignature},
		{"unknown key id", unknown, ErrUnknownKey},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if _, err := f.v.Verify(tt.tok); !errors.Is(err, tt.want) && !(tt.want == ErrSignature && errors.Is(err, ErrMalformed)) {
				t.Errorf("Verify = %v, want %v", err, tt.want)
			}
		})
	}
}

func TestExpiryAndRevocation(t *testing.T) {
	f := newFixture(t)
	c := newClaims()
	tok, _ := Sign(c, f.priv)
	if _, err := f.v.Verify(tok); err != nil {
		t.Fatal(err)
	}
	f.v.Revoke(map[string]time.Time{c.TokenID: c.ExpiresAt})
	if _, err := f.v.Verify(tok); !errors.Is(err, ErrRevoked) {
		t.Errorf("revoked token: Verify = %v, want ErrRevoked", err)
	}

	c2 := newClaims()
	tok2, _ := Sign(c2, f.priv)
	if _, err := f.v.Verify(tok2); err != nil { // now cached
		t.Fatal(err)
	}
	f.now = c2.ExpiresAt
	if _, err := f.v.Verify(tok2); !errors.Is(err, ErrExpired) {
		t.Errorf("expired cached token: Verify = %v, want ErrExpired", err)
	}
	// Revocations of expired tokens are dropped on the next change.
	f.v.Revoke(map[string]time.Time{"00": f.now.Add(time.Hour)})
	if f.v.IsRevoked(c.TokenID) {
		t.Error("expired revocation was kept")
	}
}

func BenchmarkVerifyRepeat(b *testing.B) {
	f := newFixture(b)
	tok, _ := Sign(newClaims(), f.priv)
	if _, err := f.v.Verify(tok); err != nil {
		b.Fatal(err)
	}
	b.ReportAllocs()
	for b.Loop() {
		if _, err := f.v.Verify(tok); err != nil {
			b.Fatal(err)
		}
	}
}

func BenchmarkVerifyCold(b *testing.B) {
	f := newFixture(b)
	toks := make([]string, 4096)
	for i := range toks {
		toks[i], _ = Sign(newClaims(), f.priv)
	}
	b.ReportAllocs()
	i := 0
	for b.Loop() {
		// A fresh Verifier per 4096 tokens keeps every call a cache miss.
		if i%len(toks) == 0 {
			b.StopTimer()
			f.v = NewVerifier(func() time.Time { return f.now })
			f.v.SetKeys(map[string]ed25519.PublicKey{"sgk1": f.pub})
			b.StartTimer()
		}
		if _, err := f.v.Verify(toks[i%len(toks)]); err != nil {
			b.Fatal(err)
		}
		i++
	}
}

// TestSessionTokenIsNotAnIAMToken: the prefix is signed, so a session
// token with its prefix swapped for an IAM token's (or the reverse) fails
// its signature.
func TestSessionTokenIsNotAnIAMToken(t *testing.T) {
	pub, priv, _ := ed25519.GenerateKey(nil)
	keys := func(string) (ed25519.PublicKey, bool) { return pub, true }
	now := time.Now().Truncate(time.Second)
	c := Claims{TokenID: "00112233445566778899aabbccddeeff", KeyID: "k", SubjectType: SubjectServiceAccount, SubjectID: "aje1", IssuedAt: now, ExpiresAt: now.Add(time.Hour), CredentialID: "WDNE"}
	session, err := SignAs(SessionPrefix, c, priv)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := ParseAs(SessionPrefix, session, keys, now); err != nil {
		t.Fatalf("ParseAs(session) = %v", err)
	}
	c.Policy = `{"Statement":[{"Effect":"Allow","Action":["postbox.*"]}]}`
	withPolicy, err := SignAs(SessionPrefix, c, priv)
	if err != nil {
		t.Fatal(err)
	}
	if got, err := ParseAs(SessionPrefix, withPolicy, keys, now); err != nil || got.Policy != c.Policy {
		t.Fatalf("ParseAs(session with policy) = %+v, %v", got, err)
	}
	if _, err := Sign(c, priv); err == nil {
		t.Error("Sign took a policy for an IAM token")
	}
	c.Policy = ""
	swapped := Prefix + strings.TrimPrefix(session, SessionPrefix)
	if _, err := Parse(swapped, keys, now); err != ErrMalformed && err != ErrSignature {
		t.Errorf("a session token as an IAM token: %v, want a refusal", err)
	}
	if _, err := Parse(session, keys, now); err != ErrMalformed {
		t.Errorf("Parse(session token) = %v, want ErrMalformed", err)
	}
}

// TestSubjectRevocation: revoking a subject's tokens until a time refuses
// those issued up to it (in its second too) and accepts later ones; an
// earlier time never undoes a later one; the entry outlives every token it
// revokes and no longer.
func TestSubjectRevocation(t *testing.T) {
	f := newFixture(t)
	sign := func(subject string, issued time.Time) string {
		c := newClaims()
		c.SubjectID, c.IssuedAt, c.ExpiresAt = subject, issued, issued.Add(12*time.Hour)
		tok, err := Sign(c, f.priv)
		if err != nil {
			t.Fatal(err)
		}
		return tok
	}
	const alice, bob = "ajuaaaaaaaaaaaaaaaaa", "ajubbbbbbbbbbbbbbbbb"
	at := t0.Add(10*time.Second + 500*time.Millisecond)
	before, sameSecond, after := sign(alice, t0.Add(5*time.Second)), sign(alice, t0.Add(10*time.Second)), sign(alice, t0.Add(11*time.Second))
	other := sign(bob, t0.Add(5*time.Second))
	f.now = t0.Add(20 * time.Second)
	for _, tok := range []string{before, sameSecond, after, other} {
		if _, err := f.v.Verify(tok); err != nil { // cached: the revocation must apply to cached claims too
			t.Fatal(err)
		}
	}
	f.v.RevokeSubjects(map[string]time.Time{alice: at})
	f.v.RevokeSubjects(map[string]time.Time{alice: t0}) // an older entry read again
	tests := []struct {
		name string
		tok  string
		want error
	}{
		{"issued before", before, ErrRevoked},
		{"issued in the second of the revocation", sameSecond, ErrRevoked},
		{"issued after", after, nil},
		{"another subject", other, nil},
	}
	for _, tt := range tests {
		if _, err := f.v.Verify(tt.tok); !errors.Is(err, tt.want) {
			t.Errorf("%s: Verify = %v, want %v", tt.name, err, tt.want)
		}
	}
	f.now = at.Add(maxTokenLifetime)
	f.v.RevokeSubjects(map[string]time.Time{bob: f.now})
	if f.v.IsSubjectRevoked(alice, t0) {
		t.Error("a subject revocation outlived every token it revokes")
	}
}
