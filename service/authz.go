package service

import (
	"context"

	"sync"
	"sync/atomic"
	"time"

	"warden"
	"warden/access"
)

// authz keeps the in-memory access snapshot current: reloaded from the
// store when the store's change mark moves (any commit, on any wardend),
// and at once after a change made through this process.
type authz struct {
	store   warden.Store
	catalog *access.Catalog
	snap    atomic.Pointer[access.Snapshot]
	mu      sync.Mutex // serializes reloads
	mark    string
	kick    chan struct{}
}

func newAuthz(store warden.Store, c *access.Catalog) *authz {
	a := &authz{store: store, catalog: c, kick: make(chan struct{}, 1)}
	a.snap.Store(access.NewSnapshot(c, nil, nil))
	return a
}

// reload rebuilds the snapshot from the store.
func (a *authz) reload(ctx context.Context) error {
	a.mu.Lock()
	defer a.mu.Unlock()
	var mark string
	var resources []*warden.Resource
	var bindings map[string][]warden.AccessBinding
	err := a.store.View(ctx, func(tx warden.Tx) (err error) {
		// The mark is read first: a commit racing the load moves it again,
		// so the next poll reloads.
		if mark, err = tx.ChangeMark(ctx); err != nil {
			return err
		}
		if resources, err = tx.AllResources(ctx); err != nil {
			return err
		}
		bindings, err = tx.AllAccessBindings(ctx)
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
	a.snap.Store(access.NewSnapshot(a.catalog, nodes, bs))
	a.mark = mark
	return nil
}

// poll reloads when the store changed since the last load.
func (a *authz) poll(ctx context.Context) error {
	var mark string
	err := a.store.View(ctx, func(tx warden.Tx) (err error) {
		mark, err = tx.ChangeMark(ctx)
		return err
	})
	if err != nil {
		return err
	}
	a.mu.Lock()
	stale := mark != a.mark
	a.mu.Unlock()
	if !stale {
		return nil
	}
	return a.reload(ctx)
}

// changed asks for a reload soon, without waiting for it.
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

// runAuthz polls the change mark every interval and reloads on a kick.
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
			err = s.authz.reload(ctx)
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

func (s *Service) reloadNow(ctx context.Context) {
	if err := s.authz.reload(ctx); err != nil {
		s.log.Warn("reload access snapshot", "err", err)
		s.authz.changed()
	}
}
