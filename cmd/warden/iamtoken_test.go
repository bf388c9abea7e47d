package main

import (
	"strings"
	"testing"
	"time"
)

func TestCreateToken(t *testing.T) {
	w := startServer(t)
	c := loggedIn(t, w)

	out := c.ok("iam", "create-token")
	tok := strings.TrimSpace(out)
	if !strings.HasPrefix(tok, "t1.") || out != tok+"\n" {
		t.Errorf("text output = %q, want just the IAM token", out)
	}
	// The token authenticates on its own.
	c2 := newCLI(t)
	c2.ok("config", "set", "endpoint", w.addr)
	c2.ok("--iam-token", tok, "resource-manager", "cloud", "list")

	for _, format := range []string{"json", "yaml"} {
		var m map[string]any
		decode(t, format, c.ok("iam", "create-token", "--format", format), &m)
		tok, _ := m["iam_token"].(string)
		exp, _ := m["expires_at"].(string)
		at, err := time.Parse(time.RFC3339Nano, exp)
		if !strings.HasPrefix(tok, "t1.") || err != nil || time.Until(at) < time.Hour {
			t.Errorf("%s: create-token = %v, want iam_token and a future expires_at", format, m)
		}
	}
}
