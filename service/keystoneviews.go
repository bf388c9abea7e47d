package service

import (
	"context"
	"slices"
	"strings"

	"warden"
	"warden/access"
)

// Read views of the hierarchy for Keystone's GET routes, answered from the
// access snapshot and filtered by what the caller may see — within its
// token's scope, for a scoped one.

// KeystoneProject is a folder as Keystone names it.
type KeystoneProject struct {
	ID, Name, DomainID string
	Enabled            bool
}

// KeystoneDomain is a cloud as Keystone names it.
type KeystoneDomain struct {
	ID, Name string
	Enabled  bool
}

// KeystoneUser is an account as Keystone names it.
type KeystoneUser struct {
	ID, Name, DomainID string
	Enabled            bool
}

// KeystoneRoleAssignment is a role bound to a subject on a scope.
type KeystoneRoleAssignment struct {
	RoleID, SubjectID string
	// Scope is the folder (project) or cloud (domain) it is bound on.
	ScopeID string
	// Domain is set when the scope is a domain.
	Domain bool
	// Group is set when the subject is a group (a system group included).
	Group bool
	// ViaGroup is, in an effective listing, the group a user holds the
	// role through.
	ViaGroup string
}

// KeystoneAssignmentFilter narrows GET /v3/role_assignments as Keystone's
// query does ("" = any): user.id, group.id, the scope, and effective
// (group assignments expanded into their members' own).
type KeystoneAssignmentFilter struct {
	UserID, GroupID, ScopeID string
	Effective                bool
}

// KeystoneFilter narrows a list, as Keystone's query filters do: by name,
// by domain, by parent (a project's parent is its domain) ("" = any) and by
// whether it is enabled (nil = either).
type KeystoneFilter struct {
	Name, DomainID, ParentID string
	Enabled                  *bool
}

// match reports whether an entry of name, domain and state passes the
// filter; parent is the entry's parent, for a project its domain.
func (f KeystoneFilter) match(name, domainID, parentID string, enabled bool) bool {
	return (f.Name == "" || name == f.Name) && (f.DomainID == "" || domainID == f.DomainID) &&
		(f.ParentID == "" || parentID == f.ParentID) && (f.Enabled == nil || enabled == *f.Enabled)
}

func sortedByName[T any](xs []T, name func(T) string) []T {
	slices.SortFunc(xs, func(a, b T) int { return strings.Compare(name(a), name(b)) })
	return xs
}

// KeystoneAuthProjects lists the projects the caller's subject holds a role
// on (GET /v3/auth/projects): where it may ask for a project-scoped token.
// As in Keystone, the token's own scope does not narrow this list.
func (s *Service) KeystoneAuthProjects(ctx context.Context) []KeystoneProject {
	return s.projectsWithRole(SubjectFrom(ctx).ID)
}

func (s *Service) projectsWithRole(subjectID string) []KeystoneProject {
	snap := s.authz.snap.Load()
	var out []KeystoneProject
	snap.Each(warden.TypeFolder, func(n access.Node) {
		if snap.HasRole(subjectID, true, n.ID) {
			out = append(out, KeystoneProject{ID: n.ID, Name: n.Name, DomainID: n.ParentID, Enabled: n.Status == warden.StatusActive})
		}
	})
	return sortedByName(out, func(p KeystoneProject) string { return p.Name + "\x00" + p.ID })
}

// KeystoneAuthDomains lists the domains the caller's subject holds a role
// on (GET /v3/auth/domains).
func (s *Service) KeystoneAuthDomains(ctx context.Context) []KeystoneDomain {
	snap := s.authz.snap.Load()
	sub := SubjectFrom(ctx).ID
	var out []KeystoneDomain
	snap.Each(warden.TypeCloud, func(n access.Node) {
		if snap.HasRole(sub, true, n.ID) {
			out = append(out, KeystoneDomain{ID: n.ID, Name: n.Name, Enabled: n.Status == warden.StatusActive})
		}
	})
	return sortedByName(out, func(d KeystoneDomain) string { return d.Name + "\x00" + d.ID })
}

// KeystoneProjects lists the projects on which the caller holds
// resource-manager.folders.get (GET /v3/projects).
func (s *Service) KeystoneProjects(ctx context.Context, f KeystoneFilter) []KeystoneProject {
	var out []KeystoneProject
	s.authz.snap.Load().Each(warden.TypeFolder, func(n access.Node) {
		enabled := n.Status == warden.StatusActive
		if f.match(n.Name, n.ParentID, n.ParentID, enabled) && s.allowed(ctx, "resource-manager.folders.get", n.ID) {
			out = append(out, KeystoneProject{ID: n.ID, Name: n.Name, DomainID: n.ParentID, Enabled: enabled})
		}
	})
	return sortedByName(out, func(p KeystoneProject) string { return p.Name + "\x00" + p.ID })
}

// KeystoneGetProject returns a project the caller holds
// resource-manager.folders.get on (GET /v3/projects/{id}).
func (s *Service) KeystoneGetProject(ctx context.Context, id string) (KeystoneProject, error) {
	n, err := s.keystoneGet(ctx, "resource-manager.folders.get", id, warden.TypeFolder)
	return KeystoneProject{ID: n.ID, Name: n.Name, DomainID: n.ParentID, Enabled: n.Status == warden.StatusActive}, err
}

// KeystoneDomains lists the domains on which the caller holds
// resource-manager.clouds.get (GET /v3/domains).
func (s *Service) KeystoneDomains(ctx context.Context, f KeystoneFilter) []KeystoneDomain {
	var out []KeystoneDomain
	s.authz.snap.Load().Each(warden.TypeCloud, func(n access.Node) {
		enabled := n.Status == warden.StatusActive
		if f.match(n.Name, "", "", enabled) && s.allowed(ctx, "resource-manager.clouds.get", n.ID) {
			out = append(out, KeystoneDomain{ID: n.ID, Name: n.Name, Enabled: enabled})
		}
	})
	return sortedByName(out, func(d KeystoneDomain) string { return d.Name + "\x00" + d.ID })
}

// KeystoneGetDomain returns a domain the caller holds
// resource-manager.clouds.get on (GET /v3/domains/{id}).
func (s *Service) KeystoneGetDomain(ctx context.Context, id string) (KeystoneDomain, error) {
	n, err := s.keystoneGet(ctx, "resource-manager.clouds.get", id, warden.TypeCloud)
	return KeystoneDomain{ID: n.ID, Name: n.Name, Enabled: n.Status == warden.StatusActive}, err
}

// keystoneGet authorizes permission on id and returns it from the
// snapshot when it is of type typ; NotFound otherwise (including one the
// snapshot does not know yet).
func (s *Service) keystoneGet(ctx context.Context, permission, id string, typ warden.ResourceType) (access.Node, error) {
	if err := s.authorize(ctx, permission, id); err != nil {
		return access.Node{}, err
	}
	n, ok := s.authz.snap.Load().Node(id)
	if !ok || n.Type != typ {
		return access.Node{}, warden.Errorf(warden.NotFound, "Could not find %s: %s.", keystoneKind[typ], id)
	}
	return n, nil
}

var keystoneKind = map[warden.ResourceType]string{warden.TypeFolder: "project", warden.TypeCloud: "domain"}

// KeystoneGetUser returns an account (GET /v3/users/{id}): one's own, or
// one the caller holds iam.serviceAccounts.get or iam.userAccounts.get on.
func (s *Service) KeystoneGetUser(ctx context.Context, id string) (KeystoneUser, error) {
	if err := s.mayReadUser(ctx, id); err != nil {
		return KeystoneUser{}, err
	}
	snap := s.authz.snap.Load()
	n, ok := snap.Node(id)
	if !ok || (n.Type != warden.TypeServiceAccount && n.Type != warden.TypeUserAccount) {
		return KeystoneUser{}, warden.Errorf(warden.NotFound, "Could not find user: %s.", id)
	}
	return s.keystoneUserView(snap, n), nil
}

// KeystoneUsers lists the accounts the caller may read (GET /v3/users):
// its own, and those it holds iam.serviceAccounts.get or
// iam.userAccounts.get on — within its token's scope, as Keystone narrows a
// domain-scoped list to the domain.
func (s *Service) KeystoneUsers(ctx context.Context, f KeystoneFilter) []KeystoneUser {
	snap := s.authz.snap.Load()
	self := SubjectFrom(ctx).ID
	var out []KeystoneUser
	for _, kind := range []struct {
		typ  warden.ResourceType
		perm string
	}{{warden.TypeServiceAccount, "iam.serviceAccounts.get"}, {warden.TypeUserAccount, "iam.userAccounts.get"}} {
		snap.Each(kind.typ, func(n access.Node) {
			if f.Name != "" && n.Name != f.Name {
				return // the cheap test first: a name filter is the usual query
			}
			u := s.keystoneUserView(snap, n)
			if f.match(u.Name, u.DomainID, "", u.Enabled) && (n.ID == self || s.allowed(ctx, kind.perm, n.ID)) {
				out = append(out, u)
			}
		})
	}
	return sortedByName(out, func(u KeystoneUser) string { return u.Name + "\x00" + u.ID })
}

// keystoneUserView names an account as Keystone does. A service account's
// domain is its folder's cloud; a user account's its organization.
func (s *Service) keystoneUserView(snap *access.Snapshot, n access.Node) KeystoneUser {
	u := KeystoneUser{ID: n.ID, Name: n.Name, DomainID: n.ParentID, Enabled: n.ActiveAt(s.now())}
	if n.Type == warden.TypeServiceAccount {
		if f, ok := snap.Node(n.ParentID); ok {
			u.DomainID = f.ParentID
		}
	}
	return u
}

// mayReadUser lets a caller read its own account, or another with the .get
// permission of its type.
func (s *Service) mayReadUser(ctx context.Context, id string) error {
	if SubjectFrom(ctx).ID == id {
		return nil
	}
	perm := "iam.serviceAccounts.get"
	if strings.HasPrefix(id, warden.PrefixUserAccount) {
		perm = "iam.userAccounts.get"
	}
	return s.authorize(ctx, perm, id)
}

// KeystoneUserProjects lists the projects a user holds a role on (GET
// /v3/users/{id}/projects): one's own, or another's with the .get
// permission on that account; only projects the caller may see.
func (s *Service) KeystoneUserProjects(ctx context.Context, id string) ([]KeystoneProject, error) {
	if err := s.mayReadUser(ctx, id); err != nil {
		return nil, err
	}
	self := SubjectFrom(ctx).ID == id
	var out []KeystoneProject
	for _, p := range s.projectsWithRole(id) {
		if self || s.allowed(ctx, "resource-manager.folders.get", p.ID) {
			out = append(out, p)
		}
	}
	return out, nil
}

// KeystoneRoles lists the role catalog (GET /v3/roles): public to any
// authenticated caller, as RoleService is.
func (s *Service) KeystoneRoles() []string {
	var out []string
	for _, r := range s.authz.catalog.Roles() {
		out = append(out, r.ID)
	}
	return out
}

// KeystoneRoleAssignments lists the bindings on projects and domains on
// which the caller may list access bindings (GET /v3/role_assignments).
// With Effective, as in Keystone, a group's assignment is listed as one of
// each member's instead.
func (s *Service) KeystoneRoleAssignments(ctx context.Context, f KeystoneAssignmentFilter) []KeystoneRoleAssignment {
	snap := s.authz.snap.Load()
	var out []KeystoneRoleAssignment
	for _, kind := range []struct {
		typ  warden.ResourceType
		perm string
	}{{warden.TypeCloud, "resource-manager.clouds.listAccessBindings"}, {warden.TypeFolder, "resource-manager.folders.listAccessBindings"}} {
		snap.Each(kind.typ, func(n access.Node) {
			if (f.ScopeID != "" && n.ID != f.ScopeID) || !s.allowed(ctx, kind.perm, n.ID) {
				return
			}
			for sub, roles := range snap.BoundRoles(n.ID) {
				typ := subjectType(snap, sub)
				group := typ == "system" || typ == string(warden.TypeGroup)
				for _, r := range roles {
					a := KeystoneRoleAssignment{RoleID: r, SubjectID: sub, ScopeID: n.ID, Domain: kind.typ == warden.TypeCloud, Group: group}
					if !group || !f.Effective {
						out = append(out, a)
						continue
					}
					// System groups have no listed members: they stay as they are.
					members := snap.Members(sub)
					if len(members) == 0 {
						out = append(out, a)
					}
					for _, m := range members {
						out = append(out, KeystoneRoleAssignment{RoleID: r, SubjectID: m, ScopeID: n.ID, Domain: a.Domain, ViaGroup: sub})
					}
				}
			}
		})
	}
	out = slices.DeleteFunc(out, func(a KeystoneRoleAssignment) bool {
		return (f.UserID != "" && (a.Group || a.SubjectID != f.UserID)) || (f.GroupID != "" && (!a.Group || a.SubjectID != f.GroupID))
	})
	slices.SortFunc(out, func(a, b KeystoneRoleAssignment) int {
		return strings.Compare(a.ScopeID+a.SubjectID+a.RoleID+a.ViaGroup, b.ScopeID+b.SubjectID+b.RoleID+b.ViaGroup)
	})
	return out
}
