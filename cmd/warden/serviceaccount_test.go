package main

import (
	"net/http"
	"strings"
	"testing"
)

func TestServiceAccountLifecycle(t *testing.T) {
	w := startServer(t)
	c := loggedIn(t, w)
	var folder map[string]any
	decode(t, "json", c.ok("resource-manager", "folder", "get", "default", "--format", "json"), &folder)
	defaultFolder := folder["id"].(string)

	for _, format := range []string{"json", "yaml", "text"} {
		t.Run(format, func(t *testing.T) {
			name := "robot-" + format
			sa := func(args ...string) map[string]any {
				t.Helper()
				var m map[string]any
				decode(t, format, c.ok(append([]string{"iam", "service-account", "--format", format}, args...)...), &m)
				return m
			}

			created := sa("create", "--name", name, "--description", "CI deployer", "--labels", "team=iam,env=prod")
			id, _ := created["id"].(string)
			if !strings.HasPrefix(id, "aje") || created["name"] != name || created["folder_id"] != defaultFolder ||
				created["description"] != "CI deployer" || created["status"] != "ACTIVE" || created["created_at"] == nil {
				t.Fatalf("created = %v", created)
			}
			if l, _ := created["labels"].(map[string]any); l["team"] != "iam" || l["env"] != "prod" {
				t.Errorf("labels = %v", created["labels"])
			}

			listed := c.ok("iam", "service-account", "list", "--format", format)
			if format == "text" {
				var row map[string]string
				for _, r := range parseTable(t, listed) {
					if r["NAME"] == name {
						row = r
					}
				}
				if row["ID"] != id || row["STATUS"] != "ACTIVE" || row["LABELS"] != "env=prod,team=iam" {
					t.Errorf("table row = %v", row)
				}
			} else {
				var list []map[string]any
				decode(t, format, listed, &list)
				if !contains(names(list), name) {
					t.Errorf("listed = %v, want %s", names(list), name)
				}
			}

			for _, args := range [][]string{{name}, {"--name", name}, {id}, {"--id", id}, {name, "--folder-id", defaultFolder}, {name, "--folder-name", "default"}} {
				if got := sa(append([]string{"get"}, args...)...); got["id"] != id {
					t.Errorf("get %v: id = %v, want %s", args, got["id"], id)
				}
			}

			updated := sa("update", name, "--new-name", name+"-2", "--labels", "")
			if updated["id"] != id || updated["name"] != name+"-2" || updated["description"] != "CI deployer" || updated["labels"] != nil {
				t.Errorf("updated = %v", updated)
			}
			name += "-2"
			if got := sa("update", "--id", id, "--description", "Deploys"); got["description"] != "Deploys" || got["name"] != name {
				t.Errorf("description update = %v", got)
			}

			if got := sa("suspend", name); got["status"] != "SUSPENDED" {
				t.Errorf("after suspend: status = %v", got["status"])
			}
			if got := sa("get", id); got["status"] != "SUSPENDED" {
				t.Errorf("get after suspend: status = %v", got["status"])
			}
			if got := sa("reactivate", name); got["status"] != "ACTIVE" {
				t.Errorf("after reactivate: status = %v", got["status"])
			}

			if out := c.ok("iam", "service-account", "delete", name, "--format", format); out != "" {
				t.Errorf("delete printed %q", out)
			}
			if msg := c.fail("iam", "service-account", "get", "--id", id); msg != "service account "+id+" not found" {
				t.Errorf("get after delete: %q", msg)
			}
		})
	}
}

func TestServiceAccountFolders(t *testing.T) {
	w := startServer(t)
	c := loggedIn(t, w)
	var f map[string]any
	decode(t, "json", c.ok("resource-manager", "folder", "create", "apps", "--format", "json"), &f)
	apps := f["id"].(string)

	var sa map[string]any
	decode(t, "json", c.ok("iam", "sa", "create", "worker", "--folder-name", "apps", "--format", "json"), &sa)
	if sa["folder_id"] != apps {
		t.Errorf("folder_id = %v, want %s", sa["folder_id"], apps)
	}
	// Names are looked up in the default folder unless told otherwise.
	if msg := c.fail("iam", "sa", "get", "worker"); !strings.HasPrefix(msg, `service account "worker" not found in folder b1f`) {
		t.Errorf("get in the default folder: %q", msg)
	}
	c.ok("config", "set", "folder-id", apps)
	c.ok("iam", "sa", "get", "worker")
	c.env["WARDEN_FOLDER_ID"] = "b1fnosuchfolder00000"
	if msg := c.fail("iam", "sa", "list"); !strings.Contains(msg, "not found") {
		t.Errorf("WARDEN_FOLDER_ID of no folder: %q", msg)
	}
	delete(c.env, "WARDEN_FOLDER_ID")
	if msg := c.fail("iam", "sa", "list", "--folder-name", "nope"); !strings.HasPrefix(msg, `folder "nope" not found in cloud b1g`) {
		t.Errorf("unknown folder name: %q", msg)
	}
}

func TestServiceAccountErrors(t *testing.T) {
	w := startServer(t)
	c := loggedIn(t, w)
	for _, tc := range []struct {
		name   string
		args   []string
		prefix string
	}{
		{"unknown name", []string{"iam", "service-account", "get", "nope"}, `service account "nope" not found in folder b1f`},
		{"unknown id", []string{"iam", "service-account", "delete", "--id", "ajenosuchaccount0000"}, "service account ajenosuchaccount0000 not found"},
		{"invalid name", []string{"iam", "service-account", "create", "--name", "Bad_Name"}, "name: must match the pattern"},
		{"missing name", []string{"iam", "service-account", "create"}, "name: "},
		{"invalid label", []string{"iam", "service-account", "create", "ok-name", "--labels", "Bad Key=v"}, "labels"},
		{"malformed labels", []string{"iam", "service-account", "create", "ok-name", "--labels", "novalue"}, `invalid argument "novalue" for "--labels" flag: label "novalue" is not key=value`},
		{"no target", []string{"iam", "service-account", "get"}, "name the service account: give its ID or name as an argument, or --id or --name"},
		{"two targets", []string{"iam", "service-account", "get", "a", "--id", "b"}, "name the service account once"},
		{"name twice", []string{"iam", "service-account", "create", "a", "--name", "b"}, "give the name as an argument or with --name, not both"},
		{"unknown command", []string{"iam", "service-account", "frobnicate"}, `unknown command "frobnicate"`},
		{"bad token", []string{"--token", "y0_bad", "iam", "service-account", "list"}, "the request is unauthenticated"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			if msg := c.fail(tc.args...); !strings.HasPrefix(msg, tc.prefix) {
				t.Errorf("error %q, want it to start with %q", msg, tc.prefix)
			}
		})
	}
}

// TestServiceAccountSetPassword: set-password from stdin and generated,
// each checked by logging in through Keystone's password method, and
// remove-password.
func TestServiceAccountSetPassword(t *testing.T) {
	w := startServer(t)
	c := loggedIn(t, w)
	var sa map[string]any
	decode(t, "json", c.ok("iam", "service-account", "create", "--name", "deployer", "--format", "json"), &sa)
	id := sa["id"].(string)
	var folder map[string]any
	decode(t, "json", c.ok("resource-manager", "folder", "get", "default", "--format", "json"), &folder)
	c.ok("resource-manager", "folder", "add-access-binding", "default", "--role", "viewer", "--service-account-name", "deployer")
	keystone := func(password string) int {
		t.Helper()
		body := `{"auth":{"identity":{"methods":["password"],"password":{"user":{"name":"deployer","domain":{"id":"` + folder["cloud_id"].(string) + `"},"password":"` + password + `"}}},"scope":{"project":{"id":"` + folder["id"].(string) + `"}}}}`
		resp, err := http.Post("http://"+w.addr+"/v3/auth/tokens", "application/json", strings.NewReader(body))
		if err != nil {
			t.Fatal(err)
		}
		resp.Body.Close()
		return resp.StatusCode
	}

	if r := c.runIn("deployer-password-1\n", "iam", "service-account", "set-password", "deployer", "--password-stdin"); r.code != 0 {
		t.Fatalf("set-password: exit %d: %s", r.code, r.stderr)
	}
	if got := keystone("deployer-password-1"); got != 201 {
		t.Errorf("Keystone login with the password set: %d", got)
	}
	generated := strings.TrimSpace(c.ok("iam", "service-account", "set-password", "--id", id, "--generate"))
	if len(generated) < 32 {
		t.Fatalf("generated password %q", generated)
	}
	if got := keystone(generated); got != 201 {
		t.Errorf("Keystone login with the generated password: %d", got)
	}
	if got := keystone("deployer-password-1"); got != 401 {
		t.Errorf("Keystone login with the replaced password: %d", got)
	}
	c.ok("iam", "service-account", "remove-password", "deployer")
	if got := keystone(generated); got != 401 {
		t.Errorf("Keystone login after remove-password: %d", got)
	}
	if msg := c.fail("iam", "service-account", "remove-password", "deployer"); !strings.Contains(msg, "no password") {
		t.Errorf("remove-password twice: %q", msg)
	}
}
