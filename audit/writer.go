package audit

import (
	"context"
	"errors"
	"log/slog"
	"runtime"
	"sync"
	"sync/atomic"
	"time"

	"github.com/klauspost/compress/s2"
	"github.com/prometheus/client_golang/prometheus"

	"warden"
)

// Writer appends authentication and data events off the request's path.
// Write and WriteData queue an event in a bounded buffer and return at
// once; one goroutine appends what the buffers hold, one transaction at a
// time. Data events are appended by the caller to one buffer in a compact
// binary form (see decodeDataBatch), which becomes one record of the chain
// (a batch): queueing one costs a few comparisons and a copy, and writing
// it a share of one insert; the JSON is made when the event is read. When
// a buffer is full the event is dropped, counted in
// warden_audit_events_dropped_total and logged: never silently.
type Writer struct {
	chain   *Chain
	store   warden.Store
	sealer  *Sealer
	log     *slog.Logger
	ch      chan *warden.AuditEvent
	limit   int // data events the data buffer holds
	bytes   int // and bytes
	batch   int // data events written at once without waiting
	pending atomic.Int64
	after   func([]*warden.AuditEvent)

	data struct {
		sync.Mutex
		buf         []byte // queued data events, a batch's (decodeDataBatch)
		n           int
		first, last int64 // their times' range, µs since the epoch
		at          int64 // the time of the last, which the next is stored after
		prev        dataStrings
		spare       []byte // a written buffer, for the next
	}
	// dataQueued is signalled when the data buffer stops being empty,
	// dataFull when it holds a batch's worth.
	dataQueued, dataFull chan struct{}
	// zbuf holds the compressed body of the batch being written.
	zbuf []byte

	dropped  *prometheus.CounterVec
	written  prometheus.Counter
	counts   struct{ dropped, written atomic.Int64 }
	mu       sync.Mutex
	lastLog  time.Time
	unlogged int64
}

// The writer writes the data events it holds once dataBatch are queued (a
// quarter of the buffer if less) or dataWait after the first: a record per
// ~50 ms at most under a trickle, and no more than dataWait of events lost
// with the process. A batch of 4096 is ~80 KB stored: one transaction's
// cost (BEGIN, the chain's head, the commit's fsync) is shared by more
// events than its bytes cost each.
const (
	dataBatch = 4096
	dataWait  = 50 * time.Millisecond
	// dataBuffer is how many times Buffer the data events that may wait.
	dataBuffer = 4
	// dataBytes bounds the bytes they take, on average per event: an
	// event waits in 20 to 100 bytes, unless a caller sent long strings.
	dataBytes = 512
)

// WriterConfig configures a Writer.
type WriterConfig struct {
	Chain  *Chain
	Store  warden.Store
	Logger *slog.Logger
	// Sealer, when set, is told of records the store left unsealed.
	Sealer *Sealer
	// Buffer is how many events other than data events may wait; 4096
	// when zero. Four times as many data events may (each waits in a few
	// dozen bytes; at most dataBytes on average), so that a burst of
	// decisions outlasts a slow write.
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
		chain: cfg.Chain, store: cfg.Store, sealer: cfg.Sealer, log: cfg.Logger, ch: make(chan *warden.AuditEvent, cfg.Buffer),
		limit: dataBuffer * cfg.Buffer, bytes: dataBuffer * cfg.Buffer * dataBytes, batch: max(1, min(dataBatch, cfg.Buffer)),
		after: cfg.After, dataQueued: make(chan struct{}, 1), dataFull: make(chan struct{}, 1),
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

// Write queues e, as a record of its own; it never blocks. It reports
// whether e was queued.
func (w *Writer) Write(e *warden.AuditEvent) bool {
	w.pending.Add(1)
	select {
	case w.ch <- e:
		return true
	default:
		w.pending.Add(-1)
		w.drop(e.Class, e.Type)
		return false
	}
}

// WriteData queues a data event; it never blocks and allocates nothing
// unless the buffer grows. It reports whether d was queued. What it costs
// the caller is a comparison of d's strings with the event queued before
// it and a copy of those that differ (see decodeDataBatch): the writer's
// goroutine compresses and stores the batch, and a reader makes the JSON.
func (w *Writer) WriteData(d *DataEvent) bool {
	at := d.Time.UnixMicro() // as the store keeps it
	f := d.strings()
	b := &w.data
	b.Lock()
	if b.n >= w.limit || len(b.buf)+maxDataRecord(&f) > w.bytes {
		b.Unlock()
		w.drop(warden.AuditData, d.Type)
		return false
	}
	if b.n == 0 {
		b.buf = appendDataHeader(b.buf[:0])
		b.first, b.last, b.at, b.prev = at, at, 0, dataStrings{}
	} else {
		b.first, b.last = min(b.first, at), max(b.last, at)
	}
	b.buf = appendDataRecord(b.buf, &b.prev, &f, d.Allowed, at-b.at)
	b.at = at
	b.n++
	n := b.n
	w.pending.Add(1)
	b.Unlock()
	switch {
	case n == 1:
		signal(w.dataQueued)
	case n == w.batch:
		signal(w.dataFull)
	case n > w.limit/2:
		// The writer is behind: callers that never block (a loop of
		// in-process calls) would keep it waiting for a time slice until
		// the buffer overflows. Yielding lets it run; it costs the
		// caller a trip through the scheduler, not a wait.
		runtime.Gosched()
	}
	return true
}

func signal(ch chan struct{}) {
	select {
	case ch <- struct{}{}:
	default:
	}
}

// takeData returns the queued data events as one record, nil when none,
// and how many events it holds.
func (w *Writer) takeData() (*warden.AuditRecord, int) {
	b := &w.data
	b.Lock()
	defer b.Unlock()
	if b.n == 0 {
		return nil, 0
	}
	r := &warden.AuditRecord{ID: warden.NewID("evb"), Type: warden.AuditBatch, Class: warden.AuditData, Status: warden.AuditDone,
		Time: time.UnixMicro(b.first).UTC(), Last: time.UnixMicro(b.last).UTC(), Body: b.buf}
	n := b.n
	b.buf, b.spare, b.n, b.prev = b.spare[:0], nil, 0, dataStrings{}
	setDataSeed(r.Body)
	return r, n
}

// compress makes the body of a batch taken from the data buffer what is
// stored, compressed into the writer's buffer, and returns the batch as it
// was. Both buffers are reused once the batch is written.
func (w *Writer) compress(r *warden.AuditRecord) (raw []byte) {
	if n := s2.MaxEncodedLen(len(r.Body)); cap(w.zbuf) < n {
		w.zbuf = make([]byte, n)
	}
	raw, r.Body = r.Body, s2.Encode(w.zbuf[:cap(w.zbuf)], r.Body)
	return raw
}

// drop counts a dropped event and logs at most one line a second with the
// number dropped since the last line, so a flood cannot flood the log too.
func (w *Writer) drop(class, typ string) {
	w.dropped.WithLabelValues(class).Inc()
	w.counts.dropped.Add(1)
	w.mu.Lock()
	defer w.mu.Unlock()
	w.unlogged++
	if now := time.Now(); now.Sub(w.lastLog) >= time.Second {
		w.log.Warn("audit events dropped: the write buffer is full", "dropped", w.unlogged, "class", class, "event_type", typ)
		w.lastLog, w.unlogged = now, 0
	}
}

// Run appends queued events until ctx ends, then writes what is left.
func (w *Writer) Run(ctx context.Context) {
	// A write once begun is not cut short by ctx: its events would be
	// lost, where drain writes them.
	writes := context.WithoutCancel(ctx)
	wait := time.NewTimer(time.Hour)
	wait.Stop()
	for {
		select {
		case <-ctx.Done():
			w.drain()
			return
		case e := <-w.ch:
			w.write(writes, w.collect(e))
		case <-w.dataQueued:
			// Let a batch gather, unless it has already.
			wait.Reset(dataWait)
			select {
			case <-ctx.Done():
			case <-w.dataFull:
			case <-wait.C:
			}
			wait.Stop()
			w.write(writes, w.collect(nil))
		case <-w.dataFull:
			w.write(writes, w.collect(nil))
		}
	}
}

// maxBatch bounds the events other than data events one transaction
// writes.
const maxBatch = 256

// collect takes e (when not nil) and whatever else is waiting, up to
// maxBatch events.
func (w *Writer) collect(e *warden.AuditEvent) []*warden.AuditEvent {
	var batch []*warden.AuditEvent
	if e != nil {
		batch = append(batch, e)
	}
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
		events := w.collect(nil)
		if len(events) == 0 && w.pendingData() == 0 {
			return
		}
		w.write(ctx, events)
	}
}

func (w *Writer) pendingData() int {
	w.data.Lock()
	defer w.data.Unlock()
	return w.data.n
}

// write appends events and the queued data events in one transaction.
func (w *Writer) write(ctx context.Context, events []*warden.AuditEvent) {
	data, n := w.takeData()
	total := len(events) + n
	if total == 0 {
		return
	}
	defer w.pending.Add(-int64(total))
	rs := make([]*warden.AuditRecord, 0, len(events)+1)
	var err error
	for _, e := range events {
		var r *warden.AuditRecord
		if r, err = NewRecord(e); err != nil {
			break
		}
		rs = append(rs, r)
	}
	var raw []byte
	if data != nil {
		raw = w.compress(data)
		rs = append(rs, data)
	}
	if err == nil {
		err = w.store.Update(ctx, func(tx warden.Tx) error { return tx.AppendAuditEvents(ctx, w.chain, rs...) })
	}
	if err != nil {
		for _, e := range events {
			w.dropped.WithLabelValues(e.Class).Inc()
		}
		w.dropped.WithLabelValues(warden.AuditData).Add(float64(n))
		w.counts.dropped.Add(int64(total))
		w.log.Error("audit events lost: write failed", "events", total, "err", err)
		return
	}
	w.written.Add(float64(total))
	w.counts.written.Add(int64(total))
	if rs[0].Seq == 0 && w.sealer != nil {
		w.sealer.Kick()
	}
	if w.after != nil {
		w.export(events, rs, data, raw)
	}
	if data != nil {
		w.data.Lock()
		w.data.spare = raw
		w.data.Unlock()
	}
}

// export hands the written events to the exporters, with their records'
// chain fields: the data events are read back from their batch.
func (w *Writer) export(events []*warden.AuditEvent, rs []*warden.AuditRecord, data *warden.AuditRecord, raw []byte) {
	for i, e := range events {
		Sealed(e, rs[i])
	}
	if data != nil {
		evs, err := decodeDataBatch(raw)
		if err != nil {
			w.log.Error("audit: export: a batch of data events does not decode", "err", err)
		}
		for _, e := range evs {
			Sealed(e, data)
		}
		events = append(events, evs...)
	}
	w.after(events)
}

// Counts returns how many events were dropped and written so far.
func (w *Writer) Counts() (dropped, written int64) {
	return w.counts.dropped.Load(), w.counts.written.Load()
}

// Flush has the writer write the data events queued so far without
// waiting for more, and waits until every event queued so far is written
// or ctx ends.
func (w *Writer) Flush(ctx context.Context) error {
	if w.pending.Load() == 0 {
		return nil
	}
	signal(w.dataFull)
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
