package audit_test

import (
	"bufio"
	"bytes"
	"context"
	"database/sql"
	"encoding/json"
	"fmt"
	"log/slog"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/klauspost/compress/s2"
	"github.com/prometheus/client_golang/prometheus"
	dto "github.com/prometheus/client_model/go"

	"warden"
	"warden/audit"
	"warden/storage/sqlite"
)

func newChain(t *testing.T) *audit.Chain {
	c, err := audit.NewChain(bytes.Repeat([]byte{7}, 32))
	if err != nil {
		t.Fatal(err)
	}
	return c
}

func openStore(t *testing.T) warden.Store {
	s, err := sqlite.Open(t.Context(), filepath.Join(t.TempDir(), "audit.db"))
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { s.Close() })
	return s
}

func event(typ string) *warden.AuditEvent {
	return &warden.AuditEvent{ID: warden.NewID("evt"), Type: typ, Class: warden.AuditManagement, Time: time.Now(), Status: warden.AuditDone,
		Resource: warden.AuditResource{Path: []warden.AuditPathElement{{Type: "folder", ID: "b1fexample"}}}}
}

func appendEvents(t *testing.T, s warden.Store, c *audit.Chain, n int) {
	for i := range n {
		err := s.Update(t.Context(), func(tx warden.Tx) error {
			_, err := c.Append(t.Context(), tx, event("test.E"+string(rune('a'+i))))
			return err
		})
		if err != nil {
			t.Fatal(err)
		}
	}
}

// TestVerify: an intact chain holds; a key other than the chain's sees
// every event as altered (someone without the master key cannot forge).
func TestVerify(t *testing.T) {
	s, c := openStore(t), newChain(t)
	appendEvents(t, s, c, 5)
	rep, err := c.Verify(t.Context(), s)
	if err != nil || rep.Break != nil || rep.Checked != 5 || rep.First != 1 || rep.Last != 5 {
		t.Fatalf("intact chain: %+v %v", rep, err)
	}
	other, _ := audit.NewChain(bytes.Repeat([]byte{8}, 32))
	rep, err = other.Verify(t.Context(), s)
	if err != nil || rep.Break == nil || rep.Break.Seq != 1 {
		t.Fatalf("another key: %+v %v", rep, err)
	}
}

func TestWriterDropsWhenFullCountsAndLogs(t *testing.T) {
	var logs bytes.Buffer
	s, c := openStore(t), newChain(t)
	w, err := audit.NewWriter(audit.WriterConfig{Chain: c, Store: s, Logger: slog.New(slog.NewJSONHandler(&logs, nil)), Buffer: 2})
	if err != nil {
		t.Fatal(err)
	}
	// Not running: the buffers fill and the rest is dropped: two events,
	// eight data events; and one data event bigger than the bytes the
	// buffer may hold.
	for range 5 {
		w.Write(event("test.Login"))
	}
	for range 10 {
		w.WriteData(&audit.DataEvent{Time: time.Now(), Type: "test.Decision"})
	}
	dropped := w.Collectors()[0]
	if got := counterSum(t, dropped); got != 5 {
		t.Errorf("warden_audit_events_dropped_total = %v, want 5", got)
	}
	w2, _ := audit.NewWriter(audit.WriterConfig{Chain: c, Store: s, Logger: slog.New(slog.DiscardHandler), Buffer: 2})
	if w2.WriteData(&audit.DataEvent{Time: time.Now(), Type: "test.Decision", UserAgent: strings.Repeat("x", 5000)}) ||
		!w2.WriteData(&audit.DataEvent{Time: time.Now(), Type: "test.Decision", UserAgent: strings.Repeat("x", 2000)}) {
		t.Error("the buffer holds more bytes than it may, or fewer")
	}
	if got := counterSum(t, w2.Collectors()[0]); got != 1 {
		t.Errorf("warden_audit_events_dropped_total = %v after an event too big, want 1", got)
	}
	if !strings.Contains(logs.String(), "audit events dropped") {
		t.Errorf("no log line for the drop: %q", logs.String())
	}
	ctx, cancel := context.WithCancel(t.Context())
	done := make(chan struct{})
	go func() { w.Run(ctx); close(done) }()
	flush, stop := context.WithTimeout(t.Context(), 5*time.Second)
	defer stop()
	if err := w.Flush(flush); err != nil {
		t.Fatal(err)
	}
	cancel()
	<-done
	rep, err := c.Verify(t.Context(), s)
	if err != nil || rep.Break != nil || rep.Checked != 3 || rep.Events != 10 {
		t.Fatalf("after the writer: %+v %v", rep, err)
	}
}

func TestFileExporterRotates(t *testing.T) {
	path := filepath.Join(t.TempDir(), "audit.jsonl")
	e, err := audit.NewFileExporter(path, 600, 2)
	if err != nil {
		t.Fatal(err)
	}
	defer e.Close()
	var ids []string
	for range 12 {
		ev := event("test.Export")
		ids = append(ids, ev.ID)
		if err := e.Export([]*warden.AuditEvent{ev}); err != nil {
			t.Fatal(err)
		}
	}
	var seen []string
	for _, name := range []string{path + ".2", path + ".1", path} {
		f, err := os.Open(name)
		if err != nil {
			t.Fatalf("%s: %v", name, err)
		}
		st, _ := f.Stat()
		if st.Size() > 600 {
			t.Errorf("%s is %d bytes, over the 600 limit", name, st.Size())
		}
		sc := bufio.NewScanner(f)
		for sc.Scan() {
			var ev warden.AuditEvent
			if err := json.Unmarshal(sc.Bytes(), &ev); err != nil {
				t.Fatalf("%s: a line is not an event: %v", name, err)
			}
			seen = append(seen, ev.ID)
		}
		f.Close()
	}
	if _, err := os.Stat(path + ".3"); err == nil {
		t.Error("more backups kept than asked")
	}
	// The newest events are all there, in order, across the files.
	if len(seen) == 0 || strings.Join(seen, ",") != strings.Join(ids[len(ids)-len(seen):], ",") {
		t.Errorf("exported %v, want a tail of %v", seen, ids)
	}
}

// counterSum adds up every counter a collector reports.
func counterSum(t *testing.T, c prometheus.Collector) float64 {
	ch := make(chan prometheus.Metric, 16)
	c.Collect(ch)
	close(ch)
	var sum float64
	for m := range ch {
		var out dto.Metric
		if err := m.Write(&out); err != nil {
			t.Fatal(err)
		}
		sum += out.GetCounter().GetValue()
	}
	return sum
}

// TestWriterBatchesDataEvents: the data events of one write are one record
// of the chain, which verifies; listing expands it; altering one of its
// events breaks the chain at that record.
func TestWriterBatchesDataEvents(t *testing.T) {
	s, c := openStore(t), newChain(t)
	var exported []*warden.AuditEvent
	w, err := audit.NewWriter(audit.WriterConfig{Chain: c, Store: s, Logger: slog.New(slog.DiscardHandler),
		After: func(evs []*warden.AuditEvent) { exported = append(exported, evs...) }})
	if err != nil {
		t.Fatal(err)
	}
	at := time.Now()
	path := string(audit.AppendPath(nil, []warden.AuditPathElement{{Type: "folder", ID: "b1fexample"}}))
	for i := range 10 {
		w.WriteData(&audit.DataEvent{Time: at.Add(time.Duration(i) * time.Millisecond), Type: "test.Decision", Path: path,
			Permission: "test.things.get", RequestID: fmt.Sprint("req", i)})
	}
	w.Write(event("test.Login")) // another class: its own record
	ctx, cancel := context.WithCancel(t.Context())
	done := make(chan struct{})
	go func() { w.Run(ctx); close(done) }()
	flush, stop := context.WithTimeout(t.Context(), 5*time.Second)
	defer stop()
	if err := w.Flush(flush); err != nil {
		t.Fatal(err)
	}
	cancel()
	<-done
	rep, err := c.Verify(t.Context(), s)
	if err != nil || rep.Break != nil || rep.Checked != 2 || rep.Events != 11 {
		t.Fatalf("verify: %+v %v", rep, err)
	}
	var seqs []int64
	var ids []string
	for _, e := range exported {
		if e.Class == warden.AuditData {
			seqs, ids = append(seqs, e.Seq), append(ids, e.ID)
		}
	}
	if len(exported) != 11 || len(seqs) != 10 || seqs[0] == 0 || seqs[0] != seqs[9] {
		t.Errorf("exported %d events, the data events with sequences %v: want the batch's", len(exported), seqs)
	}
	var rs []*warden.AuditRecord
	if err := s.View(t.Context(), func(tx warden.Tx) (err error) {
		rs, err = tx.ListAuditEvents(t.Context(), warden.AuditFilter{Class: warden.AuditData}, 0, 10)
		return err
	}); err != nil {
		t.Fatal(err)
	}
	if len(rs) != 1 || rs[0].Type != warden.AuditBatch {
		t.Fatalf("data records: %+v", rs)
	}
	evs, err := audit.Decode(rs[0])
	if err != nil || len(evs) != 10 {
		t.Fatalf("decode: %d events, %v", len(evs), err)
	}
	exportedData := exported[:0:0]
	for _, e := range exported {
		if e.Class == warden.AuditData {
			exportedData = append(exportedData, e)
		}
	}
	for i, e := range evs {
		if e.ID != ids[i] || e.Seq != rs[0].Seq || e.Source != audit.Source || e.Request.RequestID != fmt.Sprint("req", i) {
			t.Errorf("event %d: %s seq %d request %s, want %s seq %d request req%d", i, e.ID, e.Seq, e.Request.RequestID, ids[i], rs[0].Seq, i)
		}
		listed, _ := json.Marshal(e)
		if got, _ := json.Marshal(exportedData[i]); !bytes.Equal(got, listed) {
			t.Errorf("event %d exported as\n%s\nlisted as\n%s", i, got, listed)
		}
	}
	if !audit.Match(warden.AuditFilter{ResourceID: "b1fexample", Since: evs[3].Time, Until: evs[4].Time}, evs[3]) ||
		audit.Match(warden.AuditFilter{Since: evs[3].Time, Until: evs[4].Time}, evs[4]) || audit.Match(warden.AuditFilter{SubjectID: "x"}, evs[0]) {
		t.Error("Match selects other events than the store would")
	}

	db := s.(interface{ DB() *sql.DB }).DB()
	raw, err := s2.Decode(nil, rs[0].Body)
	if err != nil {
		t.Fatal(err)
	}
	forged := s2.Encode(nil, bytes.Replace(raw, []byte("req5"), []byte("req6"), 1))
	if _, err := db.Exec(`UPDATE audit_events SET body = $1 WHERE seq = $2`, forged, rs[0].Seq); err != nil {
		t.Fatal(err)
	}
	rep, err = c.Verify(t.Context(), s)
	if err != nil || rep.Break == nil || rep.Break.Seq != rs[0].Seq || rep.Break.EventID != rs[0].ID || !strings.Contains(rep.Break.Reason, "altered") {
		t.Fatalf("verify after altering an event of the batch: %+v %v", rep.Break, err)
	}
}
