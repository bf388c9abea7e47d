package service

import (
	"testing"
	"time"
)

func TestVerifiedPasswords(t *testing.T) {
	now := time.Date(2026, 11, 1, 0, 0, 0, 0, time.UTC)
	v := newVerifiedPasswords(func() time.Time { return now })
	v.add("apw1", "correct horse")
	for _, c := range []struct {
		name, cred, password string
		want                 bool
	}{
		{"the password checked", "apw1", "correct horse", true},
		{"another password", "apw1", "correct horsf", false},
		{"the same password of another credential", "apw2", "correct horse", false},
		{"ID and password split elsewhere", "apw1correct", " horse", false},
	} {
		if got := v.has(c.cred, c.password); got != c.want {
			t.Errorf("%s: has = %v, want %v", c.name, got, c.want)
		}
	}
	now = now.Add(verifiedPasswordTTL)
	if v.has("apw1", "correct horse") {
		t.Error("an entry outlived its TTL")
	}
	v.max = 3
	for _, p := range []string{"a", "b", "c", "d", "e"} {
		v.add("apw1", p)
	}
	if len(v.m) > v.max {
		t.Errorf("%d entries, want at most %d", len(v.m), v.max)
	}
	if !v.has("apw1", "e") {
		t.Error("the newest entry was evicted")
	}
}

func BenchmarkVerifiedPasswordsHas(b *testing.B) {
	v := newVerifiedPasswords(time.Now)
	v.add("apwabcdefghijklmnopq", "robot-password-1")
	b.ReportAllocs()
	for b.Loop() {
		if !v.has("apwabcdefghijklmnopq", "robot-password-1") {
			b.Fatal("miss")
		}
	}
}
