package postbox

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"regexp"
	"slices"
	"strings"
)

// Store keeps a folder's resources as files under one directory:
//
//	<dir>/folders/<folder>/configuration-sets/<name>.json
//	<dir>/folders/<folder>/identities/<identity>.json
//	<dir>/folders/<folder>/outbox/<message id>.json
//
// Every file is written whole or not at all (a temporary file, fsync,
// then a link or rename and an fsync of the directory), so a crash never
// leaves one half-written. Names are validated before they become paths.
type Store struct {
	dir string
}

// The kinds of resource a folder holds: directory names under the folder.
const (
	kindConfigurationSets = "configuration-sets"
	kindIdentities        = "identities"
	kindOutbox            = "outbox"
)

// Store errors; the handler maps them to AWS error codes.
var (
	errExists   = errors.New("postbox: already exists")
	errNotFound = errors.New("postbox: not found")
)

// OpenStore returns the store in dir, creating dir if needed.
func OpenStore(dir string) (*Store, error) {
	if dir == "" {
		return nil, errors.New("postbox: a data directory is required")
	}
	if err := os.MkdirAll(filepath.Join(dir, "folders"), 0o700); err != nil {
		return nil, fmt.Errorf("postbox: data directory: %w", err)
	}
	// Fail now, not on the first request, when the directory is read-only.
	probe, err := os.CreateTemp(dir, ".probe-*")
	if err != nil {
		return nil, fmt.Errorf("postbox: data directory is not writable: %w", err)
	}
	probe.Close()
	os.Remove(probe.Name())
	return &Store{dir: dir}, nil
}

var (
	folderRE = regexp.MustCompile(`^[a-z][a-z0-9]{2,49}$`)
	// A configuration set name, as SES allows it.
	setNameRE = regexp.MustCompile(`^[A-Za-z0-9_-]{1,64}$`)
	// An email address or a domain; no "/", no leading dot, no "..".
	identityRE = regexp.MustCompile(`^[A-Za-z0-9_+=-][A-Za-z0-9._+=-]*(@[A-Za-z0-9-]+(\.[A-Za-z0-9-]+)*)?$`)
)

func validFolder(id string) bool { return folderRE.MatchString(id) }

func validName(kind, name string) bool {
	switch kind {
	case kindConfigurationSets:
		return setNameRE.MatchString(name)
	case kindIdentities:
		return len(name) <= 320 && identityRE.MatchString(name) && !strings.Contains(name, "..")
	case kindOutbox:
		return setNameRE.MatchString(name)
	}
	return false
}

func (s *Store) path(folder, kind, name string) string {
	return filepath.Join(s.dir, "folders", folder, kind, name+".json")
}

// Create writes v as a new resource; errExists if it is there already.
func (s *Store) Create(folder, kind, name string, v any) error {
	dir := filepath.Dir(s.path(folder, kind, name))
	if err := os.MkdirAll(dir, 0o700); err != nil {
		return err
	}
	tmp, err := writeTemp(dir, v)
	if err != nil {
		return err
	}
	defer os.Remove(tmp)
	// link, unlike rename, refuses to replace: two creates of one name
	// cannot both succeed.
	if err := os.Link(tmp, s.path(folder, kind, name)); err != nil {
		if errors.Is(err, os.ErrExist) {
			return errExists
		}
		return err
	}
	return syncDir(dir)
}

// Get decodes a resource into v; errNotFound if it is not there.
func (s *Store) Get(folder, kind, name string, v any) error {
	b, err := os.ReadFile(s.path(folder, kind, name))
	if errors.Is(err, os.ErrNotExist) {
		return errNotFound
	}
	if err != nil {
		return err
	}
	return json.Unmarshal(b, v)
}

// Delete removes a resource; errNotFound if it is not there.
func (s *Store) Delete(folder, kind, name string) error {
	p := s.path(folder, kind, name)
	if err := os.Remove(p); errors.Is(err, os.ErrNotExist) {
		return errNotFound
	} else if err != nil {
		return err
	}
	return syncDir(filepath.Dir(p))
}

// List returns up to limit names in order after the name after (""
// for the first page), and whether more follow.
func (s *Store) List(folder, kind, after string, limit int) ([]string, bool, error) {
	entries, err := os.ReadDir(filepath.Join(s.dir, "folders", folder, kind))
	if errors.Is(err, os.ErrNotExist) {
		return nil, false, nil
	}
	if err != nil {
		return nil, false, err
	}
	var names []string
	for _, e := range entries {
		// Temporary files start with a dot and end otherwise.
		if name, ok := strings.CutSuffix(e.Name(), ".json"); ok && !strings.HasPrefix(name, ".") && name > after {
			names = append(names, name)
		}
	}
	slices.Sort(names)
	if len(names) > limit {
		return names[:limit], true, nil
	}
	return names, false, nil
}

// writeTemp writes v as JSON to a new temporary file in dir, synced to
// disk, and returns its path.
func writeTemp(dir string, v any) (string, error) {
	var b bytes.Buffer
	enc := json.NewEncoder(&b)
	enc.SetIndent("", "  ")
	if err := enc.Encode(v); err != nil {
		return "", err
	}
	f, err := os.CreateTemp(dir, ".tmp-*")
	if err != nil {
		return "", err
	}
	_, err = f.Write(b.Bytes())
	if err == nil {
		err = f.Sync()
	}
	if cerr := f.Close(); err == nil {
		err = cerr
	}
	if err != nil {
		os.Remove(f.Name())
		return "", err
	}
	return f.Name(), nil
}

// syncDir makes a new or removed directory entry durable.
func syncDir(dir string) error {
	d, err := os.Open(dir)
	if err != nil {
		return err
	}
	defer d.Close()
	return d.Sync()
}
