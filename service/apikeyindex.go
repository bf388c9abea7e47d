package service

import (
	"context"
	"log/slog"
	"sync"
	"sync/atomic"
	"time"

	"warden"
	"warden/access"
	"warden/apikey"
)

// apiKeyIndex holds every API key of the database in memory, compiled for
// checking, so that an Api-Key request costs a map lookup, one SHA-256 and
// the restriction checks: no database read.
//
// Freshness: every credential write appends to the store's change feed in
// its own transaction; each refresh interval (200 ms by default) the index
// reads the feed from a little before its newest entry and reloads only the
// keys named there, so an edit, disable or delete through any wardend is
// enforced everywhere within about one interval. A write through this
// process is applied at once. A feed that could not be read for longer than
// it is kept (see feedGap) makes a full reload, as does start-up.
type apiKeyIndex struct {
	// followers are the other in-memory indexes of credentials (access
	// keys): each reloads the credentials the feed names, and everything
	// when the feed was unread too long.
	followers []credentialFollower
	store     warden.Store
	log       *slog.Logger
	products  *apikey.Catalog
	// node looks an account up in the access snapshot, so that the keys of
	// one account share its ID string.
	node func(id string) (access.Node, bool)

	mu   sync.RWMutex
	keys map[string]*apiKeyEntry
	// reloadMu orders reloads: each reads the store and installs what it
	// read before the next reads, so an older read never overwrites a
	// newer one (a write through this process racing the feed).
	reloadMu sync.Mutex

	// Feed position, touched only by the refresher (under feedMu).
	feedMu   sync.Mutex
	since    time.Time            // At of the newest feed entry read (database clock)
	seen     map[string]time.Time // feed entries already applied, within the overlap
	lastRead time.Time            // when the feed was last read successfully (this node's clock)

	// Entries used since the last flush, so that a flush costs the keys
	// used rather than every key held.
	pendingMu  sync.Mutex
	pending    []*apiKeyEntry
	flushEvery time.Duration
	stopped    atomic.Bool // the final flush ran: failures are not retried
}

// apiKeyEntry is one key: its policy, replaced whole on a change, and its
// last use not yet written to the store.
type apiKeyEntry struct {
	policy        apikey.Policy // by value: one allocation per key
	used, flushed atomic.Int64  // UnixNano
	queued        atomic.Bool   // in pending
}

func newAPIKeyEntry(p *apikey.Policy) *apiKeyEntry { return &apiKeyEntry{policy: *p} }

// carryUses takes over the uses of the entry e replaces (nil: none) that
// are not yet written.
func (e *apiKeyEntry) carryUses(old *apiKeyEntry) {
	if old != nil {
		e.used.Store(old.used.Load())
		e.flushed.Store(old.flushed.Load())
	}
}

const (
	// feedOverlap is how far behind its newest entry the feed is re-read:
	// entries are stamped when written, not when committed, so a
	// transaction must commit within it. They are stamped and read by the
	// database's clock: the nodes' clocks do not matter.
	feedOverlap = 10 * time.Second
	// feedGap is how long the feed may go unread before the index no
	// longer trusts it (entries are pruned after 10 minutes).
	feedGap = 5 * time.Minute
)

func newAPIKeyIndex(store warden.Store, log *slog.Logger, products *apikey.Catalog, node func(string) (access.Node, bool), refresh time.Duration) *apiKeyIndex {
	return &apiKeyIndex{
		store: store, log: log, products: products, node: node,
		keys: map[string]*apiKeyEntry{}, seen: map[string]time.Time{}, flushEvery: 25 * refresh,
	}
}

// credentialFollower is an index that follows the credential change feed.
type credentialFollower interface {
	reload(ctx context.Context, credIDs ...string) error
	loadAll(ctx context.Context) error
}

// get returns the entry of a key ID, or nil.
func (x *apiKeyIndex) get(id string) *apiKeyEntry {
	x.mu.RLock()
	e := x.keys[id]
	x.mu.RUnlock()
	return e
}

// Len returns the number of keys held.
func (x *apiKeyIndex) Len() int {
	x.mu.RLock()
	defer x.mu.RUnlock()
	return len(x.keys)
}

// loadAll replaces the index with every API key in the store. The feed is
// read from just before the load began, so a change committed during it is
// applied afterwards.
func (x *apiKeyIndex) loadAll(ctx context.Context) error {
	x.feedMu.Lock()
	defer x.feedMu.Unlock()
	var start time.Time // the database's clock, which stamps the feed
	keys := map[string]*apiKeyEntry{}
	err := x.store.View(ctx, func(tx warden.Tx) (err error) {
		if start, err = tx.Clock(ctx); err != nil {
			return err
		}
		return tx.EachCredential(ctx, warden.CredAPIKey, func(c *warden.Credential) error {
			if p := x.compile(c); p != nil {
				keys[c.ID] = newAPIKeyEntry(p)
			}
			return nil
		})
	})
	if err != nil {
		return err
	}
	x.mu.Lock()
	for id, e := range keys {
		e.carryUses(x.keys[id])
	}
	x.keys = keys
	x.mu.Unlock()
	x.since, x.lastRead = start.Add(-feedOverlap), time.Now()
	clear(x.seen)
	return nil
}

// compile turns a stored key into its policy; nil (and a log line) for one
// that cannot be read, which then authenticates nothing.
func (x *apiKeyIndex) compile(c *warden.Credential) *apikey.Policy {
	k, err := decodeAPIKey(c)
	if err == nil {
		spec := k.spec()
		x.products.Intern(spec.Products, spec.Scopes)
		if n, ok := x.node(spec.SubjectID); ok {
			spec.SubjectID = n.ID // shared by the account's keys
		}
		var p *apikey.Policy
		if p, err = apikey.Compile(spec); err == nil {
			return p
		}
	}
	x.log.Error("unreadable API key", "api_key_id", c.ID, "err", err)
	return nil
}

// refresh applies the feed entries written since the last read.
func (x *apiKeyIndex) refresh(ctx context.Context) error {
	x.feedMu.Lock()
	if time.Since(x.lastRead) > feedGap {
		x.feedMu.Unlock()
		x.log.Warn("credential change feed unread for too long: reloading every key")
		for _, f := range x.followers {
			if err := f.loadAll(ctx); err != nil {
				return err
			}
		}
		return x.loadAll(ctx)
	}
	defer x.feedMu.Unlock()
	var readAt time.Time // the database's clock, which stamps the feed
	var feed []warden.CredentialChange
	err := x.store.View(ctx, func(tx warden.Tx) (err error) {
		if readAt, err = tx.Clock(ctx); err != nil {
			return err
		}
		feed, err = tx.CredentialChanges(ctx, x.since.Add(-feedOverlap))
		return err
	})
	if err != nil {
		return err
	}
	var ids []string
	var fresh []warden.CredentialChange
	newest := x.since
	for _, ch := range feed {
		if _, done := x.seen[ch.ID]; done {
			continue
		}
		fresh = append(fresh, ch)
		ids = append(ids, ch.CredentialID)
		if ch.At.After(newest) {
			newest = ch.At
		}
	}
	if err := x.reload(ctx, ids...); err != nil {
		return err // nothing recorded: the next read applies the same entries
	}
	for _, f := range x.followers {
		if err := f.reload(ctx, ids...); err != nil {
			return err
		}
	}
	for _, ch := range fresh {
		x.seen[ch.ID] = ch.At
	}
	// The window follows the newest entry, but never past the clock at the
	// read: an entry stamped later was not committed when it began.
	if newest.After(readAt) {
		newest = readAt
	}
	x.since = newest
	for id, at := range x.seen {
		if at.Before(x.since.Add(-2 * feedOverlap)) {
			delete(x.seen, id)
		}
	}
	x.lastRead = time.Now()
	return nil
}

// reload re-reads keys from the store: a key that is gone (or is not an API
// key) leaves the index.
func (x *apiKeyIndex) reload(ctx context.Context, ids ...string) error {
	if len(ids) == 0 {
		return nil
	}
	x.reloadMu.Lock()
	defer x.reloadMu.Unlock()
	found := make(map[string]*apikey.Policy, len(ids))
	err := x.store.View(ctx, func(tx warden.Tx) error {
		for _, id := range ids {
			c, err := tx.GetCredential(ctx, id)
			if warden.IsCode(err, warden.NotFound) {
				continue
			}
			if err != nil {
				return err
			}
			if c.Kind == warden.CredAPIKey {
				found[id] = x.compile(c)
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
		p := found[id]
		old := x.keys[id]
		if p == nil {
			delete(x.keys, id)
			continue
		}
		e := newAPIKeyEntry(p)
		e.carryUses(old)
		x.keys[id] = e
	}
	return nil
}

// changed applies a write made through this process at once, without
// waiting for the feed; on failure the feed catches up.
func (x *apiKeyIndex) changed(ctx context.Context, id string) {
	if err := x.reload(ctx, id); err != nil {
		x.log.Warn("reload API key", "api_key_id", id, "err", err)
	}
}

// recordUse notes an accepted use; a flush writes it later. The first use
// of a key since the last flush queues it (and schedules a flush when none
// is), later ones cost an atomic store and load.
func (x *apiKeyIndex) recordUse(e *apiKeyEntry, now time.Time) {
	e.used.Store(now.UnixNano())
	if e.queued.Load() || !e.queued.CompareAndSwap(false, true) {
		return
	}
	x.pendingMu.Lock()
	x.pending = append(x.pending, e)
	first := len(x.pending) == 1
	x.pendingMu.Unlock()
	if first {
		time.AfterFunc(x.flushEvery, func() { x.flush(context.Background()) })
	}
}

// flush writes last_used_at of the keys used since the last flush in one
// transaction. Touches are not changes: no node reloads anything for them.
// Uses a failed flush could not write are queued again.
func (x *apiKeyIndex) flush(ctx context.Context) {
	x.pendingMu.Lock()
	batch := x.pending
	x.pending = nil
	x.pendingMu.Unlock()
	type use struct {
		e    *apiKeyEntry
		used int64
	}
	var uses []use
	for _, e := range batch {
		e.queued.Store(false) // a use from here on queues the entry again
		if u := e.used.Load(); u > e.flushed.Load() {
			uses = append(uses, use{e, u})
		}
	}
	if len(uses) == 0 {
		return
	}
	ctx, cancel := context.WithTimeout(ctx, 30*time.Second)
	defer cancel()
	err := x.store.Update(ctx, func(tx warden.Tx) error {
		for _, u := range uses {
			if err := tx.TouchCredential(ctx, u.e.policy.KeyID, time.Unix(0, u.used).UTC()); err != nil {
				return err
			}
		}
		return nil
	})
	if err != nil {
		x.log.Warn("write API key usage", "keys", len(uses), "err", err)
		if x.stopped.Load() {
			return
		}
		for _, u := range uses {
			x.recordUse(u.e, time.Unix(0, max(u.used, u.e.used.Load())))
		}
		return
	}
	for _, u := range uses {
		u.e.flushed.Store(u.used)
	}
}
