package e2e

import (
	"slices"
	"testing"

	iampb "github.com/yandex-cloud/go-genproto/yandex/cloud/iam/v1"
	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/status"

	"warden/api/analyzerpb"
)

// TestAccessAnalyzer asks who can reach what both ways: every binding that
// applies to the robot (on its folder, inherited from nowhere: the analyzer
// lists where bindings are set), and every role held on folder B, its own
// and the cloud's and organization's above it; over gRPC and REST, paged,
// validated and refused without the permission.
func TestAccessAnalyzer(t *testing.T) {
	n := start(t, t.TempDir(), "")
	w := newWorld(t, n)
	org := n.m.Bootstrap().OrganizationID
	w.bind(t, "/resource-manager/v1/folders/"+w.folderB, "ADD", "editor", "serviceAccount", w.robot)
	w.bind(t, "/resource-manager/v1/clouds/"+w.cloud, "ADD", "viewer", "serviceAccount", w.robot)
	w.bind(t, "/resource-manager/v1/folders/"+w.folderA, "ADD", "auditor", "system", "allAuthenticatedUsers")
	// The robot in a group that is viewer on folder A.
	group := w.groupWith(t, org, "auditors", w.robot)
	w.bind(t, "/resource-manager/v1/folders/"+w.folderA, "ADD", "viewer", "group", group)

	conn := sdkConn(t, n.addr)
	analyzer := iampb.NewAccessAnalyzerServiceClient(conn)
	admin := bearerCtx(w.admin)

	type row struct{ Role, Resource, Type, BoundTo string }
	var got []row
	tok := ""
	for {
		resp, err := analyzer.ListSubjectAccessBindings(admin, &iampb.ListSubjectAccessBindingsRequest{
			SubjectId: w.robot, OrganizationId: org, PageSize: 1, PageToken: tok,
		})
		if err != nil {
			t.Fatalf("ListSubjectAccessBindings: %v", err)
		}
		for _, b := range resp.SubjectAccessBindings {
			got = append(got, row{b.RoleId, b.Resource.Id, b.Resource.Type, b.SubjectId})
		}
		if tok = resp.NextPageToken; tok == "" {
			break
		}
	}
	for _, want := range []row{
		{"editor", w.folderB, "resource-manager.folder", w.robot},
		{"viewer", w.cloud, "resource-manager.cloud", w.robot},
		{"auditor", w.folderA, "resource-manager.folder", "allAuthenticatedUsers"},
		{"viewer", w.folderA, "resource-manager.folder", group},
	} {
		if !slices.Contains(got, want) {
			t.Errorf("robot's bindings %v lack %v", got, want)
		}
	}
	for _, r := range got {
		if r.BoundTo != w.robot && r.BoundTo != group && r.BoundTo != "allAuthenticatedUsers" && r.BoundTo != "allUsers" {
			t.Errorf("a binding of another subject: %v", r)
		}
	}

	// A user holds what the organization's members group holds.
	orgUsers := "group:organization:" + org + ":users"
	w.bind(t, "/resource-manager/v1/clouds/"+w.cloud, "ADD", "auditor", "system", orgUsers)
	admins, err := analyzer.ListSubjectAccessBindings(admin, &iampb.ListSubjectAccessBindingsRequest{SubjectId: n.m.Bootstrap().AdminID, OrganizationId: org})
	if err != nil {
		t.Fatalf("the admin's bindings: %v", err)
	}
	found := false
	for _, b := range admins.SubjectAccessBindings {
		found = found || (b.SubjectId == orgUsers && b.RoleId == "auditor" && b.Resource.Id == w.cloud)
	}
	if !found {
		t.Errorf("the admin's bindings lack the members group's: %v", admins.SubjectAccessBindings)
	}

	// The same over REST, on Yandex's path.
	r := n.rest("GET", "/iam/v1/listSubjectAccessBindings?subjectId="+w.robot+"&organizationId="+org, w.admin, nil)
	if r.status != 200 {
		t.Fatalf("REST: %d %s", r.status, r.raw)
	}
	if list, _ := r.body["subjectAccessBindings"].([]any); len(list) != len(got) {
		t.Errorf("REST answered %d bindings, gRPC %d: %s", len(list), len(got), r.raw)
	}

	// Validation as the proto declares it, and the permission.
	_, err = analyzer.ListSubjectAccessBindings(admin, &iampb.ListSubjectAccessBindingsRequest{SubjectId: w.robot})
	if status.Code(err) != codes.InvalidArgument {
		t.Errorf("without organization_id: %v, want InvalidArgument", err)
	}
	_, err = analyzer.ListSubjectAccessBindings(bearerCtx(w.robotToken), &iampb.ListSubjectAccessBindingsRequest{SubjectId: w.robot, OrganizationId: org})
	if status.Code(err) != codes.PermissionDenied {
		t.Errorf("robot without auditor on the organization: %v, want PermissionDenied", err)
	}
	_, err = analyzer.ListSubjectAccessBindings(admin, &iampb.ListSubjectAccessBindingsRequest{SubjectId: w.robot, OrganizationId: org, PageToken: "!!"})
	if status.Code(err) != codes.InvalidArgument {
		t.Errorf("malformed page token: %v, want InvalidArgument", err)
	}

	// The reverse: who holds what on folder B.
	res := analyzerpb.NewResourceAccessServiceClient(conn)
	on, err := res.ListResourceAccessBindings(admin, &analyzerpb.ListResourceAccessBindingsRequest{ResourceId: w.folderB})
	if err != nil {
		t.Fatalf("ListResourceAccessBindings: %v", err)
	}
	type held struct {
		Role, Subject, On string
		Inherited         bool
	}
	var holders []held
	for _, b := range on.ResourceAccessBindings {
		holders = append(holders, held{b.RoleId, b.Subject.Type + ":" + b.Subject.Id, b.BoundOn.Id, b.Inherited})
	}
	for _, want := range []held{
		{"editor", "serviceAccount:" + w.robot, w.folderB, false},
		{"viewer", "serviceAccount:" + w.robot, w.cloud, true},
	} {
		if !slices.Contains(holders, want) {
			t.Errorf("holders of folder B %v lack %v", holders, want)
		}
	}
	if len(holders) == 0 || holders[0].Inherited {
		t.Errorf("folder B's own bindings come first: %v", holders)
	}
	for _, h := range holders {
		if h.On == w.folderA {
			t.Errorf("a binding of folder A on folder B: %v", h)
		}
	}
	if r := n.rest("GET", "/warden/v1/listResourceAccessBindings?resourceId="+w.folderB, w.admin, nil); r.status != 200 {
		t.Errorf("REST reverse view: %d %s", r.status, r.raw)
	}
	// Folder A with its groups expanded: the group's binding, and the robot
	// holding viewer through it.
	onA, err := res.ListResourceAccessBindings(admin, &analyzerpb.ListResourceAccessBindingsRequest{ResourceId: w.folderA, ExpandGroups: true})
	if err != nil {
		t.Fatalf("ListResourceAccessBindings(folder A, expand_groups): %v", err)
	}
	var sawGroup, sawMember bool
	for _, b := range onA.ResourceAccessBindings {
		switch {
		case b.RoleId == "viewer" && b.Subject.Id == group && b.Subject.Type == "group" && b.ViaGroup == nil:
			sawGroup = true
		case b.RoleId == "viewer" && b.Subject.Id == w.robot && b.GetViaGroup().GetId() == group && !b.Inherited:
			sawMember = true
		}
	}
	if !sawGroup || !sawMember {
		t.Errorf("folder A expanded: group binding %v, robot through the group %v: %v", sawGroup, sawMember, onA.ResourceAccessBindings)
	}
	// The robot is a viewer of the cloud, not of the organization: refused there.
	_, err = res.ListResourceAccessBindings(bearerCtx(w.robotToken), &analyzerpb.ListResourceAccessBindingsRequest{ResourceId: org})
	if status.Code(err) != codes.PermissionDenied {
		t.Errorf("robot on the organization: %v, want PermissionDenied", err)
	}
	// allAuthenticatedUsers are auditors on folder A: the robot may look there.
	if _, err := res.ListResourceAccessBindings(bearerCtx(w.robotToken), &analyzerpb.ListResourceAccessBindingsRequest{ResourceId: w.folderA}); err != nil {
		t.Errorf("robot on folder A (auditor through allAuthenticatedUsers): %v", err)
	}
	if _, err := res.ListResourceAccessBindings(admin, &analyzerpb.ListResourceAccessBindingsRequest{}); status.Code(err) != codes.InvalidArgument {
		t.Errorf("without resource_id: %v, want InvalidArgument", err)
	}
}

// groupWith creates a group of the organization with one member and
// returns its ID.
func (w *world) groupWith(t *testing.T, org, name, member string) string {
	t.Helper()
	g := w.n.rest("POST", "/organization-manager/v1/groups", w.admin, map[string]any{"organizationId": org, "name": name})
	group := str(g.body, "response", "id")
	if group == "" {
		t.Fatalf("create group %s: %s", name, g.raw)
	}
	if r := w.n.rest("POST", "/organization-manager/v1/groups/"+group+":updateMembers", w.admin, map[string]any{
		"memberDeltas": []any{map[string]any{"action": "ADD", "subjectId": member}},
	}); r.status != 200 {
		t.Fatalf("add %s to group %s: %s", member, name, r.raw)
	}
	return group
}
