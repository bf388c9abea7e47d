package service

import (
	"testing"
	"time"
)

func TestVerifiedPasswords(t *testing.T) {
	now := time.Date(2026, 11, 1, 0, 0, 0, 0, time.UTC)
	v := newVerifiedPasswords(func() time.Time { return now })
	v.add("id:aje1", "correct horse", "apw1")
	for _, c := range []struct {
		name, user, password string
		want                 bool
	}{
		{"the password checked", "id:aje1", "correct horse", true},
		{"another password", "id:aje1", "correct horsf", false},
		{"the same password of another user", "id:aje2", "correct horse", false},
		{"user and password split elsewhere", "id:aje1correct", " horse", false},
	} {
		cred, ok := v.check(c.user, c.password)
		if ok != c.want || (ok && cred != "apw1") {
			t.Errorf("%s: check = %q, %v, want %v", c.name, cred, ok, c.want)
		}
	}
	now = now.Add(verifiedPasswordTTL)
	if _, ok := v.check("id:aje1", "correct horse"); ok {
		t.Error("an entry outlived its TTL")
	}
	v.max = 3
	for _, p := range []string{"a", "b", "c", "d", "e"} {
		v.add("id:aje1", p, "apw1")
	}
	if len(v.m) > v.max {
		t.Errorf("%d entries, want at most %d", len(v.m), v.max)
	}
	if _, ok := v.check("id:aje1", "e"); !ok {
		t.Error("the newest entry was evicted")
	}
}

func BenchmarkVerifiedPasswordsCheck(b *testing.B) {
	v := newVerifiedPasswords(time.Now)
	v.add("id:ajeabcdefghijklmnopq", "robot-password-1", "apwabcdefghijklmnopq")
	b.ReportAllocs()
	for b.Loop() {
		if _, ok := v.check("id:ajeabcdefghijklmnopq", "robot-password-1"); !ok {
			b.Fatal("miss")
		}
	}
}
