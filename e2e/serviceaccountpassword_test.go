package e2e

import (
	"strings"
	"testing"
)

// newSA creates a service account in a folder as the admin.
func (w *world) newSA(t testing.TB, folder, name string) string {
	t.Helper()
	r := w.n.rest("POST", "/iam/v1/serviceAccounts", w.admin, map[string]any{"folderId": folder, "name": name})
	if r.status != 200 {
		t.Fatalf("create %s: %s", name, r.raw)
	}
	return str(r.body, "response", "id")
}

// tokenFor is an IAM token for a service account, made by the admin.
func (w *world) tokenFor(t testing.TB, sa string) string {
	t.Helper()
	r := w.n.rest("POST", "/iam/v1/tokens:createForServiceAccount", w.admin, map[string]any{"serviceAccountId": sa})
	if r.status != 200 {
		t.Fatalf("token for %s: %s", sa, r.raw)
	}
	return str(r.body, "iamToken")
}

func (w *world) setSAPassword(sa, tok string, body map[string]any) response {
	return w.n.rest("POST", "/warden/v1/serviceAccounts/"+sa+":setPassword", tok, body)
}

// TestServiceAccountPassword: set, generate (shown once), change and
// remove a service account's password; each change revokes the Keystone
// tokens of the previous password.
func TestServiceAccountPassword(t *testing.T) {
	for _, b := range backends(t) {
		t.Run(b.name, func(t *testing.T) {
			n := start(t, t.TempDir(), b.database(t))
			w := newKSWorld(t, n)
			first := w.issue(t, projectScope(w.folderB))
			auth := map[string][]string{"X-Auth-Token": {first}}
			if got := n.authorize(t, auth, "iam.serviceAccounts.list", w.folderB); !got[0] {
				t.Fatal("the first token does not work")
			}

			gen := w.setSAPassword(w.robot, w.admin, map[string]any{"generate": true})
			generated := str(gen.body, "password")
			if gen.status != 200 || len(generated) < 32 {
				t.Fatalf("generate: %d %s", gen.status, gen.raw)
			}
			// The old password's tokens are refused at once on this node,
			// and the old password no longer logs in.
			keystoneError(t, "a token of the replaced password", n.ks("GET", "/v3/auth/projects", map[string]string{"X-Auth-Token": first}, ""), 401)
			keystoneError(t, "the replaced password", n.ks("POST", "/v3/auth/tokens", nil, w.passwordAuth(ksPassword, "")), 401)
			r := n.ks("POST", "/v3/auth/tokens", nil, w.passwordAuth(generated, projectScope(w.folderB)))
			if r.status != 201 {
				t.Fatalf("the generated password: %d %s", r.status, r.raw)
			}
			second := r.header.Get("X-Subject-Token")

			if r := n.rest("POST", "/warden/v1/serviceAccounts/"+w.robot+":removePassword", w.admin, map[string]any{}); r.status != 200 {
				t.Fatalf("remove: %d %s", r.status, r.raw)
			}
			keystoneError(t, "a token of the removed password", n.ks("GET", "/v3/auth/projects", map[string]string{"X-Auth-Token": second}, ""), 401)
			keystoneError(t, "the removed password", n.ks("POST", "/v3/auth/tokens", nil, w.passwordAuth(generated, "")), 401)
			if r := n.rest("POST", "/warden/v1/serviceAccounts/"+w.robot+":removePassword", w.admin, map[string]any{}); r.status != 404 {
				t.Errorf("remove again: %d %s, want 404", r.status, r.raw)
			}

			for _, c := range []struct {
				name string
				body map[string]any
			}{
				{"too short", map[string]any{"password": "short"}},
				{"both", map[string]any{"password": "long-enough-1", "generate": true}},
				{"neither", map[string]any{}},
			} {
				if r := w.setSAPassword(w.robot, w.admin, c.body); r.status != 400 {
					t.Errorf("%s: %d %s, want 400", c.name, r.status, r.raw)
				}
			}
			if r := n.rest("POST", "/warden/v1/serviceAccounts/"+w.robot+":nonsense", w.admin, map[string]any{}); r.status != 404 {
				t.Errorf("unknown custom method: %d %s", r.status, r.raw)
			}
			if r := w.setSAPassword("ajenosuchaccount0000", w.admin, map[string]any{"password": "long-enough-1"}); r.status != 404 {
				t.Errorf("a missing account: %d %s", r.status, r.raw)
			}
		})
	}
}

// TestServiceAccountPasswordPermissions: setting a password needs
// iam.serviceAccounts.setPassword on the account, and passes the escalation
// guard: an editor of a folder cannot give itself the password of an
// account that holds more than it does.
func TestServiceAccountPasswordPermissions(t *testing.T) {
	n := start(t, t.TempDir(), "")
	w := newWorld(t, n)
	org := str(n.rest("GET", "/resource-manager/v1/clouds/"+w.cloud, w.admin, nil).body, "organizationId")
	boss, minion := w.newSA(t, w.folderB, "boss"), w.newSA(t, w.folderB, "minion")
	w.bind(t, "/organization-manager/v1/organizations/"+org, "ADD", "admin", "serviceAccount", boss)
	w.bind(t, "/resource-manager/v1/folders/"+w.folderB, "ADD", "viewer", "serviceAccount", minion)
	body := map[string]any{"password": "long-enough-1"}
	if r := w.setSAPassword(minion, w.robotToken, body); r.status != 403 {
		t.Errorf("without a role: %d %s", r.status, r.raw)
	}
	w.bind(t, "/resource-manager/v1/folders/"+w.folderB, "ADD", "editor", "serviceAccount", w.robot)
	if r := w.setSAPassword(boss, w.robotToken, body); r.status != 403 || !strings.Contains(r.raw, "which the caller does not hold") {
		t.Errorf("an editor setting the organization admin's password: %d %s", r.status, r.raw)
	}
	if r := w.setSAPassword(minion, w.robotToken, body); r.status != 200 {
		t.Errorf("an editor setting a viewer's password: %d %s", r.status, r.raw)
	}
}

// TestAttackKeystoneNameSquatting: service-account names are unique per
// folder only. An editor of folder B created an account named like a
// service user of folder A, and gave it a password, so that logins by name
// in the domain would reach the attacker's account (or be refused). Setting
// that password, and renaming an account with a password to that name, are
// refused; the victim's logins keep working.
func TestAttackKeystoneNameSquatting(t *testing.T) {
	n := start(t, t.TempDir(), "")
	w := newKSWorld(t, n)
	attacker := w.newSA(t, w.folderB, "attacker")
	w.bind(t, "/resource-manager/v1/folders/"+w.folderB, "ADD", "editor", "serviceAccount", attacker)
	tok := w.tokenFor(t, attacker)
	victim := w.newSA(t, w.folderA, "deploy")
	w.bind(t, "/resource-manager/v1/folders/"+w.folderA, "ADD", "viewer", "serviceAccount", victim)
	if r := w.setSAPassword(victim, w.admin, map[string]any{"password": "victim-password-1"}); r.status != 200 {
		t.Fatalf("victim's password: %d %s", r.status, r.raw)
	}

	squat := n.rest("POST", "/iam/v1/serviceAccounts", tok, map[string]any{"folderId": w.folderB, "name": "deploy"})
	squatter := str(squat.body, "response", "id")
	if squatter == "" {
		t.Fatalf("an editor creates an account in its folder: %s", squat.raw)
	}
	if r := w.setSAPassword(squatter, tok, map[string]any{"password": "attacker-password-1"}); r.status != 412 || !strings.Contains(r.raw, "uniquely") {
		t.Errorf("password for a second 'deploy' in the domain: %d %s, want 412", r.status, r.raw)
	}
	// An account that has a password cannot be renamed onto the name.
	if r := n.rest("DELETE", "/iam/v1/serviceAccounts/"+squatter, tok, nil); r.status != 200 {
		t.Fatalf("delete the squatter: %d %s", r.status, r.raw)
	}
	other := w.newSA(t, w.folderB, "other")
	if r := w.setSAPassword(other, tok, map[string]any{"password": "attacker-password-1"}); r.status != 200 {
		t.Fatalf("password for a uniquely named account: %d %s", r.status, r.raw)
	}
	if r := n.rest("PATCH", "/iam/v1/serviceAccounts/"+other, tok, map[string]any{"name": "deploy"}); r.status != 412 {
		t.Errorf("renaming an account with a password onto 'deploy': %d %s, want 412", r.status, r.raw)
	}
	// The victim still logs in by name, and nobody else does.
	login := func(password string) response {
		return n.ks("POST", "/v3/auth/tokens", nil, `{"auth":{"identity":{"methods":["password"],"password":{"user":{"name":"deploy","domain":{"name":"`+w.cloudName+`"},"password":"`+password+`"}}}}}`)
	}
	if r := login("victim-password-1"); r.status != 201 || str(r.body, "token", "user", "id") != victim {
		t.Errorf("the victim's login: %d %s", r.status, r.raw)
	}
	keystoneError(t, "the attacker's password for 'deploy'", login("attacker-password-1"), 401)
}
