package access

import (
	"fmt"
	"math/rand/v2"
	"slices"
	"testing"

	"warden"
)

// world is a hierarchy with its bindings, changed by the test as the store
// would be, to compare an edited snapshot with one built afresh.
type world struct {
	nodes    map[string]Node
	order    []string // creation order: parents first
	bindings map[string][]warden.AccessBinding
	members  map[string][]string // group → members
}

func (w *world) build(c *Catalog) *Snapshot {
	var nodes []Node
	for _, id := range w.order {
		if n, ok := w.nodes[id]; ok {
			nodes = append(nodes, n)
		}
	}
	var bs []Binding
	for id, list := range w.bindings {
		for _, b := range list {
			bs = append(bs, Binding{ResourceID: id, AccessBinding: b})
		}
	}
	var ms []Membership
	for g, list := range w.members {
		for _, m := range list {
			ms = append(ms, Membership{GroupID: g, SubjectID: m})
		}
	}
	return NewSnapshot(c, nodes, bs, ms...)
}

// sameAnswers fails unless got answers every question as want does.
func sameAnswers(t *testing.T, c *Catalog, got, want *Snapshot, ids, subs, perms []string) {
	t.Helper()
	if got.Len() != want.Len() {
		t.Fatalf("Len = %d, want %d", got.Len(), want.Len())
	}
	for _, id := range ids {
		gn, gok := got.Node(id)
		wn, wok := want.Node(id)
		if gn != wn || gok != wok {
			t.Fatalf("Node(%s) = %v %v, want %v %v", id, gn, gok, wn, wok)
		}
		for _, sub := range subs {
			for _, p := range perms {
				if g, w := got.Allowed(sub, true, p, id), want.Allowed(sub, true, p, id); g != w {
					t.Fatalf("Allowed(%s, %s, %s) = %v, want %v", sub, p, id, g, w)
				}
			}
			if g, w := got.Roles(sub, true, id), want.Roles(sub, true, id); !slices.Equal(g, w) {
				t.Fatalf("Roles(%s, %s) = %v, want %v", sub, id, g, w)
			}
			if g, w := got.HasRole(sub, true, id), want.HasRole(sub, true, id); g != w {
				t.Fatalf("HasRole(%s, %s) = %v, want %v", sub, id, g, w)
			}
		}
	}
	for _, id := range append(slices.Clone(subs), ids...) {
		if g, w := got.GroupsOf(id), want.GroupsOf(id); !slices.Equal(g, w) {
			t.Fatalf("GroupsOf(%s) = %v, want %v", id, g, w)
		}
		if g, w := got.Members(id), want.Members(id); !slices.Equal(g, w) {
			t.Fatalf("Members(%s) = %v, want %v", id, g, w)
		}
	}
	for _, holder := range subs {
		for _, target := range subs {
			g, gok := got.Covers(holder, target)
			w, wok := want.Covers(holder, target)
			if g != w || gok != wok {
				t.Fatalf("Covers(%s, %s) = %v %v, want %v %v", holder, target, g, gok, w, wok)
			}
		}
	}
	for _, p := range perms {
		if g, w := got.AllowedOnAnyRoot(subs[0], true, p), want.AllowedOnAnyRoot(subs[0], true, p); g != w {
			t.Fatalf("AllowedOnAnyRoot(%s) = %v, want %v", p, g, w)
		}
	}
}

// TestEditAgreesWithRebuild applies random creates, updates, deletes and
// binding changes one Edit at a time and checks after each that the edited
// snapshot answers as one built from scratch does, and that the snapshot it
// was edited from still answers as before.
func TestEditAgreesWithRebuild(t *testing.T) {
	c := mustCatalog(t)
	var roles []string
	for _, role := range c.Roles() {
		roles = append(roles, role.ID)
	}
	perms := []string{"iam.serviceAccounts.list", "iam.serviceAccounts.create", "resource-manager.clouds.get", "iam.serviceAccounts.update"}
	for seed := range uint64(4) {
		t.Run(fmt.Sprint("seed", seed), func(t *testing.T) {
			r := rand.New(rand.NewPCG(seed, 11))
			w := &world{nodes: map[string]Node{}, bindings: map[string][]warden.AccessBinding{}, members: map[string][]string{}}
			add := func(n Node) {
				w.nodes[n.ID] = n
				w.order = append(w.order, n.ID)
			}
			add(Node{ID: "org", Type: warden.TypeOrganization, Status: warden.StatusActive})
			subs := []string{AllUsers, AllAuthenticatedUsers, OrgUsersGroup("org")}
			var groups []string
			snap := w.build(c)
			for step := range 200 {
				var wantBefore *Snapshot
				if step%20 == 3 {
					wantBefore = w.build(c)
				}
				e := snap.Edit()
				live := slices.DeleteFunc(slices.Clone(w.order), func(id string) bool { _, ok := w.nodes[id]; return !ok })
				switch k := r.IntN(12); {
				case k < 4: // create
					parent := live[r.IntN(len(live))]
					n := Node{ID: fmt.Sprintf("n%d", step), Type: warden.TypeFolder, ParentID: parent, Status: warden.StatusActive}
					switch r.IntN(6) {
					case 0, 1:
						n.Type = warden.TypeServiceAccount
						subs = append(subs, n.ID)
					case 2: // a user of the organization
						n.Type, n.ParentID = warden.TypeUserAccount, "org"
						subs = append(subs, n.ID)
					case 3:
						n.Type, n.ParentID = warden.TypeGroup, "org"
						subs, groups = append(subs, n.ID), append(groups, n.ID)
					}
					add(n)
					if !e.PutNode(n) {
						t.Fatalf("PutNode(%v) refused a known parent", n)
					}
				case k < 5: // update
					id := live[r.IntN(len(live))]
					n := w.nodes[id]
					n.Name, n.Status = fmt.Sprint("name", step), []string{warden.StatusActive, "SUSPENDED"}[r.IntN(2)]
					w.nodes[id] = n
					if !e.PutNode(n) {
						t.Fatalf("PutNode(%v) refused an update", n)
					}
				case k < 6: // delete a leaf, and the bindings naming it
					id := live[r.IntN(len(live))]
					leaf := id != "org"
					for _, n := range w.nodes {
						leaf = leaf && n.ParentID != id
					}
					if !leaf {
						break
					}
					delete(w.nodes, id)
					delete(w.bindings, id)
					for rid, list := range w.bindings {
						w.bindings[rid] = slices.DeleteFunc(list, func(b warden.AccessBinding) bool { return b.SubjectID == id })
					}
					delete(w.members, id)
					for g, list := range w.members {
						w.members[g] = slices.DeleteFunc(list, func(m string) bool { return m == id })
					}
					e.RemoveNode(id)
				case k < 8: // set bindings
					id := live[r.IntN(len(live))]
					var bs []warden.AccessBinding
					for range r.IntN(4) {
						sub := subs[r.IntN(len(subs))]
						typ := "serviceAccount"
						if slices.Contains(groups, sub) {
							typ = "group"
						} else if sub == OrgUsersGroup("org") {
							typ = "system"
						}
						bs = append(bs, warden.AccessBinding{RoleID: roles[r.IntN(len(roles))], SubjectType: typ, SubjectID: sub})
					}
					w.bindings[id] = bs
					e.SetBindings(id, bs)
				default: // set a group's members (maybe one the snapshot no longer knows)
					if len(groups) == 0 {
						break
					}
					g := groups[r.IntN(len(groups))]
					var ms []string
					for range r.IntN(5) {
						if m := subs[r.IntN(len(subs))]; !slices.Contains(groups, m) && m[0] == 'n' {
							ms = append(ms, m)
						}
					}
					if _, ok := w.nodes[g]; !ok {
						ms = nil // the store holds no members of a deleted group
					}
					w.members[g] = ms
					e.SetMembers(g, ms)
				}
				before := snap
				snap = e.Snapshot()
				if step%4 != 3 {
					continue // every step is checked by the ones after it
				}
				ids := append(slices.Clone(w.order), "missing")
				sameAnswers(t, c, snap, w.build(c), ids, subs, perms)
				if wantBefore != nil {
					// The old snapshot is untouched by the edit.
					sameAnswers(t, c, before, wantBefore, ids, subs, perms)
				}
			}
		})
	}
}

func TestEditRefusesUnknownParent(t *testing.T) {
	c := mustCatalog(t)
	s := NewSnapshot(c, []Node{{ID: "org"}}, nil)
	e := s.Edit()
	if e.PutNode(Node{ID: "f", ParentID: "cloud"}) {
		t.Fatal("PutNode accepted a node under an unknown parent")
	}
	if e.PutNode(Node{ID: "org", ParentID: "other"}) {
		t.Fatal("PutNode accepted a move")
	}
	if got := e.Snapshot().Len(); got != 1 {
		t.Fatalf("Len = %d, want 1", got)
	}
}

// BenchmarkEditBindings: one binding change on a snapshot of 10,000
// folders and 100,000 bindings, what a write costs the node beyond its
// transaction.
func BenchmarkEditBindings(b *testing.B) {
	c := mustCatalog(b)
	var roles []string
	for _, role := range c.Roles() {
		roles = append(roles, role.ID)
	}
	r := rand.New(rand.NewPCG(1, 2))
	nodes, bindings, subs := randomWorld(r, 10000, 100000, 10000, roles)
	s := NewSnapshot(c, nodes, bindings)
	bs := []warden.AccessBinding{{RoleID: "viewer", SubjectType: "serviceAccount", SubjectID: subs[1]}}
	b.ReportAllocs()
	i := 0
	for b.Loop() {
		e := s.Edit()
		e.SetBindings(fmt.Sprintf("folder%d", i%10000), bs)
		s = e.Snapshot()
		i++
	}
}

// BenchmarkEditCreate: one resource created in a snapshot of 10,000
// folders and 100,000 bindings.
func BenchmarkEditCreate(b *testing.B) {
	c := mustCatalog(b)
	var roles []string
	for _, role := range c.Roles() {
		roles = append(roles, role.ID)
	}
	r := rand.New(rand.NewPCG(1, 2))
	nodes, bindings, _ := randomWorld(r, 10000, 100000, 10000, roles)
	s := NewSnapshot(c, nodes, bindings)
	b.ReportAllocs()
	i := 0
	for b.Loop() {
		e := s.Edit()
		e.PutNode(Node{ID: fmt.Sprintf("aje%017d", i), Type: warden.TypeServiceAccount, ParentID: "folder42", Status: warden.StatusActive})
		s = e.Snapshot()
		i++
	}
}

// TestEditForks: two edits of one snapshot each add resources, the second
// into slots the first already filled in place: each result holds its own,
// and the snapshot they started from neither.
func TestEditForks(t *testing.T) {
	c := mustCatalog(t)
	base := NewSnapshot(c, []Node{{ID: "org", Type: warden.TypeOrganization}, {ID: "folder", Type: warden.TypeFolder, ParentID: "org"}}, nil)
	edit := func(from *Snapshot, prefix string, n int) *Snapshot {
		e := from.Edit() // adds only: it copies no chunk it does not have to
		for i := range n {
			id := fmt.Sprintf("%s%d", prefix, i)
			if !e.PutNode(Node{ID: id, Type: warden.TypeServiceAccount, ParentID: "folder", Name: id}) {
				t.Fatalf("PutNode(%s) refused", id)
			}
		}
		return e.Snapshot()
	}
	a := edit(base, "a", 3)
	b := edit(base, "b", 1100) // past the shared chunk, into a new one
	a2 := edit(a, "c", 2)
	b2 := edit(b, "d", 2)
	for _, c := range []struct {
		s          *Snapshot
		name       string
		has, hasnt []string
		len        int
	}{
		{base, "base", nil, []string{"a0", "b0", "c0", "d0"}, 2},
		{a, "a", []string{"a0", "a2"}, []string{"b0", "c0", "d0"}, 5},
		{b, "b", []string{"b0", "b1099"}, []string{"a0", "c0", "d0"}, 1102},
		{a2, "a2", []string{"a0", "c1"}, []string{"b0", "d0"}, 7},
		{b2, "b2", []string{"b0", "b1099", "d1"}, []string{"a0", "c0"}, 1104},
	} {
		if got := c.s.Len(); got != c.len {
			t.Errorf("%s: Len = %d, want %d", c.name, got, c.len)
		}
		for _, id := range c.has {
			if n, ok := c.s.Node(id); !ok || n.Name != id {
				t.Errorf("%s: Node(%s) = %v, %v; want it", c.name, id, n, ok)
			}
		}
		for _, id := range c.hasnt {
			if n, ok := c.s.Node(id); ok {
				t.Errorf("%s: holds %s (%v), which another edit added", c.name, id, n)
			}
		}
	}
}
