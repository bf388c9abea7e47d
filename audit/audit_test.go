package audit_test

import (
	"bufio"
	"bytes"
	"context"
	"encoding/json"
	"log/slog"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

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
		err := s.Update(t.Context(), func(tx warden.Tx) error { return c.Append(t.Context(), tx, event("test.E"+string(rune('a'+i)))) })
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
	// Not running: the buffer fills and the rest is dropped.
	for range 5 {
		w.Write(event("test.Data"))
	}
	dropped := w.Collectors()[0]
	if got := counterSum(t, dropped); got != 3 {
		t.Errorf("warden_audit_events_dropped_total = %v, want 3", got)
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
	if err != nil || rep.Break != nil || rep.Checked != 2 {
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
