package service

import (
	"context"

	iam "github.com/yandex-cloud/go-genproto/yandex/cloud/iam/v1"
	"github.com/yandex-cloud/go-genproto/yandex/cloud/oauth"
	om "github.com/yandex-cloud/go-genproto/yandex/cloud/organizationmanager/v1"

	"warden"
)

// Members implements organizationmanager UserService: the users of an
// organization. Every local user is a member of the organization it was
// created in, and of no other.
type Members struct {
	om.UnimplementedUserServiceServer
	s *Service
}

// Members returns the organization-manager UserService server.
func (s *Service) Members() *Members { return &Members{s: s} }

func memberProto(r *warden.Resource) *om.ListMembersResponse_OrganizationUser {
	name := r.Attrs["full_name"]
	if name == "" {
		name = r.Name
	}
	return &om.ListMembersResponse_OrganizationUser{SubjectClaims: &oauth.SubjectClaims{
		Sub: r.ID, Name: name, PreferredUsername: r.Name, GivenName: r.Attrs["given_name"], FamilyName: r.Attrs["family_name"],
		Email: r.Attrs["email"], PhoneNumber: r.Attrs["phone_number"], SubType: oauth.SubjectType_USER_ACCOUNT,
	}}
}

// ListMembers implements UserService.ListMembers.
func (m *Members) ListMembers(ctx context.Context, req *om.ListMembersRequest) (*om.ListMembersResponse, error) {
	rs, next, err := m.s.list(ctx, warden.TypeUserAccount, req.OrganizationId, warden.TypeOrganization, "", req)
	if err != nil {
		return nil, err
	}
	out := &om.ListMembersResponse{NextPageToken: next}
	for _, r := range rs {
		out.Users = append(out.Users, memberProto(r))
	}
	return out, nil
}

// DeleteMembership implements UserService.DeleteMembership. A local user
// belongs to one organization only, so leaving it deletes the user, with
// the same checks as idp UserService.Delete on top of the permission on
// the organization.
func (m *Members) DeleteMembership(ctx context.Context, req *om.DeleteMembershipRequest) (*operationT, error) {
	if req.SubjectId == "" {
		return nil, warden.Errorf(warden.InvalidArgument, "subject_id: required")
	}
	user, err := m.s.authorizeUser(ctx, permUsersDelete, req.SubjectId)
	if err != nil {
		return nil, err
	}
	if user.ParentID != req.OrganizationId {
		return nil, warden.Errorf(warden.NotFound, "subject %s is not a member of organization %s", req.SubjectId, req.OrganizationId)
	}
	if err := notSelf(ctx, req.SubjectId, "remove from the organization"); err != nil {
		return nil, err
	}
	return m.s.removeUser(ctx, req.SubjectId, "Delete membership",
		&om.DeleteMembershipMetadata{OrganizationId: req.OrganizationId, SubjectId: req.SubjectId})
}

// PassportAccounts implements iam YandexPassportUserAccountService: Warden's
// local users stand in for passport accounts, their login for the passport
// login.
type PassportAccounts struct {
	iam.UnimplementedYandexPassportUserAccountServiceServer
	s *Service
}

// PassportAccounts returns the YandexPassportUserAccountService server.
func (s *Service) PassportAccounts() *PassportAccounts { return &PassportAccounts{s: s} }

// GetByLogin implements YandexPassportUserAccountService.GetByLogin: one's
// own account, or another's with iam.userAccounts.get on it. A login that
// names nobody is NotFound only to a caller who may read user accounts on
// some organization; others are denied alike whether it exists or not.
func (p *PassportAccounts) GetByLogin(ctx context.Context, req *iam.GetUserAccountByLoginRequest) (*iam.UserAccount, error) {
	var found *warden.Resource
	err := p.s.store.View(ctx, func(tx warden.Tx) error {
		rs, _, err := tx.ListResources(ctx, warden.ResourceFilter{Type: warden.TypeUserAccount, Name: req.Login, Page: warden.Page{Size: 1}})
		if err == nil && len(rs) == 1 {
			found = rs[0]
		}
		return err
	})
	if err != nil {
		return nil, err
	}
	me := SubjectFrom(ctx)
	if found == nil {
		if p.s.authz.snap.Load().AllowedOnAnyRoot(me.ID, me.ID != "", "iam.userAccounts.get") {
			return nil, warden.Errorf(warden.NotFound, "user account with login %q not found", req.Login)
		}
		return nil, errDenied("iam.userAccounts.get", "login "+req.Login)
	}
	if found.ID != me.ID {
		if err := p.s.authorize(ctx, "iam.userAccounts.get", found.ID); err != nil {
			return nil, err
		}
	}
	return &iam.UserAccount{Id: found.ID, UserAccount: &iam.UserAccount_YandexPassportUserAccount{
		YandexPassportUserAccount: &iam.YandexPassportUserAccount{Login: found.Name, DefaultEmail: found.Attrs["email"]},
	}}, nil
}
