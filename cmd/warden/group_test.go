package main

import (
	"strings"
	"testing"
)

// TestGroupCommands: the admin manages a group through every group command,
// by name and by ID, in every format; members are named by login, service
// account name or ID; a binding to the group (--group-name) is held by its
// members, and a member with no permission cannot add themself elsewhere.
func TestGroupCommands(t *testing.T) {
	w := startServer(t)
	c := loggedIn(t, w)
	om := func(args ...string) string {
		t.Helper()
		return c.ok(append([]string{"organization-manager", "group"}, args...)...)
	}
	one := func(format string, args ...string) map[string]any {
		t.Helper()
		var m map[string]any
		decode(t, format, om(append(args, "--format", format)...), &m)
		return m
	}

	team := one("json", "create", "team-a", "--description", "Team A", "--labels", "env=dev")
	id, _ := team["id"].(string)
	if !strings.HasPrefix(id, "ajg") || team["name"] != "team-a" || team["description"] != "Team A" {
		t.Fatalf("created = %v", team)
	}
	for _, args := range [][]string{{"team-a"}, {id}, {"--id", id}, {"--name", "team-a"}} {
		if got := one("yaml", append([]string{"get"}, args...)...); got["id"] != id {
			t.Errorf("get %v = %v", args, got)
		}
	}
	rows := parseTable(t, om("list"))
	if len(rows) != 1 || rows[0]["NAME"] != "team-a" || rows[0]["LABELS"] != "env=dev" {
		t.Fatalf("list = %v", rows)
	}
	if got := one("json", "update", "team-a", "--new-name", "team-alpha"); got["name"] != "team-alpha" {
		t.Errorf("update = %v", got)
	}
	if msg := c.fail("organization-manager", "group", "get", "team-a"); !strings.Contains(msg, `group "team-a" not found`) {
		t.Errorf("get by the old name: %q", msg)
	}

	// Members by login, service account name and ID.
	if r := c.runIn("amber-walrus-42\n", "organization-manager", "user", "create", "alice@default", "--password-stdin"); r.code != 0 {
		t.Fatalf("create alice: %s", r.stderr)
	}
	c.ok("iam", "service-account", "create", "my-robot")
	om("add-members", "team-alpha", "--user-account-name", "alice@default", "--service-account-name", "my-robot")
	var members []map[string]any
	decode(t, "json", om("list-members", "team-alpha", "--format", "json"), &members)
	types := map[string]bool{}
	for _, m := range members {
		types[m["subject_type"].(string)] = true
	}
	if len(members) != 2 || !types["userAccount"] || !types["serviceAccount"] {
		t.Fatalf("members = %v", members)
	}
	if msg := c.fail("organization-manager", "group", "add-members", "team-alpha"); !strings.Contains(msg, "name the members") {
		t.Errorf("add-members without members: %q", msg)
	}
	if msg := c.fail("organization-manager", "group", "add-members", "team-alpha", "--subject-id", id); !strings.Contains(msg, "cannot be a member of a group") {
		t.Errorf("a group into a group: %q", msg)
	}

	// A binding to the group by name, held by its members.
	c.ok("resource-manager", "folder", "add-access-binding", "default", "--role", "editor", "--group-name", "team-alpha")
	if out := c.ok("resource-manager", "folder", "list-access-bindings", "default"); !strings.Contains(out, id) || !strings.Contains(out, "group") {
		t.Errorf("the group's binding is not in:\n%s", out)
	}
	as := newCLI(t)
	as.ok("config", "set", "endpoint", w.addr)
	if r := as.runIn("amber-walrus-42\n", "login", "--login", "alice@default", "--password-stdin"); r.code != 0 {
		t.Fatalf("alice logs in: %s", r.stderr)
	}
	var folder map[string]any
	decode(t, "json", c.ok("resource-manager", "folder", "get", "default", "--format", "json"), &folder)
	as.ok("iam", "service-account", "create", "alices-robot", "--folder-id", folder["id"].(string))
	other := one("json", "create", "other")
	if msg := as.fail("organization-manager", "group", "add-members", other["id"].(string), "--user-account-name", "alice@default"); !strings.Contains(msg, "permission denied") {
		t.Errorf("alice adds herself to a group: %q", msg)
	}

	// Access bindings on the group itself: who may manage it.
	c.ok("organization-manager", "group", "add-access-binding", "team-alpha", "--role", "organization-manager.groups.memberAdmin", "--user-account-name", "alice@default")
	if out := om("list-access-bindings", "team-alpha"); !strings.Contains(out, "organization-manager.groups.memberAdmin") {
		t.Errorf("bindings on the group:\n%s", out)
	}

	om("remove-members", "team-alpha", "--user-account-name", "alice@default")
	if rows := parseTable(t, om("list-members", "team-alpha")); len(rows) != 1 || rows[0]["SUBJECT TYPE"] != "serviceAccount" {
		t.Errorf("members after removing alice = %v", rows)
	}
	if msg := as.fail("iam", "service-account", "create", "too-late", "--folder-id", folder["id"].(string)); !strings.Contains(msg, "permission denied") {
		t.Errorf("alice after leaving the group: %q", msg)
	}
	r := c.run("organization-manager", "group", "delete", "team-alpha")
	if r.code != 0 || !strings.Contains(r.stderr, "deleted") {
		t.Fatalf("delete: %d %s", r.code, r.stderr)
	}
	if out := c.ok("resource-manager", "folder", "list-access-bindings", "default"); strings.Contains(out, id) {
		t.Errorf("the deleted group's binding remains:\n%s", out)
	}
}
