package accesskey

import (
	"strings"
	"testing"
)

func TestKeyID(t *testing.T) {
	seen := map[string]bool{}
	for range 1000 {
		id := NewKeyID()
		if !IsKeyID(id) || len(id) != KeyIDLength || strings.ToUpper(id) != id {
			t.Fatalf("NewKeyID() = %q: not a key id", id)
		}
		if seen[id] {
			t.Fatalf("NewKeyID() repeated %q", id)
		}
		seen[id] = true
	}
	for _, bad := range []string{"", "WDNK", "AKIAIOSFODNN7EXAMPLE", "WDNKAAAAAAAAAAAAAAA1", "WDNKaaaaaaaaaaaaaaaa", "WDNKAAAAAAAAAAAAAAAAA"} {
		if IsKeyID(bad) {
			t.Errorf("IsKeyID(%q) = true", bad)
		}
	}
}

func TestSecret(t *testing.T) {
	counts := map[rune]int{}
	const n = 2000
	for range n {
		s := NewSecret()
		if len(s) != SecretLength {
			t.Fatalf("len(NewSecret()) = %d", len(s))
		}
		for _, c := range s {
			if !strings.ContainsRune(alphabet, c) {
				t.Fatalf("NewSecret() = %q has %q", s, c)
			}
			counts[c]++
		}
	}
	// Every symbol appears, none far from its share (80,000 draws, ≈1290
	// each; a biased generator would skew the first 8 symbols by ~1/32).
	want := float64(n*SecretLength) / 62
	for _, c := range alphabet {
		if got := float64(counts[c]); got < want*0.85 || got > want*1.15 {
			t.Errorf("symbol %q drawn %v times, want about %.0f", c, got, want)
		}
	}
}

func TestEphemeral(t *testing.T) {
	id := NewEphemeralKeyID()
	if !IsEphemeralKeyID(id) || IsKeyID(id) || IsEphemeralKeyID(NewKeyID()) || len(id) != KeyIDLength {
		t.Errorf("ephemeral id %q not told apart from a static one", id)
	}
	root := []byte("0123456789abcdef0123456789abcdef")
	a, b := DeriveSecret(root, id), DeriveSecret(root, id)
	if a != b || len(a) != SecretLength {
		t.Errorf("DeriveSecret is not a 40-character function of its input: %q, %q", a, b)
	}
	if DeriveSecret(root, NewEphemeralKeyID()) == a || DeriveSecret([]byte("another root, another secret...."), id) == a {
		t.Error("DeriveSecret ignores its input")
	}
}
