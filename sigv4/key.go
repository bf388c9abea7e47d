package sigv4

import (
	"crypto/hmac"
	"crypto/sha256"
	"errors"
	"fmt"
	"strings"
	"sync"
)

// SigningKey is a key derived from a secret access key for one day, region
// and service (kSigning in AWS's documents). It signs what the secret signs
// within that scope only, so it is what Warden keeps in memory and hands to a
// resource service that verifies aws-chunked bodies. It prints as
// [redacted].
type SigningKey [sha256.Size]byte

// String implements fmt.Stringer without revealing the key.
func (SigningKey) String() string { return "[redacted]" }

// GoString implements fmt.GoStringer without revealing the key.
func (SigningKey) GoString() string { return "[redacted]" }

// Format keeps every fmt verb (%x included) from printing the key.
func (SigningKey) Format(f fmt.State, _ rune) { _, _ = f.Write([]byte("[redacted]")) }

// DeriveSigningKey derives the signing key of secret (the secret access key)
// for a day (YYYYMMDD), region and service:
// HMAC(HMAC(HMAC(HMAC("AWS4"+secret, date), region), service), "aws4_request").
func DeriveSigningKey(secret []byte, date, region, service string) SigningKey {
	k := make([]byte, 0, 4+len(secret))
	k = append(append(k, "AWS4"...), secret...)
	for _, part := range [...]string{date, region, service, scopeTerminator} {
		m := hmac.New(sha256.New, k)
		m.Write([]byte(part))
		k = m.Sum(k[:0])
	}
	var key SigningKey
	copy(key[:], k)
	clear(k)
	return key
}

// Keys finds the signing key behind a credential. Implementations hold keys
// in memory: Verify calls SigningKey on every request.
type Keys interface {
	// SigningKey returns DeriveSigningKey of the secret of c.AccessKeyID for
	// c.Date, c.Region and c.Service, after checking that the key (and
	// c.SessionToken, for an ephemeral key) is valid now. It returns a
	// *Refusal (see Refuse) when the credential is not acceptable —
	// InvalidAccessKeyID for an unknown, deleted or suspended key,
	// InvalidToken or ExpiredToken for a bad session token — and any other
	// error when it cannot tell, which Verify passes on as is.
	SigningKey(c Credential) (SigningKey, error)
}

// KeysFunc adapts a function to Keys.
type KeysFunc func(Credential) (SigningKey, error)

// SigningKey calls f.
func (f KeysFunc) SigningKey(c Credential) (SigningKey, error) { return f(c) }

// KeyCache keeps derived signing keys, so that a repeat key and day costs a
// map lookup instead of a secret decryption and four HMACs. It is bounded:
// when full, a random entry makes room (Go's map order is random), which
// keeps the keys in daily use without the bookkeeping of an LRU. It is safe
// for concurrent use.
//
// The cache does not know whether a key is still valid: a Keys
// implementation checks that first and consults the cache only to skip the
// derivation, and calls Forget when a key is deleted so that its derived
// keys leave memory.
type KeyCache struct {
	mu  sync.RWMutex
	max int
	m   map[cacheKey]SigningKey
}

type cacheKey struct{ id, date, region, service string }

// NewKeyCache returns a cache of at most max derived keys (one per access
// key, day, region and service in use).
func NewKeyCache(max int) (*KeyCache, error) {
	if max < 1 {
		return nil, errors.New("sigv4: key cache size must be at least 1")
	}
	return &KeyCache{max: max, m: make(map[cacheKey]SigningKey, min(max, 1<<16))}, nil
}

// Get returns the cached signing key for c's access key id and scope.
func (kc *KeyCache) Get(c Credential) (SigningKey, bool) {
	kc.mu.RLock()
	k, ok := kc.m[cacheKey{c.AccessKeyID, c.Date, c.Region, c.Service}]
	kc.mu.RUnlock()
	return k, ok
}

// Put caches k as the signing key for c's access key id and scope.
func (kc *KeyCache) Put(c Credential, k SigningKey) {
	// Clone: c's strings point into a request's headers, which must not
	// stay alive for as long as the cache does.
	ck := cacheKey{strings.Clone(c.AccessKeyID), strings.Clone(c.Date), strings.Clone(c.Region), strings.Clone(c.Service)}
	kc.mu.Lock()
	defer kc.mu.Unlock()
	if _, ok := kc.m[ck]; !ok && len(kc.m) >= kc.max {
		for old := range kc.m {
			delete(kc.m, old)
			break
		}
	}
	kc.m[ck] = k
}

// GetOrDerive returns the cached signing key for c, or derives it from the
// secret that secret returns and caches it. secret is called only on a
// miss, so a Keys implementation decrypts a secret once a day per scope.
func (kc *KeyCache) GetOrDerive(c Credential, secret func() ([]byte, error)) (SigningKey, error) {
	if k, ok := kc.Get(c); ok {
		return k, nil
	}
	s, err := secret()
	if err != nil {
		return SigningKey{}, err
	}
	k := DeriveSigningKey(s, c.Date, c.Region, c.Service)
	kc.Put(c, k)
	return k, nil
}

// Forget drops every cached key derived for accessKeyID. It walks the whole
// cache: keys are deleted rarely, and verification never waits on it for
// long.
func (kc *KeyCache) Forget(accessKeyID string) {
	kc.mu.Lock()
	defer kc.mu.Unlock()
	for k := range kc.m {
		if k.id == accessKeyID {
			delete(kc.m, k)
		}
	}
}

// Len returns the number of cached keys.
func (kc *KeyCache) Len() int {
	kc.mu.RLock()
	defer kc.mu.RUnlock()
	return len(kc.m)
}
