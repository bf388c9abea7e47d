package e2e

import (
	"encoding/json"
	"io"
	"net/http"
	"os"
	"os/exec"
	"strings"
	"testing"
	"time"

	"warden/server"
)

// ksPassword is the robot's password in the Keystone tests.
const ksPassword = "robot-password-1"

// ksWorld is newWorld with the robot (in folder B) holding editor on the
// whole cloud — wider than any project — and a password.
type ksWorld struct {
	*world
	cloudName string
}

func newKSWorld(t testing.TB, n *node) *ksWorld {
	t.Helper()
	w := &ksWorld{world: newBenchWorld(t, n)}
	w.cloudName = str(n.rest("GET", "/resource-manager/v1/clouds/"+w.cloud, w.admin, nil).body, "name")
	w.bind(t, "/resource-manager/v1/clouds/"+w.cloud, "ADD", "editor", "serviceAccount", w.robot)
	if r := n.rest("POST", "/warden/v1/serviceAccounts/"+w.robot+":setPassword", w.admin, map[string]string{"password": ksPassword}); r.status != 200 {
		t.Fatalf("set the robot's password: %d %s", r.status, r.raw)
	}
	return w
}

// ks sends a request to the Keystone API with the given headers. An
// answer that every password-hashing slot was busy (2 shared cores) is
// retried, as a client honouring Retry-After would.
func (n *node) ks(method, path string, headers map[string]string, body string) response {
	n.t.Helper()
	for try := 0; ; try++ {
		r := n.ksOnce(method, path, headers, body)
		if r.status != 429 || !strings.Contains(r.raw, "password checks in progress") || try == 20 {
			return r
		}
		time.Sleep(time.Second)
	}
}

func (n *node) ksOnce(method, path string, headers map[string]string, body string) response {
	n.t.Helper()
	var rd io.Reader
	if body != "" {
		rd = strings.NewReader(body)
	}
	req, err := http.NewRequest(method, "http://"+n.addr+path, rd)
	if err != nil {
		n.t.Fatal(err)
	}
	req.Header.Set("Content-Type", "application/json")
	for k, v := range headers {
		req.Header.Set(k, v)
	}
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		n.t.Fatalf("%s %s: %v", method, path, err)
	}
	defer resp.Body.Close()
	raw, _ := io.ReadAll(resp.Body)
	r := response{status: resp.StatusCode, header: resp.Header, raw: string(raw)}
	json.Unmarshal(raw, &r.body)
	return r
}

// passwordAuth is a password-method auth body for the robot by name in its
// domain, with a scope ("" for none).
func (w *ksWorld) passwordAuth(password, scope string) string {
	body := `{"auth":{"identity":{"methods":["password"],"password":{"user":{"name":"robot","domain":{"name":"` + w.cloudName + `"},"password":"` + password + `"}}}`
	if scope != "" {
		body += `,"scope":` + scope
	}
	return body + `}}`
}

func projectScope(id string) string { return `{"project":{"id":"` + id + `"}}` }

// issue gets a token for the robot with a scope, failing the test unless
// the answer is 201 with X-Subject-Token.
func (w *ksWorld) issue(t testing.TB, scope string) string {
	t.Helper()
	r := w.n.ks("POST", "/v3/auth/tokens", nil, w.passwordAuth(ksPassword, scope))
	tok := r.header.Get("X-Subject-Token")
	if r.status != 201 || tok == "" {
		t.Fatalf("issue a token scoped %s: %d %s", scope, r.status, r.raw)
	}
	return tok
}

// authorize asks the access service whether the presented headers may use
// permission on each folder, in order.
func (n *node) authorize(t testing.TB, headers map[string][]string, permission string, folders ...string) []bool {
	t.Helper()
	var checks []any
	for _, f := range folders {
		checks = append(checks, map[string]any{"permission": permission, "resource": map[string]string{"type": "resource-manager.folder", "id": f}})
	}
	z := n.rest("POST", "/access/v1:authorize", "", map[string]any{
		"request": map[string]any{"method": "GET", "path": "/", "headers": headers, "clientAddress": "192.0.2.7"}, "checks": checks})
	results, _ := z.body["results"].([]any)
	if z.status != 200 || len(results) != len(folders) {
		t.Fatalf("authorize: %d %s", z.status, z.raw)
	}
	out := make([]bool, len(results))
	for i, r := range results {
		out[i] = r.(map[string]any)["allowed"] == true
	}
	return out
}

// seedCurl is seed 004's curl command for an account (domain) token and
// for a project token, verbatim but for the placeholders and the URL.
var seedCurl = map[string]string{
	"account": `curl -i -XPOST \
-H 'Content-Type: application/json' \
-d '{"auth":{"identity":{"methods":["password"],"password":{"user":{"name":"<username>","domain":{"name":"<account_id>"},"password":"<password>"}}},"scope":{"domain":{"name":"<account_id>"}}}}' \
'https://cloud.api.selcloud.ru/identity/v3/auth/tokens'`,
	"project": `curl -i -XPOST \
-H 'Content-Type: application/json' \
-d '{"auth":{"identity":{"methods":["password"],"password":{"user":{"name":"<username>","domain":{"name":"<account_id>"},"password":"<password>"}}},"scope":{"project":{"name":"<project_name>","domain":{"name":"<account_id>"}}}}}' \
'https://cloud.api.selcloud.ru/identity/v3/auth/tokens'`,
}

// runSeedCurl runs one of the seed's commands with bash and returns the
// status and X-Subject-Token of its answer.
func runSeedCurl(t *testing.T, n *node, which string, values map[string]string) (int, string) {
	t.Helper()
	cmd := strings.Replace(seedCurl[which], "https://cloud.api.selcloud.ru", "http://"+n.addr, 1)
	for k, v := range values {
		cmd = strings.ReplaceAll(cmd, k, v)
	}
	out, err := exec.Command("bash", "-c", cmd).Output()
	if err != nil {
		t.Fatalf("%s: %v\n%s", cmd, err, out)
	}
	head, _, _ := strings.Cut(strings.ReplaceAll(string(out), "\r\n", "\n"), "\n\n")
	lines := strings.Split(head, "\n")
	var status int
	var tok string
	if f := strings.Fields(lines[0]); len(f) >= 2 {
		status = atoi(f[1])
	}
	for _, l := range lines[1:] {
		if k, v, ok := strings.Cut(l, ":"); ok && strings.EqualFold(k, "X-Subject-Token") {
			tok = strings.TrimSpace(v)
		}
	}
	return status, tok
}

func atoi(s string) int {
	n := 0
	for _, c := range s {
		if c < '0' || c > '9' {
			return 0
		}
		n = n*10 + int(c-'0')
	}
	return n
}

// TestKeystoneSeedCurl runs seed 004's two curl commands verbatim (a
// service account's name and password, the cloud as the account — by name
// and by ID, as Selectel's account number — and a project): 201 with
// X-Subject-Token, and the token authenticates as X-Auth-Token through the
// access service only inside its scope, though the robot holds editor on
// the whole cloud and viewer on the organization.
func TestKeystoneSeedCurl(t *testing.T) {
	if _, err := exec.LookPath("curl"); err != nil {
		t.Skip("curl is missing")
	}
	for _, b := range backends(t) {
		t.Run(b.name, func(t *testing.T) {
			n := start(t, t.TempDir(), b.database(t))
			w := newKSWorld(t, n)
			org := str(n.rest("GET", "/resource-manager/v1/clouds/"+w.cloud, w.admin, nil).body, "organizationId")
			w.bind(t, "/organization-manager/v1/organizations/"+org, "ADD", "viewer", "serviceAccount", w.robot)
			other := n.rest("POST", "/resource-manager/v1/clouds", w.admin, map[string]any{"organizationId": org, "name": "other-cloud"})
			otherFolder := str(n.rest("POST", "/resource-manager/v1/folders", w.admin, map[string]any{"cloudId": str(other.body, "response", "id"), "name": "elsewhere"}).body, "response", "id")
			if otherFolder == "" {
				t.Fatalf("folder in another cloud: %s", other.raw)
			}
			headers := func(tok string) map[string][]string { return map[string][]string{"X-Auth-Token": {tok}} }
			for _, account := range []string{w.cloudName, w.cloud} {
				values := map[string]string{"<username>": "robot", "<account_id>": account, "<password>": ksPassword, "<project_name>": "default"}

				status, tok := runSeedCurl(t, n, "account", values)
				if status != 201 || !strings.HasPrefix(tok, "k1.") {
					t.Fatalf("account token with domain %q: %d %q", account, status, tok)
				}
				if got := n.authorize(t, headers(tok), "iam.serviceAccounts.list", w.folderA, w.folderB, otherFolder); got[0] != true || got[1] != true || got[2] != false {
					t.Errorf("account token: allowed in A, B, another cloud = %v, want [true true false]", got)
				}

				status, tok = runSeedCurl(t, n, "project", values)
				if status != 201 || !strings.HasPrefix(tok, "k1.") {
					t.Fatalf("project token with domain %q: %d %q", account, status, tok)
				}
				if got := n.authorize(t, headers(tok), "iam.serviceAccounts.list", w.folderA, w.folderB, otherFolder); got[0] != true || got[1] != false || got[2] != false {
					t.Errorf("project token for A: allowed in A, B, another cloud = %v, want [true false false]", got)
				}
				a := n.rest("POST", "/access/v1:authenticate", "", map[string]any{"request": map[string]any{"headers": headers(tok)}})
				if a.status != 200 || str(a.body, "subject", "id") != w.robot || str(a.body, "credentialType") != "keystoneToken" {
					t.Errorf("authenticate the project token: %d %s", a.status, a.raw)
				}
			}
		})
	}
}

// TestKeystoneScopeOnWardenAPI: a project token confines the robot on
// Warden's own API too, though it holds editor on the cloud; an unscoped
// token authorizes nothing.
func TestKeystoneScopeOnWardenAPI(t *testing.T) {
	n := start(t, t.TempDir(), "")
	w := newKSWorld(t, n)
	projectA := w.issue(t, projectScope(w.folderA))
	domain := w.issue(t, `{"domain":{"id":"`+w.cloud+`"}}`)
	unscoped := w.issue(t, "")
	list := func(tok, folder string) int {
		return n.ks("GET", "/iam/v1/serviceAccounts?folderId="+folder, map[string]string{"X-Auth-Token": tok}, "").status
	}
	for _, c := range []struct {
		name, tok, folder string
		want              int
	}{
		{"project A in A", projectA, w.folderA, 200},
		{"project A in B", projectA, w.folderB, 403},
		{"domain in A", domain, w.folderA, 200},
		{"domain in B", domain, w.folderB, 200},
		{"unscoped in A", unscoped, w.folderA, 403},
	} {
		if got := list(c.tok, c.folder); got != c.want {
			t.Errorf("%s: %d, want %d", c.name, got, c.want)
		}
	}
	// The Keystone views obey the scope as well.
	r := n.ks("GET", "/v3/projects", map[string]string{"X-Auth-Token": projectA}, "")
	if ps, _ := r.body["projects"].([]any); r.status != 200 || len(ps) != 1 || str(ps[0], "id") != w.folderA {
		t.Errorf("GET /v3/projects with a project token: %d %s", r.status, r.raw)
	}
	if r := n.ks("GET", "/v3/projects/"+w.folderB, map[string]string{"X-Auth-Token": projectA}, ""); r.status != 403 || str(r.body, "error", "title") != "Forbidden" {
		t.Errorf("GET /v3/projects/B with a project token for A: %d %s", r.status, r.raw)
	}
	// What a token may be scoped to does not depend on its own scope.
	r = n.ks("GET", "/v3/auth/projects", map[string]string{"X-Auth-Token": unscoped}, "")
	if ps, _ := r.body["projects"].([]any); r.status != 200 || len(ps) != 2 {
		t.Errorf("GET /v3/auth/projects with an unscoped token: %d %s", r.status, r.raw)
	}
}

// TestKeystoneTokenBody checks the token document, validation (GET and
// HEAD), ?nocatalog and revocation.
func TestKeystoneTokenBody(t *testing.T) {
	n := start(t, t.TempDir(), "")
	w := newKSWorld(t, n)
	r := n.ks("POST", "/identity/v3/auth/tokens", nil, w.passwordAuth(ksPassword, `{"project":{"name":"default","domain":{"name":"`+w.cloudName+`"}}}`))
	tok := r.header.Get("X-Subject-Token")
	if r.status != 201 || tok == "" {
		t.Fatalf("issue: %d %s", r.status, r.raw)
	}
	body := r.body["token"]
	issued, _ := time.Parse(time.RFC3339, str(body, "issued_at"))
	expires, _ := time.Parse(time.RFC3339, str(body, "expires_at"))
	for _, c := range []struct{ field, got, want string }{
		{"user.id", str(body, "user", "id"), w.robot},
		{"user.name", str(body, "user", "name"), "robot"},
		{"user.domain.id", str(body, "user", "domain", "id"), w.cloud},
		{"project.id", str(body, "project", "id"), w.folderA},
		{"project.name", str(body, "project", "name"), "default"},
		{"project.domain.id", str(body, "project", "domain", "id"), w.cloud},
		{"catalog[0].type", str(body.(map[string]any)["catalog"].([]any)[0], "type"), "identity"},
		{"lifetime", expires.Sub(issued).String(), "24h0m0s"},
	} {
		if c.got != c.want {
			t.Errorf("%s = %q, want %q", c.field, c.got, c.want)
		}
	}
	if m, _ := body.(map[string]any)["methods"].([]any); len(m) != 1 || m[0] != "password" {
		t.Errorf("methods = %v", m)
	}
	if a, _ := body.(map[string]any)["audit_ids"].([]any); len(a) != 1 || len(a[0].(string)) != 22 {
		t.Errorf("audit_ids = %v", a)
	}
	if roles, _ := body.(map[string]any)["roles"].([]any); len(roles) != 1 || str(roles[0], "name") != "editor" {
		t.Errorf("roles = %v", roles)
	}
	both := map[string]string{"X-Auth-Token": tok, "X-Subject-Token": tok}
	if v := n.ks("GET", "/v3/auth/tokens?nocatalog", both, ""); v.status != 200 || str(v.body, "token", "user", "id") != w.robot || v.body["token"].(map[string]any)["catalog"] != nil {
		t.Errorf("validate ?nocatalog: %d %s", v.status, v.raw)
	}
	if v := n.ks("HEAD", "/identity/v3/auth/tokens", both, ""); v.status != 200 {
		t.Errorf("HEAD: %d", v.status)
	}
	if v := n.ks("DELETE", "/v3/auth/tokens", both, ""); v.status != 204 {
		t.Errorf("revoke: %d %s", v.status, v.raw)
	}
	other := w.issue(t, "")
	if v := n.ks("GET", "/v3/auth/tokens", map[string]string{"X-Auth-Token": other, "X-Subject-Token": tok}, ""); v.status != 404 || str(v.body, "error", "title") != "Not Found" {
		t.Errorf("validate a revoked token: %d %s", v.status, v.raw)
	}
}

// TestKeystoneDiscovery: the version documents keystoneauth reads.
func TestKeystoneDiscovery(t *testing.T) {
	n := start(t, t.TempDir(), "")
	for path, want := range map[string]string{"/v3": "/v3/", "/identity/v3": "/identity/v3/", "/identity/v3/": "/identity/v3/"} {
		r := n.ks("GET", path, nil, "")
		links, _ := r.body["version"].(map[string]any)["links"].([]any)
		if r.status != 200 || str(r.body, "version", "status") != "stable" || len(links) != 1 || str(links[0], "href") != "http://"+n.addr+want {
			t.Errorf("GET %s: %d %s", path, r.status, r.raw)
		}
	}
	for path, want := range map[string]string{"/": "/v3/", "/identity": "/identity/v3/"} {
		r := n.ks("GET", path, nil, "")
		values, _ := r.body["versions"].(map[string]any)["values"].([]any)
		if r.status != 300 || len(values) != 1 || str(values[0].(map[string]any)["links"].([]any)[0], "href") != "http://"+n.addr+want {
			t.Errorf("GET %s: %d %s", path, r.status, r.raw)
		}
	}
}

// keystoneError checks that an answer is a Keystone error with a status;
// every 401 says the one message and names where to authenticate.
func keystoneError(t *testing.T, what string, r response, status int) {
	t.Helper()
	if r.status != status || str(r.body, "error", "title") != http.StatusText(status) || str(r.body, "error", "message") == "" {
		t.Errorf("%s: %d %s, want a Keystone error %d", what, r.status, r.raw, status)
		return
	}
	if code, _ := r.body["error"].(map[string]any)["code"].(float64); int(code) != status {
		t.Errorf("%s: error.code %v, want %d", what, code, status)
	}
	if status == 401 {
		if msg := str(r.body, "error", "message"); msg != "The request you have made requires authentication." {
			t.Errorf("%s: 401 says %q", what, msg)
		}
		if h := r.header.Get("WWW-Authenticate"); !strings.HasPrefix(h, `Keystone uri="http://`) {
			t.Errorf("%s: WWW-Authenticate %q", what, h)
		}
	}
}

// TestKeystoneBadInput: every bad input is answered in Keystone's shape.
func TestKeystoneBadInput(t *testing.T) {
	clk := &clock{t: time.Now()}
	n := start(t, t.TempDir(), "", func(c *server.Config) { c.Now = clk.now })
	w := newKSWorld(t, n)
	org := str(n.rest("GET", "/resource-manager/v1/clouds/"+w.cloud, w.admin, nil).body, "organizationId")
	other := str(n.rest("POST", "/resource-manager/v1/clouds", w.admin, map[string]any{"organizationId": org, "name": "other-cloud"}).body, "response", "id")
	otherFolder := str(n.rest("POST", "/resource-manager/v1/folders", w.admin, map[string]any{"cloudId": other, "name": "elsewhere"}).body, "response", "id")
	good := w.issue(t, projectScope(w.folderA))
	unscoped := w.issue(t, "")
	revoked := w.issue(t, "")
	if r := n.ks("DELETE", "/v3/auth/tokens", map[string]string{"X-Auth-Token": good, "X-Subject-Token": revoked}, ""); r.status != 204 {
		t.Fatalf("revoke: %d %s", r.status, r.raw)
	}
	tampered := []byte(good)
	tampered[10] ^= 1
	user := func(u string) string {
		return `{"auth":{"identity":{"methods":["password"],"password":{"user":` + u + `}}}}`
	}
	post := func(body string) response { return n.ks("POST", "/v3/auth/tokens", nil, body) }
	cases := []struct {
		name   string
		r      func() response
		status int
	}{
		{"wrong password", func() response { return post(w.passwordAuth("wrong-password", "")) }, 401},
		{"unknown user", func() response {
			return post(user(`{"name":"nobody","domain":{"name":"` + w.cloudName + `"},"password":"x-password"}`))
		}, 401},
		{"unknown user id", func() response { return post(user(`{"id":"ajenosuchaccount0000","password":"x-password"}`)) }, 401},
		{"user without a password", func() response { return post(user(`{"id":"` + w.folderB + `","password":"x-password"}`)) }, 401},
		{"unknown domain", func() response {
			return post(user(`{"name":"robot","domain":{"name":"no-such-domain"},"password":"` + ksPassword + `"}`))
		}, 401},
		{"user of another domain", func() response {
			return post(user(`{"name":"robot","domain":{"id":"` + other + `"},"password":"` + ksPassword + `"}`))
		}, 401},
		{"unknown project", func() response { return post(w.passwordAuth(ksPassword, projectScope("b1fnosuchfolder00000"))) }, 401},
		{"project of another domain", func() response {
			return post(w.passwordAuth(ksPassword, `{"project":{"id":"`+w.folderA+`","domain":{"id":"`+other+`"}}}`))
		}, 401},
		{"project without a role", func() response { return post(w.passwordAuth(ksPassword, projectScope(otherFolder))) }, 401},
		{"system scope", func() response { return post(w.passwordAuth(ksPassword, `{"system":{"all":true}}`)) }, 403},
		{"project and domain", func() response {
			return post(w.passwordAuth(ksPassword, `{"project":{"id":"`+w.folderA+`"},"domain":{"id":"`+w.cloud+`"}}`))
		}, 400},
		{"malformed JSON", func() response { return post(`{"auth": {"identity": `) }, 400},
		{"no identity", func() response { return post(`{"auth": {}}`) }, 400},
		{"no user domain", func() response { return post(user(`{"name":"robot","password":"x-password"}`)) }, 400},
		{"unsupported method", func() response {
			return post(`{"auth":{"identity":{"methods":["totp"],"totp":{"user":{"id":"x","passcode":"1"}}}}}`)
		}, 400},
		{"body over the limit", func() response { return post(`{"auth": {"x": "` + strings.Repeat("a", 70<<10) + `"}}`) }, 413},
		{"no X-Auth-Token", func() response { return n.ks("GET", "/v3/auth/projects", nil, "") }, 401},
		{"tampered token", func() response {
			return n.ks("GET", "/v3/auth/projects", map[string]string{"X-Auth-Token": string(tampered)}, "")
		}, 401},
		{"revoked token", func() response {
			return n.ks("GET", "/v3/auth/projects", map[string]string{"X-Auth-Token": revoked}, "")
		}, 401},
		{"an IAM token as X-Auth-Token", func() response {
			return n.ks("GET", "/v3/auth/projects", map[string]string{"X-Auth-Token": w.robotToken}, "")
		}, 401},
		{"validate a tampered token", func() response {
			return n.ks("GET", "/v3/auth/tokens", map[string]string{"X-Auth-Token": good, "X-Subject-Token": string(tampered)}, "")
		}, 404},
		{"unscoped token where a scope is needed", func() response {
			return n.ks("GET", "/v3/projects/"+w.folderA, map[string]string{"X-Auth-Token": unscoped}, "")
		}, 403},
		{"rescope a scoped token", func() response {
			return post(`{"auth":{"identity":{"methods":["token"],"token":{"id":"` + good + `"}},"scope":{"domain":{"id":"` + w.cloud + `"}}}}`)
		}, 403},
		{"no X-Subject-Token", func() response { return n.ks("GET", "/v3/auth/tokens", map[string]string{"X-Auth-Token": good}, "") }, 400},
		{"unknown path", func() response {
			return n.ks("GET", "/v3/OS-FEDERATION/identity_providers", map[string]string{"X-Auth-Token": good}, "")
		}, 404},
	}
	for _, c := range cases {
		keystoneError(t, c.name, c.r(), c.status)
	}
	// Expired: a day and a second later, the token is refused as a
	// credential (401) and not found as a subject (404).
	clk.advance(24*time.Hour + time.Second)
	keystoneError(t, "expired token", n.ks("GET", "/v3/auth/projects", map[string]string{"X-Auth-Token": good}, ""), 401)
	fresh := w.issue(t, "")
	keystoneError(t, "validate an expired token", n.ks("GET", "/v3/auth/tokens", map[string]string{"X-Auth-Token": fresh, "X-Subject-Token": good}, ""), 404)
	// Throttled: failures in a row for one user answer 429 with Retry-After.
	var r response
	for i := 0; i < 8 && r.status != 429; i++ {
		r = post(w.passwordAuth("wrong-password", ""))
	}
	keystoneError(t, "throttled", r, 429)
	if r.header.Get("Retry-After") == "" {
		t.Error("throttled: no Retry-After")
	}
}

// TestKeystoneRescope: an unscoped token is traded for a project token
// (the token method), which keeps the parent's expiry and audit chain.
func TestKeystoneRescope(t *testing.T) {
	n := start(t, t.TempDir(), "")
	w := newKSWorld(t, n)
	unscoped := w.issue(t, "")
	r := n.ks("POST", "/v3/auth/tokens", nil, `{"auth":{"identity":{"methods":["token"],"token":{"id":"`+unscoped+`"}},"scope":{"project":{"id":"`+w.folderB+`"}}}}`)
	tok := r.header.Get("X-Subject-Token")
	if r.status != 201 || tok == "" {
		t.Fatalf("rescope: %d %s", r.status, r.raw)
	}
	if a, _ := r.body["token"].(map[string]any)["audit_ids"].([]any); len(a) != 2 {
		t.Errorf("audit_ids of a rescoped token = %v, want its own and its parent's", a)
	}
	if got := n.authorize(t, map[string][]string{"X-Auth-Token": {tok}}, "iam.serviceAccounts.list", w.folderA, w.folderB); got[0] || !got[1] {
		t.Errorf("rescoped to B: allowed in A, B = %v", got)
	}
}

// TestKeystoneCatalogFile: the operator's services follow Warden's identity
// in the catalog of a scoped token and of GET /v3/auth/catalog.
func TestKeystoneCatalogFile(t *testing.T) {
	file := t.TempDir() + "/catalog.json"
	if err := os.WriteFile(file, []byte(`{"services": [{"type": "object-store", "name": "swift",
		"endpoints": [{"interface": "public", "region": "ru-1", "url": "https://swift.example/v1"}]}]}`), 0o600); err != nil {
		t.Fatal(err)
	}
	n := start(t, t.TempDir(), "", func(c *server.Config) { c.KeystoneCatalogFile = file })
	w := newKSWorld(t, n)
	r := n.ks("POST", "/v3/auth/tokens", nil, w.passwordAuth(ksPassword, projectScope(w.folderA)))
	catalog, _ := r.body["token"].(map[string]any)["catalog"].([]any)
	if r.status != 201 || len(catalog) != 2 || str(catalog[0], "type") != "identity" || str(catalog[1], "type") != "object-store" {
		t.Fatalf("token catalog: %d %s", r.status, r.raw)
	}
	c := n.ks("GET", "/v3/auth/catalog", map[string]string{"X-Auth-Token": r.header.Get("X-Subject-Token")}, "")
	if got, _ := c.body["catalog"].([]any); c.status != 200 || len(got) != 2 {
		t.Errorf("GET /v3/auth/catalog: %d %s", c.status, c.raw)
	}
}
