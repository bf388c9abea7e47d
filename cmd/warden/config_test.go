package main

import (
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/google/go-cmp/cmp"
)

func TestConfigSetGet(t *testing.T) {
	c := newCLI(t)
	if msg := c.fail("config", "get", "endpoint"); msg != `endpoint is not set in profile "default"` {
		t.Errorf("get of an unset key: %q", msg)
	}
	const token = "y0_abcdefghijklmnopqrstuvwxyz"
	c.ok("config", "set", "endpoint", "127.0.0.1:9999")
	c.ok("config", "set", "token", token)
	c.ok("config", "set", "folder-id", "b1fexample0000000000")
	c.ok("config", "set", "cloud-id", "b1gexample0000000000")
	c.ok("config", "set", "tls", "true")

	for key, want := range map[string]string{
		"endpoint": "127.0.0.1:9999", "token": token, "folder-id": "b1fexample0000000000",
		"cloud-id": "b1gexample0000000000", "tls": "true",
	} {
		if got := strings.TrimSpace(c.ok("config", "get", key)); got != want {
			t.Errorf("config get %s = %q, want %q", key, got, want)
		}
	}
	want := "endpoint: 127.0.0.1:9999\ntls: true\ntoken: y0_abcde****\ncloud-id: b1gexample0000000000\nfolder-id: b1fexample0000000000\n"
	if diff := cmp.Diff(want, c.ok("config", "list")); diff != "" {
		t.Errorf("config list (-want +got):\n%s", diff)
	}
	var asJSON map[string]string
	decode(t, "json", c.ok("config", "list", "--format", "json"), &asJSON)
	if diff := cmp.Diff(map[string]string{"endpoint": "127.0.0.1:9999", "tls": "true", "token": "y0_abcde****", "cloud-id": "b1gexample0000000000", "folder-id": "b1fexample0000000000"}, asJSON); diff != "" {
		t.Errorf("config list --format json (-want +got):\n%s", diff)
	}
	var profiles []map[string]any
	decode(t, "yaml", c.ok("config", "profile", "list", "--format", "yaml"), &profiles)
	if diff := cmp.Diff([]map[string]any{{"name": "default", "active": true}}, profiles); diff != "" {
		t.Errorf("config profile list --format yaml (-want +got):\n%s", diff)
	}
	c.ok("config", "unset", "tls")
	c.ok("config", "unset", "folder-id")
	if strings.Contains(c.ok("config", "list"), "folder-id") {
		t.Errorf("folder-id still listed after unset")
	}

	fi, err := os.Stat(c.cfgPath)
	if err != nil {
		t.Fatal(err)
	}
	if fi.Mode().Perm() != 0o600 {
		t.Errorf("config file mode = %v, want 0600: it holds tokens", fi.Mode().Perm())
	}

	for _, tc := range []struct {
		args []string
		want string
	}{
		{[]string{"config", "set", "colour", "blue"}, `unknown config key "colour": known keys are endpoint, tls, token, iam-token, service-account-key, cloud-id, folder-id`},
		{[]string{"config", "set", "tls", "maybe"}, `tls must be true or false, not "maybe"`},
		{[]string{"config", "get"}, "accepts 1 arg(s), received 0"},
	} {
		if got := c.fail(tc.args...); got != tc.want {
			t.Errorf("warden %s: %q, want %q", strings.Join(tc.args, " "), got, tc.want)
		}
	}
}

func TestConfigPathFromEnvironment(t *testing.T) {
	for _, tc := range []struct {
		name string
		env  func(dir string) map[string]string
		want string
	}{
		{"XDG_CONFIG_HOME", func(dir string) map[string]string {
			return map[string]string{"XDG_CONFIG_HOME": dir, "HOME": "/nonexistent"}
		}, "warden/config.yaml"},
		{"HOME", func(dir string) map[string]string { return map[string]string{"HOME": dir} }, ".config/warden/config.yaml"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			dir := t.TempDir()
			c := &cli{t: t, env: tc.env(dir)}
			c.ok("config", "set", "endpoint", "example:1")
			if _, err := os.Stat(filepath.Join(dir, tc.want)); err != nil {
				t.Errorf("config not written to %s: %v", tc.want, err)
			}
		})
	}
	c := &cli{t: t, env: map[string]string{}}
	if msg := c.fail("config", "list"); !strings.Contains(msg, "cannot locate the config file") {
		t.Errorf("no HOME: %q", msg)
	}
}

func TestConfigProfiles(t *testing.T) {
	c := newCLI(t)
	if got := c.ok("config", "profile", "list"); got != "default ACTIVE\n" {
		t.Errorf("profiles of a fresh config = %q", got)
	}
	c.ok("config", "set", "endpoint", "default.example:1")
	c.ok("config", "profile", "create", "staging")
	if got := c.ok("config", "profile", "list"); got != "default\nstaging ACTIVE\n" {
		t.Errorf("profile list = %q", got)
	}
	// The new profile is active and empty.
	if msg := c.fail("config", "get", "endpoint"); msg != `endpoint is not set in profile "staging"` {
		t.Errorf("get in the new profile: %q", msg)
	}
	c.ok("config", "set", "endpoint", "staging.example:1")
	if got := strings.TrimSpace(c.ok("--profile", "default", "config", "get", "endpoint")); got != "default.example:1" {
		t.Errorf("--profile default: endpoint = %q", got)
	}
	c.env["WARDEN_PROFILE"] = "default"
	if got := strings.TrimSpace(c.ok("config", "get", "endpoint")); got != "default.example:1" {
		t.Errorf("WARDEN_PROFILE=default: endpoint = %q", got)
	}
	delete(c.env, "WARDEN_PROFILE")

	for _, tc := range []struct {
		args []string
		want string
	}{
		{[]string{"config", "profile", "create", "staging"}, `profile "staging" already exists`},
		{[]string{"config", "profile", "create", "bad name"}, `invalid profile name "bad name": use letters, digits, '.', '_' and '-'`},
		{[]string{"config", "profile", "delete", "staging"}, `profile "staging" is active: activate another one before deleting it`},
		{[]string{"config", "profile", "activate", "prod"}, `profile "prod" does not exist`},
		{[]string{"--profile", "prod", "config", "list"}, "profile \"prod\" does not exist: create it with `warden config profile create prod`"},
	} {
		if got := c.fail(tc.args...); got != tc.want {
			t.Errorf("warden %s: %q, want %q", strings.Join(tc.args, " "), got, tc.want)
		}
	}

	c.ok("config", "profile", "activate", "default")
	c.ok("config", "profile", "delete", "staging")
	if got := c.ok("config", "profile", "list"); got != "default ACTIVE\n" {
		t.Errorf("profile list after delete = %q", got)
	}
	if got := strings.TrimSpace(c.ok("config", "get", "endpoint")); got != "default.example:1" {
		t.Errorf("endpoint = %q", got)
	}
}

// A given IAM token is printed back without asking the server, which shows
// which credential wins: flags, then the environment, then the profile.
func TestCredentialPrecedence(t *testing.T) {
	c := newCLI(t)
	c.ok("config", "set", "endpoint", "127.0.0.1:1") // nothing listens: only given IAM tokens work
	c.ok("config", "set", "iam-token", "from-profile")
	for _, tc := range []struct {
		name string
		env  map[string]string
		args []string
		want string
	}{
		{"profile", nil, nil, "from-profile"},
		{"env", map[string]string{"WARDEN_IAM_TOKEN": "from-env"}, nil, "from-env"},
		{"flag", map[string]string{"WARDEN_IAM_TOKEN": "from-env"}, []string{"--iam-token", "from-flag"}, "from-flag"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			for k, v := range tc.env {
				c.env[k] = v
				defer delete(c.env, k)
			}
			if got := strings.TrimSpace(c.ok(append(tc.args, "iam", "create-token")...)); got != tc.want {
				t.Errorf("token = %q, want %q", got, tc.want)
			}
		})
	}
	c.ok("config", "unset", "iam-token")
	if msg := c.fail("iam", "create-token"); !strings.HasPrefix(msg, "not logged in") {
		t.Errorf("without credentials: %q", msg)
	}
	// An OAuth token must be exchanged, so the unreachable endpoint shows.
	if msg := c.fail("--token", "y0_x", "iam", "create-token"); !strings.HasPrefix(msg, "cannot reach Warden at 127.0.0.1:1") {
		t.Errorf("unreachable endpoint: %q", msg)
	}
	if msg := c.fail("--format", "xml", "config", "list"); msg != `--format must be text, json or yaml, not "xml"` {
		t.Errorf("bad format: %q", msg)
	}
}
