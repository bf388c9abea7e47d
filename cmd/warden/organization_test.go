package main

import (
	"testing"
)

func TestOrganizations(t *testing.T) {
	w := startServer(t)
	c := loggedIn(t, w)

	rows := parseTable(t, c.ok("organization-manager", "organization", "list"))
	if len(rows) != 1 || rows[0]["NAME"] != "default" || rows[0]["TITLE"] != "Default organization" {
		t.Fatalf("organization table = %v, want the default organization", rows)
	}
	id := rows[0]["ID"]
	var clouds []map[string]any
	decode(t, "json", c.ok("resource-manager", "cloud", "list", "--format", "json"), &clouds)
	if clouds[0]["organization_id"] != id {
		t.Errorf("cloud's organization = %v, listed organization %s", clouds[0]["organization_id"], id)
	}
	for _, format := range []string{"json", "yaml"} {
		var list []map[string]any
		decode(t, format, c.ok("organization-manager", "organization", "list", "--format", format), &list)
		if len(list) != 1 || list[0]["id"] != id {
			t.Errorf("%s: organizations = %v", format, list)
		}
	}

	for _, args := range [][]string{{"default"}, {id}, {"--id", id}, {"--name", "default"}} {
		for _, format := range []string{"text", "json"} {
			var o map[string]any
			decode(t, format, c.ok(append([]string{"organizationmanager", "org", "get", "--format", format}, args...)...), &o)
			if o["id"] != id || o["name"] != "default" || o["title"] != "Default organization" {
				t.Errorf("get %v (%s) = %v", args, format, o)
			}
		}
	}
	if msg := c.fail("organization-manager", "organization", "get", "nope"); msg != `organization "nope" not found` {
		t.Errorf("unknown organization: %q", msg)
	}
}
