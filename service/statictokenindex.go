package service

import (
	"context"
	"crypto/sha256"
	"crypto/subtle"
	"log/slog"
	"sync"
	"time"

	"warden"
	"warden/secret"
	"warden/statictoken"
)

// staticTokenIndex holds every static token of the database in memory, by
// its ID, so that an X-Token request costs a map lookup and one SHA-256:
// no database read. It follows the credential change feed that the API key
// index reads (see apiKeyIndex.refresh), so a revocation through any
// wardend is enforced everywhere within about one refresh interval (200 ms
// by default); a write through this process is applied at once.
type staticTokenIndex struct {
	store warden.Store
	log   *slog.Logger

	mu     sync.RWMutex
	tokens map[string]*staticTokenEntry
	// reloadMu orders reloads, so that an older read never overwrites a
	// newer one.
	reloadMu sync.Mutex
}

// staticTokenEntry is what checking a token needs: never its secret.
type staticTokenEntry struct {
	hash      [sha256.Size]byte
	subjectID string
	expiresAt time.Time // zero: never
}

func newStaticTokenIndex(store warden.Store, log *slog.Logger) *staticTokenIndex {
	return &staticTokenIndex{store: store, log: log, tokens: map[string]*staticTokenEntry{}}
}

// Static token refusals, as the pipeline labels them: the caller is told
// none of them apart.
const (
	staticTokenMalformed   = "malformed"
	staticTokenUnknown     = "unknown_token"
	staticTokenWrongSecret = "wrong_secret"
	staticTokenExpired     = "expired"
)

// CheckStaticToken implements authn.StaticTokenIndex from memory: it
// returns the token's subject and ID, or why it is refused. The secret's
// hash is compared in constant time.
func (x *staticTokenIndex) CheckStaticToken(tok string, now time.Time) (subjectID, tokenID, refusal string) {
	id, ok := statictoken.TokenID(tok)
	if !ok {
		return "", "", staticTokenMalformed
	}
	x.mu.RLock()
	e := x.tokens[id]
	x.mu.RUnlock()
	if e == nil {
		return "", id, staticTokenUnknown
	}
	sum := sha256.Sum256(secret.UnsafeBytes(tok))
	if subtle.ConstantTimeCompare(sum[:], e.hash[:]) != 1 {
		return "", id, staticTokenWrongSecret
	}
	if !e.expiresAt.IsZero() && !now.Before(e.expiresAt) {
		return e.subjectID, id, staticTokenExpired
	}
	return e.subjectID, id, ""
}

// Len returns the number of tokens held.
func (x *staticTokenIndex) Len() int {
	x.mu.RLock()
	defer x.mu.RUnlock()
	return len(x.tokens)
}

// entry compiles a stored token; nil (and a log line) for one that cannot
// be read, which then authenticates nothing.
func (x *staticTokenIndex) entry(c *warden.Credential) *staticTokenEntry {
	if len(c.Hash) != sha256.Size {
		x.log.Error("unreadable static token", "static_token_id", c.ID, "err", "hash is not SHA-256")
		return nil
	}
	e := &staticTokenEntry{subjectID: c.SubjectID, expiresAt: c.ExpiresAt}
	copy(e.hash[:], c.Hash)
	return e
}

// loadAll implements credentialFollower: it replaces the index with every
// static token in the store.
func (x *staticTokenIndex) loadAll(ctx context.Context) error {
	x.reloadMu.Lock()
	defer x.reloadMu.Unlock()
	tokens := map[string]*staticTokenEntry{}
	err := x.store.View(ctx, func(tx warden.Tx) error {
		return tx.EachCredential(ctx, warden.CredStaticToken, func(c *warden.Credential) error {
			if e := x.entry(c); e != nil {
				tokens[c.ID] = e
			}
			return nil
		})
	})
	if err != nil {
		return err
	}
	x.mu.Lock()
	x.tokens = tokens
	x.mu.Unlock()
	return nil
}

// reload implements credentialFollower: it re-reads the named credentials;
// a static token that is gone leaves the index.
func (x *staticTokenIndex) reload(ctx context.Context, ids ...string) error {
	if len(ids) == 0 {
		return nil
	}
	x.reloadMu.Lock()
	defer x.reloadMu.Unlock()
	found := make(map[string]*staticTokenEntry, len(ids))
	err := x.store.View(ctx, func(tx warden.Tx) error {
		for _, id := range ids {
			c, err := tx.GetCredential(ctx, id)
			if warden.IsCode(err, warden.NotFound) {
				continue
			}
			if err != nil {
				return err
			}
			if c.Kind == warden.CredStaticToken {
				found[id] = x.entry(c)
			}
		}
		return nil
	})
	if err != nil {
		return err
	}
	x.mu.Lock()
	defer x.mu.Unlock()
	for _, id := range ids {
		if e := found[id]; e != nil {
			x.tokens[id] = e
		} else {
			delete(x.tokens, id)
		}
	}
	return nil
}

// changed applies a write made through this process at once; on failure
// the feed catches up.
func (x *staticTokenIndex) changed(ctx context.Context, id string) {
	if err := x.reload(ctx, id); err != nil {
		x.log.Warn("reload static token", "static_token_id", id, "err", err)
	}
}
