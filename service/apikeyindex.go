package service

import (
	"context"
	"log/slog"
	"maps"
	"runtime"
	"runtime/debug"
	"slices"
	"sync"
	"sync/atomic"
	"time"

	"warden"
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

	// mu guards keys and uses: lookups and checks share it, changes hold
	// it alone. keys holds no pointers per key (see apikey.Table), so a
	// million keys cost the garbage collector nothing to mark.
	mu   sync.RWMutex
	keys *apikey.Table
	uses []keyUse // by row of keys
	gen  uint64   // the last generation given to a row
	// loading is set until a full load has succeeded: keys not (yet) held
	// are then read from the store (checkStored), so a node serves API
	// keys from its start, however many there are to load.
	loading atomic.Bool
	early   map[string]int64 // accepted uses of stored keys while loading (under pendingMu)
	// stopLoad cancels the start-up load and waits for it (Service.Close).
	stopLoad func()
	// batchKeys is the size of the batches a full load merges as it goes
	// (see loadKeys).
	batchKeys int
	// reloadMu orders reloads: each reads the store and installs what it
	// read before the next reads, so an older read never overwrites a
	// newer one (a write through this process racing the feed).
	reloadMu sync.Mutex
	// reloadedDuringLoad holds the keys reloaded while a full load runs
	// (nil otherwise, under reloadMu): the load may have read them before
	// the change, so they are reloaded again once its table is installed.
	reloadedDuringLoad map[string]struct{}

	// Feed position, touched only by the refresher (under feedMu).
	feedMu   sync.Mutex
	since    time.Time            // At of the newest feed entry read (database clock)
	seen     map[string]time.Time // feed entries already applied, within the overlap
	lastRead time.Time            // when the feed was last read successfully (this node's clock)

	// Rows used since the last flush, so that a flush costs the keys used
	// rather than every key held.
	pendingMu  sync.Mutex
	pending    []pendingUse
	flushEvery time.Duration
	stopped    atomic.Bool // the final flush ran: failures are not retried
}

// keyUse is the last use of a key not yet written to the store. gen tells
// the keys that held a row apart (written under mu held alone).
type keyUse struct {
	used, flushed atomic.Int64 // UnixNano
	queued        atomic.Bool  // in pending
	gen           uint64
}

// pendingUse is a row queued for the next flush, as long as it holds the
// same key (gen).
type pendingUse struct {
	row uint32
	gen uint64
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

func newAPIKeyIndex(store warden.Store, log *slog.Logger, refresh time.Duration) *apiKeyIndex {
	x := &apiKeyIndex{
		store: store, log: log, keys: apikey.NewTable(0),
		seen: map[string]time.Time{}, flushEvery: 25 * refresh, early: map[string]int64{}, batchKeys: 1 << 14,
	}
	x.loading.Store(true)
	return x
}

// loadInBackground loads every key while the node serves; until it is
// done, keys are checked from the store. A failed load is retried by the
// refresher (the feed counts as unread).
func (x *apiKeyIndex) loadInBackground(ctx context.Context) {
	ctx, cancel := context.WithCancel(context.WithoutCancel(ctx))
	done := make(chan struct{})
	x.stopLoad = func() { cancel(); <-done }
	go func() {
		defer close(done)
		start := time.Now()
		if err := x.loadAll(ctx); err != nil {
			if ctx.Err() == nil {
				x.log.Error("load API keys; checking them from the database until a reload succeeds", "err", err)
			}
			return
		}
		// The rows read and decoded are garbage now, as large as the
		// store's keys: the memory goes back to the system at once rather
		// than over minutes.
		debug.FreeOSMemory()
		x.log.Info("API keys loaded", "keys", x.Len(), "duration_ms", time.Since(start).Milliseconds())
	}()
}

// credentialFollower is an index that follows the credential change feed.
type credentialFollower interface {
	reload(ctx context.Context, credIDs ...string) error
	loadAll(ctx context.Context) error
}

// Len returns the number of keys held.
func (x *apiKeyIndex) Len() int {
	x.mu.RLock()
	defer x.mu.RUnlock()
	return x.keys.Len()
}

// put installs a compiled key (under mu held alone), keeping the use of
// the key it replaces.
func (x *apiKeyIndex) put(spec apikey.Spec) error {
	_, had := x.keys.Lookup(spec.KeyID)
	row, err := x.keys.Put(spec)
	if err != nil {
		return err
	}
	if int(row) == len(x.uses) {
		x.uses = append(x.uses, keyUse{})
	}
	if !had {
		x.gen++
		x.uses[row].gen = x.gen
	}
	return nil
}

// remove deletes a key (under mu held alone); a use not yet written is
// dropped with it.
func (x *apiKeyIndex) remove(id string) {
	if row, ok := x.keys.Delete(id); ok {
		u := &x.uses[row]
		u.used.Store(0)
		u.flushed.Store(0)
		u.queued.Store(false)
		u.gen = 0
	}
}

// Close stops the work the service started outside Run (the load of API
// keys begun by Start) and waits for it, so that the store can be closed.
func (s *Service) Close() {
	if s.apiKeys.stopLoad != nil {
		s.apiKeys.stopLoad()
	}
}

// loadAll replaces the index with every API key in the store. The feed is
// read from just before the load began, so a change committed during it is
// applied afterwards.
func (x *apiKeyIndex) loadAll(ctx context.Context) error {
	x.feedMu.Lock()
	defer x.feedMu.Unlock()
	x.reloadMu.Lock()
	x.reloadedDuringLoad = map[string]struct{}{}
	x.reloadMu.Unlock()
	var start time.Time // the database's clock, which stamps the feed
	var stored int
	err := x.store.View(ctx, func(tx warden.Tx) (err error) {
		if start, err = tx.Clock(ctx); err != nil {
			return err
		}
		stored, err = tx.CountCredentials(ctx, warden.CredAPIKey)
		return err
	})
	var keys *apikey.Table
	if err == nil {
		keys, err = x.loadKeys(ctx, stored)
	}
	if err != nil {
		x.takeReloaded() // the old table stays, and holds them
		return err
	}
	fresh := &apiKeyIndex{keys: keys, uses: make([]keyUse, keys.Rows())}
	x.mu.Lock()
	x.pendingMu.Lock()
	// Uses not yet written move to the new rows and are queued again.
	var queue []pendingUse
	carry := func(id string, used, flushed int64) {
		if row, ok := fresh.keys.Lookup(id); ok {
			u := &fresh.uses[row]
			u.used.Store(max(used, u.used.Load()))
			u.flushed.Store(flushed)
			if !u.queued.Swap(true) {
				queue = append(queue, pendingUse{row, u.gen})
			}
		}
	}
	for row := range fresh.uses {
		x.gen++
		fresh.uses[row].gen = x.gen
	}
	for row := range x.uses {
		old := &x.uses[row]
		if old.gen == 0 || old.used.Load() <= old.flushed.Load() {
			continue
		}
		carry(x.keys.KeyID(uint32(row)), old.used.Load(), old.flushed.Load())
	}
	for id, used := range x.early {
		carry(id, used, 0)
	}
	clear(x.early)
	x.keys, x.uses = fresh.keys, fresh.uses
	x.pending = queue // rows of the old table are no longer flushed
	x.loading.Store(false)
	x.pendingMu.Unlock()
	x.mu.Unlock()
	if len(queue) > 0 {
		time.AfterFunc(x.flushEvery, func() { x.flush(context.Background()) })
	}
	x.since, x.lastRead = start.Add(-feedOverlap), time.Now()
	clear(x.seen)
	// A change made through this process during the load was enforced
	// when its call returned (reload), in the old table; the new one may
	// have been read before it, so it is read again. (A reload from here
	// on puts into the new table.)
	x.changed(ctx, x.takeReloaded()...)
	return nil
}

// takeReloaded returns the keys reloaded since a full load began and
// stops recording them.
func (x *apiKeyIndex) takeReloaded() []string {
	x.reloadMu.Lock()
	defer x.reloadMu.Unlock()
	ids := slices.Collect(maps.Keys(x.reloadedDuringLoad))
	x.reloadedDuringLoad = nil
	return ids
}

// loadKeys reads every API key of the store into a new table. The store
// reads its parts concurrently (one per CPU); each part's keys are decoded
// (specDecoder) and compiled into batches on the goroutine that reads
// them (each going on from the one before, so that an account is interned
// once per part), and another goroutine merges the full batches into the
// table as they come: a load holds no decoded key, a key costs one lookup
// in the table's map, and the merge does not wait for the end of the scan.
// The table is sized for sizeHint keys (those stored when the load began),
// so that it does not grow during the load.
func (x *apiKeyIndex) loadKeys(ctx context.Context, sizeHint int) (*apikey.Table, error) {
	parts, batchKeys := runtime.GOMAXPROCS(0), x.batchKeys
	full := make(chan *apikey.Batch, 2*parts)
	merged := make(chan *apikey.Table)
	go func() {
		keys := apikey.NewTable(sizeHint)
		for b := range full {
			keys.Merge(b)
		}
		merged <- keys
	}()
	batches := make([]*apikey.Batch, parts)
	decoders := make([]*specDecoder, parts)
	for i := range parts {
		batches[i], decoders[i] = apikey.NewBatch(batchKeys), newSpecDecoder()
	}
	err := x.store.ScanCredentials(ctx, warden.CredAPIKey, parts, func(part int, c *warden.Credential) error {
		spec, err := decoders[part].decode(c)
		if err == nil {
			err = batches[part].Add(*spec)
		}
		if err != nil {
			x.log.Error("unreadable API key", "api_key_id", c.ID, "err", err)
		}
		if b := batches[part]; b.Len() == batchKeys {
			batches[part] = b.Next(batchKeys)
			full <- b
		}
		return nil
	})
	for _, b := range batches {
		full <- b
	}
	close(full)
	keys := <-merged
	if err != nil {
		return nil, err
	}
	return keys, nil
}

// spec decodes a stored key; false (and a log line) for one that cannot be
// read, which then authenticates nothing.
func (x *apiKeyIndex) spec(c *warden.Credential) (apikey.Spec, bool) {
	k, err := decodeAPIKey(c)
	if err != nil {
		x.log.Error("unreadable API key", "api_key_id", c.ID, "err", err)
		return apikey.Spec{}, false
	}
	return k.spec(), true
}

// refresh applies the feed entries written since the last read.
func (x *apiKeyIndex) refresh(ctx context.Context) error {
	if !x.feedMu.TryLock() {
		return nil // a full load is under way: the feed is read after it
	}
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
	if x.reloadedDuringLoad != nil {
		for _, id := range ids {
			x.reloadedDuringLoad[id] = struct{}{}
		}
	}
	found := make(map[string]apikey.Spec, len(ids))
	err := x.store.View(ctx, func(tx warden.Tx) error {
		for _, id := range ids {
			c, err := tx.GetCredential(ctx, id)
			if warden.IsCode(err, warden.NotFound) {
				continue
			}
			if err != nil {
				return err
			}
			if c.Kind != warden.CredAPIKey {
				continue
			}
			if spec, ok := x.spec(c); ok {
				found[id] = spec
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
		spec, ok := found[id]
		if !ok {
			x.remove(id)
			continue
		}
		if err := x.put(spec); err != nil {
			x.log.Error("unreadable API key", "api_key_id", id, "err", err)
			x.remove(id)
		}
	}
	return nil
}

// changed applies a write made through this process at once, without
// waiting for the feed; on failure the feed catches up.
func (x *apiKeyIndex) changed(ctx context.Context, ids ...string) {
	if err := x.reload(ctx, ids...); err != nil {
		x.log.Warn("reload API keys", "api_key_ids", ids, "err", err)
	}
}

// checkStored checks a key the index does not hold (yet) from the store,
// while a full load is under way; found is false for a key the store does
// not hold either, or when it cannot be read.
func (x *apiKeyIndex) checkStored(id string, r *apikey.Request) (string, apikey.Refusal, bool) {
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	var c *warden.Credential
	err := x.store.View(ctx, func(tx warden.Tx) (err error) {
		c, err = tx.GetCredential(ctx, id)
		return err
	})
	if err != nil {
		if !warden.IsCode(err, warden.NotFound) {
			x.log.Warn("read API key while loading", "api_key_id", id, "err", err)
		}
		return "", 0, false
	}
	if c.Kind != warden.CredAPIKey {
		return "", 0, false
	}
	spec, ok := x.spec(c)
	if !ok {
		return "", 0, false
	}
	p, err := apikey.Compile(spec)
	if err != nil {
		return "", 0, false
	}
	refusal := p.Check(r)
	if refusal == apikey.Accepted {
		x.pendingMu.Lock()
		if x.loading.Load() {
			x.early[c.ID] = r.Now.UnixNano()
			x.pendingMu.Unlock()
		} else { // the load has just finished
			x.pendingMu.Unlock()
			x.mu.RLock()
			if row, ok := x.keys.Lookup(id); ok {
				x.recordUse(row, r.Now)
			}
			x.mu.RUnlock()
		}
	}
	return p.SubjectID, refusal, true
}

// recordUse notes an accepted use of a row (under mu, shared); a flush
// writes it later. The first use of a key since the last flush queues it
// (and schedules a flush when none is), later ones cost an atomic store
// and load.
func (x *apiKeyIndex) recordUse(row uint32, now time.Time) {
	u := &x.uses[row]
	u.used.Store(now.UnixNano())
	if u.queued.Load() || !u.queued.CompareAndSwap(false, true) {
		return
	}
	x.pendingMu.Lock()
	x.pending = append(x.pending, pendingUse{row, u.gen})
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
		pendingUse
		id   string
		used int64
	}
	var uses []use
	x.mu.RLock()
	for _, p := range batch {
		u := &x.uses[p.row]
		if u.gen != p.gen {
			continue // the key left (or the index was reloaded)
		}
		u.queued.Store(false) // a use from here on queues the row again
		if used := u.used.Load(); used > u.flushed.Load() {
			uses = append(uses, use{p, x.keys.KeyID(p.row), used})
		}
	}
	x.mu.RUnlock()
	if len(uses) == 0 {
		return
	}
	ctx, cancel := context.WithTimeout(ctx, 30*time.Second)
	defer cancel()
	err := x.store.Update(ctx, func(tx warden.Tx) error {
		for _, u := range uses {
			if err := tx.TouchCredential(ctx, u.id, time.Unix(0, u.used).UTC()); err != nil {
				return err
			}
		}
		return nil
	})
	if err != nil {
		x.log.Warn("write API key usage", "keys", len(uses), "err", err)
	}
	x.mu.RLock()
	defer x.mu.RUnlock()
	for _, u := range uses {
		if int(u.row) >= len(x.uses) || x.uses[u.row].gen != u.gen {
			continue
		}
		k := &x.uses[u.row]
		if err == nil {
			k.flushed.Store(u.used)
		} else if !x.stopped.Load() {
			x.recordUse(u.row, time.Unix(0, max(u.used, k.used.Load())))
		}
	}
}
