package service

import (
	"context"
	"testing"

	"warden"
	"warden/storage/sqlite"
)

// TestEnsureUserpool: a database bootstrapped before userpools existed
// (bootstrap alone makes exactly that) gets the default pool, holding its
// users, once; a second run changes nothing.
func TestEnsureUserpool(t *testing.T) {
	ctx := context.Background()
	store, err := sqlite.Open(ctx, t.TempDir()+"/w.db")
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { store.Close() })
	s, err := New(Config{Store: store, Sealer: mustSealer(t)})
	if err != nil {
		t.Fatal(err)
	}
	boot, err := s.bootstrap(ctx)
	if err != nil {
		t.Fatal(err)
	}
	pools := func() []*warden.Resource {
		var rs []*warden.Resource
		err := store.View(ctx, func(tx warden.Tx) (err error) {
			rs, _, err = tx.ListResources(ctx, warden.ResourceFilter{Type: warden.TypeUserpool, ParentID: boot.OrganizationID, Page: warden.Page{Size: 10}})
			return err
		})
		if err != nil {
			t.Fatal(err)
		}
		return rs
	}
	if got := pools(); len(got) != 0 {
		t.Fatalf("bootstrap alone made pools: %v", got)
	}
	for range 2 {
		if err := s.ensureUserpool(ctx); err != nil {
			t.Fatal(err)
		}
	}
	got := pools()
	if len(got) != 1 || got[0].Name != "default" || got[0].Attrs[attrDomain] != DefaultUserpoolDomain {
		t.Fatalf("pools = %v, want one named default", got)
	}
	admin, err := s.get(ctx, boot.AdminID, warden.TypeUserAccount)
	if err != nil {
		t.Fatal(err)
	}
	if admin.Attrs[attrUserpool] != got[0].ID {
		t.Errorf("the admin's pool = %q, want %s", admin.Attrs[attrUserpool], got[0].ID)
	}
}
