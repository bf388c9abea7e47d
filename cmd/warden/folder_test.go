package main

import (
	"strings"
	"testing"
)

// names returns the "name" field of each decoded resource.
func names(items []map[string]any) []string {
	var out []string
	for _, it := range items {
		out = append(out, it["name"].(string))
	}
	return out
}

func contains(list []string, s string) bool {
	for _, v := range list {
		if v == s {
			return true
		}
	}
	return false
}

func TestFolders(t *testing.T) {
	w := startServer(t)
	c := loggedIn(t, w)

	var clouds []map[string]any
	decode(t, "json", c.ok("resource-manager", "cloud", "list", "--format", "json"), &clouds)
	if len(clouds) != 1 || clouds[0]["name"] != "default" {
		t.Fatalf("clouds = %v, want the default cloud", clouds)
	}
	cloudID := clouds[0]["id"].(string)

	var f map[string]any
	decode(t, "json", c.ok("resource-manager", "folder", "create", "--name", "team-folder", "--description", "Team", "--labels", "env=dev,team=iam", "--format", "json"), &f)
	id, _ := f["id"].(string)
	if !strings.HasPrefix(id, "b1f") || f["name"] != "team-folder" || f["cloud_id"] != cloudID || f["description"] != "Team" || f["status"] != "ACTIVE" {
		t.Errorf("created folder = %v", f)
	}
	if l, _ := f["labels"].(map[string]any); l["env"] != "dev" || l["team"] != "iam" {
		t.Errorf("labels = %v", f["labels"])
	}

	t.Run("list", func(t *testing.T) {
		for _, format := range []string{"json", "yaml"} {
			var list []map[string]any
			decode(t, format, c.ok("resource-manager", "folder", "list", "--format", format), &list)
			if got := names(list); !contains(got, "default") || !contains(got, "team-folder") {
				t.Errorf("%s: folders = %v", format, got)
			}
		}
		rows := parseTable(t, c.ok("resource-manager", "folder", "list"))
		found := false
		for _, r := range rows {
			if r["NAME"] == "team-folder" {
				found = r["ID"] == id && r["LABELS"] == "env=dev,team=iam" && r["STATUS"] == "ACTIVE"
			}
		}
		if !found {
			t.Errorf("table rows = %v, want team-folder with its id, labels and status", rows)
		}
	})

	t.Run("get", func(t *testing.T) {
		for _, args := range [][]string{{"team-folder"}, {id}, {"--id", id}, {"--name", "team-folder"}, {"team-folder", "--cloud-id", cloudID}, {"team-folder", "--cloud-name", "default"}} {
			for _, format := range []string{"text", "yaml", "json"} {
				var got map[string]any
				decode(t, format, c.ok(append([]string{"resource-manager", "folder", "get", "--format", format}, args...)...), &got)
				if got["id"] != id {
					t.Errorf("folder get %v (%s): id = %v, want %s", args, format, got["id"], id)
				}
			}
		}
	})

	var u map[string]any
	decode(t, "yaml", c.ok("resource-manager", "folder", "update", "team-folder", "--new-name", "renamed", "--labels", "", "--format", "yaml"), &u)
	if u["id"] != id || u["name"] != "renamed" || u["description"] != "Team" || u["labels"] != nil {
		t.Errorf("updated folder = %v", u)
	}
	if msg := c.fail("resource-manager", "folder", "get", "team-folder"); msg != `folder "team-folder" not found in cloud `+cloudID {
		t.Errorf("get by old name: %q", msg)
	}
	if msg := c.fail("resource-manager", "folder", "update", "renamed"); !strings.HasPrefix(msg, "nothing to update") {
		t.Errorf("empty update: %q", msg)
	}

	if out := c.ok("resource-manager", "folder", "delete", "renamed"); out != "" {
		t.Errorf("delete printed %q", out)
	}
	var list []map[string]any
	decode(t, "json", c.ok("resource-manager", "folder", "list", "--format", "json"), &list)
	if contains(names(list), "renamed") {
		t.Errorf("deleted folder still listed")
	}
}

func TestCloudSelection(t *testing.T) {
	w := startServer(t)
	c := loggedIn(t, w)
	var second map[string]any
	decode(t, "text", c.ok("resource-manager", "cloud", "create", "second", "--description", "Second"), &second)
	if second["name"] != "second" || second["description"] != "Second" {
		t.Fatalf("created cloud = %v", second)
	}
	rows := parseTable(t, c.ok("resource-manager", "cloud", "list"))
	if len(rows) != 2 {
		t.Errorf("cloud table rows = %v, want two", rows)
	}

	// With two clouds visible, a folder command must be told which.
	if msg := c.fail("resource-manager", "folder", "list"); !strings.Contains(msg, "several clouds") {
		t.Errorf("ambiguous cloud: %q", msg)
	}
	c.ok("resource-manager", "folder", "create", "in-second", "--cloud-name", "second")
	c.ok("config", "set", "cloud-id", second["id"].(string))
	var list []map[string]any
	decode(t, "json", c.ok("resource-manager", "folder", "list", "--format", "json"), &list)
	if got := names(list); len(got) != 1 || got[0] != "in-second" {
		t.Errorf("folders of the configured cloud = %v", got)
	}
	if msg := c.fail("resource-manager", "folder", "list", "--cloud-name", "nope"); msg != `cloud "nope" not found` {
		t.Errorf("unknown cloud: %q", msg)
	}
	if msg := c.fail("resource-manager", "folder", "list", "--cloud-name", "a", "--cloud-id", "b"); msg != "give --cloud-id or --cloud-name, not both" {
		t.Errorf("both cloud flags: %q", msg)
	}

	var upd map[string]any
	decode(t, "json", c.ok("resource-manager", "cloud", "update", "second", "--description", "", "--format", "json"), &upd)
	if upd["name"] != "second" || upd["description"] != nil {
		t.Errorf("updated cloud = %v", upd)
	}
	c.ok("resource-manager", "folder", "delete", "in-second")
	c.ok("resource-manager", "cloud", "delete", "second")
	if msg := c.fail("resource-manager", "cloud", "get", "second"); msg != `cloud "second" not found` {
		t.Errorf("deleted cloud: %q", msg)
	}
}
