package access

import (
	"fmt"
	"math/rand/v2"
	"runtime"
	"slices"
	"syscall"
	"testing"
	"time"

	"warden"
)

// groupReference is reference with groups: a binding to a group counts for
// its direct members, one to an organization's members group for that
// organization's users, both for authenticated callers only.
func groupReference(c *Catalog, nodes map[string]Node, bindings []Binding, members map[string][]string, subject string, authenticated bool, permission, resource string) bool {
	if reference(c, nodes, bindings, subject, authenticated, permission, resource) {
		return true
	}
	if !authenticated {
		return false
	}
	var via []Binding
	for _, b := range bindings {
		held := slices.Contains(members[b.SubjectID], subject)
		if org, ok := OrgOfUsersGroup(b.SubjectID); ok {
			n, known := nodes[subject]
			held = known && n.Type == warden.TypeUserAccount && n.ParentID == org
		}
		if held {
			b.SubjectID = subject // as if bound to the subject itself
			via = append(via, b)
		}
	}
	return reference(c, nodes, via, subject, true, permission, resource)
}

// groupWorld is randomWorld with users in organizations, groups of users
// and service accounts, and bindings to groups and organizations' members
// groups.
func groupWorld(r *rand.Rand, roles []string) ([]Node, []Binding, []Membership, []string) {
	nodes, bindings, subs := randomWorld(r, 5+r.IntN(40), r.IntN(100), 1+r.IntN(10), roles)
	// A second organization, so that users of one and bindings of the
	// other's members group meet.
	nodes = append(nodes, Node{ID: "orgX", Type: warden.TypeOrganization})
	var orgs []string
	for _, n := range nodes {
		if n.Type == warden.TypeOrganization {
			orgs = append(orgs, n.ID)
		}
	}
	var users, groups []string
	for i := range 1 + r.IntN(10) {
		id := fmt.Sprintf("aju%017d", i)
		nodes = append(nodes, Node{ID: id, Type: warden.TypeUserAccount, ParentID: orgs[r.IntN(len(orgs))]})
		users = append(users, id)
	}
	for i := range 1 + r.IntN(6) {
		id := fmt.Sprintf("ajg%017d", i)
		nodes = append(nodes, Node{ID: id, Type: warden.TypeGroup, ParentID: orgs[r.IntN(len(orgs))]})
		groups = append(groups, id)
	}
	members := append(slices.Clone(users), subs...)
	var ms []Membership
	for range r.IntN(30) {
		ms = append(ms, Membership{GroupID: groups[r.IntN(len(groups))], SubjectID: members[r.IntN(len(members))]})
	}
	for range r.IntN(200) {
		sub, typ := groups[r.IntN(len(groups))], "group"
		if r.IntN(4) == 0 {
			sub, typ = OrgUsersGroup(orgs[r.IntN(len(orgs))]), "system"
		}
		bindings = append(bindings, Binding{ResourceID: nodes[r.IntN(len(nodes))].ID,
			AccessBinding: warden.AccessBinding{RoleID: roles[r.IntN(len(roles))], SubjectType: typ, SubjectID: sub}})
	}
	return nodes, bindings, ms, append(members, groups...)
}

func TestGroupsAgreeWithReference(t *testing.T) {
	c := mustCatalog(t)
	var roles, perms []string
	for _, role := range c.Roles() {
		roles = append(roles, role.ID)
		perms = append(perms, role.Permissions...)
	}
	for seed := range uint64(20) {
		t.Run(fmt.Sprint("seed", seed), func(t *testing.T) {
			r := rand.New(rand.NewPCG(seed, 13))
			nodes, bindings, ms, subs := groupWorld(r, roles)
			byID := map[string]Node{}
			for _, n := range nodes {
				byID[n.ID] = n
			}
			members := map[string][]string{}
			for _, m := range ms {
				members[m.GroupID] = append(members[m.GroupID], m.SubjectID)
			}
			s := NewSnapshot(c, nodes, bindings, ms...)
			granted := 0
			for range 3000 {
				sub := subs[r.IntN(len(subs))]
				auth := r.IntN(6) != 0
				perm := perms[r.IntN(len(perms))]
				res := nodes[r.IntN(len(nodes))].ID
				got, want := s.Allowed(sub, auth, perm, res), groupReference(c, byID, bindings, members, sub, auth, perm, res)
				if got != want {
					t.Fatalf("Allowed(%s, %v, %s, %s) = %v, reference says %v", sub, auth, perm, res, got, want)
				}
				if got && !reference(c, byID, bindings, sub, auth, perm, res) {
					granted++
				}
			}
			for _, sub := range subs {
				var want []string
				for _, m := range ms {
					if m.SubjectID == sub {
						want = append(want, m.GroupID)
					}
				}
				if got := s.GroupsOf(sub); !slices.Equal(got, slices.Compact(slices.Sorted(slices.Values(want)))) {
					t.Fatalf("GroupsOf(%s) = %v, want %v", sub, got, want)
				}
			}
			t.Logf("%d checks granted through groups alone", granted)
		})
	}
}

// TestGroupGrants: a group's binding is held by its members, a member
// of nothing holds nothing through it, an organization's members group
// holds its users and not its service accounts, and the escalation guard
// counts what either side holds through groups.
func TestGroupGrants(t *testing.T) {
	c := mustCatalog(t)
	nodes := []Node{
		{ID: "org", Type: warden.TypeOrganization}, {ID: "other", Type: warden.TypeOrganization},
		{ID: "cloud", Type: warden.TypeCloud, ParentID: "org"},
		{ID: "f1", Type: warden.TypeFolder, ParentID: "cloud"}, {ID: "f2", Type: warden.TypeFolder, ParentID: "cloud"},
		{ID: "alice", Type: warden.TypeUserAccount, ParentID: "org"}, {ID: "bob", Type: warden.TypeUserAccount, ParentID: "org"},
		{ID: "eve", Type: warden.TypeUserAccount, ParentID: "other"},
		{ID: "robot", Type: warden.TypeServiceAccount, ParentID: "f1"},
		{ID: "devs", Type: warden.TypeGroup, ParentID: "org"}, {ID: "ops", Type: warden.TypeGroup, ParentID: "org"},
	}
	bind := func(res, role, typ, sub string) Binding {
		return Binding{ResourceID: res, AccessBinding: warden.AccessBinding{RoleID: role, SubjectType: typ, SubjectID: sub}}
	}
	s := NewSnapshot(c, nodes, []Binding{
		bind("f1", "editor", "group", "devs"),
		bind("f2", "admin", "group", "ops"),
		bind("cloud", "viewer", "system", OrgUsersGroup("org")),
	}, Membership{GroupID: "devs", SubjectID: "alice"}, Membership{GroupID: "devs", SubjectID: "robot"}, Membership{GroupID: "ops", SubjectID: "robot"})

	for _, tt := range []struct {
		name, sub string
		auth      bool
		perm, res string
		want      bool
	}{
		{"a member holds the group's role", "alice", true, "iam.serviceAccounts.create", "f1", true},
		{"only where it is bound", "alice", true, "iam.serviceAccounts.create", "f2", false},
		{"a non-member holds nothing of it", "bob", true, "iam.serviceAccounts.create", "f1", false},
		{"a service account member", "robot", true, "resource-manager.folders.setAccessBindings", "f2", true},
		{"anonymous holds no group's role", "alice", false, "iam.serviceAccounts.create", "f1", false},
		{"the organization's users hold its members group's role", "bob", true, "resource-manager.clouds.get", "f2", true},
		{"not another organization's user", "eve", true, "resource-manager.clouds.get", "f2", false},
		{"not a service account", "robot", true, "resource-manager.folders.get", "cloud", false},
	} {
		t.Run(tt.name, func(t *testing.T) {
			if got := s.Allowed(tt.sub, tt.auth, tt.perm, tt.res); got != tt.want {
				t.Errorf("Allowed(%s, %s, %s) = %v, want %v", tt.sub, tt.perm, tt.res, got, tt.want)
			}
		})
	}
	if got := s.Roles("alice", true, "f1"); !slices.Equal(got, []string{"editor", "viewer"}) {
		t.Errorf("Roles(alice, f1) = %v, want editor (devs) and viewer (the organization's users)", got)
	}
	if !s.HasRole("bob", true, "f1") || s.HasRole("eve", true, "f1") {
		t.Error("HasRole ignores the organization's members group")
	}
	if got := s.GroupsOf("robot"); !slices.Equal(got, []string{"devs", "ops"}) {
		t.Errorf("GroupsOf(robot) = %v", got)
	}
	if got := s.Members("devs"); !slices.Equal(got, []string{"alice", "robot"}) {
		t.Errorf("Members(devs) = %v", got)
	}
	// alice (editor on f1 through devs) lacks the admin robot holds on f2
	// through ops: she may not mint its credential; and what she holds
	// through devs counts for her against a target bound editor on f1.
	if short, ok := s.Covers("alice", "robot"); ok || short.ResourceID != "f2" {
		t.Errorf("Covers(alice, robot) = %v %v, want a shortfall on f2", short, ok)
	}
	s2 := s.Edit()
	s2.SetBindings("f1", []warden.AccessBinding{{RoleID: "editor", SubjectType: "group", SubjectID: "devs"}, {RoleID: "editor", SubjectType: "userAccount", SubjectID: "bob"}})
	s2.SetMembers("ops", nil)
	after := s2.Snapshot()
	if _, ok := after.Covers("alice", "bob"); !ok {
		t.Error("alice's editor on f1 through devs does not cover bob's direct editor there")
	}
	if _, ok := after.Covers("bob", "robot"); !ok {
		t.Error("bob (editor on f1) does not cover robot (editor on f1 through devs, ops emptied)")
	}
	if _, ok := s.Covers("bob", "robot"); ok {
		t.Error("the old snapshot changed with the edit")
	}
	if got, ok := after.BoundOutside("robot", "f2"); !ok || got != "f1" {
		t.Errorf("BoundOutside(robot, f2) = %v %v, want f1 through devs", got, ok)
	}
	// Removing a group or a member takes the memberships along.
	e := after.Edit()
	_, regrouped := e.RemoveNode("devs")
	if !slices.Equal(regrouped, []string{"devs"}) {
		t.Errorf("RemoveNode(devs) regrouped %v", regrouped)
	}
	gone := e.Snapshot()
	if gone.Allowed("alice", true, "iam.serviceAccounts.create", "f1") || len(gone.GroupsOf("alice")) != 0 || len(gone.Members("devs")) != 0 {
		t.Error("a deleted group still grants or has members")
	}
	e = after.Edit()
	if _, regrouped := e.RemoveNode("alice"); !slices.Equal(regrouped, []string{"devs"}) {
		t.Errorf("RemoveNode(alice) regrouped %v", regrouped)
	}
	if got := e.Snapshot().Members("devs"); !slices.Equal(got, []string{"robot"}) {
		t.Errorf("Members(devs) after deleting alice = %v", got)
	}
}

// TestAllowedThroughGroupAllocatesNothing: the check through a group
// costs no allocation.
func TestAllowedThroughGroupAllocatesNothing(t *testing.T) {
	s, user, folder := groupBench(t, 100, 10, 1000)
	if !s.Allowed(user, true, "iam.serviceAccounts.create", folder) {
		t.Fatal("the bench world does not grant through a group")
	}
	if n := testing.AllocsPerRun(100, func() { s.Allowed(user, true, "iam.serviceAccounts.create", folder) }); n != 0 {
		t.Fatalf("Allowed through a group: %v allocations, want 0", n)
	}
}

// groupBench makes an organization of folders (10 per cloud), users and
// groups of members users each, bindings group bindings (editor or viewer
// of a random group on a random folder), and returns it with a user and a
// folder where one of the user's groups holds editor.
func groupBench(tb testing.TB, groups, members, bindings int) (s *Snapshot, user, folder string) {
	c := mustCatalog(tb)
	r := rand.New(rand.NewPCG(3, 4))
	folders := max(10, bindings/10)
	users := max(1, groups*members/10) // each user in ~10 groups
	nodes := []Node{{ID: "bpf00000000000000000", Type: warden.TypeOrganization}}
	for i := range folders / 10 {
		nodes = append(nodes, Node{ID: fmt.Sprintf("b1g%017d", i), Type: warden.TypeCloud, ParentID: nodes[0].ID})
	}
	for i := range folders {
		nodes = append(nodes, Node{ID: fmt.Sprintf("b1f%017d", i), Type: warden.TypeFolder, ParentID: fmt.Sprintf("b1g%017d", i/10)})
	}
	for i := range users {
		nodes = append(nodes, Node{ID: fmt.Sprintf("aju%017d", i), Type: warden.TypeUserAccount, ParentID: nodes[0].ID})
	}
	var ms []Membership
	for g := range groups {
		id := fmt.Sprintf("ajg%017d", g)
		nodes = append(nodes, Node{ID: id, Type: warden.TypeGroup, ParentID: nodes[0].ID})
		for range members {
			ms = append(ms, Membership{GroupID: id, SubjectID: fmt.Sprintf("aju%017d", r.IntN(users))})
		}
	}
	var bs []Binding
	for range bindings {
		role := []string{"viewer", "editor"}[r.IntN(2)]
		bs = append(bs, Binding{ResourceID: fmt.Sprintf("b1f%017d", r.IntN(folders)),
			AccessBinding: warden.AccessBinding{RoleID: role, SubjectType: "group", SubjectID: fmt.Sprintf("ajg%017d", r.IntN(groups))}})
	}
	// The checked user: a member of the last group, which holds editor on
	// the last folder, at the end of the user's groups.
	user, folder = ms[0].SubjectID, fmt.Sprintf("b1f%017d", folders-1)
	last := fmt.Sprintf("ajg%017d", groups-1)
	ms = append(ms, Membership{GroupID: last, SubjectID: user})
	bs = append(bs, Binding{ResourceID: folder, AccessBinding: warden.AccessBinding{RoleID: "editor", SubjectType: "group", SubjectID: last}})
	return NewSnapshot(c, nodes, bs, ms...), user, folder
}

// BenchmarkAllowedThroughGroup: the check of a user who holds the
// permission through one of its ~10 groups, in an organization of 10,000
// groups of 100 members and 100,000 group bindings on 10,000 folders.
// MiB-heap is the snapshot's memory.
func BenchmarkAllowedThroughGroup(b *testing.B) {
	var before, after runtime.MemStats
	runtime.GC()
	runtime.ReadMemStats(&before)
	s, user, folder := groupBench(b, 10000, 100, 100000)
	runtime.GC()
	runtime.ReadMemStats(&after)
	// cpu-ns/op is the CPU time of the benchmark's thread: on a shared
	// machine, what a check costs apart from the time it waits to run.
	runtime.LockOSThread()
	defer runtime.UnlockOSThread()
	b.ReportAllocs()
	cpu := threadCPU()
	for b.Loop() {
		if !s.Allowed(user, true, "iam.serviceAccounts.create", folder) {
			b.Fatal("denied")
		}
	}
	b.ReportMetric(float64(threadCPU()-cpu)/float64(b.N), "cpu-ns/op")
	b.ReportMetric(float64(after.HeapAlloc-before.HeapAlloc)/(1<<20), "MiB-heap")
	b.ReportMetric(float64(len(s.GroupsOf(user))), "groups/user")
}

// threadCPU is the CPU time of the calling OS thread (lock the goroutine
// to it first).
func threadCPU() time.Duration {
	var u syscall.Rusage
	syscall.Getrusage(syscall.RUSAGE_THREAD, &u)
	return time.Duration(u.Utime.Nano() + u.Stime.Nano())
}

// BenchmarkEditMembers: one member added to and removed from a group of
// 100 in the snapshot of BenchmarkAllowedThroughGroup — what a membership
// change costs a node beyond its transaction (both on the writing node
// and, from the feed, on the others).
func BenchmarkEditMembers(b *testing.B) {
	s, user, _ := groupBench(b, 10000, 100, 100000)
	group := "ajg00000000000000042"
	members := slices.Clone(s.Members(group))
	with := append(slices.Clone(members), user)
	b.ReportAllocs()
	i := 0
	for b.Loop() {
		e := s.Edit()
		if i%2 == 0 {
			e.SetMembers(group, with)
		} else {
			e.SetMembers(group, members)
		}
		s = e.Snapshot()
		i++
	}
}
