package e2e

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"io/fs"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/status"
	"google.golang.org/protobuf/types/known/structpb"

	"warden/accessclient"
	"warden/api/accesspb"
	"warden/server"
	"warden/statictoken"
)

// createStaticToken creates a static token through REST as tok and returns
// its ID and secret, failing the test unless the answer is 200.
func (w *world) createStaticToken(t testing.TB, tok string, body map[string]any) (id, secret string) {
	t.Helper()
	r := w.n.rest("POST", "/warden/v1/staticTokens", tok, body)
	if r.status != 200 || str(r.body, "id") == "" || str(r.body, "secret") == "" {
		t.Fatalf("create a static token %v: %d %s", body, r.status, r.raw)
	}
	return str(r.body, "id"), str(r.body, "secret")
}

// xToken asks the access service to authenticate a request carrying
// X-Token: secret, and returns the answer.
func (n *node) xToken(secret string) response {
	n.t.Helper()
	return n.rest("POST", "/access/v1:authenticate", "", map[string]any{"request": map[string]any{
		"method": "GET", "path": "/", "headers": map[string][]string{"X-Token": {secret}}, "clientAddress": "192.0.2.7",
	}})
}

// TestStaticToken: a static token is created with its secret shown once,
// authorises through the access service and Warden's own API as its
// account with that account's permissions, is listed and read without its
// secret, is stored only as a hash, and once revoked is refused.
func TestStaticToken(t *testing.T) {
	for _, b := range backends(t) {
		t.Run(b.name, func(t *testing.T) {
			n := start(t, t.TempDir(), b.database(t))
			w := newWorld(t, n)
			w.bind(t, "/resource-manager/v1/folders/"+w.folderA, "ADD", "viewer", "serviceAccount", w.robot)

			c := n.rest("POST", "/warden/v1/staticTokens", w.admin, map[string]any{"subjectId": w.robot, "description": "control panel"})
			id, secret := str(c.body, "id"), str(c.body, "secret")
			if c.status != 200 || !strings.HasPrefix(id, "stk") || !strings.HasPrefix(secret, statictoken.Prefix) ||
				str(c.body, "subjectType") != "serviceAccount" || str(c.body, "expiresAt") != "" || str(c.body, "maskedSecret") != "****"+secret[len(secret)-6:] {
				t.Fatalf("create: %d %s", c.status, c.raw)
			}

			a := n.xToken(secret)
			if a.status != 200 || str(a.body, "subject", "id") != w.robot || str(a.body, "credentialType") != "staticToken" || str(a.body, "credentialId") != id {
				t.Fatalf("authenticate with X-Token: %d %s", a.status, a.raw)
			}
			xt := map[string][]string{"X-Token": {secret}}
			if got := n.authorize(t, xt, "iam.serviceAccounts.list", w.folderA, w.folderB); !got[0] || got[1] {
				t.Errorf("authorize with X-Token on folders A, B = %v, want the robot's own rights: [true false]", got)
			}
			// Warden's own API takes it too: the robot lists its own tokens.
			own := n.ksOnce("GET", "/warden/v1/staticTokens", map[string]string{"X-Token": secret}, "")
			if own.status != 200 || !strings.Contains(own.raw, id) {
				t.Errorf("the robot listing its own tokens with X-Token: %d %s", own.status, own.raw)
			}

			for name, r := range map[string]response{
				"list": n.rest("GET", "/warden/v1/staticTokens?subjectId="+w.robot, w.admin, nil),
				"get":  n.rest("GET", "/warden/v1/staticTokens/"+id, w.admin, nil),
				"own":  own,
			} {
				if r.status != 200 || strings.Contains(r.raw, secret[len(statictoken.Prefix)+21:len(secret)-6]) || strings.Contains(r.raw, `"secret"`) {
					t.Errorf("%s: %d %s: want 200 without the secret", name, r.status, r.raw)
				}
			}
			if b.name == "sqlite" {
				noPlaintext(t, n.dataDir, secret)
			}

			if r := n.rest("DELETE", "/warden/v1/staticTokens/"+id, w.admin, nil); r.status != 200 {
				t.Fatalf("revoke: %d %s", r.status, r.raw)
			}
			if r := n.xToken(secret); r.status != 401 || str(r.body, "message") != str(n.xToken("warden_st_nonsense").body, "message") {
				t.Errorf("a revoked token: %d %s, want the uniform 401", r.status, r.raw)
			}
			if r := n.rest("GET", "/warden/v1/staticTokens/"+id, w.admin, nil); r.status != 404 {
				t.Errorf("get a revoked token: %d %s, want 404", r.status, r.raw)
			}
			if r := n.rest("DELETE", "/warden/v1/staticTokens/"+id, w.admin, nil); r.status != 404 {
				t.Errorf("revoke again: %d %s, want 404", r.status, r.raw)
			}
		})
	}
}

// noPlaintext fails the test if any file of wardend's data directory (the
// SQLite database, its WAL) holds the secret or its random part.
func noPlaintext(t *testing.T, dir, secret string) {
	t.Helper()
	random := []byte(secret[len(statictoken.Prefix)+21 : len(secret)-6])
	files := 0
	filepath.WalkDir(dir, func(path string, d fs.DirEntry, err error) error {
		if err != nil || d.IsDir() {
			return err
		}
		b, err := os.ReadFile(path)
		if err != nil {
			t.Fatal(err)
		}
		files++
		if bytes.Contains(b, random) {
			t.Errorf("%s holds the static token's secret", path)
		}
		return nil
	})
	if files == 0 {
		t.Fatal("no database file to search")
	}
}

// TestStaticTokenOwnAndOthers: a user account creates, lists and revokes
// its own tokens without any permission; another's tokens need the
// permission on that account; an account's type is told by its token.
func TestStaticTokenOwnAndOthers(t *testing.T) {
	n := start(t, t.TempDir(), "")
	w := newWorld(t, n)
	mine, secret := w.createStaticToken(t, w.admin, map[string]any{})
	a := n.xToken(secret)
	if a.status != 200 || str(a.body, "subject", "type") != "userAccount" {
		t.Fatalf("the admin's own token: %d %s", a.status, a.raw)
	}
	// With its X-Token, the user acts as itself: it reads its own token.
	if r := n.ksOnce("GET", "/warden/v1/staticTokens/"+mine, map[string]string{"X-Token": secret}, ""); r.status != 200 {
		t.Errorf("the user reading its own token with it: %d %s", r.status, r.raw)
	}

	// The robot holds no role: its own tokens only.
	robotOwn, _ := w.createStaticToken(t, w.robotToken, map[string]any{"description": "mine"})
	for name, r := range map[string]response{
		"list another's":   n.rest("GET", "/warden/v1/staticTokens?subjectId="+str(a.body, "subject", "id"), w.robotToken, nil),
		"read another's":   n.rest("GET", "/warden/v1/staticTokens/"+mine, w.robotToken, nil),
		"revoke another's": n.rest("DELETE", "/warden/v1/staticTokens/"+mine, w.robotToken, nil),
		"mint another's":   n.rest("POST", "/warden/v1/staticTokens", w.robotToken, map[string]any{"subjectId": str(a.body, "subject", "id")}),
		"unknown id":       n.rest("GET", "/warden/v1/staticTokens/stknosuchtoken000000", w.robotToken, nil),
	} {
		if r.status != 403 || restCode(r) != 7 {
			t.Errorf("%s: %d %s, want 403 as google.rpc.Status", name, r.status, r.raw)
		}
	}
	if r := n.rest("GET", "/warden/v1/staticTokens", w.robotToken, nil); r.status != 200 || !strings.Contains(r.raw, robotOwn) || strings.Contains(r.raw, mine) {
		t.Errorf("the robot's own list: %d %s", r.status, r.raw)
	}
	if r := n.rest("DELETE", "/warden/v1/staticTokens/"+robotOwn, w.robotToken, nil); r.status != 200 {
		t.Errorf("the robot revoking its own: %d %s", r.status, r.raw)
	}
	// The admin (admin on the organization) manages the robot's.
	w.createStaticToken(t, w.admin, map[string]any{"subjectId": w.robot})
	if r := n.rest("GET", "/warden/v1/staticTokens/stknosuchtoken000000", w.admin, nil); r.status != 404 {
		t.Errorf("an unknown id, as the admin: %d %s, want 404", r.status, r.raw)
	}
}

// TestStaticTokenValidation: every bad field is refused with 400 as
// google.rpc.Status naming the field, and no secret is ever repeated.
func TestStaticTokenValidation(t *testing.T) {
	n := start(t, t.TempDir(), "")
	w := newWorld(t, n)
	pasted := "warden_st_" + strings.Repeat("a", 20) + "_" + strings.Repeat("b", 49)
	tests := []struct {
		name, method, path string
		body               any
		field              string
	}{
		{"subject of another kind", "POST", "/warden/v1/staticTokens", map[string]any{"subjectId": w.folderA}, "subjectId"},
		{"a secret as subject", "POST", "/warden/v1/staticTokens", map[string]any{"subjectId": pasted}, "subjectId"},
		{"expiry in the past", "POST", "/warden/v1/staticTokens", map[string]any{"expiresAt": "2001-01-01T00:00:00Z"}, "expiresAt"},
		{"expiry not a time", "POST", "/warden/v1/staticTokens", map[string]any{"expiresAt": "tomorrow"}, "expiresAt"},
		{"description too long", "POST", "/warden/v1/staticTokens", map[string]any{"description": strings.Repeat("x", 257)}, "description"},
		{"a secret in the description", "POST", "/warden/v1/staticTokens", map[string]any{"description": pasted}, "description"},
		{"unknown field", "POST", "/warden/v1/staticTokens", map[string]any{"subject_id": w.robot}, "invalid JSON body"},
		{"malformed JSON", "POST", "/warden/v1/staticTokens", `{"description": `, "invalid JSON body"},
		{"id of another kind", "GET", "/warden/v1/staticTokens/" + w.robot, nil, "id"},
		{"a secret as id", "DELETE", "/warden/v1/staticTokens/" + pasted, nil, "id"},
		{"page size", "GET", "/warden/v1/staticTokens?pageSize=5000", nil, "pageSize"},
		{"unknown parameter", "GET", "/warden/v1/staticTokens?serviceAccountId=" + w.robot, nil, `"serviceAccountId"`},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			r := n.rest(tt.method, tt.path, w.admin, tt.body)
			if r.status != 400 || restCode(r) != 3 || !strings.HasPrefix(str(r.body, "message"), tt.field) {
				t.Errorf("%d %s, want 400 as google.rpc.Status naming %s", r.status, r.raw, tt.field)
			}
			if strings.Contains(r.raw, strings.Repeat("b", 20)) {
				t.Errorf("the answer repeats the secret: %s", r.raw)
			}
		})
	}
	if r := n.rest("POST", "/warden/v1/staticTokens", w.admin, map[string]any{"subjectId": "ajenosuchaccount0000"}); r.status != 404 {
		t.Errorf("a missing account: %d %s, want 404", r.status, r.raw)
	}
}

// TestStaticTokenExpiry: a token with an expiry works until it and is
// refused from it on; one without never expires.
func TestStaticTokenExpiry(t *testing.T) {
	clk := &clock{t: time.Now()}
	n := start(t, t.TempDir(), "", withClock(clk))
	w := newWorld(t, n)
	_, expiring := w.createStaticToken(t, w.admin, map[string]any{"subjectId": w.robot, "expiresAt": clk.now().Add(time.Hour).Format(time.RFC3339)})
	_, forever := w.createStaticToken(t, w.admin, map[string]any{"subjectId": w.robot})
	if r := n.xToken(expiring); r.status != 200 {
		t.Fatalf("before its expiry: %d %s", r.status, r.raw)
	}
	clk.advance(time.Hour + time.Second)
	if r := n.xToken(expiring); r.status != 401 {
		t.Errorf("after its expiry: %d %s, want 401", r.status, r.raw)
	}
	clk.advance(10 * 365 * 24 * time.Hour)
	if r := n.xToken(forever); r.status != 200 {
		t.Errorf("a token without expiry, ten years on: %d %s", r.status, r.raw)
	}
}

// TestStaticTokenAcrossNodes: with two wardend processes on one database
// (one SQLite file, or one PostgreSQL database) and the default refresh
// interval, a token created through one is accepted by the other, and its
// revocation through one is enforced by the other, within a second.
func TestStaticTokenAcrossNodes(t *testing.T) {
	for _, be := range backends(t) {
		t.Run(be.name, func(t *testing.T) {
			dir, db := t.TempDir(), be.database(t)
			defaults := func(c *server.Config) { c.RefreshInterval = 200 * time.Millisecond }
			a := start(t, dir, db, defaults)
			b := start(t, dir, db, defaults)
			w := newWorld(t, a)
			id, secret := w.createStaticToken(t, w.admin, map[string]any{"subjectId": w.robot})
			within(t, "a new token through a accepted by b", func() bool { return b.xToken(secret).status == 200 })
			if r := a.rest("DELETE", "/warden/v1/staticTokens/"+id, w.admin, nil); r.status != 200 {
				t.Fatalf("revoke through a: %d %s", r.status, r.raw)
			}
			within(t, "a revocation through a enforced by b", func() bool { return b.xToken(secret).status == 401 })
		})
	}
}

// TestAttackStaticTokenEscalation: an editor of a folder, which may manage
// the static tokens of the service accounts there, minted a static token
// for an account of that folder that is admin of the whole organization,
// and used it as that admin. Minting passes the escalation guard: refused,
// naming what the caller lacks; minting for an account with fewer rights
// than the caller works.
func TestAttackStaticTokenEscalation(t *testing.T) {
	n := start(t, t.TempDir(), "")
	w := newWorld(t, n)
	org := str(n.rest("GET", "/resource-manager/v1/clouds/"+w.cloud, w.admin, nil).body, "organizationId")
	boss, minion := w.newSA(t, w.folderB, "boss"), w.newSA(t, w.folderB, "minion")
	w.bind(t, "/organization-manager/v1/organizations/"+org, "ADD", "admin", "serviceAccount", boss)
	w.bind(t, "/resource-manager/v1/folders/"+w.folderB, "ADD", "editor", "serviceAccount", w.robot)
	w.bind(t, "/resource-manager/v1/folders/"+w.folderB, "ADD", "viewer", "serviceAccount", minion)

	r := n.rest("POST", "/warden/v1/staticTokens", w.robotToken, map[string]any{"subjectId": boss})
	if r.status != 403 || !strings.Contains(r.raw, "which the caller does not hold") || strings.Contains(r.raw, statictoken.Prefix) {
		t.Errorf("an editor minting the organization admin's static token: %d %s, want 403 naming what is missing", r.status, r.raw)
	}
	if l := n.rest("GET", "/warden/v1/staticTokens?subjectId="+boss, w.admin, nil); l.status != 200 || strings.Contains(l.raw, "stk") {
		t.Errorf("a token was stored for the admin account: %s", l.raw)
	}
	w.createStaticToken(t, w.robotToken, map[string]any{"subjectId": minion})
}

// TestAttackStaticTokenEscapesKeystoneScope: a Keystone token scoped to
// one project (folder) of an account that is editor of the whole cloud
// minted a static token for its own account — unconfined, so it reached
// every folder of the cloud. A confined caller hands out nothing beyond
// its scope: refused; the account's unscoped credentials still mint one.
func TestAttackStaticTokenEscapesKeystoneScope(t *testing.T) {
	n := start(t, t.TempDir(), "")
	w := newKSWorld(t, n)
	project := w.issue(t, projectScope(w.folderB))
	r := n.ksOnce("POST", "/warden/v1/staticTokens", map[string]string{"X-Auth-Token": project}, `{"description": "escape"}`)
	if r.status != 403 || !strings.Contains(r.raw, "outside the scope") {
		t.Errorf("a project-scoped token minting its account's static token: %d %s, want 403", r.status, r.raw)
	}
	_, secret := w.createStaticToken(t, w.robotToken, map[string]any{})
	if got := n.authorize(t, map[string][]string{"X-Token": {secret}}, "iam.serviceAccounts.list", w.folderA, w.folderB); !got[0] || !got[1] {
		t.Errorf("the account's own static token on folders A, B = %v, want its cloud-wide rights", got)
	}
}

// TestStaticTokenLimit: an account holds at most MaxStaticTokens tokens.
func TestStaticTokenLimit(t *testing.T) {
	n := start(t, t.TempDir(), "")
	w := newWorld(t, n)
	for range 100 {
		w.createStaticToken(t, w.admin, map[string]any{"subjectId": w.robot})
	}
	r := n.rest("POST", "/warden/v1/staticTokens", w.admin, map[string]any{"subjectId": w.robot})
	if r.status != 412 || restCode(r) != 9 || !strings.Contains(str(r.body, "message"), "already has 100 static tokens") {
		t.Errorf("the 101st token: %d %s, want FAILED_PRECONDITION", r.status, r.raw)
	}
	var listed []any
	for tok := ""; ; {
		l := n.rest("GET", "/warden/v1/staticTokens?pageSize=40&subjectId="+w.robot+"&pageToken="+tok, w.admin, nil)
		page, _ := l.body["staticTokens"].([]any)
		if l.status != 200 || len(page) > 40 {
			t.Fatalf("list: %d %s", l.status, l.raw)
		}
		listed = append(listed, page...)
		if tok = str(l.body, "nextPageToken"); tok == "" {
			break
		}
	}
	if len(listed) != 100 {
		t.Errorf("listed %d tokens over pages of 40, want 100", len(listed))
	}
}

// BenchmarkAccessAuthorizeXToken measures Authorize over REST on loopback
// (one X-Token credential, one permission on a folder) at concurrency 1
// and 32, reporting requests/s and p50/p99 latency.
func BenchmarkAccessAuthorizeXToken(b *testing.B) {
	n := startBench(b, backends(b)[0])
	w := newBenchWorld(b, n)
	w.bind(b, "/resource-manager/v1/folders/"+w.folderA, "ADD", "viewer", "serviceAccount", w.robot)
	_, secret := w.createStaticToken(b, w.admin, map[string]any{"subjectId": w.robot})
	body, _ := json.Marshal(map[string]any{
		"request": map[string]any{"method": "GET", "path": "/", "headers": map[string][]string{"X-Token": {secret}}},
		"checks":  []any{map[string]any{"permission": "iam.serviceAccounts.list", "resource": map[string]string{"id": w.folderA}}},
	})
	httpClient := &http.Client{Transport: &http.Transport{MaxIdleConnsPerHost: 64}}
	call := func() error {
		resp, err := httpClient.Post("http://"+n.addr+"/access/v1:authorize", "application/json", bytes.NewReader(body))
		if err != nil {
			return err
		}
		defer resp.Body.Close()
		var out struct {
			Results []struct{ Allowed bool } `json:"results"`
		}
		if err := json.NewDecoder(resp.Body).Decode(&out); err != nil || resp.StatusCode != 200 || len(out.Results) != 1 || !out.Results[0].Allowed {
			return fmt.Errorf("status %d, %v, %+v", resp.StatusCode, err, out)
		}
		return nil
	}
	for _, conc := range []int{1, 32} {
		b.Run(fmt.Sprintf("rest/c%d", conc), func(b *testing.B) { loadRun(b, conc, call) })
	}
}

// TestStaticTokenThroughAccessClient: a resource service behind
// accessclient.Middleware takes X-Token as any other credential — the
// client forwards the header — with the token's account's permissions,
// and refuses it once revoked.
func TestStaticTokenThroughAccessClient(t *testing.T) {
	n := start(t, t.TempDir(), "")
	w := newWorld(t, n)
	w.bind(t, "/resource-manager/v1/folders/"+w.folderA, "ADD", "postbox.viewer", "serviceAccount", w.robot)
	id, secret := w.createStaticToken(t, w.admin, map[string]any{"subjectId": w.robot})
	ac, err := accessclient.New("http://"+n.addr, "postbox")
	if err != nil {
		t.Fatal(err)
	}
	postbox := httptest.NewServer(ac.Middleware(func(r *http.Request) accessclient.Check {
		return accessclient.Check{Permission: "postbox.configurationSets.list", Resource: accessclient.Resource{Type: "resource-manager.folder", ID: r.URL.Query().Get("folderId")}}
	}, http.HandlerFunc(func(rw http.ResponseWriter, r *http.Request) {
		sub, _ := accessclient.SubjectFrom(r.Context())
		io.WriteString(rw, sub.ID)
	})))
	defer postbox.Close()
	get := func(folder string) (int, string) {
		req, _ := http.NewRequest("GET", postbox.URL+"/v2/email/configuration-sets?folderId="+folder, nil)
		req.Header.Set("X-Token", secret)
		resp, err := http.DefaultClient.Do(req)
		if err != nil {
			t.Fatal(err)
		}
		defer resp.Body.Close()
		b, _ := io.ReadAll(resp.Body)
		return resp.StatusCode, string(b)
	}
	if code, body := get(w.folderA); code != 200 || body != w.robot {
		t.Errorf("X-Token on the account's folder: %d %s", code, body)
	}
	if code, _ := get(w.folderB); code != 403 {
		t.Errorf("X-Token on another folder: %d, want 403", code)
	}
	if r := n.rest("DELETE", "/warden/v1/staticTokens/"+id, w.admin, nil); r.status != 200 {
		t.Fatalf("revoke: %d %s", r.status, r.raw)
	}
	within(t, "a revoked X-Token refused behind accessclient", func() bool { code, _ := get(w.folderA); return code == 401 })
}

// TestStaticTokenAccessServiceGRPC: the access service's gRPC form takes
// X-Token as its REST form does.
func TestStaticTokenAccessServiceGRPC(t *testing.T) {
	n := start(t, t.TempDir(), "")
	w := newWorld(t, n)
	w.bind(t, "/resource-manager/v1/folders/"+w.folderA, "ADD", "viewer", "serviceAccount", w.robot)
	id, secret := w.createStaticToken(t, w.admin, map[string]any{"subjectId": w.robot})
	c := accesspb.NewAccessServiceClient(sdkConn(t, n.addr))
	v, _ := structpb.NewList([]any{secret})
	req := &accesspb.Request{Method: "GET", Path: "/", Headers: map[string]*structpb.ListValue{"x-token": v}}
	resp, err := c.Authorize(context.Background(), &accesspb.AuthorizeRequest{Request: req, Checks: []*accesspb.Check{
		{Permission: "iam.serviceAccounts.list", Resource: &accesspb.Resource{Id: w.folderA}},
		{Permission: "iam.serviceAccounts.list", Resource: &accesspb.Resource{Id: w.folderB}},
	}})
	if err != nil || resp.Subject.GetId() != w.robot || resp.CredentialType != "staticToken" || resp.CredentialId != id ||
		!resp.Results[0].Allowed || resp.Results[1].Allowed {
		t.Fatalf("Authorize with x-token: %v, %v", resp, err)
	}
	bad, _ := structpb.NewList([]any{tamper(secret)})
	_, err = c.Authenticate(context.Background(), &accesspb.AuthenticateRequest{Request: &accesspb.Request{Headers: map[string]*structpb.ListValue{"x-token": bad}}})
	if status.Code(err) != codes.Unauthenticated {
		t.Errorf("Authenticate with a mistyped x-token: %v, want Unauthenticated", err)
	}
}
