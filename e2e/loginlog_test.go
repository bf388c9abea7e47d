package e2e

import (
	"strings"
	"testing"
)

// TestAttackLoginLogLeak replays issue 9 (j): a failed login logged the raw
// login field, so a password pasted into it landed in the log, 60 KB of it
// per request. The request's log line now gives a bounded form that does
// not contain it.
func TestAttackLoginLogLeak(t *testing.T) {
	n := start(t, t.TempDir(), "")
	pasted := "S3cret-Passw0rd!" + strings.Repeat("#", 60_000)
	for _, login := range []string{pasted, "S3cret-Passw0rd!", "hunter2hunter2"} {
		r := n.rest("POST", "/warden/v1/login", "", map[string]string{"login": login, "password": "whatever"})
		if r.status != 401 {
			t.Fatalf("login %.20q: %d %s", login, r.status, r.raw)
		}
	}
	logs := n.logs.String()
	for _, secret := range []string{"S3cret-Passw0rd", "hunter2hunter2", "####"} {
		if strings.Contains(logs, secret) {
			t.Errorf("the log contains %q", secret)
		}
	}
	failed := 0
	for _, line := range strings.Split(logs, "\n") {
		if !strings.Contains(line, "SessionService/Login") {
			continue
		}
		failed++
		if len(line) > 1024 {
			t.Errorf("a login failure logged %d bytes: %.200s…", len(line), line)
		}
		if !strings.Contains(line, "withheld: ") || !strings.Contains(line, "Unauthenticated") {
			t.Errorf("the line does not say what was tried and refused: %s", line)
		}
	}
	if failed != 3 {
		t.Errorf("%d login failures logged, want 3", failed)
	}

	// A known account's name is no secret: its failures name it.
	n.rest("POST", "/warden/v1/login", "", map[string]string{"login": "admin", "password": "wrong-password"})
	if !strings.Contains(n.logs.String(), "login admin: ") {
		t.Errorf("the failure of a known login does not name it")
	}
}
