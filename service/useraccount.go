package service

import (
	"context"
	"strings"

	iam "github.com/yandex-cloud/go-genproto/yandex/cloud/iam/v1"

	"warden"
	"warden/audit"
)

// UserAccounts implements iam UserAccountService.
type UserAccounts struct {
	iam.UnimplementedUserAccountServiceServer
	s *Service
}

// UserAccounts returns the UserAccountService server.
func (s *Service) UserAccounts() *UserAccounts { return &UserAccounts{s: s} }

// Get implements UserAccountService.Get. Local users are presented as
// passport accounts whose login is the user's name.
func (u *UserAccounts) Get(ctx context.Context, req *iam.GetUserAccountRequest) (*iam.UserAccount, error) {
	if SubjectFrom(ctx).ID != req.UserAccountId {
		if err := u.s.authorize(ctx, "iam.userAccounts.get", req.UserAccountId); err != nil {
			return nil, err
		}
	}
	r, err := u.s.get(ctx, req.UserAccountId, warden.TypeUserAccount)
	if err != nil {
		return nil, err
	}
	return &iam.UserAccount{Id: r.ID, UserAccount: &iam.UserAccount_YandexPassportUserAccount{
		YandexPassportUserAccount: &iam.YandexPassportUserAccount{Login: r.Name, DefaultEmail: r.Attrs["email"]},
	}}, nil
}

// SetPassword sets a local user's password. A user sets their own by giving
// the current one (when they have one); setting another's needs
// iam.userAccounts.setPassword on that user, and passes the escalation
// guard.
func (s *Service) SetPassword(ctx context.Context, userID, current, password string) error {
	return s.setUserPassword(ctx, passwordChange{
		userID: userID, current: current, password: password, field: "password",
		own: SubjectFrom(ctx).ID == userID,
		authorize: func(*warden.Resource) error {
			return s.authorize(ctx, "iam.userAccounts.setPassword", userID)
		},
	})
}

// passwordChange is a request to set a user's password.
type passwordChange struct {
	userID, current, password string
	// field names the new password in the request, for errors.
	field string
	// own: the caller sets their own password, giving the current one
	// when they have one. Otherwise authorize (called before the user is
	// read, with nil, when it can decide without it) lets the caller set
	// another's.
	own       bool
	authorize func(user *warden.Resource) error
}

// setUserPassword sets a user's password after the password policy, the
// caller's permission and the escalation guard: a password of another
// user hands out all that user may do. Authorization, existence and the
// current password are checked before the new password is hashed, and no
// hash runs inside a transaction. The user's OAuth tokens are revoked, and
// with them every IAM token exchanged for one, on every node.
func (s *Service) setUserPassword(ctx context.Context, c passwordChange) error {
	audit.CallFrom(ctx).SetResource(c.userID)
	if err := ValidatePassword(c.password); err != nil {
		return warden.Errorf(warden.InvalidArgument, "%s: %s", c.field, strings.TrimPrefix(warden.ErrorMessage(err), "password: "))
	}
	var old []*warden.Credential
	var user *warden.Resource
	err := s.store.View(ctx, func(tx warden.Tx) (err error) {
		user, err = s.getResource(ctx, tx, c.userID, warden.TypeUserAccount)
		return err
	})
	if !c.own {
		// Authorized before the lookup's answer is told: only a caller who
		// may set passwords learns whether the user exists.
		var target *warden.Resource
		if err == nil {
			target = user
		}
		if aerr := c.authorize(target); aerr != nil {
			return aerr
		}
	}
	if err != nil {
		return err
	}
	if err := checkPasswordPolicy(c.field, c.password, user.Name); err != nil {
		return err
	}
	if !c.own {
		if err := s.guardUserCredential(ctx, user.ID); err != nil {
			return err
		}
	}
	err = s.store.View(ctx, func(tx warden.Tx) (err error) {
		if old, _, err = tx.ListCredentials(ctx, c.userID, warden.CredPassword, warden.Page{Size: 10}); err != nil {
			return err
		}
		if len(old) == 0 {
			// A first password makes the user's name one Keystone logs in
			// by: it must not be ambiguous in any of its clouds.
			return s.userNameFree(ctx, tx, user)
		}
		return nil
	})
	if err != nil {
		return err
	}
	if c.own && len(old) > 0 {
		if c.current == "" {
			return warden.Errorf(warden.InvalidArgument, "current_password: required to change your own password")
		}
		ok, err := s.verifyPassword(ctx, string(old[0].Hash), c.current)
		if err != nil {
			return err
		}
		if !ok {
			return warden.Errorf(warden.PermissionDenied, "current_password: does not match")
		}
	}
	hash, err := s.hashPassword(ctx, c.password)
	if err != nil {
		return err
	}
	var revoked []string
	err = s.mutate(ctx, func(tx warden.Tx, ch *auditEdit) error {
		passwords, err := s.deletePasswords(ctx, tx, c.userID)
		if err != nil {
			return err
		}
		tokens, err := s.revokeOAuthTokens(ctx, tx, c.userID)
		if err != nil {
			return err
		}
		revoked = append(passwords, tokens...)
		cred := &warden.Credential{
			ID: warden.NewID(warden.PrefixPassword), Kind: warden.CredPassword, SubjectID: c.userID,
			Hash: []byte(hash), CreatedAt: s.now().UTC(),
		}
		ch.credential(ctx, tx, cred)
		ch.set("revoked_credentials", revoked)
		return tx.CreateCredential(ctx, cred)
	})
	if err != nil {
		return err
	}
	s.revokedHere(revoked...)
	return nil
}
