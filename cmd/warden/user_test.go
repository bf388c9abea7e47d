package main

import (
	"strings"
	"testing"
)

// TestUserCommands: the admin manages a user through every user command,
// by login and by ID; the user logs in with their password, changes it,
// and cannot manage another user.
func TestUserCommands(t *testing.T) {
	w := startServer(t)
	c := loggedIn(t, w)
	user := func(format string, args ...string) map[string]any {
		t.Helper()
		var m map[string]any
		decode(t, format, c.ok(append([]string{"organization-manager", "user", "--format", format}, args...)...), &m)
		return m
	}

	r := c.runIn("amber-walrus-42\n", "organization-manager", "user", "create", "alice@default", "--full-name", "Alice Liddell", "--password-stdin", "--format", "json")
	if r.code != 0 {
		t.Fatalf("create alice: %s", r.stderr)
	}
	var alice map[string]any
	decode(t, "json", r.stdout, &alice)
	id, _ := alice["id"].(string)
	if !strings.HasPrefix(id, "aju") || alice["username"] != "alice@default" || alice["full_name"] != "Alice Liddell" || alice["status"] != "ACTIVE" {
		t.Fatalf("created = %v", alice)
	}
	if r := c.runIn("copper-heron-77\n", "organization-manager", "user", "create", "--username", "bob@default", "--password-stdin"); r.code != 0 {
		t.Fatalf("create bob: %s", r.stderr)
	}

	pools := parseTable(t, c.ok("organization-manager", "userpool", "list"))
	if len(pools) != 1 || pools[0]["NAME"] != "default" || pools[0]["DOMAINS"] != "default" {
		t.Fatalf("userpool list = %v", pools)
	}
	var pool map[string]any
	decode(t, "json", c.ok("organization-manager", "userpool", "get", "default", "--format", "json"), &pool)
	if pool["id"] != pools[0]["ID"] || alice["userpool_id"] != pool["id"] {
		t.Fatalf("userpool get default = %v; alice = %v", pool, alice)
	}
	bob := user("json", "get", "bob@default")
	c.ok("resource-manager", "folder", "add-access-binding", "default", "--role", "viewer", "--user-account-name", "bob@default")
	if out := c.ok("resource-manager", "folder", "list-access-bindings", "default"); !strings.Contains(out, bob["id"].(string)) {
		t.Errorf("a binding for --user-account-name bob@default is not in:\n%s", out)
	}
	if msg := c.fail("resource-manager", "folder", "add-access-binding", "default", "--role", "viewer", "--user-account-name", "nobody@default"); !strings.Contains(msg, "not found") {
		t.Errorf("a binding for an unknown login: %q", msg)
	}

	rows := parseTable(t, c.ok("organization-manager", "user", "list"))
	found := map[string]string{}
	for _, row := range rows {
		found[row["USERNAME"]] = row["STATUS"]
	}
	if found["alice@default"] != "ACTIVE" || found["bob@default"] != "ACTIVE" || found["admin"] != "ACTIVE" {
		t.Fatalf("list = %v", rows)
	}
	for _, args := range [][]string{{"alice@default"}, {id}, {"--id", id}, {"--name", "alice@default"}} {
		if got := user("yaml", append([]string{"get"}, args...)...); got["id"] != id {
			t.Errorf("get %v = %v", args, got)
		}
	}
	if got := user("json", "update", "alice@default", "--email", "alice@example.com"); got["email"] != "alice@example.com" {
		t.Errorf("update = %v", got)
	}
	// The bootstrap admin's login predates pool domains; its profile changes all the same.
	if got := user("json", "update", "admin", "--full-name", "Warden Admin"); got["full_name"] != "Warden Admin" || got["username"] != "admin" {
		t.Errorf("update the admin = %v", got)
	}
	if msg := c.fail("organization-manager", "user", "update", "alice@default", "--new-username", "alice@elsewhere"); !strings.Contains(msg, "username: must end in @default") {
		t.Errorf("rename outside the pool's domain: %q", msg)
	}

	// Alice logs in with her password and may not manage Bob.
	as := newCLI(t)
	as.ok("config", "set", "endpoint", w.addr)
	if r := as.runIn("amber-walrus-42\n", "login", "--login", "alice@default", "--password-stdin"); r.code != 0 {
		t.Fatalf("alice logs in: %s", r.stderr)
	}
	if msg := as.fail("organization-manager", "user", "suspend", "bob@default"); !strings.Contains(msg, "permission denied") {
		t.Errorf("alice suspends bob: %q", msg)
	}
	if r := as.runIn("silver-otter-31\n", "organization-manager", "user", "set-password", "bob@default", "--password-stdin"); r.code == 0 || !strings.Contains(r.stderr, "permission denied") {
		t.Errorf("alice sets bob's password: %d %s", r.code, r.stderr)
	}
	if r := as.runIn("silver-otter-31\namber-walrus-42\n", "organization-manager", "user", "set-password", "--own", "--password-stdin"); r.code != 0 {
		t.Fatalf("alice sets her own password: %s", r.stderr)
	}

	// The admin suspends, reactivates, sets a generated password, deletes.
	if got := user("json", "suspend", "alice@default"); got["status"] != "SUSPENDED" {
		t.Errorf("suspend = %v", got)
	}
	if got := user("json", "reactivate", id); got["status"] != "ACTIVE" {
		t.Errorf("reactivate = %v", got)
	}
	generated := strings.TrimSpace(c.ok("organization-manager", "user", "set-password", "alice@default", "--generate"))
	if len(generated) != 20 {
		t.Fatalf("generated password %q", generated)
	}
	if r := as.runIn(generated+"\n", "login", "--login", "alice@default", "--password-stdin"); r.code != 0 {
		t.Fatalf("alice logs in with the generated password: %s", r.stderr)
	}
	if msg := c.fail("organization-manager", "user", "create", "carol@default", "--password-stdin"); !strings.Contains(msg, "password") {
		t.Errorf("create without a password: %q", msg)
	}
	r = c.runIn("sunshine\n", "organization-manager", "user", "create", "carol@default", "--password-stdin")
	if r.code == 0 || !strings.Contains(r.stderr, "password_spec.password: is one of the most common passwords") {
		t.Errorf("create with a common password: %d %s", r.code, r.stderr)
	}
	c.ok("organization-manager", "user", "delete", "alice@default")
	if msg := c.fail("organization-manager", "user", "get", id); !strings.Contains(msg, "not found") {
		t.Errorf("get a deleted user: %q", msg)
	}
}
