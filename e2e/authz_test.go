package e2e

import (
	"context"
	"testing"
	"time"

	iampb "github.com/yandex-cloud/go-genproto/yandex/cloud/iam/v1"
	"github.com/yandex-cloud/go-sdk/v2/credentials"
	iamsdk "github.com/yandex-cloud/go-sdk/v2/services/iam/v1"
	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/status"
)

// world is a cloud with folders A and B and a robot service account that
// starts with no rights at all.
type world struct {
	n                       *node
	admin                   string // admin IAM token
	cloud, folderA, folderB string
	robot, robotToken       string
}

func newWorld(t *testing.T, n *node) *world { return newBenchWorld(t, n) }

// newBenchWorld is newWorld for tests and benchmarks alike.
func newBenchWorld(t testing.TB, n *node) *world {
	w := &world{n: n, admin: n.iamToken()}
	w.folderA = n.defaultFolder(w.admin)
	w.cloud = str(n.rest("GET", "/resource-manager/v1/folders/"+w.folderA, w.admin, nil).body, "cloudId")
	b := n.rest("POST", "/resource-manager/v1/folders", w.admin, map[string]any{"cloudId": w.cloud, "name": "folder-b"})
	w.folderB = str(b.body, "response", "id")
	sa := n.rest("POST", "/iam/v1/serviceAccounts", w.admin, map[string]any{"folderId": w.folderB, "name": "robot"})
	w.robot = str(sa.body, "response", "id")
	tok := n.rest("POST", "/iam/v1/tokens:createForServiceAccount", w.admin, map[string]any{"serviceAccountId": w.robot})
	if tok.status != 200 {
		t.Fatalf("token for robot: %s", tok.raw)
	}
	w.robotToken = str(tok.body, "iamToken")
	return w
}

func (w *world) bind(t testing.TB, resourcePath, action, role, subjectType, subjectID string) {
	t.Helper()
	r := w.n.rest("POST", resourcePath+":updateAccessBindings", w.admin, map[string]any{"accessBindingDeltas": []any{
		map[string]any{"action": action, "accessBinding": map[string]any{"roleId": role, "subject": map[string]string{"type": subjectType, "id": subjectID}}},
	}})
	if r.status != 200 {
		t.Fatalf("%s %s on %s: %d %s", action, role, resourcePath, r.status, r.raw)
	}
}

// restCode returns the google.rpc code of a REST answer (0 for success).
func restCode(r response) codes.Code {
	if r.status == 200 {
		return codes.OK
	}
	c, _ := r.body["code"].(float64)
	return codes.Code(c)
}

// TestLeastPrivilege is the scenario, through REST and through the
// Yandex Go SDK: viewer on folder A lists there only; editor on the cloud
// creates anywhere; after removal, denied again.
func TestLeastPrivilege(t *testing.T) {
	for _, b := range backends(t) {
		t.Run(b.name, func(t *testing.T) {
			n := start(t, t.TempDir(), b.database(t))
			w := newWorld(t, n)
			sdk := iamsdk.NewServiceAccountClient(newSDK(t, n.addr, credentials.IAMToken(w.robotToken)))
			ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
			defer cancel()
			check := func(step string, rest response, sdkErr error, want codes.Code) {
				t.Helper()
				if got := restCode(rest); got != want {
					t.Errorf("%s over REST: %v (%s), want %v", step, got, rest.raw, want)
				}
				if got := status.Code(sdkErr); got != want {
					t.Errorf("%s over the SDK: %v, want %v", step, sdkErr, want)
				}
			}
			list := func(folder string) (response, error) {
				r := n.rest("GET", "/iam/v1/serviceAccounts?folderId="+folder, w.robotToken, nil)
				_, err := sdk.List(ctx, &iampb.ListServiceAccountsRequest{FolderId: folder})
				return r, err
			}
			create := func(folder, name string) (response, error) {
				r := n.rest("POST", "/iam/v1/serviceAccounts", w.robotToken, map[string]any{"folderId": folder, "name": name + "-rest"})
				_, err := sdk.Create(ctx, &iampb.CreateServiceAccountRequest{FolderId: folder, Name: name + "-sdk"})
				return r, err
			}

			r, err := list(w.folderA)
			check("list in A before any grant", r, err, codes.PermissionDenied)

			w.bind(t, "/resource-manager/v1/folders/"+w.folderA, "ADD", "viewer", "serviceAccount", w.robot)
			r, err = list(w.folderA)
			check("list in A as viewer of A", r, err, codes.OK)
			r, err = list(w.folderB)
			check("list in B as viewer of A", r, err, codes.PermissionDenied)
			r, err = create(w.folderA, "by-viewer")
			check("create in A as viewer of A", r, err, codes.PermissionDenied)

			w.bind(t, "/resource-manager/v1/clouds/"+w.cloud, "ADD", "editor", "serviceAccount", w.robot)
			r, err = create(w.folderB, "by-editor")
			check("create in B as editor of the cloud", r, err, codes.OK)

			w.bind(t, "/resource-manager/v1/clouds/"+w.cloud, "REMOVE", "editor", "serviceAccount", w.robot)
			r, err = create(w.folderB, "again")
			check("create in B after the binding is removed", r, err, codes.PermissionDenied)
			r, err = list(w.folderA)
			check("list in A still allowed", r, err, codes.OK)
		})
	}
}

// TestNoExistenceLeak: a caller gets PermissionDenied alike for a resource
// that exists elsewhere and for one that does not exist at all.
func TestNoExistenceLeak(t *testing.T) {
	n := start(t, t.TempDir(), "")
	w := newWorld(t, n)
	w.bind(t, "/resource-manager/v1/folders/"+w.folderA, "ADD", "viewer", "serviceAccount", w.robot)
	secret := str(n.rest("POST", "/iam/v1/serviceAccounts", w.admin, map[string]any{"folderId": w.folderB, "name": "hidden"}).body, "response", "id")
	for name, id := range map[string]string{"existing in B": secret, "missing": "ajexxxxxxxxxxxxxxxxx"} {
		r := n.rest("GET", "/iam/v1/serviceAccounts/"+id, w.robotToken, nil)
		if r.status != 403 || restCode(r) != codes.PermissionDenied {
			t.Errorf("%s: %d %s, want 403", name, r.status, r.raw)
		}
	}
	if r := n.rest("GET", "/iam/v1/serviceAccounts/ajexxxxxxxxxxxxxxxxx", w.admin, nil); r.status != 404 {
		t.Errorf("admin asking for a missing account: %d, want 404", r.status)
	}
	folders := n.rest("GET", "/resource-manager/v1/folders?cloudId="+w.cloud, w.robotToken, nil)
	if list, _ := folders.body["folders"].([]any); folders.status != 200 || len(list) != 1 || str(list[0], "id") != w.folderA {
		t.Errorf("folder list of a viewer of A: %d %s", folders.status, folders.raw)
	}
}

func TestSystemGroupsAndInheritance(t *testing.T) {
	n := start(t, t.TempDir(), "")
	w := newWorld(t, n)
	org := str(n.rest("GET", "/resource-manager/v1/clouds/"+w.cloud, w.admin, nil).body, "organizationId")

	w.bind(t, "/resource-manager/v1/folders/"+w.folderB, "ADD", "viewer", "system", "allAuthenticatedUsers")
	if r := n.rest("GET", "/iam/v1/serviceAccounts?folderId="+w.folderB, w.robotToken, nil); r.status != 200 {
		t.Errorf("allAuthenticatedUsers viewer: %d %s", r.status, r.raw)
	}
	if r := n.rest("GET", "/iam/v1/serviceAccounts?folderId="+w.folderB, "", nil); r.status != 401 {
		t.Errorf("anonymous caller with allAuthenticatedUsers binding: %d, want 401", r.status)
	}
	if r := n.rest("GET", "/iam/v1/serviceAccounts?folderId="+w.folderA, w.robotToken, nil); r.status != 403 {
		t.Errorf("allAuthenticatedUsers on B leaked to A: %d", r.status)
	}
	w.bind(t, "/resource-manager/v1/folders/"+w.folderB, "REMOVE", "viewer", "system", "allAuthenticatedUsers")
	w.bind(t, "/resource-manager/v1/folders/"+w.folderB, "ADD", "viewer", "system", "allUsers")
	if r := n.rest("GET", "/iam/v1/serviceAccounts?folderId="+w.folderB, w.robotToken, nil); r.status != 200 {
		t.Errorf("allUsers viewer: %d %s", r.status, r.raw)
	}

	w.bind(t, "/organization-manager/v1/organizations/"+org, "ADD", "editor", "serviceAccount", w.robot)
	for _, f := range []string{w.folderA, w.folderB} {
		if r := n.rest("POST", "/iam/v1/serviceAccounts", w.robotToken, map[string]any{"folderId": f, "name": "org-editor"}); r.status != 200 {
			t.Errorf("organization editor creating in %s: %d %s", f, r.status, r.raw)
		}
	}
	if r := n.rest("POST", "/resource-manager/v1/folders/"+w.folderA+":setAccessBindings", w.robotToken, map[string]any{"accessBindings": []any{}}); r.status != 403 {
		t.Errorf("editor changing access: %d, want 403", r.status)
	}
}

func TestBindingValidation(t *testing.T) {
	n := start(t, t.TempDir(), "")
	w := newWorld(t, n)
	path := "/resource-manager/v1/folders/" + w.folderA + ":setAccessBindings"
	for name, binding := range map[string]map[string]any{
		"unknown role":               {"roleId": "no.such.role", "subject": map[string]string{"type": "serviceAccount", "id": w.robot}},
		"unknown service account":    {"roleId": "viewer", "subject": map[string]string{"type": "serviceAccount", "id": "ajexxxxxxxxxxxxxxxxx"}},
		"user id as service account": {"roleId": "viewer", "subject": map[string]string{"type": "serviceAccount", "id": w.n.m.Bootstrap().AdminID}},
		"unknown system group":       {"roleId": "viewer", "subject": map[string]string{"type": "system", "id": "everyone"}},
		"unknown subject type":       {"roleId": "viewer", "subject": map[string]string{"type": "robot", "id": w.robot}},
	} {
		t.Run(name, func(t *testing.T) {
			r := n.rest("POST", path, w.admin, map[string]any{"accessBindings": []any{binding}})
			if r.status != 400 {
				t.Errorf("got %d %s, want 400", r.status, r.raw)
			}
		})
	}
	if r := n.rest("GET", "/resource-manager/v1/folders/"+w.folderA+":listAccessBindings", w.admin, nil); r.body["accessBindings"] != nil {
		t.Errorf("rejected bindings were stored: %s", r.raw)
	}
}

// TestSuspendStopsTokens: a suspended account's tokens stop at once on the
// node that suspended it, and work again after reactivation.
func TestSuspendStopsTokens(t *testing.T) {
	n := start(t, t.TempDir(), "")
	w := newWorld(t, n)
	w.bind(t, "/resource-manager/v1/folders/"+w.folderA, "ADD", "viewer", "serviceAccount", w.robot)
	path := "/iam/v1/serviceAccounts?folderId=" + w.folderA
	if r := n.rest("GET", path, w.robotToken, nil); r.status != 200 {
		t.Fatalf("before suspend: %d", r.status)
	}
	n.rest("POST", "/iam/v1/serviceAccounts/"+w.robot+":suspend", w.admin, map[string]any{})
	if r := n.rest("GET", path, w.robotToken, nil); r.status != 401 {
		t.Errorf("suspended account's token: %d, want 401", r.status)
	}
	n.rest("POST", "/iam/v1/serviceAccounts/"+w.robot+":reactivate", w.admin, map[string]any{})
	if r := n.rest("GET", path, w.robotToken, nil); r.status != 200 {
		t.Errorf("reactivated account's token: %d, want 200", r.status)
	}
	n.rest("DELETE", "/iam/v1/serviceAccounts/"+w.robot, w.admin, nil)
	if r := n.rest("GET", path, w.robotToken, nil); r.status != 401 {
		t.Errorf("deleted account's token: %d, want 401", r.status)
	}
}

// TestBindingDeltaErrorsNameTheDelta: an invalid ADD is reported at its
// place in the request.
func TestBindingDeltaErrorsNameTheDelta(t *testing.T) {
	n := start(t, t.TempDir(), "")
	w := newWorld(t, n)
	w.bind(t, "/resource-manager/v1/folders/"+w.folderA, "ADD", "viewer", "serviceAccount", w.robot)
	r := n.rest("POST", "/resource-manager/v1/folders/"+w.folderA+":updateAccessBindings", w.admin, map[string]any{"accessBindingDeltas": []any{
		map[string]any{"action": "ADD", "accessBinding": map[string]any{"roleId": "editor", "subject": map[string]string{"type": "serviceAccount", "id": w.robot}}},
		map[string]any{"action": "ADD", "accessBinding": map[string]any{"roleId": "nope", "subject": map[string]string{"type": "serviceAccount", "id": w.robot}}},
	}})
	if msg, _ := r.body["message"].(string); r.status != 400 || msg != `access_binding_deltas[1].access_binding.role_id: role "nope" does not exist` {
		t.Errorf("got %d %s", r.status, r.raw)
	}
}
