package service

import (
	"context"

	"warden/secret"
)

// hashPassword hashes a password with argon2id, outside any transaction.
func (s *Service) hashPassword(_ context.Context, password string) (string, error) {
	return secret.HashPassword(password), nil
}

// verifyPassword checks a password against its argon2id encoding, outside
// any transaction.
func (s *Service) verifyPassword(_ context.Context, encoded, password string) (bool, error) {
	return secret.VerifyPassword(encoded, password), nil
}
