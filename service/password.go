package service

import (
	"context"
	"unicode/utf8"

	"warden"
	"warden/secret"
)

// Password length bounds, in characters: long enough to resist guessing,
// short enough that argon2id never hashes an attacker's megabyte.
const (
	minPasswordLength = 8
	maxPasswordLength = 1024
)

// ValidatePassword returns InvalidArgument when password is not one Warden
// accepts. wardend checks WARDEN_ADMIN_PASSWORD with it before it creates
// anything, so a bad one cannot leave a half-bootstrapped database.
func ValidatePassword(password string) error {
	if n := utf8.RuneCountInString(password); n < minPasswordLength || n > maxPasswordLength {
		return warden.Errorf(warden.InvalidArgument, "password: must be %d to %d characters long", minPasswordLength, maxPasswordLength)
	}
	return nil
}

// hashPassword hashes a password with argon2id, outside any transaction.
func (s *Service) hashPassword(_ context.Context, password string) (string, error) {
	return secret.HashPassword(password), nil
}

// verifyPassword checks a password against its argon2id encoding, outside
// any transaction.
func (s *Service) verifyPassword(_ context.Context, encoded, password string) (bool, error) {
	return secret.VerifyPassword(encoded, password), nil
}
