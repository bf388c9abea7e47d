package access

import (
	"slices"

	"warden"
)

// Edit makes a new snapshot from an old one by changes to single resources,
// at a cost that does not grow with the size of the snapshot: what it does
// not change is shared with the old snapshot, which stays as it was. An
// Edit is used by one goroutine and then discarded.
type Edit struct {
	catalog *Catalog
	ids     shardEdit[int32]
	entries *vecEdit
	bound   shardEdit[[]int32]
	// groupsOf and members: see Snapshot.
	groupsOf, members shardEdit[[]string]
	roots             []int32
	live              int
}

// Edit starts the next snapshot from s.
func (s *Snapshot) Edit() *Edit {
	return &Edit{
		catalog:  s.catalog,
		ids:      editShards(s.ids),
		entries:  editVec(s.entries),
		bound:    editShards(s.bound),
		groupsOf: editShards(s.groupsOf),
		members:  editShards(s.members),
		roots:    slices.Clone(s.roots),
		live:     s.live,
	}
}

// Snapshot returns the edited snapshot. The Edit must not be used after.
func (e *Edit) Snapshot() *Snapshot {
	return &Snapshot{catalog: e.catalog, ids: e.ids.m, entries: e.entries.v, roots: e.roots, bound: e.bound.m,
		groupsOf: e.groupsOf.m, members: e.members.m, live: e.live}
}

// PutNode adds a resource or replaces what is known of one (its name,
// status, expiry), keeping its bindings. It reports false, changing
// nothing, when the resource names a parent the snapshot does not know or
// another parent than before: the caller then rebuilds the snapshot from
// the store.
func (e *Edit) PutNode(n Node) bool {
	if slot, ok := e.ids.get(n.ID); ok {
		old := e.entries.v.at(slot)
		if old.ParentID != n.ParentID {
			return false
		}
		e.entries.set(slot, newEntry(n, old.parent, old.grants))
		return true
	}
	parent := int32(-1)
	if n.ParentID != "" {
		p, ok := e.ids.get(n.ParentID)
		if !ok {
			return false
		}
		parent = p
	}
	slot := e.entries.add(&entry{Node: n, parent: parent})
	e.ids.set(n.ID, slot)
	if n.ParentID == "" {
		e.roots = append(e.roots, slot)
	}
	e.live++
	return true
}

// RemoveNode forgets a resource, its bindings and, as the store does when
// an account or a group is deleted, the bindings that name it as their
// subject and its memberships; it returns the resources whose bindings
// that changed and the groups whose members did.
func (e *Edit) RemoveNode(id string) (rebound, regrouped []string) {
	regrouped = e.forgetMember(id)
	if slots, ok := e.bound.get(id); ok {
		for _, slot := range slots {
			x := e.entries.v.at(slot)
			rebound = append(rebound, x.ID)
			grants := make(map[string]*grant, len(x.grants))
			for sub, g := range x.grants {
				if sub != id {
					grants[sub] = g
				}
			}
			e.entries.set(slot, newEntry(x.Node, x.parent, grants))
		}
		e.bound.remove(id)
	}
	slot, ok := e.ids.get(id)
	if !ok {
		return rebound, regrouped
	}
	for sub := range e.entries.v.at(slot).grants {
		e.unbind(sub, slot)
	}
	e.entries.set(slot, nil)
	e.ids.remove(id)
	if i := slices.Index(e.roots, slot); i >= 0 {
		e.roots = slices.Delete(e.roots, i, i+1)
	}
	e.live--
	return rebound, regrouped
}

// SetBindings replaces the bindings set directly on a resource. Bindings on
// a resource the snapshot does not know grant nothing and are dropped.
func (e *Edit) SetBindings(id string, bs []warden.AccessBinding) {
	slot, ok := e.ids.get(id)
	if !ok {
		return
	}
	x := e.entries.v.at(slot)
	var grants map[string]*grant
	if len(bs) > 0 {
		grants = make(map[string]*grant, len(bs))
		for _, b := range bs {
			e.catalog.grant(grants, b)
		}
	}
	for sub := range x.grants {
		if grants[sub] == nil {
			e.unbind(sub, slot)
		}
	}
	for sub := range grants {
		if x.grants[sub] == nil {
			e.addBound(sub, slot)
		}
	}
	e.entries.set(slot, newEntry(x.Node, x.parent, grants))
}

// addBound notes that sub has a binding on slot.
func (e *Edit) addBound(sub string, slot int32) {
	old, _ := e.bound.get(sub)
	e.bound.set(sub, append(slices.Clip(old), slot))
}

// unbind notes that sub no longer has a binding on slot.
func (e *Edit) unbind(sub string, slot int32) {
	old, _ := e.bound.get(sub)
	i := slices.Index(old, slot)
	if i < 0 {
		return
	}
	if len(old) == 1 {
		e.bound.remove(sub)
		return
	}
	e.bound.set(sub, slices.Delete(slices.Clone(old), i, i+1))
}
