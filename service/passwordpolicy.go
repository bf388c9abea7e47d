package service

import (
	_ "embed"
	"strings"
	"time"
	"unicode/utf8"

	"warden"
)

// commonPasswordsText is the list of the most common passwords long enough
// to pass the length rule; see the file's header for where it comes from.
//
//go:embed commonpasswords.txt
var commonPasswordsText string

// commonPasswords holds the list lower-cased: "Password1" is no better a
// guess than "password1" to a cracker who tries both.
var commonPasswords = func() map[string]struct{} {
	m := map[string]struct{}{}
	for _, line := range strings.Split(commonPasswordsText, "\n") {
		if line = strings.TrimSpace(line); line != "" && !strings.HasPrefix(line, "#") {
			m[strings.ToLower(line)] = struct{}{}
		}
	}
	return m
}()

// checkPasswordPolicy applies the password policy of a user's password on
// top of ValidatePassword's length bounds: the password must not be one of
// the most common passwords, and must not contain the user's login (or,
// for a login of the form name@domain, the name) whatever the case — the
// first guesses of anyone who knows whom they attack. field names the
// request field in the error.
func checkPasswordPolicy(field, password, login string) error {
	if err := ValidatePassword(password); err != nil {
		return warden.Errorf(warden.InvalidArgument, "%s: %s", field, strings.TrimPrefix(warden.ErrorMessage(err), "password: "))
	}
	lower := strings.ToLower(password)
	if _, ok := commonPasswords[lower]; ok {
		return warden.Errorf(warden.InvalidArgument, "%s: is one of the most common passwords; choose another", field)
	}
	name, _, _ := strings.Cut(strings.ToLower(login), "@")
	if utf8.RuneCountInString(name) >= 3 && strings.Contains(lower, name) {
		return warden.Errorf(warden.InvalidArgument, "%s: must not contain the login name", field)
	}
	return nil
}

// passwordExpiry is when a password set at created expires under the
// maximum age (zero: never).
func (s *Service) passwordExpiry(created time.Time) time.Time {
	if s.passwordMaxAge <= 0 || created.IsZero() {
		return time.Time{}
	}
	return created.Add(s.passwordMaxAge)
}

// passwordExpired reports whether a password set at created has outlived
// the maximum age.
func (s *Service) passwordExpired(created time.Time) bool {
	exp := s.passwordExpiry(created)
	return !exp.IsZero() && !s.now().Before(exp)
}
