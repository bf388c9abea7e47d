package e2e

import (
	"strings"
	"sync"
	"testing"
	"time"

	"warden/server"
)

// clock is a settable test clock.
type clock struct {
	mu sync.Mutex
	t  time.Time
}

func (c *clock) now() time.Time {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.t
}

func (c *clock) advance(d time.Duration) {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.t = c.t.Add(d)
}

func withClock(c *clock) func(*server.Config) {
	return func(cfg *server.Config) { cfg.Now = c.now }
}

// TestTokenRejections: every kind of bad IAM token gets the same 401 with
// the same message, whatever was wrong with it.
func TestTokenRejections(t *testing.T) {
	clk := &clock{t: time.Now()}
	n := start(t, t.TempDir(), "", withClock(clk))
	good := n.iamToken()
	folder := n.defaultFolder(good)
	path := "/iam/v1/serviceAccounts?folderId=" + folder

	revoked := n.iamToken()
	if r := n.rest("POST", "/iam/v1/tokens:revoke", "", map[string]string{"iamToken": revoked}); r.status != 200 || r.body["subjectId"] == "" {
		t.Fatalf("revoke: %d %s", r.status, r.raw)
	}
	dot := strings.LastIndexByte(good, '.')
	payload := []byte(good[:dot])
	payload[10] ^= 0x01
	if payload[10] == '.' {
		payload[10] = 'A'
	}
	tampered := string(payload) + good[dot:]
	sig := []byte(good)
	sig[len(sig)-5] = map[bool]byte{true: 'A', false: 'B'}[sig[len(sig)-5] != 'A']
	badSig := string(sig)

	tests := []struct{ name, token string }{
		{"missing", ""},
		{"garbage", "not-a-token"},
		{"oauth token used as bearer", n.adminOAuthToken()},
		{"truncated", good[:len(good)-10]},
		{"tampered payload", tampered},
		{"tampered signature", badSig},
		{"revoked", revoked},
	}
	var message string
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			r := n.rest("GET", path, tt.token, nil)
			if r.status != 401 || r.body["code"] != float64(16) {
				t.Fatalf("got %d %s, want 401", r.status, r.raw)
			}
			if message == "" {
				message = r.body["message"].(string)
			} else if r.body["message"] != message {
				t.Errorf("message %q differs from %q: it tells what was wrong", r.body["message"], message)
			}
		})
	}
	if r := n.rest("GET", path, good, nil); r.status != 200 {
		t.Fatalf("good token refused: %d %s", r.status, r.raw)
	}
	t.Run("expired", func(t *testing.T) {
		clk.advance(12*time.Hour + time.Second)
		if r := n.rest("GET", path, good, nil); r.status != 401 || r.body["message"] != message {
			t.Errorf("expired token: %d %s", r.status, r.raw)
		}
	})
	t.Run("bad oauth token", func(t *testing.T) {
		r := n.rest("POST", "/iam/v1/tokens", "", map[string]string{"yandexPassportOauthToken": "y0_wrong"})
		if r.status != 401 || r.body["message"] != message {
			t.Errorf("bad OAuth token: %d %s", r.status, r.raw)
		}
	})
}

// TestTokenResponse checks the expiry the exchange reports: at most 12 h.
func TestTokenResponse(t *testing.T) {
	n := start(t, t.TempDir(), "")
	r := n.rest("POST", "/iam/v1/tokens", "", map[string]string{"yandexPassportOauthToken": n.adminOAuthToken()})
	exp, err := time.Parse(time.RFC3339, str(r.body, "expiresAt"))
	if err != nil {
		t.Fatalf("expiresAt: %v (%s)", err, r.raw)
	}
	if d := time.Until(exp); d <= 11*time.Hour || d > 12*time.Hour {
		t.Errorf("token lifetime %s, want ≤ 12h", d)
	}
}
