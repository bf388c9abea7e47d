package sqlite_test

import (
	"path/filepath"
	"sync"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"
	"github.com/google/go-cmp/cmp/cmpopts"

	"warden"
	"warden/storage/sqlite"
	"warden/storage/sqlstore"
	"warden/storage/storagetest"
)

func open(t *testing.T, path string) *sqlstore.Store {
	t.Helper()
	s, err := sqlite.Open(t.Context(), path)
	if err != nil {
		t.Fatalf("Open(%s): %v", path, err)
	}
	t.Cleanup(func() { s.Close() })
	return s
}

func TestContract(t *testing.T) {
	storagetest.Run(t, func(t *testing.T) warden.Store {
		return open(t, filepath.Join(t.TempDir(), "warden.db"))
	})
}

// TestContractSharedFile runs the suite with every group on one file, as the
// suite promises backends they may.
func TestContractSharedFile(t *testing.T) {
	path := filepath.Join(t.TempDir(), "warden.db")
	storagetest.Run(t, func(t *testing.T) warden.Store { return open(t, path) })
}

func newOrganization() *warden.Resource {
	return &warden.Resource{
		ID:        warden.NewID(warden.PrefixOrganization),
		Type:      warden.TypeOrganization,
		Name:      "org-" + warden.NewID("tst"),
		Labels:    map[string]string{"k": "v"},
		Status:    warden.StatusActive,
		CreatedAt: time.Now().Truncate(time.Microsecond).UTC(),
	}
}

func get(t *testing.T, s warden.Store, id string) (*warden.Resource, error) {
	t.Helper()
	var r *warden.Resource
	err := s.View(t.Context(), func(tx warden.Tx) (err error) {
		r, err = tx.GetResource(t.Context(), id)
		return err
	})
	return r, err
}

// TestReopen checks that committed data survives Close and that a migrated
// file opens again.
func TestReopen(t *testing.T) {
	path := filepath.Join(t.TempDir(), "warden.db")
	s, err := sqlite.Open(t.Context(), path)
	if err != nil {
		t.Fatal(err)
	}
	want := newOrganization()
	if err := s.Update(t.Context(), func(tx warden.Tx) error {
		if err := tx.CreateResource(t.Context(), want); err != nil {
			return err
		}
		return tx.InsertMeta(t.Context(), "install-id", "abc")
	}); err != nil {
		t.Fatal(err)
	}
	if err := s.Close(); err != nil {
		t.Fatalf("Close: %v", err)
	}

	s = open(t, path)
	got, err := get(t, s, want.ID)
	if err != nil {
		t.Fatalf("GetResource after reopen: %v", err)
	}
	if diff := cmp.Diff(want, got, cmpopts.EquateEmpty()); diff != "" {
		t.Errorf("GetResource after reopen mismatch (-want +got):\n%s", diff)
	}
	var meta string
	if err := s.View(t.Context(), func(tx warden.Tx) (err error) {
		meta, err = tx.Meta(t.Context(), "install-id")
		return err
	}); err != nil || meta != "abc" {
		t.Errorf("Meta after reopen = %q, %v; want %q", meta, err, "abc")
	}
}

// TestTwoOpens opens one file twice at once, as two processes would: both
// migrate, and each sees what the other commits.
func TestTwoOpens(t *testing.T) {
	path := filepath.Join(t.TempDir(), "warden.db")
	a, b := open(t, path), open(t, path)
	want := newOrganization()
	if err := a.Update(t.Context(), func(tx warden.Tx) error { return tx.CreateResource(t.Context(), want) }); err != nil {
		t.Fatal(err)
	}
	got, err := get(t, b, want.ID)
	if err != nil {
		t.Fatalf("GetResource through the second store: %v", err)
	}
	if diff := cmp.Diff(want, got, cmpopts.EquateEmpty()); diff != "" {
		t.Errorf("GetResource through the second store mismatch (-want +got):\n%s", diff)
	}
}

// TestConcurrentOpens migrates a new file from several goroutines at once.
func TestConcurrentOpens(t *testing.T) {
	path := filepath.Join(t.TempDir(), "warden.db")
	const n = 4
	errs := make([]error, n)
	var wg sync.WaitGroup
	for i := range n {
		wg.Go(func() {
			var s *sqlstore.Store
			if s, errs[i] = sqlite.Open(t.Context(), path); errs[i] == nil {
				errs[i] = s.Close()
			}
		})
	}
	wg.Wait()
	for i, err := range errs {
		if err != nil {
			t.Errorf("Open %d: %v", i, err)
		}
	}
}

// TestGroupCommitKeepsUpdatesApart: Updates running at once share commits,
// but each stands or falls alone: a failing one leaves nothing, a
// panicking one panics in its caller, and the others commit.
func TestGroupCommitKeepsUpdatesApart(t *testing.T) {
	s := open(t, filepath.Join(t.TempDir(), "warden.db"))
	org := &warden.Resource{ID: warden.NewID(warden.PrefixOrganization), Type: warden.TypeOrganization, Name: "org", Status: warden.StatusActive}
	if err := s.Update(t.Context(), func(tx warden.Tx) error { return tx.CreateResource(t.Context(), org) }); err != nil {
		t.Fatal(err)
	}
	const n = 60
	ids := make([]string, n)
	errs := make([]error, n)
	panicked := make([]any, n)
	var wg sync.WaitGroup
	for i := range n {
		ids[i] = warden.NewID(warden.PrefixFolder)
		wg.Go(func() {
			defer func() { panicked[i] = recover() }()
			errs[i] = s.Update(t.Context(), func(tx warden.Tx) error {
				f := &warden.Resource{ID: ids[i], Type: warden.TypeFolder, ParentID: org.ID, Name: ids[i], Status: warden.StatusActive}
				if err := tx.CreateResource(t.Context(), f); err != nil {
					return err
				}
				switch i % 3 {
				case 1:
					return warden.Errorf(warden.FailedPrecondition, "no")
				case 2:
					if i%6 == 5 {
						panic("boom")
					}
				}
				return nil
			})
		})
	}
	wg.Wait()
	for i := range n {
		exists := s.View(t.Context(), func(tx warden.Tx) error { _, err := tx.GetResource(t.Context(), ids[i]); return err }) == nil
		switch {
		case i%3 == 1:
			if !warden.IsCode(errs[i], warden.FailedPrecondition) || exists {
				t.Errorf("update %d failed with %v; stored: %v (want its error, nothing stored)", i, errs[i], exists)
			}
		case i%6 == 5:
			if panicked[i] == nil || exists {
				t.Errorf("update %d panicked: %v; stored: %v (want the panic in the caller, nothing stored)", i, panicked[i], exists)
			}
		default:
			if errs[i] != nil || panicked[i] != nil || !exists {
				t.Errorf("update %d: %v %v; stored: %v (want it committed)", i, errs[i], panicked[i], exists)
			}
		}
	}
}

// TestUpdateAfterClose: an Update on a closed store fails instead of
// waiting for a group commit that will never come.
func TestUpdateAfterClose(t *testing.T) {
	s, err := sqlite.Open(t.Context(), filepath.Join(t.TempDir(), "warden.db"))
	if err != nil {
		t.Fatal(err)
	}
	s.Close()
	done := make(chan error, 1)
	go func() {
		done <- s.Update(t.Context(), func(tx warden.Tx) error { return tx.InsertMeta(t.Context(), "k", "v") })
	}()
	select {
	case err := <-done:
		if err == nil {
			t.Fatal("Update on a closed store succeeded")
		}
	case <-time.After(10 * time.Second):
		t.Fatal("Update on a closed store still waits after 10 s")
	}
}
