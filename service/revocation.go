package service

import (
	"context"
	"strings"
	"time"

	"warden"
	"warden/token"
)

// credentialRevocation prefixes the entries of the revocation list that
// revoke every token minted through a credential rather than one token:
// both travel through the same table and the same refresh to every node.
const credentialRevocation = "credential:"

// subjectRevocation prefixes the entries that revoke every token of a
// subject issued until the entry was written (revoked_at, by the
// database's clock): "subject:<subject ID>@<unix nanoseconds>", one entry
// per revocation, so that a second one is recorded rather than taken for
// the first.
const subjectRevocation = "subject:"

// deleteCredential deletes a stored credential in tx and revokes every IAM
// token minted through it (an authorized key's JWT exchanges, an OAuth
// token's exchanges, tokens created on behalf of an API key's holder). Call
// revokedHere with its ID once tx has committed.
func (s *Service) deleteCredential(ctx context.Context, tx warden.Tx, c *warden.Credential) error {
	if err := tx.DeleteCredential(ctx, c.ID); err != nil {
		return err
	}
	now := s.now()
	return tx.RevokeToken(ctx, warden.RevokedToken{
		TokenID: credentialRevocation + c.ID, SubjectID: c.SubjectID, RevokedAt: now, ExpiresAt: now.Add(s.longestToken()),
	})
}

// revokedHere enforces the revocation of deleted credentials' tokens on this
// node at once; the others read it within the refresh interval.
func (s *Service) revokedHere(ids ...string) {
	m := make(map[string]time.Time, len(ids))
	for _, id := range ids {
		m[id] = s.now().Add(s.longestToken())
	}
	s.verifier.RevokeCredentials(m)
}

// longestToken is how long a token minted through a credential may still
// be valid after the credential is gone: the longer of the IAM and the
// Keystone token lifetimes (a Keystone token outlives an IAM token).
func (s *Service) longestToken() time.Duration { return max(token.MaxLifetime, s.keystoneLifetime) }

// applyRevocations splits revocation-list entries into tokens and
// credentials and hands them to the verifier.
func (s *Service) applyRevocations(revoked []warden.RevokedToken) {
	tokens := make(map[string]time.Time, len(revoked))
	creds := map[string]time.Time{}
	subjects := map[string]time.Time{}
	for _, r := range revoked {
		if strings.HasPrefix(r.TokenID, subjectRevocation) {
			if r.RevokedAt.After(subjects[r.SubjectID]) {
				subjects[r.SubjectID] = r.RevokedAt
			}
			continue
		}
		if id, ok := strings.CutPrefix(r.TokenID, credentialRevocation); ok {
			if !s.verifier.IsCredentialRevoked(id) {
				creds[id] = r.ExpiresAt
			}
			continue
		}
		if !s.verifier.IsRevoked(r.TokenID) {
			tokens[r.TokenID] = r.ExpiresAt
		}
	}
	s.verifier.Revoke(tokens)
	s.verifier.RevokeCredentials(creds)
	s.verifier.RevokeSubjects(subjects)
}
