package e2e

import (
	"testing"

	ompb "github.com/yandex-cloud/go-genproto/yandex/cloud/organizationmanager/v1"
	idp "github.com/yandex-cloud/go-genproto/yandex/cloud/organizationmanager/v1/idp"
	"google.golang.org/grpc/codes"
)

// groupWorld is a node with a user API, the admin's group client and
// REST helpers for bindings.
type groupWorld struct {
	*world
	p      *people
	groups ompb.GroupServiceClient
}

func newGroupWorld(t *testing.T) *groupWorld {
	n := start(t, t.TempDir(), "")
	return &groupWorld{world: newWorld(t, n), p: newPeople(t, n), groups: ompb.NewGroupServiceClient(sdkConn(t, n.addr))}
}

// group creates a group as the admin.
func (g *groupWorld) group(t *testing.T, name string) string {
	return groupOf(t, sdkClients{groups: g.groups}, g.p.admin, g.p.org, name).Id
}

// join adds members to a group as the admin.
func (g *groupWorld) join(t *testing.T, group string, ids ...string) {
	members(t, sdkClients{groups: g.groups}, g.p.admin, group, ompb.MemberDelta_ADD, ids...)
}

// user is a new user with a password, and their IAM token.
func (g *groupWorld) user(t *testing.T, login string) (*idp.User, string) {
	u := newUser(t, g.p, login, "amber-walrus-42")
	return u, loginUser(t, g.n, login, "amber-walrus-42")
}

// TestAttackSelfJoinGroup: a user cannot put themself (or anyone) into a
// group without organization-manager.groups.updateMembers, nor change who
// may manage the group; and holding updateMembers is not enough to join a
// group that holds more than oneself (the escalation guard), while a group
// that holds nothing beyond it is theirs to join.
func TestAttackSelfJoinGroup(t *testing.T) {
	g := newGroupWorld(t)
	admins := g.group(t, "admins")
	g.bind(t, "/organization-manager/v1/organizations/"+g.p.org, "ADD", "admin", "group", admins)
	bob, bobTok := g.user(t, "bob@default")
	carol, _ := g.user(t, "carol@default")
	asBob := bearerCtx(bobTok)
	join := func(group string, ids ...string) error {
		var ds []*ompb.MemberDelta
		for _, id := range ids {
			ds = append(ds, &ompb.MemberDelta{Action: ompb.MemberDelta_ADD, SubjectId: id})
		}
		_, err := g.groups.UpdateMembers(asBob, &ompb.UpdateGroupMembersRequest{GroupId: group, MemberDeltas: ds})
		return err
	}

	wantCode(t, "bob adds himself to the admins", join(admins, bob.Id), codes.PermissionDenied)
	wantCode(t, "bob adds carol to the admins", join(admins, carol.Id), codes.PermissionDenied)
	if r := g.n.rest("POST", "/organization-manager/v1/groups/"+admins+":updateAccessBindings", bobTok, map[string]any{"accessBindingDeltas": []any{
		map[string]any{"action": "ADD", "accessBinding": map[string]any{"roleId": "organization-manager.groups.memberAdmin", "subject": map[string]string{"type": "userAccount", "id": bob.Id}}},
	}}); r.status != 403 {
		t.Fatalf("bob makes himself member admin of the group: %d %s", r.status, r.raw)
	}
	if r := g.n.rest("GET", "/resource-manager/v1/folders/"+g.folderA, bobTok, nil); r.status != 403 {
		t.Fatalf("bob reads a folder after his attempts: %d %s", r.status, r.raw)
	}

	// Bob may manage the members of every group of the organization.
	g.bind(t, "/organization-manager/v1/organizations/"+g.p.org, "ADD", "organization-manager.groups.memberAdmin", "userAccount", bob.Id)
	err := join(admins, bob.Id)
	wantCode(t, "a member admin joins a group holding admin", err, codes.PermissionDenied)
	wantCode(t, "a member admin adds carol to a group holding admin", join(admins, carol.Id), codes.PermissionDenied)
	readers := g.group(t, "readers")
	g.bind(t, "/resource-manager/v1/folders/"+g.folderA, "ADD", "viewer", "group", readers)
	wantCode(t, "a member admin joins a group holding what he lacks", join(readers, bob.Id), codes.PermissionDenied)
	ms, err := g.groups.ListMembers(g.p.admin, &ompb.ListGroupMembersRequest{GroupId: admins})
	if err != nil || len(ms.Members) != 0 {
		t.Fatalf("the admins after the attempts: %v %v", ms, err)
	}

	// A group holding nothing beyond what he holds is his to manage.
	empty := g.group(t, "empty")
	if err := join(empty, bob.Id, carol.Id); err != nil {
		t.Fatalf("a member admin fills a group that holds nothing: %v", err)
	}
	if r := g.n.rest("GET", "/resource-manager/v1/folders/"+g.folderA, bobTok, nil); r.status != 403 {
		t.Fatalf("joining an empty group granted something: %d %s", r.status, r.raw)
	}
}

// TestAttackMintThroughGroup: the escalation guard counts what accounts
// hold through groups. A folder editor cannot mint a key for a service
// account of the folder that is organization admin through a group, nor a
// user administrator set the password of a user who is; and what a caller
// holds through a group counts for the caller.
func TestAttackMintThroughGroup(t *testing.T) {
	g := newGroupWorld(t)
	admins := g.group(t, "admins")
	g.bind(t, "/organization-manager/v1/organizations/"+g.p.org, "ADD", "admin", "group", admins)
	robot := str(g.n.rest("POST", "/iam/v1/serviceAccounts", g.admin, map[string]any{"folderId": g.folderA, "name": "admin-robot"}).body, "response", "id")
	frank, _ := g.user(t, "frank@default")
	g.join(t, admins, robot, frank.Id)

	carol, carolTok := g.user(t, "carol@default")
	g.bind(t, "/resource-manager/v1/folders/"+g.folderA, "ADD", "editor", "userAccount", carol.Id)
	// (Only the status is shown: a wrongly minted key's answer holds its
	// private key.)
	if r := g.n.rest("POST", "/iam/v1/keys", carolTok, map[string]any{"serviceAccountId": robot}); r.status != 403 {
		t.Fatalf("a folder editor mints a key for an admin (through a group) robot: %d", r.status)
	}
	if r := g.n.rest("POST", "/iam/v1/tokens:createForServiceAccount", carolTok, map[string]any{"serviceAccountId": robot}); r.status != 403 {
		t.Fatalf("a folder editor mints a token for an admin (through a group) robot: %d", r.status)
	}

	erin, erinTok := g.user(t, "erin@default")
	if r := g.n.rest("PATCH", "/organization-manager/v1/idp/userpools/"+g.p.pool+":updateAccessBindings", g.admin, map[string]any{"accessBindingDeltas": []any{
		map[string]any{"action": "ADD", "accessBinding": map[string]any{"roleId": "organization-manager.userpools.userAdmin", "subject": map[string]string{"type": "userAccount", "id": erin.Id}}},
	}}); r.status != 200 {
		t.Fatalf("bind userAdmin on the pool: %s", r.raw)
	}
	_, err := g.p.users.SetOthersPassword(bearerCtx(erinTok), &idp.SetOthersPasswordRequest{UserId: frank.Id, PasswordSpec: &idp.PasswordSpec{Password: "stolen-account-99"}})
	wantCode(t, "a user administrator sets the password of an admin (through a group)", err, codes.PermissionDenied)

	// Admin of the folder through a group covers an editor of the folder.
	folderAdmins := g.group(t, "folder-admins")
	g.bind(t, "/resource-manager/v1/folders/"+g.folderA, "ADD", "admin", "group", folderAdmins)
	dave, daveTok := g.user(t, "dave@default")
	g.join(t, folderAdmins, dave.Id)
	editorRobot := str(g.n.rest("POST", "/iam/v1/serviceAccounts", g.admin, map[string]any{"folderId": g.folderA, "name": "editor-robot"}).body, "response", "id")
	g.bind(t, "/resource-manager/v1/folders/"+g.folderA, "ADD", "editor", "serviceAccount", editorRobot)
	if r := g.n.rest("POST", "/iam/v1/keys", daveTok, map[string]any{"serviceAccountId": editorRobot}); r.status != 200 {
		t.Fatalf("a folder admin through a group mints a key for a folder editor robot: %d %s", r.status, r.raw)
	}
}
