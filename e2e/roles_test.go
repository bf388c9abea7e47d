package e2e

import (
	"os"
	"path/filepath"
	"testing"

	"warden/server"
)

// TestOperatorRolesAndRoleService: roles added through configuration are
// listed, bindable and enforced through the access service.
func TestOperatorRolesAndRoleService(t *testing.T) {
	file := filepath.Join(t.TempDir(), "roles.json")
	os.WriteFile(file, []byte(`{"roles": [{"id": "monitoring.writer", "description": "Writes metrics", "permissions": ["monitoring.metrics.write"]}]}`), 0o600)
	n := start(t, t.TempDir(), "", func(c *server.Config) { c.RolesFiles = []string{file} })
	w := newWorld(t, n)
	if r := n.rest("GET", "/iam/v1/roles/monitoring.writer", w.robotToken, nil); r.status != 200 || str(r.body, "description") != "Writes metrics" {
		t.Errorf("get operator role: %d %s", r.status, r.raw)
	}
	if r := n.rest("GET", "/iam/v1/roles/viewer", w.robotToken, nil); r.status != 200 {
		t.Errorf("get viewer: %d %s", r.status, r.raw)
	}
	if r := n.rest("GET", "/iam/v1/roles/nope", w.robotToken, nil); r.status != 404 {
		t.Errorf("get unknown role: %d", r.status)
	}
	page := n.rest("GET", "/iam/v1/roles?pageSize=2", w.robotToken, nil)
	roles, _ := page.body["roles"].([]any)
	if len(roles) != 2 || str(page.body, "nextPageToken") == "" {
		t.Fatalf("first page: %s", page.raw)
	}
	seen := map[string]bool{}
	for tok := ""; ; {
		r := n.rest("GET", "/iam/v1/roles?pageSize=7&pageToken="+tok, w.robotToken, nil)
		list, _ := r.body["roles"].([]any)
		for _, role := range list {
			if seen[str(role, "id")] {
				t.Fatalf("role %s on two pages", str(role, "id"))
			}
			seen[str(role, "id")] = true
		}
		if tok = str(r.body, "nextPageToken"); tok == "" {
			break
		}
	}
	for _, id := range []string{"viewer", "editor", "admin", "postbox.auditor", "iam.serviceAccounts.tokenCreator", "resource-manager.clouds.owner", "monitoring.writer"} {
		if !seen[id] {
			t.Errorf("role %s not listed", id)
		}
	}
	filtered := n.rest("GET", `/iam/v1/roles?filter=name%3D%22editor%22`, w.robotToken, nil)
	if list, _ := filtered.body["roles"].([]any); len(list) != 1 {
		t.Errorf("filtered list: %s", filtered.raw)
	}

	w.bind(t, "/resource-manager/v1/folders/"+w.folderA, "ADD", "monitoring.writer", "serviceAccount", w.robot)
	z := n.rest("POST", "/access/v1:authorize", "", map[string]any{
		"request": map[string]any{"headers": map[string][]string{"Authorization": {"Bearer " + w.robotToken}}},
		"checks":  []any{map[string]any{"permission": "monitoring.metrics.write", "resource": map[string]string{"id": w.folderA}}},
	})
	if results, _ := z.body["results"].([]any); len(results) != 1 || results[0].(map[string]any)["allowed"] != true {
		t.Errorf("operator role not enforced: %s", z.raw)
	}
}
