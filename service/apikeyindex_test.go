package service

import (
	"context"
	"testing"
	"time"

	"warden"
	"warden/apikey"
	"warden/secret"
	"warden/storage/sqlite"
)

// TestAPIKeysServedWhileLoading: until the index has loaded, a key is
// checked from the store (so a node with a million keys serves them from
// its start), a deletion is enforced at once, and an accepted use is
// kept for the flush once the load is done.
func TestAPIKeysServedWhileLoading(t *testing.T) {
	ctx := context.Background()
	store, err := sqlite.Open(ctx, t.TempDir()+"/w.db")
	if err != nil {
		t.Fatal(err)
	}
	defer store.Close()
	s, err := New(Config{Store: store, Sealer: mustSealer(t)})
	if err != nil {
		t.Fatal(err)
	}
	create := func() (id, sec string) {
		id = warden.NewID(warden.PrefixAPIKey)
		sec = apikey.NewSecret(id)
		created := time.Date(2026, 1, 1, 0, 0, 0, 0, time.UTC)
		k := &APIKey{ID: id, ServiceAccountID: "aje00000000000000001", Name: "k", Products: []string{"postbox"}, Enabled: true,
			MaskedSecret: apikey.Masked(sec), CreatedAt: created, UpdatedAt: created, hash: secret.Hash(sec)}
		c, err := k.credential()
		if err != nil {
			t.Fatal(err)
		}
		if err := store.Update(ctx, func(tx warden.Tx) error { return tx.CreateCredential(ctx, c) }); err != nil {
			t.Fatal(err)
		}
		return id, sec
	}
	kept, keptSecret := create()
	gone, goneSecret := create()
	now := time.Date(2026, 6, 1, 12, 0, 0, 0, time.UTC)
	check := func(id, sec string) (string, apikey.Refusal, bool) {
		return s.apiKeys.CheckAPIKey(id, apikey.Request{Secret: sec, Now: now, Product: "postbox"})
	}

	if got := s.apiKeys.Len(); got != 0 {
		t.Fatalf("before the load the index holds %d keys", got)
	}
	if sub, refusal, found := check(kept, keptSecret); !found || refusal != apikey.Accepted || sub != "aje00000000000000001" {
		t.Fatalf("while loading: %q, %v, %v; want the account, accepted, found", sub, refusal, found)
	}
	if _, refusal, _ := check(kept, goneSecret); refusal != apikey.WrongSecret {
		t.Fatalf("while loading, the wrong secret: %v, want %v", refusal, apikey.WrongSecret)
	}
	if err := store.Update(ctx, func(tx warden.Tx) error { return tx.DeleteCredential(ctx, gone) }); err != nil {
		t.Fatal(err)
	}
	if _, _, found := check(gone, goneSecret); found {
		t.Fatal("while loading, a deleted key is still found")
	}

	if err := s.apiKeys.loadAll(ctx); err != nil {
		t.Fatal(err)
	}
	if s.apiKeys.loading.Load() {
		t.Fatal("still loading after loadAll")
	}
	reads := countReads(s)
	before := reads()
	// Refused (so no use recorded): the use the flush writes below is
	// the one made while loading.
	if _, refusal, found := check(kept, goneSecret); !found || refusal != apikey.WrongSecret {
		t.Fatalf("after the load: %v, %v; want %v, found", refusal, found, apikey.WrongSecret)
	}
	if _, _, found := check(gone, goneSecret); found {
		t.Fatal("after the load, a deleted key is found")
	}
	if n := reads() - before; n != 0 {
		t.Errorf("%d database reads after the load, want 0", n)
	}
	// The use made while loading is written by the next flush.
	s.apiKeys.flush(ctx)
	var used time.Time
	store.View(ctx, func(tx warden.Tx) error {
		c, err := tx.GetCredential(ctx, kept)
		if err == nil {
			used = c.LastUsedAt
		}
		return err
	})
	if !used.Equal(now) {
		t.Errorf("last used at %v after the flush, want %v", used, now)
	}
}
