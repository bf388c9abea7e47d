package service

import (
	"slices"
	"testing"

	"warden"
	"warden/access"
	"warden/storage/storagetest"
)

// TestSnapshotFollowsMembership: two nodes on one database. A member added
// to a group through one node holds the group's binding there before the
// call returns and on the other within a second; so do a removal, a
// member's deletion and the group's; neither node rebuilds its snapshot.
func TestSnapshotFollowsMembership(t *testing.T) {
	for _, backend := range []string{"sqlite", "postgres"} {
		t.Run(backend, func(t *testing.T) {
			ctx := t.Context()
			sa, sb := nodeStores(t, backend)
			pop, err := storagetest.Populate(ctx, sa.DB(), 20, 20, 50)
			if err != nil {
				t.Fatal(err)
			}
			catalog, err := access.NewCatalog()
			if err != nil {
				t.Fatal(err)
			}
			a, b := newAuthz(sa, catalog), newAuthz(sb, catalog)
			for _, n := range []*authz{a, b} {
				if err := n.reload(ctx); err != nil {
					t.Fatal(err)
				}
			}
			folder, _ := a.snap.Load().Node(pop.Folders[0])
			cloud, _ := a.snap.Load().Node(folder.ParentID)
			group := &warden.Resource{ID: warden.NewID(warden.PrefixGroup), Type: warden.TypeGroup, ParentID: cloud.ParentID, Name: "team", Status: warden.StatusActive}
			robot, other := pop.Accounts[0], pop.Accounts[1]
			write := func(fn func(tx warden.Tx) error) {
				t.Helper()
				if err := sa.Update(ctx, fn); err != nil {
					t.Fatal(err)
				}
			}
			members := func(id string) warden.ResourceChange {
				return warden.ResourceChange{ResourceID: id, Kind: warden.MembersChanged}
			}
			write(func(tx warden.Tx) error {
				if err := tx.CreateResource(ctx, group); err != nil {
					return err
				}
				return tx.SetAccessBindings(ctx, folder.ID, []warden.AccessBinding{{RoleID: "editor", SubjectType: "group", SubjectID: group.ID}})
			})
			if err := a.created(ctx, group); err != nil {
				t.Fatal(err)
			}
			if err := a.apply(ctx, warden.ResourceChange{ResourceID: folder.ID, Kind: warden.BindingsChanged}); err != nil {
				t.Fatal(err)
			}
			holds := func(sub string) func(s *access.Snapshot) bool {
				return func(s *access.Snapshot) bool {
					return s.Allowed(sub, true, "iam.serviceAccounts.create", folder.ID) && slices.Contains(s.GroupsOf(sub), group.ID)
				}
			}
			not := func(f func(*access.Snapshot) bool) func(*access.Snapshot) bool {
				return func(s *access.Snapshot) bool { return !f(s) }
			}

			add := []warden.GroupMember{{SubjectID: robot, SubjectType: warden.TypeServiceAccount}, {SubjectID: other, SubjectType: warden.TypeServiceAccount}}
			write(func(tx warden.Tx) error { return tx.UpdateGroupMembers(ctx, group.ID, add, nil) })
			if err := a.apply(ctx, members(group.ID)); err != nil {
				t.Fatal(err)
			}
			if !holds(robot)(a.snap.Load()) {
				t.Fatal("the writer does not see its own member added")
			}
			followWithin(t, b, "add", holds(robot))

			write(func(tx warden.Tx) error { return tx.UpdateGroupMembers(ctx, group.ID, nil, []string{robot}) })
			if err := a.apply(ctx, members(group.ID)); err != nil {
				t.Fatal(err)
			}
			if holds(robot)(a.snap.Load()) || !holds(other)(a.snap.Load()) {
				t.Fatal("the writer does not see its own member removed")
			}
			followWithin(t, b, "remove", func(s *access.Snapshot) bool { return !holds(robot)(s) && holds(other)(s) })

			// The follower's edited snapshot agrees with a rebuild.
			edited := b.snap.Load()
			fresh := newAuthz(sb, catalog)
			if err := fresh.reload(ctx); err != nil {
				t.Fatal(err)
			}
			rebuilt := fresh.snap.Load()
			for _, acc := range pop.Accounts {
				if !slices.Equal(edited.GroupsOf(acc), rebuilt.GroupsOf(acc)) ||
					edited.Allowed(acc, true, "iam.serviceAccounts.create", folder.ID) != rebuilt.Allowed(acc, true, "iam.serviceAccounts.create", folder.ID) {
					t.Fatalf("edited and rebuilt snapshots disagree on %s", acc)
				}
			}
			if !slices.Equal(edited.Members(group.ID), []string{other}) {
				t.Fatalf("members on the follower: %v", edited.Members(group.ID))
			}

			// Deleting the group takes its binding and memberships along.
			write(func(tx warden.Tx) error { return tx.DeleteResource(ctx, group.ID) })
			a.removed(group.ID)
			gone := func(s *access.Snapshot) bool {
				return not(holds(other))(s) && len(s.Members(group.ID)) == 0 && len(s.BoundRoles(folder.ID)) == 0
			}
			if !gone(a.snap.Load()) {
				t.Fatal("the writer still holds the deleted group")
			}
			followWithin(t, b, "group delete", gone)
			if a.rebuilds != 1 || b.rebuilds != 1 {
				t.Errorf("rebuilds: writer %d, follower %d; want 1 each (at start)", a.rebuilds, b.rebuilds)
			}
		})
	}
}
