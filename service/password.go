package service

import "warden"

// Password length bounds: long enough to resist guessing, short enough that
// argon2id never hashes an attacker's megabyte.
const (
	minPasswordLength = 8
	maxPasswordLength = 1024
)

// ValidatePassword returns InvalidArgument when password is not one Warden
// accepts. wardend checks WARDEN_ADMIN_PASSWORD with it before it creates
// anything, so a bad one cannot leave a half-bootstrapped database.
func ValidatePassword(password string) error {
	if len(password) < minPasswordLength || len(password) > maxPasswordLength {
		return warden.Errorf(warden.InvalidArgument, "password: must be %d to %d characters long", minPasswordLength, maxPasswordLength)
	}
	return nil
}
