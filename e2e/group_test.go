package e2e

import (
	"context"
	"slices"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/yandex-cloud/go-genproto/yandex/cloud/access"
	iampb "github.com/yandex-cloud/go-genproto/yandex/cloud/iam/v1"
	ompb "github.com/yandex-cloud/go-genproto/yandex/cloud/organizationmanager/v1"
	idp "github.com/yandex-cloud/go-genproto/yandex/cloud/organizationmanager/v1/idp"
	rmpb "github.com/yandex-cloud/go-genproto/yandex/cloud/resourcemanager/v1"
	"github.com/yandex-cloud/go-sdk/v2/credentials"
	iamsdk "github.com/yandex-cloud/go-sdk/v2/services/iam/v1"
	"google.golang.org/grpc"
	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/status"
	"google.golang.org/protobuf/proto"
	"google.golang.org/protobuf/reflect/protoreflect"
	"google.golang.org/protobuf/types/known/fieldmaskpb"

	"warden/server"
)

// sdkClients are go-genproto clients over the Yandex Go SDK's own
// connection (the SDK authenticates each call with its credentials): the
// SDK module here does not wrap the organization-manager and
// resource-manager services.
type sdkClients struct {
	groups  ompb.GroupServiceClient
	users   idp.UserServiceClient
	folders rmpb.FolderServiceClient
	sas     iamsdk.ServiceAccountClient
}

func newSDKClients(t *testing.T, addr string, creds credentials.Credentials) sdkClients {
	t.Helper()
	sdk := newSDK(t, addr, creds)
	conn := func(method string) grpc.ClientConnInterface {
		c, err := sdk.GetConnection(context.Background(), protoreflect.FullName(method))
		if err != nil {
			t.Fatalf("SDK connection for %s: %v", method, err)
		}
		return c
	}
	return sdkClients{
		groups:  ompb.NewGroupServiceClient(conn("yandex.cloud.organizationmanager.v1.GroupService.Create")),
		users:   idp.NewUserServiceClient(conn("yandex.cloud.organizationmanager.v1.idp.UserService.Create")),
		folders: rmpb.NewFolderServiceClient(conn("yandex.cloud.resourcemanager.v1.FolderService.Get")),
		sas:     iamsdk.NewServiceAccountClient(sdk),
	}
}

// groupOf creates a group through c and returns it.
func groupOf(t *testing.T, c sdkClients, ctx context.Context, org, name string) *ompb.Group {
	t.Helper()
	op, err := c.groups.Create(ctx, &ompb.CreateGroupRequest{OrganizationId: org, Name: name, Description: "team " + name})
	if err != nil {
		t.Fatalf("create group %s: %v", name, err)
	}
	return opResponse(t, op, &ompb.Group{})
}

// members changes a group's members through c.
func members(t *testing.T, c sdkClients, ctx context.Context, group string, action ompb.MemberDelta_MemberAction, ids ...string) {
	t.Helper()
	var ds []*ompb.MemberDelta
	for _, id := range ids {
		ds = append(ds, &ompb.MemberDelta{Action: action, SubjectId: id})
	}
	if _, err := c.groups.UpdateMembers(ctx, &ompb.UpdateGroupMembersRequest{GroupId: group, MemberDeltas: ds}); err != nil {
		t.Fatalf("%s %v in group %s: %v", action, ids, group, err)
	}
}

// bindFolder adds or removes a role of a subject on a folder through c.
func bindFolder(t *testing.T, c sdkClients, ctx context.Context, folder string, action access.AccessBindingAction, role, typ, id string) {
	t.Helper()
	_, err := c.folders.UpdateAccessBindings(ctx, &access.UpdateAccessBindingsRequest{ResourceId: folder, AccessBindingDeltas: []*access.AccessBindingDelta{
		{Action: action, AccessBinding: &access.AccessBinding{RoleId: role, Subject: &access.Subject{Type: typ, Id: id}}},
	}})
	if err != nil {
		t.Fatalf("%s %s for %s %s on %s: %v", action, role, typ, id, folder, err)
	}
}

// TestGroupsAcrossNodes is the scenario with the Yandex Go SDK: the
// admin creates a user and a group, adds the user and binds editor on a
// folder to the group; the user logs in with a password and creates a
// service account there through a second wardend, and is refused in
// another folder; removing the user from the group, and deleting the
// group, are enforced by the second wardend on the same PostgreSQL within a
// second.
func TestGroupsAcrossNodes(t *testing.T) {
	pg := postgresBackend(t)
	dir, db := t.TempDir(), pg.database(t)
	defaults := func(c *server.Config) { c.RefreshInterval = 200 * time.Millisecond }
	a := start(t, dir, db, defaults)
	b := start(t, dir, db, defaults)
	w := newWorld(t, a)
	p := newPeople(t, a)
	ctx := context.Background()
	admin := newSDKClients(t, a.addr, credentials.IAMToken(w.admin))

	alice := newUserVia(t, admin.users, ctx, p.pool, "alice@default", "amber-walrus-42")
	team := groupOf(t, admin, ctx, p.org, "team-a")
	members(t, admin, ctx, team.Id, ompb.MemberDelta_ADD, alice.Id)
	bindFolder(t, admin, ctx, w.folderA, access.AccessBindingAction_ADD, "editor", "group", team.Id)

	// The user logs in with a password and works through node b.
	asAlice := newSDKClients(t, b.addr, credentials.IAMToken(loginUser(t, b, "alice@default", "amber-walrus-42")))
	createSA := func(folder, name string) error {
		op, err := asAlice.sas.Create(ctx, &iampb.CreateServiceAccountRequest{FolderId: folder, Name: name})
		if err == nil {
			_, err = op.Wait(ctx)
		}
		return err
	}
	within(t, "the group's binding applies on b", func() bool {
		_, err := asAlice.sas.List(ctx, &iampb.ListServiceAccountsRequest{FolderId: w.folderA})
		return err == nil
	})
	if err := createSA(w.folderA, "alices-robot"); err != nil {
		t.Fatalf("a member of the group creates a service account in the folder: %v", err)
	}
	wantCode(t, "the member creates a service account in another folder", createSA(w.folderB, "elsewhere"), codes.PermissionDenied)
	eff, err := asAlice.groups.ListEffective(ctx, &ompb.ListEffectiveRequest{SubjectId: alice.Id})
	if err != nil || len(eff.GroupMembershipInfo) != 1 || eff.GroupMembershipInfo[0].GroupName != "team-a" {
		t.Fatalf("the user lists their groups: %v %v", eff, err)
	}

	// Removing her from the group is enforced by b.
	members(t, admin, ctx, team.Id, ompb.MemberDelta_REMOVE, alice.Id)
	within(t, "removal through a enforced by b", func() bool {
		return codeOf(createSA(w.folderA, "too-late")) == codes.PermissionDenied
	})
	if ms, err := admin.groups.ListMembers(ctx, &ompb.ListGroupMembersRequest{GroupId: team.Id}); err != nil || len(ms.Members) != 0 {
		t.Fatalf("members after the removal: %v %v", ms, err)
	}

	// Back in the group, then the group is deleted: its binding goes with
	// it, on b too.
	members(t, admin, ctx, team.Id, ompb.MemberDelta_ADD, alice.Id)
	within(t, "membership through a seen by b", func() bool { return createSA(w.folderA, "back-again") == nil })
	if _, err := admin.groups.Delete(ctx, &ompb.DeleteGroupRequest{GroupId: team.Id}); err != nil {
		t.Fatalf("delete the group: %v", err)
	}
	within(t, "deleting the group through a enforced by b", func() bool {
		return codeOf(createSA(w.folderA, "after-the-group")) == codes.PermissionDenied
	})
	bs, err := admin.folders.ListAccessBindings(ctx, &access.ListAccessBindingsRequest{ResourceId: w.folderA})
	if err != nil || slices.ContainsFunc(bs.AccessBindings, func(b *access.AccessBinding) bool { return b.Subject.Id == team.Id }) {
		t.Fatalf("the deleted group's binding remains on the folder: %v %v", bs, err)
	}
}

// TestGroupsSDK: the group API itself, on every backend — reads, renames,
// a service account as a member, the organization's members group,
// members of another organization and groups in groups refused, and a
// suspended member granted nothing.
func TestGroupsSDK(t *testing.T) {
	for _, be := range backends(t) {
		t.Run(be.name, func(t *testing.T) {
			n := start(t, t.TempDir(), be.database(t))
			w := newWorld(t, n)
			p := newPeople(t, n)
			ctx := context.Background()
			admin := newSDKClients(t, n.addr, credentials.IAMToken(w.admin))
			bob := newUser(t, p, "bob@default", "copper-heron-77")
			asBob := newSDKClients(t, n.addr, credentials.IAMToken(loginUser(t, n, "bob@default", "copper-heron-77")))

			ops := groupOf(t, admin, ctx, p.org, "Ops.Team")
			if got, err := admin.groups.Get(ctx, &ompb.GetGroupRequest{GroupId: ops.Id}); err != nil || got.Name != "Ops.Team" || got.OrganizationId != p.org {
				t.Fatalf("get: %v %v", got, err)
			}
			_, err := admin.groups.Create(ctx, &ompb.CreateGroupRequest{OrganizationId: p.org, Name: "Ops.Team"})
			wantCode(t, "a second group of the name", err, codes.AlreadyExists)
			list, err := admin.groups.List(ctx, &ompb.ListGroupsRequest{OrganizationId: p.org, Filter: `name="Ops.Team"`})
			if err != nil || len(list.Groups) != 1 || list.Groups[0].Id != ops.Id {
				t.Fatalf("list by name: %v %v", list, err)
			}
			if _, err := admin.groups.Update(ctx, &ompb.UpdateGroupRequest{GroupId: ops.Id, Name: "ops"}); err != nil {
				t.Fatalf("rename: %v", err)
			}

			// A service account as a member holds the group's role.
			members(t, admin, ctx, ops.Id, ompb.MemberDelta_ADD, w.robot, bob.Id, bob.Id)
			ms, err := admin.groups.ListMembers(ctx, &ompb.ListGroupMembersRequest{GroupId: ops.Id, PageSize: 1})
			if err != nil || len(ms.Members) != 1 || ms.NextPageToken == "" {
				t.Fatalf("first page of members: %v %v", ms, err)
			}
			bindFolder(t, admin, ctx, w.folderA, access.AccessBindingAction_ADD, "viewer", "group", ops.Id)
			robot := w.n.rest("GET", "/iam/v1/serviceAccounts?folderId="+w.folderA, w.robotToken, nil)
			if robot.status != 200 {
				t.Fatalf("a service account member reads the folder: %d %s", robot.status, robot.raw)
			}

			// Groups in groups and subjects that do not exist are refused.
			other := groupOf(t, admin, ctx, p.org, "other")
			_, err = admin.groups.UpdateMembers(ctx, &ompb.UpdateGroupMembersRequest{GroupId: ops.Id, MemberDeltas: []*ompb.MemberDelta{{Action: ompb.MemberDelta_ADD, SubjectId: other.Id}}})
			wantCode(t, "a group in a group", err, codes.InvalidArgument)
			_, err = admin.groups.UpdateMembers(ctx, &ompb.UpdateGroupMembersRequest{GroupId: ops.Id, MemberDeltas: []*ompb.MemberDelta{{Action: ompb.MemberDelta_ADD, SubjectId: "ajunosuchuser0000000"}}})
			wantCode(t, "a member that does not exist", err, codes.InvalidArgument)

			// The organization's members group: every user, no service account.
			usersGroup := "group:organization:" + p.org + ":users"
			bindFolder(t, admin, ctx, w.folderB, access.AccessBindingAction_ADD, "editor", "system", usersGroup)
			if _, err := asBob.sas.List(ctx, &iampb.ListServiceAccountsRequest{FolderId: w.folderB}); err != nil {
				t.Fatalf("a user of the organization holds its members group's role: %v", err)
			}
			if r := w.n.rest("GET", "/iam/v1/serviceAccounts?folderId="+w.folderB, w.robotToken, nil); r.status != 403 {
				t.Fatalf("a service account holds the organization's members group's role: %d %s", r.status, r.raw)
			}
			_, err = admin.folders.UpdateAccessBindings(ctx, &access.UpdateAccessBindingsRequest{ResourceId: w.folderB, AccessBindingDeltas: []*access.AccessBindingDelta{
				{Action: access.AccessBindingAction_ADD, AccessBinding: &access.AccessBinding{RoleId: "viewer", Subject: &access.Subject{Type: "system", Id: "group:organization:bpfnosuchorg00000000:users"}}},
			}})
			wantCode(t, "the members group of an organization that does not exist", err, codes.InvalidArgument)
			bindFolder(t, admin, ctx, w.folderB, access.AccessBindingAction_REMOVE, "editor", "system", usersGroup)

			// A suspended member stays a member and holds nothing.
			if _, err := p.users.Suspend(p.admin, &idp.SuspendUserRequest{UserId: bob.Id}); err != nil {
				t.Fatal(err)
			}
			_, err = asBob.sas.List(ctx, &iampb.ListServiceAccountsRequest{FolderId: w.folderA})
			wantCode(t, "a suspended member", err, codes.Unauthenticated)
			eff, err := admin.groups.ListEffective(ctx, &ompb.ListEffectiveRequest{SubjectId: bob.Id, OrganizationId: p.org})
			if err != nil || len(eff.GroupMembershipInfo) != 1 || eff.GroupMembershipInfo[0].GroupId != ops.Id {
				t.Fatalf("a suspended user's groups: %v %v", eff, err)
			}
			if _, err := p.users.Reactivate(p.admin, &idp.ReactivateUserRequest{UserId: bob.Id}); err != nil {
				t.Fatal(err)
			}
			if _, err := asBob.sas.List(ctx, &iampb.ListServiceAccountsRequest{FolderId: w.folderA}); err != nil {
				t.Fatalf("a reactivated member: %v", err)
			}
			// Deleting a member takes it out of its groups.
			if _, err := p.users.Delete(p.admin, &idp.DeleteUserRequest{UserId: bob.Id}); err != nil {
				t.Fatal(err)
			}
			ms, err = admin.groups.ListMembers(ctx, &ompb.ListGroupMembersRequest{GroupId: ops.Id})
			if err != nil || len(ms.Members) != 1 || ms.Members[0].SubjectId != w.robot || ms.Members[0].SubjectType != "serviceAccount" {
				t.Fatalf("members after deleting one: %v %v", ms, err)
			}
		})
	}
}

// codeOf is the gRPC code of err (OK for nil).
func codeOf(err error) codes.Code { return status.Code(err) }

// TestGroupValidationEveryRule reads the validation rules from the protos
// of every GroupService method Warden implements, breaks each in turn, and
// expects InvalidArgument naming the field; then the rules of the repeated
// member deltas and of group subjects in bindings.
func TestGroupValidationEveryRule(t *testing.T) {
	n := start(t, t.TempDir(), "")
	p := newPeople(t, n)
	w := newWorld(t, n)
	conn := sdkConn(t, n.addr)
	groups := ompb.NewGroupServiceClient(conn)
	g := groupOf(t, sdkClients{groups: groups}, p.admin, p.org, "valid")
	const svc = "/yandex.cloud.organizationmanager.v1.GroupService/"
	add := []*ompb.MemberDelta{{Action: ompb.MemberDelta_ADD, SubjectId: w.robot}}
	bases := map[string]proto.Message{
		svc + "Get":            &ompb.GetGroupRequest{GroupId: g.Id},
		svc + "List":           &ompb.ListGroupsRequest{OrganizationId: p.org},
		svc + "Create":         &ompb.CreateGroupRequest{OrganizationId: p.org, Name: "fresh"},
		svc + "Update":         &ompb.UpdateGroupRequest{GroupId: g.Id, UpdateMask: &fieldmaskpb.FieldMask{Paths: []string{"description"}}, Description: "d"},
		svc + "Delete":         &ompb.DeleteGroupRequest{GroupId: "ajgnosuchgroup000000"},
		svc + "ListOperations": &ompb.ListGroupOperationsRequest{GroupId: g.Id},
		svc + "ListMembers":    &ompb.ListGroupMembersRequest{GroupId: g.Id},
		svc + "UpdateMembers":  &ompb.UpdateGroupMembersRequest{GroupId: g.Id, MemberDeltas: add},
		svc + "ListEffective":  &ompb.ListEffectiveRequest{SubjectId: w.robot, OrganizationId: p.org},
	}
	checked := 0
	for method, base := range bases {
		out := outputOf(t, method)
		for _, v := range violations(base.ProtoReflect().Descriptor(), "") {
			t.Run(strings.TrimPrefix(method, svc)+"/"+v.name, func(t *testing.T) {
				req := proto.Clone(base)
				v.apply(req.ProtoReflect())
				err := conn.Invoke(p.admin, method, req, out.New().Interface())
				if status.Code(err) != codes.InvalidArgument || !strings.HasPrefix(status.Convert(err).Message(), v.field) {
					t.Fatalf("%v: got %v, want InvalidArgument naming %s", req, err, v.field)
				}
			})
			checked++
		}
	}
	if checked < 25 {
		t.Fatalf("only %d rules broken: the rules were not read", checked)
	}
	long := strings.Repeat("a", 51)
	deltas := func(ds ...*ompb.MemberDelta) error {
		_, err := groups.UpdateMembers(p.admin, &ompb.UpdateGroupMembersRequest{GroupId: g.Id, MemberDeltas: ds})
		return err
	}
	many := make([]*ompb.MemberDelta, 1001)
	for i := range many {
		many[i] = &ompb.MemberDelta{Action: ompb.MemberDelta_ADD, SubjectId: w.robot}
	}
	binding := func(typ, id string) error {
		_, err := rmpb.NewFolderServiceClient(conn).UpdateAccessBindings(p.admin, &access.UpdateAccessBindingsRequest{ResourceId: w.folderA,
			AccessBindingDeltas: []*access.AccessBindingDelta{{Action: access.AccessBindingAction_ADD, AccessBinding: &access.AccessBinding{RoleId: "viewer", Subject: &access.Subject{Type: typ, Id: id}}}}})
		return err
	}
	for _, c := range []struct {
		name, field string
		call        func() error
	}{
		{"no member deltas", "member_deltas", func() error { return deltas() }},
		{"more than 1000 member deltas", "member_deltas", func() error { return deltas(many...) }},
		{"a delta without an action", "member_deltas[0].action", func() error { return deltas(&ompb.MemberDelta{SubjectId: w.robot}) }},
		{"a delta without a subject", "member_deltas[0].subject_id", func() error { return deltas(&ompb.MemberDelta{Action: ompb.MemberDelta_ADD}) }},
		{"a delta's subject too long", "member_deltas[0].subject_id", func() error { return deltas(&ompb.MemberDelta{Action: ompb.MemberDelta_ADD, SubjectId: long}) }},
		{"a group as a member", "member_deltas[1].subject_id", func() error {
			return deltas(add[0], &ompb.MemberDelta{Action: ompb.MemberDelta_ADD, SubjectId: g.Id})
		}},
		{"a folder as a member", "member_deltas[0].subject_id", func() error {
			return deltas(&ompb.MemberDelta{Action: ompb.MemberDelta_ADD, SubjectId: w.folderA})
		}},
		{"a label value against the pattern", "labels", func() error {
			_, err := groups.Create(p.admin, &ompb.CreateGroupRequest{OrganizationId: p.org, Name: "labelled", Labels: map[string]string{"team": "Bad Value"}})
			return err
		}},
		{"too many labels", "labels", func() error {
			labels := map[string]string{}
			for i := range 65 {
				labels["k"+strconv.Itoa(i)] = "v"
			}
			_, err := groups.Create(p.admin, &ompb.CreateGroupRequest{OrganizationId: p.org, Name: "labelled", Labels: labels})
			return err
		}},
		{"an update mask naming what cannot change", "update_mask", func() error {
			_, err := groups.Update(p.admin, &ompb.UpdateGroupRequest{GroupId: g.Id, UpdateMask: &fieldmaskpb.FieldMask{Paths: []string{"organization_id"}}})
			return err
		}},
		{"an update emptying the name", "name", func() error {
			_, err := groups.Update(p.admin, &ompb.UpdateGroupRequest{GroupId: g.Id, UpdateMask: &fieldmaskpb.FieldMask{Paths: []string{"name"}}})
			return err
		}},
		{"an unsupported filter", "filter", func() error {
			_, err := groups.List(p.admin, &ompb.ListGroupsRequest{OrganizationId: p.org, Filter: "labels.team=x"})
			return err
		}},
		{"a binding to a group that does not exist", "access_binding_deltas[0].access_binding.subject", func() error { return binding("group", "ajgnosuchgroup000000") }},
		{"a binding to a user id as a group", "access_binding_deltas[0].access_binding.subject", func() error { return binding("group", w.robot) }},
		{"a binding to an unknown system subject", "access_binding_deltas[0].access_binding.subject.id", func() error { return binding("system", "group:organization:x:admins") }},
	} {
		t.Run(c.name, func(t *testing.T) {
			err := c.call()
			if status.Code(err) != codes.InvalidArgument || !strings.HasPrefix(status.Convert(err).Message(), c.field) {
				t.Fatalf("got %v, want InvalidArgument naming %s", err, c.field)
			}
		})
	}
	// REST answers the same, as google.rpc.Status JSON.
	r := n.rest("POST", "/organization-manager/v1/groups/"+g.Id+":updateMembers", w.admin, map[string]any{"memberDeltas": []any{map[string]any{"action": "ADD", "subjectId": g.Id}}})
	if r.status != 400 || !strings.HasPrefix(str(r.body, "message"), "member_deltas[0].subject_id") {
		t.Fatalf("REST: a group as a member: %d %s", r.status, r.raw)
	}
}

// newUser creates a user with a password as the admin, retrying while the
// server's password hashing is busy (it answers ResourceExhausted and asks
// for a retry: a loaded test machine meets it).
func newUser(t *testing.T, p *people, login, password string) *idp.User {
	t.Helper()
	return newUserVia(t, p.users, p.admin, p.pool, login, password)
}

// newUserVia is newUser through a given client and context.
func newUserVia(t *testing.T, users idp.UserServiceClient, ctx context.Context, pool, login, password string) *idp.User {
	t.Helper()
	deadline := time.Now().Add(20 * time.Second)
	for {
		op, err := users.Create(ctx, &idp.CreateUserRequest{UserpoolId: pool, Username: login, FullName: "Test " + login,
			Credentials: &idp.CreateUserRequest_PasswordSpec{PasswordSpec: &idp.PasswordSpec{Password: password}}})
		if err == nil {
			return opResponse(t, op, &idp.User{})
		}
		if status.Code(err) != codes.ResourceExhausted || time.Now().After(deadline) {
			t.Fatalf("create %s: %v", login, err)
		}
		time.Sleep(200 * time.Millisecond) // the server asked for a retry
	}
}

// loginUser is people.login retrying while password hashing is busy (429).
func loginUser(t *testing.T, n *node, login, password string) string {
	t.Helper()
	deadline := time.Now().Add(20 * time.Second)
	for {
		r := n.rest("POST", "/warden/v1/login", "", map[string]string{"login": login, "password": password})
		if r.status == 200 {
			tok := n.rest("POST", "/iam/v1/tokens", "", map[string]string{"yandexPassportOauthToken": str(r.body, "oauthToken")})
			if tok.status != 200 {
				t.Fatalf("exchange %s's OAuth token: %s", login, tok.raw)
			}
			return str(tok.body, "iamToken")
		}
		if r.status != 429 || time.Now().After(deadline) {
			t.Fatalf("login %s: %d %s", login, r.status, r.raw)
		}
		time.Sleep(200 * time.Millisecond) // the server asked for a retry
	}
}
