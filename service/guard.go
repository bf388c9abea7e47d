package service

import (
	"context"

	"warden"
	"warden/authn"
)

// guardMint refuses to mint a credential for a service account (an
// authorized key, an API key, an IAM token — and every kind to come) unless
// the caller holds, on every resource, every permission the account holds
// there: a credential of the account hands out all it may do. The refusal
// names a permission the caller lacks.
func (s *Service) guardMint(ctx context.Context, serviceAccountID string) error {
	return s.guardHandOver(ctx, serviceAccountID, "a credential of service account "+serviceAccountID)
}

// guardHandOver refuses to hand the caller what target holds (through
// what, "a credential of service account X") unless the caller holds it
// all; a caller confined to a scope may not when target reaches past it,
// not even for target itself.
func (s *Service) guardHandOver(ctx context.Context, target, what string) error {
	caller := SubjectFrom(ctx)
	if err := narrowedCaller(caller); err != nil {
		return err
	}
	snap := s.authz.snap.Load()
	if caller.Scope != "" {
		if outside, ok := snap.BoundOutside(target, caller.Scope); ok {
			return warden.Errorf(warden.PermissionDenied,
				"permission denied: %s would reach %s, outside the scope %s of the caller's token", what, outside, caller.Scope)
		}
	}
	if short, ok := snap.Covers(caller.ID, target); !ok {
		return warden.Errorf(warden.PermissionDenied,
			"permission denied: %s would hand out %s on %s, which the caller does not hold", what, short.Permission, short.ResourceID)
	}
	return nil
}

// narrowedCaller refuses a caller whose credential is narrower than its
// account: an API key (which may carry address, time-window, product and
// scope restrictions) or a credential under a session policy. A credential
// it minted would carry none of that, so it mints none, not even for its
// own account.
func narrowedCaller(caller Subject) error {
	switch {
	case caller.Credential == authn.CredAPIKey:
		return warden.Errorf(warden.PermissionDenied,
			"permission denied: an API key cannot mint credentials (a new one would not carry its restrictions); use an IAM token")
	case caller.Policy != nil:
		return warden.Errorf(warden.PermissionDenied,
			"permission denied: a credential under a session policy cannot mint credentials (a new one would not carry the policy)")
	}
	return nil
}

// guardUserCredential is guardMint for a user account: setting another
// user's password hands the caller everything the user may do, so the
// caller must hold all of it (and a caller confined to a scope may not do
// it at all when the user reaches past the scope).
func (s *Service) guardUserCredential(ctx context.Context, userID string) error {
	return s.guardHandOver(ctx, userID, "a password of user "+userID)
}

// guardGrant refuses to bind a role on a resource unless the caller holds
// every permission of the role there.
func (s *Service) guardGrant(ctx context.Context, tx warden.Tx, roleID, resourceID string) error {
	caller := SubjectFrom(ctx)
	snap := s.authz.snap.Load()
	at := resourceID
	for depth := 0; depth < 8 && !s.knownResource(at); depth++ {
		// Created on another node since the last refresh: what the caller
		// holds there is what it holds on the nearest known ancestor.
		r, err := tx.GetResource(ctx, at)
		if err != nil {
			return err
		}
		at = r.ParentID
	}
	if short, ok := snap.MayGrant(caller.ID, roleID, at); !ok {
		return warden.Errorf(warden.PermissionDenied,
			"permission denied: granting role %s on %s hands out %s, which the caller does not hold there",
			roleID, resourceID, short.Permission)
	}
	return nil
}

// mintableServiceAccount returns a service account a credential may be
// minted for: it exists, is active and unexpired, and the caller passes the
// escalation guard for it.
func (s *Service) mintableServiceAccount(ctx context.Context, id string) (*warden.Resource, error) {
	r, err := s.get(ctx, id, warden.TypeServiceAccount)
	if err != nil {
		return nil, err
	}
	if !nodeOf(r).ActiveAt(s.now()) {
		return nil, warden.Errorf(warden.FailedPrecondition, "service account %s is suspended or expired", r.ID)
	}
	if err := s.guardMint(ctx, r.ID); err != nil {
		return nil, err
	}
	return r, nil
}
