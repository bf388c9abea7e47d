package e2e

// Attacks found when Warden was attacked as an adversary would, each
// replayed end to end against a running wardend. Each test failed before
// its fix.

import (
	"crypto/rand"
	"net/url"
	"strings"
	"testing"
	"time"

	"warden/jwtauth"
	"warden/server"
)

// TestAttackAccountTakeover: any authenticated subject, even a service
// account with no role, could set the organization admin's password
// (the admin's id is readable from any operation's createdBy), then log in
// as the admin.
func TestAttackAccountTakeover(t *testing.T) {
	const adminPassword = "admin-first-password"
	n := start(t, t.TempDir(), "", func(c *server.Config) { c.AdminPassword = adminPassword })
	w := newWorld(t, n)
	admin := n.m.Bootstrap().AdminID
	setPassword := func(tok, user string, body map[string]any) response {
		return n.rest("POST", "/warden/v1/userAccounts/"+user+":setPassword", tok, body)
	}
	login := func(password string) response {
		return n.rest("POST", "/warden/v1/login", "", map[string]string{"login": "admin", "password": password})
	}

	// The attack: the robot, holding no role at all, sets the admin's password.
	if r := setPassword(w.robotToken, admin, map[string]any{"password": "attacker-password"}); r.status != 403 {
		t.Fatalf("a role-less service account set the admin's password: %d %s", r.status, r.raw)
	}
	// Even holding editor on the organization's folders, it may not.
	w.bind(t, "/resource-manager/v1/clouds/"+w.cloud, "ADD", "editor", "serviceAccount", w.robot)
	if r := setPassword(w.robotToken, admin, map[string]any{"password": "attacker-password"}); r.status != 403 {
		t.Fatalf("a cloud editor set the admin's password: %d %s", r.status, r.raw)
	}
	if r := login("attacker-password"); r.status != 401 {
		t.Fatalf("login with the attacker's password: %d", r.status)
	}
	// A missing user is not revealed to whoever may not set passwords.
	if r := setPassword(w.robotToken, "ajunosuchuser0000000", map[string]any{"password": "attacker-password"}); r.status != 403 {
		t.Errorf("setPassword of a missing user by a stranger: %d, want 403", r.status)
	}

	// The route runs through the same chain as every method: a request id,
	// and a log line naming the method and the subject.
	r := setPassword(w.robotToken, admin, map[string]any{"password": "attacker-password"})
	id := r.header.Get("X-Request-Id")
	if id == "" {
		t.Fatal("no X-Request-Id")
	}
	within(t, "log line of the refused setPassword", func() bool {
		for _, line := range strings.Split(n.logs.String(), "\n") {
			if strings.Contains(line, id) && strings.Contains(line, "UserAccountService/SetPassword") && strings.Contains(line, w.robot) && strings.Contains(line, "PermissionDenied") {
				return true
			}
		}
		return false
	})

	// The admin changes their own password: the current one is required.
	first := login(adminPassword)
	if first.status != 200 {
		t.Fatalf("login: %d %s", first.status, first.raw)
	}
	session := n.rest("POST", "/iam/v1/tokens", "", map[string]string{"yandexPassportOauthToken": str(first.body, "oauthToken")})
	iam := str(session.body, "iamToken")
	if r := setPassword(iam, admin, map[string]any{"password": "second-password-9"}); r.status != 400 || !strings.Contains(r.raw, "current_password") {
		t.Errorf("own password without the current one: %d %s", r.status, r.raw)
	}
	if r := setPassword(iam, admin, map[string]any{"password": "second-password-9", "currentPassword": "wrong-password"}); r.status != 403 {
		t.Errorf("own password with a wrong current one: %d %s", r.status, r.raw)
	}
	if r := setPassword(iam, admin, map[string]any{"password": "second-password-9", "currentPassword": adminPassword}); r.status != 200 {
		t.Fatalf("own password: %d %s", r.status, r.raw)
	}
	// The change revoked every OAuth token of the admin (the bootstrap one
	// too) and every IAM token exchanged for one.
	if r := n.rest("POST", "/iam/v1/tokens", "", map[string]string{"yandexPassportOauthToken": str(first.body, "oauthToken")}); r.status != 401 {
		t.Errorf("OAuth token after a password change: %d, want 401", r.status)
	}
	if r := n.rest("POST", "/iam/v1/tokens", "", map[string]string{"yandexPassportOauthToken": n.adminOAuthToken()}); r.status != 401 {
		t.Errorf("bootstrap OAuth token after a password change: %d, want 401", r.status)
	}
	if r := n.rest("GET", "/resource-manager/v1/clouds", iam, nil); r.status != 401 {
		t.Errorf("IAM token of the old session after a password change: %d, want 401", r.status)
	}
	if r := login(adminPassword); r.status != 401 {
		t.Errorf("login with the old password: %d", r.status)
	}
	second := login("second-password-9")
	if second.status != 200 {
		t.Fatalf("login with the new password: %d %s", second.status, second.raw)
	}
	admin2 := str(n.rest("POST", "/iam/v1/tokens", "", map[string]string{"yandexPassportOauthToken": str(second.body, "oauthToken")}).body, "iamToken")
	// Holding iam.userAccounts.setPassword (admin on the organization) sets
	// another's password without the current one; a missing user is then
	// NotFound.
	if r := setPassword(admin2, "ajunosuchuser0000000", map[string]any{"password": "some-password"}); r.status != 404 {
		t.Errorf("setPassword of a missing user by the admin: %d, want 404", r.status)
	}
}

// TestAttackEscalationByImpersonation: a service account holding only
// editor on a folder created an authorized key (and an API key) for another
// service account of that folder holding admin on the organization,
// exchanged it for an IAM token, and granted itself organization admin.
func TestAttackEscalationByImpersonation(t *testing.T) {
	n := start(t, t.TempDir(), "")
	w := newWorld(t, n)
	org := str(n.rest("GET", "/resource-manager/v1/clouds/"+w.cloud, w.admin, nil).body, "organizationId")
	newSA := func(name string) string {
		r := n.rest("POST", "/iam/v1/serviceAccounts", w.admin, map[string]any{"folderId": w.folderB, "name": name})
		if r.status != 200 {
			t.Fatalf("create %s: %s", name, r.raw)
		}
		return str(r.body, "response", "id")
	}
	boss, minion := newSA("boss"), newSA("minion")
	w.bind(t, "/organization-manager/v1/organizations/"+org, "ADD", "admin", "serviceAccount", boss)
	w.bind(t, "/resource-manager/v1/folders/"+w.folderB, "ADD", "editor", "serviceAccount", w.robot)
	w.bind(t, "/resource-manager/v1/folders/"+w.folderB, "ADD", "iam.serviceAccounts.tokenCreator", "serviceAccount", w.robot)
	w.bind(t, "/resource-manager/v1/folders/"+w.folderB, "ADD", "viewer", "serviceAccount", minion)
	attacker := w.robotToken

	refused := func(what string, r response) {
		t.Helper()
		if r.status != 403 || !strings.Contains(r.raw, "which the caller does not hold") {
			t.Errorf("%s: %d %s, want 403 naming what is missing", what, r.status, r.raw)
		}
	}
	// Every way of minting a credential for the organization admin.
	refused("authorized key for the admin account", n.rest("POST", "/iam/v1/keys", attacker, map[string]any{"serviceAccountId": boss}))
	refused("Yandex API key for the admin account", n.rest("POST", "/iam/v1/apiKeys", attacker, map[string]any{"serviceAccountId": boss}))
	refused("Cloud.ru API key for the admin account", n.rest("POST", "/api/v1/service-accounts/credentials/api-keys", attacker,
		map[string]any{"name": "stolen", "serviceAccountId": boss, "products": []string{"postbox"}}))
	refused("IAM token for the admin account", n.rest("POST", "/iam/v1/tokens:createForServiceAccount", attacker, map[string]any{"serviceAccountId": boss}))
	if r := n.rest("GET", "/iam/v1/keys?serviceAccountId="+boss, w.admin, nil); r.status != 200 || r.body["keys"] != nil {
		t.Errorf("a key was created for the admin account: %s", r.raw)
	}

	// The legitimate cases: an editor mints for an account with fewer
	// rights; the admin mints for anyone.
	for _, c := range []struct {
		who, tok, sa string
	}{{"editor for a viewer", attacker, minion}, {"admin for the admin account", w.admin, boss}} {
		if r := n.rest("POST", "/iam/v1/keys", c.tok, map[string]any{"serviceAccountId": c.sa}); r.status != 200 {
			t.Errorf("%s: authorized key: %d %s", c.who, r.status, r.raw)
		}
		if r := n.rest("POST", "/iam/v1/apiKeys", c.tok, map[string]any{"serviceAccountId": c.sa}); r.status != 200 {
			t.Errorf("%s: API key: %d %s", c.who, r.status, r.raw)
		}
		if r := n.rest("POST", "/iam/v1/tokens:createForServiceAccount", c.tok, map[string]any{"serviceAccountId": c.sa}); r.status != 200 {
			t.Errorf("%s: IAM token: %d %s", c.who, r.status, r.raw)
		}
	}

	// Granting: a cloud's resource-manager admin may change its bindings,
	// but not grant a role holding permissions it lacks.
	w.bind(t, "/resource-manager/v1/clouds/"+w.cloud, "ADD", "resource-manager.admin", "serviceAccount", w.robot)
	grant := func(role string) response {
		return n.rest("POST", "/resource-manager/v1/clouds/"+w.cloud+":updateAccessBindings", attacker, map[string]any{"accessBindingDeltas": []any{
			map[string]any{"action": "ADD", "accessBinding": map[string]any{"roleId": role, "subject": map[string]string{"type": "serviceAccount", "id": w.robot}}},
		}})
	}
	refused("granting itself admin on the cloud", grant("admin"))
	if r := grant("resource-manager.viewer"); r.status != 200 {
		t.Errorf("granting a role it holds: %d %s", r.status, r.raw)
	}
	// SetAccessBindings that keeps an existing binding the caller could not
	// grant is allowed; adding one is not.
	cur := n.rest("GET", "/resource-manager/v1/clouds/"+w.cloud+":listAccessBindings", w.admin, nil).body["accessBindings"]
	if r := n.rest("POST", "/resource-manager/v1/clouds/"+w.cloud+":setAccessBindings", attacker, map[string]any{"accessBindings": cur}); r.status != 200 {
		t.Errorf("re-setting the current bindings: %d %s", r.status, r.raw)
	}
	withAdmin := append(cur.([]any), map[string]any{"roleId": "admin", "subject": map[string]string{"type": "serviceAccount", "id": w.robot}})
	refused("setAccessBindings adding admin", n.rest("POST", "/resource-manager/v1/clouds/"+w.cloud+":setAccessBindings", attacker, map[string]any{"accessBindings": withAdmin}))
}

// TestAttackExpiredServiceAccount: expires_at was enforced only on the JWT
// exchange; IAM tokens, API keys and CreateForServiceAccount kept working.
func TestAttackExpiredServiceAccount(t *testing.T) {
	clk := &clock{t: time.Now()}
	n := start(t, t.TempDir(), "", func(c *server.Config) { c.Now = clk.now })
	w := newWorld(t, n)
	// A contractor's account that expires in an hour.
	expires := clk.now().Add(time.Hour).UTC().Format(time.RFC3339)
	sa := n.rest("POST", "/iam/v1/serviceAccounts", w.admin, map[string]any{"folderId": w.folderB, "name": "contractor", "expiresAt": expires})
	if sa.status != 200 {
		t.Fatalf("create: %s", sa.raw)
	}
	w.robot = str(sa.body, "response", "id")
	w.robotToken = str(n.rest("POST", "/iam/v1/tokens:createForServiceAccount", w.admin, map[string]any{"serviceAccountId": w.robot}).body, "iamToken")
	w.bind(t, "/resource-manager/v1/folders/"+w.folderA, "ADD", "viewer", "serviceAccount", w.robot)
	key := n.rest("POST", "/iam/v1/apiKeys", w.admin, map[string]any{"serviceAccountId": w.robot})
	secret := str(key.body, "secret")
	authKey := n.rest("POST", "/iam/v1/keys", w.admin, map[string]any{"serviceAccountId": w.robot})
	priv, err := jwtauth.ParsePrivateKey(str(authKey.body, "privateKey"))
	if err != nil {
		t.Fatalf("create key: %s", authKey.raw)
	}
	exchange := func() int {
		jwt, _ := jwtauth.Sign(rand.Reader, priv, str(authKey.body, "key", "id"), jwtauth.NewClaims(w.robot, jwtauth.YandexAudience, clk.now()))
		return n.rest("POST", "/iam/v1/tokens", "", map[string]string{"jwt": jwt}).status
	}
	list := "/iam/v1/serviceAccounts?folderId=" + w.folderA
	apiKey := func() int {
		return n.rest("POST", "/access/v1:authenticate", "", map[string]any{"request": map[string]any{
			"headers": map[string]any{"Authorization": []string{"Api-Key " + secret}}}}).status
	}
	if s := n.rest("GET", list, w.robotToken, nil).status; s != 200 {
		t.Fatalf("before expiry: IAM token %d", s)
	}
	if s := apiKey(); s != 200 {
		t.Fatalf("before expiry: API key %d", s)
	}
	if s := exchange(); s != 200 {
		t.Fatalf("before expiry: JWT exchange %d", s)
	}

	clk.advance(2 * time.Hour)
	if s := n.rest("GET", list, w.robotToken, nil).status; s != 401 {
		t.Errorf("expired account's IAM token: %d, want 401", s)
	}
	if s := apiKey(); s != 401 {
		t.Errorf("expired account's API key: %d, want 401", s)
	}
	if s := exchange(); s != 401 {
		t.Errorf("expired account's JWT exchange: %d, want 401", s)
	}
	if r := n.rest("POST", "/iam/v1/tokens:createForServiceAccount", w.admin, map[string]any{"serviceAccountId": w.robot}); r.status != 412 {
		t.Errorf("CreateForServiceAccount of an expired account: %d %s, want 412 (FailedPrecondition)", r.status, r.raw)
	}
}

// TestAttackTokensOutliveTheirKey: IAM tokens minted through an authorized
// key stayed valid up to 12 h after the key was deleted.
func TestAttackTokensOutliveTheirKey(t *testing.T) {
	for _, be := range backends(t) {
		t.Run(be.name, func(t *testing.T) {
			dir, db := t.TempDir(), be.database(t)
			a := start(t, dir, db)
			nodes := []*node{a}
			if be.name == "postgres" {
				nodes = append(nodes, start(t, dir, db))
			}
			w := newWorld(t, a)
			w.bind(t, "/resource-manager/v1/folders/"+w.folderA, "ADD", "viewer", "serviceAccount", w.robot)
			w.bind(t, "/resource-manager/v1/folders/"+w.folderB, "ADD", "admin", "serviceAccount", w.robot)
			list := "/iam/v1/serviceAccounts?folderId=" + w.folderA
			key := a.rest("POST", "/iam/v1/keys", w.admin, map[string]any{"serviceAccountId": w.robot})
			priv, err := jwtauth.ParsePrivateKey(str(key.body, "privateKey"))
			if err != nil {
				t.Fatalf("create key: %s", key.raw)
			}
			kid := str(key.body, "key", "id")
			jwt, _ := jwtauth.Sign(rand.Reader, priv, kid, jwtauth.NewClaims(w.robot, jwtauth.YandexAudience, time.Now()))
			tok := str(a.rest("POST", "/iam/v1/tokens", "", map[string]string{"jwt": jwt}).body, "iamToken")
			// A token the key's holder creates for another account dies
			// with the key too.
			other := a.rest("POST", "/iam/v1/serviceAccounts", w.admin, map[string]any{"folderId": w.folderB, "name": "other"})
			derived := a.rest("POST", "/iam/v1/tokens:createForServiceAccount", tok, map[string]any{"serviceAccountId": str(other.body, "response", "id")})
			if derived.status != 200 {
				t.Fatalf("derived token: %s", derived.raw)
			}
			for i, n := range nodes {
				// The binding reaches the other node within its refresh interval.
				within(t, "the key's token accepted by node "+string(rune('a'+i)), func() bool { return n.rest("GET", list, tok, nil).status == 200 })
			}
			if r := a.rest("DELETE", "/iam/v1/keys/"+kid, w.admin, nil); r.status != 200 {
				t.Fatalf("delete key: %s", r.raw)
			}
			if s := a.rest("GET", list, tok, nil).status; s != 401 {
				t.Errorf("the deleting node accepts the key's token: %d", s)
			}
			for i, n := range nodes {
				within(t, "token of a deleted key refused by node "+string(rune('a'+i)), func() bool {
					return n.rest("GET", list, tok, nil).status == 401 &&
						n.rest("GET", "/iam/v1/serviceAccounts/"+url.PathEscape(w.robot), str(derived.body, "iamToken"), nil).status == 401
				})
			}
		})
	}
}
