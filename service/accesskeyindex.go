package service

import (
	"context"
	"log/slog"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"warden"
	"warden/accesskey"
	"warden/authn"
	"warden/secret"
	"warden/sigv4"
	"warden/token"
)

// accessKeyIndex holds every static access key in memory, by its AWS key
// id, so that a SigV4 check reads no database: the secret stays sealed
// until a signing key must be derived for a new day, region or service,
// and derived keys are cached (sigv4.KeyCache). It follows the credential
// change feed that the API key index reads (see apiKeyIndex.refresh), so a
// deletion through any wardend is enforced everywhere within about one
// refresh interval.
type accessKeyIndex struct {
	store  warden.Store
	sealer *secret.Sealer
	log    *slog.Logger
	// active reports whether an account may act (Service.subjectActive):
	// a key of a suspended, expired or deleted account is unknown, as AWS
	// answers for it.
	active func(id string) bool

	// Ephemeral keys have no row: their session token (signed like IAM
	// tokens, under token.SessionPrefix) says whose they are and until
	// when, and their secret derives from the key id under ephemeralRoot.
	ephemeralRoot []byte
	verifier      *token.Verifier // public keys and revocations
	now           func() time.Time

	mu       sync.RWMutex
	keys     *accessKeyTable // holds no pointer per key
	cache    *sigv4.KeyCache
	sessions sync.Map // session token → *sessionEntry, bounded by sessionCount
	nSession atomic.Int64
}

// sessionEntry is a verified session token.
type sessionEntry struct {
	keyID, tokenID, subjectID string
	issued, expires           time.Time
	policy                    *authn.Policy // nil: none
}

// maxSessions bounds the verified session tokens kept; past it the cache
// starts again (ephemeral keys live hours, a re-verification costs one
// Ed25519 check).
const maxSessions = 1 << 16

// accessKeyCacheSize bounds the derived signing keys held: one per key,
// day, region and service in use.
const accessKeyCacheSize = 1 << 20

func newAccessKeyIndex(store warden.Store, sealer *secret.Sealer, log *slog.Logger, active func(string) bool, verifier *token.Verifier, now func() time.Time) *accessKeyIndex {
	cache, err := sigv4.NewKeyCache(accessKeyCacheSize)
	if err != nil {
		panic(err) // a constant size: cannot happen
	}
	return &accessKeyIndex{
		store: store, sealer: sealer, log: log, active: active,
		ephemeralRoot: sealer.Derive(ephemeralRootLabel), verifier: verifier, now: now,
		keys: newAccessKeyTable(), cache: cache,
	}
}

// ephemeralRootLabel names the key ephemeral secrets derive from.
const ephemeralRootLabel = "ephemeral access keys"

// SigningKey implements sigv4.Keys from memory.
func (x *accessKeyIndex) SigningKey(c sigv4.Credential) (sigv4.SigningKey, error) {
	if c.SessionToken != "" || accesskey.IsEphemeralKeyID(c.AccessKeyID) {
		return x.ephemeralKey(c)
	}
	x.mu.RLock()
	var subject string
	r, ok := x.keys.lookup(c.AccessKeyID)
	if ok {
		subject = x.keys.subject(r)
	}
	x.mu.RUnlock()
	if !ok || !x.active(subject) {
		return sigv4.SigningKey{}, sigv4.Refuse(sigv4.InvalidAccessKeyID, "unknown access key or inactive account")
	}
	if c.SessionToken != "" {
		// A static key signs without a session token; ephemeral keys have
		// ids of their own.
		return sigv4.SigningKey{}, sigv4.Refuse(sigv4.InvalidToken, "a session token with a static access key")
	}
	return x.cache.GetOrDerive(c, func() ([]byte, error) {
		// Read again: the row may have moved since (a rare derivation).
		x.mu.RLock()
		r, ok := x.keys.lookup(c.AccessKeyID)
		var sealed []byte
		var credID string
		if ok {
			sealed, credID = x.keys.sealed(r), r.credID.String()
		}
		x.mu.RUnlock()
		if !ok {
			return nil, sigv4.Refuse(sigv4.InvalidAccessKeyID, "unknown access key or inactive account")
		}
		return x.sealer.Open(sealed, []byte(credID))
	})
}

// ephemeralKey checks an ephemeral key's session token and derives its
// signing key.
func (x *accessKeyIndex) ephemeralKey(c sigv4.Credential) (sigv4.SigningKey, error) {
	e, err := x.session(c)
	if err != nil {
		return sigv4.SigningKey{}, err
	}
	if !x.active(e.subjectID) {
		return sigv4.SigningKey{}, sigv4.Refuse(sigv4.InvalidAccessKeyID, "the session's account is inactive")
	}
	return x.cache.GetOrDerive(c, func() ([]byte, error) {
		return []byte(accesskey.DeriveSecret(x.ephemeralRoot, e.keyID)), nil
	})
}

// session verifies (or finds verified) the session token of c.
func (x *accessKeyIndex) session(c sigv4.Credential) (*sessionEntry, error) {
	if c.SessionToken == "" || !accesskey.IsEphemeralKeyID(c.AccessKeyID) {
		return nil, sigv4.Refuse(sigv4.InvalidToken, "an ephemeral key without its session token, or a token with a static key")
	}
	now := x.now()
	var e *sessionEntry
	if v, ok := x.sessions.Load(c.SessionToken); ok {
		e = v.(*sessionEntry)
	} else {
		claims, err := token.ParseAs(token.SessionPrefix, c.SessionToken, x.verifier.PublicKey, now)
		switch {
		case err == token.ErrExpired:
			return nil, sigv4.Refuse(sigv4.ExpiredToken, "session token expired")
		case err != nil:
			return nil, sigv4.Refuse(sigv4.InvalidToken, "session token: "+err.Error())
		}
		e = &sessionEntry{keyID: claims.CredentialID, tokenID: claims.TokenID, subjectID: claims.SubjectID, issued: claims.IssuedAt, expires: claims.ExpiresAt}
		if claims.Policy != "" {
			if e.policy, err = authn.ParsePolicy(claims.Policy); err != nil {
				return nil, sigv4.Refuse(sigv4.InvalidToken, "session token policy: "+err.Error())
			}
		}
		if x.nSession.Add(1) > maxSessions {
			x.sessions.Clear()
			x.nSession.Store(1)
		}
		x.sessions.Store(strings.Clone(c.SessionToken), e)
	}
	switch {
	case !now.Before(e.expires):
		return nil, sigv4.Refuse(sigv4.ExpiredToken, "session token expired")
	case e.keyID != c.AccessKeyID:
		return nil, sigv4.Refuse(sigv4.InvalidToken, "the session token belongs to another key")
	case x.verifier.IsRevoked(e.tokenID), x.verifier.IsSubjectRevoked(e.subjectID, e.issued):
		return nil, sigv4.Refuse(sigv4.InvalidToken, "session token revoked")
	}
	return e, nil
}

// Owner implements authn.AccessKeys.
func (x *accessKeyIndex) Owner(c sigv4.Credential) (string, string, *authn.Policy, bool) {
	if c.SessionToken != "" {
		e, err := x.session(c)
		if err != nil {
			return "", "", nil, false
		}
		return e.subjectID, e.keyID, e.policy, true
	}
	x.mu.RLock()
	defer x.mu.RUnlock()
	r, ok := x.keys.lookup(c.AccessKeyID)
	if !ok {
		return "", "", nil, false
	}
	return x.keys.subject(r), r.credID.String(), nil, true
}

// Len returns the number of keys held.
func (x *accessKeyIndex) Len() int {
	x.mu.RLock()
	defer x.mu.RUnlock()
	return x.keys.Len()
}

// accessKeyEntry is a stored access key as the index holds it.
type accessKeyEntry struct {
	keyID, credID, subjectID string
	sealed                   []byte
}

func (x *accessKeyIndex) entry(c *warden.Credential) (accessKeyEntry, bool) {
	d, err := decodeAccessKey(c)
	if err != nil {
		x.log.Error("unreadable access key", "access_key_id", c.ID, "err", err)
		return accessKeyEntry{}, false
	}
	return accessKeyEntry{keyID: d.KeyID, credID: c.ID, subjectID: c.SubjectID, sealed: d.Sealed}, true
}

// putEntry installs a key (under mu held alone) and returns the AWS key
// id its credential had before, if another.
func (x *accessKeyIndex) putEntry(t *accessKeyTable, e accessKeyEntry) string {
	replaced, ok := t.put(e.keyID, e.credID, e.subjectID, e.sealed)
	if !ok {
		x.log.Error("unreadable access key", "access_key_id", e.credID, "err", "id longer than 20 characters")
	}
	return replaced
}

// loadAll replaces the index with every access key in the store.
func (x *accessKeyIndex) loadAll(ctx context.Context) error {
	fresh := newAccessKeyTable()
	err := x.store.View(ctx, func(tx warden.Tx) error {
		return tx.EachCredential(ctx, warden.CredAccessKey, func(c *warden.Credential) error {
			if e, ok := x.entry(c); ok {
				x.putEntry(fresh, e)
			}
			return nil
		})
	})
	if err != nil {
		return err
	}
	x.mu.Lock()
	var gone []string
	for k := range x.keys.byKey {
		if _, ok := fresh.byKey[k]; !ok {
			gone = append(gone, k.String())
		}
	}
	x.keys = fresh
	x.mu.Unlock()
	for _, id := range gone {
		x.cache.Forget(id)
	}
	return nil
}

// reload re-reads the named credentials; an access key that is gone leaves
// the index, and its derived signing keys leave memory.
func (x *accessKeyIndex) reload(ctx context.Context, credIDs ...string) error {
	if len(credIDs) == 0 {
		return nil
	}
	found := map[string]accessKeyEntry{}
	err := x.store.View(ctx, func(tx warden.Tx) error {
		for _, id := range credIDs {
			c, err := tx.GetCredential(ctx, id)
			if warden.IsCode(err, warden.NotFound) {
				continue
			}
			if err != nil {
				return err
			}
			if c.Kind != warden.CredAccessKey {
				continue
			}
			if e, ok := x.entry(c); ok {
				found[id] = e
			}
		}
		return nil
	})
	if err != nil {
		return err
	}
	var gone []string
	x.mu.Lock()
	for _, id := range credIDs {
		if e, ok := found[id]; ok {
			if replaced := x.putEntry(x.keys, e); replaced != "" {
				gone = append(gone, replaced)
			}
			continue
		}
		if keyID, ok := x.keys.remove(id); ok {
			gone = append(gone, keyID)
		}
	}
	x.mu.Unlock()
	for _, keyID := range gone {
		x.cache.Forget(keyID)
	}
	return nil
}

// changed applies a write made through this process at once; on failure
// the feed catches up.
func (x *accessKeyIndex) changed(ctx context.Context, credID string) {
	if err := x.reload(ctx, credID); err != nil {
		x.log.Warn("reload access key", "access_key_id", credID, "err", err)
	}
}
