package storagetest

import (
	"sync"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"
	"github.com/google/go-cmp/cmp/cmpopts"

	"warden"
)

func newRevokedToken(revokedAt, expiresAt time.Time) warden.RevokedToken {
	return warden.RevokedToken{
		TokenID:   unique("token"),
		SubjectID: warden.NewID(warden.PrefixServiceAccount),
		RevokedAt: revokedAt,
		ExpiresAt: expiresAt,
	}
}

func storedRevokedToken(r warden.RevokedToken) warden.RevokedToken {
	r.RevokedAt, r.ExpiresAt = stored(r.RevokedAt), stored(r.ExpiresAt)
	return r
}

func revoke(t *testing.T, s warden.Store, rs ...warden.RevokedToken) {
	t.Helper()
	update(t, s, func(tx warden.Tx) error {
		for _, r := range rs {
			if err := tx.RevokeToken(t.Context(), r); err != nil {
				return err
			}
		}
		return nil
	})
}

// revokedTokens returns RevokedTokens(since, now) restricted to the tokens
// in mine: other tests share the database.
func revokedTokens(t *testing.T, s warden.Store, since, now time.Time, mine []warden.RevokedToken) []warden.RevokedToken {
	t.Helper()
	ids := map[string]bool{}
	for _, r := range mine {
		ids[r.TokenID] = true
	}
	var all []warden.RevokedToken
	view(t, s, func(tx warden.Tx) (err error) {
		all, err = tx.RevokedTokens(t.Context(), since, now)
		return err
	})
	var out []warden.RevokedToken
	for _, r := range all {
		if ids[r.TokenID] {
			out = append(out, r)
		}
	}
	return out
}

var sortRevokedTokens = cmpopts.SortSlices(func(a, b warden.RevokedToken) bool { return a.TokenID < b.TokenID })

func testRevokedToken(t *testing.T, s warden.Store) {
	t.Run("Since", func(t *testing.T) { testRevokedTokenSince(t, s) })
	t.Run("Twice", func(t *testing.T) { testRevokedTokenTwice(t, s) })
	t.Run("Concurrently", func(t *testing.T) { testRevokedTokenConcurrently(t, s) })
}

// testRevokedTokenSince: revocations are found by when the database
// recorded them, whatever RevokedAt the caller passed, and by expiry.
func testRevokedTokenSince(t *testing.T, s warden.Store) {
	before := clock(t, s)
	// The caller's RevokedAt says 2 h ago and 1 h ahead: both ignored.
	first := newRevokedToken(base.Add(-2*time.Hour), base.Add(10*time.Hour))
	revoke(t, s, first)
	between := tick(t, s)
	second := newRevokedToken(base.Add(time.Hour), base.Add(10*time.Hour))
	expired := newRevokedToken(base.Add(time.Hour), base.Add(4*time.Hour))
	revoke(t, s, second, expired)
	after := clock(t, s)
	mine := []warden.RevokedToken{first, second, expired}

	tests := []struct {
		name       string
		since, now time.Time
		want       []warden.RevokedToken
	}{
		{"since before", before, base.Add(5 * time.Hour), []warden.RevokedToken{first, second}},
		{"since between", between, base.Add(5 * time.Hour), []warden.RevokedToken{second}},
		{"before any expiry", before, base.Add(3 * time.Hour), mine},
		{"since after", after.Add(time.Microsecond), base.Add(3 * time.Hour), nil},
		{"all expired", before, base.Add(11 * time.Hour), nil},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got := revokedTokens(t, s, tt.since, tt.now, mine)
			for _, r := range got {
				if r.RevokedAt.Before(before) || r.RevokedAt.After(after) || r.RevokedAt.Location() != time.UTC {
					t.Errorf("RevokedAt %v of %s is not the database's clock at the write (between %v and %v)", r.RevokedAt, r.TokenID, before, after)
				}
			}
			var want []warden.RevokedToken
			for _, r := range tt.want {
				want = append(want, storedRevokedToken(r))
			}
			ignoreRevokedAt := cmpopts.IgnoreFields(warden.RevokedToken{}, "RevokedAt")
			if diff := cmp.Diff(want, got, cmpOpts, sortRevokedTokens, ignoreRevokedAt); diff != "" {
				t.Errorf("RevokedTokens mismatch (-want +got):\n%s", diff)
			}
		})
	}
}

func testRevokedTokenTwice(t *testing.T, s warden.Store) {
	r := newRevokedToken(base, base.Add(time.Hour))
	again := r
	again.RevokedAt = base.Add(time.Minute)
	revoke(t, s, r)
	revoke(t, s, r)
	update(t, s, func(tx warden.Tx) error {
		if err := tx.RevokeToken(t.Context(), again); err != nil {
			return err
		}
		return tx.RevokeToken(t.Context(), again)
	})
	got := revokedTokens(t, s, base.Add(-time.Hour), base, []warden.RevokedToken{r})
	if len(got) != 1 {
		t.Errorf("RevokedTokens lists a token revoked four times %d times, want once: %v", len(got), got)
	}
}

// testRevokedTokenConcurrently revokes one token from several goroutines at
// once, as several wardend processes may: none of them may fail.
func testRevokedTokenConcurrently(t *testing.T, s warden.Store) {
	r := newRevokedToken(base, base.Add(time.Hour))
	errs := make([]error, 8)
	var wg sync.WaitGroup
	for i := range errs {
		wg.Go(func() {
			errs[i] = s.Update(t.Context(), func(tx warden.Tx) error { return tx.RevokeToken(t.Context(), r) })
		})
	}
	wg.Wait()
	for i, err := range errs {
		if err != nil {
			t.Errorf("RevokeToken in goroutine %d: %v", i, err)
		}
	}
	if got := revokedTokens(t, s, time.Time{}, base, []warden.RevokedToken{r}); len(got) != 1 {
		t.Errorf("RevokedTokens lists the token %d times, want once", len(got))
	}
}
