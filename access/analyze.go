package access

import (
	"cmp"
	"slices"
)

// The access analyzer's reads: which bindings reach a subject, and which
// bindings reach a resource. They walk the snapshot's per-subject index of
// bound resources, so their cost follows the answer, not the hierarchy.

// Grant is one role bound to one subject on one resource.
type Grant struct {
	Resource  Node
	SubjectID string
	RoleID    string
}

func compareGrants(a, b Grant) int {
	return cmp.Or(cmp.Compare(a.Resource.ID, b.Resource.ID), cmp.Compare(a.RoleID, b.RoleID), cmp.Compare(a.SubjectID, b.SubjectID))
}

// BindingsOf returns every role bound to one of subjects on scope or on a
// resource within it (every resource when scope is ""), sorted by resource,
// role and subject.
func (s *Snapshot) BindingsOf(subjects []string, scope string) []Grant {
	var out []Grant
	for _, sub := range subjects {
		slots, _ := s.bound.get(sub)
		for _, slot := range slots {
			x := s.entries.at(slot)
			if x == nil || (scope != "" && !s.Within(x.ID, scope)) {
				continue
			}
			for _, role := range x.grants[sub].roles {
				out = append(out, Grant{Resource: x.Node, SubjectID: sub, RoleID: role})
			}
		}
	}
	slices.SortFunc(out, compareGrants)
	return slices.CompactFunc(out, func(a, b Grant) bool { return compareGrants(a, b) == 0 })
}

// BindingsOn returns every role bound on a resource and on its ancestors,
// the resource's own first and then up the hierarchy; on one resource
// sorted by subject and role. It reports false for a resource the snapshot
// does not know.
func (s *Snapshot) BindingsOn(resourceID string) ([]Grant, bool) {
	x := s.lookup(resourceID)
	if x == nil {
		return nil, false
	}
	var out []Grant
	for ; x != nil; x = s.up(x) {
		start := len(out)
		for sub, g := range x.grants {
			for _, role := range g.roles {
				out = append(out, Grant{Resource: x.Node, SubjectID: sub, RoleID: role})
			}
		}
		slices.SortFunc(out[start:], func(a, b Grant) int {
			return cmp.Or(cmp.Compare(a.SubjectID, b.SubjectID), cmp.Compare(a.RoleID, b.RoleID))
		})
		out = slices.CompactFunc(out, func(a, b Grant) bool { return a == b })
	}
	return out, true
}
