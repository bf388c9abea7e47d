package e2e

import (
	"slices"
	"strings"
	"testing"
)

// TestKeystoneListFilters: the list views answer Keystone's query filters
// as the OpenStack clients send them (the Terraform provider's data
// sources: GET /v3/users?name=, /v3/projects?enabled=true&is_domain=false,
// /v3/roles?name=), and never widen a list by a filter they cannot apply;
// a write (Terraform's identity resources) is refused as read-only.
func TestKeystoneListFilters(t *testing.T) {
	n := start(t, t.TempDir(), "")
	w := newKSWorld(t, n)
	sa := n.rest("POST", "/iam/v1/serviceAccounts", w.admin, map[string]any{"folderId": w.folderA, "name": "other"})
	other := str(sa.body, "response", "id")
	if sa.status != 200 || other == "" {
		t.Fatalf("create a service account in folder A: %d %s", sa.status, sa.raw)
	}
	domain := w.issue(t, `{"domain":{"id":"`+w.cloud+`"}}`)
	projectA := w.issue(t, projectScope(w.folderA))
	projectB := w.issue(t, projectScope(w.folderB))
	unscoped := w.issue(t, "")

	ids := func(token, path, key string) []string {
		t.Helper()
		r := n.ks("GET", path, map[string]string{"X-Auth-Token": token}, "")
		list, ok := r.body[key].([]any)
		if r.status != 200 || !ok {
			t.Fatalf("GET %s: %d %s", path, r.status, r.raw)
		}
		out := []string{}
		for _, x := range list {
			out = append(out, str(x, "id"))
		}
		return out
	}
	for _, c := range []struct {
		name, token, path, key string
		want                   []string
	}{
		// The robot holds editor on the cloud: a domain token sees every
		// account of it; a project token those of its project, and itself.
		{"users, domain token", domain, "/v3/users", "users", []string{other, w.robot}},
		{"users, project A token", projectA, "/v3/users", "users", []string{other, w.robot}},
		{"users, project B token", projectB, "/v3/users", "users", []string{w.robot}},
		{"users, unscoped token", unscoped, "/v3/users", "users", []string{w.robot}},
		{"projects, unscoped token", unscoped, "/v3/projects", "projects", []string{}},
		{"users by name", domain, "/v3/users?name=robot", "users", []string{w.robot}},
		{"users by name and domain", domain, "/v3/users?name=robot&domain_id=" + w.cloud, "users", []string{w.robot}},
		{"users of another domain", domain, "/v3/users?name=robot&domain_id=" + w.folderA, "users", []string{}},
		{"users, enabled", domain, "/v3/users?name=other&enabled=true", "users", []string{other}},
		{"users, disabled", domain, "/v3/users?enabled=false", "users", []string{}},
		{"users by identity provider", domain, "/v3/users?name=robot&idp_id=corp", "users", []string{}},
		{"users by unique id", domain, "/v3/users?unique_id=" + w.robot, "users", []string{}},
		{"projects as the provider asks", domain, "/v3/projects?enabled=true&is_domain=false&name=default", "projects", []string{w.folderA}},
		{"projects by parent", domain, "/v3/projects?parent_id=" + w.cloud + "&name=folder-b", "projects", []string{w.folderB}},
		{"projects of another parent", domain, "/v3/projects?parent_id=" + w.folderA, "projects", []string{}},
		{"projects, disabled", domain, "/v3/projects?enabled=0", "projects", []string{}},
		{"projects acting as domains", domain, "/v3/projects?is_domain=true", "projects", []string{}},
		{"domains, enabled", domain, "/v3/domains?enabled=yes", "domains", []string{w.cloud}},
		{"domains, disabled", domain, "/v3/domains?enabled=false", "domains", []string{}},
		{"roles by name", projectA, "/v3/roles?name=editor", "roles", []string{"editor"}},
		{"roles of a domain", projectA, "/v3/roles?name=editor&domain_id=" + w.cloud, "roles", []string{}},
	} {
		got := ids(c.token, c.path, c.key)
		slices.Sort(got)
		want := slices.Sorted(slices.Values(c.want))
		if !slices.Equal(got, want) {
			t.Errorf("%s: GET %s = %v, want %v", c.name, c.path, got, want)
		}
	}
	// The catalog's services and endpoints; an unknown one is Keystone's 404.
	if got := ids(domain, "/v3/services?type=identity", "services"); len(got) != 1 {
		t.Errorf("services of type identity: %v", got)
	}
	if got := ids(domain, "/v3/services?type=object-store", "services"); len(got) != 0 {
		t.Errorf("services of a type the catalog lacks: %v", got)
	}
	if got := ids(domain, "/identity/v3/endpoints?interface=admin", "endpoints"); len(got) != 1 {
		t.Errorf("admin endpoints: %v", got)
	}
	keystoneError(t, "an unknown service", n.ks("GET", "/v3/services/nope", map[string]string{"X-Auth-Token": domain}, ""), 404)
	keystoneError(t, "an unknown endpoint", n.ks("GET", "/v3/endpoints/nope", map[string]string{"X-Auth-Token": domain}, ""), 404)
	keystoneError(t, "services without a token", n.ks("GET", "/v3/services", nil, ""), 401)
	// A boolean filter that is no boolean is refused in Keystone's shape.
	for _, path := range []string{"/v3/users?enabled=maybe", "/v3/projects?is_domain=2", "/v3/domains?enabled=off-ish"} {
		keystoneError(t, path, n.ks("GET", path, map[string]string{"X-Auth-Token": domain}, ""), 400)
	}
	// A write is refused as read-only, not answered as a missing path.
	for _, c := range [][2]string{{"POST", "/identity/v3/projects"}, {"PATCH", "/v3/projects/" + w.folderA}, {"DELETE", "/v3/users/" + w.robot},
		{"PUT", "/v3/projects/" + w.folderA + "/users/" + w.robot + "/roles/editor"}} {
		r := n.ks(c[0], c[1], map[string]string{"X-Auth-Token": domain}, `{"project":{"name":"x"}}`)
		keystoneError(t, c[0]+" "+c[1], r, 403)
		if !strings.Contains(str(r.body, "error", "message"), "read-only") {
			t.Errorf("%s %s: %s, want it to say the API is read-only", c[0], c[1], r.raw)
		}
	}
	// Listing needs a credential, as every view does.
	keystoneError(t, "GET /v3/users without a token", n.ks("GET", "/v3/users", nil, ""), 401)
}

// TestKeystoneRoleAssignmentsGroups: a binding to a group is a group's
// assignment in GET /v3/role_assignments, and ?effective lists it as each
// member's own, with the membership link, as Keystone does.
func TestKeystoneRoleAssignmentsGroups(t *testing.T) {
	n := start(t, t.TempDir(), "")
	w := newKSWorld(t, n)
	org := n.m.Bootstrap().OrganizationID
	group := w.groupWith(t, org, "readers", w.robot)
	w.bind(t, "/resource-manager/v1/folders/"+w.folderB, "ADD", "viewer", "group", group)
	domain := w.issue(t, `{"domain":{"id":"`+w.cloud+`"}}`)

	list := func(query string) []string {
		t.Helper()
		r := n.ks("GET", "/v3/role_assignments?"+query, map[string]string{"X-Auth-Token": domain}, "")
		items, ok := r.body["role_assignments"].([]any)
		if r.status != 200 || !ok {
			t.Fatalf("GET /v3/role_assignments?%s: %d %s", query, r.status, r.raw)
		}
		var out []string
		for _, it := range items {
			m := it.(map[string]any)
			kind, id := "user", str(m, "user", "id")
			if id == "" {
				kind, id = "group", str(m, "group", "id")
			}
			row := kind + ":" + id + " " + str(m, "role", "id")
			if link := str(m, "links", "membership"); link != "" {
				row += " member"
			}
			out = append(out, row)
		}
		slices.Sort(out)
		return out
	}
	scope := "scope.project.id=" + w.folderB
	if got, want := list(scope), []string{"group:" + group + " viewer"}; !slices.Equal(got, want) {
		t.Errorf("assignments on folder B = %v, want %v", got, want)
	}
	if got, want := list(scope+"&effective"), []string{"user:" + w.robot + " viewer member"}; !slices.Equal(got, want) {
		t.Errorf("effective assignments on folder B = %v, want %v", got, want)
	}
	if got, want := list("group.id="+group), []string{"group:" + group + " viewer"}; !slices.Equal(got, want) {
		t.Errorf("the group's assignments = %v, want %v", got, want)
	}
	if got := list("user.id=" + w.robot + "&" + scope); len(got) != 0 {
		t.Errorf("the robot's own assignments on folder B (none: only through the group) = %v", got)
	}
	if got, want := list("user.id="+w.robot+"&"+scope+"&effective=true"), []string{"user:" + w.robot + " viewer member"}; !slices.Equal(got, want) {
		t.Errorf("the robot's effective assignments on folder B = %v, want %v", got, want)
	}
	keystoneError(t, "effective=maybe", n.ks("GET", "/v3/role_assignments?effective=maybe", map[string]string{"X-Auth-Token": domain}, ""), 400)
}
