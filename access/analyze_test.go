package access

import (
	"testing"

	"github.com/google/go-cmp/cmp"

	"warden"
)

func TestAnalyzerBindings(t *testing.T) {
	nodes := []Node{
		{ID: "org", Type: warden.TypeOrganization},
		{ID: "c1", Type: warden.TypeCloud, ParentID: "org"},
		{ID: "f1", Type: warden.TypeFolder, ParentID: "c1"},
		{ID: "f2", Type: warden.TypeFolder, ParentID: "c1"},
		{ID: "org2", Type: warden.TypeOrganization},
		{ID: "f9", Type: warden.TypeFolder, ParentID: "org2"},
	}
	bind := func(res, role, sub string) Binding {
		return Binding{ResourceID: res, AccessBinding: warden.AccessBinding{RoleID: role, SubjectType: "userAccount", SubjectID: sub}}
	}
	snap := NewSnapshot(mustCatalog(t), nodes, []Binding{
		bind("c1", "viewer", "alice"),
		bind("f1", "editor", "alice"),
		bind("f1", "viewer", "alice"),
		bind("f1", "editor", "team"),
		bind("f2", "admin", "bob"),
		bind("f9", "admin", "alice"),
		bind("org", "auditor", AllAuthenticatedUsers),
	})
	type row struct{ Res, Role, Sub string }
	rows := func(gs []Grant) []row {
		var out []row
		for _, g := range gs {
			out = append(out, row{g.Resource.ID, g.RoleID, g.SubjectID})
		}
		return out
	}

	got := rows(snap.BindingsOf([]string{"alice", "team", AllAuthenticatedUsers}, "org"))
	want := []row{{"c1", "viewer", "alice"}, {"f1", "editor", "alice"}, {"f1", "editor", "team"}, {"f1", "viewer", "alice"}, {"org", "auditor", AllAuthenticatedUsers}}
	if d := cmp.Diff(want, got); d != "" {
		t.Errorf("BindingsOf within org (-want +got):\n%s", d)
	}
	if got := rows(snap.BindingsOf([]string{"alice"}, "")); len(got) != 4 {
		t.Errorf("BindingsOf anywhere = %v, want 4 rows (org2's included)", got)
	}
	if got := snap.BindingsOf([]string{"nobody"}, "org"); len(got) != 0 {
		t.Errorf("BindingsOf(nobody) = %v", got)
	}

	on, ok := snap.BindingsOn("f1")
	if !ok {
		t.Fatal("BindingsOn(f1): unknown")
	}
	want = []row{{"f1", "editor", "alice"}, {"f1", "viewer", "alice"}, {"f1", "editor", "team"}, {"c1", "viewer", "alice"}, {"org", "auditor", AllAuthenticatedUsers}}
	if d := cmp.Diff(want, rows(on)); d != "" {
		t.Errorf("BindingsOn(f1) (-want +got):\n%s", d)
	}
	if _, ok := snap.BindingsOn("nope"); ok {
		t.Error("BindingsOn(unknown) reported known")
	}

	// After an edit the old snapshot answers as before and the new one
	// sees the change.
	e := snap.Edit()
	e.SetBindings("f1", nil)
	next := e.Snapshot()
	if got := rows(next.BindingsOf([]string{"team"}, "")); len(got) != 0 {
		t.Errorf("after unbinding f1: %v", got)
	}
	if got := rows(snap.BindingsOf([]string{"team"}, "")); len(got) != 1 {
		t.Errorf("old snapshot changed: %v", got)
	}
}
