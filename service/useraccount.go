package service

import (
	"context"

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
// iam.userAccounts.setPassword on that user. Authorization, existence and the
// current password are checked before the new password is hashed, and no
// hash runs inside a transaction. The user's OAuth tokens are revoked, and
// with them every IAM token exchanged for one, on every node.
func (s *Service) SetPassword(ctx context.Context, userID, current, password string) error {
	audit.CallFrom(ctx).SetResource(userID)
	if err := ValidatePassword(password); err != nil {
		return err
	}
	self := SubjectFrom(ctx).ID == userID
	if !self {
		if err := s.authorize(ctx, "iam.userAccounts.setPassword", userID); err != nil {
			return err
		}
	}
	var old []*warden.Credential
	err := s.store.View(ctx, func(tx warden.Tx) (err error) {
		user, err := s.getResource(ctx, tx, userID, warden.TypeUserAccount)
		if err != nil {
			return err
		}
		if old, _, err = tx.ListCredentials(ctx, userID, warden.CredPassword, warden.Page{Size: 10}); err != nil {
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
	if self && len(old) > 0 {
		if current == "" {
			return warden.Errorf(warden.InvalidArgument, "current_password: required to change your own password")
		}
		ok, err := s.verifyPassword(ctx, string(old[0].Hash), current)
		if err != nil {
			return err
		}
		if !ok {
			return warden.Errorf(warden.PermissionDenied, "current_password: does not match")
		}
	}
	hash, err := s.hashPassword(ctx, password)
	if err != nil {
		return err
	}
	var revoked []string
	err = s.mutate(ctx, func(tx warden.Tx, ch *auditEdit) error {
		passwords, err := s.deletePasswords(ctx, tx, userID)
		if err != nil {
			return err
		}
		tokens, err := s.revokeOAuthTokens(ctx, tx, userID)
		if err != nil {
			return err
		}
		revoked = append(passwords, tokens...)
		c := &warden.Credential{
			ID: warden.NewID(warden.PrefixPassword), Kind: warden.CredPassword, SubjectID: userID,
			Hash: []byte(hash), CreatedAt: s.now().UTC(),
		}
		ch.credential(ctx, tx, c)
		ch.set("revoked_credentials", revoked)
		return tx.CreateCredential(ctx, c)
	})
	if err != nil {
		return err
	}
	s.revokedHere(revoked...)
	return nil
}
