package postbox

import (
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"testing"
)

func newStore(t *testing.T) *Store {
	t.Helper()
	s, err := OpenStore(t.TempDir())
	if err != nil {
		t.Fatal(err)
	}
	return s
}

// TestStoreCreateIsExclusive: of many creates of one name at once, exactly
// one succeeds and the others get errExists; the file holds the winner's
// whole value and no temporary file is left behind.
func TestStoreCreateIsExclusive(t *testing.T) {
	s := newStore(t)
	var wg sync.WaitGroup
	errs := make([]error, 16)
	for i := range errs {
		wg.Go(func() { errs[i] = s.Create("b1gfolder", kindConfigurationSets, "race", map[string]int{"writer": i}) })
	}
	wg.Wait()
	won := 0
	for _, err := range errs {
		switch {
		case err == nil:
			won++
		case !errors.Is(err, errExists):
			t.Errorf("create: %v", err)
		}
	}
	if won != 1 {
		t.Errorf("%d creates succeeded, want 1", won)
	}
	var got map[string]int
	if err := s.Get("b1gfolder", kindConfigurationSets, "race", &got); err != nil || len(got) != 1 {
		t.Errorf("get: %v, %v", got, err)
	}
	entries, _ := os.ReadDir(filepath.Join(s.dir, "folders", "b1gfolder", kindConfigurationSets))
	if len(entries) != 1 {
		t.Errorf("the directory holds %d files, want 1 (temporary files removed)", len(entries))
	}
}

// TestStoreList: names come sorted, in pages, skipping temporary files a
// crash may have left; folders do not see each other's resources.
func TestStoreList(t *testing.T) {
	s := newStore(t)
	for i := range 5 {
		if err := s.Create("b1gfolder", kindIdentities, fmt.Sprintf("u%d@example.com", 4-i), struct{}{}); err != nil {
			t.Fatal(err)
		}
	}
	os.WriteFile(filepath.Join(s.dir, "folders", "b1gfolder", kindIdentities, ".tmp-123"), []byte("{"), 0o600)
	page, more, err := s.List("b1gfolder", kindIdentities, "", 3)
	if err != nil || !more || strings.Join(page, ",") != "u0@example.com,u1@example.com,u2@example.com" {
		t.Errorf("first page: %v %v %v", page, more, err)
	}
	page, more, err = s.List("b1gfolder", kindIdentities, page[2], 3)
	if err != nil || more || strings.Join(page, ",") != "u3@example.com,u4@example.com" {
		t.Errorf("second page: %v %v %v", page, more, err)
	}
	if page, _, err := s.List("b1gother", kindIdentities, "", 3); err != nil || len(page) != 0 {
		t.Errorf("another folder: %v %v", page, err)
	}
	if err := s.Delete("b1gfolder", kindIdentities, "u0@example.com"); err != nil {
		t.Fatal(err)
	}
	if err := s.Delete("b1gfolder", kindIdentities, "u0@example.com"); !errors.Is(err, errNotFound) {
		t.Errorf("delete twice: %v", err)
	}
	if err := s.Get("b1gfolder", kindIdentities, "u0@example.com", &struct{}{}); !errors.Is(err, errNotFound) {
		t.Errorf("get of a deleted one: %v", err)
	}
}

// TestNames: a name never becomes a path outside its directory.
func TestNames(t *testing.T) {
	for _, c := range []struct {
		kind, name string
		ok         bool
	}{
		{kindConfigurationSets, "my-set_1", true},
		{kindConfigurationSets, "", false},
		{kindConfigurationSets, "../x", false},
		{kindConfigurationSets, strings.Repeat("a", 65), false},
		{kindIdentities, "user+tag@example.com", true},
		{kindIdentities, "example.com", true},
		{kindIdentities, "../../etc/passwd", false},
		{kindIdentities, ".hidden", false},
		{kindIdentities, "a..b@example.com", false},
		{kindIdentities, "a/b@example.com", false},
		{kindIdentities, "user@", false},
	} {
		if got := validName(c.kind, c.name); got != c.ok {
			t.Errorf("validName(%s, %q) = %v, want %v", c.kind, c.name, got, c.ok)
		}
	}
	for id, ok := range map[string]bool{"b1gfolder123": true, "../a": false, "B1G": false, "": false} {
		if validFolder(id) != ok {
			t.Errorf("validFolder(%q) = %v", id, !ok)
		}
	}
}

// TestOpenStoreNamesTheCause: a data directory that cannot be used is an
// error naming it.
func TestOpenStoreNamesTheCause(t *testing.T) {
	file := filepath.Join(t.TempDir(), "file")
	os.WriteFile(file, nil, 0o600)
	for _, dir := range []string{"", file} {
		if _, err := OpenStore(dir); err == nil || !strings.Contains(err.Error(), "data directory") {
			t.Errorf("OpenStore(%q): %v", dir, err)
		}
	}
}
