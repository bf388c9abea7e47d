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
// What is kept is HMAC-SHA256 under a random per-process key of the
// password credential's ID and the password: nothing is written anywhere,
// a changed or removed password (a new credential ID) never matches, and a
// wrong password always takes the full argon2id check (and the throttle),
// so online guessing costs what it did. The price: a process memory dump
// taken within the lifetime of an entry yields the key and digests, against
// which recently used passwords could be guessed at SHA-256 speed. Generated
// passwords (192 bits) are beyond that reach.
type verifiedPasswords struct {
	key []byte
	ttl time.Duration
	max int
	now func() time.Time
	mu  sync.Mutex
	m   map[[sha256.Size]byte]time.Time
}

// Defaults: ten minutes, 65,536 entries (about 4 MiB).
const (
	verifiedPasswordTTL     = 10 * time.Minute
	verifiedPasswordEntries = 1 << 16
)

func newVerifiedPasswords(now func() time.Time) *verifiedPasswords {
	return &verifiedPasswords{key: secret.RandomBytes(32), ttl: verifiedPasswordTTL, max: verifiedPasswordEntries, now: now,
		m: map[[sha256.Size]byte]time.Time{}}
}

func (v *verifiedPasswords) digest(credentialID, password string) [sha256.Size]byte {
	mac := hmac.New(sha256.New, v.key)
	mac.Write([]byte(credentialID))
	mac.Write([]byte{0})
	mac.Write([]byte(password))
	var d [sha256.Size]byte
	mac.Sum(d[:0])
	return d
}

// has reports whether password passed the check of credentialID lately.
func (v *verifiedPasswords) has(credentialID, password string) bool {
	d := v.digest(credentialID, password)
	now := v.now()
	v.mu.Lock()
	defer v.mu.Unlock()
	exp, ok := v.m[d]
	if ok && !now.Before(exp) {
		delete(v.m, d)
		ok = false
	}
	return ok
}

// add records that password passed the check of credentialID.
func (v *verifiedPasswords) add(credentialID, password string) {
	d := v.digest(credentialID, password)
	now := v.now()
	v.mu.Lock()
	defer v.mu.Unlock()
	if len(v.m) >= v.max {
		for k, exp := range v.m {
			if !now.Before(exp) {
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
	v.m[d] = now.Add(v.ttl)
}
