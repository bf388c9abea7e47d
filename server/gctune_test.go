package server

import (
	"runtime"
	"runtime/debug"
	"testing"
	"time"
)

func TestGCPercent(t *testing.T) {
	const mib = 1 << 20
	for _, c := range []struct {
		live, min int64
		want      int
	}{
		{16 * mib, 128 * mib, 700},  // goal 128 MiB
		{64 * mib, 128 * mib, 100},  // twice live is the floor already
		{500 * mib, 128 * mib, 100}, // a big node keeps GOGC=100
		{1 * mib, 128 * mib, 10000}, // bounded
		{0, 128 * mib, 10000},
	} {
		if got := gcPercent(c.live, c.min); got != c.want {
			t.Errorf("gcPercent(%d MiB live, %d MiB floor) = %d, want %d", c.live/mib, c.min/mib, got, c.want)
		}
	}
}

// TestTuneGCRaisesGOGC: on this test's small heap, a collection makes the
// tuner raise GOGC so that the goal is the floor; stop puts it back.
func TestTuneGCRaisesGOGC(t *testing.T) {
	if goGCFromEnv() {
		t.Skip("GOGC is set in the environment: TuneGC leaves it")
	}
	gogc := func() int {
		p := debug.SetGCPercent(100)
		debug.SetGCPercent(p)
		return p
	}
	stop := TuneGC(1 << 30)
	defer func() {
		stop()
		if p := gogc(); p != 100 {
			t.Errorf("GOGC after stop = %d, want 100", p)
		}
	}()
	deadline := time.Now().Add(10 * time.Second)
	for gogc() <= 100 {
		if time.Now().After(deadline) {
			t.Fatalf("GOGC still %d after collections; want it raised for a 1 GiB floor", gogc())
		}
		runtime.GC() // the finalizer runs after it, on its own goroutine
		runtime.Gosched()
	}
}
