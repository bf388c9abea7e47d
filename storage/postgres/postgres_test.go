package postgres_test

import (
	"context"
	"net/url"
	"os"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/jackc/pgx/v5"

	"warden"
	"warden/storage/postgres"
	"warden/storage/sqlstore"
	"warden/storage/storagetest"
)

// freshDatabase creates an empty database on the server that
// WARDEN_TEST_POSTGRES names, drops it when t ends, and returns its DSN.
// Every test gets its own, so runs never see each other's data or schema.
func freshDatabase(t *testing.T) string {
	t.Helper()
	dsn := os.Getenv("WARDEN_TEST_POSTGRES")
	if dsn == "" {
		t.Skip("WARDEN_TEST_POSTGRES is not set")
	}
	admin, err := pgx.Connect(t.Context(), dsn)
	if err != nil {
		t.Fatalf("connect to WARDEN_TEST_POSTGRES: %v", err)
	}
	name := "warden_test_" + warden.NewID("tst")[3:]
	ident := pgx.Identifier{name}.Sanitize()
	if _, err := admin.Exec(t.Context(), "CREATE DATABASE "+ident); err != nil {
		admin.Close(context.Background())
		t.Fatalf("create database %s: %v", name, err)
	}
	t.Cleanup(func() {
		// t.Context is already cancelled when cleanups run.
		ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
		defer cancel()
		defer admin.Close(ctx)
		if _, err := admin.Exec(ctx, "DROP DATABASE "+ident+" WITH (FORCE)"); err != nil {
			t.Errorf("drop database %s: %v", name, err)
		}
	})
	return withDatabase(t, dsn, name)
}

// withDatabase returns dsn, a URL or a keyword/value string, with its
// database replaced by name.
func withDatabase(t *testing.T, dsn, name string) string {
	if !strings.HasPrefix(dsn, "postgres://") && !strings.HasPrefix(dsn, "postgresql://") {
		return dsn + " dbname=" + name // the last setting of a keyword wins
	}
	u, err := url.Parse(dsn)
	if err != nil {
		t.Fatal("WARDEN_TEST_POSTGRES is not a valid URL")
	}
	u.Path, u.RawPath = "/"+name, ""
	return u.String()
}

func open(t *testing.T, dsn string) *sqlstore.Store {
	t.Helper()
	s, err := postgres.Open(t.Context(), dsn)
	if err != nil {
		t.Fatalf("Open: %v", err)
	}
	t.Cleanup(func() { s.Close() })
	return s
}

func TestContract(t *testing.T) {
	dsn := freshDatabase(t)
	storagetest.Run(t, func(t *testing.T) warden.Store { return open(t, dsn) })
}

// TestConcurrentOpens starts several stores on one new database at once, as
// several wardend processes do: the migration lock must let all of them
// through and apply each migration once.
func TestConcurrentOpens(t *testing.T) {
	dsn := freshDatabase(t)
	const n = 4
	stores := make([]*sqlstore.Store, n)
	errs := make([]error, n)
	var wg sync.WaitGroup
	for i := range n {
		wg.Go(func() { stores[i], errs[i] = postgres.Open(t.Context(), dsn) })
	}
	wg.Wait()
	for i, err := range errs {
		if err != nil {
			t.Errorf("Open %d: %v", i, err)
			continue
		}
		t.Cleanup(func() { stores[i].Close() })
	}
	if t.Failed() {
		return
	}
	// Each store works on the one schema: what one writes, the others read.
	org := &warden.Resource{ID: warden.NewID(warden.PrefixOrganization), Type: warden.TypeOrganization, Name: "org", Status: warden.StatusActive}
	if err := stores[0].Update(t.Context(), func(tx warden.Tx) error { return tx.CreateResource(t.Context(), org) }); err != nil {
		t.Fatalf("CreateResource: %v", err)
	}
	for i, s := range stores[1:] {
		if err := s.View(t.Context(), func(tx warden.Tx) error {
			_, err := tx.GetResource(t.Context(), org.ID)
			return err
		}); err != nil {
			t.Errorf("GetResource through store %d: %v", i+1, err)
		}
	}
}

// TestSiblingCreatesShareTheParent: creates of two children of one folder
// do not wait for each other (each holds the parent shared), while a
// delete of the folder waits for an open create and then sees its child.
func TestSiblingCreatesShareTheParent(t *testing.T) {
	s, err := postgres.Open(t.Context(), freshDatabase(t))
	if err != nil {
		t.Fatal(err)
	}
	defer s.Close()
	org := &warden.Resource{ID: warden.NewID(warden.PrefixOrganization), Type: warden.TypeOrganization, Name: "org", Status: warden.StatusActive}
	folder := &warden.Resource{ID: warden.NewID(warden.PrefixFolder), Type: warden.TypeFolder, ParentID: org.ID, Name: "f", Status: warden.StatusActive}
	if err := s.Update(t.Context(), func(tx warden.Tx) error {
		if err := tx.CreateResource(t.Context(), org); err != nil {
			return err
		}
		return tx.CreateResource(t.Context(), folder)
	}); err != nil {
		t.Fatal(err)
	}
	child := func(name string) *warden.Resource {
		return &warden.Resource{ID: warden.NewID(warden.PrefixServiceAccount), Type: warden.TypeServiceAccount, ParentID: folder.ID, Name: name, Status: warden.StatusActive}
	}
	// The first create stays open until release is closed.
	held, release := make(chan struct{}), make(chan struct{})
	first := make(chan error, 1)
	go func() {
		first <- s.Update(context.Background(), func(tx warden.Tx) error {
			if _, err := tx.GetResourceShared(context.Background(), folder.ID); err != nil {
				return err
			}
			if err := tx.CreateResource(context.Background(), child("first")); err != nil {
				return err
			}
			close(held)
			<-release
			return nil
		})
	}()
	<-held
	ctx, cancel := context.WithTimeout(t.Context(), 5*time.Second)
	defer cancel()
	err = s.Update(ctx, func(tx warden.Tx) error {
		if _, err := tx.GetResourceShared(ctx, folder.ID); err != nil {
			return err
		}
		return tx.CreateResource(ctx, child("second"))
	})
	if err != nil {
		close(release)
		t.Fatalf("a sibling create while another is open: %v (want it to go through at once)", err)
	}
	deleted := make(chan error, 1)
	go func() {
		deleted <- s.Update(context.Background(), func(tx warden.Tx) error { return tx.DeleteResource(context.Background(), folder.ID) })
	}()
	select {
	case err := <-deleted:
		close(release)
		t.Fatalf("delete of the folder did not wait for the open create: %v", err)
	case <-time.After(200 * time.Millisecond): // it waits: the create still holds the folder
	}
	close(release)
	if err := <-first; err != nil {
		t.Fatalf("first create: %v", err)
	}
	if err := <-deleted; !warden.IsCode(err, warden.FailedPrecondition) {
		t.Fatalf("delete of a folder with children: %v, want FailedPrecondition", err)
	}
}
