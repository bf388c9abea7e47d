package access

import (
	"slices"
	"sort"
)

// The escalation guard: no caller hands out more than it holds. Minting a
// credential for an account hands out everything the account may do;
// granting a role hands out the role's permissions. Neither the Yandex nor
// the AWS model has such a guard built in (AWS leaves it to iam:PassRole
// policies); without it a folder editor becomes organization admin by
// minting a key for a more privileged service account in its folder.

// Shortfall names a permission a caller lacks on a resource.
type Shortfall struct {
	Permission string
	ResourceID string
}

// effective is the union of what subject holds on n through n and its
// ancestors, the system groups included.
func (s *Snapshot) effective(subjectID string, x *entry) bitset {
	out := newBitset(len(s.catalog.perms))
	for ; x != nil; x = s.up(x) {
		for _, id := range [...]string{subjectID, AllUsers, AllAuthenticatedUsers} {
			if g := x.grants[id]; g != nil {
				out.or(g.bits)
			}
		}
	}
	return out
}

// missing returns the first permission of want (by name) that have lacks.
func (s *Snapshot) missing(want, have bitset) (string, bool) {
	var names []string
	for p, i := range s.catalog.perms {
		if want.has(i) && !have.has(i) {
			names = append(names, p)
		}
	}
	if len(names) == 0 {
		return "", false
	}
	sort.Strings(names)
	return names[0], true
}

// Covers reports whether holder holds, on every resource where target has
// an access binding, every permission bound to target there — so that a
// credential of target hands holder nothing it lacks. Bindings of the system
// groups are held by both alike.
func (s *Snapshot) Covers(holder, target string) (Shortfall, bool) {
	if holder == target {
		return Shortfall{}, true
	}
	slots, _ := s.bound.get(target)
	ids := make([]string, 0, len(slots))
	for _, slot := range slots {
		ids = append(ids, s.entries.at(slot).ID)
	}
	sort.Strings(ids) // the same answer every time
	for _, id := range ids {
		x := s.lookup(id)
		if p, lacks := s.missing(x.grants[target].bits, s.effective(holder, x)); lacks {
			return Shortfall{Permission: p, ResourceID: x.ID}, false
		}
	}
	return Shortfall{}, true
}

// BoundOutside returns a resource outside scope (not scope nor a
// descendant) where target holds an access binding: a credential of target
// minted through a credential confined to scope would reach past it.
func (s *Snapshot) BoundOutside(target, scope string) (string, bool) {
	slots, _ := s.bound.get(target)
	var ids []string
	for _, slot := range slots {
		if id := s.entries.at(slot).ID; !s.Within(id, scope) {
			ids = append(ids, id)
		}
	}
	if len(ids) == 0 {
		return "", false
	}
	return slices.Min(ids), true
}

// MayGrant reports whether holder holds every permission of a role on a
// resource (through it or its ancestors): only then may it grant the role
// there. A resource the snapshot does not know grants nothing.
func (s *Snapshot) MayGrant(holder, roleID, resourceID string) (Shortfall, bool) {
	want, ok := s.catalog.expanded[roleID]
	if !ok {
		return Shortfall{}, true // an unknown role grants nothing; the caller rejects it
	}
	x := s.lookup(resourceID)
	if x == nil {
		return Shortfall{ResourceID: resourceID}, false
	}
	if p, lacks := s.missing(want, s.effective(holder, x)); lacks {
		return Shortfall{Permission: p, ResourceID: resourceID}, false
	}
	return Shortfall{}, true
}
