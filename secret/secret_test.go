package secret

import (
	"bytes"
	"fmt"
	"log/slog"
	"strings"
	"testing"
)

func TestStringNeverPrints(t *testing.T) {
	s := New("hunter2-very-secret")
	var buf bytes.Buffer
	slog.New(slog.NewJSONHandler(&buf, nil)).Info("x", "secret", s)
	for name, out := range map[string]string{
		"fmt %v": fmt.Sprintf("%v", s), "fmt %+v": fmt.Sprintf("%+v", s), "fmt %#v": fmt.Sprintf("%#v", s),
		//lint:ignore S1025 the test is of what fmt's verbs print
		"fmt %s": fmt.Sprintf("%s", s), "slog": buf.String(),
	} {
		if strings.Contains(out, "hunter2") {
			t.Errorf("%s leaks the secret: %s", name, out)
		}
	}
	if got := s.Reveal(); got != "hunter2-very-secret" {
		t.Errorf("Reveal() = %q", got)
	}
}

func TestPassword(t *testing.T) {
	enc := HashPassword("correct horse")
	if !strings.HasPrefix(enc, "$argon2id$v=19$") {
		t.Fatalf("encoding %q is not argon2id PHC", enc)
	}
	if enc == HashPassword("correct horse") {
		t.Error("two hashes of one password are equal: salt missing")
	}
	tests := []struct {
		name, enc, pw string
		want          bool
	}{
		{"right", enc, "correct horse", true},
		{"wrong", enc, "correct horsE", false},
		{"empty", enc, "", false},
		{"garbage encoding", "$argon2id$xx", "correct horse", false},
		{"other algorithm", strings.Replace(enc, "argon2id", "argon2i", 1), "correct horse", false},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if got := VerifyPassword(tt.enc, tt.pw); got != tt.want {
				t.Errorf("VerifyPassword = %v, want %v", got, tt.want)
			}
		})
	}
}

func TestSealer(t *testing.T) {
	s, err := NewSealer(RandomBytes(32))
	if err != nil {
		t.Fatal(err)
	}
	sealed := s.Seal([]byte("aws secret"), []byte("key-1"))
	if bytes.Contains(sealed, []byte("aws secret")) {
		t.Fatal("sealed value contains the plaintext")
	}
	got, err := s.Open(sealed, []byte("key-1"))
	if err != nil || string(got) != "aws secret" {
		t.Fatalf("Open = %q, %v", got, err)
	}
	if _, err := s.Open(sealed, []byte("key-2")); err == nil {
		t.Error("Open with another context succeeded")
	}
	other, _ := NewSealer(RandomBytes(32))
	if _, err := other.Open(sealed, []byte("key-1")); err == nil {
		t.Error("Open with another master key succeeded")
	}
	if _, err := NewSealer(make([]byte, 16)); err == nil {
		t.Error("NewSealer accepted a 16-byte key")
	}
}
