package authn

import (
	"context"
	"strings"

	"warden/token"
)

// CredIAMToken is the credential type of IAM tokens.
const CredIAMToken = "iamToken"

// TokenVerifier checks an IAM token in memory: signature, expiry, the
// revocation list and the revocation of the credential that minted it.
type TokenVerifier interface {
	VerifyToken(ctx context.Context, tok string) (*token.Claims, error)
}

// IAMToken is the scheme of IAM tokens, presented as
// "Authorization: Bearer <token>" or "X-YaCloud-SubjectToken: <token>".
type IAMToken struct {
	Verifier TokenVerifier
}

// Credential implements Scheme.
func (IAMToken) Credential() string { return CredIAMToken }

// Find implements Scheme.
func (IAMToken) Find(r *Request) (string, bool) {
	if tok, ok := authorization(r, "Bearer"); ok {
		return tok, true
	}
	if tok := r.Header.Get("x-yacloud-subjecttoken"); tok != "" {
		return strings.TrimSpace(tok), true
	}
	return "", false
}

// Verify implements Scheme.
func (s IAMToken) Verify(ctx context.Context, _ *Request, tok string) (Principal, error) {
	c, err := s.Verifier.VerifyToken(ctx, tok)
	if err != nil {
		return Principal{}, Refuse(tokenLabel(err), err.Error())
	}
	return Principal{
		Subject:      Subject{Type: c.SubjectType, ID: c.SubjectID},
		CredentialID: c.TokenID, MintedBy: c.CredentialID,
	}, nil
}

func tokenLabel(err error) string {
	switch err {
	case token.ErrMalformed:
		return "malformed"
	case token.ErrSignature:
		return "bad_signature"
	case token.ErrUnknownKey:
		return "unknown_key"
	case token.ErrExpired:
		return "expired"
	case token.ErrRevoked:
		return "revoked"
	}
	return "invalid"
}
