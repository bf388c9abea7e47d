package service

import (
	"context"

	iam "github.com/yandex-cloud/go-genproto/yandex/cloud/iam/v1"

	"warden"
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
