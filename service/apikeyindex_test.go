package service

import (
	"context"
	"fmt"
	"strings"
	"testing"
	"time"

	"warden"
	"warden/apikey"
	"warden/secret"
	"warden/storage/sqlite"
)

// TestAPIKeyIndexLoadAll: a full load (parts read concurrently, the fast
// decoder, batches merged) holds every API key of the store and answers
// for each as the key compiled alone from encoding/json's reading of it:
// keys with and without restrictions, data the fast decoder leaves to
// encoding/json; not a corrupt key, nor another kind of credential.
func TestAPIKeyIndexLoadAll(t *testing.T) {
	for _, backend := range []string{"sqlite", "postgres"} {
		t.Run(backend, func(t *testing.T) {
			ctx := context.Background()
			store, _ := nodeStores(t, backend)
			s, err := New(Config{Store: store, Sealer: mustSealer(t)})
			if err != nil {
				t.Fatal(err)
			}
			created := time.Date(2026, 1, 1, 0, 0, 0, 0, time.UTC)
			var creds []*warden.Credential
			secrets := map[string]string{}
			for i := range 3000 {
				id := warden.NewID(warden.PrefixAPIKey)
				sec := apikey.NewSecret(id)
				k := &APIKey{
					ID: id, ServiceAccountID: fmt.Sprintf("aje%017d", i%7), Name: fmt.Sprintf("key <%d> & co", i),
					Enabled: i%11 != 0, MaskedSecret: apikey.Masked(sec), CreatedAt: created, UpdatedAt: created, hash: secret.Hash(sec),
				}
				if i%2 == 0 {
					k.Scopes, k.Products = []string{"yc.postbox.send"}, []string{"postbox", "monaas"}
					k.Addresses = []string{fmt.Sprintf("10.%d.0.0/16", i%250), "2001:db8::/32"}
					k.Slots, k.Timezone = []apikey.Slot{{Start: 8, End: 20}}, i%25-12
				}
				if i%3 == 0 {
					k.ExpiresAt = created.AddDate(0, 0, i%400)
				}
				c, err := k.credential()
				if err != nil {
					t.Fatal(err)
				}
				if i%100 == 1 { // left to encoding/json: a key in another case
					c.Data = []byte(`{"Products":["postbox"],"masked_secret":"****"}`)
				}
				creds = append(creds, c)
				secrets[id] = sec
			}
			corrupt := &warden.Credential{ID: warden.NewID(warden.PrefixAPIKey), Kind: warden.CredAPIKey, SubjectID: "aje00000000000000001",
				Hash: secret.Hash("corrupt"), Data: []byte(`{"addresses":["10.0.0.1/8"]}`), CreatedAt: created}
			other := &warden.Credential{ID: warden.NewID(warden.PrefixAccessKey), Kind: warden.CredAccessKey, SubjectID: "aje00000000000000001",
				Hash: secret.Hash("other"), Data: []byte(`{}`), CreatedAt: created}
			err = store.Update(ctx, func(tx warden.Tx) error {
				for _, c := range append(creds, corrupt, other) {
					if err := tx.CreateCredential(ctx, c); err != nil {
						return err
					}
				}
				return nil
			})
			if err != nil {
				t.Fatal(err)
			}
			s.apiKeys.batchKeys = 100 // many batches of each part, merged as they come
			if err := s.apiKeys.loadAll(ctx); err != nil {
				t.Fatal(err)
			}
			if got, want := s.apiKeys.Len(), len(creds); got != want {
				t.Fatalf("the index holds %d keys, want %d", got, want)
			}
			for _, id := range []string{corrupt.ID, other.ID} {
				if _, _, found := s.apiKeys.CheckAPIKey(id, apikey.Request{Secret: "x", Now: created}); found {
					t.Errorf("%s is held", id)
				}
			}
			for _, c := range creds {
				k, err := decodeAPIKey(c)
				if err != nil {
					t.Fatal(err)
				}
				alone, err := apikey.Compile(k.spec())
				if err != nil {
					t.Fatal(err)
				}
				own := "10.7.1.1:443" // inside the key's own subnet
				if len(k.Addresses) > 0 {
					own = strings.Replace(k.Addresses[0], ".0.0/16", ".1.1", 1)
				}
				for _, r := range []apikey.Request{
					{Secret: secrets[c.ID], Client: own, Now: created.Add(9 * time.Hour), Product: "postbox", Scope: "yc.postbox.send"},
					{Secret: secrets[c.ID], Client: "[2001:db8::1]:443", Now: created.AddDate(0, 3, 0), Product: "monaas"},
					{Secret: secrets[c.ID], Client: "192.0.2.1", Now: created.Add(23 * time.Hour), Product: "logaas"},
					{Secret: "wrong", Now: created},
				} {
					sub, got, found := s.apiKeys.CheckAPIKey(c.ID, r)
					if want := alone.Check(&r); !found || got != want || sub != c.SubjectID {
						t.Fatalf("key %s, %+v: %q, %v, found %v; want %q, %v", c.ID, r, sub, got, found, c.SubjectID, want)
					}
				}
			}
		})
	}
}

// TestAPIKeyChangedDuringLoad: a key deleted through this node while a
// full load runs, after the load read it, stays deleted once the loaded
// table is installed (the node's own change is enforced when its call
// returns, and from then on).
func TestAPIKeyChangedDuringLoad(t *testing.T) {
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
	id := warden.NewID(warden.PrefixAPIKey)
	sec := apikey.NewSecret(id)
	k := &APIKey{ID: id, ServiceAccountID: "aje00000000000000001", Enabled: true, MaskedSecret: apikey.Masked(sec), hash: secret.Hash(sec)}
	c, err := k.credential()
	if err != nil {
		t.Fatal(err)
	}
	if err := store.Update(ctx, func(tx warden.Tx) error { return tx.CreateCredential(ctx, c) }); err != nil {
		t.Fatal(err)
	}
	if err := s.apiKeys.loadAll(ctx); err != nil {
		t.Fatal(err)
	}
	// The next load reads the key, then the key is deleted as
	// DeleteAPIKey does (the store, then the index) before the load
	// installs what it read.
	s.apiKeys.store = &afterScanStore{Store: store, after: func() {
		if err := store.Update(ctx, func(tx warden.Tx) error { return tx.DeleteCredential(ctx, id) }); err != nil {
			t.Error(err)
		}
		s.apiKeys.changed(ctx, id)
		if _, _, found := s.apiKeys.CheckAPIKey(id, apikey.Request{Secret: sec, Now: time.Now()}); found {
			t.Error("a deleted key is found when its delete returns")
		}
	}}
	if err := s.apiKeys.loadAll(ctx); err != nil {
		t.Fatal(err)
	}
	if _, _, found := s.apiKeys.CheckAPIKey(id, apikey.Request{Secret: sec, Now: time.Now()}); found {
		t.Error("a key deleted through this node during the load is found after it")
	}
}

// afterScanStore calls after once a scan of credentials has read them.
type afterScanStore struct {
	warden.Store
	after func()
}

func (s *afterScanStore) ScanCredentials(ctx context.Context, kind warden.CredentialKind, parts int, fn func(int, *warden.Credential) error) error {
	err := s.Store.ScanCredentials(ctx, kind, parts, fn)
	s.after()
	return err
}

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

// TestAccessKeyTable: keys are found by their AWS key id, a credential
// whose key id changes leaves its old one, a deleted key is gone and its
// row reused, and the arena is compacted as keys churn.
func TestAccessKeyTable(t *testing.T) {
	tb := newAccessKeyTable()
	sealed := func(i int) []byte { return []byte(strings.Repeat(string(rune('a'+i%26)), 68)) }
	const n = 2000
	for round := range 3 {
		for i := range n {
			if _, ok := tb.put(fmt.Sprintf("WDNK%016d", i), fmt.Sprintf("ajs%017d", i), fmt.Sprintf("aje%017d", i%7), sealed(i+round)); !ok {
				t.Fatal("put refused a 20-character id")
			}
		}
	}
	for i := range n {
		r, ok := tb.lookup(fmt.Sprintf("WDNK%016d", i))
		if !ok || string(tb.sealed(r)) != string(sealed(i+2)) || tb.subject(r) != fmt.Sprintf("aje%017d", i%7) || r.credID.String() != fmt.Sprintf("ajs%017d", i) {
			t.Fatalf("key %d: found %v, wrong row after churn", i, ok)
		}
	}
	if len(tb.arena) > 2*n*68 {
		t.Errorf("arena of %d bytes for %d keys of 68: not compacted", len(tb.arena), n)
	}
	if replaced, _ := tb.put("WDNKnewnewnewnewnew0", fmt.Sprintf("ajs%017d", 1), "aje", sealed(0)); replaced != fmt.Sprintf("WDNK%016d", 1) {
		t.Errorf("a credential's new key id replaced %q, want its old one", replaced)
	}
	if _, ok := tb.lookup(fmt.Sprintf("WDNK%016d", 1)); ok {
		t.Error("the old key id of a credential is still found")
	}
	if keyID, ok := tb.remove(fmt.Sprintf("ajs%017d", 5)); !ok || keyID != fmt.Sprintf("WDNK%016d", 5) {
		t.Errorf("remove = %q, %v", keyID, ok)
	}
	if _, ok := tb.lookup(fmt.Sprintf("WDNK%016d", 5)); ok || tb.Len() != n-1 {
		t.Errorf("after remove: found %v, Len %d (want %d)", ok, tb.Len(), n-1)
	}
	if _, ok := tb.put("WDNK123456789012345678", "ajs1", "aje", nil); ok {
		t.Error("put accepted a key id longer than 20 characters")
	}
}
