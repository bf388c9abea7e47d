package e2e

import (
	"testing"
)

// TestAttackKeystoneTokenAsIAMToken: a project-scoped Keystone token,
// once verified (and so cached), was presented as an IAM token
// (Authorization: Bearer, X-YaCloud-SubjectToken) to shed its scope. The
// two kinds share signing keys and the verifier's cache; the prefix is
// signed and checked before the cache, so it is refused.
func TestAttackKeystoneTokenAsIAMToken(t *testing.T) {
	n := start(t, t.TempDir(), "")
	w := newKSWorld(t, n)
	tok := w.issue(t, projectScope(w.folderA))
	if got := n.authorize(t, map[string][]string{"X-Auth-Token": {tok}}, "iam.serviceAccounts.list", w.folderA, w.folderB); !got[0] || got[1] {
		t.Fatalf("as X-Auth-Token: allowed in A, B = %v, want [true false]", got)
	}
	for name, headers := range map[string]map[string][]string{
		"bearer":        {"Authorization": {"Bearer " + tok}},
		"subject token": {"X-YaCloud-SubjectToken": {tok}},
	} {
		z := n.rest("POST", "/access/v1:authorize", "", map[string]any{
			"request": map[string]any{"headers": headers},
			"checks":  []any{map[string]any{"permission": "iam.serviceAccounts.list", "resource": map[string]string{"type": "resource-manager.folder", "id": w.folderB}}},
		})
		if z.status != 401 {
			t.Errorf("%s through the access service: %d %s, want 401", name, z.status, z.raw)
		}
	}
	if r := n.rest("GET", "/iam/v1/serviceAccounts?folderId="+w.folderB, tok, nil); r.status != 401 {
		t.Errorf("as a Bearer token on Warden's API: %d %s, want 401", r.status, r.raw)
	}
}

// TestAttackScopedTokenMintsUnconfinedCredential: the robot holds admin on
// the cloud; with a token scoped to its own folder it tried to mint itself
// credentials that carry no scope (an authorized key, API keys, an IAM
// token, a new password) and so reach the whole cloud, or to trade the
// token for a domain one. The escalation guard refuses a confined caller
// any credential of an account bound outside the scope, the account itself
// included, and a scoped token is not rescoped.
func TestAttackScopedTokenMintsUnconfinedCredential(t *testing.T) {
	n := start(t, t.TempDir(), "")
	w := newKSWorld(t, n)
	w.bind(t, "/resource-manager/v1/clouds/"+w.cloud, "ADD", "admin", "serviceAccount", w.robot)
	tok := w.issue(t, projectScope(w.folderB)) // the robot's own folder
	as := func(method, path string, body string) response {
		return n.ks(method, path, map[string]string{"X-Auth-Token": tok}, body)
	}
	self := `{"serviceAccountId":"` + w.robot + `"}`
	// In this order: a new password, had it been set, would revoke the
	// token.
	for _, c := range []struct {
		what, path, body string
	}{
		{"authorized key", "/iam/v1/keys", self},
		{"Yandex API key", "/iam/v1/apiKeys", self},
		{"Cloud.ru API key", "/api/v1/service-accounts/credentials/api-keys", `{"name":"escape","serviceAccountId":"` + w.robot + `","products":["postbox"]}`},
		{"IAM token", "/iam/v1/tokens:createForServiceAccount", self},
		{"access key", "/iam/aws-compatibility/v1/accessKeys", self},
		{"ephemeral access key for itself", "/iam/aws-compatibility/v1/ephemeralAccessKeys", `{"sessionName":"escape"}`},
		{"ephemeral access key named", "/iam/aws-compatibility/v1/ephemeralAccessKeys", `{"sessionName":"escape","subjectId":"` + w.robot + `"}`},
		{"a role outside of scope", "/resource-manager/v1/folders/" + w.folderA + ":updateAccessBindings", `{"accessBindingDeltas":[{"action":"ADD","accessBinding":{"roleId":"viewer","subject":{"type":"serviceAccount","id":"` + w.robot + `"}}}]}`},
		{"a new password", "/warden/v1/serviceAccounts/" + w.robot + ":setPassword", `{"generate":true}`},
	} {
		if r := as("POST", c.path, c.body); r.status != 403 {
			t.Errorf("%s for itself through a project token: %d %s, want 403", c.what, r.status, r.raw)
		}
	}
	keystoneError(t, "rescoping to the domain", n.ks("POST", "/v3/auth/tokens", nil,
		`{"auth":{"identity":{"methods":["token"],"token":{"id":"`+tok+`"}},"scope":{"domain":{"id":"`+w.cloud+`"}}}}`), 403)
	// Within the scope the token keeps its rights: an account bound only
	// inside the folder gets a key.
	inside := w.newSA(t, w.folderB, "inside")
	w.bind(t, "/resource-manager/v1/folders/"+w.folderB, "ADD", "viewer", "serviceAccount", inside)
	if r := as("POST", "/iam/v1/keys", `{"serviceAccountId":"`+inside+`"}`); r.status != 200 {
		t.Errorf("a key for an account bound inside the scope: %d %s", r.status, r.raw)
	}
}
