package server

import (
	"os"
	"runtime"
	"runtime/debug"
	"runtime/metrics"
	"sync"
)

// TuneGC keeps the garbage collector's heap goal at least minHeap bytes:
// after each collection it sets GOGC so that the next one starts when the
// heap reaches twice what is live, or minHeap if that is more. A small
// node (a few MiB live, tens of MiB allocated a second by its requests)
// otherwise collects several times a second, each time marking the same
// live heap and stopping the world twice; with the floor it collects
// every few seconds, for at most minHeap of memory. A node whose live
// heap is above minHeap/2 keeps GOGC=100. GOGC set in the environment
// wins: TuneGC then does nothing. The stop function ends the tuning and
// puts GOGC back.
func TuneGC(minHeap int64) (stop func()) {
	if minHeap <= 0 || goGCFromEnv() {
		return func() {}
	}
	t := &gcTuner{minHeap: minHeap, sample: []metrics.Sample{{Name: "/gc/heap/live:bytes"}}}
	t.arm()
	return func() {
		t.mu.Lock()
		defer t.mu.Unlock()
		t.stopped = true
		debug.SetGCPercent(100)
	}
}

// goGCFromEnv reports whether the operator chose GOGC.
func goGCFromEnv() bool {
	_, set := os.LookupEnv("GOGC")
	return set
}

type gcTuner struct {
	minHeap int64
	sample  []metrics.Sample // read by the finalizer goroutine only
	mu      sync.Mutex
	percent int // last set; 0 before the first collection
	stopped bool
}

// gcSentinel is garbage made to be collected: its finalizer runs once per
// collection and arms the next one.
type gcSentinel struct {
	t *gcTuner
	_ [16]byte // not a tiny allocation, which may share a block and live on
}

func (t *gcTuner) arm() {
	runtime.SetFinalizer(&gcSentinel{t: t}, func(s *gcSentinel) {
		if s.t.adjust() {
			s.t.arm()
		}
	})
}

// adjust sets GOGC for the next collection from the heap the last one
// left live. It reports false once stopped.
func (t *gcTuner) adjust() bool {
	t.mu.Lock()
	defer t.mu.Unlock()
	if t.stopped {
		return false
	}
	metrics.Read(t.sample)
	if t.sample[0].Value.Kind() != metrics.KindUint64 {
		return true
	}
	p := gcPercent(int64(t.sample[0].Value.Uint64()), t.minHeap)
	// A change of less than a tenth moves the goal by less than the
	// noise of what is live: leave it.
	if t.percent == 0 || p*10 < t.percent*9 || p*10 > t.percent*11 {
		debug.SetGCPercent(p)
		t.percent = p
	}
	return true
}

// maxGCPercent bounds GOGC for a nearly empty heap.
const maxGCPercent = 10_000

// gcPercent is the GOGC whose heap goal, live·(1+GOGC/100), is minHeap,
// and at least 100.
func gcPercent(live, minHeap int64) int {
	if live <= 0 {
		return maxGCPercent
	}
	p := 100 * (minHeap - live) / live
	return int(min(max(p, 100), maxGCPercent))
}
