package main

import (
	"net/http"
	"strings"
	"testing"
)

// xTokenStatus asks wardend's access service to authenticate a request
// carrying X-Token: secret.
func xTokenStatus(t *testing.T, w *wardend, secret string) int {
	t.Helper()
	body := `{"request":{"method":"GET","path":"/","headers":{"X-Token":["` + secret + `"]}}}`
	resp, err := http.Post("http://"+w.addr+"/access/v1:authenticate", "application/json", strings.NewReader(body))
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	return resp.StatusCode
}

// TestStaticTokenCommands: create (the secret printed once, in every
// format), list and get (never the secret), revoke, against a real
// wardend; the token authenticates through the access service until it is
// revoked.
func TestStaticTokenCommands(t *testing.T) {
	w := startServer(t)
	c := loggedIn(t, w)
	var sa map[string]any
	decode(t, "json", c.ok("iam", "service-account", "create", "--name", "deployer", "--format", "json"), &sa)

	var tok map[string]any
	decode(t, "json", c.ok("iam", "static-token", "create", "--service-account-name", "deployer", "--description", "ci", "--format", "json"), &tok)
	secret, _ := tok["secret"].(string)
	id, _ := tok["id"].(string)
	if !strings.HasPrefix(secret, "warden_st_") || tok["subject_id"] != sa["id"] || tok["subject_type"] != "serviceAccount" || tok["expires_at"] != nil {
		t.Fatalf("create --format json: %v", tok)
	}
	if got := xTokenStatus(t, w, secret); got != 200 {
		t.Errorf("X-Token of the new token: %d", got)
	}

	for _, format := range []string{"json", "yaml", "text"} {
		out := c.ok("iam", "static-token", "list", "--service-account-name", "deployer", "--format", format)
		if strings.Contains(out, secret[20:60]) || strings.Contains(out, " secret:") || strings.Contains(out, `"secret"`) {
			t.Errorf("list --format %s prints the secret:\n%s", format, out)
		}
		if format == "text" {
			if rows := parseTable(t, out); len(rows) != 1 || rows[0]["ID"] != id || rows[0]["EXPIRES AT"] != "never" {
				t.Errorf("list table: %v", rows)
			}
			continue
		}
		var got []map[string]any
		decode(t, format, out, &got)
		if len(got) != 1 || got[0]["id"] != id || got[0]["description"] != "ci" {
			t.Errorf("list --format %s: %v", format, got)
		}
	}
	var one map[string]any
	decode(t, "yaml", c.ok("iam", "static-token", "get", id, "--format", "yaml"), &one)
	if one["id"] != id || one["secret"] != nil || one["masked_secret"] != "****"+secret[len(secret)-6:] {
		t.Errorf("get: %v", one)
	}

	// The caller's own token, in the text format: the secret last, under a
	// note that it is shown only now.
	out := c.ok("iam", "static-token", "create", "--expires-in", "1h")
	note, after, ok := strings.Cut(out, "# The secret is shown only now: store it safely, it cannot be shown again.\nsecret: warden_st_")
	if !ok || !strings.Contains(note, "subject_type: userAccount") || !strings.Contains(note, "expires_at:") || strings.Count(after, "\n") != 1 {
		t.Errorf("create (text):\n%s", out)
	}

	if r := c.run("iam", "static-token", "revoke", id); r.code != 0 || !strings.Contains(r.stderr, id+" revoked") {
		t.Fatalf("revoke: exit %d: %s", r.code, r.stderr)
	}
	if got := xTokenStatus(t, w, secret); got != 401 {
		t.Errorf("X-Token after revoke: %d, want 401", got)
	}
	if msg := c.fail("iam", "static-token", "revoke", id); !strings.Contains(msg, "not found") {
		t.Errorf("revoke twice: %q", msg)
	}
	if msg := c.fail("iam", "static-token", "revoke", secret); strings.Contains(msg, secret) || !strings.Contains(msg, "not a static token ID") {
		t.Errorf("revoke given a secret: %q", msg)
	}
	if msg := c.fail("iam", "static-token", "create", "--expires-in", "1h", "--expires-at", "2030-01-01T00:00:00Z"); !strings.Contains(msg, "not both") {
		t.Errorf("two expiries: %q", msg)
	}
	if msg := c.fail("iam", "static-token", "create", "--user-account-id", w.adminID, "--service-account-name", "deployer"); !strings.Contains(msg, "give one of") {
		t.Errorf("two owners: %q", msg)
	}

	c.ok("iam", "service-account", "revoke-tokens", "deployer")
	c.ok("iam", "user-account", "revoke-tokens", w.adminID)
}
