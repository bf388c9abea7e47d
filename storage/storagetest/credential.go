package storagetest

import (
	"crypto/sha256"
	"slices"
	"strconv"
	"sync"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"
	"github.com/google/go-cmp/cmp/cmpopts"

	"warden"
)

var credentialPrefixes = map[warden.CredentialKind]string{
	warden.CredOAuthToken:  warden.PrefixOAuthToken,
	warden.CredKey:         warden.PrefixKey,
	warden.CredAPIKey:      warden.PrefixAPIKey,
	warden.CredAccessKey:   warden.PrefixAccessKey,
	warden.CredStaticToken: warden.PrefixStaticToken,
}

// newCredential returns an unsaved credential with a fresh ID and hash.
func newCredential(kind warden.CredentialKind, subjectID string) *warden.Credential {
	prefix := credentialPrefixes[kind]
	if prefix == "" {
		prefix = "pwd"
	}
	id := warden.NewID(prefix)
	hash := sha256.Sum256([]byte(id))
	return &warden.Credential{
		ID:          id,
		Kind:        kind,
		SubjectID:   subjectID,
		Hash:        hash[:],
		Data:        []byte(`{"scope":"yc.postbox.send"}`),
		Description: "test credential",
		CreatedAt:   base,
		ExpiresAt:   base.Add(365 * 24 * time.Hour),
	}
}

func storedCredential(c *warden.Credential) *warden.Credential {
	s := *c
	s.CreatedAt, s.ExpiresAt, s.LastUsedAt = stored(s.CreatedAt), stored(s.ExpiresAt), stored(s.LastUsedAt)
	return &s
}

func createCredentials(t *testing.T, s warden.Store, cs ...*warden.Credential) {
	t.Helper()
	update(t, s, func(tx warden.Tx) error {
		for _, c := range cs {
			if err := tx.CreateCredential(t.Context(), c); err != nil {
				return err
			}
		}
		return nil
	})
}

// credential reads a credential by ID (hash nil) or by kind and hash.
func credential(t *testing.T, s warden.Store, id string, kind warden.CredentialKind, hash []byte) (*warden.Credential, error) {
	t.Helper()
	var c *warden.Credential
	err := s.View(t.Context(), func(tx warden.Tx) (err error) {
		if hash == nil {
			c, err = tx.GetCredential(t.Context(), id)
		} else {
			c, err = tx.CredentialByHash(t.Context(), kind, hash)
		}
		return err
	})
	return c, err
}

func testCredential(t *testing.T, s warden.Store) {
	t.Run("CreateGet", func(t *testing.T) { testCredentialCreateGet(t, s) })
	t.Run("DuplicateHash", func(t *testing.T) { testCredentialDuplicateHash(t, s) })
	t.Run("Update", func(t *testing.T) { testCredentialUpdate(t, s) })
	t.Run("Delete", func(t *testing.T) { testCredentialDelete(t, s) })
	t.Run("List", func(t *testing.T) { testCredentialList(t, s) })
	t.Run("Feed", func(t *testing.T) { testCredentialFeed(t, s) })
	t.Run("Scan", func(t *testing.T) { testCredentialScan(t, s) })
}

// testCredentialScan: a scan in any number of parts passes each credential
// of the kind once, with the fields it promises, on one goroutine per
// part; an error of fn stops it and is returned.
func testCredentialScan(t *testing.T, s warden.Store) {
	subject := warden.NewID(warden.PrefixServiceAccount)
	want := map[string]*warden.Credential{}
	var all []*warden.Credential
	for i := range 40 {
		kind := warden.CredAPIKey
		if i%4 == 3 {
			kind = warden.CredAccessKey
		}
		c := newCredential(kind, subject)
		c.Data = []byte(`{"n":` + strconv.Itoa(i) + `}`)
		if i%5 == 0 {
			c.ExpiresAt = time.Time{}
		}
		if kind == warden.CredAPIKey {
			w := storedCredential(c)
			w.Description, w.CreatedAt = "", time.Time{} // not read by a scan
			want[c.ID] = w
		}
		all = append(all, c)
	}
	createCredentials(t, s, all...)
	var count int
	view(t, s, func(tx warden.Tx) (err error) {
		count, err = tx.CountCredentials(t.Context(), warden.CredAPIKey)
		return err
	})
	// At least these: the database may be shared with other runs, which
	// create and delete their own at the same time.
	if count < len(want) {
		t.Errorf("CountCredentials(apiKey) = %d after creating %d", count, len(want))
	}
	for _, parts := range []int{1, 3, 100} {
		t.Run(strconv.Itoa(parts)+" parts", func(t *testing.T) {
			var mu sync.Mutex
			got := map[string]*warden.Credential{}
			partOf := map[string]int{}
			busy := map[int]bool{}
			err := s.ScanCredentials(t.Context(), warden.CredAPIKey, parts, func(part int, c *warden.Credential) error {
				mu.Lock()
				if busy[part] || part < 0 || part >= parts {
					t.Errorf("part %d of %d called concurrently or out of range", part, parts)
				}
				busy[part] = true
				mu.Unlock()
				defer func() { mu.Lock(); busy[part] = false; mu.Unlock() }()
				if c.Kind != warden.CredAPIKey {
					t.Errorf("scan of API keys passed a %s", c.Kind)
				}
				if _, mine := want[c.ID]; !mine {
					return nil // another test's
				}
				mu.Lock()
				defer mu.Unlock()
				if p, seen := partOf[c.ID]; seen {
					t.Errorf("%s passed twice, in parts %d and %d", c.ID, p, part)
				}
				partOf[c.ID] = part
				copied := *c // c and its slices are reused
				copied.Hash, copied.Data = slices.Clone(c.Hash), slices.Clone(c.Data)
				got[c.ID] = &copied
				return nil
			})
			if err != nil {
				t.Fatalf("ScanCredentials: %v", err)
			}
			if diff := cmp.Diff(want, got, cmpOpts); diff != "" {
				t.Errorf("scanned credentials (-want +got):\n%s", diff)
			}
		})
	}
	stop := warden.Errorf(warden.Internal, "stop")
	err := s.ScanCredentials(t.Context(), warden.CredAPIKey, 2, func(int, *warden.Credential) error { return stop })
	if err != stop {
		t.Errorf("ScanCredentials whose fn fails = %v, want fn's error", err)
	}
}

func testCredentialCreateGet(t *testing.T, s warden.Store) {
	subject := warden.NewID(warden.PrefixServiceAccount)
	full := newCredential(warden.CredAccessKey, subject)
	full.LastUsedAt = base.Add(time.Minute)
	bare := newCredential(warden.CredPassword, subject)
	bare.Data, bare.Description, bare.ExpiresAt = nil, "", time.Time{}
	createCredentials(t, s, full, bare)

	tests := []struct {
		name string
		id   string
		kind warden.CredentialKind
		hash []byte
		want *warden.Credential // nil: NotFound
	}{
		{"by ID", full.ID, "", nil, full},
		{"by ID, zero times and no data", bare.ID, "", nil, bare},
		{"missing ID", warden.NewID(warden.PrefixAccessKey), "", nil, nil},
		{"by hash", "", full.Kind, full.Hash, full},
		{"by hash of another kind", "", warden.CredAPIKey, full.Hash, nil},
		{"unknown hash", "", full.Kind, []byte("no such hash"), nil},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got, err := credential(t, s, tt.id, tt.kind, tt.hash)
			if tt.want == nil {
				wantCode(t, "get credential", err, warden.NotFound)
				return
			}
			if err != nil {
				t.Fatalf("get credential: %v", err)
			}
			if diff := cmp.Diff(storedCredential(tt.want), got, cmpOpts); diff != "" {
				t.Errorf("credential mismatch (-want +got):\n%s", diff)
			}
		})
	}
}

func testCredentialDuplicateHash(t *testing.T, s warden.Store) {
	first := newCredential(warden.CredAPIKey, warden.NewID(warden.PrefixServiceAccount))
	createCredentials(t, s, first)
	dup := newCredential(warden.CredAPIKey, warden.NewID(warden.PrefixServiceAccount))
	dup.Hash = first.Hash
	err := s.Update(t.Context(), func(tx warden.Tx) error { return tx.CreateCredential(t.Context(), dup) })
	wantCode(t, "CreateCredential(duplicate hash)", err, warden.AlreadyExists)
	_, err = credential(t, s, dup.ID, "", nil)
	wantCode(t, "GetCredential(rejected duplicate)", err, warden.NotFound)
}

func testCredentialUpdate(t *testing.T, s warden.Store) {
	c := newCredential(warden.CredAPIKey, warden.NewID(warden.PrefixServiceAccount))
	createCredentials(t, s, c)
	oldHash := c.Hash

	changed := *newCredential(warden.CredKey, warden.NewID(warden.PrefixServiceAccount))
	changed.ID = c.ID
	changed.Data = []byte(`{"rotated":true}`)
	changed.Description = "rotated"
	changed.CreatedAt = base.Add(time.Hour)
	changed.ExpiresAt = time.Time{}
	changed.LastUsedAt = base.Add(2 * time.Hour)
	noData := changed
	noData.Data = nil

	steps := []struct {
		name   string
		update *warden.Credential
	}{
		{"mutable fields", &changed},
		{"no data", &noData},
	}
	for _, st := range steps {
		t.Run(st.name, func(t *testing.T) {
			update(t, s, func(tx warden.Tx) error { return tx.UpdateCredential(t.Context(), st.update) })
			// Kind, subject and creation time are not mutable.
			want := *st.update
			want.Kind, want.SubjectID, want.CreatedAt = c.Kind, c.SubjectID, c.CreatedAt
			got, err := credential(t, s, c.ID, "", nil)
			if err != nil {
				t.Fatalf("GetCredential: %v", err)
			}
			if diff := cmp.Diff(storedCredential(&want), got, cmpOpts); diff != "" {
				t.Errorf("GetCredential after UpdateCredential mismatch (-want +got):\n%s", diff)
			}
			if _, err := credential(t, s, "", c.Kind, want.Hash); err != nil {
				t.Errorf("CredentialByHash(new hash): %v", err)
			}
			_, err = credential(t, s, "", c.Kind, oldHash)
			wantCode(t, "CredentialByHash(old hash)", err, warden.NotFound)
		})
	}

	t.Run("missing", func(t *testing.T) {
		missing := newCredential(warden.CredAPIKey, c.SubjectID)
		err := s.Update(t.Context(), func(tx warden.Tx) error { return tx.UpdateCredential(t.Context(), missing) })
		wantCode(t, "UpdateCredential", err, warden.NotFound)
	})
}

func testCredentialDelete(t *testing.T, s warden.Store) {
	c, keep := newCredential(warden.CredKey, warden.NewID(warden.PrefixServiceAccount)), newCredential(warden.CredKey, warden.NewID(warden.PrefixServiceAccount))
	createCredentials(t, s, c, keep)

	tests := []struct {
		name string
		id   string
		want warden.Code
	}{
		{"existing", c.ID, ""},
		{"again", c.ID, warden.NotFound},
		{"missing", warden.NewID(warden.PrefixKey), warden.NotFound},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			err := s.Update(t.Context(), func(tx warden.Tx) error { return tx.DeleteCredential(t.Context(), tt.id) })
			wantCode(t, "DeleteCredential", err, tt.want)
			_, err = credential(t, s, tt.id, "", nil)
			wantCode(t, "GetCredential after DeleteCredential", err, warden.NotFound)
		})
	}
	_, err := credential(t, s, "", c.Kind, c.Hash)
	wantCode(t, "CredentialByHash(deleted)", err, warden.NotFound)
	_, err = credential(t, s, keep.ID, "", nil)
	wantCode(t, "GetCredential(untouched)", err, "")
}

func testCredentialList(t *testing.T, s warden.Store) {
	subject := warden.NewID(warden.PrefixServiceAccount)
	var apiKeys, accessKeys []*warden.Credential
	for range 5 {
		apiKeys = append(apiKeys, newCredential(warden.CredAPIKey, subject))
	}
	for range 2 {
		accessKeys = append(accessKeys, newCredential(warden.CredAccessKey, subject))
	}
	elsewhere := newCredential(warden.CredAPIKey, warden.NewID(warden.PrefixServiceAccount))
	createCredentials(t, s, slices.Concat(apiKeys, accessKeys, []*warden.Credential{elsewhere})...)

	tests := []struct {
		kind warden.CredentialKind
		size int
		want []*warden.Credential
	}{
		{warden.CredAPIKey, 0, apiKeys},
		{warden.CredAPIKey, 1, apiKeys},
		{warden.CredAPIKey, 2, apiKeys},
		{warden.CredAPIKey, 5, apiKeys},
		{warden.CredAccessKey, 1, accessKeys},
		{warden.CredKey, 2, nil},
	}
	for _, tt := range tests {
		t.Run(string(tt.kind)+"/size="+strconv.Itoa(tt.size), func(t *testing.T) {
			var got []*warden.Credential
			p := warden.Page{Size: tt.size}
			for pages := 1; ; pages++ {
				var page []*warden.Credential
				var next string
				view(t, s, func(tx warden.Tx) (err error) {
					page, next, err = tx.ListCredentials(t.Context(), subject, tt.kind, p)
					return err
				})
				if tt.size > 0 && len(page) > tt.size {
					t.Fatalf("page %d has %d items, more than the page size %d", pages, len(page), tt.size)
				}
				got = append(got, page...)
				if next == "" {
					break
				}
				if pages > 100 {
					t.Fatal("ListCredentials never returns an empty page token")
				}
				p.Token = next
			}
			var want []*warden.Credential
			for _, c := range tt.want {
				want = append(want, storedCredential(c))
			}
			// Pages must cover every credential exactly once; the order
			// is not part of the contract.
			byID := cmpopts.SortSlices(func(a, b *warden.Credential) bool { return a.ID < b.ID })
			if diff := cmp.Diff(want, got, cmpOpts, byID); diff != "" {
				t.Errorf("ListCredentials mismatch (-want +got):\n%s", diff)
			}
		})
	}

	t.Run("malformed page token", func(t *testing.T) {
		err := s.View(t.Context(), func(tx warden.Tx) error {
			_, _, err := tx.ListCredentials(t.Context(), subject, warden.CredAPIKey, warden.Page{Token: "not a page token!"})
			return err
		})
		wantCode(t, "ListCredentials", err, warden.InvalidArgument)
	})
}

// testCredentialFeed: every credential create, update and delete appears in
// the change feed once; a touch does not, and moves last use forward only.
func testCredentialFeed(t *testing.T, s warden.Store) {
	since := time.Now().Add(-time.Second)
	c := newCredential(warden.CredAPIKey, warden.NewID(warden.PrefixServiceAccount))
	createCredentials(t, s, c)
	update(t, s, func(tx warden.Tx) error {
		c.Description = "edited"
		return tx.UpdateCredential(t.Context(), c)
	})
	used := base.Add(time.Hour)
	update(t, s, func(tx warden.Tx) error { return tx.TouchCredential(t.Context(), c.ID, used) })
	update(t, s, func(tx warden.Tx) error { return tx.TouchCredential(t.Context(), c.ID, base) }) // older: ignored
	update(t, s, func(tx warden.Tx) error {
		return tx.TouchCredential(t.Context(), warden.NewID(warden.PrefixAPIKey), used)
	})
	got, err := credential(t, s, c.ID, "", nil)
	if err != nil {
		t.Fatalf("get touched credential: %v", err)
	}
	if !got.LastUsedAt.Equal(stored(used)) {
		t.Errorf("LastUsedAt after touches = %v, want %v", got.LastUsedAt, stored(used))
	}
	var kinds int
	err = s.View(t.Context(), func(tx warden.Tx) error {
		return tx.EachCredential(t.Context(), warden.CredAPIKey, func(x *warden.Credential) error {
			if x.Kind != warden.CredAPIKey {
				t.Errorf("EachCredential(apiKey) returned a %s", x.Kind)
			}
			if x.ID == c.ID {
				kinds++
			}
			return nil
		})
	})
	if err != nil || kinds != 1 {
		t.Errorf("EachCredential saw the key %d times, err %v; want once", kinds, err)
	}
	update(t, s, func(tx warden.Tx) error { return tx.DeleteCredential(t.Context(), c.ID) })

	var feed []warden.CredentialChange
	err = s.View(t.Context(), func(tx warden.Tx) (err error) {
		feed, err = tx.CredentialChanges(t.Context(), since)
		return err
	})
	if err != nil {
		t.Fatalf("CredentialChanges: %v", err)
	}
	var mine int
	for i, ch := range feed {
		if i > 0 && ch.At.Before(feed[i-1].At) {
			t.Errorf("feed not in time order at %d", i)
		}
		if ch.CredentialID == c.ID {
			mine++
		}
	}
	if mine != 3 {
		t.Errorf("feed has %d entries for the credential, want 3 (create, update, delete; no touches)", mine)
	}
	// A rolled-back write leaves no feed entry.
	lost := newCredential(warden.CredAPIKey, warden.NewID(warden.PrefixServiceAccount))
	_ = s.Update(t.Context(), func(tx warden.Tx) error {
		if err := tx.CreateCredential(t.Context(), lost); err != nil {
			return err
		}
		return warden.Errorf(warden.FailedPrecondition, "roll back")
	})
	_ = s.View(t.Context(), func(tx warden.Tx) (err error) {
		feed, err = tx.CredentialChanges(t.Context(), since)
		return err
	})
	for _, ch := range feed {
		if ch.CredentialID == lost.ID {
			t.Errorf("feed has an entry for a rolled-back create")
		}
	}
}
