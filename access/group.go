package access

import (
	"slices"
	"strings"

	"warden"
)

// Groups are subjects of bindings whose grants their members hold: a
// user or service account that is a direct member of a group (groups hold
// no groups, as in Yandex Cloud), and every user of an organization for
// the organization's members group, a system subject. The snapshot keeps
// both directions of membership, copied on write like the rest: the check
// reads a subject's groups, the access analyzer a group's members.

// OrgUsersGroup is the subject ID of the system group "All users in
// organization X" (Yandex Cloud spells it so: group:organization:<id>:users).
// Its subject type is "system"; service accounts are not in it.
func OrgUsersGroup(orgID string) string { return "group:organization:" + orgID + ":users" }

// OrgOfUsersGroup returns the organization of an OrgUsersGroup subject ID.
func OrgOfUsersGroup(id string) (orgID string, ok bool) {
	rest, ok := strings.CutPrefix(id, "group:organization:")
	if !ok {
		return "", false
	}
	orgID, ok = strings.CutSuffix(rest, ":users")
	return orgID, ok && orgID != "" && !strings.Contains(orgID, ":")
}

// subjectKind tells the subjects whose grants others hold apart.
type subjectKind uint8

const (
	plainSubject    subjectKind = iota
	groupSubject                // a group: its members hold its grants
	orgUsersSubject             // an OrgUsersGroup: the organization's users do
)

// kindOf is the kind of a binding's subject.
func kindOf(b warden.AccessBinding) subjectKind {
	if b.SubjectType == "group" {
		return groupSubject
	}
	if _, ok := OrgOfUsersGroup(b.SubjectID); ok && b.SubjectType == "system" {
		return orgUsersSubject
	}
	return plainSubject
}

// Membership is one direct member of a group.
type Membership struct {
	GroupID   string
	SubjectID string
}

// GroupsOf returns the groups a subject is a direct member of, sorted;
// the system groups are not among them. The slice is the snapshot's own:
// callers must not modify it.
func (s *Snapshot) GroupsOf(subjectID string) []string {
	groups, _ := s.groupsOf.get(subjectID)
	return groups
}

// Members returns the direct members of a group, sorted. The slice is the
// snapshot's own: callers must not modify it.
func (s *Snapshot) Members(groupID string) []string {
	members, _ := s.members.get(groupID)
	return members
}

// reach is what a subject holds through other than its own bindings: its
// groups, and for a user its organization's members group. Each is looked
// up once per check, and only when the check meets a grant of its kind: a
// check through no group pays nothing, and none allocates.
type reach struct {
	s       *Snapshot
	subject string // "": anonymous, in no group

	groups    []string // sorted
	gotGroups bool
	org       string // a user's organization; "": not a user
	gotOrg    bool
}

func (r *reach) groupsOf() []string {
	if !r.gotGroups {
		r.groups, _ = r.s.groupsOf.get(r.subject)
		r.gotGroups = true
	}
	return r.groups
}

// orgOf is the organization of a user subject ("" for other subjects).
func (r *reach) orgOf() string {
	if !r.gotOrg {
		r.gotOrg = true
		if x := r.s.lookup(r.subject); x != nil && x.Type == warden.TypeUserAccount {
			r.org = x.ParentID
		}
	}
	return r.org
}

// has reports whether a group of the subject holds bit on x.
func (r *reach) has(x *entry, bit int) bool {
	if r.subject == "" {
		return false
	}
	for _, u := range x.orgUsers {
		if u.g.has(bit) && u.org == r.orgOf() {
			return true
		}
	}
	if x.groups == nil {
		return false
	}
	found := false
	meet(x.groups, r.groupsOf(), func(b *boundGroup) bool {
		found = b.g.has(bit)
		return found
	})
	return found
}

// meet calls fn with every group bound (sorted by ID) that groups (sorted)
// holds, until fn returns true. It walks both when they are of a size, and
// searches the longer for each of the shorter otherwise (a user in a
// thousand groups, a resource with one group bound).
func meet(bound []boundGroup, groups []string, fn func(*boundGroup) bool) {
	switch {
	case len(bound) == 0 || len(groups) == 0:
	case len(groups) > 8*len(bound):
		for i := range bound {
			if _, in := slices.BinarySearch(groups, bound[i].id); in && fn(&bound[i]) {
				return
			}
		}
	case len(bound) > 8*len(groups):
		for _, g := range groups {
			i, in := slices.BinarySearchFunc(bound, g, func(b boundGroup, id string) int { return strings.Compare(b.id, id) })
			if in && fn(&bound[i]) {
				return
			}
		}
	default:
		for i, j := 0, 0; i < len(bound) && j < len(groups); {
			switch c := strings.Compare(bound[i].id, groups[j]); {
			case c < 0:
				i++
			case c > 0:
				j++
			default:
				if fn(&bound[i]) {
					return
				}
				i, j = i+1, j+1
			}
		}
	}
}

// each calls fn with the grant of every group of the subject bound on x.
func (r *reach) each(x *entry, fn func(g *grant)) {
	if r.subject == "" {
		return
	}
	for _, u := range x.orgUsers {
		if u.org == r.orgOf() {
			fn(u.g)
		}
	}
	meet(x.groups, r.groupsOf(), func(b *boundGroup) bool { fn(b.g); return false })
}

// any reports whether a group of the subject has a grant on x.
func (r *reach) any(x *entry) bool {
	found := false
	r.each(x, func(*grant) { found = true })
	return found
}

// subjects are the subject IDs whose grants the subject holds besides its
// own.
func (r *reach) subjects() []string {
	out := slices.Clone(r.groupsOf())
	if org := r.orgOf(); org != "" {
		out = append(out, OrgUsersGroup(org))
	}
	return out
}

// SetMembers replaces the direct members of a group.
func (e *Edit) SetMembers(groupID string, members []string) {
	members = slices.Compact(slices.Sorted(slices.Values(members)))
	old, _ := e.members.get(groupID)
	for _, m := range old {
		if _, in := slices.BinarySearch(members, m); !in {
			e.leave(m, groupID)
		}
	}
	for _, m := range members {
		if _, in := slices.BinarySearch(old, m); !in {
			e.join(m, groupID)
		}
	}
	if len(members) == 0 {
		e.members.remove(groupID)
		return
	}
	e.members.set(groupID, members)
}

// join notes that sub is a member of group (the slices are shared with
// older snapshots: a change makes a new one).
func (e *Edit) join(sub, group string) {
	old, _ := e.groupsOf.get(sub)
	i, in := slices.BinarySearch(old, group)
	if in {
		return
	}
	e.groupsOf.set(sub, slices.Insert(slices.Clip(old), i, group))
}

// leave notes that sub is no longer a member of group.
func (e *Edit) leave(sub, group string) {
	old, _ := e.groupsOf.get(sub)
	i, in := slices.BinarySearch(old, group)
	if !in {
		return
	}
	if len(old) == 1 {
		e.groupsOf.remove(sub)
		return
	}
	e.groupsOf.set(sub, slices.Delete(slices.Clone(old), i, i+1))
}

// forgetMember takes a removed subject out of its groups and a removed
// group's members out of it; it returns the groups whose members changed.
func (e *Edit) forgetMember(id string) (regrouped []string) {
	if groups, ok := e.groupsOf.get(id); ok {
		for _, g := range groups {
			members, _ := e.members.get(g)
			if i, in := slices.BinarySearch(members, id); in {
				if len(members) == 1 {
					e.members.remove(g)
				} else {
					e.members.set(g, slices.Delete(slices.Clone(members), i, i+1))
				}
			}
			regrouped = append(regrouped, g)
		}
		e.groupsOf.remove(id)
	}
	if _, ok := e.members.get(id); ok {
		e.SetMembers(id, nil)
		regrouped = append(regrouped, id)
	}
	return regrouped
}
