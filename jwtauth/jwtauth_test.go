package jwtauth

import (
	"crypto"
	"crypto/rand"
	"crypto/rsa"
	"crypto/sha256"
	"encoding/base64"
	"encoding/json"
	"errors"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"
)

const (
	vectorKeyID  = "ajkvectorkey00000001"
	vectorIssuer = "ajevectoraccount0001"
)

var vectorIssuedAt = time.Unix(1767225600, 0).UTC()

func readFile(t testing.TB, name string) string {
	t.Helper()
	b, err := os.ReadFile(filepath.Join("testdata", name))
	if err != nil {
		t.Fatal(err)
	}
	return strings.TrimSpace(string(b))
}

func publicKey(t testing.TB, name string) *rsa.PublicKey {
	t.Helper()
	pub, _, err := ParsePublicKey(readFile(t, name))
	if err != nil {
		t.Fatalf("%s: %v", name, err)
	}
	return pub
}

func privateKey(t testing.TB, name string) *rsa.PrivateKey {
	t.Helper()
	priv, err := ParsePrivateKey(readFile(t, name))
	if err != nil {
		t.Fatalf("%s: %v", name, err)
	}
	return priv
}

func testValidator(t testing.TB) *Validator {
	v, err := NewValidator(ValidatorConfig{Audiences: []string{YandexAudience, "http://127.0.0.1:8080/iam/v1/tokens"}})
	if err != nil {
		t.Fatal(err)
	}
	return v
}

// TestVectors checks tokens made by PyJWT and by the Yandex SDK's own JWT
// library (see testdata/README.md) and the classic attacks on them.
func TestVectors(t *testing.T) {
	v := testValidator(t)
	now := vectorIssuedAt.Add(time.Minute)
	tests := []struct {
		file, key string
		wantParse error
		wantErr   error
		wantAud   []string
		wantExp   time.Time
	}{
		{file: "pyjwt-ps256.jwt", key: "rsa2048.pub", wantAud: []string{YandexAudience}, wantExp: vectorIssuedAt.Add(360 * time.Second)},
		{file: "pyjwt-ps256-4096.jwt", key: "rsa4096.pub", wantAud: []string{YandexAudience}, wantExp: vectorIssuedAt.Add(360 * time.Second)},
		{file: "yandex-sdk-ps256.jwt", key: "rsa2048.pub", wantAud: []string{YandexAudience}, wantExp: vectorIssuedAt.Add(time.Hour)},
		{file: "pyjwt-ps256.jwt", key: "other2048.pub", wantErr: ErrSignature},
		{file: "pyjwt-ps256-4096.jwt", key: "rsa2048.pub", wantErr: ErrSignature},
		{file: "pss-max-salt.jwt", key: "rsa2048.pub", wantErr: ErrSignature},
		{file: "pyjwt-rs256.jwt", key: "rsa2048.pub", wantParse: ErrAlgorithm},
		{file: "hs256-public-key-secret.jwt", key: "rsa2048.pub", wantParse: ErrAlgorithm},
		{file: "alg-none.jwt", key: "rsa2048.pub", wantParse: ErrAlgorithm},
	}
	for _, tt := range tests {
		t.Run(tt.file+"/"+tt.key, func(t *testing.T) {
			tok, err := Parse(readFile(t, tt.file))
			if !errors.Is(err, tt.wantParse) || (tt.wantParse == nil) != (err == nil) {
				t.Fatalf("Parse: got %v, want %v", err, tt.wantParse)
			}
			if err != nil {
				return
			}
			want := Header{Algorithm: "PS256", Type: "JWT", KeyID: vectorKeyID}
			if diff := cmp.Diff(want, tok.Header); diff != "" {
				t.Errorf("header (-want +got):\n%s", diff)
			}
			if err := v.Check(&tok.Claims, now); err != nil {
				t.Errorf("Check: %v", err)
			}
			err = tok.Verify(publicKey(t, tt.key))
			if !errors.Is(err, tt.wantErr) || (tt.wantErr == nil) != (err == nil) {
				t.Fatalf("Verify: got %v, want %v", err, tt.wantErr)
			}
			if tt.wantErr != nil {
				return
			}
			wantClaims := Claims{Issuer: vectorIssuer, Audience: tt.wantAud, IssuedAt: vectorIssuedAt, ExpiresAt: tt.wantExp}
			if diff := cmp.Diff(wantClaims, tok.Claims); diff != "" {
				t.Errorf("claims (-want +got):\n%s", diff)
			}
		})
	}
}

func b64json(v string) string { return base64.RawURLEncoding.EncodeToString([]byte(v)) }

const (
	goodHeader = `{"typ":"JWT","alg":"PS256","kid":"ajkvectorkey00000001"}`
	goodClaims = `{"iss":"ajevectoraccount0001","aud":"x","iat":1767225600,"exp":1767229200}`
)

func TestParseRejects(t *testing.T) {
	sig := "c2ln"
	tests := []struct {
		name, token string
		want        error
	}{
		{"empty", "", ErrMalformed},
		{"two parts", b64json(goodHeader) + "." + b64json(goodClaims), ErrMalformed},
		{"four parts", b64json(goodHeader) + "." + b64json(goodClaims) + "." + sig + ".x", ErrMalformed},
		{"too long", b64json(goodHeader) + "." + strings.Repeat("A", MaxLength) + "." + sig, ErrMalformed},
		{"padded base64", b64json(goodHeader) + "=." + b64json(goodClaims) + "." + sig, ErrMalformed},
		{"standard base64 alphabet", "+/" + b64json(goodHeader) + "." + b64json(goodClaims) + "." + sig, ErrMalformed},
		{"empty signature", b64json(goodHeader) + "." + b64json(goodClaims) + ".", ErrMalformed},
		{"header not JSON", b64json(`not json`) + "." + b64json(goodClaims) + "." + sig, ErrMalformed},
		{"header an array", b64json(`["PS256"]`) + "." + b64json(goodClaims) + "." + sig, ErrMalformed},
		{"header trailing data", b64json(goodHeader+`{}`) + "." + b64json(goodClaims) + "." + sig, ErrMalformed},
		{"payload not JSON", b64json(goodHeader) + "." + b64json(`{"iss":`) + "." + sig, ErrMalformed},
		{"alg none", b64json(`{"typ":"JWT","alg":"none","kid":"k"}`) + "." + b64json(goodClaims) + "." + sig, ErrAlgorithm},
		{"alg lower case", b64json(`{"typ":"JWT","alg":"ps256","kid":"k"}`) + "." + b64json(goodClaims) + "." + sig, ErrAlgorithm},
		{"alg HS256", b64json(`{"typ":"JWT","alg":"HS256","kid":"k"}`) + "." + b64json(goodClaims) + "." + sig, ErrAlgorithm},
		{"alg missing", b64json(`{"typ":"JWT","kid":"k"}`) + "." + b64json(goodClaims) + "." + sig, ErrAlgorithm},
		{"alg twice", b64json(`{"typ":"JWT","alg":"PS256","alg":"none","kid":"k"}`) + "." + b64json(goodClaims) + "." + sig, ErrMalformed},
		{"alg not a string", b64json(`{"typ":"JWT","alg":["PS256"],"kid":"k"}`) + "." + b64json(goodClaims) + "." + sig, ErrMalformed},
		{"typ missing", b64json(`{"alg":"PS256","kid":"k"}`) + "." + b64json(goodClaims) + "." + sig, ErrType},
		{"typ other", b64json(`{"typ":"at+jwt","alg":"PS256","kid":"k"}`) + "." + b64json(goodClaims) + "." + sig, ErrType},
		{"kid missing", b64json(`{"typ":"JWT","alg":"PS256"}`) + "." + b64json(goodClaims) + "." + sig, ErrMissing},
		{"kid null", b64json(`{"typ":"JWT","alg":"PS256","kid":null}`) + "." + b64json(goodClaims) + "." + sig, ErrMalformed},
		{"crit", b64json(`{"typ":"JWT","alg":"PS256","kid":"k","crit":["b64"],"b64":false}`) + "." + b64json(goodClaims) + "." + sig, ErrMalformed},
		{"iss missing", b64json(goodHeader) + "." + b64json(`{"aud":"x","iat":1,"exp":2}`) + "." + sig, ErrMissing},
		{"aud missing", b64json(goodHeader) + "." + b64json(`{"iss":"a","iat":1,"exp":2}`) + "." + sig, ErrMissing},
		{"aud empty array", b64json(goodHeader) + "." + b64json(`{"iss":"a","aud":[],"iat":1,"exp":2}`) + "." + sig, ErrMissing},
		{"aud a number", b64json(goodHeader) + "." + b64json(`{"iss":"a","aud":1,"iat":1,"exp":2}`) + "." + sig, ErrMalformed},
		{"iat missing", b64json(goodHeader) + "." + b64json(`{"iss":"a","aud":"x","exp":2}`) + "." + sig, ErrMissing},
		{"exp missing", b64json(goodHeader) + "." + b64json(`{"iss":"a","aud":"x","iat":1}`) + "." + sig, ErrMissing},
		{"exp a string", b64json(goodHeader) + "." + b64json(`{"iss":"a","aud":"x","iat":1,"exp":"2"}`) + "." + sig, ErrMalformed},
		{"exp huge", b64json(goodHeader) + "." + b64json(`{"iss":"a","aud":"x","iat":1,"exp":1e300}`) + "." + sig, ErrMalformed},
		{"exp negative", b64json(goodHeader) + "." + b64json(`{"iss":"a","aud":"x","iat":1,"exp":-5}`) + "." + sig, ErrMalformed},
		{"exp twice", b64json(goodHeader) + "." + b64json(`{"iss":"a","aud":"x","iat":1,"exp":2,"exp":9999999999}`) + "." + sig, ErrMalformed},
		{"deep nesting", b64json(goodHeader) + "." + b64json(`{"x":`+strings.Repeat("[", 40)+strings.Repeat("]", 40)+`}`) + "." + sig, ErrMalformed},
		{"control character", b64json(goodHeader) + "." + b64json("{\"iss\":\"a\x01\",\"aud\":\"x\",\"iat\":1,\"exp\":2}") + "." + sig, ErrMalformed},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			tok, err := Parse(tt.token)
			if !errors.Is(err, tt.want) {
				t.Fatalf("got %v (%+v), want %v", err, tok, tt.want)
			}
		})
	}
}

func TestParseAccepts(t *testing.T) {
	tests := []struct {
		name, header, claims string
		want                 Claims
	}{
		{"escapes and unknown members",
			`{ "typ" : "jwt", "alg":"PS256", "kid":"ajk\u0076ectorkey00000001", "x5t":"abc", "extra":{"a":[1,true,null,{"b":"\"\\"}]} }`,
			`{"iss":"aje\/x","aud":["a","b"],"iat":1767225600.9,"exp":1767229200,"nbf":1767225600,"sub":"s","jti":"\ud83d\ude00"}`,
			Claims{Issuer: "aje/x", Audience: []string{"a", "b"}, IssuedAt: vectorIssuedAt, ExpiresAt: vectorIssuedAt.Add(time.Hour), NotBefore: vectorIssuedAt}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			tok, err := Parse(b64json(tt.header) + "." + b64json(tt.claims) + ".c2ln")
			if err != nil {
				t.Fatal(err)
			}
			if tok.Header.KeyID != vectorKeyID {
				t.Errorf("kid = %q", tok.Header.KeyID)
			}
			if diff := cmp.Diff(tt.want, tok.Claims); diff != "" {
				t.Errorf("claims (-want +got):\n%s", diff)
			}
		})
	}
}

func TestValidatorCheck(t *testing.T) {
	v := testValidator(t)
	now := vectorIssuedAt.Add(10 * time.Minute)
	good := func() Claims {
		return Claims{Issuer: "a", Audience: []string{YandexAudience}, IssuedAt: now.Add(-time.Minute), ExpiresAt: now.Add(59 * time.Minute)}
	}
	tests := []struct {
		name   string
		modify func(*Claims)
		want   error
	}{
		{"good", func(*Claims) {}, nil},
		{"warden audience in an array", func(c *Claims) { c.Audience = []string{"other", "http://127.0.0.1:8080/iam/v1/tokens"} }, nil},
		{"lifetime exactly one hour", func(c *Claims) { c.ExpiresAt = c.IssuedAt.Add(time.Hour) }, nil},
		{"iat within the skew", func(c *Claims) { c.IssuedAt = now.Add(DefaultSkew); c.ExpiresAt = c.IssuedAt.Add(time.Minute) }, nil},
		{"other audience", func(c *Claims) { c.Audience = []string{"https://example.com/iam/v1/tokens"} }, ErrAudience},
		{"audience with a trailing slash", func(c *Claims) { c.Audience = []string{YandexAudience + "/"} }, ErrAudience},
		{"lifetime over an hour", func(c *Claims) { c.ExpiresAt = c.IssuedAt.Add(time.Hour + time.Second) }, ErrLifetime},
		{"exp before iat", func(c *Claims) { c.ExpiresAt = c.IssuedAt.Add(-time.Second) }, ErrLifetime},
		{"exp equals iat", func(c *Claims) { c.ExpiresAt = c.IssuedAt }, ErrLifetime},
		{"expired", func(c *Claims) { c.IssuedAt = now.Add(-2 * time.Hour); c.ExpiresAt = now.Add(-time.Hour) }, ErrExpired},
		{"expires right now", func(c *Claims) { c.IssuedAt = now.Add(-time.Hour); c.ExpiresAt = now }, ErrExpired},
		{"iat in the future", func(c *Claims) {
			c.IssuedAt = now.Add(DefaultSkew + time.Second)
			c.ExpiresAt = c.IssuedAt.Add(time.Minute)
		}, ErrIssuedInFuture},
		{"nbf in the future", func(c *Claims) { c.NotBefore = now.Add(time.Hour) }, ErrNotYetValid},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			c := good()
			tt.modify(&c)
			err := v.Check(&c, now)
			if !errors.Is(err, tt.want) || (tt.want == nil) != (err == nil) {
				t.Fatalf("got %v, want %v", err, tt.want)
			}
		})
	}
}

func TestNewValidatorConfig(t *testing.T) {
	for _, cfg := range []ValidatorConfig{{}, {Audiences: []string{""}}, {Audiences: []string{"a"}, Skew: -1}} {
		if _, err := NewValidator(cfg); err == nil {
			t.Errorf("NewValidator(%+v) succeeded", cfg)
		}
	}
}

func TestSignVerifyRoundTrip(t *testing.T) {
	priv := privateKey(t, "rsa2048.key")
	now := vectorIssuedAt
	for _, aud := range [][]string{{YandexAudience}, {"a", YandexAudience}} {
		c := NewClaims(vectorIssuer, aud[0], now)
		c.Audience = aud
		s, err := Sign(rand.Reader, priv, vectorKeyID, c)
		if err != nil {
			t.Fatal(err)
		}
		tok, err := Parse(s)
		if err != nil {
			t.Fatal(err)
		}
		if err := tok.Verify(&priv.PublicKey); err != nil {
			t.Fatal(err)
		}
		if diff := cmp.Diff(c, tok.Claims); diff != "" {
			t.Errorf("claims (-want +got):\n%s", diff)
		}
	}
}

// TestPyJWTVerifiesSign checks Sign against an independent implementation:
// PyJWT must accept what Warden's clients sign.
func TestPyJWTVerifiesSign(t *testing.T) {
	if err := exec.Command("/usr/bin/python3", "-c", "import jwt, cryptography").Run(); err != nil {
		t.Skip("needs /usr/bin/python3 with PyJWT and cryptography (Debian: apt-get install python3-jwt python3-cryptography)")
	}
	priv := privateKey(t, "rsa2048.key")
	s, err := Sign(rand.Reader, priv, vectorKeyID, NewClaims(vectorIssuer, YandexAudience, time.Now()))
	if err != nil {
		t.Fatal(err)
	}
	script := `import jwt, sys
print(jwt.decode(sys.argv[1], open(sys.argv[2]).read(), algorithms=["PS256"], audience=sys.argv[3])["iss"])`
	out, err := exec.Command("/usr/bin/python3", "-c", script, s, filepath.Join("testdata", "rsa2048.pub"), YandexAudience).CombinedOutput()
	if err != nil || strings.TrimSpace(string(out)) != vectorIssuer {
		t.Fatalf("PyJWT rejected the token: %v\n%s", err, out)
	}
}

func TestParsePublicKey(t *testing.T) {
	if _, _, err := ParsePublicKey(readFile(t, "rsa4096.pub")); err != nil {
		t.Errorf("4096: %v", err)
	}
	small, err := rsa.GenerateKey(rand.Reader, 1024)
	if err != nil {
		t.Fatal(err)
	}
	pemText, _, err := MarshalPublicKey(&small.PublicKey)
	if err != nil {
		t.Fatal(err)
	}
	if _, _, err := ParsePublicKey(pemText); !errors.Is(err, ErrKeyTooSmall) {
		t.Errorf("1024-bit key: got %v, want ErrKeyTooSmall", err)
	}
	for _, bad := range []string{"", "not pem", readFile(t, "rsa2048.key")} {
		if _, _, err := ParsePublicKey(bad); err == nil {
			t.Errorf("ParsePublicKey(%.20q) succeeded", bad)
		}
	}
}

func TestParsePrivateKeyWithYandexPreamble(t *testing.T) {
	text := "PLEASE DO NOT REMOVE THIS LINE! Yandex.Cloud SA Key ID <ajkvectorkey00000001>\n" + readFile(t, "rsa2048.key")
	priv, err := ParsePrivateKey(text)
	if err != nil {
		t.Fatal(err)
	}
	if !priv.PublicKey.Equal(publicKey(t, "rsa2048.pub")) {
		t.Error("parsed a different key")
	}
	back, err := MarshalPrivateKey(priv)
	if err != nil || !strings.HasPrefix(back, "-----BEGIN PRIVATE KEY-----\n") {
		t.Errorf("MarshalPrivateKey: %v %.30q", err, back)
	}
}

// FuzzParse: Parse never panics, and whatever it accepts encoding/json reads
// the same way.
func FuzzParse(f *testing.F) {
	for _, name := range []string{"pyjwt-ps256.jwt", "yandex-sdk-ps256.jwt", "alg-none.jwt"} {
		f.Add(readFile(f, name))
	}
	f.Add(b64json(goodHeader) + "." + b64json(`{"iss":"a\u00e9","aud":["x"],"iat":1.5,"exp":2e3}`) + ".c2ln")
	f.Fuzz(func(t *testing.T, s string) {
		tok, err := Parse(s)
		if err != nil {
			return
		}
		parts := strings.Split(s, ".")
		hb, _ := base64.RawURLEncoding.DecodeString(parts[0])
		pb, _ := base64.RawURLEncoding.DecodeString(parts[1])
		var h map[string]any
		if err := json.Unmarshal(hb, &h); err != nil {
			t.Fatalf("Parse accepted a header encoding/json rejects: %v", err)
		}
		var c map[string]any
		if err := json.Unmarshal(pb, &c); err != nil {
			t.Fatalf("Parse accepted a payload encoding/json rejects: %v", err)
		}
		if h["alg"] != tok.Header.Algorithm || h["kid"] != tok.Header.KeyID || c["iss"] != tok.Claims.Issuer {
			t.Fatalf("disagreement: %v %v vs %+v", h, c, tok)
		}
	})
}

func BenchmarkParse(b *testing.B) {
	s := readFile(b, "yandex-sdk-ps256.jwt")
	b.ReportAllocs()
	for b.Loop() {
		if _, err := Parse(s); err != nil {
			b.Fatal(err)
		}
	}
}

// BenchmarkVerify reports the token check next to the bare rsa.VerifyPSS it
// is built on.
func BenchmarkVerify(b *testing.B) {
	for _, k := range []struct{ name, key, token string }{
		{"RSA2048", "rsa2048.pub", "yandex-sdk-ps256.jwt"},
		{"RSA4096", "rsa4096.pub", "pyjwt-ps256-4096.jwt"},
	} {
		pub := publicKey(b, k.key)
		s := readFile(b, k.token)
		b.Run(k.name+"/rsa.VerifyPSS", func(b *testing.B) {
			tok, _ := Parse(s)
			digest := sha256.Sum256([]byte(tok.signingInput))
			b.ReportAllocs()
			for b.Loop() {
				if err := rsa.VerifyPSS(pub, crypto.SHA256, digest[:], tok.signature, pssOptions); err != nil {
					b.Fatal(err)
				}
			}
		})
		b.Run(k.name+"/ParseVerify", func(b *testing.B) {
			b.ReportAllocs()
			for b.Loop() {
				tok, err := Parse(s)
				if err != nil {
					b.Fatal(err)
				}
				if err := tok.Verify(pub); err != nil {
					b.Fatal(err)
				}
			}
		})
	}
}
