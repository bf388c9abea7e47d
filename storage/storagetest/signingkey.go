package storagetest

import (
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"

	"warden"
)

func testSigningKey(t *testing.T, s warden.Store) {
	var keys []*warden.SigningKey
	for _, age := range []time.Duration{0, 2 * time.Hour, time.Hour} {
		keys = append(keys, &warden.SigningKey{
			ID:        warden.NewID(warden.PrefixSigningKey),
			Algorithm: "Ed25519",
			Private:   []byte("sealed private key " + unique("k")),
			Public:    []byte("public key " + unique("k")),
			CreatedAt: base.Add(age),
		})
	}
	update(t, s, func(tx warden.Tx) error {
		for _, k := range keys {
			if err := tx.CreateSigningKey(t.Context(), k); err != nil {
				return err
			}
		}
		return nil
	})

	var all []*warden.SigningKey
	view(t, s, func(tx warden.Tx) (err error) {
		all, err = tx.SigningKeys(t.Context())
		return err
	})
	// Other tests share the database: keep only this test's keys, in the
	// order the store returned them.
	mine := map[string]bool{}
	for _, k := range keys {
		mine[k.ID] = true
	}
	var got []*warden.SigningKey
	for _, k := range all {
		if mine[k.ID] {
			got = append(got, k)
		}
	}
	var want []*warden.SigningKey
	for _, i := range []int{1, 2, 0} { // newest first
		k := *keys[i]
		k.CreatedAt = stored(k.CreatedAt)
		want = append(want, &k)
	}
	if diff := cmp.Diff(want, got, cmpOpts); diff != "" {
		t.Errorf("SigningKeys mismatch (-want +got):\n%s", diff)
	}
}
