package service

import (
	"context"
	"errors"
	"time"
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

// hashPassword hashes a password with argon2id, outside any transaction,
// through the process-wide limiter: when every slot stays taken for its
// wait, the answer is ResourceExhausted with a RetryAfter.
func (s *Service) hashPassword(ctx context.Context, password string) (string, error) {
	enc, err := secret.HashPasswordContext(ctx, password)
	return enc, passwordBusy(err)
}

// verifyPassword checks a password against its argon2id encoding, outside
// any transaction, through the limiter as hashPassword does.
func (s *Service) verifyPassword(ctx context.Context, encoded, password string) (bool, error) {
	ok, err := secret.VerifyPasswordContext(ctx, encoded, password)
	return ok, passwordBusy(err)
}

// passwordBusy turns the limiter's ErrBusy into the answer a client can
// act on.
func passwordBusy(err error) error {
	if errors.Is(err, secret.ErrBusy) {
		return &warden.Error{Code: warden.ResourceExhausted, Message: "too many password checks in progress: retry later", Cause: err, RetryAfter: time.Second}
	}
	return err
}
