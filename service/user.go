package service

import (
	"context"
	"errors"
	"slices"
	"strings"
	"time"

	idp "github.com/yandex-cloud/go-genproto/yandex/cloud/organizationmanager/v1/idp"
	"google.golang.org/protobuf/proto"
	"google.golang.org/protobuf/types/known/emptypb"

	"warden"
	"warden/secret"
)

// randomString returns n symbols drawn uniformly from alphabet (fewer than
// 256 symbols): bytes at or past the largest multiple of its size are
// dropped, so no symbol is likelier than another.
func randomString(alphabet string, n int) string {
	limit := 256 - 256%len(alphabet)
	out := make([]byte, 0, n)
	for len(out) < n {
		for _, b := range secret.RandomBytes(n) {
			if int(b) < limit && len(out) < n {
				out = append(out, alphabet[int(b)%len(alphabet)])
			}
		}
	}
	return string(out)
}

// Users implements organizationmanager idp UserService: local users with
// passwords, in userpools. A user is a user account of its organization
// (the resource the rest of Warden already knows: bindings, OAuth tokens,
// Keystone), named by its login, name@domain of its pool.
type Users struct {
	idp.UnimplementedUserServiceServer
	s *Service
}

// Users returns the idp UserService server.
func (s *Service) Users() *Users { return &Users{s: s} }

// Permissions on users, checked on the user's userpool (so that a binding
// on the pool, or on its organization, grants them).
const (
	permUsersGet         = "organization-manager.users.get"
	permUsersList        = "organization-manager.users.list"
	permUsersCreate      = "organization-manager.users.create"
	permUsersUpdate      = "organization-manager.users.update"
	permUsersDelete      = "organization-manager.users.delete"
	permUsersSuspend     = "organization-manager.users.suspend"
	permUsersReactivate  = "organization-manager.users.reactivate"
	permUsersSetPassword = "organization-manager.users.setPassword"
)

// userAttrs are the profile fields of a user kept as attributes, by the
// name of the field in the protos (CreateUserRequest, UpdateUserRequest
// and User share them).
var userAttrs = []string{"full_name", "given_name", "family_name", "email", "phone_number", "external_id",
	"company_name", "department", "job_title", "employee_id"}

type userProfile interface {
	GetFullName() string
	GetGivenName() string
	GetFamilyName() string
	GetEmail() string
	GetPhoneNumber() string
	GetCompanyName() string
	GetDepartment() string
	GetJobTitle() string
	GetEmployeeId() string
}

// profileValue returns a profile field of a request by its proto name.
func profileValue(m userProfile, field string) string {
	switch field {
	case "full_name":
		return m.GetFullName()
	case "given_name":
		return m.GetGivenName()
	case "family_name":
		return m.GetFamilyName()
	case "email":
		return m.GetEmail()
	case "phone_number":
		return m.GetPhoneNumber()
	case "company_name":
		return m.GetCompanyName()
	case "department":
		return m.GetDepartment()
	case "job_title":
		return m.GetJobTitle()
	case "employee_id":
		return m.GetEmployeeId()
	}
	return ""
}

func userProto(r *warden.Resource, passwordSetAt time.Time) *idp.User {
	st := idp.User_ACTIVE
	if r.Status == warden.StatusSuspended {
		st = idp.User_SUSPENDED
	}
	updated := attrTime(r, attrUpdatedAt)
	if updated.IsZero() {
		updated = r.CreatedAt
	}
	a := r.Attrs
	return &idp.User{
		Id: r.ID, UserpoolId: a[attrUserpool], Status: st, Username: r.Name,
		FullName: a["full_name"], GivenName: a["given_name"], FamilyName: a["family_name"], Email: a["email"],
		PhoneNumber: a["phone_number"], ExternalId: a["external_id"], CompanyName: a["company_name"],
		Department: a["department"], JobTitle: a["job_title"], EmployeeId: a["employee_id"],
		CreatedAt: ts(r.CreatedAt), UpdatedAt: ts(updated), ExpiresAt: ts(attrTime(r, attrExpiresAt)),
		PasswordCreatedAt: ts(passwordSetAt),
	}
}

// passwordSetAt returns when a user's password was set (zero: none).
func passwordSetAt(ctx context.Context, tx warden.Tx, userID string) (time.Time, error) {
	creds, _, err := tx.ListCredentials(ctx, userID, warden.CredPassword, warden.Page{Size: 1})
	if err != nil || len(creds) == 0 {
		return time.Time{}, err
	}
	return creds[0].CreatedAt, nil
}

// readUser returns a user with when its password was set.
func (s *Service) readUser(ctx context.Context, id string) (*idp.User, error) {
	var out *idp.User
	err := s.store.View(ctx, func(tx warden.Tx) error {
		r, err := s.getResource(ctx, tx, id, warden.TypeUserAccount)
		if err != nil {
			return err
		}
		at, err := passwordSetAt(ctx, tx, id)
		out = userProto(r, at)
		return err
	})
	return out, err
}

// authorizeUser checks permission on a user's userpool (the user itself
// for one in no pool) and returns the user. Only a caller who may act on
// users learns whether one exists.
func (s *Service) authorizeUser(ctx context.Context, permission, userID string) (*warden.Resource, error) {
	r, err := s.get(ctx, userID, warden.TypeUserAccount)
	if warden.IsCode(err, warden.NotFound) {
		if aerr := s.authorize(ctx, permission, userID); aerr != nil {
			return nil, aerr
		}
	}
	if err != nil {
		return nil, err
	}
	target := r.Attrs[attrUserpool]
	if target == "" {
		target = r.ID
	}
	if err := s.authorize(ctx, permission, target); err != nil {
		return nil, err
	}
	return r, nil
}

// attrsOf returns r's attributes, made when r has none yet (an account
// created before it had any).
func attrsOf(r *warden.Resource) map[string]string {
	if r.Attrs == nil {
		r.Attrs = map[string]string{}
	}
	return r.Attrs
}

// notSelf refuses an action that would lock the caller out of their own
// account: an organization could lose its last administrator that way.
func notSelf(ctx context.Context, userID, action string) error {
	if SubjectFrom(ctx).ID == userID {
		return warden.Errorf(warden.FailedPrecondition, "user_id: you cannot %s your own account; another administrator can", action)
	}
	return nil
}

// Get implements UserService.Get: one's own account, or another with
// organization-manager.users.get on their pool.
func (u *Users) Get(ctx context.Context, req *idp.GetUserRequest) (*idp.User, error) {
	if SubjectFrom(ctx).ID != req.UserId {
		if _, err := u.s.authorizeUser(ctx, permUsersGet, req.UserId); err != nil {
			return nil, err
		}
	}
	return u.s.readUser(ctx, req.UserId)
}

// List implements UserService.List: the users of a pool.
func (u *Users) List(ctx context.Context, req *idp.ListUsersRequest) (*idp.ListUsersResponse, error) {
	name, err := parseFilter(req.Filter)
	if err != nil {
		return nil, err
	}
	out := &idp.ListUsersResponse{}
	err = u.s.store.View(ctx, func(tx warden.Tx) error {
		pool, err := u.s.getResource(ctx, tx, req.UserpoolId, warden.TypeUserpool)
		if err != nil {
			return err
		}
		rs, next, err := tx.ListResources(ctx, warden.ResourceFilter{Type: warden.TypeUserAccount, ParentID: pool.ParentID, Name: name,
			Page: page(req.PageSize, req.PageToken), Keep: func(r *warden.Resource) bool { return r.Attrs[attrUserpool] == pool.ID }})
		if err != nil {
			return err
		}
		out.NextPageToken = next
		for _, r := range rs {
			at, err := passwordSetAt(ctx, tx, r.ID)
			if err != nil {
				return err
			}
			out.Users = append(out.Users, userProto(r, at))
		}
		return nil
	})
	if err != nil {
		return nil, err
	}
	return out, nil
}

// checkLoginDomain refuses a login outside its pool's domain.
func checkLoginDomain(field, username string, pool *warden.Resource) error {
	if _, domain, _ := strings.Cut(username, "@"); domain != pool.Attrs[attrDomain] {
		return warden.Errorf(warden.InvalidArgument, "%s: must end in @%s, the domain of userpool %s", field, pool.Attrs[attrDomain], pool.ID)
	}
	return nil
}

// Create implements UserService.Create. A password, when given, passes the
// password policy and is hashed before the transaction; a new user holds
// no role, so making one hands out nothing.
func (u *Users) Create(ctx context.Context, req *idp.CreateUserRequest) (*operationT, error) {
	if req.GetPasswordHash() != nil {
		return nil, warden.Errorf(warden.InvalidArgument, "password_hash: importing password hashes is not supported; give password_spec")
	}
	var hash string
	if spec := req.GetPasswordSpec(); spec != nil {
		if err := checkPasswordPolicy("password_spec.password", spec.Password, req.Username); err != nil {
			return nil, err
		}
	}
	r := &warden.Resource{ID: warden.NewID(warden.PrefixUserAccount), Type: warden.TypeUserAccount, Name: req.Username,
		Status: warden.StatusActive, CreatedAt: u.s.now().UTC(), Attrs: map[string]string{attrUserpool: req.UserpoolId}}
	for _, f := range userAttrs {
		if v := profileValue(req, f); v != "" {
			r.Attrs[f] = v
		}
	}
	if req.ExternalId != "" {
		r.Attrs["external_id"] = req.ExternalId
	}
	if req.ExpiresAt != nil {
		r.Attrs[attrExpiresAt] = req.ExpiresAt.AsTime().UTC().Format(time.RFC3339Nano)
	}
	if req.IsActive != nil && !req.IsActive.Value {
		r.Status = warden.StatusSuspended
	}
	var pool *warden.Resource
	err := u.s.store.View(ctx, func(tx warden.Tx) (err error) {
		pool, err = u.s.getResource(ctx, tx, req.UserpoolId, warden.TypeUserpool)
		return err
	})
	if err != nil {
		return nil, err
	}
	if err := checkLoginDomain("username", req.Username, pool); err != nil {
		return nil, err
	}
	r.ParentID = pool.ParentID
	if spec := req.GetPasswordSpec(); spec != nil {
		if hash, err = u.s.hashPassword(ctx, spec.Password); err != nil {
			return nil, err
		}
	}
	var op *operationT
	err = u.s.mutate(ctx, func(tx warden.Tx, c *auditEdit) (err error) {
		if _, err := u.s.getResource(ctx, tx, pool.ID, warden.TypeUserpool); err != nil {
			return err
		}
		if err := tx.CreateResource(ctx, r); err != nil {
			if warden.IsCode(err, warden.AlreadyExists) {
				return warden.Errorf(warden.AlreadyExists, "username: a user named %q already exists in the organization", r.Name)
			}
			return err
		}
		c.created(ctx, tx, r)
		c.set("name", r.Name)
		c.set("password_set", hash != "")
		var setAt time.Time
		if hash != "" {
			if err := u.s.userNameFree(ctx, tx, r); err != nil {
				return err
			}
			setAt = r.CreatedAt
			if err := tx.CreateCredential(ctx, &warden.Credential{
				ID: warden.NewID(warden.PrefixPassword), Kind: warden.CredPassword, SubjectID: r.ID, Hash: []byte(hash), CreatedAt: setAt,
			}); err != nil {
				return err
			}
		}
		op, err = u.s.newOperation(ctx, tx, r.ID, "Create user", &idp.CreateUserMetadata{UserId: r.ID}, userProto(r, setAt))
		return err
	})
	if err == nil {
		u.s.authz.changed()
	}
	return op, err
}

// Update implements UserService.Update. A new login stays in the user's
// pool's domain.
func (u *Users) Update(ctx context.Context, req *idp.UpdateUserRequest) (*operationT, error) {
	if _, err := u.s.authorizeUser(ctx, permUsersUpdate, req.UserId); err != nil {
		return nil, err
	}
	set := map[string]bool{"username": req.Username != "", "expires_at": req.ExpiresAt != nil}
	for _, f := range userAttrs {
		if f != "external_id" {
			set[f] = profileValue(req, f) != ""
		}
	}
	now := u.s.now().UTC().Format(time.RFC3339Nano)
	renamed := false
	fields := mutableFields{
		"username": func(r *warden.Resource) {
			renamed = renamed || r.Name != req.Username
			r.Name = req.Username
			attrsOf(r)[attrUpdatedAt] = now
		},
		"expires_at": func(r *warden.Resource) {
			delete(attrsOf(r), attrExpiresAt)
			if req.ExpiresAt != nil {
				r.Attrs[attrExpiresAt] = req.ExpiresAt.AsTime().UTC().Format(time.RFC3339Nano)
			}
			r.Attrs[attrUpdatedAt] = now
		},
	}
	for _, f := range userAttrs {
		if f == "external_id" {
			continue // UpdateUserRequest has none: ConvertToExternal sets it
		}
		fields[f] = func(r *warden.Resource) {
			attrsOf(r)
			if v := profileValue(req, f); v != "" {
				r.Attrs[f] = v
			} else {
				delete(r.Attrs, f)
			}
			r.Attrs[attrUpdatedAt] = now
		}
	}
	check := func(ctx context.Context, tx warden.Tx, r *warden.Resource) error {
		if !renamed {
			// The bootstrap admin's login ("admin") predates pools and
			// their domains: its profile still changes.
			return nil
		}
		if pool := r.Attrs[attrUserpool]; pool != "" {
			p, err := u.s.getResource(ctx, tx, pool, warden.TypeUserpool)
			if err != nil {
				return err
			}
			if err := checkLoginDomain("username", r.Name, p); err != nil {
				return err
			}
		}
		at, err := passwordSetAt(ctx, tx, r.ID)
		if err != nil || at.IsZero() {
			return err
		}
		return u.s.userNameFree(ctx, tx, r)
	}
	return u.s.updateChecked(ctx, req.UserId, warden.TypeUserAccount, req.UpdateMask, presentFields(set), fields, check, "Update user",
		&idp.UpdateUserMetadata{UserId: req.UserId}, func(r *warden.Resource) proto.Message { return userProto(r, time.Time{}) })
}

// Delete implements UserService.Delete. The user's passwords and OAuth
// tokens go with it, and every token and key of the user is refused from
// then on (on other wardend within the refresh interval).
func (u *Users) Delete(ctx context.Context, req *idp.DeleteUserRequest) (*operationT, error) {
	if _, err := u.s.authorizeUser(ctx, permUsersDelete, req.UserId); err != nil {
		return nil, err
	}
	if err := notSelf(ctx, req.UserId, "delete"); err != nil {
		return nil, err
	}
	return u.s.removeUser(ctx, req.UserId, "Delete user", &idp.DeleteUserMetadata{UserId: req.UserId})
}

// removeUser deletes a user with a finished operation, and with them the
// access bindings that name them on any resource: a deleted user must not
// linger in the bindings an audit reads.
func (s *Service) removeUser(ctx context.Context, id, description string, metadata proto.Message) (*operationT, error) {
	var op *operationT
	err := s.mutate(ctx, func(tx warden.Tx, c *auditEdit) error {
		if _, err := s.getResource(ctx, tx, id, warden.TypeUserAccount); err != nil {
			return err
		}
		c.on(ctx, tx, id)
		all, err := tx.AllAccessBindings(ctx)
		if err != nil {
			return err
		}
		for resource, bs := range all {
			kept := slices.DeleteFunc(slices.Clone(bs), func(b warden.AccessBinding) bool { return b.SubjectID == id })
			if len(kept) == len(bs) || resource == id {
				continue
			}
			if err := tx.SetAccessBindings(ctx, resource, kept); err != nil {
				return err
			}
		}
		if err := tx.DeleteResource(ctx, id); err != nil {
			return err
		}
		op, err = s.newOperation(ctx, tx, id, description, metadata, nil)
		return err
	})
	if err == nil {
		s.reloadNow(ctx) // their tokens and bindings stop working here at once
	}
	return op, err
}

// Suspend implements UserService.Suspend: the user's credentials stay, and
// are refused while the user is suspended.
func (u *Users) Suspend(ctx context.Context, req *idp.SuspendUserRequest) (*operationT, error) {
	if _, err := u.s.authorizeUser(ctx, permUsersSuspend, req.UserId); err != nil {
		return nil, err
	}
	if req.ExpiresAt != nil {
		return nil, warden.Errorf(warden.InvalidArgument, "expires_at: a suspension that ends by itself is not supported; reactivate the user instead")
	}
	if err := notSelf(ctx, req.UserId, "suspend"); err != nil {
		return nil, err
	}
	return u.s.setStatus(ctx, req.UserId, warden.TypeUserAccount, warden.StatusSuspended, "Suspend user",
		&idp.SuspendUserMetadata{UserId: req.UserId}, &emptypb.Empty{})
}

// Reactivate implements UserService.Reactivate.
func (u *Users) Reactivate(ctx context.Context, req *idp.ReactivateUserRequest) (*operationT, error) {
	if _, err := u.s.authorizeUser(ctx, permUsersReactivate, req.UserId); err != nil {
		return nil, err
	}
	return u.s.setStatus(ctx, req.UserId, warden.TypeUserAccount, warden.StatusActive, "Reactivate user",
		&idp.ReactivateUserMetadata{UserId: req.UserId}, &emptypb.Empty{})
}

// SetOwnPassword implements UserService.SetOwnPassword: the caller's own,
// giving the current one (old_password) when there is one.
func (u *Users) SetOwnPassword(ctx context.Context, req *idp.SetOwnPasswordRequest) (*operationT, error) {
	me := SubjectFrom(ctx)
	if me.Type != "userAccount" {
		return nil, warden.Errorf(warden.FailedPrecondition, "only a user has a password of their own; service accounts use /warden/v1/serviceAccounts/{id}:setPassword")
	}
	err := u.s.setUserPassword(ctx, passwordChange{userID: me.ID, current: req.OldPassword, password: req.GetPasswordSpec().GetPassword(),
		field: "password_spec.password", own: true})
	if err != nil {
		return nil, currentPasswordField(err, "old_password")
	}
	return u.s.passwordOperation(ctx, me.ID, "Set own password", &idp.SetOwnPasswordMetadata{UserId: me.ID}, &idp.SetOwnPasswordResponse{})
}

// currentPasswordField renames the current password's field in an error
// to the request's name for it.
func currentPasswordField(err error, field string) error {
	var e *warden.Error
	if errors.As(err, &e) && strings.HasPrefix(e.Message, "current_password:") {
		return &warden.Error{Code: e.Code, Message: field + strings.TrimPrefix(e.Message, "current_password"), Cause: e.Cause}
	}
	return err
}

// SetOthersPassword implements UserService.SetOthersPassword: it needs
// organization-manager.users.setPassword on the user's pool, and passes
// the escalation guard (the caller holds all the user holds).
func (u *Users) SetOthersPassword(ctx context.Context, req *idp.SetOthersPasswordRequest) (*operationT, error) {
	err := u.s.setUserPassword(ctx, passwordChange{userID: req.UserId, password: req.GetPasswordSpec().GetPassword(), field: "password_spec.password",
		authorize: func(user *warden.Resource) error {
			target := req.UserId
			if user != nil && user.Attrs[attrUserpool] != "" {
				target = user.Attrs[attrUserpool]
			}
			return u.s.authorize(ctx, permUsersSetPassword, target)
		}})
	if err != nil {
		return nil, err
	}
	return u.s.passwordOperation(ctx, req.UserId, "Set user password", &idp.SetOthersPasswordMetadata{UserId: req.UserId}, &idp.SetOthersPasswordResponse{})
}

// passwordOperation records the finished operation of a password change.
func (s *Service) passwordOperation(ctx context.Context, userID, description string, metadata, response proto.Message) (*operationT, error) {
	var op *operationT
	err := s.store.Update(ctx, func(tx warden.Tx) (err error) {
		op, err = s.newOperation(ctx, tx, userID, description, metadata, response)
		return err
	})
	return op, err
}

// generatedPasswordAlphabet has no characters that look alike (0/O, 1/l/I)
// so that a password read aloud or off a screen is typed right.
const generatedPasswordAlphabet = "abcdefghijkmnopqrstuvwxyzABCDEFGHJKLMNPQRSTUVWXYZ23456789"

// GeneratePassword implements UserService.GeneratePassword: 20 characters
// from a 57-symbol alphabet (116 bits), which the password policy accepts.
func (u *Users) GeneratePassword(ctx context.Context, _ *idp.GeneratePasswordRequest) (*idp.GeneratePasswordResponse, error) {
	for {
		p := randomString(generatedPasswordAlphabet, 20)
		if checkPasswordPolicy("password", p, "") == nil {
			return &idp.GeneratePasswordResponse{PasswordSpec: &idp.PasswordSpec{Password: p}}, nil
		}
	}
}

// GetSelfPasswordMetadata implements UserService.GetSelfPasswordMetadata:
// the caller's password, when it was set and when it expires under the
// server's maximum password age.
func (u *Users) GetSelfPasswordMetadata(ctx context.Context, _ *emptypb.Empty) (*idp.PasswordMetadata, error) {
	me := SubjectFrom(ctx)
	var creds []*warden.Credential
	err := u.s.store.View(ctx, func(tx warden.Tx) (err error) {
		creds, _, err = tx.ListCredentials(ctx, me.ID, warden.CredPassword, warden.Page{Size: 1})
		return err
	})
	if err != nil {
		return nil, err
	}
	if len(creds) == 0 {
		return nil, warden.Errorf(warden.NotFound, "the caller has no password")
	}
	c := creds[0]
	out := &idp.PasswordMetadata{Id: c.ID, Type: idp.PasswordMetadata_PERMANENT, CreatedAt: ts(c.CreatedAt), ExpiresAt: ts(u.s.passwordExpiry(c.CreatedAt))}
	if !c.LastUsedAt.IsZero() {
		out.LastUsage = &idp.PasswordMetadata_PasswordUsage{UsedAt: ts(c.LastUsedAt)}
	}
	return out, nil
}
