package service

import (
	"fmt"
	"slices"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"
	"github.com/google/go-cmp/cmp/cmpopts"

	"warden"
	"warden/access"
)

// TestListedPagesAsTheStore: every page of a folder's service accounts
// that authz's lists answer from memory is the page the store answers —
// same resources, same token, same refusal of a malformed token — for
// every page size, name filter and Keep, walking each list to its end.
func TestListedPagesAsTheStore(t *testing.T) {
	for _, backend := range []string{"sqlite", "postgres"} {
		t.Run(backend, func(t *testing.T) {
			ctx := t.Context()
			store, _ := nodeStores(t, backend)
			cloud := &warden.Resource{ID: warden.NewID(warden.PrefixCloud), Type: warden.TypeCloud, Name: "c", Status: warden.StatusActive}
			folders := []*warden.Resource{
				{ID: warden.NewID(warden.PrefixFolder), Type: warden.TypeFolder, ParentID: cloud.ID, Name: "f1", Status: warden.StatusActive},
				{ID: warden.NewID(warden.PrefixFolder), Type: warden.TypeFolder, ParentID: cloud.ID, Name: "f2", Status: warden.StatusActive},
				{ID: warden.NewID(warden.PrefixFolder), Type: warden.TypeFolder, ParentID: cloud.ID, Name: "empty", Status: warden.StatusActive},
			}
			err := store.Update(ctx, func(tx warden.Tx) error {
				for _, r := range append([]*warden.Resource{cloud}, folders...) {
					if err := tx.CreateResource(ctx, r); err != nil {
						return err
					}
				}
				for i := range 23 {
					r := &warden.Resource{ID: warden.NewID(warden.PrefixServiceAccount), Type: warden.TypeServiceAccount, ParentID: folders[i%2].ID,
						Name: fmt.Sprintf("robot-%d", i), Description: "d", Labels: map[string]string{"n": fmt.Sprint(i)}, Status: warden.StatusActive,
						CreatedAt: time.Unix(1700000000+int64(i), int64(i)*1000).UTC(), Attrs: map[string]string{attrExpiresAt: "2030-01-01T00:00:00Z"}}
					if err := tx.CreateResource(ctx, r); err != nil {
						return err
					}
				}
				return nil
			})
			if err != nil {
				t.Fatal(err)
			}
			catalog, err := access.NewCatalog()
			if err != nil {
				t.Fatal(err)
			}
			a := newAuthz(store, catalog)
			if err := a.reload(ctx); err != nil {
				t.Fatal(err)
			}
			even := func(r *warden.Resource) bool {
				return r.Labels["n"] != "" && r.Labels["n"][len(r.Labels["n"])-1]%2 == 0
			}
			for _, folder := range folders {
				for _, size := range []int{0, 1, 2, 3, 5, 12, 100} {
					for _, name := range []string{"", "robot-4", "robot-5", "nobody"} {
						for _, keep := range []func(*warden.Resource) bool{nil, even} {
							f := warden.ResourceFilter{Type: warden.TypeServiceAccount, ParentID: folder.ID, Name: name, Page: warden.Page{Size: size}, Keep: keep}
							what := fmt.Sprintf("folder %s, size %d, name %q, keep %v", folder.Name, size, name, keep != nil)
							for pages := 0; ; pages++ {
								var want []*warden.Resource
								var wantNext string
								if err := store.View(ctx, func(tx warden.Tx) (err error) {
									want, wantNext, err = tx.ListResources(ctx, f)
									return err
								}); err != nil {
									t.Fatal(err)
								}
								got, next, err := a.lists.page(f)
								if err != nil {
									t.Fatalf("%s: %v", what, err)
								}
								if diff := cmp.Diff(want, got, cmpopts.EquateEmpty()); diff != "" || next != wantNext {
									t.Fatalf("%s, page %d: memory differs from the store (-store +memory):\n%s\ntoken %q, want %q", what, pages, diff, next, wantNext)
								}
								if next == "" {
									break
								}
								f.Page.Token = next
							}
						}
					}
				}
			}
			bad := warden.ResourceFilter{Type: warden.TypeServiceAccount, ParentID: folders[0].ID, Page: warden.Page{Token: "not base64!"}}
			_, _, err = a.lists.page(bad)
			serr := store.View(ctx, func(tx warden.Tx) error { _, _, err := tx.ListResources(ctx, bad); return err })
			if !warden.IsCode(err, warden.InvalidArgument) || serr == nil || err.Error() != serr.Error() {
				t.Fatalf("malformed token: memory says %v, the store %v", err, serr)
			}
		})
	}
}

// TestListsFollowFeed: two nodes on one database. A service account
// created, renamed, suspended and deleted through one is in (or out of)
// that node's lists before the call returns, and in the other node's
// within a second.
func TestListsFollowFeed(t *testing.T) {
	for _, backend := range []string{"sqlite", "postgres"} {
		t.Run(backend, func(t *testing.T) {
			ctx := t.Context()
			sa, sb := nodeStores(t, backend)
			catalog, err := access.NewCatalog()
			if err != nil {
				t.Fatal(err)
			}
			cloud := &warden.Resource{ID: warden.NewID(warden.PrefixCloud), Type: warden.TypeCloud, Name: "c", Status: warden.StatusActive}
			folder := &warden.Resource{ID: warden.NewID(warden.PrefixFolder), Type: warden.TypeFolder, ParentID: cloud.ID, Name: "f", Status: warden.StatusActive}
			if err := sa.Update(ctx, func(tx warden.Tx) error {
				if err := tx.CreateResource(ctx, cloud); err != nil {
					return err
				}
				return tx.CreateResource(ctx, folder)
			}); err != nil {
				t.Fatal(err)
			}
			a, b := newAuthz(sa, catalog), newAuthz(sb, catalog)
			for _, n := range []*authz{a, b} {
				if err := n.reload(ctx); err != nil {
					t.Fatal(err)
				}
			}
			names := func(n *authz) []string {
				rs, _, err := n.lists.page(warden.ResourceFilter{Type: warden.TypeServiceAccount, ParentID: folder.ID})
				if err != nil {
					t.Fatal(err)
				}
				var out []string
				for _, r := range rs {
					out = append(out, r.Name+"/"+r.Status)
				}
				return out
			}
			step := func(what string, want []string) {
				t.Helper()
				if got := names(a); !slices.Equal(got, want) {
					t.Fatalf("%s: the writer lists %q, want %q", what, got, want)
				}
				deadline := time.Now().Add(time.Second)
				for {
					if err := b.poll(ctx); err != nil {
						t.Fatal(err)
					}
					got := names(b)
					if slices.Equal(got, want) {
						return
					}
					if time.Now().After(deadline) {
						t.Fatalf("%s: the other node lists %q after 1s, want %q", what, got, want)
					}
					time.Sleep(10 * time.Millisecond)
				}
			}
			robot := &warden.Resource{ID: warden.NewID(warden.PrefixServiceAccount), Type: warden.TypeServiceAccount, ParentID: folder.ID,
				Name: "robot", Status: warden.StatusActive, CreatedAt: time.Now().UTC()}
			if err := sa.Update(ctx, func(tx warden.Tx) error { return tx.CreateResource(ctx, robot) }); err != nil {
				t.Fatal(err)
			}
			if err := a.created(ctx, robot); err != nil {
				t.Fatal(err)
			}
			robot.Name = "changed-after-create" // the caller's copy: the lists keep their own
			step("create", []string{"robot/ACTIVE"})

			for _, change := range []struct {
				what string
				edit func(r *warden.Resource)
				want []string
			}{
				{"rename", func(r *warden.Resource) { r.Name = "renamed" }, []string{"renamed/ACTIVE"}},
				{"suspend", func(r *warden.Resource) { r.Status = warden.StatusSuspended }, []string{"renamed/SUSPENDED"}},
			} {
				if err := sa.Update(ctx, func(tx warden.Tx) error {
					r, err := tx.GetResource(ctx, robot.ID)
					if err != nil {
						return err
					}
					change.edit(r)
					return tx.UpdateResource(ctx, r)
				}); err != nil {
					t.Fatal(err)
				}
				if err := a.apply(ctx, warden.ResourceChange{ResourceID: robot.ID, Kind: warden.ResourceChanged}); err != nil {
					t.Fatal(err)
				}
				step(change.what, change.want)
			}

			if err := sa.Update(ctx, func(tx warden.Tx) error { return tx.DeleteResource(ctx, robot.ID) }); err != nil {
				t.Fatal(err)
			}
			a.removed(robot.ID)
			step("delete", nil)
		})
	}
}
