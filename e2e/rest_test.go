package e2e

import (
	"fmt"
	"net/http"
	"regexp"
	"strings"
	"testing"
)

// TestRESTFlow is the README's curl walk-through: exchange the bootstrap
// OAuth token, create a service account in folder default, fetch its
// operation, list service accounts — with the Yandex REST JSON shapes.
func TestRESTFlow(t *testing.T) {
	for _, b := range backends(t) {
		t.Run(b.name, func(t *testing.T) {
			n := start(t, t.TempDir(), b.database(t))
			tok := n.iamToken()
			if !regexp.MustCompile(`^t1\.[A-Z0-9a-z_-]+[=]{0,2}\.[A-Z0-9a-z_-]{86}[=]{0,2}$`).MatchString(tok) {
				t.Errorf("IAM token %q does not match the Yandex pattern", tok)
			}
			folder := n.defaultFolder(tok)

			op := n.rest("POST", "/iam/v1/serviceAccounts", tok, map[string]any{
				"folderId": folder, "name": "my-robot", "description": "robot", "labels": map[string]string{"env": "dev"},
			})
			if op.status != 200 {
				t.Fatalf("create: %d %s", op.status, op.raw)
			}
			if op.header.Get("X-Request-Id") == "" {
				t.Error("no X-Request-Id header")
			}
			saID := str(op.body, "metadata", "serviceAccountId")
			if got, want := str(op.body, "metadata", "@type"), "type.googleapis.com/yandex.cloud.iam.v1.CreateServiceAccountMetadata"; got != want {
				t.Errorf("metadata type = %q, want %q", got, want)
			}
			if got, want := str(op.body, "response", "@type"), "type.googleapis.com/yandex.cloud.iam.v1.ServiceAccount"; got != want {
				t.Errorf("response type = %q, want %q", got, want)
			}
			if op.body["done"] != true || str(op.body, "response", "id") != saID || str(op.body, "response", "folderId") != folder {
				t.Errorf("operation = %s", op.raw)
			}

			got := n.rest("GET", "/operations/"+str(op.body, "id"), tok, nil)
			if got.status != 200 || str(got.body, "response", "name") != "my-robot" || got.body["done"] != true {
				t.Errorf("get operation: %d %s", got.status, got.raw)
			}

			list := n.rest("GET", "/iam/v1/serviceAccounts?folderId="+folder, tok, nil)
			sas, _ := list.body["serviceAccounts"].([]any)
			if list.status != 200 || len(sas) != 1 || str(sas[0], "id") != saID || str(sas[0], "status") != "ACTIVE" {
				t.Errorf("list: %d %s", list.status, list.raw)
			}

			upd := n.rest("PATCH", "/iam/v1/serviceAccounts/"+saID, tok, map[string]any{"updateMask": "description", "description": "new"})
			if upd.status != 200 || str(upd.body, "response", "description") != "new" || str(upd.body, "response", "name") != "my-robot" {
				t.Errorf("update: %d %s", upd.status, upd.raw)
			}
			susp := n.rest("POST", "/iam/v1/serviceAccounts/"+saID+":suspend", tok, map[string]any{})
			if susp.status != 200 || str(susp.body, "response", "@type") != "type.googleapis.com/yandex.cloud.iam.v1.SuspendServiceAccountResponse" {
				t.Errorf("suspend: %d %s", susp.status, susp.raw)
			}
			if g := n.rest("GET", "/iam/v1/serviceAccounts/"+saID, tok, nil); str(g.body, "status") != "SUSPENDED" {
				t.Errorf("after suspend: %s", g.raw)
			}
			ops := n.rest("GET", "/iam/v1/serviceAccounts/"+saID+"/operations", tok, nil)
			if list, _ := ops.body["operations"].([]any); len(list) != 3 {
				t.Errorf("list operations: want 3 (create, update, suspend), got %s", ops.raw)
			}
			del := n.rest("DELETE", "/iam/v1/serviceAccounts/"+saID, tok, nil)
			if del.status != 200 || str(del.body, "response", "@type") != "type.googleapis.com/google.protobuf.Empty" {
				t.Errorf("delete: %d %s", del.status, del.raw)
			}
			if g := n.rest("GET", "/iam/v1/serviceAccounts/"+saID, tok, nil); g.status != http.StatusNotFound || g.body["code"] != float64(5) {
				t.Errorf("get after delete: %d %s", g.status, g.raw)
			}
		})
	}
}

// TestRESTErrorShape checks google.rpc.Status bodies with the request id in
// the details and the HTTP status of each code.
func TestRESTErrorShape(t *testing.T) {
	n := start(t, t.TempDir(), "")
	tok := n.iamToken()
	folder := n.defaultFolder(tok)
	n.rest("POST", "/iam/v1/serviceAccounts", tok, map[string]any{"folderId": folder, "name": "taken"})
	tests := []struct {
		name, method, path string
		body               any
		token              string
		status             int
		code               float64
	}{
		{"invalid argument", "POST", "/iam/v1/serviceAccounts", map[string]any{"folderId": folder, "name": "Bad_Name"}, tok, 400, 3},
		{"bad json", "POST", "/iam/v1/serviceAccounts", `{"folderId": `, tok, 400, 3},
		{"unknown field", "POST", "/iam/v1/serviceAccounts", `{"folderId": "x", "nam": "y"}`, tok, 400, 3},
		{"unauthenticated", "GET", "/iam/v1/serviceAccounts?folderId=" + folder, nil, "", 401, 16},
		{"not found", "GET", "/iam/v1/serviceAccounts/ajenotexistingaccnt", nil, tok, 404, 5},
		{"already exists", "POST", "/iam/v1/serviceAccounts", map[string]any{"folderId": folder, "name": "taken"}, tok, 409, 6},
		{"cancel missing operation", "GET", "/operations/op1nonexistent000000:cancel", nil, tok, 404, 5},
		{"no route", "GET", "/iam/v1/nothing", nil, tok, 404, 5},
		{"unknown query parameter", "GET", "/iam/v1/serviceAccounts?folderId=" + folder + "&bogus=1", nil, tok, 400, 3},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			r := n.rest(tt.method, tt.path, tt.token, tt.body)
			if r.status != tt.status || r.body["code"] != tt.code {
				t.Fatalf("got %d %s, want HTTP %d code %v", r.status, r.raw, tt.status, tt.code)
			}
			if r.body["message"] == "" {
				t.Error("empty message")
			}
			id := r.header.Get("X-Request-Id")
			if id == "" || !strings.Contains(r.raw, fmt.Sprintf(`"requestId":%q`, id)) && !strings.Contains(r.raw, fmt.Sprintf(`"requestId": %q`, id)) {
				t.Errorf("request id %q not in error details: %s", id, r.raw)
			}
		})
	}
}
