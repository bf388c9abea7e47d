package e2e

import (
	"strings"
	"testing"
	"time"

	"google.golang.org/grpc/codes"

	"warden/server"
)

// TestAttackOAuthTokenRevoke replays issue 9 (f): OAuth tokens lived 365
// days and could be neither listed nor revoked. They now live as long as
// configured, are listed and revoked through RefreshTokenService (REST
// /iam/v1/refreshTokens), and a revoked one no longer exchanges.
func TestAttackOAuthTokenRevoke(t *testing.T) {
	clk := &clock{t: time.Now().UTC().Truncate(time.Second)}
	n := start(t, t.TempDir(), "", func(c *server.Config) {
		c.AdminPassword = "admin-password-1"
		c.OAuthTokenLifetime = time.Hour
		c.Now = clk.now
	})
	w := newWorld(t, n)
	login := func() string {
		t.Helper()
		r := n.rest("POST", "/warden/v1/login", "", map[string]string{"login": "admin", "password": "admin-password-1"})
		if r.status != 200 {
			t.Fatalf("login: %d %s", r.status, r.raw)
		}
		return str(r.body, "oauthToken")
	}
	exchange := func(oauth string) response {
		return n.rest("POST", "/iam/v1/tokens", "", map[string]string{"yandexPassportOauthToken": oauth})
	}

	tok := login()
	if r := exchange(tok); r.status != 200 {
		t.Fatalf("exchange a fresh token: %d %s", r.status, r.raw)
	}

	// The user lists their tokens: the bootstrap one and the login's.
	list := n.rest("GET", "/iam/v1/refreshTokens", w.admin, nil)
	if list.status != 200 {
		t.Fatalf("list: %d %s", list.status, list.raw)
	}
	tokens, _ := list.body["refreshTokens"].([]any)
	var loginID string
	for _, x := range tokens {
		rt := x.(map[string]any)
		if str(rt, "clientInstanceInfo") != "login" {
			continue
		}
		loginID = str(rt, "id")
		created, _ := time.Parse(time.RFC3339Nano, str(rt, "createdAt"))
		expires, _ := time.Parse(time.RFC3339Nano, str(rt, "expiresAt"))
		if got := expires.Sub(created); got != time.Hour {
			t.Errorf("listed lifetime %s, want the configured 1h", got)
		}
	}
	if len(tokens) != 2 || loginID == "" {
		t.Fatalf("list = %s, want the bootstrap and the login token", list.raw)
	}
	if list.raw == "" || strings.Contains(list.raw, tok[3:]) {
		t.Errorf("the list shows the secret")
	}

	// Someone else may neither list nor revoke them.
	admin := n.m.Bootstrap().AdminID
	if r := n.rest("GET", "/iam/v1/refreshTokens?subjectId="+admin, w.robotToken, nil); restCode(r) != codes.PermissionDenied {
		t.Errorf("a robot lists the admin's tokens: %d %s", r.status, r.raw)
	}
	if r := n.rest("POST", "/iam/v1/refreshTokens:revoke", w.robotToken, map[string]any{"refreshTokenId": loginID}); restCode(r) != codes.PermissionDenied {
		t.Errorf("a robot revokes the admin's token by id: %d %s", r.status, r.raw)
	}

	// With iam.viewer on the organization the robot may list them, still
	// not revoke them (that takes iam.admin).
	w.bind(t, "/organization-manager/v1/organizations/"+n.m.Bootstrap().OrganizationID, "ADD", "iam.viewer", "serviceAccount", w.robot)
	if r := n.rest("GET", "/iam/v1/refreshTokens?subjectId="+admin, w.robotToken, nil); r.status != 200 || len(r.body["refreshTokens"].([]any)) != 2 {
		t.Errorf("an iam.viewer lists the admin's tokens: %d %s", r.status, r.raw)
	}
	if r := n.rest("POST", "/iam/v1/refreshTokens:revoke", w.robotToken, map[string]any{"refreshTokenId": loginID}); restCode(r) != codes.PermissionDenied {
		t.Errorf("an iam.viewer revokes the admin's token: %d %s", r.status, r.raw)
	}

	// Revoked by id: the token no longer exchanges.
	rev := n.rest("POST", "/iam/v1/refreshTokens:revoke", w.admin, map[string]any{"refreshTokenId": loginID})
	if rev.status != 200 || rev.body["done"] != true {
		t.Fatalf("revoke: %d %s", rev.status, rev.raw)
	}
	if ids, _ := rev.body["response"].(map[string]any)["refreshTokenIds"].([]any); len(ids) != 1 || ids[0] != loginID {
		t.Errorf("revoke response = %s", rev.raw)
	}
	if r := exchange(tok); r.status != 401 {
		t.Errorf("exchange of a revoked token: %d %s", r.status, r.raw)
	}
	if r := n.rest("GET", "/operations/"+str(rev.body, "id"), w.admin, nil); r.status != 200 {
		t.Errorf("get the revoke operation: %d %s", r.status, r.raw)
	}

	// Whoever holds a token may revoke it (warden logout does): the robot
	// holds no right on the admin, but it holds the secret.
	tok2 := login()
	if r := n.rest("POST", "/iam/v1/refreshTokens:revoke", w.robotToken, map[string]any{"refreshToken": tok2}); r.status != 200 {
		t.Errorf("revoke by secret: %d %s", r.status, r.raw)
	}
	if r := exchange(tok2); r.status != 401 {
		t.Errorf("exchange of a token revoked by secret: %d %s", r.status, r.raw)
	}
	if r := n.rest("POST", "/iam/v1/refreshTokens:revoke", w.robotToken, map[string]any{"refreshToken": tok2}); restCode(r) != codes.NotFound {
		t.Errorf("revoke an unknown secret: %d %s", r.status, r.raw)
	}

	// The lifetime is honoured.
	tok3 := login()
	clk.advance(time.Hour - time.Second)
	if r := exchange(tok3); r.status != 200 {
		t.Errorf("exchange just before expiry: %d %s", r.status, r.raw)
	}
	clk.advance(time.Second)
	if r := exchange(tok3); r.status != 401 {
		t.Errorf("exchange after the lifetime: %d %s", r.status, r.raw)
	}

	// An empty filter: every token of the caller, the bootstrap one
	// included; with another's subject_id, the permission is needed.
	if r := n.rest("POST", "/iam/v1/refreshTokens:revoke", w.robotToken, map[string]any{"revokeFilter": map[string]any{"subjectId": admin}}); restCode(r) != codes.PermissionDenied {
		t.Errorf("a robot revokes the admin's tokens by filter: %d %s", r.status, r.raw)
	}
	all := n.rest("POST", "/iam/v1/refreshTokens:revoke", w.admin, map[string]any{"revokeFilter": map[string]any{}})
	if all.status != 200 {
		t.Fatalf("revoke all: %d %s", all.status, all.raw)
	}
	if r := exchange(n.adminOAuthToken()); r.status != 401 {
		t.Errorf("the bootstrap token after revoke-all: %d %s", r.status, r.raw)
	}
	// The IAM tokens exchanged for the revoked tokens die with them (the
	// admin's session here came from the bootstrap token).
	if r := n.rest("GET", "/iam/v1/refreshTokens", w.admin, nil); r.status != 401 {
		t.Errorf("an IAM token of a revoked OAuth token: %d %s", r.status, r.raw)
	}
	fresh := str(exchange(login()).body, "iamToken")
	if r := n.rest("GET", "/iam/v1/refreshTokens", fresh, nil); r.status != 200 || len(r.body["refreshTokens"].([]any)) != 1 {
		t.Errorf("list after revoke-all and a new login: %d %s", r.status, r.raw)
	}
	// A service account has no tokens of its own.
	robot := n.rest("POST", "/iam/v1/tokens:createForServiceAccount", fresh, map[string]any{"serviceAccountId": w.robot})
	if r := n.rest("GET", "/iam/v1/refreshTokens", str(robot.body, "iamToken"), nil); restCode(r) != codes.InvalidArgument {
		t.Errorf("a robot lists its own tokens: %d %s", r.status, r.raw)
	}
}
