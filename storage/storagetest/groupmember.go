package storagetest

import (
	"slices"
	"testing"

	"github.com/google/go-cmp/cmp"

	"warden"
)

// testGroupMember: members are added and removed idempotently, listed in
// pages by subject ID, found from either end, every change is named in the
// resource feed, and deleting a member or a group takes its memberships
// along.
func testGroupMember(t *testing.T, s warden.Store) {
	f := folder(t, s)
	var org string
	view(t, s, func(tx warden.Tx) error {
		cloud, err := tx.GetResource(t.Context(), f.ParentID)
		org = cloud.ParentID
		return err
	})
	group := newResource(warden.TypeGroup, org)
	other := newResource(warden.TypeGroup, org)
	alice := newResource(warden.TypeUserAccount, org)
	robot := newResource(warden.TypeServiceAccount, f.ID)
	create(t, s, group, other, alice, robot)
	a := warden.GroupMember{SubjectID: alice.ID, SubjectType: warden.TypeUserAccount}
	r := warden.GroupMember{SubjectID: robot.ID, SubjectType: warden.TypeServiceAccount}
	members := func(id string) []warden.GroupMember {
		t.Helper()
		var out []warden.GroupMember
		view(t, s, func(tx warden.Tx) error {
			for tok := ""; ; {
				page, next, err := tx.GroupMembers(t.Context(), id, warden.Page{Size: 1, Token: tok})
				if err != nil {
					return err
				}
				out = append(out, page...)
				if next == "" {
					return nil
				}
				tok = next
			}
		})
		return out
	}
	groupsOf := func(id string) []string {
		t.Helper()
		var out []string
		view(t, s, func(tx warden.Tx) (err error) {
			out, err = tx.GroupsOf(t.Context(), id)
			return err
		})
		return out
	}
	sorted := func(ms ...warden.GroupMember) []warden.GroupMember {
		return slices.SortedFunc(slices.Values(ms), func(x, y warden.GroupMember) int {
			if x.SubjectID < y.SubjectID {
				return -1
			}
			return 1
		})
	}

	since := tick(t, s)
	update(t, s, func(tx warden.Tx) error {
		return tx.UpdateGroupMembers(t.Context(), group.ID, []warden.GroupMember{a, r, a}, nil)
	})
	update(t, s, func(tx warden.Tx) error {
		return tx.UpdateGroupMembers(t.Context(), group.ID, []warden.GroupMember{a}, nil)
	})
	update(t, s, func(tx warden.Tx) error {
		return tx.UpdateGroupMembers(t.Context(), other.ID, []warden.GroupMember{a}, nil)
	})
	if diff := cmp.Diff(sorted(a, r), members(group.ID), cmpOpts); diff != "" {
		t.Errorf("members after adding (-want +got):\n%s", diff)
	}
	if got, want := groupsOf(alice.ID), slices.Sorted(slices.Values([]string{group.ID, other.ID})); !slices.Equal(got, want) {
		t.Errorf("GroupsOf(alice) = %v, want %v", got, want)
	}
	feed := resourceFeed(t, s, since, group.ID, other.ID)
	slices.Sort(feed)
	if want := slices.Sorted(slices.Values([]string{group.ID + " members", group.ID + " members", other.ID + " members"})); !slices.Equal(feed, want) {
		t.Errorf("feed after three membership changes = %v, want %v", feed, want)
	}
	var all map[string][]warden.GroupMember
	view(t, s, func(tx warden.Tx) (err error) {
		all, err = tx.AllGroupMembers(t.Context())
		return err
	})
	if diff := cmp.Diff(sorted(a, r), sorted(all[group.ID]...), cmpOpts); diff != "" {
		t.Errorf("AllGroupMembers of the group (-want +got):\n%s", diff)
	}

	update(t, s, func(tx warden.Tx) error {
		return tx.UpdateGroupMembers(t.Context(), group.ID, nil, []string{robot.ID, warden.NewID(warden.PrefixUserAccount)})
	})
	if diff := cmp.Diff([]warden.GroupMember{a}, members(group.ID), cmpOpts); diff != "" {
		t.Errorf("members after removing (-want +got):\n%s", diff)
	}

	view(t, s, func(tx warden.Tx) error {
		_, _, err := tx.GroupMembers(t.Context(), group.ID, warden.Page{Token: "%%%"})
		wantCode(t, "GroupMembers with a bad page token", err, warden.InvalidArgument)
		return nil
	})

	// Deleting a member takes it out of every group, and names the groups
	// in the feed; deleting a group drops its members.
	since = tick(t, s)
	update(t, s, func(tx warden.Tx) error { return tx.DeleteResource(t.Context(), alice.ID) })
	if got := members(group.ID); len(got) != 0 {
		t.Errorf("members after deleting the member = %v", got)
	}
	if got := groupsOf(alice.ID); len(got) != 0 {
		t.Errorf("GroupsOf a deleted subject = %v", got)
	}
	got := resourceFeed(t, s, since, group.ID, other.ID)
	slices.Sort(got)
	if want := slices.Sorted(slices.Values([]string{group.ID + " members", other.ID + " members"})); !slices.Equal(got, want) {
		t.Errorf("feed after deleting a member = %v, want %v", got, want)
	}
	update(t, s, func(tx warden.Tx) error {
		return tx.UpdateGroupMembers(t.Context(), other.ID, []warden.GroupMember{r}, nil)
	})
	update(t, s, func(tx warden.Tx) error { return tx.DeleteResource(t.Context(), other.ID) })
	if got := groupsOf(robot.ID); len(got) != 0 {
		t.Errorf("GroupsOf a member of a deleted group = %v", got)
	}
}
