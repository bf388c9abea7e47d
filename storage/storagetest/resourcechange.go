package storagetest

import (
	"slices"
	"testing"
	"time"

	"warden"
)

// resourceFeed returns the entries of the resource feed since a reading of
// the database's clock that name one of ids, as "id kind" in feed order.
func resourceFeed(t *testing.T, s warden.Store, since time.Time, ids ...string) []string {
	t.Helper()
	var feed []warden.ResourceChange
	view(t, s, func(tx warden.Tx) (err error) {
		feed, err = tx.ResourceChanges(t.Context(), since)
		return err
	})
	var out []string
	for i, ch := range feed {
		if i > 0 && ch.At.Before(feed[i-1].At) {
			t.Errorf("resource feed not in time order at %d", i)
		}
		if ch.At.Before(since) {
			t.Errorf("resource feed since %v has an entry of %v", since, ch.At)
		}
		if slices.Contains(ids, ch.ResourceID) {
			out = append(out, ch.ResourceID+" "+string(ch.Kind))
		}
	}
	return out
}

// feedIDs returns the IDs of the resource feed entries since a reading of
// the database's clock that name resource id.
func feedIDs(t *testing.T, s warden.Store, since time.Time, id string) []string {
	t.Helper()
	var feed []warden.ResourceChange
	view(t, s, func(tx warden.Tx) (err error) {
		feed, err = tx.ResourceChanges(t.Context(), since)
		return err
	})
	var out []string
	for _, ch := range feed {
		if ch.ResourceID == id {
			out = append(out, ch.ID)
		}
	}
	return out
}

// countFeed is CountResourceChanges in a View.
func countFeed(t *testing.T, s warden.Store, from, to time.Time) int {
	t.Helper()
	var n int
	view(t, s, func(tx warden.Tx) (err error) {
		n, err = tx.CountResourceChanges(t.Context(), from, to)
		return err
	})
	return n
}

// testCountResourceChanges: the count of a window is what reading it
// returns, its start included and its end not, so that a reader can tell
// from the count alone whether it has seen every entry there.
func testCountResourceChanges(t *testing.T, s warden.Store) {
	f := folder(t, s)
	from := tick(t, s)
	sa := newResource(warden.TypeServiceAccount, f.ID)
	create(t, s, sa)
	tick(t, s) // the two entries are stamped apart
	update(t, s, func(tx warden.Tx) error {
		sa.Name = unique("renamed")
		return tx.UpdateResource(t.Context(), sa)
	})
	to := tick(t, s)
	var feed []warden.ResourceChange
	view(t, s, func(tx warden.Tx) (err error) {
		feed, err = tx.ResourceChanges(t.Context(), from)
		return err
	})
	if len(feed) != 2 {
		t.Fatalf("feed since the window's start has %d entries, want 2 (a create and an update)", len(feed))
	}
	for _, c := range []struct {
		name     string
		from, to time.Time
		want     int
	}{
		{"window", from, to, 2},
		{"from the first stamp", feed[0].At, to, 2},
		{"up to the last stamp", from, feed[1].At, 1},
		{"empty", from, from, 0},
		{"after", to, to.Add(time.Hour), 0},
	} {
		if got := countFeed(t, s, c.from, c.to); got != c.want {
			t.Errorf("%s: %d entries, want %d", c.name, got, c.want)
		}
	}
}

// testResourceFeed: every change of a resource or of the bindings on it is
// named in the feed, in the transaction that made it, so that the nodes
// sharing the database apply exactly what changed.
func testResourceFeed(t *testing.T, s warden.Store) {
	f := folder(t, s)
	sa := newResource(warden.TypeServiceAccount, f.ID)
	since := tick(t, s)
	create(t, s, sa)
	got := resourceFeed(t, s, since, f.ID, sa.ID)
	if want := []string{sa.ID + " resource"}; !slices.Equal(got, want) {
		t.Fatalf("feed after a create = %v, want %v", got, want)
	}
	if ids := feedIDs(t, s, since, sa.ID); !slices.Equal(ids, []string{sa.ID}) {
		t.Errorf("entry IDs of a create = %v, want the resource's own ID %s", ids, sa.ID)
	}

	since = tick(t, s) // past the create's stamp, which may be this millisecond
	update(t, s, func(tx warden.Tx) error {
		sa.Name = unique("renamed")
		return tx.UpdateResource(t.Context(), sa)
	})
	update(t, s, func(tx warden.Tx) error {
		return tx.SetAccessBindings(t.Context(), f.ID, []warden.AccessBinding{{RoleID: "viewer", SubjectType: "serviceAccount", SubjectID: sa.ID}})
	})
	// Two commits in the same tick of the database's clock are in either
	// order: a reader re-reads each record's current state, so the order
	// of one tick's entries does not matter.
	got = resourceFeed(t, s, since, f.ID, sa.ID)
	slices.Sort(got)
	want := []string{sa.ID + " resource", f.ID + " bindings"}
	slices.Sort(want)
	if !slices.Equal(got, want) {
		t.Fatalf("feed after an update and a binding change = %v, want %v", got, want)
	}

	// Deleting the account deletes the binding on the folder: the folder's
	// bindings changed too.
	since = tick(t, s)
	update(t, s, func(tx warden.Tx) error { return tx.DeleteResource(t.Context(), sa.ID) })
	got = resourceFeed(t, s, since, f.ID, sa.ID)
	slices.Sort(got)
	want = []string{f.ID + " bindings", sa.ID + " resource"}
	slices.Sort(want)
	if !slices.Equal(got, want) {
		t.Fatalf("feed after deleting a bound account = %v, want %v", got, want)
	}

	t.Run("rolled back", func(t *testing.T) {
		since := clock(t, s)
		lost := newResource(warden.TypeServiceAccount, f.ID)
		_ = s.Update(t.Context(), func(tx warden.Tx) error {
			if err := tx.CreateResource(t.Context(), lost); err != nil {
				return err
			}
			return warden.Errorf(warden.FailedPrecondition, "roll back")
		})
		if got := resourceFeed(t, s, since, lost.ID); len(got) != 0 {
			t.Errorf("feed has %v for a rolled-back create", got)
		}
	})

}
