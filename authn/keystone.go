package authn

import (
	"context"
	"strings"

	"warden/token"
)

// CredKeystoneToken is the credential type of Keystone tokens.
const CredKeystoneToken = "keystoneToken"

// KeystoneVerifier checks a Keystone token in memory: signature, expiry,
// the revocation list and the revocation of the password behind it.
type KeystoneVerifier interface {
	VerifyKeystoneToken(ctx context.Context, tok string) (*token.Claims, error)
}

// KeystoneToken is the scheme of Keystone tokens, presented as
// "X-Auth-Token: <token>". The principal is confined to the token's scope
// (a cloud or a folder); an unscoped token authorizes nothing.
type KeystoneToken struct {
	Verifier KeystoneVerifier
}

// Credential implements Scheme.
func (KeystoneToken) Credential() string { return CredKeystoneToken }

// Find implements Scheme.
func (KeystoneToken) Find(r *Request) (string, bool) {
	if tok := r.Header.Get("x-auth-token"); tok != "" {
		return strings.TrimSpace(tok), true
	}
	return "", false
}

// Verify implements Scheme.
func (s KeystoneToken) Verify(ctx context.Context, _ *Request, tok string) (Principal, error) {
	c, err := s.Verifier.VerifyKeystoneToken(ctx, tok)
	if err != nil {
		return Principal{}, Refuse(tokenLabel(err), err.Error())
	}
	scope := c.Scope
	if scope == "" {
		scope = NoScope
	}
	return Principal{
		Subject:      Subject{Type: c.SubjectType, ID: c.SubjectID},
		CredentialID: c.TokenID, MintedBy: c.CredentialID, Scope: scope,
	}, nil
}
