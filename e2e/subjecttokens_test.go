package e2e

import (
	"context"
	"crypto/sha256"
	"encoding/hex"
	"net/http"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	v4 "github.com/aws/aws-sdk-go-v2/aws/signer/v4"

	"warden/server"
)

// authStatus is the access service's answer to a request carrying the
// given header.
func (n *node) authStatus(header, value string) int {
	n.t.Helper()
	return n.rest("POST", "/access/v1:authenticate", "", map[string]any{"request": map[string]any{
		"method": "GET", "path": "/", "headers": map[string][]string{header: {value}}, "clientAddress": "192.0.2.7",
	}}).status
}

// TestRevokeSubjectTokens: POST …/serviceAccounts/{id}:revokeTokens
// revokes every Keystone token of the account, whatever its scope, and its
// IAM tokens: at once on the wardend that took it and within a second on
// another on the same database. Tokens issued afterwards work; the
// account's static tokens and password stay.
func TestRevokeSubjectTokens(t *testing.T) {
	for _, be := range backends(t) {
		t.Run(be.name, func(t *testing.T) {
			dir, db := t.TempDir(), be.database(t)
			defaults := func(c *server.Config) { c.RefreshInterval = 200 * time.Millisecond }
			a := start(t, dir, db, defaults)
			b := start(t, dir, db, defaults)
			w := newKSWorld(t, a)
			project := w.issue(t, projectScope(w.folderB))
			domain := w.issue(t, `{"domain":{"id":"`+w.cloud+`"}}`)
			_, static := w.createStaticToken(t, w.admin, map[string]any{"subjectId": w.robot})
			held := map[string][2]string{
				"project token": {"X-Auth-Token", project}, "domain token": {"X-Auth-Token", domain},
				"IAM token": {"Authorization", "Bearer " + w.robotToken},
			}
			for name, h := range held {
				within(t, name+" accepted by b", func() bool { return b.authStatus(h[0], h[1]) == 200 })
			}

			minion := w.newSA(t, w.folderB, "minion")
			if r := a.rest("POST", "/warden/v1/serviceAccounts/"+w.robot+":revokeTokens", w.tokenFor(t, minion), map[string]any{}); r.status != 403 {
				t.Errorf("an account without a role revoking another's tokens: %d %s, want 403", r.status, r.raw)
			}
			// The robot revokes its own, with one of them.
			if r := a.rest("POST", "/warden/v1/serviceAccounts/"+w.robot+":revokeTokens", w.robotToken, map[string]any{}); r.status != 200 {
				t.Fatalf("revoke the robot's tokens: %d %s", r.status, r.raw)
			}
			for name, h := range held {
				if got := a.authStatus(h[0], h[1]); got != 401 {
					t.Errorf("%s on a at once: %d, want 401", name, got)
				}
				within(t, name+" refused by b", func() bool { return b.authStatus(h[0], h[1]) == 401 })
			}
			if got := b.authStatus("X-Token", static); got != 200 {
				t.Errorf("the robot's static token after revokeTokens: %d, want 200 (stored credentials stay)", got)
			}
			// A token issued after the revocation works: tokens carry
			// whole seconds, so one issued in the same second is refused.
			deadline := time.Now().Add(3 * time.Second)
			for {
				fresh := w.issue(t, projectScope(w.folderB))
				if b.authStatus("X-Auth-Token", fresh) == 200 && a.authStatus("X-Auth-Token", fresh) == 200 {
					break
				}
				if time.Now().After(deadline) {
					t.Fatal("no token issued after the revocation was accepted within 3 s")
				}
				time.Sleep(200 * time.Millisecond)
			}
		})
	}
}

// TestRevokeUserTokens: a user revokes its own IAM tokens; revoking needs
// the account to be of the type the route names.
func TestRevokeUserTokens(t *testing.T) {
	n := start(t, t.TempDir(), "")
	w := newWorld(t, n)
	admin := str(n.rest("POST", "/access/v1:authenticate", "", map[string]any{"request": map[string]any{
		"headers": map[string][]string{"Authorization": {"Bearer " + w.admin}}}}).body, "subject", "id")
	for _, c := range []struct {
		name, path string
		body       any
		want       int
	}{
		{"a service account as a user", "/warden/v1/userAccounts/" + w.robot + ":revokeTokens", map[string]any{}, 404},
		{"a missing service account", "/warden/v1/serviceAccounts/ajenosuchaccount0000:revokeTokens", map[string]any{}, 404},
		{"an unknown field", "/warden/v1/serviceAccounts/" + w.robot + ":revokeTokens", map[string]any{"before": "now"}, 400},
	} {
		if r := n.rest("POST", c.path, w.admin, c.body); r.status != c.want {
			t.Errorf("%s: %d %s, want %d", c.name, r.status, r.raw, c.want)
		}
	}
	if r := n.rest("POST", "/warden/v1/userAccounts/"+admin+":revokeTokens", w.admin, map[string]any{}); r.status != 200 {
		t.Fatalf("the admin revoking its own tokens: %d %s", r.status, r.raw)
	}
	if got := n.authStatus("Authorization", "Bearer "+w.admin); got != 401 {
		t.Errorf("the admin's IAM token after revokeTokens: %d, want 401", got)
	}
	if got := n.authStatus("Authorization", "Bearer "+w.robotToken); got != 200 {
		t.Errorf("another account's token after the admin's revokeTokens: %d, want 200", got)
	}
}

// TestRevokeSubjectTokensEphemeralKeys: an ephemeral access key's session
// token is a token of its subject too: revokeTokens refuses it.
func TestRevokeSubjectTokensEphemeralKeys(t *testing.T) {
	s := newSigV4World(t)
	r := s.n.rest("POST", "/iam/aws-compatibility/v1/ephemeralAccessKeys", s.w.admin, map[string]any{"subjectId": s.w.robot, "sessionName": "ci"})
	if r.status != 200 {
		t.Fatalf("create ephemeral: %d %s", r.status, r.raw)
	}
	creds := aws.Credentials{AccessKeyID: str(r.body, "accessKeyId"), SecretAccessKey: str(r.body, "secret"), SessionToken: str(r.body, "sessionToken")}
	call := func() (int, string) {
		req, _ := http.NewRequest("GET", s.ses+"/v2/email/configuration-sets", nil)
		sum := sha256.Sum256(nil)
		if err := v4.NewSigner().SignHTTP(context.Background(), creds, req, hex.EncodeToString(sum[:]), sesService, sesRegion, s.clk.now()); err != nil {
			t.Fatal(err)
		}
		return do(t, req)
	}
	if st, code := call(); st != 200 {
		t.Fatalf("signed with the ephemeral key: %d %s", st, code)
	}
	if r := s.n.rest("POST", "/warden/v1/serviceAccounts/"+s.w.robot+":revokeTokens", s.w.admin, map[string]any{}); r.status != 200 {
		t.Fatalf("revokeTokens: %d %s", r.status, r.raw)
	}
	if st, code := call(); st != 401 || code != "InvalidToken" {
		t.Errorf("the ephemeral key after revokeTokens: %d %s, want 401 InvalidToken", st, code)
	}
	if st, code := s.call(t, s.secret, s.clk.now()); st != 200 {
		t.Errorf("the account's static access key after revokeTokens: %d %s, want 200 (stored credentials stay)", st, code)
	}
}
