// Package access decides who may do what: the role catalog, and an
// in-memory snapshot of the resource hierarchy and its access bindings built
// for the permission check that every request pays for. A check touches no
// database and allocates nothing.
package access

import (
	_ "embed"
	"encoding/json"
	"fmt"
	"regexp"
	"sort"
)

//go:embed roles.json
var builtinRoles []byte

// Role is a named set of permissions, plus the roles it includes.
type Role struct {
	ID          string   `json:"id"`
	Description string   `json:"description,omitempty"`
	Permissions []string `json:"permissions,omitempty"`
	Includes    []string `json:"includes,omitempty"`
}

type roleFile struct {
	Roles []Role `json:"roles"`
}

// Catalog holds the roles, each expanded to the full set of permissions it
// grants through its includes.
type Catalog struct {
	roles    map[string]*Role
	ids      []string
	perms    map[string]int // permission → bit
	expanded map[string]bitset
}

var (
	roleIDPattern     = regexp.MustCompile(`^[a-z][a-zA-Z0-9.-]{0,63}$`)
	permissionPattern = regexp.MustCompile(`^[a-z][a-zA-Z0-9-]*(\.[a-zA-Z][a-zA-Z0-9-]*){1,4}$`)
)

// AdminRole is the role that holds every permission.
const AdminRole = "admin"

// NewCatalog returns the built-in roles plus the roles of each extra JSON
// document ({"roles": [...]}), which operators supply for their own
// services. An extra role may not redefine a built-in one.
func NewCatalog(extra ...[]byte) (*Catalog, error) {
	c := &Catalog{roles: map[string]*Role{}, perms: map[string]int{}, expanded: map[string]bitset{}}
	for i, doc := range append([][]byte{builtinRoles}, extra...) {
		var f roleFile
		if err := json.Unmarshal(doc, &f); err != nil {
			return nil, fmt.Errorf("access: roles document %d: %w", i, err)
		}
		for _, r := range f.Roles {
			if !roleIDPattern.MatchString(r.ID) {
				return nil, fmt.Errorf("access: role id %q is invalid", r.ID)
			}
			if _, dup := c.roles[r.ID]; dup {
				return nil, fmt.Errorf("access: role %q is defined twice", r.ID)
			}
			for _, p := range r.Permissions {
				if !permissionPattern.MatchString(p) {
					return nil, fmt.Errorf("access: role %q: permission %q is invalid", r.ID, p)
				}
				if _, ok := c.perms[p]; !ok {
					c.perms[p] = len(c.perms)
				}
			}
			role := r
			c.roles[r.ID] = &role
			c.ids = append(c.ids, r.ID)
		}
	}
	sort.Strings(c.ids)
	for _, id := range c.ids {
		if _, err := c.expand(id, map[string]bool{}); err != nil {
			return nil, err
		}
	}
	return c, nil
}

func (c *Catalog) expand(id string, visiting map[string]bool) (bitset, error) {
	if b, ok := c.expanded[id]; ok {
		return b, nil
	}
	r, ok := c.roles[id]
	if !ok {
		return nil, fmt.Errorf("access: role %q is included but not defined", id)
	}
	if visiting[id] {
		return nil, fmt.Errorf("access: role %q includes itself", id)
	}
	visiting[id] = true
	b := newBitset(len(c.perms))
	for _, p := range r.Permissions {
		b.set(c.perms[p])
	}
	if id == AdminRole {
		// admin holds every permission of the catalog, operators' roles
		// included (as Yandex's admin holds every service's): someone must
		// be able to grant them past the escalation guard.
		for _, i := range c.perms {
			b.set(i)
		}
	}
	for _, inc := range r.Includes {
		sub, err := c.expand(inc, visiting)
		if err != nil {
			return nil, err
		}
		b.or(sub)
	}
	c.expanded[id] = b
	return b, nil
}

// Role returns a role by id.
func (c *Catalog) Role(id string) (*Role, bool) {
	r, ok := c.roles[id]
	return r, ok
}

// Roles returns every role ordered by id.
func (c *Catalog) Roles() []*Role {
	out := make([]*Role, 0, len(c.ids))
	for _, id := range c.ids {
		out = append(out, c.roles[id])
	}
	return out
}

// Permissions returns every permission the role grants, its includes'
// included, sorted.
func (c *Catalog) Permissions(roleID string) []string {
	b := c.expanded[roleID]
	var out []string
	for p, i := range c.perms {
		if b.has(i) {
			out = append(out, p)
		}
	}
	sort.Strings(out)
	return out
}

// Grants reports whether a role grants a permission (a reference check; the
// hot path uses bitsets).
func (c *Catalog) Grants(roleID, permission string) bool {
	i, ok := c.perms[permission]
	return ok && c.expanded[roleID].has(i)
}

// bitset is a set of permission numbers.
type bitset []uint64

func newBitset(n int) bitset { return make(bitset, (n+63)/64) }

func (b bitset) set(i int)      { b[i/64] |= 1 << (i % 64) }
func (b bitset) has(i int) bool { return i/64 < len(b) && b[i/64]&(1<<(i%64)) != 0 }
func (b bitset) or(o bitset) {
	for i := range o {
		b[i] |= o[i]
	}
}
