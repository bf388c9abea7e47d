package authn

import (
	"context"
	"errors"
	"testing"
	"time"

	"warden"
	"warden/token"
)

// tokenIndex is a fake index: tokens by secret.
type tokenIndex map[string]struct{ subject, id, refusal string }

func (x tokenIndex) CheckStaticToken(tok string, _ time.Time) (string, string, string) {
	e, ok := x[tok]
	if !ok {
		return "", "", "malformed"
	}
	return e.subject, e.id, e.refusal
}

func TestStaticTokenScheme(t *testing.T) {
	idx := tokenIndex{
		"user":    {"ajuuser0000000000000", "stk1", ""},
		"robot":   {"ajerobot000000000000", "stk2", ""},
		"expired": {"ajerobot000000000000", "stk3", "expired"},
		"gone":    {"ajegone0000000000000", "stk4", ""},
	}
	p, err := New(Config{
		Schemes:  []Scheme{StaticToken{Index: idx, Now: time.Now}},
		Accounts: accounts{"ajuuser0000000000000": true, "ajerobot000000000000": true},
	})
	if err != nil {
		t.Fatal(err)
	}
	tests := []struct {
		name, header, wantType, wantID, reason string
	}{
		{"user account", "user", token.SubjectUserAccount, "ajuuser0000000000000", ""},
		{"service account, spaces trimmed", "  robot ", token.SubjectServiceAccount, "ajerobot000000000000", ""},
		{"expired", "expired", "", "", "staticToken: static token stk3 refused: expired"},
		{"malformed", "nonsense", "", "", "staticToken: static token refused: malformed"},
		{"inactive account", "gone", "", "", "staticToken: the subject is suspended, expired or deleted"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got, err := p.Authenticate(context.Background(), &Request{Header: MD{"x-token": {tt.header}}})
			if tt.reason != "" {
				if !errors.Is(err, warden.ErrUnauthenticated) || err.Error() != warden.ErrUnauthenticated.Error() {
					t.Errorf("error %v is not the uniform answer", err)
				}
				if Reason(err) != tt.reason {
					t.Errorf("reason = %q, want %q", Reason(err), tt.reason)
				}
				return
			}
			if err != nil || got.Type != tt.wantType || got.ID != tt.wantID || got.Credential != CredStaticToken || got.CredentialID == "" || got.Scope != "" {
				t.Errorf("Authenticate = %+v, %v; want %s %s, unconfined", got, err, tt.wantType, tt.wantID)
			}
		})
	}
}
