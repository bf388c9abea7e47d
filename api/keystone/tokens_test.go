package keystone

import (
	"testing"

	"warden"
	"warden/service"
)

var authSeeds = []string{
	`{"auth":{"identity":{"methods":["password"],"password":{"user":{"name":"robot","domain":{"name":"default"},"password":"x"}}},"scope":{"project":{"name":"default","domain":{"name":"default"}}}}}`,
	`{"auth":{"identity":{"methods":["password"],"password":{"user":{"id":"aje1","password":"x"}}},"scope":{"domain":{"id":"b1g1"}}}}`,
	`{"auth":{"identity":{"methods":["token"],"token":{"id":"k1.x.y"}},"scope":"unscoped"}}`,
	`{"auth":{"identity":{"methods":["password"],"password":{"user":{"id":"aje1","password":"x"}}},"scope":{"system":{"all":true}}}}`,
	`{"auth":{"identity":{"methods":["password"],"password":{"user":{"name":"robot","password":"x"}}}}}`,
	`{"auth":{"identity":{"methods":["totp"]}}}`,
	`{"auth":{"identity":{"methods":["password"],"password":{"user":{"id":"aje1","password":"x"}}},"scope":{"project":{"id":"b1f"},"domain":{"id":"b1g"}}}}`,
	`{"auth":{}}`, `[]`, `null`, `{"auth":{"identity":{"methods":"password"}}}`,
}

// TestParseAuth: well-formed requests parse into what they say; the rest
// are InvalidArgument naming a field.
func TestParseAuth(t *testing.T) {
	want := []string{"ok", "ok", "ok", "ok", "auth.identity.password.user.domain", "ok", "auth.scope", "auth.identity", "invalid JSON", "auth.identity", "invalid JSON"}
	for i, body := range authSeeds {
		req, err := parseAuth([]byte(body), "192.0.2.1:1")
		switch {
		case want[i] == "ok" && err != nil:
			t.Errorf("%s: %v", body, err)
		case want[i] != "ok" && (!warden.IsCode(err, warden.InvalidArgument) || !contains(warden.ErrorMessage(err), want[i])):
			t.Errorf("%s: %v, want InvalidArgument about %s", body, err, want[i])
		}
		if i == 0 && (req.User.Name != "robot" || req.User.Domain.Name != "default" || req.Project.Name != "default" || req.Project.Domain.Name != "default") {
			t.Errorf("parsed %+v", req)
		}
		if i == 3 && !req.System {
			t.Error("system scope not seen")
		}
	}
}

func contains(s, sub string) bool {
	for i := 0; i+len(sub) <= len(s); i++ {
		if s[i:i+len(sub)] == sub {
			return true
		}
	}
	return false
}

// FuzzParseAuth: parseAuth never panics, refuses only with
// InvalidArgument, and what it accepts names a user (for the password
// method) or a token (for the token method), and at most one scope.
func FuzzParseAuth(f *testing.F) {
	for _, s := range authSeeds {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, body string) {
		req, err := parseAuth([]byte(body), "")
		if err != nil {
			if !warden.IsCode(err, warden.InvalidArgument) {
				t.Fatalf("%q: %v is not InvalidArgument", body, err)
			}
			return
		}
		if len(req.Methods) == 0 {
			t.Fatalf("%q: accepted without methods", body)
		}
		for _, m := range req.Methods {
			switch m {
			case service.KeystoneMethodPassword:
				if req.User.ID == "" && (req.User.Name == "" || req.User.Domain == nil) {
					t.Fatalf("%q: password method without a user", body)
				}
			case service.KeystoneMethodToken:
				if req.Token == "" {
					t.Fatalf("%q: token method without a token", body)
				}
			}
		}
		if req.Project != nil && req.Domain != nil {
			t.Fatalf("%q: two scopes accepted", body)
		}
	})
}
