package service

import (
	"strings"
	"testing"
	"time"

	"warden"
)

func TestCheckPasswordPolicy(t *testing.T) {
	for _, c := range []struct {
		name, password, login, want string
	}{
		{"fine", "amber-walrus-42", "alice@default", ""},
		{"too short", "a7#k", "alice@default", "must be 8 to 1024 characters long"},
		{"too long", strings.Repeat("x", 1025), "alice@default", "must be 8 to 1024 characters long"},
		{"common", "sunshine", "alice@default", "is one of the most common passwords"},
		{"common in another case", "SunShine", "alice@default", "is one of the most common passwords"},
		{"the last kept, from the first 10,000", "lizaveta", "bob@default", "is one of the most common passwords"},
		{"the first left out, past 10,000", "bluenote", "bob@default", ""},
		{"the login's name", "xx-Alice-xx-42", "alice@default", "must not contain the login name"},
		{"the whole login", "alice@default", "alice@default", "must not contain the login name"},
		{"a login name too short to matter", "al-amber-walrus", "al@default", ""},
		{"a login without a domain", "admin-second-password", "admin", "must not contain the login name"},
	} {
		t.Run(c.name, func(t *testing.T) {
			err := checkPasswordPolicy("password_spec.password", c.password, c.login)
			got := ""
			if err != nil {
				if !warden.IsCode(err, warden.InvalidArgument) || !strings.HasPrefix(warden.ErrorMessage(err), "password_spec.password: ") {
					t.Fatalf("error %v: want InvalidArgument naming password_spec.password", err)
				}
				got = strings.TrimPrefix(warden.ErrorMessage(err), "password_spec.password: ")
			}
			if got != c.want && !(c.want != "" && strings.HasPrefix(got, c.want)) {
				t.Errorf("got %q, want %q", got, c.want)
			}
		})
	}
}

func TestCommonPasswordsList(t *testing.T) {
	if n := len(commonPasswords); n < 3000 || n > 3500 {
		t.Errorf("%d common passwords, want the 3,395 of the embedded list", n)
	}
	for p := range commonPasswords {
		if len([]rune(p)) < minPasswordLength {
			t.Errorf("%q is shorter than the length rule refuses anyway", p)
		}
	}
}

func TestPasswordExpiry(t *testing.T) {
	now := time.Date(2026, 1, 1, 0, 0, 0, 0, time.UTC)
	s := &Service{now: func() time.Time { return now }, passwordMaxAge: time.Hour}
	if s.passwordExpired(now.Add(-59 * time.Minute)) {
		t.Error("a password set 59 minutes ago expired under a 1 h maximum age")
	}
	if !s.passwordExpired(now.Add(-time.Hour)) {
		t.Error("a password set an hour ago did not expire under a 1 h maximum age")
	}
	s.passwordMaxAge = 0
	if s.passwordExpired(now.AddDate(-10, 0, 0)) || !s.passwordExpiry(now).IsZero() {
		t.Error("a password expired with no maximum age")
	}
}
