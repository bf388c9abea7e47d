package secret

import (
	"strings"
	"testing"
)

func TestFormatKindsApart(t *testing.T) {
	ak, st := MustFormat("warden_ak_"), MustFormat("warden_st_")
	const id = "stkaaaaaaaaaaaaaaaaa"
	s := st.New(id)
	if len(s) != st.Len() || !strings.HasPrefix(s, "warden_st_") {
		t.Fatalf("New = %q (length %d), want prefix warden_st_ and length %d", s, len(s), st.Len())
	}
	if got, ok := st.ID(s); !ok || got != id {
		t.Errorf("ID(%q) = %q, %v; want %q, true", s, got, ok, id)
	}
	if _, ok := ak.ID(s); ok {
		t.Errorf("a static token secret reads as an API key")
	}
	// The prefix is covered by the checksum: swapping it is refused too.
	if _, ok := st.ID("warden_ak_" + s[len("warden_st_"):]); ok {
		t.Errorf("an API key prefix on a static token body accepted")
	}
	if _, ok := st.ID(s[:len(s)-1] + "0"); ok && s[len(s)-1] != '0' {
		t.Errorf("a changed checksum accepted")
	}
}

func TestNewFormatRefusesPrefix(t *testing.T) {
	for _, p := range []string{"", "_", "warden"} {
		if _, err := NewFormat(p); err == nil || !strings.HasPrefix(err.Error(), "secret: ") {
			t.Errorf("NewFormat(%q) = %v, want a secret: error", p, err)
		}
	}
}

func TestFormatIDAllocatesNothing(t *testing.T) {
	f := MustFormat("warden_st_")
	s := f.New("stkaaaaaaaaaaaaaaaaa")
	if n := testing.AllocsPerRun(100, func() { f.ID(s) }); n != 0 {
		t.Errorf("ID allocates %v times", n)
	}
}
