package main

import (
	"os"
	"path/filepath"
	"strings"
	"testing"
)

func TestLoginWithPassword(t *testing.T) {
	w := startServer(t)
	c := newCLI(t)
	c.ok("config", "set", "endpoint", w.addr)
	c.ok("config", "set", "iam-token", "stale")

	r := c.runIn(adminPassword+"\n", "login", "--password-stdin")
	if r.code != 0 {
		t.Fatalf("login: exit %d: %s", r.code, r.stderr)
	}
	if !strings.Contains(r.stderr, `Logged in as "admin"`) {
		t.Errorf("login stderr = %q, want a confirmation", r.stderr)
	}
	if tok := strings.TrimSpace(c.ok("config", "get", "token")); !strings.HasPrefix(tok, "y0_") {
		t.Errorf("stored token = %q, want an OAuth token", tok)
	}
	// The login replaces an IAM token that would otherwise win.
	if msg := c.fail("config", "get", "iam-token"); !strings.Contains(msg, "not set") {
		t.Errorf("iam-token after login: %q", msg)
	}
	c.ok("resource-manager", "cloud", "list")

	t.Run("stdin without flag", func(t *testing.T) {
		c := newCLI(t)
		r := c.runIn(adminPassword+"\r\n", "--endpoint", w.addr, "login", "--login", "admin")
		if r.code != 0 {
			t.Fatalf("login: exit %d: %s", r.code, r.stderr)
		}
		// The endpoint given for the login is kept in the empty profile.
		if got := strings.TrimSpace(c.ok("config", "get", "endpoint")); got != w.addr {
			t.Errorf("endpoint = %q, want %q", got, w.addr)
		}
	})

	for _, tc := range []struct {
		name, stdin string
		args        []string
		want        string
	}{
		{"wrong password", "wrong\n", nil, `log in as "admin": the request is unauthenticated`},
		{"unknown user", adminPassword + "\n", []string{"--login", "nobody"}, `log in as "nobody"`},
		{"empty password", "\n", nil, "the password is empty"},
		{"no stdin", "", nil, "no password on stdin"},
		{"token file with login", "", []string{"--oauth-token-file", "x", "--login", "a"}, "does not go with"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			c := newCLI(t)
			c.ok("config", "set", "endpoint", w.addr)
			r := c.runIn(tc.stdin, append([]string{"login", "--password-stdin"}, tc.args...)...)
			if r.code != 1 || !strings.HasPrefix(r.stderr, "ERROR: ") || !strings.Contains(r.stderr, tc.want) {
				t.Errorf("exit %d, stderr %q; want exit 1 and an error containing %q", r.code, r.stderr, tc.want)
			}
			if _, err := os.Stat(c.cfgPath); err == nil && strings.Contains(c.ok("config", "list"), "token") {
				t.Errorf("a failed login stored a token")
			}
		})
	}
}

func TestLoginWithTokenFile(t *testing.T) {
	w := startServer(t)
	c := newCLI(t)
	c.ok("config", "set", "endpoint", w.addr)
	c.ok("login", "--oauth-token-file", filepath.Join(w.dataDir, "admin-oauth-token"))
	if got, want := strings.TrimSpace(c.ok("config", "get", "token")), w.adminToken(t); got != want {
		t.Errorf("stored token = %q, want the file's %q", got, want)
	}
	c.ok("iam", "service-account", "list")

	bad := filepath.Join(t.TempDir(), "bad-token")
	os.WriteFile(bad, []byte("y0_not-a-real-token\n"), 0o600)
	if msg := c.fail("login", "--oauth-token-file", bad); !strings.Contains(msg, "was not accepted") || !strings.Contains(msg, "unauthenticated") {
		t.Errorf("bad token file: %q", msg)
	}
	if msg := c.fail("login", "--oauth-token-file", filepath.Join(t.TempDir(), "missing")); !strings.Contains(msg, "no such file") {
		t.Errorf("missing token file: %q", msg)
	}
	// The good token is still there.
	if got, want := strings.TrimSpace(c.ok("config", "get", "token")), w.adminToken(t); got != want {
		t.Errorf("token after failed logins = %q, want %q", got, want)
	}
}

func TestSetPassword(t *testing.T) {
	w := startServer(t)
	c := loggedIn(t, w)
	var u map[string]any
	decode(t, "json", c.ok("iam", "user-account", "get", w.adminID, "--format", "json"), &u)
	if u["id"] != w.adminID || u["yandex_passport_user_account"].(map[string]any)["login"] != "admin" {
		t.Errorf("user-account get = %v", u)
	}

	r := c.runIn("new-password-1\n"+adminPassword+"\n", "iam", "user-account", "set-password", w.adminID, "--own", "--password-stdin")
	if r.code != 0 {
		t.Fatalf("set-password: exit %d: %s", r.code, r.stderr)
	}
	if r := c.runIn("new-password-1\n", "login", "--password-stdin"); r.code != 0 {
		t.Errorf("login with the new password: %s", r.stderr)
	}
	if r := c.runIn(adminPassword+"\n", "login", "--password-stdin"); r.code == 0 {
		t.Errorf("login with the old password succeeded")
	}
	r = c.runIn("x-password\n", "iam", "user-account", "set-password", "ajunosuchuser0000000", "--password-stdin")
	if r.code != 1 || !strings.Contains(r.stderr, "not found") {
		t.Errorf("set-password of an unknown user: exit %d, %q", r.code, r.stderr)
	}
}

func TestLogout(t *testing.T) {
	w := startServer(t)
	c := newCLI(t)
	c.ok("config", "set", "endpoint", w.addr)
	if r := c.runIn(adminPassword+"\n", "login", "--password-stdin"); r.code != 0 {
		t.Fatalf("login: %s", r.stderr)
	}
	tok := strings.TrimSpace(c.ok("config", "get", "token"))
	c.ok("iam", "service-account", "list")

	r := c.run("logout")
	if r.code != 0 || !strings.Contains(r.stderr, "Logged out") {
		t.Fatalf("logout: exit %d, %s", r.code, r.stderr)
	}
	if msg := c.fail("config", "get", "token"); !strings.Contains(msg, "not set") {
		t.Errorf("token after logout: %q", msg)
	}
	// Revoked on the server: a copy of it no longer works.
	if msg := c.fail("--token", tok, "iam", "service-account", "list"); !strings.Contains(msg, "unauthenticated") {
		t.Errorf("the revoked token still works: %q", msg)
	}
	if msg := c.fail("logout"); !strings.Contains(msg, "no OAuth token") {
		t.Errorf("second logout: %q", msg)
	}

	// A token the server no longer accepts is forgotten all the same.
	c.ok("config", "set", "token", tok)
	if r := c.run("logout"); r.code != 0 || !strings.Contains(r.stderr, "no longer accepts") {
		t.Errorf("logout with a revoked token: exit %d, %s", r.code, r.stderr)
	}
	if msg := c.fail("config", "get", "token"); !strings.Contains(msg, "not set") {
		t.Errorf("revoked token kept: %q", msg)
	}

	// An unreachable server keeps the token, to try again.
	c.ok("config", "set", "token", w.adminToken(t))
	c.ok("config", "set", "endpoint", "127.0.0.1:1")
	if msg := c.fail("logout"); !strings.Contains(msg, "kept in the profile") {
		t.Errorf("logout without a server: %q", msg)
	}
	if got := strings.TrimSpace(c.ok("config", "get", "token")); got != w.adminToken(t) {
		t.Errorf("token after a failed logout = %q", got)
	}
}
