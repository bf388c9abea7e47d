package main

import (
	"context"
	"encoding/json"
	"fmt"
	"net/http"
	"net/http/httptest"
	"regexp"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"
	iam "github.com/yandex-cloud/go-genproto/yandex/cloud/iam/v1"
	"google.golang.org/grpc"
	"google.golang.org/grpc/codes"
)

// The API key commands talk to the Cloud.ru-style REST API, tested here
// against fakeAPIKeys: an implementation of its contract, plus the one gRPC
// method the commands call (ServiceAccountService.List, to find a service
// account by name), on one h2c port as wardend serves them.

const (
	fakeIAMToken = "t1.fake"
	fakeFolder   = "b1gfakefolder0000000"
	fakeRobot    = "ajefakerobot00000000"
)

// apiKeyRequest is a request the fake saw; Body is decoded JSON.
type apiKeyRequest struct {
	Method, Path, Query string
	Body                map[string]any
}

type fakeAPIKeys struct {
	iam.UnimplementedServiceAccountServiceServer

	mu       sync.Mutex
	keys     map[string]map[string]any // by ID, as served (snake_case)
	order    []string
	nextID   int
	requests []apiKeyRequest
	// pageSize caps the pages of list, so that paging is exercised.
	pageSize int
	// leakSecrets makes every answer carry a secret, which only create
	// may print.
	leakSecrets bool
}

// startAPIKeyServer starts the fake and returns it with a CLI pointed at
// it, holding an IAM token and a default folder.
func startAPIKeyServer(t *testing.T) (*fakeAPIKeys, *cli) {
	t.Helper()
	f := &fakeAPIKeys{keys: map[string]map[string]any{}, pageSize: 2}
	gs := grpc.NewServer()
	iam.RegisterServiceAccountServiceServer(gs, f)
	srv := httptest.NewUnstartedServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if r.ProtoMajor == 2 && strings.HasPrefix(r.Header.Get("Content-Type"), "application/grpc") {
			gs.ServeHTTP(w, r)
			return
		}
		f.ServeHTTP(w, r)
	}))
	srv.Config.Protocols = new(http.Protocols)
	srv.Config.Protocols.SetHTTP1(true)
	srv.Config.Protocols.SetUnencryptedHTTP2(true) // gRPC's plaintext
	srv.Start()
	t.Cleanup(func() { srv.Close(); gs.Stop() })

	c := newCLI(t)
	c.ok("config", "set", "endpoint", srv.Listener.Addr().String())
	c.env["WARDEN_IAM_TOKEN"] = fakeIAMToken
	c.env["WARDEN_FOLDER_ID"] = fakeFolder
	return f, c
}

func (f *fakeAPIKeys) List(ctx context.Context, req *iam.ListServiceAccountsRequest) (*iam.ListServiceAccountsResponse, error) {
	resp := &iam.ListServiceAccountsResponse{}
	if req.FolderId == fakeFolder && req.Filter == `name="my-robot"` {
		resp.ServiceAccounts = []*iam.ServiceAccount{{Id: fakeRobot, FolderId: fakeFolder, Name: "my-robot"}}
	}
	return resp, nil
}

// apiErr is a google.rpc.Status answer.
type apiErr struct {
	http int
	code codes.Code
	msg  string
}

func invalidArg(format string, args ...any) *apiErr {
	return &apiErr{http.StatusBadRequest, codes.InvalidArgument, fmt.Sprintf(format, args...)}
}

func (f *fakeAPIKeys) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	var body map[string]any
	if r.Body != nil {
		json.NewDecoder(r.Body).Decode(&body)
	}
	f.mu.Lock()
	defer f.mu.Unlock()
	f.requests = append(f.requests, apiKeyRequest{r.Method, r.URL.Path, r.URL.RawQuery, body})
	out, e := f.serve(r, body)
	w.Header().Set("Content-Type", "application/json")
	w.Header().Set("X-Request-Id", "req-fake")
	if e != nil {
		w.WriteHeader(e.http)
		json.NewEncoder(w).Encode(map[string]any{"code": int(e.code), "message": e.msg,
			"details": []any{map[string]any{"@type": "type.googleapis.com/google.rpc.RequestInfo", "requestId": "req-fake"}}})
		return
	}
	json.NewEncoder(w).Encode(out)
}

func (f *fakeAPIKeys) serve(r *http.Request, body map[string]any) (any, *apiErr) {
	if r.Header.Get("Authorization") != "Bearer "+fakeIAMToken {
		return nil, &apiErr{http.StatusUnauthorized, codes.Unauthenticated, "the request is unauthenticated"}
	}
	id, one := strings.CutPrefix(r.URL.Path, apiKeysPath+"/")
	switch {
	case r.URL.Path == apiKeysPath && r.Method == http.MethodPost:
		return f.create(body)
	case r.URL.Path == apiKeysPath && r.Method == http.MethodGet:
		return f.list(r)
	case !one:
		return nil, &apiErr{http.StatusNotFound, codes.NotFound, "no API method at " + r.Method + " " + r.URL.Path}
	}
	k, ok := f.keys[id]
	if !ok {
		return nil, &apiErr{http.StatusNotFound, codes.NotFound, "API key " + id + " not found"}
	}
	switch r.Method {
	case http.MethodGet:
		return f.shown(k), nil
	case http.MethodPatch:
		if e := f.apply(k, body); e != nil {
			return nil, e
		}
		return f.shown(k), nil
	case http.MethodDelete:
		delete(f.keys, id)
		return map[string]any{}, nil
	}
	return nil, &apiErr{http.StatusNotFound, codes.NotFound, "no API method at " + r.Method + " " + r.URL.Path}
}

// shown is k as get, list and update return it: without its secret,
// unless leaking.
func (f *fakeAPIKeys) shown(k map[string]any) map[string]any {
	out := map[string]any{}
	for n, v := range k {
		out[n] = v
	}
	if !f.leakSecrets {
		out["secret"] = ""
	}
	return out
}

func (f *fakeAPIKeys) create(body map[string]any) (any, *apiErr) {
	sa, _ := body["serviceAccountId"].(string)
	if sa == "" {
		return nil, invalidArg("serviceAccountId: required unless the caller is a service account")
	}
	if _, ok := body["name"].(string); !ok {
		return nil, invalidArg("name: required")
	}
	f.nextID++
	id := fmt.Sprintf("akafakekey%010d", f.nextID)
	secret := "warden_ak_" + id + "_s3cr3ts3cr3t" + strconv.Itoa(f.nextID)
	now := time.Now().UTC()
	k := map[string]any{
		"id": id, "name": "", "description": "", "service_account_id": sa, "products": []any{}, "scopes": []any{},
		"secret": secret, "restrictions": snakeRestrictions(nil), "enabled": true, "masked_secret": "****" + secret[len(secret)-6:],
		"created_at": now.Format(time.RFC3339Nano), "updated_at": now.Format(time.RFC3339Nano),
		"expires_at": now.AddDate(1, 0, 0).Format(time.RFC3339Nano), "last_used_at": nil,
	}
	if v, ok := body["scopes"]; ok {
		k["scopes"] = v
	}
	if v, ok := body["expiresAt"]; ok {
		k["expires_at"] = v
	}
	if e := f.apply(k, body); e != nil {
		return nil, e
	}
	f.keys[id] = k
	f.order = append(f.order, id)
	return k, nil
}

// apply copies the fields an update may change from body onto k.
func (f *fakeAPIKeys) apply(k, body map[string]any) *apiErr {
	if v, ok := body["name"].(string); ok && v == "" {
		return invalidArg("name: 1 to 256 Latin letters, digits, '-', '_', '.' and spaces")
	}
	if v, ok := body["restrictions"]; ok {
		// As the server: each part sent replaces that part, {} removes all.
		r, _ := v.(map[string]any)
		ips, hasIPs := r["ipAddresses"].(map[string]any)
		tr, hasTR := r["timeRange"].(map[string]any)
		slots, hasSlots := tr["timeSlots"].([]any)
		for i, s := range slots {
			s := s.(map[string]any)
			if s["start"].(float64) >= s["end"].(float64) {
				return invalidArg("restrictions.timeRange.timeSlots[%d]: start %v is not before end %v", i, s["start"], s["end"])
			}
		}
		cur := k["restrictions"].(map[string]any)
		if !hasIPs && !hasTR {
			cur = snakeRestrictions(nil)
		}
		if hasIPs {
			cur["ip_addresses"] = snakeRestrictions(map[string]any{"ipAddresses": ips})["ip_addresses"]
		}
		if hasSlots {
			cur["time_range"].(map[string]any)["time_slots"] = slots
		}
		if tz, ok := tr["timezone"].(float64); ok {
			cur["time_range"].(map[string]any)["timezone"] = tz
		}
		k["restrictions"] = cur
	}
	for camel, snake := range map[string]string{"name": "name", "description": "description", "products": "products", "enabled": "enabled"} {
		if v, ok := body[camel]; ok {
			k[snake] = v
		}
	}
	k["updated_at"] = time.Now().UTC().Format(time.RFC3339Nano)
	return nil
}

// snakeRestrictions turns request restrictions into the answer's shape,
// which always has both parts.
func snakeRestrictions(r map[string]any) map[string]any {
	ips, _ := r["ipAddresses"].(map[string]any)
	tr, _ := r["timeRange"].(map[string]any)
	list, _ := ips["ipAddresses"].([]any)
	slots, _ := tr["timeSlots"].([]any)
	tz, _ := tr["timezone"].(float64)
	if list == nil {
		list = []any{}
	}
	if slots == nil {
		slots = []any{}
	}
	return map[string]any{"ip_addresses": map[string]any{"ip_addresses": list}, "time_range": map[string]any{"time_slots": slots, "timezone": tz}}
}

func (f *fakeAPIKeys) list(r *http.Request) (any, *apiErr) {
	q := r.URL.Query()
	sa := q.Get("serviceAccountId")
	if sa == "" {
		return nil, invalidArg("serviceAccountId: required unless the caller is a service account")
	}
	size, err := strconv.Atoi(q.Get("pageSize"))
	if err != nil || size < 0 || size > 1000 {
		return nil, invalidArg("pageSize: a whole number from 0 to 1000")
	}
	size = min(size, f.pageSize)
	start, _ := strconv.Atoi(q.Get("pageToken"))
	var mine []map[string]any
	for _, id := range f.order {
		if k, ok := f.keys[id]; ok && k["service_account_id"] == sa {
			mine = append(mine, f.shown(k))
		}
	}
	page := []map[string]any{}
	next := ""
	for i := start; i < len(mine); i++ {
		if len(page) == size {
			next = strconv.Itoa(i)
			break
		}
		page = append(page, mine[i])
	}
	return map[string]any{"api_keys": page, "next_page_token": next}, nil
}

// since returns the requests made after the first n.
func (f *fakeAPIKeys) since(n int) []apiKeyRequest {
	f.mu.Lock()
	defer f.mu.Unlock()
	return append([]apiKeyRequest(nil), f.requests[n:]...)
}

func (f *fakeAPIKeys) count() int {
	f.mu.Lock()
	defer f.mu.Unlock()
	return len(f.requests)
}

// jsonMap decodes a JSON object written as text, for wanted bodies.
func jsonMap(t *testing.T, s string) map[string]any {
	t.Helper()
	var m map[string]any
	if err := json.Unmarshal([]byte(s), &m); err != nil {
		t.Fatalf("bad JSON %s: %v", s, err)
	}
	return m
}

func TestAPIKeyCreateRequest(t *testing.T) {
	f, c := startAPIKeyServer(t)
	for _, tc := range []struct {
		name string
		args []string
		want string
	}{
		{"defaults", []string{"--service-account-id", "ajeother0000000000000"},
			`{"name": "api-key", "serviceAccountId": "ajeother0000000000000", "enabled": true}`},
		{"service account by name", []string{"--service-account-name", "my-robot"},
			`{"name": "api-key", "serviceAccountId": "` + fakeRobot + `", "enabled": true}`},
		{"every flag", []string{"--service-account-name", "my-robot", "--name", "mail sender_1.0", "--description", "postbox, prod",
			"--scopes", "yc.postbox.send", "--products", "postbox,monaas", "--allowed-ips", "10.0.0.0/8,2001:db8::/32",
			"--time-slot", "9-13", "--time-slot", "14-18, 20-22", "--timezone", "3", "--expires-at", "2027-01-31T03:00:00+03:00", "--disabled"},
			`{"name": "mail sender_1.0", "description": "postbox, prod", "serviceAccountId": "` + fakeRobot + `",
			  "products": ["postbox", "monaas"], "scopes": ["yc.postbox.send"],
			  "restrictions": {"ipAddresses": {"ipAddresses": ["10.0.0.0/8", "2001:db8::/32"]},
			                   "timeRange": {"timeSlots": [{"start": 9, "end": 13}, {"start": 14, "end": 18}, {"start": 20, "end": 22}], "timezone": 3}},
			  "enabled": false, "expiresAt": "2027-01-31T00:00:00Z"}`},
		{"timezone alone", []string{"--service-account-name", "my-robot", "--timezone", "-5"},
			`{"name": "api-key", "serviceAccountId": "` + fakeRobot + `", "enabled": true,
			  "restrictions": {"timeRange": {"timezone": -5}}}`},
		{"no addresses", []string{"--service-account-name", "my-robot", "--allowed-ips", ""},
			`{"name": "api-key", "serviceAccountId": "` + fakeRobot + `", "enabled": true, "restrictions": {"ipAddresses": {"ipAddresses": []}}}`},
	} {
		t.Run(tc.name, func(t *testing.T) {
			n := f.count()
			c.ok(append([]string{"iam", "api-key", "create"}, tc.args...)...)
			reqs := f.since(n)
			if len(reqs) != 1 || reqs[0].Method != http.MethodPost || reqs[0].Path != apiKeysPath {
				t.Fatalf("requests = %+v, want one POST %s", reqs, apiKeysPath)
			}
			if diff := cmp.Diff(jsonMap(t, tc.want), reqs[0].Body); diff != "" {
				t.Errorf("body (-want +got):\n%s", diff)
			}
		})
	}

	t.Run("expires in", func(t *testing.T) {
		for _, tc := range []struct {
			flag string
			want time.Duration
		}{{"90d", 90 * 24 * time.Hour}, {"1d12h", 36 * time.Hour}, {"36h", 36 * time.Hour}, {"1h30m", 90 * time.Minute}} {
			n := f.count()
			before := time.Now().Truncate(time.Second)
			c.ok("iam", "api-key", "create", "--service-account-id", fakeRobot, "--expires-in", tc.flag)
			after := time.Now()
			reqs := f.since(n)
			got, err := time.Parse(time.RFC3339, fmt.Sprint(reqs[0].Body["expiresAt"]))
			if err != nil || got.Before(before.Add(tc.want)) || got.After(after.Add(tc.want)) {
				t.Errorf("--expires-in %s: expiresAt = %v (%v), want now + %v", tc.flag, reqs[0].Body["expiresAt"], err, tc.want)
			}
		}
	})
}

func TestAPIKeyCreateOutput(t *testing.T) {
	_, c := startAPIKeyServer(t)
	for _, format := range []string{"text", "yaml", "json"} {
		t.Run(format, func(t *testing.T) {
			out := c.ok("iam", "api-key", "create", "--service-account-name", "my-robot", "--name", "k-"+format, "--products", "postbox", "--format", format)
			var got map[string]any
			decode(t, format, out, &got)
			secret, _ := got["secret"].(string)
			if !strings.HasPrefix(secret, "warden_ak_") || strings.Count(out, secret) != 1 {
				t.Errorf("secret %q, want it once in:\n%s", secret, out)
			}
			if got["name"] != "k-"+format || got["service_account_id"] != fakeRobot || got["enabled"] != true ||
				!strings.HasPrefix(fmt.Sprint(got["masked_secret"]), "****") || got["expires_at"] == nil {
				t.Errorf("created = %v", got)
			}
			// The server's empty restrictions and null last use are not shown.
			if _, ok := got["restrictions"]; ok {
				t.Errorf("restrictions = %v, want none", got["restrictions"])
			}
			note := strings.Contains(out, "# The secret is shown only now: store it safely, it cannot be shown again.\nsecret: ")
			if note != (format == "text") {
				t.Errorf("note shown: %v, want it in the text format only:\n%s", note, out)
			}
		})
	}
}

// secretField finds a secret in YAML or JSON output.
var secretField = regexp.MustCompile(`(?m)^[ -]*secret:|"secret"`)

func TestAPIKeyLifecycle(t *testing.T) {
	f, c := startAPIKeyServer(t)
	var ids []string
	for i := range 3 {
		var k map[string]any
		decode(t, "json", c.ok("iam", "api-key", "create", "--service-account-id", fakeRobot, "--name", fmt.Sprintf("key-%d", i), "--format", "json"), &k)
		ids = append(ids, k["id"].(string))
	}
	c.ok("iam", "api-key", "create", "--service-account-id", "ajeother0000000000000") // not listed
	f.mu.Lock()
	f.leakSecrets = true // the CLI must not print them anyway
	f.mu.Unlock()
	noSecret := func(t *testing.T, out string) {
		t.Helper()
		if strings.Contains(out, "warden_ak_") || secretField.MatchString(out) {
			t.Errorf("a secret was printed:\n%s", out)
		}
	}

	n := f.count()
	out := c.ok("iam", "api-key", "list", "--service-account-name", "my-robot")
	noSecret(t, out)
	rows := parseTable(t, out)
	if len(rows) != 3 {
		t.Fatalf("table = %v, want 3 rows", rows)
	}
	for i, row := range rows {
		if row["ID"] != ids[i] || row["NAME"] != fmt.Sprintf("key-%d", i) || !strings.HasPrefix(row["SECRET"], "****") ||
			row["ENABLED"] != "true" || !strings.HasPrefix(row["EXPIRES AT"], "20") || row["LAST USED AT"] != "" {
			t.Errorf("row %d = %v", i, row)
		}
	}
	var queries []string
	for _, r := range f.since(n) {
		queries = append(queries, r.Method+" "+r.Path+"?"+r.Query)
	}
	want := []string{
		"GET " + apiKeysPath + "?pageSize=1000&serviceAccountId=" + fakeRobot,
		"GET " + apiKeysPath + "?pageSize=1000&pageToken=2&serviceAccountId=" + fakeRobot,
	}
	if diff := cmp.Diff(want, queries); diff != "" {
		t.Errorf("list requests (-want +got):\n%s", diff)
	}
	for _, format := range []string{"json", "yaml"} {
		out := c.ok("iam", "api-key", "list", "--service-account-id", fakeRobot, "--format", format)
		noSecret(t, out)
		var list []map[string]any
		decode(t, format, out, &list)
		if len(list) != 3 || list[2]["id"] != ids[2] || list[2]["service_account_id"] != fakeRobot {
			t.Errorf("%s list = %v", format, list)
		}
	}
	if out := c.ok("iam", "api-key", "list", "--service-account-id", fakeRobot, "--limit", "1", "--format", "json"); strings.Count(out, `"id"`) != 1 {
		t.Errorf("list --limit 1 = %s", out)
	}

	id := ids[1]
	for _, format := range []string{"text", "json", "yaml"} {
		out := c.ok("iam", "api-key", "get", id, "--format", format)
		noSecret(t, out)
		var got map[string]any
		decode(t, format, out, &got)
		if got["id"] != id || got["name"] != "key-1" {
			t.Errorf("get (%s) = %v", format, got)
		}
	}

	steps := []struct {
		args    []string
		body    string
		enabled bool
	}{
		{[]string{"update", id, "--name", "renamed", "--description", "for CI"}, `{"name": "renamed", "description": "for CI"}`, true},
		{[]string{"update", id, "--products", "postbox,monaas"}, `{"products": ["postbox", "monaas"]}`, true},
		{[]string{"disable", id}, `{"enabled": false}`, false},
		{[]string{"update", id, "--products", "", "--description", ""}, `{"products": [], "description": ""}`, false},
		{[]string{"enable", id}, `{"enabled": true}`, true},
	}
	for _, s := range steps {
		n := f.count()
		out := c.ok(append(append([]string{"iam", "api-key"}, s.args...), "--format", "json")...)
		noSecret(t, out)
		reqs := f.since(n)
		if len(reqs) != 1 || reqs[0].Method != http.MethodPatch || reqs[0].Path != apiKeysPath+"/"+id {
			t.Fatalf("%v: requests = %+v, want one PATCH", s.args, reqs)
		}
		if diff := cmp.Diff(jsonMap(t, s.body), reqs[0].Body); diff != "" {
			t.Errorf("%v: body (-want +got):\n%s", s.args, diff)
		}
		var got map[string]any
		decode(t, "json", out, &got)
		if got["id"] != id || got["enabled"] != s.enabled {
			t.Errorf("%v: printed %v", s.args, got)
		}
	}
	var got map[string]any
	decode(t, "json", c.ok("iam", "api-key", "get", id, "--format", "json"), &got)
	if got["name"] != "renamed" || got["description"] != nil || got["products"] != nil || got["enabled"] != true {
		t.Errorf("after the updates: %v", got)
	}

	if out := c.ok("iam", "api-key", "delete", id); out != "" {
		t.Errorf("delete printed %q", out)
	}
	if msg := c.fail("iam", "api-key", "get", id); msg != "API key "+id+" not found" {
		t.Errorf("get after delete: %q", msg)
	}
	var list []map[string]any
	decode(t, "json", c.ok("iam", "api-key", "list", "--service-account-id", fakeRobot, "--format", "json"), &list)
	if len(list) != 2 {
		t.Errorf("%d keys after delete, want 2", len(list))
	}
	c.ok("iam", "api-key", "delete", ids[0])
	c.ok("iam", "api-key", "delete", ids[2])
	if out := c.ok("iam", "api-key", "list", "--service-account-id", fakeRobot, "--format", "json"); strings.TrimSpace(out) != "[]" {
		t.Errorf("empty list = %q", out)
	}
}

// TestAPIKeyUpdateRestrictions: a restriction flag changes that
// restriction and sends the others as they were, since the server
// replaces them all.
func TestAPIKeyUpdateRestrictions(t *testing.T) {
	f, c := startAPIKeyServer(t)
	var k map[string]any
	decode(t, "json", c.ok("iam", "api-key", "create", "--service-account-id", fakeRobot, "--allowed-ips", "10.0.0.0/8",
		"--time-slot", "18-19", "--timezone", "3", "--format", "json"), &k)
	id := k["id"].(string)
	if diff := cmp.Diff(jsonMap(t, `{"ip_addresses": {"ip_addresses": ["10.0.0.0/8"]}, "time_range": {"time_slots": [{"start": 18, "end": 19}], "timezone": 3}}`), k["restrictions"]); diff != "" {
		t.Errorf("created restrictions (-want +got):\n%s", diff)
	}
	for _, tc := range []struct {
		args   []string
		want   string // the PATCH's restrictions: only what the flags change
		result string // the key's restrictions afterwards as shown (empty parts left out; "": none)
	}{
		{[]string{"--allowed-ips", "192.0.2.0/24,2001:db8::/32"}, `{"ipAddresses": {"ipAddresses": ["192.0.2.0/24", "2001:db8::/32"]}}`,
			`{"ip_addresses": {"ip_addresses": ["192.0.2.0/24", "2001:db8::/32"]}, "time_range": {"time_slots": [{"start": 18, "end": 19}], "timezone": 3}}`},
		{[]string{"--timezone", "5"}, `{"timeRange": {"timezone": 5}}`,
			`{"ip_addresses": {"ip_addresses": ["192.0.2.0/24", "2001:db8::/32"]}, "time_range": {"time_slots": [{"start": 18, "end": 19}], "timezone": 5}}`},
		{[]string{"--time-slot", "9-12", "--time-slot", "13-17"}, `{"timeRange": {"timeSlots": [{"start": 9, "end": 12}, {"start": 13, "end": 17}]}}`,
			`{"ip_addresses": {"ip_addresses": ["192.0.2.0/24", "2001:db8::/32"]}, "time_range": {"time_slots": [{"start": 9, "end": 12}, {"start": 13, "end": 17}], "timezone": 5}}`},
		{[]string{"--time-slot", ""}, `{"timeRange": {"timeSlots": []}}`,
			`{"ip_addresses": {"ip_addresses": ["192.0.2.0/24", "2001:db8::/32"]}, "time_range": {"time_slots": [], "timezone": 5}}`},
		{[]string{"--allowed-ips", ""}, `{"ipAddresses": {"ipAddresses": []}}`,
			`{"time_range": {"time_slots": [], "timezone": 5}}`},
		{[]string{"--clear-restrictions", "--time-slot", "1-2"}, `{"ipAddresses": {"ipAddresses": []}, "timeRange": {"timeSlots": [{"start": 1, "end": 2}], "timezone": 0}}`,
			`{"time_range": {"time_slots": [{"start": 1, "end": 2}], "timezone": 0}}`},
		{[]string{"--clear-restrictions"}, `{}`, ""},
	} {
		t.Run(strings.Join(tc.args, " "), func(t *testing.T) {
			n := f.count()
			c.ok(append([]string{"iam", "api-key", "update", id}, tc.args...)...)
			reqs := f.since(n)
			var methods []string
			for _, r := range reqs {
				methods = append(methods, r.Method)
			}
			// One PATCH, no read first: the server keeps what is not sent,
			// so a concurrent edit of another restriction is not undone.
			if diff := cmp.Diff([]string{"PATCH"}, methods); diff != "" {
				t.Fatalf("requests (-want +got):\n%s", diff)
			}
			patch := reqs[len(reqs)-1].Body
			if diff := cmp.Diff(map[string]any{"restrictions": jsonMap(t, tc.want)}, patch); diff != "" {
				t.Errorf("body (-want +got):\n%s", diff)
			}
			var got map[string]any
			decode(t, "json", c.ok("iam", "api-key", "get", id, "--format", "json"), &got)
			var want any
			if tc.result != "" {
				want = jsonMap(t, tc.result)
			}
			if diff := cmp.Diff(want, got["restrictions"]); diff != "" {
				t.Errorf("restrictions afterwards (-want +got):\n%s", diff)
			}
		})
	}
}

func TestAPIKeyErrors(t *testing.T) {
	f, c := startAPIKeyServer(t)
	create := []string{"iam", "api-key", "create", "--service-account-id", fakeRobot}
	for _, tc := range []struct {
		name   string
		args   []string
		want   string
		remote bool // whether the server is asked
	}{
		{"server names the field", append(create, "--time-slot", "19-18"), "restrictions.timeRange.timeSlots[0]: start 19 is not before end 18", true},
		{"second slot", append(create, "--time-slot", "1-2,5-5"), "restrictions.timeRange.timeSlots[1]: start 5 is not before end 5", true},
		{"no service account", []string{"iam", "api-key", "create"}, "give the service account with --service-account-id or --service-account-name (only a service account may leave it out, for its own keys)", true},
		{"no service account to list", []string{"iam", "api-key", "list"}, "give the service account with --service-account-id or --service-account-name (only a service account may leave it out, for its own keys)", true},
		{"unknown service account name", []string{"iam", "api-key", "list", "--service-account-name", "nope"}, `service account "nope" not found in folder ` + fakeFolder, false},
		{"unknown key", []string{"iam", "api-key", "get", "akanosuchkey00000000"}, "API key akanosuchkey00000000 not found", true},
		{"unknown key to update", []string{"iam", "api-key", "update", "akanosuchkey00000000", "--allowed-ips", "10.0.0.0/8"}, "API key akanosuchkey00000000 not found", true},
		{"bad token", []string{"--iam-token", "t1.wrong", "iam", "api-key", "delete", "aka1"}, "the request is unauthenticated", true},
		{"time slot without end", append(create, "--time-slot", "18"), `invalid argument "18" for "--time-slot" flag: "18" is not START-END in whole hours, like 18-19`, false},
		{"time slot of words", append(create, "--time-slot", "six-seven"), `invalid argument "six-seven" for "--time-slot" flag: "six-seven" is not START-END in whole hours, like 18-19`, false},
		{"expires in without unit", append(create, "--expires-in", "90"), `--expires-in "90": want days like 90d, or a duration like 12h or 1h30m`, false},
		{"negative expires in", append(create, "--expires-in", "-1h"), `--expires-in "-1h": want days like 90d`, false},
		{"two expiries", append(create, "--expires-in", "90d", "--expires-at", "2027-01-01T00:00:00Z"), "give --expires-in or --expires-at, not both", false},
		{"bad expires at", append(create, "--expires-at", "2027-01-01"), `--expires-at "2027-01-01": want an RFC 3339 time like 2027-01-31T00:00:00Z`, false},
		{"two service accounts", []string{"iam", "api-key", "create", "--service-account-id", fakeRobot, "--service-account-name", "my-robot"}, "give --service-account-id or --service-account-name, not both", false},
		{"nothing to update", []string{"iam", "api-key", "update", "aka1"}, "nothing to update: give --name, --description, --products, --scopes, --allowed-ips, --time-slot, --timezone or --clear-restrictions", false},
		{"no ID", []string{"iam", "api-key", "get"}, "name the API key: give its ID as the one argument", false},
		{"two IDs", []string{"iam", "api-key", "delete", "a", "b"}, "name the API key: give its ID as the one argument", false},
	} {
		t.Run(tc.name, func(t *testing.T) {
			n := f.count()
			if msg := c.fail(tc.args...); !strings.HasPrefix(msg, tc.want) {
				t.Errorf("error %q, want it to start with %q", msg, tc.want)
			}
			if asked := f.count() > n; asked != tc.remote {
				t.Errorf("server asked: %v, want %v", asked, tc.remote)
			}
		})
	}
}

func TestParseExpiresIn(t *testing.T) {
	for _, tc := range []struct {
		in   string
		want time.Duration
	}{
		{"90d", 90 * 24 * time.Hour},
		{"365d", 365 * 24 * time.Hour},
		{"12h", 12 * time.Hour},
		{"1h30m", 90 * time.Minute},
		{"2d6h", 54 * time.Hour},
		{"", 0}, {"90", 0}, {"d", 0}, {"1.5d", 0}, {"0d", 0}, {"-1h", 0}, {"1y", 0}, {"999999d", 0}, {"1d-48h", 0},
	} {
		t.Run(tc.in, func(t *testing.T) {
			got, err := parseExpiresIn(tc.in)
			if tc.want == 0 {
				if err == nil {
					t.Errorf("parseExpiresIn(%q) = %v, want an error", tc.in, got)
				}
				return
			}
			if err != nil || got != tc.want {
				t.Errorf("parseExpiresIn(%q) = %v, %v; want %v", tc.in, got, err, tc.want)
			}
		})
	}
}

func TestTimeSlotsFlag(t *testing.T) {
	for _, tc := range []struct {
		name    string
		values  []string
		want    []timeSlot
		wantErr bool
	}{
		{"one", []string{"18-19"}, []timeSlot{{18, 19}}, false},
		{"repeated and listed", []string{"0-5", "9-12, 22-24"}, []timeSlot{{0, 5}, {9, 12}, {22, 24}}, false},
		{"empty clears", []string{""}, []timeSlot{}, false},
		{"ranges are the server's to check", []string{"19-18", "0-25"}, []timeSlot{{19, 18}, {0, 25}}, false},
		{"no end", []string{"18"}, nil, true},
		{"no start", []string{"-19"}, nil, true},
		{"not numbers", []string{"9am-5pm"}, nil, true},
		{"three parts", []string{"1-2-3"}, nil, true},
	} {
		t.Run(tc.name, func(t *testing.T) {
			var f timeSlotsFlag
			var err error
			for _, v := range tc.values {
				if err = f.Set(v); err != nil {
					break
				}
			}
			if (err != nil) != tc.wantErr {
				t.Fatalf("Set(%q) error = %v, want error: %v", tc.values, err, tc.wantErr)
			}
			if !tc.wantErr {
				if diff := cmp.Diff(tc.want, f.slots); diff != "" {
					t.Errorf("slots (-want +got):\n%s", diff)
				}
			}
		})
	}
}

func TestAPIKeyHelp(t *testing.T) {
	c := newCLI(t)
	for _, verb := range []string{"create", "list", "get", "update", "enable", "disable", "delete"} {
		t.Run(verb, func(t *testing.T) {
			out := c.ok("iam", "api-key", verb, "--help")
			if !strings.Contains(out, "Examples:\n  warden iam api-key "+verb+" ") {
				t.Errorf("help has no example of %s:\n%s", verb, out)
			}
		})
	}
	if out := c.ok("iam", "--help"); !strings.Contains(out, "api-key") {
		t.Errorf("iam --help does not list api-key:\n%s", out)
	}
}
