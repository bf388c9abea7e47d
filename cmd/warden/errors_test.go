package main

import (
	"regexp"
	"strings"
	"testing"
)

// An error from the server shows its request id; a refused credential
// comes with a hint naming where the credential came from and what to do.
func TestErrorsShowRequestIDAndHint(t *testing.T) {
	w := startServer(t)
	c := loggedIn(t, w)
	// Errors that are not about credentials have no hint.
	if r := c.run("iam", "service-account", "get", "no-such-robot"); r.code == 0 || strings.Contains(r.stderr, "HINT:") {
		t.Errorf("get of a missing account: exit %d, stderr %q, want an error without a hint", r.code, r.stderr)
	}

	tok := strings.TrimSpace(c.ok("config", "get", "token"))
	c.ok("logout")
	c.ok("config", "set", "token", tok) // a stale token, revoked on the server

	args := []string{"iam", "service-account", "list"}
	r := c.run(args...)
	if r.code == 0 {
		t.Fatalf("a revoked token worked")
	}
	if !regexp.MustCompile(`^ERROR: .* \(request id [0-9a-f]+\)\n`).MatchString(r.stderr) {
		t.Errorf("stderr %q, want the request id on the error line", r.stderr)
	}
	_, hint := failure(t, args, r.stderr)
	if want := `the OAuth token from profile "default" was refused`; !strings.Contains(hint, want) || !strings.Contains(hint, "warden login") {
		t.Errorf("hint %q, want it to say %q and to suggest warden login", hint, want)
	}
}

func TestDebugFlag(t *testing.T) {
	w := startServer(t)
	c := loggedIn(t, w)
	r := c.run("--debug", "iam", "service-account", "list")
	if r.code != 0 {
		t.Fatalf("exit %d: %s", r.code, r.stderr)
	}
	if !strings.Contains(r.stderr, "DEBUG: grpc /yandex.cloud.iam.v1.ServiceAccountService/List") {
		t.Errorf("stderr %q, want a DEBUG line for the list call", r.stderr)
	}
	tok := strings.TrimSpace(c.ok("config", "get", "token"))
	if strings.Contains(r.stderr, tok) {
		t.Errorf("--debug output shows the OAuth token")
	}
}

func TestVersionAndCompletion(t *testing.T) {
	c := newCLI(t)
	if out := c.ok("version"); !strings.HasPrefix(out, "warden ") || !strings.Contains(out, "go1.") {
		t.Errorf("version: %q", out)
	}
	var v map[string]string
	decode(t, "json", c.ok("version", "--format", "json"), &v)
	if v["version"] == "" || v["go"] == "" {
		t.Errorf("version --format json: %v", v)
	}
	for _, shell := range []string{"bash", "zsh", "fish", "powershell"} {
		if out := c.ok("completion", shell); !strings.Contains(out, "warden") {
			t.Errorf("completion %s printed no script", shell)
		}
	}
}
