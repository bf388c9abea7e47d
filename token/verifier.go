package token

import (
	"crypto/ed25519"
	"strings"
	"sync"
	"sync/atomic"
	"time"
)

// Verifier checks IAM tokens on the hot path: signature against the current
// public key set, expiry, and the in-memory revocation list. Tokens already
// verified are cached, so a repeat token costs one map lookup.
type Verifier struct {
	now     func() time.Time
	keys    atomic.Pointer[map[string]ed25519.PublicKey]
	revoked atomic.Pointer[map[string]time.Time] // token ID → expiry
	// revokedCreds holds the credentials whose tokens are revoked: ID →
	// when the last token they minted expires.
	revokedCreds atomic.Pointer[map[string]time.Time]
	revMu        sync.Mutex // serializes copy-on-write of the revocation lists
	shards       [cacheShards]cacheShard

	// revokedSubjects holds the subjects whose tokens issued until a time
	// are revoked: subject ID → that time.
	revokedSubjects atomic.Pointer[map[string]time.Time]
}

const (
	cacheShards       = 64
	cacheShardEntries = 4096 // 262,144 tokens in all
)

type cacheShard struct {
	mu sync.RWMutex
	m  map[string]*Claims
}

// NewVerifier returns a Verifier that reads time from now.
func NewVerifier(now func() time.Time) *Verifier {
	v := &Verifier{now: now}
	v.SetKeys(nil)
	empty := map[string]time.Time{}
	v.revoked.Store(&empty)
	emptyCreds := map[string]time.Time{}
	v.revokedCreds.Store(&emptyCreds)
	emptySubjects := map[string]time.Time{}
	v.revokedSubjects.Store(&emptySubjects)
	for i := range v.shards {
		v.shards[i].m = make(map[string]*Claims)
	}
	return v
}

// SetKeys replaces the set of public keys tokens may be signed with.
func (v *Verifier) SetKeys(keys map[string]ed25519.PublicKey) {
	m := make(map[string]ed25519.PublicKey, len(keys))
	for id, k := range keys {
		m[id] = k
	}
	v.keys.Store(&m)
}

// PublicKey returns the public key of a known signing key.
func (v *Verifier) PublicKey(keyID string) (ed25519.PublicKey, bool) {
	k, ok := (*v.keys.Load())[keyID]
	return k, ok
}

// Revoke adds token IDs to the revocation list; each entry is kept until the
// token's own expiry.
func (v *Verifier) Revoke(ids map[string]time.Time) { v.add(&v.revoked, ids) }

// RevokeCredentials revokes every token minted through the named
// credentials; each entry is kept until the last such token has expired.
func (v *Verifier) RevokeCredentials(ids map[string]time.Time) { v.add(&v.revokedCreds, ids) }

func (v *Verifier) add(list *atomic.Pointer[map[string]time.Time], ids map[string]time.Time) {
	if len(ids) == 0 {
		return
	}
	v.revMu.Lock()
	defer v.revMu.Unlock()
	now := v.now()
	old := *list.Load()
	m := make(map[string]time.Time, len(old)+len(ids))
	for id, exp := range old {
		if now.Before(exp) {
			m[id] = exp
		}
	}
	for id, exp := range ids {
		m[id] = exp
	}
	list.Store(&m)
}

// maxTokenLifetime is the longest any token this package signs lives: a
// subject's revocation is kept that long after it.
const maxTokenLifetime = max(MaxLifetime, MaxKeystoneLifetime)

// RevokeSubjects revokes every token of the named subjects issued at or
// before the given time (subject ID → time). A later time for a subject
// replaces an earlier one, never the reverse; each entry is kept until
// the last token it revokes has expired.
func (v *Verifier) RevokeSubjects(until map[string]time.Time) {
	old := *v.revokedSubjects.Load()
	fresh := false
	for id, t := range until {
		if cur, ok := old[id]; !ok || t.After(cur) {
			fresh = true
		}
	}
	if !fresh {
		return // the refresh re-reads a window of entries already applied
	}
	v.revMu.Lock()
	defer v.revMu.Unlock()
	now := v.now()
	old = *v.revokedSubjects.Load()
	m := make(map[string]time.Time, len(old)+len(until))
	for id, t := range old {
		if now.Before(t.Add(maxTokenLifetime)) {
			m[id] = t
		}
	}
	for id, t := range until {
		if cur, ok := m[id]; !ok || t.After(cur) {
			m[id] = t
		}
	}
	v.revokedSubjects.Store(&m)
}

// IsSubjectRevoked reports whether a token of subjectID issued at issuedAt
// is revoked with every token of its subject. Tokens carry their issue
// time in whole seconds: one issued in the second of the revocation, even
// just after it, is revoked too.
func (v *Verifier) IsSubjectRevoked(subjectID string, issuedAt time.Time) bool {
	t, ok := (*v.revokedSubjects.Load())[subjectID]
	return ok && !issuedAt.After(t)
}

// IsCredentialRevoked reports whether the tokens of a credential are revoked.
func (v *Verifier) IsCredentialRevoked(credentialID string) bool {
	_, ok := (*v.revokedCreds.Load())[credentialID]
	return ok
}

// IsRevoked reports whether a token ID is on the revocation list.
func (v *Verifier) IsRevoked(tokenID string) bool {
	_, ok := (*v.revoked.Load())[tokenID]
	return ok
}

func fnv(s string) uint32 {
	h := uint32(2166136261)
	for i := len(s) - 1; i >= len(s)-16 && i >= 0; i-- { // the signature's tail is random enough
		h ^= uint32(s[i])
		h *= 16777619
	}
	return h
}

// Verify returns the claims of a valid, unexpired, unrevoked IAM token. The
// returned Claims are shared: callers must not modify them.
func (v *Verifier) Verify(tok string) (*Claims, error) {
	return v.verify(tok, Prefix)
}

// VerifyKeystone is Verify for Keystone tokens.
func (v *Verifier) VerifyKeystone(tok string) (*Claims, error) {
	return v.verify(tok, KeystonePrefix)
}

// verify checks a token of the kind prefix names. The prefix is checked
// before the cache, which holds both kinds: a Keystone token verified once
// must not come back from the cache as an IAM token.
func (v *Verifier) verify(tok, prefix string) (*Claims, error) {
	if !strings.HasPrefix(tok, prefix) {
		return nil, ErrMalformed
	}
	now := v.now()
	sh := &v.shards[fnv(tok)%cacheShards]
	sh.mu.RLock()
	c, ok := sh.m[tok]
	sh.mu.RUnlock()
	if !ok {
		parsed, err := parse(tok, prefix, v.PublicKey, now)
		if err != nil {
			return nil, err
		}
		c = &parsed
		sh.mu.Lock()
		if len(sh.m) >= cacheShardEntries {
			for k := range sh.m { // evict an arbitrary entry; map order is random
				delete(sh.m, k)
				break
			}
		}
		sh.m[tok] = c
		sh.mu.Unlock()
	}
	if !now.Before(c.ExpiresAt) {
		return nil, ErrExpired
	}
	if v.IsRevoked(c.TokenID) || (c.CredentialID != "" && v.IsCredentialRevoked(c.CredentialID)) || v.IsSubjectRevoked(c.SubjectID, c.IssuedAt) {
		return nil, ErrRevoked
	}
	return c, nil
}
