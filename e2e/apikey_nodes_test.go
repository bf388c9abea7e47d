package e2e

import (
	"encoding/json"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"

	"warden/server"
)

// TestAPIKeyChangesAcrossNodes: with two wardend processes on one
// PostgreSQL database and the default refresh interval, a key created,
// disabled, re-enabled, restricted or deleted through one — or its account
// suspended — is enforced by the other within a second.
func TestAPIKeyChangesAcrossNodes(t *testing.T) {
	pg := postgresBackend(t)
	dir, db := t.TempDir(), pg.database(t)
	defaults := func(c *server.Config) { c.RefreshInterval = 200 * time.Millisecond }
	a := start(t, dir, db, defaults)
	b := start(t, dir, db, defaults)
	w := newWorld(t, a)

	create := a.rest("POST", "/api/v1/service-accounts/credentials/api-keys", w.admin, map[string]any{
		"name": "across-nodes", "serviceAccountId": w.robot, "products": []string{"postbox"},
		"restrictions": map[string]any{"ipAddresses": map[string]any{"ipAddresses": []string{"10.0.0.0/8"}}},
	})
	if create.status != 200 {
		t.Fatalf("create through a: %s", create.raw)
	}
	id, secret := str(create.body, "id"), str(create.body, "secret")
	authenticate := func(n *node, client string) int {
		return n.rest("POST", "/access/v1:authenticate", "", map[string]any{"request": map[string]any{
			"headers": map[string]any{"Authorization": []string{"Api-Key " + secret}}, "clientAddress": client, "service": "postbox",
		}}).status
	}
	patch := func(body map[string]any) {
		t.Helper()
		if r := a.rest("PATCH", "/api/v1/service-accounts/credentials/api-keys/"+id, w.admin, body); r.status != 200 {
			t.Fatalf("PATCH %v through a: %s", body, r.raw)
		}
	}

	within(t, "a new key through a accepted by b", func() bool { return authenticate(b, "10.1.1.1") == 200 })

	patch(map[string]any{"enabled": false})
	within(t, "disable through a enforced by b", func() bool { return authenticate(b, "10.1.1.1") == 401 })
	patch(map[string]any{"enabled": true})
	within(t, "enable through a seen by b", func() bool { return authenticate(b, "10.1.1.1") == 200 })

	patch(map[string]any{"restrictions": map[string]any{"ipAddresses": map[string]any{"ipAddresses": []string{"192.168.0.0/16"}}}})
	within(t, "restriction edit through a enforced by b", func() bool {
		return authenticate(b, "10.1.1.1") == 401 && authenticate(b, "192.168.3.4") == 200
	})

	a.rest("POST", "/iam/v1/serviceAccounts/"+w.robot+":suspend", w.admin, map[string]any{})
	within(t, "suspension through a enforced by b", func() bool { return authenticate(b, "192.168.3.4") == 401 })
	a.rest("POST", "/iam/v1/serviceAccounts/"+w.robot+":reactivate", w.admin, map[string]any{})
	within(t, "reactivation through a seen by b", func() bool { return authenticate(b, "192.168.3.4") == 200 })

	if r := a.rest("DELETE", "/api/v1/service-accounts/credentials/api-keys/"+id, w.admin, nil); r.status != 200 {
		t.Fatalf("delete through a: %s", r.raw)
	}
	within(t, "delete through a enforced by b", func() bool { return authenticate(b, "192.168.3.4") == 401 })
}

// TestProductsFile: an operator's products file replaces the built-in
// products, for the products list and for what keys may be bound to.
func TestProductsFile(t *testing.T) {
	dir := t.TempDir()
	file := filepath.Join(dir, "products.json")
	os.WriteFile(file, []byte(`{"products": [{"name": "billing", "description": "Billing API", "endpoints": ["billing.example.net"], "scopes": ["yc.billing.read"]}]}`), 0o600)
	n := start(t, dir, "", func(c *server.Config) { c.ProductsFile = file })
	tok := n.iamToken()
	r := n.rest("GET", "/api/v1/products", tok, nil)
	products, _ := r.body["products"].([]any)
	if r.status != 200 || len(products) != 1 || str(products[0], "name") != "billing" || str(products[0], "id") == "" {
		t.Fatalf("GET /api/v1/products = %d %s, want only billing", r.status, r.raw)
	}
	sa := n.rest("POST", "/iam/v1/serviceAccounts", tok, map[string]any{"folderId": n.defaultFolder(tok), "name": "biller"})
	robot := str(sa.body, "response", "id")
	for product, want := range map[string]int{"billing": 200, "postbox": 400} {
		r := n.rest("POST", "/api/v1/service-accounts/credentials/api-keys", tok, map[string]any{
			"name": "k", "serviceAccountId": robot, "products": []string{product},
		})
		if r.status != want {
			t.Errorf("create a key for product %s = %d %s, want %d", product, r.status, r.raw, want)
		}
	}
}

// TestAPIKeyRestrictionPatch: a PATCH replaces the parts of the
// restrictions it sends and keeps the others, so two people editing
// different restrictions do not undo each other; {} removes them all.
func TestAPIKeyRestrictionPatch(t *testing.T) {
	n := start(t, t.TempDir(), "")
	w := newWorld(t, n)
	create := n.rest("POST", "/api/v1/service-accounts/credentials/api-keys", w.admin, map[string]any{
		"name": "patched", "serviceAccountId": w.robot, "restrictions": map[string]any{
			"ipAddresses": map[string]any{"ipAddresses": []string{"10.0.0.0/8"}},
			"timeRange":   map[string]any{"timeSlots": []map[string]int{{"start": 18, "end": 19}}, "timezone": 3},
		},
	})
	path := "/api/v1/service-accounts/credentials/api-keys/" + str(create.body, "id")
	steps := []struct {
		patch string
		want  string // restrictions afterwards
	}{
		{`{"ipAddresses": {"ipAddresses": ["192.168.0.0/16"]}}`,
			`{"ip_addresses": {"ip_addresses": ["192.168.0.0/16"]}, "time_range": {"time_slots": [{"start": 18, "end": 19}], "timezone": 3}}`},
		{`{"timeRange": {"timezone": -5}}`,
			`{"ip_addresses": {"ip_addresses": ["192.168.0.0/16"]}, "time_range": {"time_slots": [{"start": 18, "end": 19}], "timezone": -5}}`},
		{`{"timeRange": {"timeSlots": [{"start": 0, "end": 24}]}}`,
			`{"ip_addresses": {"ip_addresses": ["192.168.0.0/16"]}, "time_range": {"time_slots": [{"start": 0, "end": 24}], "timezone": -5}}`},
		{`{}`, `{"ip_addresses": {"ip_addresses": []}, "time_range": {"time_slots": [], "timezone": 0}}`},
	}
	for _, step := range steps {
		r := n.rest("PATCH", path, w.admin, `{"restrictions": `+step.patch+`}`)
		if r.status != 200 {
			t.Fatalf("PATCH restrictions %s: %s", step.patch, r.raw)
		}
		var want map[string]any
		json.Unmarshal([]byte(step.want), &want)
		if diff := cmp.Diff(want, r.body["restrictions"]); diff != "" {
			t.Errorf("after PATCH %s (-want +got):\n%s", step.patch, diff)
		}
	}
}

// TestAPIKeyUpdateKeepsScopes: the Yandex Update cannot empty a key's
// scopes (which would let it serve every scope), and an address that
// carries a pasted secret is refused without repeating it.
func TestAPIKeyUpdateKeepsScopes(t *testing.T) {
	n := start(t, t.TempDir(), "")
	w := newWorld(t, n)
	create := n.rest("POST", "/iam/v1/apiKeys", w.admin, map[string]any{"serviceAccountId": w.robot, "scopes": []string{"yc.postbox.send"}})
	id, secret := str(create.body, "apiKey", "id"), str(create.body, "secret")
	r := n.rest("PATCH", "/iam/v1/apiKeys/"+id, w.admin, map[string]any{"updateMask": "scopes", "scopes": []string{}})
	if r.status != 400 || !strings.HasPrefix(str(r.body, "message"), "scopes:") {
		t.Errorf("update to no scopes = %d %s, want 400 naming scopes", r.status, r.raw)
	}
	if got := n.rest("GET", "/iam/v1/apiKeys/"+id, w.admin, nil); !strings.Contains(got.raw, "yc.postbox.send") {
		t.Errorf("scopes after the refused update: %s", got.raw)
	}
	r = n.rest("PATCH", "/api/v1/service-accounts/credentials/api-keys/"+id, w.admin,
		map[string]any{"restrictions": map[string]any{"ipAddresses": map[string]any{"ipAddresses": []string{"Api-Key " + secret}}}})
	if r.status != 400 || strings.Contains(r.raw, secret[len(secret)-20:]) {
		t.Errorf("an address holding the secret = %d, body repeats it: %v", r.status, strings.Contains(r.raw, secret[len(secret)-20:]))
	}
}

// TestCloudRuKeyRoundTrip: the Cloud.ru-style API answers snake_case; that
// answer, sent back as it is in a PATCH or PUT, is accepted and changes
// nothing, and an edit of it changes just the edited field. Output-only
// fields cannot be used to change what they show.
func TestCloudRuKeyRoundTrip(t *testing.T) {
	n := start(t, t.TempDir(), "")
	w := newWorld(t, n)
	create := n.rest("POST", "/api/v1/service-accounts/credentials/api-keys", w.admin, map[string]any{
		"name": "round-trip", "serviceAccountId": w.robot, "products": []string{"monaas"}, "restrictions": map[string]any{
			"ipAddresses": map[string]any{"ipAddresses": []string{"10.0.0.0/8"}},
			"timeRange":   map[string]any{"timeSlots": []map[string]int{{"start": 0, "end": 24}}, "timezone": 3},
		},
	})
	if create.status != 200 {
		t.Fatalf("create: %d %s", create.status, redact(create.raw))
	}
	path := "/api/v1/service-accounts/credentials/api-keys/" + str(create.body, "id")
	got := n.rest("GET", path, w.admin, nil)
	for _, method := range []string{"PATCH", "PUT"} {
		r := n.rest(method, path, w.admin, got.raw)
		if r.status != 200 {
			t.Fatalf("%s of the GET answer: %d %s", method, r.status, r.raw)
		}
		delete(r.body, "updated_at")
		want := map[string]any{}
		json.Unmarshal([]byte(got.raw), &want)
		delete(want, "updated_at")
		if diff := cmp.Diff(want, r.body); diff != "" {
			t.Errorf("%s of the GET answer changed the key (-before +after):\n%s", method, diff)
		}
	}

	edited := map[string]any{}
	json.Unmarshal([]byte(got.raw), &edited)
	edited["description"] = "edited in its snake_case form"
	edited["restrictions"].(map[string]any)["time_range"].(map[string]any)["timezone"] = -5
	r := n.rest("PATCH", path, w.admin, edited)
	if r.status != 200 || str(r.body, "description") != "edited in its snake_case form" ||
		r.body["restrictions"].(map[string]any)["time_range"].(map[string]any)["timezone"] != float64(-5) {
		t.Errorf("PATCH of an edited answer: %d %s", r.status, r.raw)
	}

	for _, tc := range []struct {
		name, field string
		value       any
	}{
		{"another id", "id", "aek00000000000000000"},
		{"another service account", "service_account_id", "aje00000000000000000"},
		{"a secret", "secret", "warden_ak_x"},
	} {
		body := map[string]any{}
		json.Unmarshal([]byte(got.raw), &body)
		body[tc.field] = tc.value
		if r := n.rest("PATCH", path, w.admin, body); r.status != 400 {
			t.Errorf("PATCH with %s: %d %s, want 400", tc.name, r.status, r.raw)
		}
	}
}
