package e2e

import (
	"bytes"
	"context"
	"crypto/sha256"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"os"
	"path/filepath"
	"sort"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	"warden"
	"warden/server"
	"warden/service"
	"warden/storage/sqlite"
)

const auditAdminPassword = "walk-the-audit-trail-9"

// auditWalk is the world in which every mutating method is called.
type auditWalk struct {
	t          *testing.T
	n          *node
	start      time.Time
	admin      string // IAM token of the bootstrap admin
	adminID    string
	stranger   string // IAM token of a service account that holds no role
	strangerID string
	org        string
	cloud      string
	folder     string
	seq        int
	// secrets are every secret the walk was shown or sent, by what it is.
	secrets map[string]string
}

// auditCall is one call of a method and what its event must say.
type auditCall struct {
	verb, path string
	body       any
	// header is sent as is; without "Authorization" in it the token is
	// sent as a bearer token ("" for none).
	header   map[string]string
	token    string
	resource string // on the event's path ("" for none to check)
	subject  string // the event's subject ("" for the token's)
	want     int    // expected HTTP status; 0: any 2xx for a success, any 4xx for a refusal
}

// auditCase calls one method: ok succeeds, refused (when set) is refused;
// without it the ok call is made again with the stranger's token and must
// be refused.
type auditCase struct {
	ok      func(w *auditWalk) auditCall
	refused func(w *auditWalk) auditCall
	// last runs the case after all others (it changes the admin's password).
	last bool
}

func newAuditWalk(t *testing.T, opts ...func(*server.Config)) *auditWalk {
	opts = append([]func(*server.Config){func(c *server.Config) { c.AdminPassword = auditAdminPassword }}, opts...)
	n := start(t, t.TempDir(), "", opts...)
	w := &auditWalk{t: t, n: n, start: time.Now().Add(-time.Second), secrets: map[string]string{
		"admin OAuth token": n.adminOAuthToken(), "admin password": auditAdminPassword}}
	w.admin = n.iamToken()
	w.secret("admin IAM token", w.admin)
	w.adminID = n.m.Bootstrap().AdminID
	w.org, w.cloud, w.folder = n.m.Bootstrap().OrganizationID, n.m.Bootstrap().CloudID, n.m.Bootstrap().FolderID
	w.strangerID = w.sa()
	r := w.must("POST", "/iam/v1/tokens:createForServiceAccount", map[string]any{"serviceAccountId": w.strangerID})
	w.stranger = str(r.body, "iamToken")
	w.secret("stranger IAM token", w.stranger)
	return w
}

// renewAdmin gets the admin a new IAM token once one is accepted again
// (after the admin's tokens were revoked: those of the same second are
// refused too).
func (w *auditWalk) renewAdmin() {
	w.t.Helper()
	deadline := time.Now().Add(5 * time.Second)
	for {
		tok := w.n.iamToken()
		if w.n.rest("GET", "/resource-manager/v1/clouds", tok, nil).status == http.StatusOK {
			w.admin = tok
			w.secret("renewed admin IAM token", tok)
			return
		}
		if time.Now().After(deadline) {
			w.t.Fatal("no admin IAM token is accepted 5 s after the revocation")
		}
		time.Sleep(50 * time.Millisecond)
	}
}

func (w *auditWalk) secret(what, v string) {
	if v == "" {
		w.t.Fatalf("%s: empty secret", what)
	}
	w.secrets[what] = v
}

func (w *auditWalk) name(prefix string) string {
	w.seq++
	return prefix + "-" + strings.ToLower(warden.NewID("tst")[3:9]) + "-" + string(rune('a'+w.seq%26))
}

// pool is the default userpool.
func (w *auditWalk) pool() string {
	r := w.must("GET", "/organization-manager/v1/idp/userpools?organizationId="+w.org, nil)
	pools, _ := r.body["userpools"].([]any)
	if len(pools) == 0 {
		w.t.Fatalf("no userpool: %s", r.raw)
	}
	return str(pools[0], "id")
}

// newPool creates an empty userpool.
func (w *auditWalk) newPool() string {
	name := w.name("pool")
	r := w.must("POST", "/organization-manager/v1/idp/userpools", map[string]any{"organizationId": w.org, "name": name, "defaultSubdomain": name})
	return str(r.body, "metadata", "userpoolId")
}

// user creates a user of the default pool with a password and returns its
// ID, login and password.
func (w *auditWalk) user() (id, login, password string) {
	login, password = w.name("user")+"@default", "walk-"+w.name("pw")+"-Quartz9"
	r := w.must("POST", "/organization-manager/v1/idp/users", map[string]any{"userpoolId": w.pool(), "username": login, "fullName": "Walked User",
		"passwordSpec": map[string]any{"password": password}})
	w.secret("password of "+login, password)
	return str(r.body, "metadata", "userId"), login, password
}

// userIAMToken logs a user in and exchanges the OAuth token for an IAM token.
func (w *auditWalk) userIAMToken(login, password string) string {
	r, _ := w.do(auditCall{verb: "POST", path: "/warden/v1/login", body: map[string]any{"login": login, "password": password}})
	oauth := str(r.body, "oauthToken")
	w.secret("OAuth token of "+login, oauth)
	t, _ := w.do(auditCall{verb: "POST", path: "/iam/v1/tokens", body: map[string]any{"yandexPassportOauthToken": oauth}})
	iam := str(t.body, "iamToken")
	if iam == "" {
		w.t.Fatalf("no IAM token for %s: %s", login, t.raw)
	}
	w.secret("IAM token of "+login, iam)
	return iam
}

// must is a call by the admin that must succeed (fixtures).
func (w *auditWalk) must(verb, path string, body any) response {
	w.t.Helper()
	r := w.n.rest(verb, path, w.admin, body)
	if r.status/100 != 2 {
		w.t.Fatalf("%s %s: %d %s", verb, path, r.status, r.raw)
	}
	return r
}

func (w *auditWalk) sa() string {
	r := w.must("POST", "/iam/v1/serviceAccounts", map[string]any{"folderId": w.folder, "name": w.name("sa")})
	return str(r.body, "metadata", "serviceAccountId")
}

func (w *auditWalk) newCloud() string {
	r := w.must("POST", "/resource-manager/v1/clouds", map[string]any{"organizationId": w.org, "name": w.name("cloud")})
	return str(r.body, "metadata", "cloudId")
}

func (w *auditWalk) newFolder() string {
	r := w.must("POST", "/resource-manager/v1/folders", map[string]any{"cloudId": w.cloud, "name": w.name("folder")})
	return str(r.body, "metadata", "folderId")
}

func (w *auditWalk) key(sa string) string {
	r := w.must("POST", "/iam/v1/keys", map[string]any{"serviceAccountId": sa})
	w.secret("authorized key "+str(r.body, "key", "id"), str(r.body, "privateKey"))
	return str(r.body, "key", "id")
}

func (w *auditWalk) apiKey(sa string) string {
	r := w.must("POST", "/iam/v1/apiKeys", map[string]any{"serviceAccountId": sa})
	w.secret("API key "+str(r.body, "apiKey", "id"), str(r.body, "secret"))
	return str(r.body, "apiKey", "id")
}

func (w *auditWalk) accessKey(sa string) string {
	r := w.must("POST", "/iam/aws-compatibility/v1/accessKeys", map[string]any{"serviceAccountId": sa})
	w.secret("access key "+str(r.body, "accessKey", "id"), str(r.body, "secret"))
	return str(r.body, "accessKey", "id")
}

func (w *auditWalk) cloudruKey(sa string) string {
	r := w.must("POST", "/api/v1/service-accounts/credentials/api-keys", map[string]any{"name": w.name("k"), "serviceAccountId": sa})
	w.secret("Cloud.ru API key "+str(r.body, "id"), str(r.body, "secret"))
	return str(r.body, "id")
}

func (w *auditWalk) password(sa string) string {
	r := w.must("POST", "/warden/v1/serviceAccounts/"+sa+":setPassword", map[string]any{"generate": true})
	w.secret("password of "+sa, str(r.body, "password"))
	return str(r.body, "password")
}

func keystoneAuthBody(user, password string) map[string]any {
	return map[string]any{"auth": map[string]any{"identity": map[string]any{"methods": []string{"password"},
		"password": map[string]any{"user": map[string]any{"id": user, "password": password}}}}}
}

// keystoneToken returns a Keystone token of a fresh service account.
func (w *auditWalk) keystoneToken() (string, string) {
	sa := w.sa()
	r, _ := w.do(auditCall{verb: "POST", path: "/v3/auth/tokens", body: keystoneAuthBody(sa, w.password(sa))})
	tok := r.header.Get("X-Subject-Token")
	w.secret("Keystone token of "+sa, tok)
	return sa, tok
}

func (w *auditWalk) login() string {
	r, _ := w.do(auditCall{verb: "POST", path: "/warden/v1/login", body: map[string]any{"login": "admin", "password": auditAdminPassword}})
	tok := str(r.body, "oauthToken")
	w.secret("login OAuth token", tok)
	return tok
}

// do sends c and returns the answer and its request id.
//
// A refusal by the password-hashing limiter (its slots busy past their
// wait: tests hashing at once on two busy cores) is retried after its
// Retry-After, as node.rest does: each try is its own request, with its own
// ID and event, and the call's event is the last try's.
func (w *auditWalk) do(c auditCall) (response, string) {
	w.t.Helper()
	for try := 0; ; try++ {
		r, id := w.doOnce(c)
		if r.status != http.StatusTooManyRequests || !strings.Contains(r.raw, "password checks in progress") || try == 30 {
			return r, id
		}
		wait, err := strconv.Atoi(r.header.Get("Retry-After"))
		if err != nil || wait < 1 {
			wait = 1
		}
		time.Sleep(time.Duration(wait) * time.Second) // the server's own backoff, not a synchronisation
	}
}

func (w *auditWalk) doOnce(c auditCall) (response, string) {
	w.t.Helper()
	var rd io.Reader
	if c.body != nil {
		b, _ := json.Marshal(c.body)
		rd = bytes.NewReader(b)
	}
	req, err := http.NewRequest(c.verb, "http://"+w.n.addr+c.path, rd)
	if err != nil {
		w.t.Fatal(err)
	}
	req.Header.Set("Content-Type", "application/json")
	req.Header.Set("User-Agent", "audit-walk/1")
	for k, v := range c.header {
		req.Header.Set(k, v)
	}
	if _, ok := c.header["Authorization"]; !ok && c.token != "" {
		req.Header.Set("Authorization", "Bearer "+c.token)
	}
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		w.t.Fatalf("%s %s: %v", c.verb, c.path, err)
	}
	defer resp.Body.Close()
	raw, _ := io.ReadAll(resp.Body)
	r := response{status: resp.StatusCode, header: resp.Header, raw: string(raw)}
	json.Unmarshal(raw, &r.body)
	return r, resp.Header.Get("X-Request-Id")
}

// events returns every event since the walk began.
func (w *auditWalk) events() []*warden.AuditEvent {
	w.t.Helper()
	svc := w.n.m.Service()
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	if err := svc.AuditWriter().Flush(ctx); err != nil {
		w.t.Fatalf("flush the audit writer: %v", err)
	}
	var out []*warden.AuditEvent
	tok := ""
	for {
		evs, next, err := svc.ListAuditEvents(ctx, warden.AuditFilter{Since: w.start, Page: warden.Page{Size: 1000, Token: tok}})
		if err != nil {
			w.t.Fatalf("list audit events: %v", err)
		}
		out = append(out, evs...)
		if next == "" {
			return out
		}
		tok = next
	}
}

// eventsOf returns the events of one request.
func (w *auditWalk) eventsOf(requestID string) []*warden.AuditEvent {
	var out []*warden.AuditEvent
	for _, e := range w.events() {
		if e.Request.RequestID == requestID {
			out = append(out, e)
		}
	}
	return out
}

// check makes c as method and checks its one event.
func (w *auditWalk) check(t *testing.T, method string, c auditCall, refused bool) {
	t.Helper()
	r, id := w.do(c)
	switch {
	case c.want != 0 && r.status != c.want:
		t.Fatalf("%s %s = %d %s, want %d", c.verb, c.path, r.status, r.raw, c.want)
	case c.want == 0 && !refused && r.status/100 != 2:
		t.Fatalf("%s %s = %d %s, want success", c.verb, c.path, r.status, r.raw)
	case c.want == 0 && refused && r.status/100 != 4:
		t.Fatalf("%s %s = %d %s, want a refusal", c.verb, c.path, r.status, r.raw)
	}
	if id == "" {
		t.Fatalf("%s %s: no X-Request-Id", c.verb, c.path)
	}
	evs := w.eventsOf(id)
	if len(evs) != 1 {
		t.Fatalf("%s %s (%d): %d events, want exactly 1: %s", c.verb, c.path, r.status, len(evs), eventsJSON(evs))
	}
	e := evs[0]
	wantType := strings.ReplaceAll(strings.TrimPrefix(method, "/"), "/", ".")
	if e.Type != wantType {
		t.Errorf("event_type %q, want %q", e.Type, wantType)
	}
	if e.Request.UserAgent != "audit-walk/1" || e.Request.RemoteAddress == "" {
		t.Errorf("request_metadata %+v: want the client's address and user agent", e.Request)
	}
	subject := c.subject
	if subject == "" {
		switch c.token {
		case w.admin:
			subject = w.adminID
		case w.stranger:
			subject = w.strangerID
		}
	}
	if subject != "" && e.Authentication.SubjectID != subject {
		t.Errorf("subject %q, want %q: %s", e.Authentication.SubjectID, subject, eventsJSON(evs))
	}
	if c.resource != "" && !strings.Contains(" "+pathIDs(e)+" ", " "+c.resource+" ") {
		t.Errorf("resource path %q does not hold %s", pathIDs(e), c.resource)
	}
	success := r.status/100 == 2
	switch {
	case success && e.Status != warden.AuditDone:
		t.Errorf("status %s for a call answered %d", e.Status, r.status)
	case !success && (e.Status != warden.AuditError || e.Error == nil):
		t.Errorf("status %s, error %v for a call answered %d", e.Status, e.Error, r.status)
	case r.status == http.StatusForbidden && e.Authorization.Authorized:
		t.Errorf("a refused call is recorded as authorized: %s", eventsJSON(evs))
	case r.status == http.StatusUnauthorized && e.Authentication.Authenticated:
		t.Errorf("an unauthenticated call is recorded as authenticated: %s", eventsJSON(evs))
	}
	if !refused && !success && c.want == 0 {
		t.Errorf("%s %s succeeded for a caller who should be refused", c.verb, c.path)
	}
}

func pathIDs(e *warden.AuditEvent) string {
	var ids []string
	for _, p := range e.Resource.Path {
		ids = append(ids, p.ID)
	}
	return strings.Join(ids, " ")
}

func eventsJSON(evs []*warden.AuditEvent) string {
	b, _ := json.Marshal(evs)
	return string(b)
}

func binding(role, typ, id string) map[string]any {
	return map[string]any{"roleId": role, "subject": map[string]any{"type": typ, "id": id}}
}

// unimplementedCase is the case of a method Warden serves as Unimplemented:
// every caller, allowed or not, gets 501, recorded as a failed call.
func unimplementedCase(call func(w *auditWalk) auditCall) auditCase {
	return auditCase{ok: call, refused: func(w *auditWalk) auditCall {
		c := call(w)
		c.token, c.subject = w.stranger, w.strangerID
		return c
	}}
}

// auditCases call every mutating method, by method name.
func auditCases() map[string]auditCase {
	const iam, rm, om, aws = "/yandex.cloud.iam.v1.", "/yandex.cloud.resourcemanager.v1.", "/yandex.cloud.organizationmanager.v1.", "/yandex.cloud.iam.v1.awscompatibility."
	const omv1, idpv1 = om, om + "idp."
	cases := map[string]auditCase{
		omv1 + "UserService/DeleteMembership": {ok: func(w *auditWalk) auditCall {
			u, _, _ := w.user()
			return auditCall{verb: "DELETE", path: "/organization-manager/v1/organizations/" + w.org + "/users/" + u, token: w.admin, resource: u}
		}},
		idpv1 + "UserService/Create": {ok: func(w *auditWalk) auditCall {
			return auditCall{verb: "POST", path: "/organization-manager/v1/idp/users", body: map[string]any{"userpoolId": w.pool(), "username": w.name("user") + "@default", "fullName": "Walked",
				"passwordSpec": map[string]any{"password": "walk-" + w.name("pw") + "-Quartz9"}}, token: w.admin, resource: w.org}
		}},
		idpv1 + "UserService/Update": {ok: func(w *auditWalk) auditCall {
			u, _, _ := w.user()
			return auditCall{verb: "PATCH", path: "/organization-manager/v1/idp/users/" + u, body: map[string]any{"updateMask": "fullName", "fullName": "Walked Again"}, token: w.admin, resource: u}
		}},
		idpv1 + "UserService/Delete": {ok: func(w *auditWalk) auditCall {
			u, _, _ := w.user()
			return auditCall{verb: "DELETE", path: "/organization-manager/v1/idp/users/" + u, token: w.admin, resource: u}
		}},
		idpv1 + "UserService/Suspend": {ok: func(w *auditWalk) auditCall {
			u, _, _ := w.user()
			return auditCall{verb: "POST", path: "/organization-manager/v1/idp/users/" + u + ":suspend", body: map[string]any{}, token: w.admin, resource: u}
		}},
		idpv1 + "UserService/Reactivate": {ok: func(w *auditWalk) auditCall {
			u, _, _ := w.user()
			w.must("POST", "/organization-manager/v1/idp/users/"+u+":suspend", map[string]any{})
			return auditCall{verb: "POST", path: "/organization-manager/v1/idp/users/" + u + ":reactivate", body: map[string]any{}, token: w.admin, resource: u}
		}},
		idpv1 + "UserService/SetOthersPassword": {ok: func(w *auditWalk) auditCall {
			u, _, _ := w.user()
			pw := "walk-" + w.name("other") + "-Basalt7"
			w.secret("new password of "+u, pw)
			return auditCall{verb: "POST", path: "/organization-manager/v1/idp/users/" + u + ":setOthersPassword", body: map[string]any{"passwordSpec": map[string]any{"password": pw}}, token: w.admin, resource: u}
		}},
		idpv1 + "UserService/SetOwnPassword": {
			ok: func(w *auditWalk) auditCall {
				u, login, old := w.user()
				tok := w.userIAMToken(login, old)
				pw := "walk-" + w.name("own") + "-Granite5"
				w.secret("own new password of "+u, pw)
				return auditCall{verb: "POST", path: "/organization-manager/v1/idp/users:setOwnPassword", body: map[string]any{"passwordSpec": map[string]any{"password": pw}, "oldPassword": old}, token: tok, subject: u, resource: u}
			},
			// A service account has no password of its own to set.
			refused: func(w *auditWalk) auditCall {
				return auditCall{verb: "POST", path: "/organization-manager/v1/idp/users:setOwnPassword", body: map[string]any{"passwordSpec": map[string]any{"password": "walk-stranger-Granite5"}}, token: w.stranger, want: 412}
			},
		},
		idpv1 + "UserService/SetPasswordHash": unimplementedCase(func(w *auditWalk) auditCall {
			u, _, _ := w.user()
			return auditCall{verb: "POST", path: "/organization-manager/v1/idp/users/" + u + ":setPasswordHash", body: map[string]any{}, token: w.admin, want: 501}
		}),
		idpv1 + "UserpoolService/Create": {ok: func(w *auditWalk) auditCall {
			name := w.name("pool")
			return auditCall{verb: "POST", path: "/organization-manager/v1/idp/userpools", body: map[string]any{"organizationId": w.org, "name": name, "defaultSubdomain": name}, token: w.admin, resource: w.org}
		}},
		idpv1 + "UserpoolService/Update": {ok: func(w *auditWalk) auditCall {
			p := w.newPool()
			return auditCall{verb: "PATCH", path: "/organization-manager/v1/idp/userpools/" + p, body: map[string]any{"updateMask": "description", "description": "walked"}, token: w.admin, resource: p}
		}},
		idpv1 + "UserpoolService/Delete": {ok: func(w *auditWalk) auditCall {
			p := w.newPool()
			return auditCall{verb: "DELETE", path: "/organization-manager/v1/idp/userpools/" + p, token: w.admin, resource: p}
		}},
		idpv1 + "UserpoolService/AddDomain": unimplementedCase(func(w *auditWalk) auditCall {
			p := w.newPool()
			return auditCall{verb: "POST", path: "/organization-manager/v1/idp/userpools/" + p + "/domains", body: map[string]any{"domain": "walk.example"}, token: w.admin, want: 501}
		}),
		idpv1 + "UserpoolService/DeleteDomain": unimplementedCase(func(w *auditWalk) auditCall {
			p := w.newPool()
			return auditCall{verb: "DELETE", path: "/organization-manager/v1/idp/userpools/" + p + "/domains/walk.example", token: w.admin, want: 501}
		}),
		idpv1 + "UserpoolService/SetAccessBindings": {ok: func(w *auditWalk) auditCall {
			p := w.newPool()
			return auditCall{verb: "POST", path: "/organization-manager/v1/idp/userpools/" + p + ":setAccessBindings",
				body: map[string]any{"accessBindings": []any{binding("viewer", "serviceAccount", w.strangerID)}}, token: w.admin, resource: p}
		}},
		idpv1 + "UserpoolService/UpdateAccessBindings": {ok: func(w *auditWalk) auditCall {
			p := w.newPool()
			return auditCall{verb: "PATCH", path: "/organization-manager/v1/idp/userpools/" + p + ":updateAccessBindings",
				body: map[string]any{"accessBindingDeltas": []any{map[string]any{"action": "ADD", "accessBinding": binding("viewer", "serviceAccount", w.strangerID)}}}, token: w.admin, resource: p}
		}},
		iam + "ServiceAccountService/Create": {ok: func(w *auditWalk) auditCall {
			return auditCall{verb: "POST", path: "/iam/v1/serviceAccounts", body: map[string]any{"folderId": w.folder, "name": w.name("sa")}, token: w.admin, resource: w.folder}
		}},
		iam + "ServiceAccountService/Update": {ok: func(w *auditWalk) auditCall {
			sa := w.sa()
			return auditCall{verb: "PATCH", path: "/iam/v1/serviceAccounts/" + sa, body: map[string]any{"updateMask": "description", "description": "walked"}, token: w.admin, resource: sa}
		}},
		iam + "ServiceAccountService/Delete": {ok: func(w *auditWalk) auditCall {
			sa := w.sa()
			return auditCall{verb: "DELETE", path: "/iam/v1/serviceAccounts/" + sa, token: w.admin, resource: sa}
		}},
		iam + "ServiceAccountService/Suspend": {ok: func(w *auditWalk) auditCall {
			sa := w.sa()
			return auditCall{verb: "POST", path: "/iam/v1/serviceAccounts/" + sa + ":suspend", body: map[string]any{}, token: w.admin, resource: sa}
		}},
		iam + "ServiceAccountService/Reactivate": {ok: func(w *auditWalk) auditCall {
			sa := w.sa()
			w.must("POST", "/iam/v1/serviceAccounts/"+sa+":suspend", map[string]any{})
			return auditCall{verb: "POST", path: "/iam/v1/serviceAccounts/" + sa + ":reactivate", body: map[string]any{}, token: w.admin, resource: sa}
		}},
		iam + "KeyService/Create": {ok: func(w *auditWalk) auditCall {
			sa := w.sa()
			return auditCall{verb: "POST", path: "/iam/v1/keys", body: map[string]any{"serviceAccountId": sa}, token: w.admin, resource: sa}
		}},
		iam + "KeyService/Update": {ok: func(w *auditWalk) auditCall {
			k := w.key(w.sa())
			return auditCall{verb: "PATCH", path: "/iam/v1/keys/" + k, body: map[string]any{"updateMask": "description", "description": "walked"}, token: w.admin, resource: k}
		}},
		iam + "KeyService/Delete": {ok: func(w *auditWalk) auditCall {
			k := w.key(w.sa())
			return auditCall{verb: "DELETE", path: "/iam/v1/keys/" + k, token: w.admin, resource: k}
		}},
		iam + "ApiKeyService/Create": {ok: func(w *auditWalk) auditCall {
			sa := w.sa()
			return auditCall{verb: "POST", path: "/iam/v1/apiKeys", body: map[string]any{"serviceAccountId": sa}, token: w.admin, resource: sa}
		}},
		iam + "ApiKeyService/Update": {ok: func(w *auditWalk) auditCall {
			k := w.apiKey(w.sa())
			return auditCall{verb: "PATCH", path: "/iam/v1/apiKeys/" + k, body: map[string]any{"updateMask": "description", "description": "walked"}, token: w.admin, resource: k}
		}},
		iam + "ApiKeyService/Delete": {ok: func(w *auditWalk) auditCall {
			k := w.apiKey(w.sa())
			return auditCall{verb: "DELETE", path: "/iam/v1/apiKeys/" + k, token: w.admin, resource: k}
		}},
		aws + "AccessKeyService/Create": {ok: func(w *auditWalk) auditCall {
			sa := w.sa()
			return auditCall{verb: "POST", path: "/iam/aws-compatibility/v1/accessKeys", body: map[string]any{"serviceAccountId": sa}, token: w.admin, resource: sa}
		}},
		aws + "AccessKeyService/Update": {ok: func(w *auditWalk) auditCall {
			k := w.accessKey(w.sa())
			return auditCall{verb: "PATCH", path: "/iam/aws-compatibility/v1/accessKeys/" + k, body: map[string]any{"updateMask": "description", "description": "walked"}, token: w.admin, resource: k}
		}},
		aws + "AccessKeyService/Delete": {ok: func(w *auditWalk) auditCall {
			k := w.accessKey(w.sa())
			return auditCall{verb: "DELETE", path: "/iam/aws-compatibility/v1/accessKeys/" + k, token: w.admin, resource: k}
		}},
		aws + "TemporaryAccessKeyService/CreateEphemeral": {ok: func(w *auditWalk) auditCall {
			sa := w.sa()
			return auditCall{verb: "POST", path: "/iam/aws-compatibility/v1/ephemeralAccessKeys", body: map[string]any{"subjectId": sa, "sessionName": "walk"}, token: w.admin, resource: sa}
		}},
		"/cloudru.iam.v1.ApiKeyService/Create": {ok: func(w *auditWalk) auditCall {
			sa := w.sa()
			return auditCall{verb: "POST", path: "/api/v1/service-accounts/credentials/api-keys", body: map[string]any{"name": w.name("k"), "serviceAccountId": sa}, token: w.admin, resource: sa}
		}},
		"/cloudru.iam.v1.ApiKeyService/Update": {ok: func(w *auditWalk) auditCall {
			k := w.cloudruKey(w.sa())
			return auditCall{verb: "PATCH", path: "/api/v1/service-accounts/credentials/api-keys/" + k, body: map[string]any{"description": "walked"}, token: w.admin, resource: k}
		}},
		"/cloudru.iam.v1.ApiKeyService/Delete": {ok: func(w *auditWalk) auditCall {
			k := w.cloudruKey(w.sa())
			return auditCall{verb: "DELETE", path: "/api/v1/service-accounts/credentials/api-keys/" + k, token: w.admin, resource: k}
		}},
		iam + "IamTokenService/Create": {
			ok: func(w *auditWalk) auditCall {
				return auditCall{verb: "POST", path: "/iam/v1/tokens", body: map[string]any{"yandexPassportOauthToken": w.n.adminOAuthToken()}, subject: w.adminID}
			},
			refused: func(w *auditWalk) auditCall {
				return auditCall{verb: "POST", path: "/iam/v1/tokens", body: map[string]any{"yandexPassportOauthToken": "y0_not-a-token"}, want: 401}
			},
		},
		iam + "IamTokenService/CreateForServiceAccount": {ok: func(w *auditWalk) auditCall {
			sa := w.sa()
			return auditCall{verb: "POST", path: "/iam/v1/tokens:createForServiceAccount", body: map[string]any{"serviceAccountId": sa}, token: w.admin, resource: sa}
		}},
		iam + "IamTokenService/Revoke": {
			ok: func(w *auditWalk) auditCall {
				sa := w.sa()
				r := w.must("POST", "/iam/v1/tokens:createForServiceAccount", map[string]any{"serviceAccountId": sa})
				w.secret("IAM token of "+sa, str(r.body, "iamToken"))
				return auditCall{verb: "POST", path: "/iam/v1/tokens:revoke", body: map[string]any{"iamToken": str(r.body, "iamToken")}, subject: sa, resource: sa}
			},
			refused: func(w *auditWalk) auditCall {
				return auditCall{verb: "POST", path: "/iam/v1/tokens:revoke", body: map[string]any{"iamToken": "t1.garbage"}, want: 400}
			},
		},
		iam + "RefreshTokenService/Revoke": {
			ok: func(w *auditWalk) auditCall {
				return auditCall{verb: "POST", path: "/iam/v1/refreshTokens:revoke", body: map[string]any{"refreshToken": w.login()}, token: w.admin, resource: w.adminID}
			},
			refused: func(w *auditWalk) auditCall {
				return auditCall{verb: "POST", path: "/iam/v1/refreshTokens:revoke", body: map[string]any{"revokeFilter": map[string]any{"subjectId": w.adminID}}, token: w.stranger}
			},
		},
		"/openstack.identity.v3.TokenService/Issue": {
			ok: func(w *auditWalk) auditCall {
				sa := w.sa()
				return auditCall{verb: "POST", path: "/v3/auth/tokens", body: keystoneAuthBody(sa, w.password(sa)), subject: sa}
			},
			refused: func(w *auditWalk) auditCall {
				sa := w.sa()
				w.password(sa)
				return auditCall{verb: "POST", path: "/v3/auth/tokens", body: keystoneAuthBody(sa, "wrong-password-1"), want: 401}
			},
		},
		"/openstack.identity.v3.TokenService/Revoke": {
			ok: func(w *auditWalk) auditCall {
				sa, tok := w.keystoneToken()
				return auditCall{verb: "DELETE", path: "/v3/auth/tokens", header: map[string]string{"X-Auth-Token": tok, "X-Subject-Token": tok}, subject: sa, resource: sa}
			},
			refused: func(w *auditWalk) auditCall {
				_, tok := w.keystoneToken()
				return auditCall{verb: "DELETE", path: "/v3/auth/tokens", header: map[string]string{"X-Subject-Token": tok}, want: 401}
			},
		},
		server.MethodLogin: {
			ok: func(w *auditWalk) auditCall {
				return auditCall{verb: "POST", path: "/warden/v1/login", body: map[string]any{"login": "admin", "password": auditAdminPassword}, subject: w.adminID, resource: w.adminID}
			},
			refused: func(w *auditWalk) auditCall {
				return auditCall{verb: "POST", path: "/warden/v1/login", body: map[string]any{"login": "admin", "password": "not-the-password-7"}, want: 401}
			},
		},
		server.MethodSetServiceAccountPassword: {ok: func(w *auditWalk) auditCall {
			sa := w.sa()
			return auditCall{verb: "POST", path: "/warden/v1/serviceAccounts/" + sa + ":setPassword", body: map[string]any{"generate": true}, token: w.admin, resource: sa}
		}},
		server.MethodRemoveServiceAccountPassword: {ok: func(w *auditWalk) auditCall {
			sa := w.sa()
			w.password(sa)
			return auditCall{verb: "POST", path: "/warden/v1/serviceAccounts/" + sa + ":removePassword", body: map[string]any{}, token: w.admin, resource: sa}
		}},
		"/warden.iam.v1.StaticTokenService/Create": {ok: func(w *auditWalk) auditCall {
			sa := w.sa()
			return auditCall{verb: "POST", path: "/warden/v1/staticTokens", body: map[string]any{"subjectId": sa, "description": "walk"}, token: w.admin, resource: sa}
		}},
		"/warden.iam.v1.StaticTokenService/Delete": {ok: func(w *auditWalk) auditCall {
			sa := w.sa()
			r := w.must("POST", "/warden/v1/staticTokens", map[string]any{"subjectId": sa})
			w.secret("static token "+str(r.body, "id"), str(r.body, "secret"))
			return auditCall{verb: "DELETE", path: "/warden/v1/staticTokens/" + str(r.body, "id"), token: w.admin, resource: str(r.body, "id")}
		}},
		"/warden.iam.v1.ServiceAccountService/RevokeTokens": {ok: func(w *auditWalk) auditCall {
			sa := w.sa()
			return auditCall{verb: "POST", path: "/warden/v1/serviceAccounts/" + sa + ":revokeTokens", body: map[string]any{}, token: w.admin, resource: sa}
		}},
		// Revokes the admin's own IAM tokens: run after the others.
		"/warden.iam.v1.UserAccountService/RevokeTokens": {last: true, ok: func(w *auditWalk) auditCall {
			return auditCall{verb: "POST", path: "/warden/v1/userAccounts/" + w.adminID + ":revokeTokens", body: map[string]any{}, token: w.admin, resource: w.adminID}
		}},
		server.MethodSetPassword: {last: true, ok: func(w *auditWalk) auditCall {
			w.renewAdmin()
			w.secret("new admin password", "walked-the-trail-10")
			return auditCall{verb: "POST", path: "/warden/v1/userAccounts/" + w.adminID + ":setPassword",
				body: map[string]any{"password": "walked-the-trail-10", "currentPassword": auditAdminPassword}, token: w.admin, resource: w.adminID}
		}},
		"/yandex.cloud.operation.OperationService/Cancel": {ok: func(w *auditWalk) auditCall {
			r := w.must("POST", "/iam/v1/serviceAccounts", map[string]any{"folderId": w.folder, "name": w.name("sa")})
			// Warden's operations are done when answered: a cancel is refused.
			return auditCall{verb: "GET", path: "/operations/" + str(r.body, "id") + ":cancel", token: w.admin, resource: str(r.body, "id"), want: 412}
		}},
		om + "OrganizationService/Update": {ok: func(w *auditWalk) auditCall {
			return auditCall{verb: "PATCH", path: "/organization-manager/v1/organizations/" + w.org, body: map[string]any{"updateMask": "description", "description": "walked"}, token: w.admin, resource: w.org}
		}},
		om + "OrganizationService/SetAccessBindings": {ok: func(w *auditWalk) auditCall {
			return auditCall{verb: "POST", path: "/organization-manager/v1/organizations/" + w.org + ":setAccessBindings",
				body: map[string]any{"accessBindings": []any{binding("admin", "userAccount", w.adminID)}}, token: w.admin, resource: w.org}
		}},
		om + "OrganizationService/UpdateAccessBindings": {ok: func(w *auditWalk) auditCall {
			return auditCall{verb: "POST", path: "/organization-manager/v1/organizations/" + w.org + ":updateAccessBindings",
				body: map[string]any{"accessBindingDeltas": []any{map[string]any{"action": "ADD", "accessBinding": binding("viewer", "serviceAccount", w.sa())}}}, token: w.admin, resource: w.org}
		}},
	}
	for _, svc := range []struct{ name, path, idField string }{
		{rm + "CloudService", "/resource-manager/v1/clouds/", "cloud"},
		{rm + "FolderService", "/resource-manager/v1/folders/", "folder"},
		{iam + "ServiceAccountService", "/iam/v1/serviceAccounts/", "sa"},
	} {
		node := func(w *auditWalk) string {
			switch svc.idField {
			case "cloud":
				return w.newCloud()
			case "folder":
				return w.newFolder()
			}
			return w.sa()
		}
		cases[svc.name+"/SetAccessBindings"] = auditCase{ok: func(w *auditWalk) auditCall {
			id := node(w)
			return auditCall{verb: "POST", path: svc.path + id + ":setAccessBindings",
				body: map[string]any{"accessBindings": []any{binding("viewer", "serviceAccount", w.sa())}}, token: w.admin, resource: id}
		}}
		cases[svc.name+"/UpdateAccessBindings"] = auditCase{ok: func(w *auditWalk) auditCall {
			id := node(w)
			return auditCall{verb: "POST", path: svc.path + id + ":updateAccessBindings",
				body: map[string]any{"accessBindingDeltas": []any{map[string]any{"action": "ADD", "accessBinding": binding("viewer", "serviceAccount", w.sa())}}}, token: w.admin, resource: id}
		}}
		if svc.idField == "sa" {
			continue
		}
		cases[svc.name+"/Update"] = auditCase{ok: func(w *auditWalk) auditCall {
			id := node(w)
			return auditCall{verb: "PATCH", path: svc.path + id, body: map[string]any{"updateMask": "description", "description": "walked"}, token: w.admin, resource: id}
		}}
		cases[svc.name+"/Delete"] = auditCase{ok: func(w *auditWalk) auditCall {
			id := node(w)
			return auditCall{verb: "DELETE", path: svc.path + id, token: w.admin, resource: id}
		}}
	}
	cases[rm+"CloudService/Create"] = auditCase{ok: func(w *auditWalk) auditCall {
		return auditCall{verb: "POST", path: "/resource-manager/v1/clouds", body: map[string]any{"organizationId": w.org, "name": w.name("cloud")}, token: w.admin, resource: w.org}
	}}
	cases[rm+"FolderService/Create"] = auditCase{ok: func(w *auditWalk) auditCall {
		return auditCall{verb: "POST", path: "/resource-manager/v1/folders", body: map[string]any{"cloudId": w.cloud, "name": w.name("folder")}, token: w.admin, resource: w.cloud}
	}}
	addGroupAuditCases(cases)
	return cases
}

// mutatingRoutes returns one route of every method of wardend that writes
// an audit event (service.AuditClass), by method name: derived from what
// wardend serves, so a new method is walked or the walk fails.
func mutatingRoutes(m *server.Main) map[string]server.Route {
	out := map[string]server.Route{}
	for _, r := range m.Routes() {
		if service.AuditClass(r.Method) == "" || strings.HasPrefix(r.Route, "gRPC ") {
			continue
		}
		if _, ok := out[r.Method]; !ok || strings.HasPrefix(r.Route, "POST /v3") {
			out[r.Method] = r
		}
	}
	for _, r := range m.Routes() {
		if _, ok := out[r.Method]; !ok && service.AuditClass(r.Method) != "" {
			out[r.Method] = r // a method served over gRPC only
		}
	}
	return out
}

// TestAuditEveryMutation walks every registered method that changes
// anything or issues a credential, over every edge (Yandex REST, Cloud.ru,
// Keystone, Warden's own routes): each call, allowed or refused, has
// exactly one event naming its subject, resource and outcome. A method
// without a case here fails the test, so a new one cannot go unaudited.
func TestAuditEveryMutation(t *testing.T) {
	w := newAuditWalk(t)
	w.walk(t)
	rep, err := w.n.m.Service().VerifyAudit(context.Background())
	if err != nil || rep.Break != nil {
		t.Fatalf("verify after the walk: %+v, %v", rep, err)
	}
}

func (w *auditWalk) walk(t *testing.T) {
	cases := auditCases()
	routes := mutatingRoutes(w.n.m)
	rules := map[string]bool{}
	for _, r := range service.Rules {
		rules[r.Method] = true
	}
	var methods, last []string
	for m := range routes {
		if cases[m].last {
			last = append(last, m)
			continue
		}
		methods = append(methods, m)
	}
	sort.Strings(methods)
	sort.Strings(last)
	for _, method := range append(methods, last...) {
		c, ok := cases[method]
		route := routes[method]
		if !ok && (rules[method] || server.IsPublic(method)) {
			t.Errorf("%s (%s) changes something but the walk has no case for it: add one to auditCases", method, route.Route)
			continue
		}
		t.Run(strings.TrimPrefix(method, "/"), func(t *testing.T) {
			if !ok {
				// Served but refused to everyone: no rule in the table.
				verb, path, _ := strings.Cut(route.Route, " ")
				path = strings.NewReplacer("{resource_id}", w.org, "{id}", w.org).Replace(path)
				w.check(t, method, auditCall{verb: verb, path: path, body: map[string]any{}, token: w.admin}, true)
				return
			}
			refused := c.refused
			if refused == nil {
				refused = func(w *auditWalk) auditCall {
					call := c.ok(w)
					call.token, call.subject, call.want = w.stranger, w.strangerID, 0
					return call
				}
			}
			w.check(t, method, refused(w), true)
			w.check(t, method, c.ok(w), false)
		})
	}
	for m := range cases {
		if _, ok := routes[m]; !ok {
			t.Errorf("the walk has a case for %s, which wardend does not serve", m)
		}
	}
}

// TestAuditNoSecretInEvents creates every kind of credential (authorized
// keys, API keys both ways, access keys, passwords, OAuth, IAM and
// Keystone tokens) and looks for every secret in every stored event and in
// the exported JSON lines.
func TestAuditNoSecretInEvents(t *testing.T) {
	export := filepath.Join(t.TempDir(), "audit.jsonl")
	w := newAuditWalk(t, func(c *server.Config) { c.Audit.File = export })
	w.walk(t)
	evs := w.events()
	if len(evs) < 100 {
		t.Fatalf("only %d events: the walk did not run", len(evs))
	}
	stored := eventsJSON(evs)
	exported, err := os.ReadFile(export)
	if err != nil {
		t.Fatal(err)
	}
	if n := bytes.Count(exported, []byte("\n")); n < len(evs) {
		t.Errorf("the export holds %d lines for %d events", n, len(evs))
	}
	if len(w.secrets) < 12 {
		t.Fatalf("only %d secrets collected", len(w.secrets))
	}
	for what, s := range w.secrets {
		for where, text := range map[string]string{"stored events": stored, "the export": string(exported)} {
			if strings.Contains(text, s) {
				t.Errorf("%s appears in %s", what, where)
			}
			// A PEM private key is also looked for by its body's lines.
			for _, line := range strings.Split(s, "\n") {
				if len(line) >= 40 && strings.Contains(text, line) {
					t.Errorf("a line of %s appears in %s", what, where)
				}
			}
		}
	}
}

// TestAuditDataEvents: access-service decisions are recorded only for the
// services and credential types data events are switched on for, one event
// per check, allowed or not; they are exported as they are listed, and
// hold none of the tokens presented.
func TestAuditDataEvents(t *testing.T) {
	export := filepath.Join(t.TempDir(), "audit.jsonl")
	w := newAuditWalk(t, func(c *server.Config) { c.Audit.DataServices, c.Audit.File = []string{"postbox"}, export })
	authorize := func(svc, tok string) string {
		_, id := w.do(auditCall{verb: "POST", path: "/access/v1:authorize", body: map[string]any{
			"request": map[string]any{"method": "GET", "path": "/", "service": svc, "clientAddress": "203.0.113.7",
				"headers": map[string][]string{"Authorization": {"Bearer " + tok}}},
			"checks": []any{
				map[string]any{"permission": "resource-manager.folders.get", "resource": map[string]string{"id": w.folder}},
				map[string]any{"permission": "resource-manager.folders.get", "resource": map[string]string{"id": w.folder}},
			},
		}})
		return id
	}
	evs := w.eventsOf(authorize("postbox", w.admin))
	if len(evs) != 2 {
		t.Fatalf("postbox: %d events, want one per check: %s", len(evs), eventsJSON(evs))
	}
	e := evs[0]
	if e.Class != warden.AuditData || e.Authentication.SubjectID != w.adminID || e.Authentication.CredentialType != "iamToken" ||
		!e.Authorization.Authorized || e.Authorization.Permission != "resource-manager.folders.get" || pathIDs(e) != w.org+" "+w.cloud+" "+w.folder ||
		e.Request.RemoteAddress != "203.0.113.7" {
		t.Errorf("allowed decision: %s", eventsJSON(evs[:1]))
	}
	evs = w.eventsOf(authorize("postbox", w.stranger))
	if len(evs) != 2 || evs[0].Authorization.Authorized || evs[0].Authentication.SubjectID != w.strangerID {
		t.Errorf("denied decisions: %s", eventsJSON(evs))
	}
	evs = w.eventsOf(authorize("postbox", "t1.forged"))
	if len(evs) != 1 || evs[0].Status != warden.AuditError || evs[0].Authentication.Authenticated || evs[0].Details["reason"] == nil {
		t.Errorf("refused credential: %s", eventsJSON(evs))
	}
	if evs := w.eventsOf(authorize("monaas", w.admin)); len(evs) != 0 {
		t.Errorf("monaas (not switched on): %s", eventsJSON(evs))
	}
	exported, err := os.ReadFile(export)
	if err != nil {
		t.Fatal(err)
	}
	lines := map[string]bool{}
	for line := range strings.Lines(string(exported)) {
		lines[strings.TrimSuffix(line, "\n")] = true
	}
	var data []*warden.AuditEvent
	for _, e := range w.events() {
		if e.Class == warden.AuditData {
			data = append(data, e)
		}
	}
	if len(data) != 5 {
		t.Errorf("%d data events listed, want 5", len(data))
	}
	for _, e := range data {
		if line, _ := json.Marshal(e); !lines[string(line)] {
			t.Errorf("listed but not exported as it is listed: %s", line)
		}
	}
	for where, text := range map[string]string{"the data events": eventsJSON(data), "the export": string(exported)} {
		for _, tok := range []string{w.admin, w.stranger, "t1.forged"} {
			if strings.Contains(text, tok) {
				t.Errorf("a presented token appears in %s", where)
			}
		}
	}
}

// TestAuditRetentionPrunesAndRecordsIt: pruning keeps the chain verifiable
// and writes an event saying what it pruned.
func TestAuditRetentionPrunesAndRecordsIt(t *testing.T) {
	clock := time.Now()
	var mu sync.Mutex
	now := func() time.Time { mu.Lock(); defer mu.Unlock(); return clock }
	n := start(t, t.TempDir(), "", func(c *server.Config) { c.Now = now; c.Audit.Retention = 24 * time.Hour })
	admin := n.iamToken()
	folder := n.defaultFolder(admin)
	for i := range 3 {
		if r := n.rest("POST", "/iam/v1/serviceAccounts", admin, map[string]any{"folderId": folder, "name": fmt.Sprintf("old-%d", i)}); r.status != 200 {
			t.Fatal(r.raw)
		}
	}
	mu.Lock()
	clock = clock.Add(48 * time.Hour)
	mu.Unlock()
	svc := n.m.Service()
	pruned, err := svc.PruneAudit(context.Background())
	if err != nil || pruned < 3 {
		t.Fatalf("pruned %d, %v", pruned, err)
	}
	evs, _, err := svc.ListAuditEvents(context.Background(), warden.AuditFilter{Type: "warden.audit.Prune"})
	if err != nil || len(evs) != 1 || evs[0].Details["pruned_events"] != float64(pruned) {
		t.Fatalf("prune event: %s %v", eventsJSON(evs), err)
	}
	rep, err := svc.VerifyAudit(context.Background())
	if err != nil || rep.Break != nil || rep.First <= 1 {
		t.Fatalf("verify after pruning: %+v %v", rep, err)
	}
}

// TestAttackAuditRewriteWithoutMasterKey: someone with write access to the
// database but not to the master key rewrites one event (hiding who made a
// change) and recomputes the chain after it as a plain hash chain would
// allow. The keyed chain names the rewritten event.
func TestAttackAuditRewriteWithoutMasterKey(t *testing.T) {
	w := newAuditWalk(t)
	victim := w.sa()
	for range 3 {
		w.sa()
	}
	evs, _, err := w.n.m.Service().ListAuditEvents(context.Background(), warden.AuditFilter{ResourceID: victim, Type: "yandex.cloud.iam.v1.ServiceAccountService.Create"})
	if err != nil || len(evs) != 1 {
		t.Fatalf("the victim's event: %d, %v", len(evs), err)
	}
	target := evs[0].Seq
	store, err := sqlite.Open(context.Background(), filepath.Join(w.n.dataDir, "warden.db"))
	if err != nil {
		t.Fatal(err)
	}
	defer store.Close()
	db := store.DB()
	rows, err := db.Query(`SELECT seq, body, prev_hash FROM audit_events WHERE seq >= $1 ORDER BY seq`, target)
	if err != nil {
		t.Fatal(err)
	}
	type row struct {
		seq        int64
		body, prev []byte
	}
	var rs []row
	for rows.Next() {
		var r row
		rows.Scan(&r.seq, &r.body, &r.prev)
		rs = append(rs, r)
	}
	rows.Close()
	prev := rs[0].prev
	for i, r := range rs {
		body := r.body
		if i == 0 {
			body = bytes.ReplaceAll(body, []byte(w.adminID), []byte(w.strangerID))
		}
		sum := sha256.Sum256(append(append([]byte{}, prev...), body...))
		if _, err := db.Exec(`UPDATE audit_events SET body = $1, prev_hash = $2, hash = $3 WHERE seq = $4`, body, prev, sum[:], r.seq); err != nil {
			t.Fatal(err)
		}
		if i == 0 {
			if _, err := db.Exec(`UPDATE audit_events SET subject_id = $1 WHERE seq = $2`, w.strangerID, r.seq); err != nil {
				t.Fatal(err)
			}
		}
		prev = sum[:]
	}
	if _, err := db.Exec(`UPDATE audit_head SET hash = $1 WHERE id = 1`, prev); err != nil {
		t.Fatal(err)
	}
	rep, err := w.n.m.Service().VerifyAudit(context.Background())
	if err != nil {
		t.Fatal(err)
	}
	if rep.Break == nil || rep.Break.Seq != target || rep.Break.EventID != evs[0].ID {
		t.Fatalf("verify after the rewrite: %+v, want a break at event %d (%s)", rep.Break, target, evs[0].ID)
	}
}
