package service

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"net/url"
	"os"
	"path/filepath"
	"testing"
	"time"

	"github.com/jackc/pgx/v5"

	"warden"
	"warden/access"
	"warden/storage/postgres"
	"warden/storage/sqlite"
	"warden/storage/sqlstore"
	"warden/storage/storagetest"
)

// nodeStores opens two stores on one fresh database of a backend, as two
// wardend processes would: "sqlite" (one file) or "postgres" (skipped
// without WARDEN_TEST_POSTGRES).
func nodeStores(t testing.TB, backend string) (a, b *sqlstore.Store) {
	t.Helper()
	ctx := context.Background()
	switch backend {
	case "sqlite":
		dir := t.TempDir()
		var stores [2]*sqlstore.Store
		for i := range stores {
			s, err := sqlite.Open(ctx, filepath.Join(dir, "w.db"))
			if err != nil {
				t.Fatal(err)
			}
			t.Cleanup(func() { s.Close() })
			stores[i] = s
		}
		return stores[0], stores[1]
	default:
		dsn := freshPostgres(t)
		var stores [2]*sqlstore.Store
		for i := range stores {
			s, err := postgres.Open(ctx, dsn)
			if err != nil {
				t.Fatal(err)
			}
			t.Cleanup(func() { s.Close() })
			stores[i] = s
		}
		return stores[0], stores[1]
	}
}

// freshPostgres creates an empty database on WARDEN_TEST_POSTGRES, dropped
// when the test ends; it skips the test without one.
func freshPostgres(t testing.TB) string {
	t.Helper()
	dsn := os.Getenv("WARDEN_TEST_POSTGRES")
	if dsn == "" {
		t.Skip("WARDEN_TEST_POSTGRES is not set")
	}
	ctx := context.Background()
	conn, err := pgx.Connect(ctx, dsn)
	if err != nil {
		t.Fatalf("connect to WARDEN_TEST_POSTGRES: %v", err)
	}
	defer conn.Close(ctx)
	b := make([]byte, 6)
	rand.Read(b)
	name := "warden_service_" + hex.EncodeToString(b)
	if _, err := conn.Exec(ctx, "CREATE DATABASE "+name); err != nil {
		t.Fatalf("create database: %v", err)
	}
	t.Cleanup(func() {
		conn, err := pgx.Connect(context.Background(), dsn)
		if err != nil {
			return
		}
		defer conn.Close(context.Background())
		conn.Exec(context.Background(), "DROP DATABASE IF EXISTS "+name+" WITH (FORCE)")
	})
	u, err := url.Parse(dsn)
	if err != nil {
		t.Fatalf("parse WARDEN_TEST_POSTGRES: %v", err)
	}
	u.Path = "/" + name
	return u.String()
}

// followWithin polls follower's feed until cond holds of its snapshot,
// failing after a second (the documented bound).
func followWithin(t *testing.T, follower *authz, what string, cond func(*access.Snapshot) bool) {
	t.Helper()
	deadline := time.Now().Add(time.Second)
	for {
		if err := follower.poll(t.Context()); err != nil {
			t.Fatalf("%s: poll: %v", what, err)
		}
		if cond(follower.snap.Load()) {
			return
		}
		if time.Now().After(deadline) {
			t.Fatalf("%s: not applied by the other node within 1s", what)
		}
		time.Sleep(10 * time.Millisecond)
	}
}

// TestSnapshotFollowsFeed: two nodes on one database. The writer sees its
// own create, binding change, suspension and delete before the call
// returns; the other node applies each from the feed within a second — and
// neither rebuilds its snapshot to do so.
func TestSnapshotFollowsFeed(t *testing.T) {
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
			cloud, _ := a.snap.Load().Node(pop.Folders[0])
			folder := &warden.Resource{ID: warden.NewID(warden.PrefixFolder), Type: warden.TypeFolder, ParentID: cloud.ParentID, Name: "new", Status: warden.StatusActive}
			robot := &warden.Resource{ID: warden.NewID(warden.PrefixServiceAccount), Type: warden.TypeServiceAccount, ParentID: folder.ID, Name: "robot", Status: warden.StatusActive}
			write := func(fn func(tx warden.Tx) error) {
				t.Helper()
				if err := sa.Update(ctx, fn); err != nil {
					t.Fatal(err)
				}
			}

			// A folder and an account in it, created through a.
			write(func(tx warden.Tx) error {
				if err := tx.CreateResource(ctx, folder); err != nil {
					return err
				}
				return tx.CreateResource(ctx, robot)
			})
			for _, r := range []*warden.Resource{folder, robot} {
				if err := a.created(ctx, r); err != nil {
					t.Fatal(err)
				}
			}
			if !a.snap.Load().Within(robot.ID, cloud.ParentID) {
				t.Fatal("the writer does not see its own create")
			}
			followWithin(t, b, "create", func(s *access.Snapshot) bool { return s.Within(robot.ID, cloud.ParentID) })

			// A grant on the folder.
			viewer := []warden.AccessBinding{{RoleID: "viewer", SubjectType: "serviceAccount", SubjectID: robot.ID}}
			write(func(tx warden.Tx) error { return tx.SetAccessBindings(ctx, folder.ID, viewer) })
			if err := a.apply(ctx, warden.ResourceChange{ResourceID: folder.ID, Kind: warden.BindingsChanged}); err != nil {
				t.Fatal(err)
			}
			allowed := func(s *access.Snapshot) bool {
				return s.Allowed(robot.ID, true, "iam.serviceAccounts.list", folder.ID)
			}
			if !allowed(a.snap.Load()) {
				t.Fatal("the writer does not see its own grant")
			}
			followWithin(t, b, "grant", allowed)

			// A suspension of the account.
			write(func(tx warden.Tx) error {
				robot.Status = warden.StatusSuspended
				return tx.UpdateResource(ctx, robot)
			})
			if err := a.apply(ctx, warden.ResourceChange{ResourceID: robot.ID, Kind: warden.ResourceChanged}); err != nil {
				t.Fatal(err)
			}
			suspended := func(s *access.Snapshot) bool { n, _ := s.Node(robot.ID); return n.Status == warden.StatusSuspended }
			if !suspended(a.snap.Load()) {
				t.Fatal("the writer does not see its own suspension")
			}
			followWithin(t, b, "suspension", suspended)

			// Deleting the account takes its binding on the folder along.
			write(func(tx warden.Tx) error { return tx.DeleteResource(ctx, robot.ID) })
			a.removed(robot.ID)
			gone := func(s *access.Snapshot) bool {
				_, known := s.Node(robot.ID)
				return !known && !allowed(s) && len(s.BoundRoles(folder.ID)) == 0
			}
			if !gone(a.snap.Load()) {
				t.Fatal("the writer still holds the deleted account or its binding")
			}
			followWithin(t, b, "delete", gone)

			// The follower's edited snapshot is the one a rebuild makes.
			edited := b.snap.Load()
			if err := b.reload(ctx); err != nil {
				t.Fatal(err)
			}
			rebuilt := b.snap.Load()
			if edited.Len() != rebuilt.Len() {
				t.Errorf("edited snapshot holds %d resources, a rebuild %d", edited.Len(), rebuilt.Len())
			}
			for _, f := range append(pop.Folders, folder.ID) {
				for _, acc := range pop.Accounts {
					if edited.Allowed(acc, true, "iam.serviceAccounts.list", f) != rebuilt.Allowed(acc, true, "iam.serviceAccounts.list", f) {
						t.Fatalf("edited and rebuilt snapshots disagree on %s at %s", acc, f)
					}
				}
			}
			if a.rebuilds != 1 || b.rebuilds != 2 {
				t.Errorf("rebuilds: writer %d, follower %d; want 1 (at start) and 2 (at start and the check)", a.rebuilds, b.rebuilds)
			}
		})
	}
}

// TestSnapshotRebuildsOnFeedGap: a node that has not read the feed for
// longer than entries are surely kept rebuilds instead of trusting it.
func TestSnapshotRebuildsOnFeedGap(t *testing.T) {
	ctx := t.Context()
	sa, _ := nodeStores(t, "sqlite")
	catalog, err := access.NewCatalog()
	if err != nil {
		t.Fatal(err)
	}
	a := newAuthz(sa, catalog)
	if err := a.reload(ctx); err != nil {
		t.Fatal(err)
	}
	if _, err := storagetest.Populate(ctx, sa.DB(), 3, 3, 3); err != nil { // no feed entries
		t.Fatal(err)
	}
	if err := a.poll(ctx); err != nil {
		t.Fatal(err)
	}
	if got := a.snap.Load().Len(); got != 0 {
		t.Fatalf("snapshot learned %d resources without a feed entry", got)
	}
	a.lastRead = time.Now().Add(-feedGap - time.Second)
	if err := a.poll(ctx); err != nil {
		t.Fatal(err)
	}
	if got := a.snap.Load().Len(); got != 8 || a.rebuilds != 2 {
		t.Fatalf("after a feed gap: %d resources, %d rebuilds; want 8 (an organization, a cloud, 3 folders and 3 accounts) and 2", got, a.rebuilds)
	}
}
