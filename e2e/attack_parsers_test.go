package e2e

import (
	"bytes"
	"context"
	"encoding/base64"
	"fmt"
	"net/url"
	"slices"
	"strings"
	"testing"
	"time"

	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/status"
	"google.golang.org/protobuf/types/known/structpb"

	"warden/api/accesspb"
	"warden/server"
)

// TestAttackDeepNesting replays the quadratic-validation attack: an
// unauthenticated body nested 9,000 deep (18 KB) cost 2.6 s of CPU at
// /access/v1:authenticate and two of 360 KB cost 99 s. Each is now refused
// with a quick 400 that names the limit, before anything decodes it.
func TestAttackDeepNesting(t *testing.T) {
	n := start(t, t.TempDir(), "")
	body := func(levels int) string {
		return `{"request": {"headers": {"Authorization": [` + strings.Repeat("[", levels) + strings.Repeat("]", levels) + `]}}}`
	}
	for _, tt := range []struct {
		name   string
		levels int
	}{
		{"18 KB, 9000 deep", 9000},
		{"360 KB, 180000 deep", 180000},
	} {
		t.Run(tt.name, func(t *testing.T) {
			b := body(tt.levels)
			began := time.Now()
			r := n.rest("POST", "/access/v1:authenticate", "", b)
			took := time.Since(began)
			if r.status != 400 || r.body["code"] != float64(3) {
				t.Fatalf("%d-byte body: %d %.200s, want 400 InvalidArgument", len(b), r.status, r.raw)
			}
			if msg := str(r.body, "message"); !strings.Contains(msg, "deeper than 64 levels") {
				t.Errorf("message %q does not name the limit", msg)
			}
			if took > 200*time.Millisecond {
				t.Errorf("refusing a %d-byte body took %v, want under 200ms", len(b), took)
			}
		})
	}
	// gRPC's decoder admits 10,000 levels of messages: 4,000 lists are 8,000
	// of them, which the validator refuses without walking.
	t.Run("gRPC, 4000 deep", func(t *testing.T) {
		v := structpb.NewStringValue("Bearer x")
		for range 4000 {
			v = structpb.NewListValue(&structpb.ListValue{Values: []*structpb.Value{v}})
		}
		req := &accesspb.AuthenticateRequest{Request: &accesspb.Request{
			Headers: map[string]*structpb.ListValue{"Authorization": {Values: []*structpb.Value{v}}},
		}}
		c := accesspb.NewAccessServiceClient(sdkConn(t, n.addr))
		began := time.Now()
		_, err := c.Authenticate(context.Background(), req)
		took := time.Since(began)
		if status.Code(err) != codes.InvalidArgument || !strings.Contains(err.Error(), "deeper than") {
			t.Fatalf("Authenticate = %v, want InvalidArgument naming the depth limit", err)
		}
		if took > 200*time.Millisecond {
			t.Errorf("refusing it took %v, want under 200ms", took)
		}
	})
	// The deepest body the limit admits is decoded and answered as usual.
	if r := n.rest("POST", "/access/v1:authenticate", "", body(60)); r.status != 401 {
		t.Errorf("a body 63 levels deep: %d %.200s, want 401 (decoded, no credential)", r.status, r.raw)
	}
}

// TestAttackOversizedBody: a body over an endpoint's limit is 413 (it was
// 429, which tells a client to retry the same request later).
func TestAttackOversizedBody(t *testing.T) {
	n := start(t, t.TempDir(), "")
	admin := n.iamToken()
	for _, tt := range []struct {
		name, path, token string
		limit             int
	}{
		{"access service", "/access/v1:authenticate", "", 4 << 20},
		{"login", "/warden/v1/login", "", 64 << 10},
		{"Cloud.ru API keys", "/api/v1/service-accounts/credentials/api-keys", admin, 64 << 10},
	} {
		t.Run(tt.name, func(t *testing.T) {
			b := `{"x": "` + strings.Repeat("a", tt.limit) + `"}`
			r := n.rest("POST", tt.path, tt.token, b)
			if r.status != 413 {
				t.Fatalf("%d-byte body: %d %.200s, want 413", len(b), r.status, r.raw)
			}
			if msg := str(r.body, "message"); !strings.Contains(msg, "exceeds") || r.body["code"] != float64(8) {
				t.Errorf("413 body %.200s, want google.rpc.Status RESOURCE_EXHAUSTED naming the limit", r.raw)
			}
		})
	}
}

// tokenSpellings returns the spellings of an IAM token that a lenient
// base64url decoder reads as the same bytes: every other last character of
// the payload and of the signature with the same bits, padding, a line
// break inside a part, and the standard alphabet's + and /.
func tokenSpellings(tok string) []string {
	const alphabet = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_"
	dot := strings.LastIndexByte(tok, '.')
	var out []string
	for _, p := range [][2]int{{len("t1."), dot}, {dot + 1, len(tok)}} {
		part := tok[p[0]:p[1]]
		want, _ := base64.RawURLEncoding.DecodeString(part)
		for _, c := range alphabet {
			alt := part[:len(part)-1] + string(c)
			if got, err := base64.RawURLEncoding.DecodeString(alt); err == nil && alt != part && bytes.Equal(got, want) {
				out = append(out, tok[:p[0]]+alt+tok[p[1]:])
			}
		}
		for _, alt := range []string{part + "=", part + "==", part[:4] + "\r\n" + part[4:], strings.NewReplacer("-", "+", "_", "/").Replace(part)} {
			if alt != part {
				out = append(out, tok[:p[0]]+alt+tok[p[1]:])
			}
		}
	}
	return out
}

// TestAttackTokenMalleability: an IAM token had 16 accepted spellings (the
// signature's last character carries 4 unused bits), so a token could be
// presented in a form a revocation or audit list keyed by its text would
// not match. Only the canonical spelling is accepted, as a bearer token on
// the API and through the access service.
func TestAttackTokenMalleability(t *testing.T) {
	n := start(t, t.TempDir(), "")
	tok := n.iamToken()
	authenticate := func(tok string) int {
		return n.rest("POST", "/access/v1:authenticate", "", map[string]any{"request": map[string]any{
			"headers": map[string]any{"Authorization": []string{"Bearer " + tok}},
		}}).status
	}
	if got := authenticate(tok); got != 200 {
		t.Fatalf("canonical token through the access service: %d, want 200", got)
	}
	alts := tokenSpellings(tok)
	if len(alts) < 15+8 {
		t.Fatalf("only %d other spellings: the test no longer covers the attack", len(alts))
	}
	for _, alt := range alts {
		if got := authenticate(alt); got != 401 {
			t.Errorf("access service accepted %q: %d, want 401", alt, got)
		}
		if strings.ContainsAny(alt, "\r\n") {
			continue // not sendable as an HTTP header
		}
		if r := n.rest("GET", "/resource-manager/v1/clouds", alt, nil); r.status != 401 {
			t.Errorf("API accepted bearer %q: %d, want 401", alt, r.status)
		}
	}
}

// TestAttackPageTokenLeak: cloud and folder lists paged first and filtered
// after, so with pageSize=1 a caller got empty pages whose tokens were the
// ids of clouds it cannot see. A subject that may see one of several clouds
// (and one of several folders) now pages through exactly what it may see,
// and no page token names anything else.
func TestAttackPageTokenLeak(t *testing.T) {
	n := start(t, t.TempDir(), "")
	w := newWorld(t, n)
	org := str(n.rest("GET", "/resource-manager/v1/clouds/"+w.cloud, w.admin, nil).body, "organizationId")
	var clouds []string
	for i := range 4 {
		r := n.rest("POST", "/resource-manager/v1/clouds", w.admin, map[string]any{"organizationId": org, "name": fmt.Sprintf("cloud-%d", i)})
		if r.status != 200 {
			t.Fatalf("create cloud: %s", r.raw)
		}
		clouds = append(clouds, str(r.body, "response", "id"))
	}
	// The visible cloud sorts after the other new ones, so that they come
	// before it on pages of their own. (Not the bootstrap cloud: a viewer
	// there would see every folder below.)
	slices.Sort(clouds)
	visible := clouds[len(clouds)-1]
	clouds = append(clouds, w.cloud)
	w.bind(t, "/resource-manager/v1/clouds/"+visible, "ADD", "viewer", "serviceAccount", w.robot)
	folders := []string{w.folderA, w.folderB}
	for i := range 3 {
		r := n.rest("POST", "/resource-manager/v1/folders", w.admin, map[string]any{"cloudId": w.cloud, "name": fmt.Sprintf("folder-%d", i)})
		folders = append(folders, str(r.body, "response", "id"))
	}
	slices.Sort(folders)
	visibleFolder := folders[len(folders)-1]
	w.bind(t, "/resource-manager/v1/folders/"+visibleFolder, "ADD", "viewer", "serviceAccount", w.robot)

	page := func(t *testing.T, path, items string, hidden []string) []string {
		var seen []string
		token := ""
		for range 20 {
			r := n.rest("GET", path+"&pageSize=1&pageToken="+url.QueryEscape(token), w.robotToken, nil)
			if r.status != 200 {
				t.Fatalf("GET %s: %d %s", path, r.status, r.raw)
			}
			list, _ := r.body[items].([]any)
			for _, it := range list {
				seen = append(seen, str(it, "id"))
			}
			token = str(r.body, "nextPageToken")
			decoded, _ := base64.RawURLEncoding.DecodeString(token)
			for _, id := range hidden {
				if token != "" && (strings.Contains(token, id) || strings.Contains(string(decoded), id)) {
					t.Errorf("page token %q names %s, which the caller cannot see", token, id)
				}
				if slices.Contains(seen, id) {
					t.Errorf("listed %s, which the caller cannot see", id)
				}
			}
			if token == "" {
				return seen
			}
		}
		t.Fatalf("paging %s did not end", path)
		return nil
	}
	t.Run("clouds", func(t *testing.T) {
		hidden := slices.DeleteFunc(slices.Clone(clouds), func(id string) bool { return id == visible })
		got := page(t, "/resource-manager/v1/clouds?organizationId="+org, "clouds", hidden)
		if !slices.Equal(got, []string{visible}) {
			t.Errorf("clouds seen = %v, want only %s", got, visible)
		}
	})
	t.Run("folders", func(t *testing.T) {
		got := page(t, "/resource-manager/v1/folders?cloudId="+w.cloud, "folders", folders[:len(folders)-1])
		if !slices.Equal(got, []string{visibleFolder}) {
			t.Errorf("folders seen = %v, want only %s", got, visibleFolder)
		}
	})
}

// TestAttackClockSkew: revocations were stamped with the writing node's
// clock and read from "this node's clock - 10 s", so a revocation through a
// node more than 10 s behind was never seen by the others (and one ahead
// hid the others' from it). With two wardends on one PostgreSQL, one of
// them 30 s behind, a revocation or API key change through either is
// enforced by the other within a second.
func TestAttackClockSkew(t *testing.T) {
	pg := postgresBackend(t)
	dir, db := t.TempDir(), pg.database(t)
	a := start(t, dir, db)
	skewed := start(t, dir, db, func(c *server.Config) {
		c.Now = func() time.Time { return time.Now().Add(-30 * time.Second) }
	})
	w := newWorld(t, a)
	authenticate := func(n *node, header string) int {
		return n.rest("POST", "/access/v1:authenticate", "", map[string]any{"request": map[string]any{
			"headers": map[string]any{"Authorization": []string{header}}, "clientAddress": "10.1.1.1", "service": "postbox",
		}}).status
	}
	mint := func(n *node) string {
		r := n.rest("POST", "/iam/v1/tokens:createForServiceAccount", w.admin, map[string]any{"serviceAccountId": w.robot})
		if r.status != 200 {
			t.Fatalf("token for robot: %s", r.raw)
		}
		return str(r.body, "iamToken")
	}
	for _, tt := range []struct {
		name          string
		through, seen *node
	}{
		{"revoked through the node behind", skewed, a},
		{"revoked through the node on time", a, skewed},
	} {
		t.Run(tt.name, func(t *testing.T) {
			tok := mint(tt.through)
			within(t, "token accepted by the other node", func() bool { return authenticate(tt.seen, "Bearer "+tok) == 200 })
			if r := tt.through.rest("POST", "/iam/v1/tokens:revoke", "", map[string]string{"iamToken": tok}); r.status != 200 {
				t.Fatalf("revoke: %s", r.raw)
			}
			within(t, "revocation enforced by the other node", func() bool { return authenticate(tt.seen, "Bearer "+tok) == 401 })
		})
	}
	t.Run("API key", func(t *testing.T) {
		create := a.rest("POST", "/api/v1/service-accounts/credentials/api-keys", w.admin, map[string]any{
			"name": "skewed", "serviceAccountId": w.robot, "products": []string{"postbox"},
		})
		if create.status != 200 {
			t.Fatalf("create: %s", create.raw)
		}
		id, secret := str(create.body, "id"), "Api-Key "+str(create.body, "secret")
		enable := func(n *node, on bool) {
			t.Helper()
			if r := n.rest("PATCH", "/api/v1/service-accounts/credentials/api-keys/"+id, w.admin, map[string]any{"enabled": on}); r.status != 200 {
				t.Fatalf("PATCH enabled=%v: %s", on, r.raw)
			}
		}
		within(t, "new key accepted by the node behind", func() bool { return authenticate(skewed, secret) == 200 })
		enable(skewed, false)
		within(t, "disable through the node behind enforced by the other", func() bool { return authenticate(a, secret) == 401 })
		enable(a, true)
		within(t, "enable through the node on time seen by the node behind", func() bool { return authenticate(skewed, secret) == 200 })
		enable(a, false)
		within(t, "disable through the node on time enforced by the node behind", func() bool { return authenticate(skewed, secret) == 401 })
	})
}
