package storagetest

import (
	"testing"

	"warden"
)

func testMeta(t *testing.T, s warden.Store) {
	key := unique("meta")
	steps := []struct {
		name     string
		insert   string // "": only read
		wantErr  warden.Code
		want     string
		wantRead warden.Code
	}{
		{name: "unset", wantRead: warden.NotFound},
		{name: "insert", insert: "first", want: "first"},
		{name: "insert again", insert: "second", wantErr: warden.AlreadyExists, want: "first"},
	}
	for _, st := range steps {
		t.Run(st.name, func(t *testing.T) {
			if st.insert != "" {
				err := s.Update(t.Context(), func(tx warden.Tx) error { return tx.InsertMeta(t.Context(), key, st.insert) })
				wantCode(t, "InsertMeta", err, st.wantErr)
			}
			var got string
			err := s.View(t.Context(), func(tx warden.Tx) (err error) {
				got, err = tx.Meta(t.Context(), key)
				return err
			})
			wantCode(t, "Meta", err, st.wantRead)
			if got != st.want {
				t.Errorf("Meta(%q) = %q, want %q", key, got, st.want)
			}
		})
	}
}
