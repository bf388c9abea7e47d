package apikey_test

import (
	"hash/crc32"
	"regexp"
	"strings"
	"testing"

	"warden"
	"warden/apikey"
)

const base62 = "0123456789ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz"

// Offsets into a secret, from the format documented in secret.go.
const (
	idStart     = len(apikey.Prefix)
	idEnd       = idStart + warden.IDLength
	randomStart = idEnd + 1
	sumStart    = apikey.SecretLength - 6
)

// withChecksum appends the checksum the format prescribes (CRC-32 of body,
// six base-62 digits, most significant first). It is written from the
// format's description rather than copied from the package, so a secret
// built with it and refused by KeyID is refused for its shape alone.
func withChecksum(body string) string {
	sum := crc32.ChecksumIEEE([]byte(body))
	var c [6]byte
	for i := len(c) - 1; i >= 0; i-- {
		c[i] = base62[sum%62]
		sum /= 62
	}
	return body + string(c[:])
}

// body is a secret without its checksum.
func body(secret string) string { return secret[:sumStart] }

func newSecret(t testing.TB) (id, secret string) {
	t.Helper()
	id = warden.NewID(warden.PrefixAPIKey)
	return id, apikey.NewSecret(id)
}

func TestNewSecretFormat(t *testing.T) {
	id, s := newSecret(t)
	if got, want := len(s), apikey.SecretLength; got != want {
		t.Fatalf("len(%q) = %d, want %d", s, got, want)
	}
	if !strings.HasPrefix(s, apikey.Prefix) {
		t.Errorf("%q does not start with %q", s, apikey.Prefix)
	}
	if got := s[idStart:idEnd]; got != id {
		t.Errorf("key ID part of %q = %q, want %q", s, got, id)
	}
	if got := s[idEnd]; got != '_' {
		t.Errorf("separator of %q = %q, want '_'", s, got)
	}
	if got, want := s, withChecksum(body(s)); got != want {
		t.Errorf("checksum: secret %q, want %q", got, want)
	}
	got, ok := apikey.KeyID(s)
	if !ok || got != id {
		t.Errorf("KeyID(%q) = %q, %v; want %q, true", s, got, ok, id)
	}
}

func TestNewSecretRandomPart(t *testing.T) {
	const n = 1000
	seen := make(map[string]bool, n)
	randoms := make(map[string]bool, n)
	var counts [256]int
	for range n {
		_, s := newSecret(t)
		if seen[s] {
			t.Fatalf("secret %q generated twice", s)
		}
		seen[s] = true
		r := s[randomStart:sumStart]
		if randoms[r] {
			t.Fatalf("random part %q generated twice", r)
		}
		randoms[r] = true
		for i := 0; i < len(r); i++ {
			if strings.IndexByte(base62, r[i]) < 0 {
				t.Fatalf("random part of %q has %q, not base-62", s, r[i])
			}
			counts[r[i]]++
		}
	}
	// 43,000 characters over 62 symbols: about 694 each. χ² with 61
	// degrees of freedom exceeds 150 by chance about once in 10¹⁰ runs;
	// a truncated alphabet or a modulo bias (drawing from all 256 byte
	// values, say) puts it in the hundreds.
	const draws = n * (apikey.SecretLength - randomStart - 6)
	expected := float64(draws) / float64(len(base62))
	var chi2 float64
	for i := 0; i < len(base62); i++ {
		d := float64(counts[base62[i]]) - expected
		chi2 += d * d / expected
	}
	if chi2 > 150 {
		t.Errorf("χ² of the random characters = %.0f, want about 61 for uniform base-62; counts %v", chi2, counts)
	}
}

func TestNewSecretPanicsOnBadID(t *testing.T) {
	for _, id := range []string{"", "aka", strings.Repeat("a", warden.IDLength+1)} {
		t.Run(id, func(t *testing.T) {
			defer func() {
				if recover() == nil {
					t.Errorf("NewSecret(%q) did not panic", id)
				}
			}()
			apikey.NewSecret(id)
		})
	}
}

func TestKeyIDRefuses(t *testing.T) {
	id, s := newSecret(t)
	upper := id[:5] + "X" + id[6:]
	tests := []struct {
		name, secret string
	}{
		{"empty", ""},
		{"prefix only", apikey.Prefix},
		{"prefix changed", withChecksum("wardem_ak_" + body(s)[idStart:])},
		{"prefix upper case", withChecksum("WARDEN_AK_" + body(s)[idStart:])},
		{"truncated", s[:len(s)-1]},
		{"truncated at the front", s[1:]},
		{"one character appended", s + "a"},
		{"checksum appended twice", s + s[sumStart:]},
		{"wrong separator", withChecksum(body(s)[:idEnd] + "-" + body(s)[randomStart:])},
		{"upper case in key ID", withChecksum(body(s)[:idStart] + upper + body(s)[idEnd:])},
		{"underscore in key ID", withChecksum(body(s)[:idStart+4] + "_" + body(s)[idStart+5:])},
		{"dash in random part", withChecksum(body(s)[:randomStart+7] + "-" + body(s)[randomStart+8:])},
		{"non-ASCII in random part", withChecksum(body(s)[:randomStart+7] + "\xe9" + body(s)[randomStart+8:])},
		{"checksum not base 62", s[:sumStart] + "00000-"},
		{"checksum of another secret", body(s) + apikey.NewSecret(id)[sumStart:]},
		{"spaces around", " " + s[1:len(s)-1] + " "},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if got, ok := apikey.KeyID(tt.secret); ok {
				t.Errorf("KeyID(%q) = %q, true; want false", tt.secret, got)
			}
		})
	}
}

// A mistyped character anywhere — prefix, key ID, separator, random part or
// checksum — is refused, by the alphabet or by the checksum.
func TestKeyIDRefusesEverySingleCharacterChange(t *testing.T) {
	_, s := newSecret(t)
	for i := 0; i < len(s); i++ {
		for j := 0; j < len(base62); j++ {
			c := base62[j]
			if c == s[i] {
				continue
			}
			typo := s[:i] + string(c) + s[i+1:]
			if got, ok := apikey.KeyID(typo); ok {
				t.Errorf("position %d, %q → %q: KeyID(%q) = %q, true; want false", i, s[i], c, typo, got)
			}
		}
	}
}

// Six base-62 digits reach 62⁶ ≈ 5.7·10¹⁰, more than the 2³² values of a
// CRC-32, so only one spelling of a checksum is the right one.
func TestKeyIDRefusesNonCanonicalChecksum(t *testing.T) {
	_, s := newSecret(t)
	sum := uint64(crc32.ChecksumIEEE([]byte(body(s)))) + 1<<32
	var c [6]byte
	for i := len(c) - 1; i >= 0; i-- {
		c[i] = base62[sum%62]
		sum /= 62
	}
	alias := body(s) + string(c[:])
	if got, ok := apikey.KeyID(alias); ok {
		t.Errorf("KeyID(%q) = %q, true; want false (the checksum of %q is spelt %q)", alias, got, s, s[sumStart:])
	}
}

// Characters outside the alphabet are refused even under a checksum that
// matches them, at every position after the prefix.
func TestKeyIDRefusesForeignCharacters(t *testing.T) {
	_, s := newSecret(t)
	foreign := []string{"-", "_", ".", "+", "/", " ", "\x00", "\xe9", "~"}
	for i := idStart; i < len(s); i++ {
		if i == idEnd {
			continue // the separator, refused by TestKeyIDRefuses
		}
		bad := foreign
		if i < idEnd {
			bad = append([]string{"A", "Z"}, foreign...)
		}
		for _, c := range bad {
			typo := s[:i] + c + s[i+1:]
			if i < sumStart {
				typo = withChecksum(typo[:sumStart])
			}
			if got, ok := apikey.KeyID(typo); ok {
				t.Errorf("position %d, %q → %q: KeyID(%q) = %q, true; want false", i, s[i], c, typo, got)
			}
		}
	}
}

func TestKeyIDAllocatesNothing(t *testing.T) {
	_, s := newSecret(t)
	wrong := s[:sumStart] + "000000"
	allocs := testing.AllocsPerRun(100, func() {
		apikey.KeyID(s)
		apikey.KeyID(wrong)
	})
	if allocs != 0 {
		t.Errorf("KeyID allocates %v times per call, want 0", allocs)
	}
}

func TestMasked(t *testing.T) {
	masked := regexp.MustCompile(`^\*{4}[a-zA-Z0-9_]{6}$`)
	for range 100 {
		_, s := newSecret(t)
		got := apikey.Masked(s)
		if want := "****" + s[len(s)-6:]; got != want {
			t.Fatalf("Masked(%q) = %q, want %q", s, got, want)
		}
		if !masked.MatchString(got) {
			t.Fatalf("Masked(%q) = %q, does not match %s", s, got, masked)
		}
		if strings.Contains(got, s[randomStart:sumStart]) {
			t.Fatalf("Masked(%q) = %q shows the random part", s, got)
		}
	}
	for _, short := range []string{"", "abc", "abcde"} {
		if got := apikey.Masked(short); got != "****" {
			t.Errorf("Masked(%q) = %q, want %q", short, got, "****")
		}
	}
}

func FuzzKeyID(f *testing.F) {
	id, s := newSecret(f)
	f.Add(s)
	f.Add("")
	f.Add(apikey.Prefix)
	f.Add(s[:len(s)-1])
	f.Add(s + "x")
	f.Add(withChecksum(body(s)[:idStart] + strings.ToUpper(id) + body(s)[idEnd:]))
	f.Add(strings.Repeat("_", apikey.SecretLength))
	f.Fuzz(func(t *testing.T, in string) {
		id, ok := apikey.KeyID(in)
		if !ok {
			if id != "" {
				t.Errorf("KeyID(%q) = %q, false; want an empty ID with false", in, id)
			}
			return
		}
		if len(in) != apikey.SecretLength {
			t.Fatalf("KeyID accepted %q of length %d, want %d", in, len(in), apikey.SecretLength)
		}
		if !strings.HasPrefix(in, apikey.Prefix) {
			t.Errorf("KeyID accepted %q without the prefix %q", in, apikey.Prefix)
		}
		if got := in[idStart:idEnd]; got != id {
			t.Errorf("KeyID(%q) = %q, want %q (the characters at %d…%d)", in, id, got, idStart, idEnd)
		}
		if in[idEnd] != '_' {
			t.Errorf("KeyID accepted %q with separator %q", in, in[idEnd])
		}
		for i := 0; i < len(id); i++ {
			if c := id[i]; !(c >= '0' && c <= '9' || c >= 'a' && c <= 'z') {
				t.Errorf("KeyID(%q) = %q, has %q, not a lowercase letter or digit", in, id, c)
			}
		}
		for i := randomStart; i < len(in); i++ {
			if strings.IndexByte(base62, in[i]) < 0 {
				t.Errorf("KeyID accepted %q with %q at %d, not base-62", in, in[i], i)
			}
		}
	})
}

func BenchmarkKeyID(b *testing.B) {
	_, s := newSecret(b)
	b.ReportAllocs()
	for b.Loop() {
		if _, ok := apikey.KeyID(s); !ok {
			b.Fatal("KeyID refused a fresh secret")
		}
	}
}

func TestSecretLengthIsTheFormats(t *testing.T) {
	if got := len(apikey.NewSecret(warden.NewID(warden.PrefixAPIKey))); got != apikey.SecretLength {
		t.Errorf("len(NewSecret) = %d, SecretLength = %d", got, apikey.SecretLength)
	}
}
