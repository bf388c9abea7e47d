package service

import (
	"errors"
	"testing"

	iam "github.com/yandex-cloud/go-genproto/yandex/cloud/iam/v1"

	"warden"
	"warden/storage/sqlite"
	"warden/token"
)

// TestCreateChecksParent: a create reads its parent only when the snapshot
// does not hold it, yet refuses every parent that is missing or of another
// type — also one deleted behind the snapshot's back — with the same
// NotFound, and stores nothing then.
func TestCreateChecksParent(t *testing.T) {
	ctx := t.Context()
	store, err := sqlite.Open(ctx, t.TempDir()+"/w.db")
	if err != nil {
		t.Fatal(err)
	}
	defer store.Close()
	s, err := New(Config{Store: store, Sealer: mustSealer(t)})
	if err != nil {
		t.Fatal(err)
	}
	boot, err := s.Start(ctx)
	if err != nil {
		t.Fatal(err)
	}
	defer s.Close()
	ctx = WithSubject(ctx, SubjectOf(token.SubjectUserAccount, boot.AdminID))
	folder := func(name string) string { // stored, but not through the service: the snapshot does not know it
		t.Helper()
		f := &warden.Resource{ID: warden.NewID(warden.PrefixFolder), Type: warden.TypeFolder, ParentID: boot.CloudID, Name: name, Status: warden.StatusActive}
		if err := store.Update(ctx, func(tx warden.Tx) error { return tx.CreateResource(ctx, f) }); err != nil {
			t.Fatal(err)
		}
		return f.ID
	}
	unknown, gone := folder("unknown"), folder("gone")
	if err := s.authz.reload(ctx); err != nil { // now it knows gone
		t.Fatal(err)
	}
	unknown2 := folder("unknown2")
	if err := store.Update(ctx, func(tx warden.Tx) error { return tx.DeleteResource(ctx, gone) }); err != nil {
		t.Fatal(err)
	}
	missing := warden.NewID(warden.PrefixFolder)
	for _, c := range []struct {
		name, folder string
		ok           bool
	}{
		{"known folder", boot.FolderID, true},
		{"folder unknown to the snapshot", unknown2, true},
		{"folder known after a reload", unknown, true},
		{"a cloud", boot.CloudID, false},
		{"missing", missing, false},
		{"deleted behind the snapshot", gone, false},
	} {
		t.Run(c.name, func(t *testing.T) {
			op, err := s.ServiceAccounts().Create(ctx, &iam.CreateServiceAccountRequest{FolderId: c.folder, Name: "robot"})
			if c.ok {
				if err != nil || op.GetResponse() == nil {
					t.Fatalf("create = %v, %v; want an operation with the account", op, err)
				}
				return
			}
			want := "folder " + c.folder + " not found"
			var we *warden.Error
			if !errors.As(err, &we) || we.Code != warden.NotFound || we.Message != want {
				t.Fatalf("create = %v; want NotFound %q", err, want)
			}
			var rs []*warden.Resource
			if err := store.View(ctx, func(tx warden.Tx) (err error) {
				rs, _, err = tx.ListResources(ctx, warden.ResourceFilter{Type: warden.TypeServiceAccount, ParentID: c.folder})
				return err
			}); err != nil {
				t.Fatal(err)
			}
			if len(rs) != 0 {
				t.Errorf("a refused create stored %d accounts", len(rs))
			}
		})
	}
}
