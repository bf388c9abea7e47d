package access

import (
	"slices"
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
// for the check: every node points at its parent, and holds per subject the
// union of the permissions of the roles bound to it there.
type Snapshot struct {
	catalog *Catalog
	nodes   map[string]*node
	roots   []*node
	// bound lists, per subject, the nodes where it has a binding: what the
	// escalation guard compares.
	bound map[string][]*node
}

type node struct {
	Node
	parent *node
	grants map[string]*grant // subject id → what is bound to it on this node
}

// grant is what a subject is bound on one node: the roles, and the union
// of their permissions.
type grant struct {
	bits  bitset
	roles []string
}

func (g *grant) has(bit int) bool { return g != nil && g.bits.has(bit) }

// NewSnapshot builds a snapshot. Bindings naming unknown roles or resources
// are ignored (they cannot grant anything).
func NewSnapshot(c *Catalog, nodes []Node, bindings []Binding) *Snapshot {
	s := &Snapshot{catalog: c, nodes: make(map[string]*node, len(nodes)), bound: map[string][]*node{}}
	for _, n := range nodes {
		s.nodes[n.ID] = &node{Node: n}
	}
	for _, n := range s.nodes {
		if n.ParentID == "" {
			s.roots = append(s.roots, n)
			continue
		}
		n.parent = s.nodes[n.ParentID]
	}
	for _, b := range bindings {
		n := s.nodes[b.ResourceID]
		perms, ok := c.expanded[b.RoleID]
		if n == nil || !ok {
			continue
		}
		if n.grants == nil {
			n.grants = map[string]*grant{}
		}
		g := n.grants[b.SubjectID]
		if g == nil {
			g = &grant{bits: newBitset(len(c.perms))}
			n.grants[b.SubjectID] = g
			s.bound[b.SubjectID] = append(s.bound[b.SubjectID], n)
		}
		g.bits.or(perms)
		g.roles = append(g.roles, c.roles[b.RoleID].ID) // the catalog's string: one copy of each role ID
	}
	return s
}

// Catalog returns the role catalog the snapshot was built with.
func (s *Snapshot) Catalog() *Catalog { return s.catalog }

// Node returns a resource of the snapshot.
func (s *Snapshot) Node(id string) (Node, bool) {
	n, ok := s.nodes[id]
	if !ok {
		return Node{}, false
	}
	return n.Node, true
}

// Len is the number of resources in the snapshot.
func (s *Snapshot) Len() int { return len(s.nodes) }

// Allowed reports whether subjectID (authenticated or not) holds permission
// on the resource or any of its ancestors. A resource the snapshot does not
// know grants nothing.
func (s *Snapshot) Allowed(subjectID string, authenticated bool, permission, resourceID string) bool {
	bit, ok := s.catalog.perms[permission]
	if !ok {
		return false
	}
	for n := s.nodes[resourceID]; n != nil; n = n.parent {
		if n.grants == nil {
			continue
		}
		if n.grants[subjectID].has(bit) || n.grants[AllUsers].has(bit) || (authenticated && n.grants[AllAuthenticatedUsers].has(bit)) {
			return true
		}
	}
	return false
}

// AllowedOnAnyRoot reports whether the subject holds permission on some
// root (organization): such a subject may learn that a resource is missing.
func (s *Snapshot) AllowedOnAnyRoot(subjectID string, authenticated bool, permission string) bool {
	for _, r := range s.roots {
		if s.Allowed(subjectID, authenticated, permission, r.ID) {
			return true
		}
	}
	return false
}

// Within reports whether a resource is scope or one of its descendants.
// Either unknown to the snapshot: false.
func (s *Snapshot) Within(resourceID, scope string) bool {
	for n := s.nodes[resourceID]; n != nil; n = n.parent {
		if n.ID == scope {
			return true
		}
	}
	return false
}

// Roles returns the roles subjectID holds on a resource, bound there or on
// an ancestor, to it or to a system group it belongs to; sorted, each once.
func (s *Snapshot) Roles(subjectID string, authenticated bool, resourceID string) []string {
	var out []string
	for n := s.nodes[resourceID]; n != nil; n = n.parent {
		if n.grants == nil {
			continue
		}
		for _, id := range [...]string{subjectID, AllUsers, AllAuthenticatedUsers} {
			if g := n.grants[id]; g != nil && (authenticated || id != AllAuthenticatedUsers) {
				out = append(out, g.roles...)
			}
		}
	}
	slices.Sort(out)
	return slices.Compact(out)
}

// HasRole reports whether subjectID holds any role on a resource, bound
// there or on an ancestor, to it or to a system group it belongs to.
func (s *Snapshot) HasRole(subjectID string, authenticated bool, resourceID string) bool {
	for n := s.nodes[resourceID]; n != nil; n = n.parent {
		if n.grants == nil {
			continue
		}
		if n.grants[subjectID] != nil || n.grants[AllUsers] != nil || (authenticated && n.grants[AllAuthenticatedUsers] != nil) {
			return true
		}
	}
	return false
}

// Each calls fn with every resource of a type, in no particular order.
func (s *Snapshot) Each(typ warden.ResourceType, fn func(Node)) {
	for _, n := range s.nodes {
		if n.Type == typ {
			fn(n.Node)
		}
	}
}

// BoundRoles returns the roles bound directly on a resource, by subject.
// The slices are the snapshot's own: callers must not modify them.
func (s *Snapshot) BoundRoles(resourceID string) map[string][]string {
	n := s.nodes[resourceID]
	if n == nil {
		return nil
	}
	out := make(map[string][]string, len(n.grants))
	for sub, g := range n.grants {
		out[sub] = g.roles
	}
	return out
}
