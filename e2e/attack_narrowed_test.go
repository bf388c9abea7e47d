package e2e

import (
	"strings"
	"testing"
)

// TestAttackRestrictedAPIKeyMintsUnrestricted: an API key fenced to an
// address range is used, from inside that range, to mint credentials of
// its own account that carry no fence — a static token, an ephemeral
// access key. Before the fix the escalation guard looked only
// at resources (the account covers itself), so each was minted; now a
// narrowed credential mints nothing, and the same calls with an IAM token
// of the account still work.
func TestAttackRestrictedAPIKeyMintsUnrestricted(t *testing.T) {
	n := start(t, t.TempDir(), "")
	w := newWorld(t, n)
	create := n.rest("POST", "/api/v1/service-accounts/credentials/api-keys", w.admin, map[string]any{
		"name": "fenced", "serviceAccountId": w.robot,
		"restrictions": map[string]any{"ipAddresses": map[string]any{"ipAddresses": []string{"127.0.0.0/8"}}},
	})
	if create.status != 200 {
		t.Fatalf("create the fenced key: %d %s", create.status, redact(create.raw))
	}
	apiKey := "Api-Key " + str(create.body, "secret")

	// The key works on Warden's API from inside its range.
	if r := n.rest("GET", "/warden/v1/staticTokens?subjectId="+w.robot, apiKey, nil); r.status != 200 {
		t.Fatalf("the fenced key on Warden's API: %d %s", r.status, r.raw)
	}
	mints := []struct {
		name, method, path string
		body               any
	}{
		{"static token", "POST", "/warden/v1/staticTokens", map[string]any{"subjectId": w.robot, "description": "escape"}},
		{"ephemeral access key", "POST", "/iam/aws-compatibility/v1/ephemeralAccessKeys", map[string]any{"sessionName": "escape"}},
	}
	for _, m := range mints {
		r := n.rest(m.method, m.path, apiKey, m.body)
		if r.status != 403 || !strings.Contains(str(r.body, "message"), "API key cannot mint") {
			t.Errorf("%s minted through the fenced API key: %d %s, want 403", m.name, r.status, redact(r.raw))
		}
	}
	// The account's own IAM token is not narrowed: it may.
	if r := n.rest("POST", "/warden/v1/staticTokens", w.robotToken, map[string]any{"subjectId": w.robot, "description": "fine"}); r.status != 200 {
		t.Errorf("a static token through the account's IAM token: %d %s, want 200", r.status, redact(r.raw))
	}
}
