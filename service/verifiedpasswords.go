package service

import (
	"crypto/hmac"
	"crypto/sha256"
	"sync"
	"time"

	"warden/secret"
)

// verifiedPasswords remembers, for a while, the passwords that passed an
// argon2id check, so that a client re-authenticating with the same
// password (the OpenStack tools do it per command, Terraform per run) costs
// an HMAC instead of 64 MiB and a quarter of a second of argon2id, which
// would cap Keystone's token issue at a few per second per two cores.
//
// What is kept is HMAC-SHA256 under a random per-process key of the user
// as the request named it and the password, mapped to the ID of the
// password credential that accepted it: nothing is written anywhere, a hit
// counts only while that credential is still the account's password (a
// changed or removed password never matches), and a wrong password always
// takes the throttle and the full argon2id check, so online guessing costs
// what it did. A hit is checked before the throttle: a client that knows
// the password is not slowed by someone else's failed guesses. The price: a process memory dump
// taken within the lifetime of an entry yields the key and digests, against
// which recently used passwords could be guessed at SHA-256 speed. Generated
// passwords (192 bits) are beyond that reach.
type verifiedPasswords struct {
	key []byte
	ttl time.Duration
	max int
	now func() time.Time
	mu  sync.Mutex
	m   map[[sha256.Size]byte]verifiedEntry
}

type verifiedEntry struct {
	credentialID string
	expires      time.Time
}

// Defaults: ten minutes, 65,536 entries (about 4 MiB).
const (
	verifiedPasswordTTL     = 10 * time.Minute
	verifiedPasswordEntries = 1 << 16
)

func newVerifiedPasswords(now func() time.Time) *verifiedPasswords {
	return &verifiedPasswords{key: secret.RandomBytes(32), ttl: verifiedPasswordTTL, max: verifiedPasswordEntries, now: now,
		m: map[[sha256.Size]byte]verifiedEntry{}}
}

func (v *verifiedPasswords) digest(user, password string) [sha256.Size]byte {
	mac := hmac.New(sha256.New, v.key)
	mac.Write([]byte(user))
	mac.Write([]byte{0})
	mac.Write([]byte(password))
	var d [sha256.Size]byte
	mac.Sum(d[:0])
	return d
}

// check returns the password credential that accepted password for user
// lately, if any.
func (v *verifiedPasswords) check(user, password string) (credentialID string, ok bool) {
	d := v.digest(user, password)
	now := v.now()
	v.mu.Lock()
	defer v.mu.Unlock()
	e, ok := v.m[d]
	if ok && !now.Before(e.expires) {
		delete(v.m, d)
		return "", false
	}
	return e.credentialID, ok
}

// add records that password of user passed the check of credentialID.
func (v *verifiedPasswords) add(user, password, credentialID string) {
	d := v.digest(user, password)
	now := v.now()
	v.mu.Lock()
	defer v.mu.Unlock()
	if len(v.m) >= v.max {
		for k, e := range v.m {
			if !now.Before(e.expires) {
				delete(v.m, k)
			}
		}
		for k := range v.m { // still full: drop arbitrary entries (map order is random)
			if len(v.m) < v.max {
				break
			}
			delete(v.m, k)
		}
	}
	v.m[d] = verifiedEntry{credentialID: credentialID, expires: now.Add(v.ttl)}
}
