package access

import (
	"slices"
	"strings"
	"time"

	"warden"
)

// Subject ids of the system groups.
const (
	AllUsers              = "allUsers"
	AllAuthenticatedUsers = "allAuthenticatedUsers"
)

// Node is what the checker needs to know of a resource.
type Node struct {
	ID       string
	Type     warden.ResourceType
	ParentID string
	// Name is the resource's name (Keystone answers name the domain,
	// project and user of a token from it).
	Name   string
	Status string
	// ExpiresAt is when a service account stops being usable; zero: never.
	ExpiresAt time.Time
}

// ActiveAt reports whether the node is active and unexpired at now.
func (n Node) ActiveAt(now time.Time) bool {
	return n.Status == warden.StatusActive && (n.ExpiresAt.IsZero() || now.Before(n.ExpiresAt))
}

// Binding is an access binding on a resource.
type Binding struct {
	ResourceID string
	warden.AccessBinding
}

// Snapshot is an immutable view of the hierarchy and its bindings, laid out
// for the check: every entry names its parent's slot, and holds per subject
// the union of the permissions of the roles bound to it there. An Edit makes
// the next snapshot from this one, copying only what it changes.
type Snapshot struct {
	catalog *Catalog
	ids     shardMap[int32] // resource id → slot
	entries vec
	roots   []int32
	// bound lists, per subject, the slots where it has a binding: what the
	// escalation guard compares.
	bound shardMap[[]int32]
	// groupsOf lists, per subject, the groups it is a direct member of;
	// members, per group, its direct members. Both sorted.
	groupsOf, members shardMap[[]string]
	live              int
}

// entry is one resource of a snapshot. Entries are never changed once a
// snapshot holds them: an edit puts a new one in the slot.
type entry struct {
	Node
	parent int32             // the parent's slot; -1: a root, or a parent the snapshot does not know
	grants map[string]*grant // subject id → what is bound to it on this resource
	// all and authed are grants[AllUsers] and grants[AllAuthenticatedUsers],
	// held apart so that the check looks up one subject per resource.
	all, authed *grant
	// groups are the groups bound here with their grants, sorted by ID,
	// and orgUsers the organizations' members groups bound here; nil when
	// none, so that the check looks up a subject's groups only where they
	// may grant something, and then meets them without hashing.
	groups, orgUsers []boundGroup
}

// boundGroup is a group's grant on an entry.
type boundGroup struct {
	id  string
	org string // of an organization's members group: the organization
	g   *grant
}

// newEntry is an entry with its grants (and their shortcuts).
func newEntry(n Node, parent int32, grants map[string]*grant) *entry {
	x := &entry{Node: n, parent: parent, grants: grants}
	x.derive()
	return x
}

// derive sets what an entry keeps apart from its grants for the check.
func (x *entry) derive() {
	x.all, x.authed = x.grants[AllUsers], x.grants[AllAuthenticatedUsers]
	x.groups, x.orgUsers = nil, nil
	for sub, g := range x.grants {
		switch g.kind {
		case groupSubject:
			x.groups = append(x.groups, boundGroup{id: sub, g: g})
		case orgUsersSubject:
			org, _ := OrgOfUsersGroup(sub)
			x.orgUsers = append(x.orgUsers, boundGroup{id: sub, org: org, g: g})
		}
	}
	slices.SortFunc(x.groups, func(a, b boundGroup) int { return strings.Compare(a.id, b.id) })
}

// grant is what a subject is bound on one node: the roles, and the union
// of their permissions.
type grant struct {
	bits  bitset
	roles []string
	kind  subjectKind
}

func (g *grant) has(bit int) bool { return g != nil && g.bits.has(bit) }

// NewSnapshot builds a snapshot. Bindings naming unknown roles or resources
// are ignored (they cannot grant anything).
func NewSnapshot(c *Catalog, nodes []Node, bindings []Binding, members ...Membership) *Snapshot {
	e := (&Snapshot{catalog: c}).Edit()
	for _, n := range nodes {
		e.ids.set(n.ID, e.entries.add(&entry{Node: n, parent: -1}))
	}
	groupsOf, membersOf := map[string][]string{}, map[string][]string{}
	for _, m := range members {
		groupsOf[m.SubjectID] = append(groupsOf[m.SubjectID], m.GroupID)
		membersOf[m.GroupID] = append(membersOf[m.GroupID], m.SubjectID)
	}
	for sub, groups := range groupsOf {
		e.groupsOf.set(sub, slices.Compact(slices.Sorted(slices.Values(groups))))
	}
	for g, ms := range membersOf {
		e.members.set(g, slices.Compact(slices.Sorted(slices.Values(ms))))
	}
	e.live = len(nodes)
	for slot := range e.entries.v.n {
		x := e.entries.v.at(slot)
		if x.ParentID == "" {
			e.roots = append(e.roots, slot)
		} else if p, ok := e.ids.get(x.ParentID); ok {
			x.parent = p
		}
	}
	for _, b := range bindings {
		slot, ok := e.ids.get(b.ResourceID)
		if !ok {
			continue
		}
		x := e.entries.v.at(slot) // made by this edit: changed in place
		if x.grants == nil {
			x.grants = map[string]*grant{}
		}
		c.grant(x.grants, b.AccessBinding)
	}
	bound := map[string][]int32{}
	for slot := range e.entries.v.n {
		x := e.entries.v.at(slot)
		x.derive()
		for sub := range x.grants {
			bound[sub] = append(bound[sub], slot)
		}
	}
	for sub, slots := range bound {
		e.bound.set(sub, slots)
	}
	return e.Snapshot()
}

// grant adds a binding to the grants of one resource; a binding of an
// unknown role grants nothing.
func (c *Catalog) grant(grants map[string]*grant, b warden.AccessBinding) {
	perms, ok := c.expanded[b.RoleID]
	if !ok {
		return
	}
	g := grants[b.SubjectID]
	if g == nil {
		g = &grant{bits: newBitset(len(c.perms))}
		grants[b.SubjectID] = g
	}
	g.bits.or(perms)
	g.roles = append(g.roles, c.roles[b.RoleID].ID) // the catalog's string: one copy of each role ID
	g.kind = kindOf(b)
}

// Catalog returns the role catalog the snapshot was built with.
func (s *Snapshot) Catalog() *Catalog { return s.catalog }

// lookup returns the entry of a resource, or nil.
func (s *Snapshot) lookup(id string) *entry {
	slot, ok := s.ids.get(id)
	if !ok {
		return nil
	}
	return s.entries.at(slot)
}

// up returns the parent entry of x, or nil.
func (s *Snapshot) up(x *entry) *entry {
	if x.parent < 0 {
		return nil
	}
	return s.entries.at(x.parent)
}

// Node returns a resource of the snapshot.
func (s *Snapshot) Node(id string) (Node, bool) {
	x := s.lookup(id)
	if x == nil {
		return Node{}, false
	}
	return x.Node, true
}

// Len is the number of resources in the snapshot.
func (s *Snapshot) Len() int { return s.live }

// Allowed reports whether subjectID (authenticated or not) holds permission
// on the resource or any of its ancestors, bound to it, to a group it is a
// member of or to a system group. A resource the snapshot does not know
// grants nothing.
func (s *Snapshot) Allowed(subjectID string, authenticated bool, permission, resourceID string) bool {
	bit, ok := s.catalog.perms[permission]
	if !ok {
		return false
	}
	r := reach{s: s, subject: subjectID}
	for x := s.lookup(resourceID); x != nil; x = s.up(x) {
		if x.grants == nil {
			continue
		}
		if x.all.has(bit) || (authenticated && x.authed.has(bit)) || x.grants[subjectID].has(bit) {
			return true
		}
		if authenticated && (x.groups != nil || x.orgUsers != nil) && r.has(x, bit) {
			return true
		}
	}
	return false
}

// AllowedOnAnyRoot reports whether the subject holds permission on some
// root (organization): such a subject may learn that a resource is missing.
func (s *Snapshot) AllowedOnAnyRoot(subjectID string, authenticated bool, permission string) bool {
	for _, slot := range s.roots {
		if s.Allowed(subjectID, authenticated, permission, s.entries.at(slot).ID) {
			return true
		}
	}
	return false
}

// Within reports whether a resource is scope or one of its descendants.
// Either unknown to the snapshot: false.
func (s *Snapshot) Within(resourceID, scope string) bool {
	for x := s.lookup(resourceID); x != nil; x = s.up(x) {
		if x.ID == scope {
			return true
		}
	}
	return false
}

// Roles returns the roles subjectID holds on a resource, bound there or on
// an ancestor, to it, to a group it is a member of or to a system group it
// belongs to; sorted, each once.
func (s *Snapshot) Roles(subjectID string, authenticated bool, resourceID string) []string {
	var out []string
	r := reach{s: s}
	if authenticated {
		r.subject = subjectID
	}
	for x := s.lookup(resourceID); x != nil; x = s.up(x) {
		if x.grants == nil {
			continue
		}
		for _, id := range [...]string{subjectID, AllUsers, AllAuthenticatedUsers} {
			if g := x.grants[id]; g != nil && (authenticated || id != AllAuthenticatedUsers) {
				out = append(out, g.roles...)
			}
		}
		r.each(x, func(g *grant) { out = append(out, g.roles...) })
	}
	slices.Sort(out)
	return slices.Compact(out)
}

// HasRole reports whether subjectID holds any role on a resource, bound
// there or on an ancestor, to it, to a group it is a member of or to a
// system group it belongs to.
func (s *Snapshot) HasRole(subjectID string, authenticated bool, resourceID string) bool {
	r := reach{s: s, subject: subjectID}
	for x := s.lookup(resourceID); x != nil; x = s.up(x) {
		if x.grants == nil {
			continue
		}
		if x.grants[subjectID] != nil || x.grants[AllUsers] != nil || (authenticated && x.grants[AllAuthenticatedUsers] != nil) {
			return true
		}
		if authenticated && r.any(x) {
			return true
		}
	}
	return false
}

// Each calls fn with every resource of a type, in no particular order.
func (s *Snapshot) Each(typ warden.ResourceType, fn func(Node)) {
	for slot := range s.entries.n {
		if x := s.entries.at(slot); x != nil && x.Type == typ {
			fn(x.Node)
		}
	}
}

// BoundRoles returns the roles bound directly on a resource, by subject.
// The slices are the snapshot's own: callers must not modify them.
func (s *Snapshot) BoundRoles(resourceID string) map[string][]string {
	x := s.lookup(resourceID)
	if x == nil {
		return nil
	}
	out := make(map[string][]string, len(x.grants))
	for sub, g := range x.grants {
		out[sub] = g.roles
	}
	return out
}
