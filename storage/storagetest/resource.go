package storagetest

import (
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"

	"warden"
)

func testResource(t *testing.T, s warden.Store) {
	t.Run("CreateGet", func(t *testing.T) { testResourceCreateGet(t, s) })
	t.Run("CreateErrors", func(t *testing.T) { testResourceCreateErrors(t, s) })
	t.Run("Update", func(t *testing.T) { testResourceUpdate(t, s) })
	t.Run("UpdateErrors", func(t *testing.T) { testResourceUpdateErrors(t, s) })
	t.Run("Delete", func(t *testing.T) { testResourceDelete(t, s) })
	t.Run("DeleteCascades", func(t *testing.T) { testResourceDeleteCascades(t, s) })
}

func testResourceCreateGet(t *testing.T, s warden.Store) {
	org := newResource(warden.TypeOrganization, "")
	org.Description = "an organization"
	org.Labels = map[string]string{"env": "test", "team": "iam"}
	org.Attrs = map[string]string{"billing": "none"}
	sa := newResource(warden.TypeServiceAccount, org.ID)
	sa.Status = warden.StatusSuspended
	create(t, s, org, sa)

	for _, want := range []*warden.Resource{org, sa} {
		t.Run(string(want.Type), func(t *testing.T) {
			var got *warden.Resource
			view(t, s, func(tx warden.Tx) (err error) {
				got, err = tx.GetResource(t.Context(), want.ID)
				return err
			})
			w := *want
			w.CreatedAt = stored(w.CreatedAt)
			if diff := cmp.Diff(&w, got, cmpOpts); diff != "" {
				t.Errorf("GetResource mismatch (-want +got):\n%s", diff)
			}
			// The comparer checks the location too; say plainly why it failed.
			if got.CreatedAt.Location() != time.UTC || got.CreatedAt.Nanosecond()%1000 != 0 {
				t.Errorf("CreatedAt = %v, want microseconds in UTC", got.CreatedAt)
			}
		})
	}

	t.Run("missing", func(t *testing.T) {
		err := s.View(t.Context(), func(tx warden.Tx) error {
			_, err := tx.GetResource(t.Context(), warden.NewID(warden.PrefixFolder))
			return err
		})
		wantCode(t, "GetResource", err, warden.NotFound)
	})
}

func testResourceCreateErrors(t *testing.T, s warden.Store) {
	f := folder(t, s)
	taken := newResource(warden.TypeServiceAccount, f.ID)
	other := folder(t, s)
	org := newResource(warden.TypeOrganization, "")
	create(t, s, taken, org)

	tests := []struct {
		name string
		r    func() *warden.Resource
		want warden.Code
	}{
		{"sibling of the same type with the same name", func() *warden.Resource {
			r := newResource(warden.TypeServiceAccount, f.ID)
			r.Name = taken.Name
			return r
		}, warden.AlreadyExists},
		{"organization with a taken name", func() *warden.Resource {
			r := newResource(warden.TypeOrganization, "")
			r.Name = org.Name
			return r
		}, warden.AlreadyExists},
		{"same name under another parent", func() *warden.Resource {
			r := newResource(warden.TypeServiceAccount, other.ID)
			r.Name = taken.Name
			return r
		}, ""},
		{"same name, sibling of another type", func() *warden.Resource {
			r := newResource(warden.TypeUserAccount, f.ID)
			r.Name = taken.Name
			return r
		}, ""},
		{"missing parent", func() *warden.Resource {
			return newResource(warden.TypeServiceAccount, warden.NewID(warden.PrefixFolder))
		}, warden.NotFound},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			r := tt.r()
			err := s.Update(t.Context(), func(tx warden.Tx) error { return tx.CreateResource(t.Context(), r) })
			wantCode(t, "CreateResource", err, tt.want)
			if got, want := exists(t, s, r.ID), tt.want == ""; got != want {
				t.Errorf("after CreateResource: stored = %v, want %v", got, want)
			}
		})
	}
}

func testResourceUpdate(t *testing.T, s warden.Store) {
	f := folder(t, s)
	sa := newResource(warden.TypeServiceAccount, f.ID)
	sa.Labels = map[string]string{"a": "1"}
	sa.Attrs = map[string]string{"x": "y"}
	create(t, s, sa)

	changed := *sa
	changed.Name = unique("renamed")
	changed.Description = "new description"
	changed.Labels = map[string]string{"b": "2", "c": "3"}
	changed.Status = warden.StatusSuspended
	changed.Attrs = nil
	// Immutable fields: an update must leave them alone.
	changed.Type = warden.TypeUserAccount
	changed.ParentID = folder(t, s).ID
	changed.CreatedAt = base.Add(time.Hour)
	update(t, s, func(tx warden.Tx) error { return tx.UpdateResource(t.Context(), &changed) })

	want := changed
	want.Type, want.ParentID, want.CreatedAt = sa.Type, sa.ParentID, stored(sa.CreatedAt)
	var got *warden.Resource
	view(t, s, func(tx warden.Tx) (err error) {
		got, err = tx.GetResource(t.Context(), sa.ID)
		return err
	})
	if diff := cmp.Diff(&want, got, cmpOpts); diff != "" {
		t.Errorf("GetResource after UpdateResource mismatch (-want +got):\n%s", diff)
	}
}

func testResourceUpdateErrors(t *testing.T, s warden.Store) {
	f := folder(t, s)
	a, b := newResource(warden.TypeServiceAccount, f.ID), newResource(warden.TypeServiceAccount, f.ID)
	create(t, s, a, b)

	tests := []struct {
		name string
		r    func() *warden.Resource
		want warden.Code
	}{
		{"missing", func() *warden.Resource { return newResource(warden.TypeServiceAccount, f.ID) }, warden.NotFound},
		{"name of a sibling", func() *warden.Resource {
			r := *b
			r.Name = a.Name
			return &r
		}, warden.AlreadyExists},
		{"own name", func() *warden.Resource {
			r := *b
			r.Description = "unchanged name"
			return &r
		}, ""},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			r := tt.r()
			err := s.Update(t.Context(), func(tx warden.Tx) error { return tx.UpdateResource(t.Context(), r) })
			wantCode(t, "UpdateResource", err, tt.want)
		})
	}
	var got *warden.Resource
	view(t, s, func(tx warden.Tx) (err error) {
		got, err = tx.GetResource(t.Context(), b.ID)
		return err
	})
	if got.Name != b.Name {
		t.Errorf("after failed rename: name = %q, want %q", got.Name, b.Name)
	}
}

func testResourceDelete(t *testing.T, s warden.Store) {
	f := folder(t, s)
	child := newResource(warden.TypeServiceAccount, f.ID)
	create(t, s, child)

	tests := []struct {
		name string
		id   string
		want warden.Code
	}{
		{"with children", f.ParentID, warden.FailedPrecondition},
		{"missing", warden.NewID(warden.PrefixFolder), warden.NotFound},
		{"leaf", child.ID, ""},
		{"leaf again", child.ID, warden.NotFound},
		{"emptied parent", f.ID, ""},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			existed := exists(t, s, tt.id)
			err := s.Update(t.Context(), func(tx warden.Tx) error { return tx.DeleteResource(t.Context(), tt.id) })
			wantCode(t, "DeleteResource", err, tt.want)
			if got, want := exists(t, s, tt.id), existed && tt.want != ""; got != want {
				t.Errorf("after DeleteResource: stored = %v, want %v", got, want)
			}
		})
	}
}

// testResourceDeleteCascades checks that deleting a resource deletes the
// bindings set on it, the bindings that name it as subject (its grants
// elsewhere must not outlive it) and its credentials, and nothing else.
func testResourceDeleteCascades(t *testing.T, s warden.Store) {
	f := folder(t, s)
	sa, keep := newResource(warden.TypeServiceAccount, f.ID), newResource(warden.TypeServiceAccount, f.ID)
	create(t, s, sa, keep)
	onSA := []warden.AccessBinding{{RoleID: "editor", SubjectType: "serviceAccount", SubjectID: keep.ID}}
	onFolder := []warden.AccessBinding{
		{RoleID: "viewer", SubjectType: "serviceAccount", SubjectID: sa.ID},
		{RoleID: "viewer", SubjectType: "serviceAccount", SubjectID: keep.ID},
	}
	cred, kept := newCredential(warden.CredAPIKey, sa.ID), newCredential(warden.CredAPIKey, keep.ID)
	update(t, s, func(tx warden.Tx) error {
		for _, err := range []error{
			tx.SetAccessBindings(t.Context(), sa.ID, onSA),
			tx.SetAccessBindings(t.Context(), f.ID, onFolder),
			tx.CreateCredential(t.Context(), cred),
			tx.CreateCredential(t.Context(), kept),
		} {
			if err != nil {
				return err
			}
		}
		return nil
	})

	update(t, s, func(tx warden.Tx) error { return tx.DeleteResource(t.Context(), sa.ID) })

	view(t, s, func(tx warden.Tx) error {
		ctx := t.Context()
		if got, err := tx.AccessBindings(ctx, sa.ID); err != nil || len(got) != 0 {
			t.Errorf("AccessBindings(deleted) = %v, %v; want none", got, err)
		}
		got, err := tx.AccessBindings(ctx, f.ID)
		if err != nil {
			return err
		}
		if diff := cmp.Diff(onFolder[1:], got, cmpOpts); diff != "" {
			t.Errorf("AccessBindings(folder) mismatch (-want +got):\n%s", diff)
		}
		_, err = tx.GetCredential(ctx, cred.ID)
		wantCode(t, "GetCredential(deleted subject's)", err, warden.NotFound)
		_, err = tx.CredentialByHash(ctx, cred.Kind, cred.Hash)
		wantCode(t, "CredentialByHash(deleted subject's)", err, warden.NotFound)
		_, err = tx.GetCredential(ctx, kept.ID)
		wantCode(t, "GetCredential(other subject's)", err, "")
		// The cascade is in the credential change feed, like a delete.
		feed, err := tx.CredentialChanges(ctx, time.Now().Add(-time.Minute))
		if err != nil {
			return err
		}
		var entries int
		for _, ch := range feed {
			if ch.CredentialID == cred.ID {
				entries++
			}
		}
		if entries != 2 {
			t.Errorf("credential change feed has %d entries for the deleted subject's credential, want 2 (create, delete)", entries)
		}
		return nil
	})
}
