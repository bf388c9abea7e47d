package access

import (
	"slices"
	"sort"
	"strings"
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
// ancestors, its groups and the system groups included.
func (s *Snapshot) effective(subjectID string, x *entry) bitset {
	out := newBitset(len(s.catalog.perms))
	r := reach{s: s, subject: subjectID}
	for ; x != nil; x = s.up(x) {
		for _, id := range [...]string{subjectID, AllUsers, AllAuthenticatedUsers} {
			if g := x.grants[id]; g != nil {
				out.or(g.bits)
			}
		}
		r.each(x, func(g *grant) { out.or(g.bits) })
	}
	return out
}

// held are the bindings whose grants target holds, as (resource, subject)
// pairs ordered by resource and subject: its own and its groups' (an
// organization's members group included for a user).
func (s *Snapshot) held(target string) [][2]string {
	var out [][2]string
	r := reach{s: s, subject: target}
	for _, sub := range append([]string{target}, r.subjects()...) {
		slots, _ := s.bound.get(sub)
		for _, slot := range slots {
			out = append(out, [2]string{s.entries.at(slot).ID, sub})
		}
	}
	slices.SortFunc(out, func(a, b [2]string) int {
		if a[0] != b[0] {
			return strings.Compare(a[0], b[0])
		}
		return strings.Compare(a[1], b[1])
	})
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
// an access binding, directly or through a group, every permission bound
// there — so that a credential of target (or a place in target's group)
// hands holder nothing it lacks. What holder holds counts its groups too;
// bindings of allUsers and allAuthenticatedUsers are held by both alike.
func (s *Snapshot) Covers(holder, target string) (Shortfall, bool) {
	if holder == target {
		return Shortfall{}, true
	}
	for _, b := range s.held(target) { // in order: the same answer every time
		x := s.lookup(b[0])
		if p, lacks := s.missing(x.grants[b[1]].bits, s.effective(holder, x)); lacks {
			return Shortfall{Permission: p, ResourceID: x.ID}, false
		}
	}
	return Shortfall{}, true
}

// BoundOutside returns a resource outside scope (not scope nor a
// descendant) where target holds an access binding (its own or a group's): a credential of target
// minted through a credential confined to scope would reach past it.
func (s *Snapshot) BoundOutside(target, scope string) (string, bool) {
	var ids []string
	for _, b := range s.held(target) {
		if !s.Within(b[0], scope) {
			ids = append(ids, b[0])
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
