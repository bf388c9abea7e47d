package service

import (
	"context"
	"crypto/rsa"
	"encoding/json"
	"fmt"
	"log/slog"
	"net"
	"sync"
	"sync/atomic"
	"time"

	"warden"
	"warden/jwtauth"
)

// keyState is what the JWT exchange keeps in memory so that its cost is the
// RSA verification alone: the public keys by key ID, each with the state of
// its service account, and the uses of each key not yet written to the
// store.
//
// Staleness: an entry is re-read from the store once it is older than the
// refresh interval (200 ms by default), so a key deleted or an account
// suspended or deleted through any wardend stops new exchanges on every
// node within that interval; a key deleted through this node is evicted at
// once. Unknown key IDs are cached too (negatively), for the same interval.
type keyState struct {
	store      warden.Store
	log        *slog.Logger
	now        func() time.Time
	ttl        time.Duration
	flushEvery time.Duration
	validator  *jwtauth.Validator

	entries sync.Map // key ID → *cachedKey
	size    atomic.Int64
	// mu orders cache writes after evictions: a load that began before an
	// eviction must not put the evicted key back.
	mu    sync.Mutex
	epoch uint64

	flushPending atomic.Bool
}

// cachedKey is one key ID as the store last described it.
type cachedKey struct {
	id      string
	loaded  time.Time
	subject string         // the active service account owning the key; "" when unusable
	pub     *rsa.PublicKey // nil when unusable
	// used is the time of the last successful exchange (UnixNano, 0 for
	// none) and flushed the last value written to the store.
	used, flushed atomic.Int64
	// token is an IAM token issued through this entry, handed out again to
	// exchanges while the entry is current (see Service.exchangeJWT).
	token atomic.Pointer[issuedToken]
}

type issuedToken struct {
	token, id string
	expires   time.Time
}

func (k *cachedKey) usable() bool { return k.pub != nil }

// maxKeyEntries bounds the cache; past it, stale entries are swept.
const maxKeyEntries = 100_000

// keyState returns the Service's key state.
func (s *Service) keyState() *keyState { return s.jwtKeys }

// newKeyState builds the key state of s.
func newKeyState(s *Service) *keyState {
	v, err := jwtauth.NewValidator(jwtauth.ValidatorConfig{Audiences: defaultAudiences(s.address)})
	if err != nil {
		panic("service: " + err.Error()) // the audiences above are never empty
	}
	return &keyState{
		store: s.store, log: s.log, now: s.now, ttl: s.refresh, validator: v,
		// A flush is one write transaction (which every wardend's access
		// snapshot notices); 25 refresh intervals, 5 s by default, keep
		// last_used_at current enough for people without a commit per
		// exchange.
		flushEvery: 25 * s.refresh,
	}
}

// tokenPath is where IamTokenService.Create is served over REST.
const tokenPath = "/iam/v1/tokens"

// defaultAudiences are the aud values a JWT may carry: the URL the Yandex
// SDKs hard-code (and the one older Yandex documentation gives), and
// Warden's own token URL at its public address, over HTTPS or HTTP, with
// and without a default port.
func defaultAudiences(address string) []string {
	out := []string{jwtauth.YandexAudience, jwtauth.YandexLegacyAudience}
	if address == "" {
		return out
	}
	out = append(out, "https://"+address+tokenPath, "http://"+address+tokenPath)
	if host, port, err := net.SplitHostPort(address); err == nil {
		switch port {
		case "443":
			out = append(out, "https://"+host+tokenPath)
		case "80":
			out = append(out, "http://"+host+tokenPath)
		}
	}
	return out
}

// lookup returns the cache entry of a key ID, reading the store when the
// entry is missing or older than the refresh interval.
func (st *keyState) lookup(ctx context.Context, keyID string, now time.Time) (*cachedKey, error) {
	if v, ok := st.entries.Load(keyID); ok {
		if e := v.(*cachedKey); now.Sub(e.loaded) < st.ttl {
			return e, nil
		}
	}
	st.mu.Lock()
	epoch := st.epoch
	st.mu.Unlock()
	e, err := st.load(ctx, keyID, now)
	if err != nil {
		return nil, err
	}
	st.mu.Lock()
	defer st.mu.Unlock()
	if st.epoch != epoch {
		return e, nil // evicted meanwhile: answer this request, cache nothing
	}
	if v, ok := st.entries.Load(keyID); ok {
		// Uses recorded on the entry being replaced are still to be written.
		old := v.(*cachedKey)
		e.used.Store(old.used.Load())
		e.flushed.Store(old.flushed.Load())
	} else if st.size.Add(1) > maxKeyEntries {
		st.sweep(now)
	}
	st.entries.Store(keyID, e)
	return e, nil
}

// load reads a key and its account. A key that is missing, of another
// kind, or whose account is missing, not ACTIVE or past its expiry makes an
// unusable entry, not an error: errors are for the store failing.
func (st *keyState) load(ctx context.Context, keyID string, now time.Time) (*cachedKey, error) {
	e := &cachedKey{id: keyID, loaded: now}
	err := st.store.View(ctx, func(tx warden.Tx) error {
		c, err := tx.GetCredential(ctx, keyID)
		if warden.IsCode(err, warden.NotFound) {
			return nil
		}
		if err != nil {
			return err
		}
		if c.Kind != warden.CredKey {
			return nil
		}
		r, err := tx.GetResource(ctx, c.SubjectID)
		if warden.IsCode(err, warden.NotFound) {
			return nil
		}
		if err != nil {
			return err
		}
		if r.Type != warden.TypeServiceAccount || r.Status != warden.StatusActive {
			return nil
		}
		if exp := attrTime(r, attrExpiresAt); !exp.IsZero() && !now.Before(exp) {
			return nil
		}
		kd, err := decodeKeyData(c.Data)
		if err != nil {
			st.log.Error("unreadable authorized key", "key_id", keyID, "err", err)
			return nil
		}
		pub, _, err := jwtauth.ParsePublicKey(kd.PublicKey)
		if err != nil {
			st.log.Error("unreadable authorized key", "key_id", keyID, "err", err)
			return nil
		}
		e.subject, e.pub = r.ID, pub
		return nil
	})
	if err != nil {
		return nil, err
	}
	return e, nil
}

// sweep drops entries that are stale and have no unwritten use. Called
// with mu held.
func (st *keyState) sweep(now time.Time) {
	st.entries.Range(func(k, v any) bool {
		e := v.(*cachedKey)
		if now.Sub(e.loaded) >= st.ttl && e.used.Load() == e.flushed.Load() {
			st.entries.Delete(k)
			st.size.Add(-1)
		}
		return true
	})
}

// evict forgets a key at once: the next exchange naming it reads the
// store.
func (st *keyState) evict(keyID string) {
	st.mu.Lock()
	defer st.mu.Unlock()
	st.epoch++
	if _, ok := st.entries.LoadAndDelete(keyID); ok {
		st.size.Add(-1)
	}
}

// recordUse notes a successful exchange; a flush writes it later.
func (st *keyState) recordUse(e *cachedKey, now time.Time) {
	e.used.Store(now.UnixNano())
	if !st.flushPending.Load() && st.flushPending.CompareAndSwap(false, true) {
		time.AfterFunc(st.flushEvery, st.flush)
	}
}

// flush writes last_used_at of the keys and last_authenticated_at of their
// accounts in one transaction. A failed flush is not retried by itself:
// the uses stay pending and the next exchange schedules another.
func (st *keyState) flush() {
	st.flushPending.Store(false) // uses recorded from here on schedule the next flush
	type use struct {
		e    *cachedKey
		used int64
	}
	var uses []use
	accounts := map[string]time.Time{}
	st.entries.Range(func(_, v any) bool {
		e := v.(*cachedKey)
		if u := e.used.Load(); u > e.flushed.Load() {
			uses = append(uses, use{e, u})
			if t := time.Unix(0, u).UTC(); e.subject != "" && t.After(accounts[e.subject]) {
				accounts[e.subject] = t
			}
		}
		return true
	})
	if len(uses) == 0 {
		return
	}
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	err := st.store.Update(ctx, func(tx warden.Tx) error {
		for _, u := range uses {
			if err := tx.TouchCredential(ctx, u.e.id, time.Unix(0, u.used).UTC()); err != nil {
				return err
			}
		}
		for id, t := range accounts {
			if err := touchAccount(ctx, tx, id, t); err != nil {
				return err
			}
		}
		return nil
	})
	if err != nil {
		st.log.Warn("write authorized key usage", "keys", len(uses), "err", err)
		return
	}
	for _, u := range uses {
		u.e.flushed.Store(u.used)
	}
}

// touchAccount moves a service account's last_authenticated_at forward.
func touchAccount(ctx context.Context, tx warden.Tx, id string, t time.Time) error {
	r, err := tx.GetResource(ctx, id)
	if warden.IsCode(err, warden.NotFound) {
		return nil
	}
	if err != nil || !attrTime(r, attrLastAuthenticatedAt).Before(t) {
		return err
	}
	if r.Attrs == nil {
		r.Attrs = map[string]string{}
	}
	r.Attrs[attrLastAuthenticatedAt] = t.Format(time.RFC3339Nano)
	if err := tx.UpdateResource(ctx, r); err != nil && !warden.IsCode(err, warden.NotFound) {
		return err
	}
	return nil
}

// keyData is what a CredKey credential's Data holds: the public half only.
type keyData struct {
	Algorithm string `json:"algorithm"`  // RSA_2048 or RSA_4096
	PublicKey string `json:"public_key"` // SubjectPublicKeyInfo PEM
}

func decodeKeyData(b []byte) (*keyData, error) {
	kd := &keyData{}
	if err := json.Unmarshal(b, kd); err != nil {
		return nil, fmt.Errorf("key data: %w", err)
	}
	return kd, nil
}
