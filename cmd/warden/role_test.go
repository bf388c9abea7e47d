package main

import (
	"strings"
	"testing"
)

func TestRoles(t *testing.T) {
	w := startServer(t)
	c := loggedIn(t, w)

	rows := parseTable(t, c.ok("iam", "role", "list"))
	byID := map[string]string{}
	for _, r := range rows {
		byID[r["ID"]] = r["DESCRIPTION"]
	}
	for _, id := range []string{"admin", "editor", "viewer", "iam.serviceAccounts.user"} {
		if byID[id] == "" {
			t.Errorf("role table has no %s with a description: %v", id, rows)
		}
	}
	for _, format := range []string{"json", "yaml"} {
		var list []map[string]any
		decode(t, format, c.ok("iam", "role", "list", "--format", format), &list)
		if len(list) != len(rows) {
			t.Errorf("%s: %d roles, the table has %d", format, len(list), len(rows))
		}
	}

	for _, format := range []string{"text", "json", "yaml"} {
		var r map[string]any
		decode(t, format, c.ok("iam", "roles", "get", "viewer", "--format", format), &r)
		if r["id"] != "viewer" || r["description"] != byID["viewer"] {
			t.Errorf("%s: role = %v", format, r)
		}
	}
	if msg := c.fail("iam", "role", "get", "no-such-role"); msg != "role no-such-role not found" {
		t.Errorf("unknown role: %q", msg)
	}
	if msg := c.fail("iam", "role", "get"); !strings.Contains(msg, "accepts 1 arg") {
		t.Errorf("no role: %q", msg)
	}
}
