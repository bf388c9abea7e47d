package e2e

import (
	"context"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	iampb "github.com/yandex-cloud/go-genproto/yandex/cloud/iam/v1"
	"github.com/yandex-cloud/go-genproto/yandex/cloud/operation"
	ompb "github.com/yandex-cloud/go-genproto/yandex/cloud/organizationmanager/v1"
	idp "github.com/yandex-cloud/go-genproto/yandex/cloud/organizationmanager/v1/idp"
	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/status"
	"google.golang.org/protobuf/proto"
	"google.golang.org/protobuf/types/known/emptypb"
	"google.golang.org/protobuf/types/known/fieldmaskpb"
	"google.golang.org/protobuf/types/known/wrapperspb"

	"warden/server"
)

// people drives the user APIs of one node through go-genproto clients
// over a gRPC connection, as the Yandex SDK does.
type people struct {
	t     *testing.T
	n     *node
	users idp.UserServiceClient
	pools idp.UserpoolServiceClient
	admin context.Context
	org   string
	pool  string
}

func newPeople(t *testing.T, n *node) *people {
	t.Helper()
	conn := sdkConn(t, n.addr)
	p := &people{t: t, n: n, users: idp.NewUserServiceClient(conn), pools: idp.NewUserpoolServiceClient(conn), admin: bearerCtx(n.iamToken())}
	p.org = n.m.Bootstrap().OrganizationID
	pools, err := p.pools.List(p.admin, &idp.ListUserpoolsRequest{OrganizationId: p.org})
	if err != nil || len(pools.Userpools) != 1 || pools.Userpools[0].Name != "default" {
		t.Fatalf("bootstrap userpools: %v %v", pools, err)
	}
	p.pool = pools.Userpools[0].Id
	return p
}

// create makes a user with a password through the admin and returns it.
func (p *people) create(login, password string) *idp.User {
	p.t.Helper()
	op, err := p.users.Create(p.admin, &idp.CreateUserRequest{UserpoolId: p.pool, Username: login, FullName: "Test " + login,
		Credentials: &idp.CreateUserRequest_PasswordSpec{PasswordSpec: &idp.PasswordSpec{Password: password}}})
	if err != nil {
		p.t.Fatalf("create %s: %v", login, err)
	}
	return opResponse(p.t, op, &idp.User{})
}

func opResponse[M proto.Message](t *testing.T, op *operation.Operation, m M) M {
	t.Helper()
	if !op.Done || op.GetResponse() == nil {
		t.Fatalf("operation not done with a response: %v", op)
	}
	if err := op.GetResponse().UnmarshalTo(m); err != nil {
		t.Fatalf("operation response: %v", err)
	}
	return m
}

// login logs a user in with a password and returns an IAM token.
func (p *people) login(login, password string) string {
	p.t.Helper()
	r := p.n.rest("POST", "/warden/v1/login", "", map[string]string{"login": login, "password": password})
	if r.status != 200 {
		p.t.Fatalf("login %s: %d %s", login, r.status, r.raw)
	}
	tok := p.n.rest("POST", "/iam/v1/tokens", "", map[string]string{"yandexPassportOauthToken": str(r.body, "oauthToken")})
	if tok.status != 200 {
		p.t.Fatalf("exchange %s's OAuth token: %s", login, tok.raw)
	}
	return str(tok.body, "iamToken")
}

func wantCode(t *testing.T, what string, err error, code codes.Code) {
	t.Helper()
	if status.Code(err) != code {
		t.Fatalf("%s: got %v, want %s", what, err, code)
	}
}

// TestPeopleSDK: the admin creates a user; the user logs in with a
// password, is refused without bindings, works where a binding allows and
// nowhere else; the read APIs of every kind find them; suspension and
// deletion end their tokens.
func TestPeopleSDK(t *testing.T) {
	for _, b := range backends(t) {
		t.Run(b.name, func(t *testing.T) {
			n := start(t, t.TempDir(), b.database(t))
			p := newPeople(t, n)
			w := newWorld(t, n)
			alice := p.create("alice@default", "amber-walrus-42")
			if alice.UserpoolId != p.pool || alice.Status != idp.User_ACTIVE || alice.PasswordCreatedAt == nil {
				t.Fatalf("created user: %v", alice)
			}
			tok := p.login("alice@default", "amber-walrus-42")
			me := bearerCtx(tok)
			conn := sdkConn(t, n.addr)
			sas := iampb.NewServiceAccountServiceClient(conn)

			_, err := sas.Create(me, &iampb.CreateServiceAccountRequest{FolderId: w.folderA, Name: "alices-robot"})
			wantCode(t, "a user with no binding creates a service account", err, codes.PermissionDenied)

			w.bind(t, "/resource-manager/v1/folders/"+w.folderA, "ADD", "editor", "userAccount", alice.Id)
			within(t, "the binding applies", func() bool {
				_, err := sas.List(me, &iampb.ListServiceAccountsRequest{FolderId: w.folderA})
				return err == nil
			})
			op, err := sas.Create(me, &iampb.CreateServiceAccountRequest{FolderId: w.folderA, Name: "alices-robot"})
			if err != nil {
				t.Fatalf("an editor of the folder creates a service account: %v", err)
			}
			opResponse(t, op, &iampb.ServiceAccount{})
			_, err = sas.Create(me, &iampb.CreateServiceAccountRequest{FolderId: w.folderB, Name: "elsewhere"})
			wantCode(t, "the user creates a service account in another folder", err, codes.PermissionDenied)

			// Every read API finds the user.
			if got, err := p.users.Get(me, &idp.GetUserRequest{UserId: alice.Id}); err != nil || got.Username != "alice@default" {
				t.Fatalf("the user reads themself: %v %v", got, err)
			}
			acct, err := iampb.NewUserAccountServiceClient(conn).Get(p.admin, &iampb.GetUserAccountRequest{UserAccountId: alice.Id})
			if err != nil || acct.GetYandexPassportUserAccount().GetLogin() != "alice@default" {
				t.Fatalf("UserAccountService.Get: %v %v", acct, err)
			}
			byLogin, err := iampb.NewYandexPassportUserAccountServiceClient(conn).GetByLogin(p.admin, &iampb.GetUserAccountByLoginRequest{Login: "alice@default"})
			if err != nil || byLogin.Id != alice.Id {
				t.Fatalf("GetByLogin: %v %v", byLogin, err)
			}
			members, err := ompb.NewUserServiceClient(conn).ListMembers(p.admin, &ompb.ListMembersRequest{OrganizationId: p.org})
			if err != nil || len(members.Users) != 2 {
				t.Fatalf("ListMembers: want the admin and alice, got %v %v", members, err)
			}
			list, err := p.users.List(p.admin, &idp.ListUsersRequest{UserpoolId: p.pool})
			if err != nil || len(list.Users) != 2 {
				t.Fatalf("List: want the admin and alice, got %v %v", list, err)
			}
			meta, err := p.users.GetSelfPasswordMetadata(me, &emptypb.Empty{})
			if err != nil || meta.CreatedAt == nil || meta.ExpiresAt != nil {
				t.Fatalf("GetSelfPasswordMetadata: %v %v", meta, err)
			}

			// The user changes their own password; the old one stops working.
			_, err = p.users.SetOwnPassword(me, &idp.SetOwnPasswordRequest{OldPassword: "wrong-old-password", PasswordSpec: &idp.PasswordSpec{Password: "copper-heron-77"}})
			wantCode(t, "SetOwnPassword with a wrong old password", err, codes.PermissionDenied)
			if _, err := p.users.SetOwnPassword(me, &idp.SetOwnPasswordRequest{OldPassword: "amber-walrus-42", PasswordSpec: &idp.PasswordSpec{Password: "copper-heron-77"}}); err != nil {
				t.Fatalf("SetOwnPassword: %v", err)
			}
			if r := n.rest("POST", "/warden/v1/login", "", map[string]string{"login": "alice@default", "password": "amber-walrus-42"}); r.status != 401 {
				t.Fatalf("login with the old password: %d %s", r.status, r.raw)
			}
			me = bearerCtx(p.login("alice@default", "copper-heron-77"))

			if _, err := p.users.Suspend(p.admin, &idp.SuspendUserRequest{UserId: alice.Id}); err != nil {
				t.Fatalf("suspend: %v", err)
			}
			_, err = sas.List(me, &iampb.ListServiceAccountsRequest{FolderId: w.folderA})
			wantCode(t, "a suspended user's token", err, codes.Unauthenticated)
			if r := n.rest("POST", "/warden/v1/login", "", map[string]string{"login": "alice@default", "password": "copper-heron-77"}); r.status != 401 {
				t.Fatalf("a suspended user logs in: %d %s", r.status, r.raw)
			}
			if _, err := p.users.Reactivate(p.admin, &idp.ReactivateUserRequest{UserId: alice.Id}); err != nil {
				t.Fatalf("reactivate: %v", err)
			}
			if _, err := sas.List(me, &iampb.ListServiceAccountsRequest{FolderId: w.folderA}); err != nil {
				t.Fatalf("a reactivated user's token: %v", err)
			}
			if _, err := p.users.Delete(p.admin, &idp.DeleteUserRequest{UserId: alice.Id}); err != nil {
				t.Fatalf("delete: %v", err)
			}
			_, err = sas.List(me, &iampb.ListServiceAccountsRequest{FolderId: w.folderA})
			wantCode(t, "a deleted user's token", err, codes.Unauthenticated)
			_, err = p.users.Get(p.admin, &idp.GetUserRequest{UserId: alice.Id})
			wantCode(t, "get a deleted user", err, codes.NotFound)
			if r := n.rest("GET", "/resource-manager/v1/folders/"+w.folderA+":listAccessBindings", w.admin, nil); r.status != 200 || strings.Contains(r.raw, alice.Id) {
				t.Fatalf("the deleted user's binding on the folder remains: %d %s", r.status, r.raw)
			}

			// The admin cannot lock themself out.
			_, err = p.users.Suspend(p.admin, &idp.SuspendUserRequest{UserId: n.m.Bootstrap().AdminID})
			wantCode(t, "the admin suspends themself", err, codes.FailedPrecondition)
		})
	}
}

// TestPeopleValidation: each validation rule of the idp protos, and each
// rule of the password policy, is refused with InvalidArgument naming the
// field.
func TestPeopleValidation(t *testing.T) {
	n := start(t, t.TempDir(), "")
	p := newPeople(t, n)
	long := func(k int) string { return strings.Repeat("a", k) }
	pw := func(s string) *idp.CreateUserRequest_PasswordSpec {
		return &idp.CreateUserRequest_PasswordSpec{PasswordSpec: &idp.PasswordSpec{Password: s}}
	}
	user := func(edit func(*idp.CreateUserRequest)) error {
		req := &idp.CreateUserRequest{UserpoolId: p.pool, Username: "valid@default", FullName: "Valid", Credentials: pw("amber-walrus-42")}
		edit(req)
		_, err := p.users.Create(p.admin, req)
		return err
	}
	for _, c := range []struct {
		name, field string
		call        func() error
	}{
		{"create: userpool_id missing", "userpool_id", func() error { return user(func(r *idp.CreateUserRequest) { r.UserpoolId = "" }) }},
		{"create: userpool_id too long", "userpool_id", func() error { return user(func(r *idp.CreateUserRequest) { r.UserpoolId = long(51) }) }},
		{"create: username missing", "username", func() error { return user(func(r *idp.CreateUserRequest) { r.Username = "" }) }},
		{"create: username without @", "username", func() error { return user(func(r *idp.CreateUserRequest) { r.Username = "alice" }) }},
		{"create: username with a space", "username", func() error { return user(func(r *idp.CreateUserRequest) { r.Username = "al ice@default" }) }},
		{"create: username too long", "username", func() error { return user(func(r *idp.CreateUserRequest) { r.Username = "a@" + long(253) }) }},
		{"create: username outside the pool's domain", "username", func() error { return user(func(r *idp.CreateUserRequest) { r.Username = "alice@example.com" }) }},
		{"create: full_name missing", "full_name", func() error { return user(func(r *idp.CreateUserRequest) { r.FullName = "" }) }},
		{"create: full_name too long", "full_name", func() error { return user(func(r *idp.CreateUserRequest) { r.FullName = long(257) }) }},
		{"create: given_name too long", "given_name", func() error { return user(func(r *idp.CreateUserRequest) { r.GivenName = long(257) }) }},
		{"create: family_name too long", "family_name", func() error { return user(func(r *idp.CreateUserRequest) { r.FamilyName = long(257) }) }},
		{"create: email too short", "email", func() error { return user(func(r *idp.CreateUserRequest) { r.Email = "ab" }) }},
		{"create: phone_number too long", "phone_number", func() error { return user(func(r *idp.CreateUserRequest) { r.PhoneNumber = long(51) }) }},
		{"create: external_id too long", "external_id", func() error { return user(func(r *idp.CreateUserRequest) { r.ExternalId = long(257) }) }},
		{"create: department too long", "department", func() error { return user(func(r *idp.CreateUserRequest) { r.Department = long(257) }) }},
		{"create: password too long", "password_spec.password", func() error { return user(func(r *idp.CreateUserRequest) { r.Credentials = pw(long(129)) }) }},
		{"create: password too short", "password_spec.password", func() error { return user(func(r *idp.CreateUserRequest) { r.Credentials = pw("x7#k") }) }},
		{"create: a common password", "password_spec.password", func() error { return user(func(r *idp.CreateUserRequest) { r.Credentials = pw("Password1") }) }},
		{"create: the login in the password", "password_spec.password", func() error {
			return user(func(r *idp.CreateUserRequest) { r.Credentials = pw("my-VALID-pass-9") })
		}},
		{"create: no password", "credentials", func() error { return user(func(r *idp.CreateUserRequest) { r.Credentials = nil }) }},
		{"create: a password hash", "password_hash", func() error {
			return user(func(r *idp.CreateUserRequest) {
				r.Credentials = &idp.CreateUserRequest_PasswordHash{PasswordHash: &idp.PasswordHash{PasswordHash: "x", PasswordHashType: idp.PasswordHash_LDAP_PBKDF2_SHA256}}
			})
		}},
		{"get: user_id missing", "user_id", func() error { _, err := p.users.Get(p.admin, &idp.GetUserRequest{}); return err }},
		{"list: page_size too large", "page_size", func() error {
			_, err := p.users.List(p.admin, &idp.ListUsersRequest{UserpoolId: p.pool, PageSize: 1001})
			return err
		}},
		{"list: unsupported filter", "filter", func() error {
			_, err := p.users.List(p.admin, &idp.ListUsersRequest{UserpoolId: p.pool, Filter: "status=1"})
			return err
		}},
		{"update: email too long", "email", func() error {
			_, err := p.users.Update(p.admin, &idp.UpdateUserRequest{UserId: n.m.Bootstrap().AdminID, Email: long(255)})
			return err
		}},
		{"update: a field that cannot change", "update_mask", func() error {
			_, err := p.users.Update(p.admin, &idp.UpdateUserRequest{UserId: n.m.Bootstrap().AdminID, UpdateMask: &fieldmaskpb.FieldMask{Paths: []string{"status"}}})
			return err
		}},
		{"suspend: reason too long", "reason", func() error {
			_, err := p.users.Suspend(p.admin, &idp.SuspendUserRequest{UserId: n.m.Bootstrap().AdminID, Reason: long(257)})
			return err
		}},
		{"set others' password: password_spec missing", "password_spec", func() error {
			_, err := p.users.SetOthersPassword(p.admin, &idp.SetOthersPasswordRequest{UserId: n.m.Bootstrap().AdminID})
			return err
		}},
		{"set own password: old_password too long", "old_password", func() error {
			_, err := p.users.SetOwnPassword(p.admin, &idp.SetOwnPasswordRequest{OldPassword: long(129), PasswordSpec: &idp.PasswordSpec{Password: "amber-walrus-42"}})
			return err
		}},
		{"create userpool: name pattern", "name", func() error {
			_, err := p.pools.Create(p.admin, &idp.CreateUserpoolRequest{OrganizationId: p.org, Name: "Bad_Name", DefaultSubdomain: "team"})
			return err
		}},
		{"create userpool: default_subdomain missing", "default_subdomain", func() error {
			_, err := p.pools.Create(p.admin, &idp.CreateUserpoolRequest{OrganizationId: p.org, Name: "team"})
			return err
		}},
		{"create userpool: label key", "labels", func() error {
			_, err := p.pools.Create(p.admin, &idp.CreateUserpoolRequest{OrganizationId: p.org, Name: "team", DefaultSubdomain: "team", Labels: map[string]string{"Bad": "x"}})
			return err
		}},
		{"create userpool: a per-pool policy", "password_lifetime_policy", func() error {
			_, err := p.pools.Create(p.admin, &idp.CreateUserpoolRequest{OrganizationId: p.org, Name: "team", DefaultSubdomain: "team",
				PasswordLifetimePolicy: &idp.PasswordLifetimePolicy{MaxDaysCount: 90}})
			return err
		}},
		{"get by login: login too long", "login", func() error {
			_, err := iampb.NewYandexPassportUserAccountServiceClient(sdkConn(t, n.addr)).GetByLogin(p.admin, &iampb.GetUserAccountByLoginRequest{Login: long(101)})
			return err
		}},
	} {
		t.Run(c.name, func(t *testing.T) {
			err := c.call()
			if status.Code(err) != codes.InvalidArgument || !strings.HasPrefix(status.Convert(err).Message(), c.field) {
				t.Fatalf("got %v, want InvalidArgument naming %s", err, c.field)
			}
		})
	}
	// is_active false makes a suspended user.
	op, err := p.users.Create(p.admin, &idp.CreateUserRequest{UserpoolId: p.pool, Username: "later@default", FullName: "Later", IsActive: wrapperspb.Bool(false), Credentials: pw("amber-walrus-42")})
	if err != nil || opResponse(t, op, &idp.User{}).Status != idp.User_SUSPENDED {
		t.Fatalf("create an inactive user: %v %v", op, err)
	}
	// REST answers the same, as google.rpc.Status JSON.
	r := n.rest("POST", "/organization-manager/v1/idp/users", n.iamToken(), map[string]any{"userpoolId": p.pool, "username": "x@default", "fullName": "X",
		"passwordSpec": map[string]any{"password": "qwertyuiop"}})
	if r.status != 400 || !strings.HasPrefix(str(r.body, "message"), "password_spec.password") {
		t.Fatalf("REST create with a common password: %d %s", r.status, r.raw)
	}
}

// TestAttackUserTakesOverAnother: a user with no permission cannot set
// another user's password, suspend, reactivate or delete them; and a user
// administrator of the pool cannot take over the organization's admin by
// setting the admin's password (the escalation guard: the caller must hold
// all the target holds).
func TestAttackUserTakesOverAnother(t *testing.T) {
	n := start(t, t.TempDir(), "")
	p := newPeople(t, n)
	admin := n.m.Bootstrap().AdminID
	alice := p.create("alice@default", "amber-walrus-42")
	bob := p.create("bob@default", "copper-heron-77")
	asBob := bearerCtx(p.login("bob@default", "copper-heron-77"))
	spec := &idp.PasswordSpec{Password: "stolen-account-99"}

	_, err := p.users.SetOthersPassword(asBob, &idp.SetOthersPasswordRequest{UserId: alice.Id, PasswordSpec: spec})
	wantCode(t, "bob sets alice's password", err, codes.PermissionDenied)
	_, err = p.users.Suspend(asBob, &idp.SuspendUserRequest{UserId: alice.Id})
	wantCode(t, "bob suspends alice", err, codes.PermissionDenied)
	_, err = p.users.Delete(asBob, &idp.DeleteUserRequest{UserId: alice.Id})
	wantCode(t, "bob deletes alice", err, codes.PermissionDenied)
	_, err = p.users.Get(asBob, &idp.GetUserRequest{UserId: alice.Id})
	wantCode(t, "bob reads alice", err, codes.PermissionDenied)
	_, err = p.users.Get(asBob, &idp.GetUserRequest{UserId: "ajunosuchuser0000000"})
	wantCode(t, "bob probes for a user that does not exist", err, codes.PermissionDenied)
	_, err = p.users.Create(asBob, &idp.CreateUserRequest{UserpoolId: p.pool, Username: "mallory@default", FullName: "M",
		Credentials: &idp.CreateUserRequest_PasswordSpec{PasswordSpec: &idp.PasswordSpec{Password: "amber-walrus-42"}}})
	wantCode(t, "bob creates a user", err, codes.PermissionDenied)
	if r := n.rest("POST", "/warden/v1/userAccounts/"+alice.Id+":setPassword", p.login("bob@default", "copper-heron-77"), map[string]any{"password": "stolen-account-99"}); r.status != 403 {
		t.Fatalf("bob sets alice's password through the Warden route: %d %s", r.status, r.raw)
	}

	// Bob becomes user administrator of the pool: alice (no roles) is his
	// to manage, the organization's admin is not.
	if r := n.rest("PATCH", "/organization-manager/v1/idp/userpools/"+p.pool+":updateAccessBindings", n.iamToken(), map[string]any{"accessBindingDeltas": []any{
		map[string]any{"action": "ADD", "accessBinding": map[string]any{"roleId": "organization-manager.userpools.userAdmin", "subject": map[string]string{"type": "userAccount", "id": bob.Id}}},
	}}); r.status != 200 {
		t.Fatalf("bind userAdmin on the pool: %s", r.raw)
	}
	asBob = bearerCtx(p.login("bob@default", "copper-heron-77"))
	within(t, "bob's binding applies", func() bool {
		_, err := p.users.Get(asBob, &idp.GetUserRequest{UserId: alice.Id})
		return err == nil
	})
	if _, err := p.users.SetOthersPassword(asBob, &idp.SetOthersPasswordRequest{UserId: alice.Id, PasswordSpec: spec}); err != nil {
		t.Fatalf("the pool's user admin sets a role-less user's password: %v", err)
	}
	_, err = p.users.SetOthersPassword(asBob, &idp.SetOthersPasswordRequest{UserId: admin, PasswordSpec: spec})
	wantCode(t, "the pool's user admin sets the organization admin's password", err, codes.PermissionDenied)
	if r := n.rest("POST", "/warden/v1/login", "", map[string]string{"login": "admin", "password": "stolen-account-99"}); r.status == 200 {
		t.Fatal("the admin's password was taken over")
	}
}

// TestUserSuspensionAcrossNodes: with two wardend on one PostgreSQL, a user
// suspended or deleted through one is refused by the other within a
// second, whatever credential they present.
func TestUserSuspensionAcrossNodes(t *testing.T) {
	pg := postgresBackend(t)
	dir, db := t.TempDir(), pg.database(t)
	defaults := func(c *server.Config) { c.RefreshInterval = 200 * time.Millisecond }
	a := start(t, dir, db, defaults)
	b := start(t, dir, db, defaults)
	p := newPeople(t, a)
	alice := p.create("alice@default", "amber-walrus-42")
	r := a.rest("POST", "/warden/v1/login", "", map[string]string{"login": "alice@default", "password": "amber-walrus-42"})
	oauth := str(r.body, "oauthToken")
	iamTok := p.login("alice@default", "amber-walrus-42")
	readSelf := func() int {
		return b.rest("GET", "/organization-manager/v1/idp/users/"+alice.Id, iamTok, nil).status
	}
	exchange := func() int {
		return b.rest("POST", "/iam/v1/tokens", "", map[string]string{"yandexPassportOauthToken": oauth}).status
	}
	within(t, "alice's token accepted by b", func() bool { return readSelf() == 200 })

	if _, err := p.users.Suspend(p.admin, &idp.SuspendUserRequest{UserId: alice.Id}); err != nil {
		t.Fatal(err)
	}
	within(t, "suspension through a enforced by b", func() bool { return readSelf() == 401 && exchange() == 401 })
	if _, err := p.users.Reactivate(p.admin, &idp.ReactivateUserRequest{UserId: alice.Id}); err != nil {
		t.Fatal(err)
	}
	within(t, "reactivation through a seen by b", func() bool { return readSelf() == 200 && exchange() == 200 })
	if _, err := p.users.Delete(p.admin, &idp.DeleteUserRequest{UserId: alice.Id}); err != nil {
		t.Fatal(err)
	}
	within(t, "deletion through a enforced by b", func() bool { return readSelf() == 401 && exchange() == 401 })
}

// TestPasswordMaxAge: past --password-max-age a login with the right
// password is refused saying the password expired; a wrong one is refused
// as always, saying nothing; GetSelfPasswordMetadata tells when it expires.
func TestPasswordMaxAge(t *testing.T) {
	var now atomic.Int64
	now.Store(time.Now().UnixNano())
	clock := func() time.Time { return time.Unix(0, now.Load()) }
	n := start(t, t.TempDir(), "", func(c *server.Config) { c.PasswordMaxAge = time.Hour; c.Now = clock })
	p := newPeople(t, n)
	p.create("alice@default", "amber-walrus-42")
	me := bearerCtx(p.login("alice@default", "amber-walrus-42"))
	meta, err := p.users.GetSelfPasswordMetadata(me, &emptypb.Empty{})
	if err != nil || meta.ExpiresAt.AsTime().Sub(meta.CreatedAt.AsTime()) != time.Hour {
		t.Fatalf("password metadata: %v %v", meta, err)
	}
	// The same over REST, on the collection's custom verb.
	p.create("carol@default", "quartz-lantern-58")
	r := n.rest("GET", "/organization-manager/v1/idp/users:getSelfPasswordMetadata", p.login("carol@default", "quartz-lantern-58"), nil)
	if r.status != 200 || str(r.body, "expiresAt") == "" {
		t.Fatalf("REST GetSelfPasswordMetadata: %d %s", r.status, r.raw)
	}
	now.Add(int64(2 * time.Hour))
	wrong := n.rest("POST", "/warden/v1/login", "", map[string]string{"login": "alice@default", "password": "not-the-password"})
	if wrong.status != 401 || strings.Contains(wrong.raw, "password expired") {
		t.Fatalf("a wrong password after expiry: %d %s", wrong.status, wrong.raw)
	}
	right := n.rest("POST", "/warden/v1/login", "", map[string]string{"login": "alice@default", "password": "amber-walrus-42"})
	if right.status == 200 || !strings.Contains(str(right.body, "message"), "password expired") {
		t.Fatalf("the right but expired password: %d %s", right.status, right.raw)
	}
	// An administrator sets a new one, which works.
	if _, err := p.users.SetOthersPassword(bearerCtx(n.iamToken()), &idp.SetOthersPasswordRequest{UserId: p.create("bob@default", "copper-heron-77").Id,
		PasswordSpec: &idp.PasswordSpec{Password: "silver-otter-31"}}); err != nil {
		t.Fatal(err)
	}
	p.login("bob@default", "silver-otter-31")
}
