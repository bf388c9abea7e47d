package storagetest

import (
	"strings"
	"testing"

	"github.com/google/go-cmp/cmp"
	"github.com/google/go-cmp/cmp/cmpopts"

	"warden"
)

func testAccessBinding(t *testing.T, s warden.Store) {
	f := folder(t, s)
	other := folder(t, s)
	alice, bob := warden.NewID(warden.PrefixUserAccount), warden.NewID(warden.PrefixServiceAccount)
	viewer := warden.AccessBinding{RoleID: "viewer", SubjectType: "userAccount", SubjectID: alice}
	editor := warden.AccessBinding{RoleID: "editor", SubjectType: "serviceAccount", SubjectID: bob}
	admin := warden.AccessBinding{RoleID: "admin", SubjectType: "userAccount", SubjectID: alice}
	everyone := warden.AccessBinding{RoleID: "viewer", SubjectType: "system", SubjectID: "allAuthenticatedUsers"}
	otherBindings := []warden.AccessBinding{editor}
	update(t, s, func(tx warden.Tx) error { return tx.SetAccessBindings(t.Context(), other.ID, otherBindings) })

	// Each step sets bindings on f and then reads them back; the order the
	// store returns bindings in is not part of the contract.
	steps := []struct {
		name string
		set  []warden.AccessBinding
		want []warden.AccessBinding
	}{
		{"none yet", nil, nil},
		{"set", []warden.AccessBinding{viewer, editor}, []warden.AccessBinding{viewer, editor}},
		{"replace", []warden.AccessBinding{admin, everyone}, []warden.AccessBinding{admin, everyone}},
		{"dedupe", []warden.AccessBinding{viewer, viewer, editor, viewer}, []warden.AccessBinding{viewer, editor}},
		{"clear", []warden.AccessBinding{}, nil},
	}
	for i, st := range steps {
		t.Run(st.name, func(t *testing.T) {
			if i > 0 {
				update(t, s, func(tx warden.Tx) error { return tx.SetAccessBindings(t.Context(), f.ID, st.set) })
			}
			got := accessBindings(t, s, f.ID)
			if diff := cmp.Diff(st.want, got, cmpOpts, sortBindings); diff != "" {
				t.Errorf("AccessBindings mismatch (-want +got):\n%s", diff)
			}
			if diff := cmp.Diff(otherBindings, accessBindings(t, s, other.ID), cmpOpts, sortBindings); diff != "" {
				t.Errorf("AccessBindings of another resource changed (-want +got):\n%s", diff)
			}
		})
	}
}

var sortBindings = cmpopts.SortSlices(func(a, b warden.AccessBinding) bool {
	return strings.Join([]string{a.RoleID, a.SubjectType, a.SubjectID}, "\x00") < strings.Join([]string{b.RoleID, b.SubjectType, b.SubjectID}, "\x00")
})

func accessBindings(t *testing.T, s warden.Store, resourceID string) []warden.AccessBinding {
	t.Helper()
	var bs []warden.AccessBinding
	view(t, s, func(tx warden.Tx) (err error) {
		bs, err = tx.AccessBindings(t.Context(), resourceID)
		return err
	})
	return bs
}
