package authn

import (
	"context"
	"strings"
	"time"

	"warden"
	"warden/token"
)

// CredStaticToken is the credential type of static tokens.
const CredStaticToken = "staticToken"

// StaticTokenIndex checks static tokens in memory.
type StaticTokenIndex interface {
	// CheckStaticToken returns the subject and ID of the token tok at now,
	// or a refusal label ("" when accepted). subjectID is set only for a
	// genuine token (its secret matched); tokenID whenever tok names one.
	CheckStaticToken(tok string, now time.Time) (subjectID, tokenID, refusal string)
}

// StaticToken is the scheme of static tokens, presented as
// "X-Token: <secret>" (Selectel's control-panel tokens). The principal is
// the token's account with all its permissions: the token is not confined.
type StaticToken struct {
	Index StaticTokenIndex
	Now   func() time.Time
}

// Credential implements Scheme.
func (StaticToken) Credential() string { return CredStaticToken }

// Find implements Scheme.
func (StaticToken) Find(r *Request) (string, bool) {
	if tok := r.Header.Get("x-token"); tok != "" {
		return strings.TrimSpace(tok), true
	}
	return "", false
}

// Verify implements Scheme.
func (s StaticToken) Verify(_ context.Context, _ *Request, tok string) (Principal, error) {
	sub, id, refusal := s.Index.CheckStaticToken(tok, s.Now())
	if refusal != "" {
		detail := "static token refused: " + refusal
		if id != "" {
			detail = "static token " + id + " refused: " + refusal
		}
		return Principal{}, Refuse(refusal, detail)
	}
	return Principal{Subject: Subject{Type: subjectType(sub), ID: sub}, CredentialID: id}, nil
}

// subjectType tells an account's type from its ID's prefix.
func subjectType(id string) string {
	if strings.HasPrefix(id, warden.PrefixUserAccount) {
		return token.SubjectUserAccount
	}
	return token.SubjectServiceAccount
}
