package storagetest

import (
	"slices"
	"strconv"
	"testing"

	"github.com/google/go-cmp/cmp"

	"warden"
)

func testListResources(t *testing.T, s warden.Store) {
	f := folder(t, s)
	var sas []*warden.Resource
	for range 7 {
		sas = append(sas, newResource(warden.TypeServiceAccount, f.ID))
	}
	// Siblings of another type and accounts elsewhere must not show up.
	user := newResource(warden.TypeUserAccount, f.ID)
	elsewhere := newResource(warden.TypeServiceAccount, folder(t, s).ID)
	elsewhere.Name = sas[3].Name
	create(t, s, append(sas, user, elsewhere)...)

	ids := func(rs []*warden.Resource) []string {
		var out []string
		for _, r := range rs {
			out = append(out, r.ID)
		}
		return out
	}
	all := ids(sas)
	slices.Sort(all)

	for _, size := range []int{0, 1, 2, 3, 6, 7, 8, 100} {
		t.Run("size="+strconv.Itoa(size), func(t *testing.T) {
			got, pages := listAll(t, s, warden.ResourceFilter{Type: warden.TypeServiceAccount, ParentID: f.ID, Page: warden.Page{Size: size}})
			if diff := cmp.Diff(all, ids(got)); diff != "" {
				t.Errorf("IDs over all pages mismatch (-want +got):\n%s", diff)
			}
			wantPages := 1
			if size > 0 {
				wantPages = max(1, (len(all)+size-1)/size)
			}
			if pages != wantPages {
				t.Errorf("pages = %d, want %d", pages, wantPages)
			}
		})
	}

	filters := []struct {
		name string
		f    warden.ResourceFilter
		want []string
	}{
		{"by name", warden.ResourceFilter{Type: warden.TypeServiceAccount, ParentID: f.ID, Name: sas[3].Name}, []string{sas[3].ID}},
		{"by name under any parent", warden.ResourceFilter{Type: warden.TypeServiceAccount, Name: sas[3].Name}, sorted(sas[3].ID, elsewhere.ID)},
		{"by type", warden.ResourceFilter{Type: warden.TypeUserAccount, ParentID: f.ID}, []string{user.ID}},
		{"no match", warden.ResourceFilter{Type: warden.TypeServiceAccount, ParentID: f.ID, Name: unique("none")}, nil},
		{"by name, paged", warden.ResourceFilter{Type: warden.TypeServiceAccount, Name: sas[3].Name, Page: warden.Page{Size: 1}}, sorted(sas[3].ID, elsewhere.ID)},
	}
	for _, tt := range filters {
		t.Run(tt.name, func(t *testing.T) {
			got, _ := listAll(t, s, tt.f)
			if diff := cmp.Diff(tt.want, ids(got), cmpOpts); diff != "" {
				t.Errorf("ListResources mismatch (-want +got):\n%s", diff)
			}
		})
	}

	t.Run("records", func(t *testing.T) {
		var got []*warden.Resource
		view(t, s, func(tx warden.Tx) (err error) {
			got, _, err = tx.ListResources(t.Context(), warden.ResourceFilter{Type: warden.TypeUserAccount, ParentID: f.ID})
			return err
		})
		want := *user
		want.CreatedAt = stored(want.CreatedAt)
		if diff := cmp.Diff([]*warden.Resource{&want}, got, cmpOpts); diff != "" {
			t.Errorf("ListResources mismatch (-want +got):\n%s", diff)
		}
	})

	// Keep filters before paging: pages are full of kept resources, and
	// there is no next page when only dropped ones follow (a token made
	// from a dropped resource told the caller its ID).
	t.Run("keep", func(t *testing.T) {
		dropped := map[string]bool{all[1]: true, all[2]: true, all[len(all)-1]: true}
		var kept []string
		for _, id := range all {
			if !dropped[id] {
				kept = append(kept, id)
			}
		}
		for _, size := range []int{1, 2, 3, 4, 5} {
			t.Run("size="+strconv.Itoa(size), func(t *testing.T) {
				keep := func(r *warden.Resource) bool {
					if r.Type != warden.TypeServiceAccount || r.ParentID != f.ID {
						t.Errorf("Keep called with %s %s, which the filter excludes", r.Type, r.ID)
					}
					return !dropped[r.ID]
				}
				got, pages := listAll(t, s, warden.ResourceFilter{Type: warden.TypeServiceAccount, ParentID: f.ID, Page: warden.Page{Size: size}, Keep: keep})
				if diff := cmp.Diff(kept, ids(got)); diff != "" {
					t.Errorf("IDs over all pages mismatch (-want +got):\n%s", diff)
				}
				if want := (len(kept) + size - 1) / size; pages != want {
					t.Errorf("pages = %d, want %d: a page token after the last kept resource", pages, want)
				}
			})
		}
		got, _ := listAll(t, s, warden.ResourceFilter{Type: warden.TypeServiceAccount, ParentID: f.ID, Keep: func(*warden.Resource) bool { return false }})
		if len(got) != 0 {
			t.Errorf("Keep dropping everything listed %d resources", len(got))
		}
	})

	// Many dropped resources between kept ones: a backend that reads in
	// batches must carry on past a batch with nothing kept.
	t.Run("keep few of many", func(t *testing.T) {
		many := folder(t, s)
		var rs []*warden.Resource
		for range 250 {
			rs = append(rs, newResource(warden.TypeServiceAccount, many.ID))
		}
		create(t, s, rs...)
		every := ids(rs)
		slices.Sort(every)
		kept := []string{every[0], every[120], every[121], every[249]}
		keep := func(r *warden.Resource) bool { return slices.Contains(kept, r.ID) }
		for _, size := range []int{0, 1, 3} {
			got, pages := listAll(t, s, warden.ResourceFilter{Type: warden.TypeServiceAccount, ParentID: many.ID, Page: warden.Page{Size: size}, Keep: keep})
			if diff := cmp.Diff(kept, ids(got)); diff != "" {
				t.Errorf("size %d: IDs over all pages mismatch (-want +got):\n%s", size, diff)
			}
			if want := max(1, (len(kept)+size-1)/max(size, 1)); size > 0 && pages != want {
				t.Errorf("size %d: pages = %d, want %d", size, pages, want)
			}
		}
	})

	t.Run("malformed page token", func(t *testing.T) {
		err := s.View(t.Context(), func(tx warden.Tx) error {
			_, _, err := tx.ListResources(t.Context(), warden.ResourceFilter{Type: warden.TypeServiceAccount, ParentID: f.ID, Page: warden.Page{Token: "not a page token!"}})
			return err
		})
		wantCode(t, "ListResources", err, warden.InvalidArgument)
	})
}

// listAll follows page tokens to the end and returns every item and the
// number of pages.
func listAll(t *testing.T, s warden.Store, f warden.ResourceFilter) ([]*warden.Resource, int) {
	t.Helper()
	var all []*warden.Resource
	for pages := 1; ; pages++ {
		var got []*warden.Resource
		var next string
		view(t, s, func(tx warden.Tx) (err error) {
			got, next, err = tx.ListResources(t.Context(), f)
			return err
		})
		if f.Page.Size > 0 && len(got) > f.Page.Size {
			t.Fatalf("page %d has %d items, more than the page size %d", pages, len(got), f.Page.Size)
		}
		all = append(all, got...)
		if next == "" {
			return all, pages
		}
		if pages > 1000 {
			t.Fatal("ListResources never returns an empty page token")
		}
		f.Page.Token = next
	}
}

func sorted(s ...string) []string {
	slices.Sort(s)
	return s
}
