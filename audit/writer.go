package audit

import (
	"context"
	"errors"
	"log/slog"
	"sync"
	"sync/atomic"
	"time"

	"github.com/prometheus/client_golang/prometheus"

	"warden"
)

// Writer appends authentication and data events off the request's path:
// Write puts an event in a bounded buffer and returns at once; one
// goroutine appends what the buffer holds in batches, one transaction each,
// in which the data events are one record (NewBatch). When the buffer is
// full the event is dropped, counted in warden_audit_events_dropped_total
// and logged: never silently.
type Writer struct {
	chain   *Chain
	store   warden.Store
	sealer  *Sealer
	log     *slog.Logger
	ch      chan *warden.AuditEvent
	pending atomic.Int64
	after   func([]*warden.AuditEvent)

	dropped  *prometheus.CounterVec
	written  prometheus.Counter
	counts   struct{ dropped, written atomic.Int64 }
	mu       sync.Mutex
	lastLog  time.Time
	unlogged int64
}

// WriterConfig configures a Writer.
type WriterConfig struct {
	Chain  *Chain
	Store  warden.Store
	Logger *slog.Logger
	// Sealer, when set, is told of records the store left unsealed.
	Sealer *Sealer
	// Buffer is how many events may wait; 4096 when zero.
	Buffer int
	// After, when set, is called with each batch once it is committed
	// (the exporters).
	After func([]*warden.AuditEvent)
}

// NewWriter returns a Writer; call Run to start it.
func NewWriter(cfg WriterConfig) (*Writer, error) {
	if cfg.Chain == nil || cfg.Store == nil || cfg.Logger == nil {
		return nil, errors.New("audit: Chain, Store and Logger are required")
	}
	if cfg.Buffer == 0 {
		cfg.Buffer = 4096
	}
	if cfg.Buffer < 0 {
		return nil, errors.New("audit: the buffer size must be positive")
	}
	return &Writer{
		chain: cfg.Chain, store: cfg.Store, sealer: cfg.Sealer, log: cfg.Logger, ch: make(chan *warden.AuditEvent, cfg.Buffer), after: cfg.After,
		dropped: prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: "warden_audit_events_dropped_total",
			Help: "Audit events (authentication and data) dropped because the write buffer was full, by class.",
		}, []string{"class"}),
		written: prometheus.NewCounter(prometheus.CounterOpts{
			Name: "warden_audit_events_async_written_total",
			Help: "Audit events written through the asynchronous buffer.",
		}),
	}, nil
}

// Collectors returns the Writer's metrics.
func (w *Writer) Collectors() []prometheus.Collector {
	return []prometheus.Collector{w.dropped, w.written}
}

// Write queues e; it never blocks. It reports whether e was queued.
func (w *Writer) Write(e *warden.AuditEvent) bool {
	w.pending.Add(1)
	select {
	case w.ch <- e:
		return true
	default:
		w.pending.Add(-1)
		w.drop(e)
		return false
	}
}

// drop counts a dropped event and logs at most one line a second with the
// number dropped since the last line, so a flood cannot flood the log too.
func (w *Writer) drop(e *warden.AuditEvent) {
	w.dropped.WithLabelValues(e.Class).Inc()
	w.counts.dropped.Add(1)
	w.mu.Lock()
	defer w.mu.Unlock()
	w.unlogged++
	if now := time.Now(); now.Sub(w.lastLog) >= time.Second {
		w.log.Warn("audit events dropped: the write buffer is full", "dropped", w.unlogged, "class", e.Class, "event_type", e.Type)
		w.lastLog, w.unlogged = now, 0
	}
}

// Run appends queued events until ctx ends, then writes what is left.
func (w *Writer) Run(ctx context.Context) {
	for {
		select {
		case <-ctx.Done():
			w.drain()
			return
		case e := <-w.ch:
			w.writeBatch(ctx, w.collect(e))
		}
	}
}

// maxBatch bounds the events one transaction writes.
const maxBatch = 1024

// collect takes e and whatever else is waiting, up to maxBatch events.
func (w *Writer) collect(e *warden.AuditEvent) []*warden.AuditEvent {
	batch := []*warden.AuditEvent{e}
	for len(batch) < maxBatch {
		select {
		case e := <-w.ch:
			batch = append(batch, e)
		default:
			return batch
		}
	}
	return batch
}

func (w *Writer) drain() {
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	for {
		select {
		case e := <-w.ch:
			w.writeBatch(ctx, w.collect(e))
		default:
			return
		}
	}
}

func (w *Writer) writeBatch(ctx context.Context, batch []*warden.AuditEvent) {
	defer w.pending.Add(-int64(len(batch)))
	rs, of, err := records(batch)
	if err == nil {
		err = w.store.Update(ctx, func(tx warden.Tx) error { return tx.AppendAuditEvents(ctx, w.chain, rs...) })
	}
	if err != nil {
		w.dropped.WithLabelValues(batch[0].Class).Add(float64(len(batch)))
		w.counts.dropped.Add(int64(len(batch)))
		w.log.Error("audit events lost: write failed", "events", len(batch), "err", err)
		return
	}
	w.written.Add(float64(len(batch)))
	w.counts.written.Add(int64(len(batch)))
	if rs[0].Seq == 0 && w.sealer != nil {
		w.sealer.Kick()
	}
	if w.after != nil {
		for i, e := range batch {
			Sealed(e, rs[of[i]])
		}
		w.after(batch)
	}
}

// records are the records of a batch of events: the data events together
// in one, the others one each. of[i] is the record of batch[i].
func records(batch []*warden.AuditEvent) (rs []*warden.AuditRecord, of []int, err error) {
	of = make([]int, len(batch))
	var data []*warden.AuditEvent
	for i, e := range batch {
		if e.Class == warden.AuditData {
			data = append(data, e)
			of[i] = -1
			continue
		}
		r, err := NewRecord(e)
		if err != nil {
			return nil, nil, err
		}
		of[i], rs = len(rs), append(rs, r)
	}
	if len(data) == 0 {
		return rs, of, nil
	}
	var r *warden.AuditRecord
	if len(data) == 1 {
		r, err = NewRecord(data[0])
	} else {
		r, err = NewBatch(data)
	}
	if err != nil {
		return nil, nil, err
	}
	for i := range of {
		if of[i] == -1 {
			of[i] = len(rs)
		}
	}
	return append(rs, r), of, nil
}

// Counts returns how many events were dropped and written so far.
func (w *Writer) Counts() (dropped, written int64) {
	return w.counts.dropped.Load(), w.counts.written.Load()
}

// Flush waits until every event queued so far is written or ctx ends.
func (w *Writer) Flush(ctx context.Context) error {
	tick := time.NewTicker(time.Millisecond)
	defer tick.Stop()
	for w.pending.Load() > 0 {
		select {
		case <-ctx.Done():
			return ctx.Err()
		case <-tick.C:
		}
	}
	return nil
}
