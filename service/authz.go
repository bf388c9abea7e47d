package service

import (
	"context"
	"maps"
	"slices"
	"sync"
	"sync/atomic"
	"time"

	"warden"
	"warden/access"
)

// authz keeps the in-memory access snapshot current. It is built whole at
// start; after that, a write through this process applies its own change
// before the call returns, and every process applies the changes that the
// resource change feed names (any commit, on any wardend) within a refresh
// interval. It is rebuilt whole only when the feed cannot be trusted: unread
// for longer than entries are kept, or naming a change it cannot apply.
//
// What a change names is read from the store without the lock held, so
// that writers do not queue behind each other's reads. Reads are ordered
// by generation, taken when a read begins: a read that began later sees
// every commit an earlier one saw, so a state is applied only when no
// state of the same record from a later read has been applied already.
type authz struct {
	store   warden.Store
	catalog *access.Catalog
	snap    atomic.Pointer[access.Snapshot]
	mu      sync.Mutex // guards what follows, and every change of snap
	gen     uint64     // the last generation handed out
	// touched is, per record ("r/", "b/" or "m/" and a resource ID), the
	// generation of the state applied last; entries older than every read
	// in flight (reading) decide nothing and are dropped.
	touched map[string]uint64
	reading map[uint64]int
	floor   uint64 // the generation of the last rebuild: older reads are stale
	// since is the At of the newest feed entry applied (database clock);
	// seen holds the entries applied in the window re-read behind it.
	since time.Time
	seen  *feedSeen
	// own are the feed entries of creates through this process, applied
	// before the create returned (by the local clock, to forget one the
	// feed was read past before it was noted here): the feed's read only
	// notes them as seen, without reading their state again.
	own      map[string]time.Time
	lastRead time.Time
	rebuilds int        // full loads, for tests: the feed should make them rare
	pollMu   sync.Mutex // one feed read at a time
	polls    int        // feed reads, under pollMu
	kick     chan struct{}

	// lists holds the service accounts of each folder for lists, kept
	// with snap (see listed).
	lists *listed

	// pending are the creates through this process waiting to be applied
	// (see created).
	pendingMu sync.Mutex
	pending   []*pendingCreate
}

func newAuthz(store warden.Store, c *access.Catalog) *authz {
	a := &authz{store: store, catalog: c, kick: make(chan struct{}, 1), seen: newFeedSeen(), own: map[string]time.Time{},
		touched: map[string]uint64{}, reading: map[uint64]int{}, lists: newListed(warden.TypeServiceAccount)}
	a.snap.Store(access.NewSnapshot(c, nil, nil))
	return a
}

// reload rebuilds the snapshot from the store.
func (a *authz) reload(ctx context.Context) error {
	a.mu.Lock()
	defer a.mu.Unlock()
	return a.reloadLocked(ctx)
}

// reloadLocked reads everything with the lock held: rebuilds are rare, and
// no state read before one may be applied after it (floor).
func (a *authz) reloadLocked(ctx context.Context) error {
	a.gen++
	g := a.gen
	var start time.Time // the database's clock, which stamps the feed
	var resources []*warden.Resource
	var bindings map[string][]warden.AccessBinding
	var groups map[string][]warden.GroupMember
	err := a.store.View(ctx, func(tx warden.Tx) (err error) {
		// The clock is read first: the feed is then read from before the
		// load, so a commit racing it is applied afterwards.
		if start, err = tx.Clock(ctx); err != nil {
			return err
		}
		if resources, err = tx.AllResources(ctx); err != nil {
			return err
		}
		if bindings, err = tx.AllAccessBindings(ctx); err != nil {
			return err
		}
		groups, err = tx.AllGroupMembers(ctx)
		return err
	})
	if err != nil {
		return err
	}
	nodes := make([]access.Node, 0, len(resources))
	for _, r := range resources {
		nodes = append(nodes, nodeOf(r))
	}
	var bs []access.Binding
	for id, list := range bindings {
		for _, b := range list {
			bs = append(bs, access.Binding{ResourceID: id, AccessBinding: b})
		}
	}
	var ms []access.Membership
	for g, members := range groups {
		for _, m := range members {
			ms = append(ms, access.Membership{GroupID: g, SubjectID: m.SubjectID})
		}
	}
	a.snap.Store(access.NewSnapshot(a.catalog, nodes, bs, ms...))
	a.lists.reset(resources)
	a.rebuilds++
	a.floor = g
	clear(a.touched)
	a.since, a.lastRead = start.Add(-feedOverlap), time.Now()
	a.seen.clear()
	return nil
}

const (
	// shortOverlap is how far behind its newest entry the resource feed
	// is usually re-read: an entry is stamped within its transaction, a
	// few statements before the commit, so it is usually committed that
	// soon after its stamp.
	shortOverlap = 2 * time.Second
	// wideEvery is how often (in reads) the feed is re-read feedOverlap
	// back, for a transaction that took longer between its stamp and its
	// commit: at the default interval, every 5 s.
	wideEvery = 25
	// settle is how far behind the database's clock the feed's position
	// stays: a busy feed always has transactions between their stamp and
	// their commit, and one that commits within settle is read by the next
	// read from the position on. Only a slower one leaves an entry behind
	// the position, which costs the next read the whole window.
	settle = 100 * time.Millisecond
)

// begin hands out the generation of a read about to start.
func (a *authz) begin() uint64 {
	a.mu.Lock()
	defer a.mu.Unlock()
	a.gen++
	a.reading[a.gen]++
	return a.gen
}

// endLocked notes that the read of generation g is over.
func (a *authz) endLocked(g uint64) {
	if a.reading[g]--; a.reading[g] <= 0 {
		delete(a.reading, g)
	}
	if len(a.touched) < 1024 {
		return
	}
	oldest := a.gen + 1
	for r := range a.reading {
		oldest = min(oldest, r)
	}
	for k, t := range a.touched {
		if t < oldest {
			delete(a.touched, k)
		}
	}
}

// fresher reports whether the state of record key read at generation g
// is newer than what was applied of it, and if so notes it as applied.
func (a *authz) fresher(key string, g uint64) bool {
	if g < a.floor || a.touched[key] >= g {
		return false
	}
	a.touched[key] = g
	return true
}

// poll applies the feed entries written since the last read.
func (a *authz) poll(ctx context.Context) error {
	a.pollMu.Lock()
	defer a.pollMu.Unlock()
	a.mu.Lock()
	if time.Since(a.lastRead) > feedGap {
		defer a.mu.Unlock()
		return a.reloadLocked(ctx)
	}
	since, floor := a.since, a.floor
	a.mu.Unlock()
	// Most reads look back shortOverlap, every wideEvery-th the whole
	// feedOverlap: re-reading ten seconds of a busy feed five times a
	// second costs more than the changes it finds.
	overlap := shortOverlap
	if a.polls%wideEvery == 0 {
		overlap = feedOverlap
	}
	a.polls++
	// The window behind since is read only when it holds an entry not
	// seen yet: counting its entries costs the database an index range,
	// reading them costs a row each, and a busy feed has thousands there.
	from := since.Add(-overlap)
	a.mu.Lock()
	seenBehind := a.seen.count(from, since)
	a.mu.Unlock()
	var readAt time.Time // the database's clock, which stamps the feed
	var feed []warden.ResourceChange
	err := a.store.View(ctx, func(tx warden.Tx) (err error) {
		if readAt, err = tx.Clock(ctx); err != nil {
			return err
		}
		// A commit into the window after the count is not missed: the
		// next poll counts it.
		behind, err := tx.CountResourceChanges(ctx, from, since)
		if err != nil {
			return err
		}
		if behind == seenBehind {
			from = since
		}
		feed, err = tx.ResourceChanges(ctx, from)
		return err
	})
	if err != nil {
		return err
	}
	var fresh, mine []warden.ResourceChange
	newest := since
	a.mu.Lock()
	for _, ch := range feed {
		if a.seen.has(ch.ID) {
			continue
		}
		if _, ok := a.own[ch.ID]; ok {
			mine = append(mine, ch)
		} else {
			fresh = append(fresh, ch)
		}
		if ch.At.After(newest) {
			newest = ch.At
		}
	}
	a.mu.Unlock()
	// Every state read below began after the feed was read: a later read
	// of the same record that is applied first covers these entries too.
	if err := a.apply(ctx, fresh...); err != nil {
		return err // nothing recorded: the next read applies the same entries
	}
	a.mu.Lock()
	defer a.mu.Unlock()
	if a.floor != floor {
		return nil // rebuilt meanwhile, the feed position with it
	}
	for _, ch := range fresh {
		a.seen.add(ch.ID, ch.At)
	}
	for _, ch := range mine {
		a.seen.add(ch.ID, ch.At)
		delete(a.own, ch.ID)
	}
	// The window follows the newest entry, but never past the clock at the
	// read less settle: an entry stamped later may not have been committed
	// when the read began, and the next read starts before it.
	if settled := readAt.Add(-settle); newest.After(settled) {
		newest = settled
	}
	a.since = newest
	a.seen.forgetBefore(a.since.Add(-2 * feedOverlap))
	a.lastRead = time.Now()
	for id, at := range a.own {
		if a.lastRead.Sub(at) > 2*feedOverlap {
			delete(a.own, id)
		}
	}
	return nil
}

// apply reads the current state of what changes name (the state, not the
// change: a state read after a change committed includes it) and edits the
// snapshot to match. A change it cannot apply — a kind it does not know, a
// resource under a parent it has not seen — is answered by a rebuild.
func (a *authz) apply(ctx context.Context, changes ...warden.ResourceChange) error {
	if len(changes) == 0 {
		return nil
	}
	var resourceIDs, bindingIDs, groupIDs []string
	for _, ch := range changes {
		switch ch.Kind {
		case warden.ResourceChanged:
			resourceIDs = append(resourceIDs, ch.ResourceID)
		case warden.BindingsChanged:
			bindingIDs = append(bindingIDs, ch.ResourceID)
		case warden.MembersChanged:
			groupIDs = append(groupIDs, ch.ResourceID)
		default:
			return a.reload(ctx)
		}
	}
	resourceIDs, bindingIDs, groupIDs = uniq(resourceIDs), uniq(bindingIDs), uniq(groupIDs)
	g := a.begin()
	found := map[string]*warden.Resource{}
	bindings := make(map[string][]warden.AccessBinding, len(bindingIDs))
	members := make(map[string][]string, len(groupIDs))
	err := a.store.View(ctx, func(tx warden.Tx) error {
		for _, id := range groupIDs {
			ms, err := allMembers(ctx, tx, id)
			if err != nil {
				return err
			}
			members[id] = ms
		}
		for _, id := range resourceIDs {
			r, err := tx.GetResource(ctx, id)
			if warden.IsCode(err, warden.NotFound) {
				continue
			}
			if err != nil {
				return err
			}
			found[id] = r
		}
		for _, id := range bindingIDs {
			bs, err := tx.AccessBindings(ctx, id)
			if err != nil {
				return err
			}
			bindings[id] = bs
		}
		return nil
	})
	a.mu.Lock()
	defer a.mu.Unlock()
	defer a.endLocked(g)
	if err != nil {
		return err
	}
	e := a.snap.Load().Edit()
	// Parents first: a batch may hold a folder and the accounts created
	// in it. Each pass places what it can; none placed, none will be.
	var pending []string
	for _, id := range resourceIDs {
		if a.fresher("r/"+id, g) {
			pending = append(pending, id)
		}
	}
	for len(pending) > 0 {
		var later []string
		for _, id := range pending {
			r, ok := found[id]
			if !ok {
				a.removeLocked(e, g, id)
			} else if !e.PutNode(nodeOf(r)) {
				later = append(later, id)
			} else {
				a.lists.put(r)
			}
		}
		if len(later) == len(pending) {
			return a.reloadLocked(ctx)
		}
		pending = later
	}
	for _, id := range bindingIDs {
		if a.fresher("b/"+id, g) {
			e.SetBindings(id, bindings[id])
		}
	}
	for _, id := range groupIDs {
		if a.fresher("m/"+id, g) {
			e.SetMembers(id, members[id])
		}
	}
	a.snap.Store(e.Snapshot())
	return nil
}

// allMembers reads the IDs of every direct member of a group.
func allMembers(ctx context.Context, tx warden.Tx, groupID string) ([]string, error) {
	var out []string
	for tok := ""; ; {
		page, next, err := tx.GroupMembers(ctx, groupID, warden.Page{Size: 1000, Token: tok})
		if err != nil {
			return nil, err
		}
		for _, m := range page {
			out = append(out, m.SubjectID)
		}
		if next == "" {
			return out, nil
		}
		tok = next
	}
}

// removeLocked removes a resource in e, noting the bindings elsewhere that
// went with it (those naming it) and the memberships (its own, as a group
// or a member) as applied at generation g.
func (a *authz) removeLocked(e *access.Edit, g uint64, id string) {
	a.lists.remove(id)
	rebound, regrouped := e.RemoveNode(id)
	for _, other := range rebound {
		a.touched["b/"+other] = max(a.touched["b/"+other], g)
	}
	for _, group := range regrouped {
		a.touched["m/"+group] = max(a.touched["m/"+group], g)
	}
	a.touched["b/"+id] = max(a.touched["b/"+id], g)
	a.touched["m/"+id] = max(a.touched["m/"+id], g)
}

// created applies a resource created through this process. A create needs
// no read: its state is what was committed, and no one else knew of it.
//
// Creates that commit together (a group commit) arrive together: the first
// to hold the lock applies every create waiting, in one edit of the
// snapshot, and the others find theirs applied when they get the lock.
// Each still returns only once its own create is in the snapshot.
func (a *authz) created(ctx context.Context, r *warden.Resource) error {
	// The caller keeps r: the lists get a copy no one changes.
	kept := *r
	kept.Labels, kept.Attrs = maps.Clone(r.Labels), maps.Clone(r.Attrs)
	c := &pendingCreate{r: &kept}
	a.pendingMu.Lock()
	a.pending = append(a.pending, c)
	a.pendingMu.Unlock()
	a.mu.Lock()
	defer a.mu.Unlock()
	if !c.applied {
		a.applyCreatedLocked(ctx)
	}
	return c.err
}

// pendingCreate is a create waiting to be applied, and then its outcome.
type pendingCreate struct {
	r       *warden.Resource
	applied bool // under mu
	err     error
}

// applyCreatedLocked applies every create waiting.
func (a *authz) applyCreatedLocked(ctx context.Context) {
	a.pendingMu.Lock()
	batch := a.pending
	a.pending = nil
	a.pendingMu.Unlock()
	var err error
	e := a.snap.Load().Edit()
	for _, c := range batch {
		a.gen++
		a.touched["r/"+c.r.ID] = a.gen // reads begun before this saw no newer state
	}
	// Parents first, as in apply: a folder and an account created in it
	// may wait in either order.
	for todo := batch; len(todo) > 0; {
		var later []*pendingCreate
		for _, c := range todo {
			if !e.PutNode(nodeOf(c.r)) {
				later = append(later, c)
			}
		}
		if len(later) == len(todo) {
			err = a.reloadLocked(ctx) // it reads every create of the batch
			break
		}
		todo = later
	}
	if err == nil {
		a.snap.Store(e.Snapshot())
	}
	for _, c := range batch {
		c.applied, c.err = true, err
		if err != nil {
			continue
		}
		a.lists.put(c.r)
		if !a.seen.has(c.r.ID) { // the feed names a create by its resource's ID
			a.own[c.r.ID] = time.Now()
		}
	}
}

// removed applies a resource deleted through this process: gone is final,
// so a read begun before the delete committed must not bring it back.
func (a *authz) removed(id string) {
	a.mu.Lock()
	defer a.mu.Unlock()
	a.gen++
	a.touched["r/"+id] = a.gen
	e := a.snap.Load().Edit()
	a.removeLocked(e, a.gen, id)
	a.snap.Store(e.Snapshot())
}

func uniq(ids []string) []string {
	slices.Sort(ids)
	return slices.Compact(ids)
}

// changed asks for the feed to be read soon, without waiting for it.
func (a *authz) changed() {
	select {
	case a.kick <- struct{}{}:
	default:
	}
}

// errDenied is the answer to every failed permission check: it says which
// permission was missing, never whether the resource exists.
func errDenied(permission, resourceID string) error {
	return warden.Errorf(warden.PermissionDenied, "permission denied: the caller lacks %s on %s", permission, resourceID)
}

// authorize checks that the subject of ctx holds permission on resourceID
// (or an ancestor). Only a resource the snapshot does not know yet costs
// store reads: one created a moment ago on another node, or a missing one.
func (s *Service) authorize(ctx context.Context, permission, resourceID string) error {
	return s.authorizeAs(ctx, SubjectFrom(ctx), permission, resourceID)
}

// authorizeAs is authorize for a subject given apart from ctx.
// A principal confined to a scope (a Keystone token's) is allowed only on
// the scope and its descendants, whatever it holds elsewhere.
func (s *Service) authorizeAs(ctx context.Context, sub Subject, permission, resourceID string) error {
	snap := s.authz.snap.Load()
	if !permits(snap, sub, permission, resourceID) {
		return errDenied(permission, resourceID)
	}
	if snap.Allowed(sub.ID, sub.ID != "", permission, resourceID) && (sub.Scope == "" || snap.Within(resourceID, sub.Scope)) {
		return nil
	}
	if _, known := snap.Node(resourceID); known {
		return errDenied(permission, resourceID)
	}
	parent, err := s.knownAncestor(ctx, snap, resourceID)
	if warden.IsCode(err, warden.NotFound) {
		// Only a subject that could see it anywhere may learn it is
		// missing; a confined one cannot see every root.
		if sub.Scope == "" && sub.Policy == nil && snap.AllowedOnAnyRoot(sub.ID, sub.ID != "", permission) {
			return nil // the handler answers NotFound
		}
		return errDenied(permission, resourceID)
	}
	if err != nil {
		return err
	}
	s.authz.changed()
	if parent != "" && snap.Allowed(sub.ID, sub.ID != "", permission, parent) && (sub.Scope == "" || snap.Within(parent, sub.Scope)) {
		return nil
	}
	return errDenied(permission, resourceID)
}

// knownAncestor walks the stored ancestry of a resource the snapshot does
// not know up to the first ancestor it does; NotFound when the resource
// does not exist.
func (s *Service) knownAncestor(ctx context.Context, snap *access.Snapshot, id string) (string, error) {
	var found string
	err := s.store.View(ctx, func(tx warden.Tx) error {
		for depth := 0; id != "" && depth < 8; depth++ {
			if _, ok := snap.Node(id); ok {
				found = id
				return nil
			}
			r, err := tx.GetResource(ctx, id)
			if err != nil {
				if depth > 0 && warden.IsCode(err, warden.NotFound) {
					return nil // an ancestor vanished: nothing grants
				}
				return err
			}
			id = r.ParentID
		}
		return nil
	})
	return found, err
}

// knownResource reports whether the snapshot knows a resource.
func (s *Service) knownResource(id string) bool {
	_, ok := s.authz.snap.Load().Node(id)
	return ok
}

// allowed is authorize as a boolean, for filtering lists.
func (s *Service) allowed(ctx context.Context, permission, resourceID string) bool {
	sub := SubjectFrom(ctx)
	snap := s.authz.snap.Load()
	return permits(snap, sub, permission, resourceID) &&
		snap.Allowed(sub.ID, sub.ID != "", permission, resourceID) && (sub.Scope == "" || snap.Within(resourceID, sub.Scope))
}

// permits applies a credential's policy (an ephemeral access key's), which
// only ever narrows what the bindings allow. A resource the snapshot does
// not know yet is within a policy's resource only through a known ancestor,
// so such a check is denied until the snapshot learns of it.
func permits(snap *access.Snapshot, sub Subject, permission, resourceID string) bool {
	if sub.Policy == nil {
		return true
	}
	return sub.Policy.Allows(permission, func(r string) bool { return snap.Within(resourceID, r) })
}

// nodeOf is what the snapshot keeps of a resource.
func nodeOf(r *warden.Resource) access.Node {
	return access.Node{ID: r.ID, Type: r.Type, ParentID: r.ParentID, Name: r.Name, Status: r.Status, ExpiresAt: attrTime(r, attrExpiresAt)}
}

// subjectActive reports whether an account may still act: it exists, is not
// suspended and has not expired. Known accounts are answered from the
// snapshot; one created since the last reload is looked up.
func (s *Service) subjectActive(ctx context.Context, id string) bool {
	if n, ok := s.authz.snap.Load().Node(id); ok {
		return n.ActiveAt(s.now())
	}
	var r *warden.Resource
	err := s.store.View(ctx, func(tx warden.Tx) (err error) {
		r, err = tx.GetResource(ctx, id)
		return err
	})
	if err != nil {
		return false
	}
	s.authz.changed()
	return nodeOf(r).ActiveAt(s.now())
}

// runAuthz reads the resource change feed every interval and on a kick.
func (s *Service) runAuthz(ctx context.Context) {
	tick := time.NewTicker(s.refresh)
	defer tick.Stop()
	prune := time.NewTicker(time.Minute)
	defer prune.Stop()
	for {
		var err error
		select {
		case <-ctx.Done():
			return
		case <-tick.C:
			err = s.authz.poll(ctx)
		case <-s.authz.kick:
			err = s.authz.poll(ctx)
		case <-prune.C:
			err = s.store.Update(ctx, func(tx warden.Tx) error { return tx.PruneChanges(ctx, time.Now().Add(-10*time.Minute)) })
		}
		if err != nil && ctx.Err() == nil {
			s.log.Warn("refresh access snapshot", "err", err)
		}
	}
}

// Catalog returns the role catalog.
func (s *Service) Catalog() *access.Catalog { return s.authz.catalog }

// Snapshot returns the current access snapshot (for benchmarks and the
// access service).
func (s *Service) Snapshot() *access.Snapshot { return s.authz.snap.Load() }

// reloadNow brings the snapshot up to the store's feed at once (a resource
// created a moment ago, maybe on another node).
func (s *Service) reloadNow(ctx context.Context) {
	if err := s.authz.poll(ctx); err != nil {
		s.log.Warn("refresh access snapshot", "err", err)
		s.authz.changed()
	}
}

// applied brings the snapshot up to changes made through this process, so
// that the caller sees them before its call returns; on failure the feed
// catches up within the refresh interval.
func (s *Service) applied(ctx context.Context, changes ...warden.ResourceChange) {
	if err := s.authz.apply(ctx, changes...); err != nil {
		s.log.Warn("apply change to access snapshot", "err", err)
		s.authz.changed()
	}
}
