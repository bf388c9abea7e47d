package storagetest

import (
	"bytes"
	"crypto/sha256"
	"encoding/binary"
	"errors"
	"sync"
	"testing"
	"time"

	"warden"
)

// sealer links records with a plain hash: the store's part of the chain
// does not depend on the audit package's keyed one.
type sealer struct{}

func (sealer) Seal(head warden.AuditHead, r *warden.AuditRecord) {
	r.Seq, r.PrevHash = head.Seq+1, head.Hash
	h := sha256.New()
	h.Write(head.Hash)
	binary.Write(h, binary.BigEndian, r.Seq)
	h.Write(r.Body)
	r.Hash = h.Sum(nil)
}

// record is an unsealed record of one event.
func record(subject, path string) *warden.AuditRecord {
	return &warden.AuditRecord{ID: warden.NewID("evt"), Time: stored(base), Type: "test.Append", Class: warden.AuditManagement,
		SubjectID: subject, Path: path, Status: warden.AuditDone, Body: []byte(`{"subject":"` + subject + `"}`)}
}

// appendAudit appends one record in its own transaction.
func appendAudit(t *testing.T, s warden.Store, subject, path string) *warden.AuditRecord {
	t.Helper()
	r := record(subject, path)
	update(t, s, func(tx warden.Tx) error { return tx.AppendAuditEvents(t.Context(), sealer{}, r) })
	return r
}

// sealAll seals every committed record.
func sealAll(t *testing.T, s warden.Store) {
	t.Helper()
	for {
		var n int
		update(t, s, func(tx warden.Tx) (err error) {
			n, err = tx.SealAuditEvents(t.Context(), 100, sealer{})
			return err
		})
		if n < 100 {
			return
		}
	}
}

// listAudit lists the records of f from after on, up to limit.
func listAudit(t *testing.T, s warden.Store, f warden.AuditFilter, after int64, limit int) []*warden.AuditRecord {
	t.Helper()
	var got []*warden.AuditRecord
	view(t, s, func(tx warden.Tx) (err error) {
		got, err = tx.ListAuditEvents(t.Context(), f, after, limit)
		return err
	})
	return got
}

// listEvents is listAudit of every record after after, without the
// batches, which are listed for every subject (the caller looks inside).
func listEvents(t *testing.T, s warden.Store, f warden.AuditFilter, after int64) []*warden.AuditRecord {
	t.Helper()
	var out []*warden.AuditRecord
	for _, r := range listAudit(t, s, f, after, 100000) {
		if r.Type != warden.AuditBatch {
			out = append(out, r)
		}
	}
	return out
}

// checkChain walks the chain from seq from to its head: every record
// follows the one before it.
func checkChain(t *testing.T, s warden.Store, from int64) {
	t.Helper()
	view(t, s, func(tx warden.Tx) error {
		head, err := tx.AuditHead(t.Context())
		if err != nil {
			return err
		}
		all, err := tx.AuditEventsFrom(t.Context(), from, 100000)
		if err != nil {
			return err
		}
		for i, r := range all {
			var want warden.AuditRecord
			want.Body = r.Body
			prev := warden.AuditHead{Seq: r.Seq - 1, Hash: r.PrevHash}
			if i > 0 {
				prev = warden.AuditHead{Seq: all[i-1].Seq, Hash: all[i-1].Hash}
			}
			sealer{}.Seal(prev, &want)
			if r.Seq != want.Seq || !bytes.Equal(r.PrevHash, want.PrevHash) || !bytes.Equal(r.Hash, want.Hash) {
				t.Fatalf("record %d (%s) does not follow record %d", r.Seq, r.ID, prev.Seq)
			}
		}
		if n := len(all); n > 0 && (all[n-1].Seq != head.Seq || !bytes.Equal(all[n-1].Hash, head.Hash)) {
			t.Errorf("head %d, last record %d", head.Seq, all[n-1].Seq)
		}
		return nil
	})
}

func testAudit(t *testing.T, s warden.Store) {
	t.Run("AppendSealList", func(t *testing.T) {
		subject := unique("sub")
		a := appendAudit(t, s, subject, "org cloud "+subject+"res")
		b := appendAudit(t, s, subject, "org other")
		sealAll(t, s)
		got := listEvents(t, s, warden.AuditFilter{SubjectID: subject}, 0)
		if len(got) != 2 || got[0].ID != a.ID || got[1].ID != b.ID || got[0].Pos >= got[1].Pos {
			t.Fatalf("by subject: %+v", got)
		}
		if got[1].Seq <= got[0].Seq || !bytes.Equal(got[1].Body, b.Body) || !got[1].Time.Equal(b.Time) || !got[1].Last.Equal(b.Time) {
			t.Errorf("second record: %+v", got[1])
		}
		checkChain(t, s, got[0].Seq)
		if page := listAudit(t, s, warden.AuditFilter{SubjectID: subject}, got[0].Pos-1, 1); len(page) != 1 || page[0].ID != a.ID {
			t.Errorf("first page: %+v", page)
		}
		if page := listAudit(t, s, warden.AuditFilter{SubjectID: subject}, got[0].Pos, 1); len(page) != 1 || page[0].ID != b.ID {
			t.Errorf("second page: %+v", page)
		}
		if by := listEvents(t, s, warden.AuditFilter{ResourceID: subject + "res"}, 0); len(by) != 1 || by[0].ID != a.ID {
			t.Errorf("by resource: %+v", by)
		}
	})
	t.Run("SealedAtCommitOrAfter", func(t *testing.T) {
		// A store seals at commit or leaves the record for
		// SealAuditEvents, which seals it in the order of storing.
		r := appendAudit(t, s, unique("sub"), "")
		var head warden.AuditHead
		view(t, s, func(tx warden.Tx) (err error) { head, err = tx.AuditHead(t.Context()); return err })
		if r.Seq == 0 && head.Unsealed == 0 {
			t.Errorf("the record is not sealed at commit, and the head counts no record unsealed")
		}
		sealAll(t, s)
		got := listEvents(t, s, warden.AuditFilter{SubjectID: r.SubjectID}, 0)
		if len(got) != 1 || got[0].Seq == 0 || (r.Seq != 0 && got[0].Seq != r.Seq) {
			t.Fatalf("after sealing: %+v (at commit: %d)", got, r.Seq)
		}
		view(t, s, func(tx warden.Tx) (err error) { head, err = tx.AuditHead(t.Context()); return err })
		if head.Unsealed != 0 || head.Seq < got[0].Seq {
			t.Errorf("head after sealing: %+v", head)
		}
	})
	t.Run("RolledBack", func(t *testing.T) {
		// A record exists if and only if its transaction committed, also
		// beside another transaction that commits.
		failed, kept := record(unique("sub"), ""), record(unique("sub"), "")
		errFail := errors.New("fail")
		var wg sync.WaitGroup
		wg.Go(func() {
			err := s.Update(t.Context(), func(tx warden.Tx) error {
				if err := tx.AppendAuditEvents(t.Context(), sealer{}, failed); err != nil {
					return err
				}
				return errFail
			})
			if !errors.Is(err, errFail) {
				t.Errorf("failed transaction: %v", err)
			}
		})
		wg.Go(func() {
			update(t, s, func(tx warden.Tx) error { return tx.AppendAuditEvents(t.Context(), sealer{}, kept) })
		})
		wg.Wait()
		sealAll(t, s)
		if got := listEvents(t, s, warden.AuditFilter{SubjectID: failed.SubjectID}, 0); len(got) != 0 {
			t.Errorf("the record of a rolled back transaction is stored: %+v", got)
		}
		if got := listEvents(t, s, warden.AuditFilter{SubjectID: kept.SubjectID}, 0); len(got) != 1 {
			t.Errorf("the committed record: %+v", got)
		}
	})
	t.Run("ManyInOneTransaction", func(t *testing.T) {
		subject := unique("sub")
		rs := make([]*warden.AuditRecord, 100)
		for i := range rs {
			rs[i] = record(subject, "")
		}
		update(t, s, func(tx warden.Tx) error { return tx.AppendAuditEvents(t.Context(), sealer{}, rs...) })
		sealAll(t, s)
		got := listEvents(t, s, warden.AuditFilter{SubjectID: subject}, 0)
		if len(got) != 100 {
			t.Fatalf("%d records stored of 100", len(got))
		}
		for i, r := range got {
			if r.ID != rs[i].ID || (i > 0 && r.Seq != got[i-1].Seq+1) {
				t.Fatalf("record %d: %s seq %d, want %s in order", i, r.ID, r.Seq, rs[i].ID)
			}
		}
	})
	t.Run("Batches", func(t *testing.T) { testAuditBatches(t, s) })
	t.Run("NotAChange", func(t *testing.T) {
		// An append names no resource in the change feed: it makes no
		// node re-read its authorization snapshot.
		var since time.Time
		view(t, s, func(tx warden.Tx) (err error) { since, err = tx.Clock(t.Context()); return err })
		appendAudit(t, s, unique("sub"), "")
		sealAll(t, s)
		var changes []warden.ResourceChange
		view(t, s, func(tx warden.Tx) (err error) { changes, err = tx.ResourceChanges(t.Context(), since); return err })
		if len(changes) != 0 {
			t.Errorf("an audit append wrote resource changes: %+v", changes)
		}
	})
	t.Run("ConcurrentAppendsAndSealsFormOneChain", func(t *testing.T) {
		subject := unique("sub")
		var wg sync.WaitGroup
		for range 4 {
			wg.Go(func() {
				for range 5 {
					appendAudit(t, s, subject, "")
				}
			})
		}
		for range 2 {
			wg.Go(func() {
				for range 5 {
					update(t, s, func(tx warden.Tx) error { _, err := tx.SealAuditEvents(t.Context(), 3, sealer{}); return err })
				}
			})
		}
		wg.Wait()
		sealAll(t, s)
		got := listEvents(t, s, warden.AuditFilter{SubjectID: subject}, 0)
		if len(got) != 20 {
			t.Fatalf("%d records, want 20", len(got))
		}
		first := got[0].Seq
		for _, r := range got {
			first = min(first, r.Seq)
		}
		checkChain(t, s, first)
	})
	t.Run("Prune", func(t *testing.T) {
		appendAudit(t, s, unique("sub"), "")
		sealAll(t, s)
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
				t.Errorf("kept %d records, want the head only, linked to the pruned hash", len(rest))
			}
			return nil
		})
	})
}

// testAuditBatches: a record holding a batch of events is listed for every
// filter that one of its events may match (the caller looks inside), and
// only for those.
func testAuditBatches(t *testing.T, s warden.Store) {
	subject := unique("sub")
	single := record(subject, "")
	single.Time, single.Last = stored(base.Add(-time.Hour)), stored(base.Add(-time.Hour))
	batch := &warden.AuditRecord{ID: warden.NewID("evb"), Time: stored(base), Last: stored(base.Add(time.Minute)), Type: warden.AuditBatch,
		Class: warden.AuditData, Status: warden.AuditDone, Body: []byte("{}\n{}")}
	update(t, s, func(tx warden.Tx) error { return tx.AppendAuditEvents(t.Context(), sealer{}, single, batch) })
	sealAll(t, s)
	var after int64
	for _, r := range listAudit(t, s, warden.AuditFilter{SubjectID: subject}, 0, 100000) {
		if r.ID == single.ID {
			after = r.Pos - 1
		}
	}
	for _, c := range []struct {
		name        string
		f           warden.AuditFilter
		single, bat bool
	}{
		{"subject", warden.AuditFilter{SubjectID: subject}, true, true},
		{"data", warden.AuditFilter{Class: warden.AuditData}, false, true},
		{"management", warden.AuditFilter{SubjectID: subject, Class: warden.AuditManagement}, true, false},
		{"during the batch", warden.AuditFilter{Since: base.Add(30 * time.Second), Until: base.Add(31 * time.Second)}, false, true},
		{"before the batch", warden.AuditFilter{SubjectID: subject, Until: base}, true, false},
		{"after the batch", warden.AuditFilter{SubjectID: subject, Since: base.Add(2 * time.Minute)}, false, false},
	} {
		t.Run(c.name, func(t *testing.T) {
			var gotSingle, gotBatch bool
			for _, r := range listAudit(t, s, c.f, after, 100000) {
				gotSingle = gotSingle || r.ID == single.ID
				if r.ID == batch.ID {
					gotBatch = true
					if !r.Time.Equal(batch.Time) || !r.Last.Equal(batch.Last) || r.Type != warden.AuditBatch {
						t.Errorf("batch as stored: %+v", r)
					}
				}
			}
			if gotSingle != c.single || gotBatch != c.bat {
				t.Errorf("single listed %v (want %v), batch listed %v (want %v)", gotSingle, c.single, gotBatch, c.bat)
			}
		})
	}
}
