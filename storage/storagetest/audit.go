package storagetest

import (
	"bytes"
	"sync"
	"testing"
	"time"

	"warden"
)

// appendAudit appends one record after the head in its own transaction.
func appendAudit(t *testing.T, s warden.Store, subject, path string) *warden.AuditRecord {
	t.Helper()
	var r *warden.AuditRecord
	update(t, s, func(tx warden.Tx) error {
		head, err := tx.LockAuditHead(t.Context())
		if err != nil {
			return err
		}
		r = &warden.AuditRecord{Seq: head.Seq + 1, ID: warden.NewID("evt"), Time: stored(base), Type: "test.Append", Class: warden.AuditManagement,
			SubjectID: subject, Path: path, Status: warden.AuditDone, Body: []byte(`{}`), PrevHash: head.Hash, Hash: []byte(unique("h"))}
		return tx.AppendAuditEvent(t.Context(), r)
	})
	return r
}

func testAudit(t *testing.T, s warden.Store) {
	t.Run("AppendListHead", func(t *testing.T) {
		subject := unique("sub")
		a := appendAudit(t, s, subject, "org cloud "+subject+"res")
		b := appendAudit(t, s, subject, "org other")
		if b.Seq != a.Seq+1 || !bytes.Equal(b.PrevHash, a.Hash) {
			t.Fatalf("second event: seq %d prev %q, want %d %q", b.Seq, b.PrevHash, a.Seq+1, a.Hash)
		}
		view(t, s, func(tx warden.Tx) error {
			head, err := tx.AuditHead(t.Context())
			if err != nil {
				return err
			}
			if head.Seq < b.Seq {
				t.Errorf("head %d, want at least %d", head.Seq, b.Seq)
			}
			got, next, err := tx.ListAuditEvents(t.Context(), warden.AuditFilter{SubjectID: subject, Page: warden.Page{Size: 1}})
			if err != nil {
				return err
			}
			if len(got) != 1 || got[0].Seq != a.Seq || next == "" {
				t.Errorf("first page: %d events, next %q", len(got), next)
			}
			got, _, err = tx.ListAuditEvents(t.Context(), warden.AuditFilter{SubjectID: subject, Page: warden.Page{Size: 1, Token: next}})
			if err != nil {
				return err
			}
			if len(got) != 1 || got[0].Seq != b.Seq || !bytes.Equal(got[0].Body, b.Body) || !got[0].Time.Equal(b.Time) {
				t.Errorf("second page: %+v", got)
			}
			got, _, err = tx.ListAuditEvents(t.Context(), warden.AuditFilter{ResourceID: subject + "res"})
			if err != nil {
				return err
			}
			if len(got) != 1 || got[0].Seq != a.Seq {
				t.Errorf("by resource: %d events", len(got))
			}
			return nil
		})
	})
	t.Run("Batch", func(t *testing.T) { testAuditBatch(t, s) })
	t.Run("AppendOutOfOrder", func(t *testing.T) {
		err := s.Update(t.Context(), func(tx warden.Tx) error {
			head, err := tx.LockAuditHead(t.Context())
			if err != nil {
				return err
			}
			return tx.AppendAuditEvent(t.Context(), &warden.AuditRecord{Seq: head.Seq + 2, ID: warden.NewID("evt"), Body: []byte(`{}`)})
		})
		if !warden.IsCode(err, warden.FailedPrecondition) {
			t.Fatalf("append after a gap: %v, want FailedPrecondition", err)
		}
	})
	t.Run("NotAChange", func(t *testing.T) {
		// An append names no resource in the change feed: it makes no
		// node re-read its authorization snapshot.
		var since time.Time
		view(t, s, func(tx warden.Tx) (err error) { since, err = tx.Clock(t.Context()); return err })
		appendAudit(t, s, unique("sub"), "")
		var changes []warden.ResourceChange
		view(t, s, func(tx warden.Tx) (err error) { changes, err = tx.ResourceChanges(t.Context(), since); return err })
		if len(changes) != 0 {
			t.Errorf("an audit append wrote resource changes: %+v", changes)
		}
	})
	t.Run("ConcurrentAppendsFormOneChain", func(t *testing.T) {
		subject := unique("sub")
		var wg sync.WaitGroup
		for range 4 {
			wg.Add(1)
			go func() {
				defer wg.Done()
				for range 5 {
					appendAudit(t, s, subject, "")
				}
			}()
		}
		wg.Wait()
		view(t, s, func(tx warden.Tx) error {
			got, _, err := tx.ListAuditEvents(t.Context(), warden.AuditFilter{SubjectID: subject})
			if err != nil {
				return err
			}
			if len(got) != 20 {
				t.Fatalf("%d events, want 20", len(got))
			}
			all, err := tx.AuditEventsFrom(t.Context(), got[0].Seq, 1000)
			if err != nil {
				return err
			}
			for i := 1; i < len(all); i++ {
				if all[i].Seq != all[i-1].Seq+1 || !bytes.Equal(all[i].PrevHash, all[i-1].Hash) {
					t.Fatalf("event %d does not follow event %d", all[i].Seq, all[i-1].Seq)
				}
			}
			return nil
		})
	})
	t.Run("Prune", func(t *testing.T) {
		appendAudit(t, s, unique("sub"), "")
		var n int64
		update(t, s, func(tx warden.Tx) (err error) {
			n, err = tx.PruneAuditEvents(t.Context(), base.Add(time.Second))
			return err
		})
		view(t, s, func(tx warden.Tx) error {
			head, err := tx.AuditHead(t.Context())
			if err != nil {
				return err
			}
			if n == 0 || head.PrunedSeq != head.Seq-1 {
				t.Errorf("pruned %d, head %+v: want all but the head pruned", n, head)
			}
			rest, err := tx.AuditEventsFrom(t.Context(), 0, 10)
			if err != nil {
				return err
			}
			if len(rest) != 1 || rest[0].Seq != head.Seq || !bytes.Equal(rest[0].PrevHash, head.PrunedHash) {
				t.Errorf("kept %d events, want the head only, linked to the pruned hash", len(rest))
			}
			return nil
		})
	})
}

func testAuditBatch(t *testing.T, s warden.Store) {
	subject := unique("sub")
	update(t, s, func(tx warden.Tx) error {
		head, err := tx.LockAuditHead(t.Context())
		if err != nil {
			return err
		}
		var rs []*warden.AuditRecord
		prev := head.Hash
		for i := range 100 {
			r := &warden.AuditRecord{Seq: head.Seq + 1 + int64(i), ID: warden.NewID("evt"), Time: stored(base), Type: "test.Batch", Class: warden.AuditData,
				SubjectID: subject, Status: warden.AuditDone, Body: []byte(`{}`), PrevHash: prev, Hash: []byte(unique("h"))}
			rs, prev = append(rs, r), r.Hash
		}
		return tx.AppendAuditEvents(t.Context(), rs)
	})
	view(t, s, func(tx warden.Tx) error {
		got, _, err := tx.ListAuditEvents(t.Context(), warden.AuditFilter{SubjectID: subject, Page: warden.Page{Size: 1000}})
		if err != nil {
			return err
		}
		head, err := tx.AuditHead(t.Context())
		if err != nil {
			return err
		}
		if len(got) != 100 || !bytes.Equal(head.Hash, got[99].Hash) {
			t.Errorf("%d events of the batch stored; head %d", len(got), head.Seq)
		}
		return nil
	})
}
