package service

import (
	"context"
	"strconv"
	"time"

	"warden"
)

// Permissions that revoke every token of another account; an account needs
// none to revoke its own.
const (
	permServiceAccountTokensRevoke = "iam.serviceAccounts.tokens.revoke"
	permUserAccountTokensRevoke    = "iam.userAccounts.tokens.revoke"
)

// RevokeSubjectTokens revokes every self-verifying token of an account
// issued until now: its Keystone tokens (whatever their scope, rescoped
// ones included), its IAM tokens and the session tokens of its ephemeral
// access keys. Stored credentials (passwords, keys,
// static tokens) stay: the account may get new tokens at once, though one
// issued within the same second is refused too, as tokens carry their
// issue time in whole seconds. Enforced on this wardend when it returns
// and on the others within the refresh interval. The revocation's time is
// the database's clock, and tokens carry the clock of the wardend that
// issued them, so nodes' clocks must agree (NTP) for the cut to be exact.
//
// An account revokes its own tokens; another's needs
// iam.serviceAccounts.tokens.revoke or iam.userAccounts.tokens.revoke on
// it. typ is warden.TypeServiceAccount or warden.TypeUserAccount, as the
// route names it.
func (s *Service) RevokeSubjectTokens(ctx context.Context, typ warden.ResourceType, id string) error {
	perm := permServiceAccountTokensRevoke
	if typ == warden.TypeUserAccount {
		perm = permUserAccountTokensRevoke
	}
	if id != SubjectFrom(ctx).ID {
		if err := s.authorize(ctx, perm, id); err != nil {
			return err
		}
	}
	now := s.now()
	err := s.store.Update(ctx, func(tx warden.Tx) error {
		if _, err := s.getResource(ctx, tx, id, typ); err != nil {
			return err
		}
		return tx.RevokeToken(ctx, warden.RevokedToken{
			TokenID:   subjectRevocation + id + "@" + strconv.FormatInt(now.UnixNano(), 10),
			SubjectID: id, RevokedAt: now, ExpiresAt: now.Add(s.longestToken()),
		})
	})
	if err != nil {
		return err
	}
	s.verifier.RevokeSubjects(map[string]time.Time{id: now})
	return nil
}
