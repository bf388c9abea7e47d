package storagetest

import (
	"testing"
	"time"

	"warden"
)

// clock reads the database's clock.
func clock(t *testing.T, s warden.Store) time.Time {
	t.Helper()
	var now time.Time
	view(t, s, func(tx warden.Tx) (err error) {
		now, err = tx.Clock(t.Context())
		return err
	})
	return now
}

// tick waits until the database's clock has moved past its reading now and
// returns the new reading: whatever was stamped before tick is older than
// it, whatever after is not.
func tick(t *testing.T, s warden.Store) time.Time {
	t.Helper()
	now := clock(t, s)
	deadline := time.Now().Add(time.Second)
	for {
		if next := clock(t, s); next.After(now) {
			return next
		}
		if time.Now().After(deadline) {
			t.Fatalf("the database's clock stayed at %v for a second", now)
		}
		time.Sleep(time.Millisecond)
	}
}

// testClock: the change feeds are stamped by the database's clock, which
// Clock reads, so that a reader's position never depends on any node's
// clock.
func testClock(t *testing.T, s warden.Store) {
	t.Run("moves forward in UTC", func(t *testing.T) {
		a := clock(t, s)
		b := tick(t, s)
		if a.IsZero() || !b.After(a) || a.Location() != time.UTC {
			t.Errorf("Clock read %v then %v, want a non-zero UTC time that moves forward", a, b)
		}
	})
	t.Run("stamps the credential feed", func(t *testing.T) {
		before := clock(t, s)
		c := newCredential(warden.CredAPIKey, warden.NewID(warden.PrefixServiceAccount))
		update(t, s, func(tx warden.Tx) error { return tx.CreateCredential(t.Context(), c) })
		after := clock(t, s)
		feed := func(since time.Time) []warden.CredentialChange {
			var all, mine []warden.CredentialChange
			view(t, s, func(tx warden.Tx) (err error) {
				all, err = tx.CredentialChanges(t.Context(), since)
				return err
			})
			for _, ch := range all {
				if ch.CredentialID == c.ID {
					mine = append(mine, ch)
				}
			}
			return mine
		}
		got := feed(before)
		if len(got) != 1 || got[0].At.Before(before) || got[0].At.After(after) {
			t.Fatalf("feed since %v = %v, want one entry stamped between %v and %v", before, got, before, after)
		}
		if got := feed(after.Add(time.Microsecond)); len(got) != 0 {
			t.Errorf("feed since after the write = %v, want nothing", got)
		}
	})
}
