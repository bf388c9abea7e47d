// Package storagetest is the contract suite of warden.Store: every backend's
// tests call Run, so that all backends are held to the same documented
// behaviour. It is an ordinary package, not a _test file, for that reason.
package storagetest

import (
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"
	"github.com/google/go-cmp/cmp/cmpopts"

	"warden"
)

// Run runs the contract suite against the stores that open returns. open is
// called once per group of subtests and must register the store's Close with
// t.Cleanup. It may return a store over a database that earlier calls, or
// earlier runs, already used: every test creates its own records under
// fresh IDs and names and looks only at those.
func Run(t *testing.T, open func(t *testing.T) warden.Store) {
	groups := []struct {
		name string
		run  func(t *testing.T, s warden.Store)
	}{
		{"Resource", testResource},
		{"ListResources", testListResources},
		{"Operation", testOperation},
		{"AccessBinding", testAccessBinding},
		{"GroupMember", testGroupMember},
		{"Credential", testCredential},
		{"RevokedToken", testRevokedToken},
		{"Clock", testClock},
		{"ResourceFeed", testResourceFeed},
		{"CountResourceChanges", testCountResourceChanges},
		{"SigningKey", testSigningKey},
		{"Meta", testMeta},
		{"Atomicity", testAtomicity},
		{"Concurrency", testConcurrency},
		{"Audit", testAudit},
	}
	for _, g := range groups {
		t.Run(g.name, func(t *testing.T) { g.run(t, open(t)) })
	}
}

// cmpOpts compare records as the store returns them: empty and nil slices
// and maps are the same, and times must be equal instants in UTC.
var cmpOpts = cmp.Options{
	cmpopts.EquateEmpty(),
	cmp.Comparer(func(a, b time.Time) bool { return a.Equal(b) && a.Location() == b.Location() }),
}

// zone is an arbitrary non-UTC location: the store must hand back UTC.
var zone = time.FixedZone("UTC+5:30", 5*3600+1800)

// base is an instant with nanoseconds, which the store must truncate to
// microseconds.
var base = time.Date(2025, 3, 14, 15, 9, 26, 535897932, zone)

// stored returns t as the store keeps it: microseconds, UTC.
func stored(t time.Time) time.Time {
	if t.IsZero() {
		return time.Time{}
	}
	return t.Truncate(time.Microsecond).UTC()
}

// unique returns prefix followed by random characters, for names that no
// other test or earlier run uses.
func unique(prefix string) string { return prefix + "-" + warden.NewID("tst")[3:] }

func update(t *testing.T, s warden.Store, fn func(tx warden.Tx) error) {
	t.Helper()
	if err := s.Update(t.Context(), fn); err != nil {
		t.Fatalf("Update: %v", err)
	}
}

func view(t *testing.T, s warden.Store, fn func(tx warden.Tx) error) {
	t.Helper()
	if err := s.View(t.Context(), fn); err != nil {
		t.Fatalf("View: %v", err)
	}
}

// wantCode fails t unless err carries code ("" for no error).
func wantCode(t *testing.T, what string, err error, code warden.Code) {
	t.Helper()
	if got := warden.ErrorCode(err); got != code {
		t.Errorf("%s: error code %q (err %v), want %q", what, got, err, code)
	}
}

var idPrefixes = map[warden.ResourceType]string{
	warden.TypeOrganization:   warden.PrefixOrganization,
	warden.TypeCloud:          warden.PrefixCloud,
	warden.TypeFolder:         warden.PrefixFolder,
	warden.TypeServiceAccount: warden.PrefixServiceAccount,
	warden.TypeUserAccount:    warden.PrefixUserAccount,
	warden.TypeGroup:          warden.PrefixGroup,
}

// newResource returns an unsaved resource with a fresh ID and name.
func newResource(typ warden.ResourceType, parentID string) *warden.Resource {
	return &warden.Resource{
		ID:        warden.NewID(idPrefixes[typ]),
		Type:      typ,
		ParentID:  parentID,
		Name:      unique(string(typ)),
		Status:    warden.StatusActive,
		CreatedAt: base,
	}
}

// create saves rs, in order, in one transaction.
func create(t *testing.T, s warden.Store, rs ...*warden.Resource) {
	t.Helper()
	update(t, s, func(tx warden.Tx) error {
		for _, r := range rs {
			if err := tx.CreateResource(t.Context(), r); err != nil {
				return err
			}
		}
		return nil
	})
}

// folder creates an organization, a cloud and a folder and returns the
// folder.
func folder(t *testing.T, s warden.Store) *warden.Resource {
	t.Helper()
	org := newResource(warden.TypeOrganization, "")
	cloud := newResource(warden.TypeCloud, org.ID)
	f := newResource(warden.TypeFolder, cloud.ID)
	create(t, s, org, cloud, f)
	return f
}

// exists reports whether the resource id is stored.
func exists(t *testing.T, s warden.Store, id string) bool {
	t.Helper()
	var err error
	_ = s.View(t.Context(), func(tx warden.Tx) error {
		_, err = tx.GetResource(t.Context(), id)
		return nil
	})
	if err != nil && !warden.IsCode(err, warden.NotFound) {
		t.Fatalf("GetResource(%s): %v", id, err)
	}
	return err == nil
}
