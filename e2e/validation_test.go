package e2e

import (
	"fmt"
	"net/url"
	"strings"
	"testing"
)

// TestValidation sends one bad value per rule the Yandex protos declare and
// expects InvalidArgument naming the field — and that nothing was created.
func TestValidation(t *testing.T) {
	n := start(t, t.TempDir(), "")
	tok := n.iamToken()
	folder := n.defaultFolder(tok)
	manyLabels := map[string]string{}
	for i := range 65 {
		manyLabels[fmt.Sprintf("k%d", i)] = "v"
	}
	sa := func(over map[string]any) map[string]any {
		m := map[string]any{"folderId": folder, "name": "valid-name"}
		for k, v := range over {
			m[k] = v
		}
		return m
	}
	tests := []struct {
		name, method, path string
		body               any
		field              string
	}{
		{"name missing", "POST", "/iam/v1/serviceAccounts", map[string]any{"folderId": folder}, "name"},
		{"name uppercase", "POST", "/iam/v1/serviceAccounts", sa(map[string]any{"name": "Robot"}), "name"},
		{"name starts with digit", "POST", "/iam/v1/serviceAccounts", sa(map[string]any{"name": "1robot"}), "name"},
		{"name ends with dash", "POST", "/iam/v1/serviceAccounts", sa(map[string]any{"name": "robot-"}), "name"},
		{"name 64 characters", "POST", "/iam/v1/serviceAccounts", sa(map[string]any{"name": "a" + strings.Repeat("b", 63)}), "name"},
		{"description 257 characters", "POST", "/iam/v1/serviceAccounts", sa(map[string]any{"description": strings.Repeat("d", 257)}), "description"},
		{"65 labels", "POST", "/iam/v1/serviceAccounts", sa(map[string]any{"labels": manyLabels}), "labels"},
		{"label key uppercase", "POST", "/iam/v1/serviceAccounts", sa(map[string]any{"labels": map[string]string{"Env": "x"}}), "labels"},
		{"label key 64 characters", "POST", "/iam/v1/serviceAccounts", sa(map[string]any{"labels": map[string]string{strings.Repeat("k", 64): "x"}}), "labels"},
		{"label value with space", "POST", "/iam/v1/serviceAccounts", sa(map[string]any{"labels": map[string]string{"env": "a b"}}), "labels"},
		{"label value 64 characters", "POST", "/iam/v1/serviceAccounts", sa(map[string]any{"labels": map[string]string{"env": strings.Repeat("v", 64)}}), "labels"},
		{"folder id missing", "POST", "/iam/v1/serviceAccounts", map[string]any{"name": "robot"}, "folder_id"},
		{"folder id 51 characters", "POST", "/iam/v1/serviceAccounts", sa(map[string]any{"folderId": strings.Repeat("f", 51)}), "folder_id"},
		{"page size 1001", "GET", "/iam/v1/serviceAccounts?folderId=" + folder + "&pageSize=1001", nil, "page_size"},
		{"page size negative", "GET", "/iam/v1/serviceAccounts?folderId=" + folder + "&pageSize=-1", nil, "page_size"},
		{"page token 2001 characters", "GET", "/iam/v1/serviceAccounts?folderId=" + folder + "&pageToken=" + strings.Repeat("p", 2001), nil, "page_token"},
		{"page token malformed", "GET", "/iam/v1/serviceAccounts?folderId=" + folder + "&pageToken=%21%21", nil, "page_token"},
		{"filter unsupported", "GET", "/iam/v1/serviceAccounts?folderId=" + folder + "&filter=" + url.QueryEscape(`id="x"`), nil, "filter"},
		{"filter 1001 characters", "GET", "/iam/v1/serviceAccounts?folderId=" + folder + "&filter=" + strings.Repeat("f", 1001), nil, "filter"},
		{"list without folder", "GET", "/iam/v1/serviceAccounts", nil, "folder_id"},
		{"update mask names an immutable field", "PATCH", "/iam/v1/serviceAccounts/ajeaaaaaaaaaaaaaaaaa", map[string]any{"updateMask": "folderId"}, "update_mask"},
		{"update with bad name", "PATCH", "/iam/v1/serviceAccounts/ajeaaaaaaaaaaaaaaaaa", map[string]any{"updateMask": "name", "name": "Bad"}, "name"},
		{"folder name bad", "POST", "/resource-manager/v1/folders", map[string]any{"cloudId": "b1gaaaaaaaaaaaaaaaaa", "name": "Bad Folder"}, "name"},
		{"folder without cloud", "POST", "/resource-manager/v1/folders", map[string]any{"name": "f"}, "cloud_id"},
		{"cloud name bad", "POST", "/resource-manager/v1/clouds", map[string]any{"name": "-cloud"}, "name"},
		{"organization description too long", "PATCH", "/organization-manager/v1/organizations/bpfaaaaaaaaaaaaaaaaa", map[string]any{"updateMask": "description", "description": strings.Repeat("d", 257)}, "description"},
		{"oauth token too long", "POST", "/iam/v1/tokens", map[string]any{"yandexPassportOauthToken": strings.Repeat("t", 4001)}, "yandex_passport_oauth_token"},
		{"jwt too long", "POST", "/iam/v1/tokens", map[string]any{"jwt": strings.Repeat("j", 8001)}, "jwt"},
		{"token request without identity", "POST", "/iam/v1/tokens", map[string]any{}, "identity"},
		{"access binding without role", "POST", "/iam/v1/serviceAccounts/ajeaaaaaaaaaaaaaaaaa:setAccessBindings", map[string]any{"accessBindings": []any{map[string]any{"subject": map[string]string{"id": "x", "type": "userAccount"}}}}, "access_bindings[0].role_id"},
		{"access binding subject id too long", "POST", "/iam/v1/serviceAccounts/ajeaaaaaaaaaaaaaaaaa:setAccessBindings", map[string]any{"accessBindings": []any{map[string]any{"roleId": "viewer", "subject": map[string]string{"id": strings.Repeat("x", 101), "type": "userAccount"}}}}, "access_bindings[0].subject.id"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			r := n.rest(tt.method, tt.path, tok, tt.body)
			if r.status != 400 || r.body["code"] != float64(3) {
				t.Fatalf("got %d %s, want 400 InvalidArgument", r.status, r.raw)
			}
			if msg, _ := r.body["message"].(string); !strings.HasPrefix(msg, tt.field) {
				t.Errorf("message %q does not name field %q", msg, tt.field)
			}
		})
	}
	list := n.rest("GET", "/iam/v1/serviceAccounts?folderId="+folder, tok, nil)
	if sas, _ := list.body["serviceAccounts"].([]any); len(sas) != 0 {
		t.Errorf("rejected requests created service accounts: %s", list.raw)
	}
}
