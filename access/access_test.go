package access

import (
	"fmt"
	"math/rand/v2"
	"runtime"
	"slices"
	"testing"

	"warden"
)

func mustCatalog(t testing.TB, extra ...[]byte) *Catalog {
	t.Helper()
	c, err := NewCatalog(extra...)
	if err != nil {
		t.Fatal(err)
	}
	return c
}

func TestCatalogHierarchy(t *testing.T) {
	c := mustCatalog(t)
	tests := []struct {
		role, permission string
		want             bool
	}{
		{"viewer", "iam.serviceAccounts.list", true},
		{"viewer", "iam.serviceAccounts.create", false},
		{"editor", "iam.serviceAccounts.create", true},
		{"editor", "iam.serviceAccounts.list", true},
		{"editor", "resource-manager.folders.setAccessBindings", false},
		{"admin", "resource-manager.folders.setAccessBindings", true},
		{"admin", "postbox.emails.send", true},
		{"resource-manager.clouds.owner", "iam.serviceAccounts.delete", true},
		{"postbox.viewer", "postbox.configurationSets.list", true},
		{"postbox.viewer", "postbox.configurationSets.get", true}, // through postbox.auditor
		{"postbox.auditor", "postbox.configurationSets.list", false},
		{"postbox.editor", "postbox.emails.send", true},
		{"postbox.sender", "postbox.emails.send", true},
		{"postbox.sender", "postbox.configurationSets.list", false},
		{"iam.serviceAccounts.tokenCreator", "iam.serviceAccounts.tokens.create", true},
		{"iam.serviceAccounts.user", "iam.serviceAccounts.tokens.create", false},
		{"iam.serviceAccounts.keyAdmin", "iam.serviceAccounts.keys.create", true},
		{"viewer", "no.such.permission", false},
	}
	for _, tt := range tests {
		t.Run(tt.role+" "+tt.permission, func(t *testing.T) {
			if got := c.Grants(tt.role, tt.permission); got != tt.want {
				t.Errorf("Grants = %v, want %v", got, tt.want)
			}
		})
	}
	for _, inner := range [][2]string{{"viewer", "editor"}, {"editor", "admin"}, {"postbox.viewer", "postbox.editor"}, {"postbox.editor", "postbox.admin"}, {"iam.viewer", "iam.editor"}} {
		for _, p := range c.Permissions(inner[0]) {
			if !c.Grants(inner[1], p) {
				t.Errorf("%s grants %s but %s does not", inner[0], p, inner[1])
			}
		}
	}
}

func TestCatalogExtraRoles(t *testing.T) {
	c := mustCatalog(t, []byte(`{"roles": [{"id": "storage.uploader", "permissions": ["storage.objects.put"], "includes": ["viewer"]}]}`))
	if !c.Grants("storage.uploader", "storage.objects.put") || !c.Grants("storage.uploader", "iam.serviceAccounts.list") {
		t.Error("operator role does not grant its permissions and includes")
	}
	for name, doc := range map[string]string{
		"redefines builtin": `{"roles": [{"id": "viewer"}]}`,
		"unknown include":   `{"roles": [{"id": "x.y", "includes": ["nope"]}]}`,
		"cycle":             `{"roles": [{"id": "a.a", "includes": ["b.b"]}, {"id": "b.b", "includes": ["a.a"]}]}`,
		"bad permission":    `{"roles": [{"id": "x.y", "permissions": ["Bad Permission"]}]}`,
		"bad json":          `{"roles": [`,
	} {
		t.Run(name, func(t *testing.T) {
			if _, err := NewCatalog([]byte(doc)); err == nil {
				t.Error("NewCatalog accepted it")
			}
		})
	}
}

// reference is the plain implementation the snapshot must agree with: walk
// the ancestry, and for every binding of the subject (or its system groups)
// expand the role by following includes.
func reference(c *Catalog, nodes map[string]Node, bindings []Binding, subject string, authenticated bool, permission, resource string) bool {
	var grants func(role string, seen map[string]bool) bool
	grants = func(role string, seen map[string]bool) bool {
		r, ok := c.Role(role)
		if !ok || seen[role] {
			return false
		}
		seen[role] = true
		if slices.Contains(r.Permissions, permission) {
			return true
		}
		for _, inc := range r.Includes {
			if grants(inc, seen) {
				return true
			}
		}
		return false
	}
	for id := resource; id != ""; id = nodes[id].ParentID {
		if _, ok := nodes[id]; !ok {
			return false
		}
		for _, b := range bindings {
			if b.ResourceID != id {
				continue
			}
			matches := b.SubjectID == subject || b.SubjectID == AllUsers || (authenticated && b.SubjectID == AllAuthenticatedUsers)
			if matches && grants(b.RoleID, map[string]bool{}) {
				return true
			}
		}
	}
	return false
}

// randomWorld makes a hierarchy of orgs, clouds, folders and service
// accounts with random bindings.
func randomWorld(r *rand.Rand, folders, bindings, subjects int, roles []string) ([]Node, []Binding, []string) {
	var nodes []Node
	orgs := max(1, folders/1000)
	clouds := max(1, folders/20)
	for i := range orgs {
		nodes = append(nodes, Node{ID: fmt.Sprintf("org%d", i), Type: warden.TypeOrganization})
	}
	for i := range clouds {
		nodes = append(nodes, Node{ID: fmt.Sprintf("cloud%d", i), Type: warden.TypeCloud, ParentID: fmt.Sprintf("org%d", r.IntN(orgs))})
	}
	for i := range folders {
		nodes = append(nodes, Node{ID: fmt.Sprintf("folder%d", i), Type: warden.TypeFolder, ParentID: fmt.Sprintf("cloud%d", r.IntN(clouds))})
	}
	for i := range folders / 2 {
		nodes = append(nodes, Node{ID: fmt.Sprintf("sa%d", i), Type: warden.TypeServiceAccount, ParentID: fmt.Sprintf("folder%d", r.IntN(folders))})
	}
	subs := make([]string, subjects)
	for i := range subs {
		subs[i] = fmt.Sprintf("aje%017d", i)
	}
	var bs []Binding
	for range bindings {
		sub := subs[r.IntN(len(subs))]
		if r.IntN(200) == 0 {
			sub = []string{AllUsers, AllAuthenticatedUsers}[r.IntN(2)]
		}
		bs = append(bs, Binding{ResourceID: nodes[r.IntN(len(nodes))].ID,
			AccessBinding: warden.AccessBinding{RoleID: roles[r.IntN(len(roles))], SubjectType: "serviceAccount", SubjectID: sub}})
	}
	return nodes, bs, subs
}

func TestSnapshotAgreesWithReference(t *testing.T) {
	c := mustCatalog(t)
	var roles, perms []string
	for _, role := range c.Roles() {
		roles = append(roles, role.ID)
		perms = append(perms, role.Permissions...)
	}
	perms = append(perms, "unknown.permission.x")
	for seed := range uint64(20) {
		t.Run(fmt.Sprint("seed", seed), func(t *testing.T) {
			r := rand.New(rand.NewPCG(seed, 7))
			nodes, bindings, subs := randomWorld(r, 5+r.IntN(60), r.IntN(300), 1+r.IntN(20), roles)
			byID := map[string]Node{}
			for _, n := range nodes {
				byID[n.ID] = n
			}
			s := NewSnapshot(c, nodes, bindings)
			for range 2000 {
				sub := subs[r.IntN(len(subs))]
				auth := r.IntN(4) != 0
				perm := perms[r.IntN(len(perms))]
				res := nodes[r.IntN(len(nodes))].ID
				if r.IntN(50) == 0 {
					res = "missing"
				}
				if got, want := s.Allowed(sub, auth, perm, res), reference(c, byID, bindings, sub, auth, perm, res); got != want {
					t.Fatalf("Allowed(%s, %v, %s, %s) = %v, reference says %v", sub, auth, perm, res, got, want)
				}
			}
		})
	}
}

func TestSystemGroups(t *testing.T) {
	c := mustCatalog(t)
	nodes := []Node{{ID: "org"}, {ID: "cloud", ParentID: "org"}, {ID: "f1", ParentID: "cloud"}, {ID: "f2", ParentID: "cloud"}}
	s := NewSnapshot(c, nodes, []Binding{
		{ResourceID: "f1", AccessBinding: warden.AccessBinding{RoleID: "viewer", SubjectType: "system", SubjectID: AllUsers}},
		{ResourceID: "f2", AccessBinding: warden.AccessBinding{RoleID: "viewer", SubjectType: "system", SubjectID: AllAuthenticatedUsers}},
		{ResourceID: "org", AccessBinding: warden.AccessBinding{RoleID: "editor", SubjectType: "userAccount", SubjectID: "alice"}},
	})
	tests := []struct {
		name, subject string
		auth          bool
		perm, res     string
		want          bool
	}{
		{"allUsers admits anonymous", "", false, "iam.serviceAccounts.list", "f1", true},
		{"allAuthenticatedUsers refuses anonymous", "", false, "iam.serviceAccounts.list", "f2", false},
		{"allAuthenticatedUsers admits anyone signed in", "bob", true, "iam.serviceAccounts.list", "f2", true},
		{"group binding grants only its role", "bob", true, "iam.serviceAccounts.create", "f1", false},
		{"organization binding reaches every folder", "alice", true, "iam.serviceAccounts.create", "f2", true},
		{"organization binding reaches the cloud", "alice", true, "resource-manager.clouds.get", "cloud", true},
		{"nothing upward", "bob", true, "resource-manager.clouds.get", "cloud", false},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if got := s.Allowed(tt.subject, tt.auth, tt.perm, tt.res); got != tt.want {
				t.Errorf("Allowed = %v, want %v", got, tt.want)
			}
		})
	}
}

// BenchmarkAllowed: 10,000 folders, 100,000 bindings, 10,000 subjects.
func BenchmarkAllowed(b *testing.B) {
	c := mustCatalog(b)
	var roles []string
	for _, role := range c.Roles() {
		roles = append(roles, role.ID)
	}
	r := rand.New(rand.NewPCG(1, 2))
	var before runtime.MemStats
	runtime.GC()
	runtime.ReadMemStats(&before)
	nodes, bindings, subs := randomWorld(r, 10000, 100000, 10000, roles)
	s := NewSnapshot(c, nodes, bindings)
	var after runtime.MemStats
	runtime.GC()
	runtime.ReadMemStats(&after)
	folder := "folder4242"
	b.ReportAllocs()
	for b.Loop() {
		s.Allowed(subs[77], true, "iam.serviceAccounts.list", folder)
	}
	b.ReportMetric(float64(after.HeapAlloc-before.HeapAlloc)/(1<<20), "MiB-heap")
}
