package storagetest

import (
	"errors"
	"slices"
	"strconv"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"

	"warden"
)

func newOperation(resourceID string, createdAt time.Time) *warden.Operation {
	return &warden.Operation{
		ID:          warden.NewID(warden.PrefixOperation),
		ResourceID:  resourceID,
		Description: "Create service account",
		CreatedBy:   warden.NewID(warden.PrefixUserAccount),
		CreatedAt:   createdAt,
		ModifiedAt:  createdAt,
		Metadata:    []byte("\x0a\x14serviceAccountId\x00\xff"),
	}
}

func storedOperation(op *warden.Operation) *warden.Operation {
	o := *op
	o.CreatedAt, o.ModifiedAt = stored(o.CreatedAt), stored(o.ModifiedAt)
	return &o
}

func getOperation(t *testing.T, s warden.Store, id string) (*warden.Operation, error) {
	t.Helper()
	var op *warden.Operation
	err := s.View(t.Context(), func(tx warden.Tx) (err error) {
		op, err = tx.GetOperation(t.Context(), id)
		return err
	})
	return op, err
}

func testOperation(t *testing.T, s warden.Store) {
	t.Run("CreateGetUpdate", func(t *testing.T) { testOperationCreateGetUpdate(t, s) })
	t.Run("Missing", func(t *testing.T) { testOperationMissing(t, s) })
	t.Run("List", func(t *testing.T) { testOperationList(t, s) })
	t.Run("InItsTransaction", func(t *testing.T) { testOperationInItsTransaction(t, s) })
}

// testOperationInItsTransaction: an operation is there for the rest of the
// transaction that creates it (read, updated, listed), whatever comes
// after it, and is stored exactly when the transaction commits — also when
// an audit record, or nothing, follows it.
func testOperationInItsTransaction(t *testing.T, s warden.Store) {
	ctx := t.Context()
	resourceID := warden.NewID(warden.PrefixServiceAccount)
	read := newOperation(resourceID, base)
	updated := newOperation(resourceID, base.Add(time.Second))
	audited := newOperation(resourceID, base.Add(2*time.Second))
	last := newOperation(resourceID, base.Add(3*time.Second))
	update(t, s, func(tx warden.Tx) error {
		if err := tx.CreateOperation(ctx, read); err != nil {
			return err
		}
		got, err := tx.GetOperation(ctx, read.ID)
		if err != nil {
			return err
		}
		if diff := cmp.Diff(storedOperation(read), got, cmpOpts); diff != "" {
			t.Errorf("GetOperation in its transaction (-want +got):\n%s", diff)
		}
		if err := tx.CreateOperation(ctx, updated); err != nil {
			return err
		}
		updated.Done, updated.Response = true, []byte{1}
		if err := tx.UpdateOperation(ctx, updated); err != nil {
			return err
		}
		if err := tx.CreateOperation(ctx, audited); err != nil {
			return err
		}
		if err := tx.AppendAuditEvents(ctx, sealer{}, record(unique("sub"), "")); err != nil {
			return err
		}
		ops, _, err := tx.ListOperations(ctx, resourceID, warden.Page{})
		if err != nil {
			return err
		}
		if len(ops) != 3 {
			t.Errorf("ListOperations in their transaction: %d operations, want 3", len(ops))
		}
		return tx.CreateOperation(ctx, last) // nothing after it
	})
	for _, want := range []*warden.Operation{read, updated, audited, last} {
		got, err := getOperation(t, s, want.ID)
		if err != nil {
			t.Fatalf("GetOperation after the commit: %v", err)
		}
		if diff := cmp.Diff(storedOperation(want), got, cmpOpts); diff != "" {
			t.Errorf("GetOperation after the commit (-want +got):\n%s", diff)
		}
	}

	lost := newOperation(resourceID, base)
	errFail := errors.New("fail")
	err := s.Update(ctx, func(tx warden.Tx) error {
		if err := tx.CreateOperation(ctx, lost); err != nil {
			return err
		}
		if err := tx.AppendAuditEvents(ctx, sealer{}, record(unique("sub"), "")); err != nil {
			return err
		}
		return errFail
	})
	if !errors.Is(err, errFail) {
		t.Fatalf("failed transaction: %v", err)
	}
	_, err = getOperation(t, s, lost.ID)
	wantCode(t, "GetOperation of a rolled-back operation", err, warden.NotFound)
}

func testOperationCreateGetUpdate(t *testing.T, s warden.Store) {
	op := newOperation(warden.NewID(warden.PrefixServiceAccount), base)
	update(t, s, func(tx warden.Tx) error { return tx.CreateOperation(t.Context(), op) })

	done := *op
	done.ModifiedAt = base.Add(1500 * time.Millisecond)
	done.Done = true
	done.Response = []byte{0x0a, 0x00, 0x01}
	failed := done
	failed.Response = nil
	failed.Error = []byte("\x08\x05\x12\x09not found")

	steps := []struct {
		name   string
		update *warden.Operation // nil: only read
	}{
		{"created", nil},
		{"done", &done},
		{"failed", &failed},
	}
	want := op
	for _, st := range steps {
		t.Run(st.name, func(t *testing.T) {
			if st.update != nil {
				update(t, s, func(tx warden.Tx) error { return tx.UpdateOperation(t.Context(), st.update) })
				want = st.update
			}
			got, err := getOperation(t, s, op.ID)
			if err != nil {
				t.Fatalf("GetOperation: %v", err)
			}
			if diff := cmp.Diff(storedOperation(want), got, cmpOpts); diff != "" {
				t.Errorf("GetOperation mismatch (-want +got):\n%s", diff)
			}
		})
	}
}

func testOperationMissing(t *testing.T, s warden.Store) {
	missing := newOperation(warden.NewID(warden.PrefixServiceAccount), base)
	_, err := getOperation(t, s, missing.ID)
	wantCode(t, "GetOperation", err, warden.NotFound)
	err = s.Update(t.Context(), func(tx warden.Tx) error { return tx.UpdateOperation(t.Context(), missing) })
	wantCode(t, "UpdateOperation", err, warden.NotFound)
}

func testOperationList(t *testing.T, s warden.Store) {
	resourceID := warden.NewID(warden.PrefixServiceAccount)
	// Two operations share a creation time: paging must still return each
	// exactly once.
	var ops []*warden.Operation
	for i, d := range []time.Duration{0, 3, 1, 1, 4, 2, 5} {
		op := newOperation(resourceID, base.Add(d*time.Second+time.Duration(i)*time.Nanosecond))
		ops = append(ops, op)
	}
	other := newOperation(warden.NewID(warden.PrefixServiceAccount), base)
	update(t, s, func(tx warden.Tx) error {
		for _, op := range append(ops, other) {
			if err := tx.CreateOperation(t.Context(), op); err != nil {
				return err
			}
		}
		return nil
	})

	for _, size := range []int{0, 1, 2, 3, 7, 10} {
		t.Run("size="+strconv.Itoa(size), func(t *testing.T) {
			var got []*warden.Operation
			p := warden.Page{Size: size}
			for pages := 1; ; pages++ {
				var page []*warden.Operation
				var next string
				view(t, s, func(tx warden.Tx) (err error) {
					page, next, err = tx.ListOperations(t.Context(), resourceID, p)
					return err
				})
				if size > 0 && len(page) > size {
					t.Fatalf("page %d has %d items, more than the page size %d", pages, len(page), size)
				}
				got = append(got, page...)
				if next == "" {
					break
				}
				if pages > 100 {
					t.Fatal("ListOperations never returns an empty page token")
				}
				p.Token = next
			}
			if len(got) != len(ops) {
				t.Fatalf("ListOperations returned %d operations over all pages, want %d", len(got), len(ops))
			}
			seen := map[string]bool{}
			for i, op := range got {
				if seen[op.ID] {
					t.Errorf("operation %s returned twice", op.ID)
				}
				seen[op.ID] = true
				if i > 0 && op.CreatedAt.After(got[i-1].CreatedAt) {
					t.Errorf("operation %d (%v) is newer than operation %d (%v): want newest first", i, op.CreatedAt, i-1, got[i-1].CreatedAt)
				}
			}
			for _, op := range ops {
				i := slices.IndexFunc(got, func(g *warden.Operation) bool { return g.ID == op.ID })
				if i < 0 {
					t.Errorf("operation %s missing", op.ID)
					continue
				}
				if diff := cmp.Diff(storedOperation(op), got[i], cmpOpts); diff != "" {
					t.Errorf("operation %s mismatch (-want +got):\n%s", op.ID, diff)
				}
			}
		})
	}

	t.Run("malformed page token", func(t *testing.T) {
		err := s.View(t.Context(), func(tx warden.Tx) error {
			_, _, err := tx.ListOperations(t.Context(), resourceID, warden.Page{Token: "not a page token!"})
			return err
		})
		wantCode(t, "ListOperations", err, warden.InvalidArgument)
	})
}
