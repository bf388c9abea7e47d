package throttle

import (
	"fmt"
	"sync"
	"testing"
	"time"
)

// clock is a hand-moved clock.
type clock struct {
	mu sync.Mutex
	t  time.Time
}

func (c *clock) now() time.Time {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.t
}

func (c *clock) add(d time.Duration) {
	c.mu.Lock()
	c.t = c.t.Add(d)
	c.mu.Unlock()
}

func newThrottle(t *testing.T, cfg Config) (*Throttle, *clock) {
	t.Helper()
	c := &clock{t: time.Date(2026, 1, 1, 0, 0, 0, 0, time.UTC)}
	cfg.Now = c.now
	th, err := New(cfg)
	if err != nil {
		t.Fatal(err)
	}
	return th, c
}

func TestBackoffDoubles(t *testing.T) {
	th, c := newThrottle(t, Config{Free: 3, Base: time.Second, Max: 10 * time.Second})
	for i := 1; i <= 2; i++ {
		if w := th.Attempt("k"); w != 0 {
			t.Fatalf("free attempt %d waited %s", i, w)
		}
	}
	// The third failure starts the backoff: 1 s, then 2, 4, 8, then the cap.
	for i, want := range []time.Duration{time.Second, 2 * time.Second, 4 * time.Second, 8 * time.Second, 10 * time.Second, 10 * time.Second} {
		if w := th.Attempt("k"); w != 0 {
			t.Fatalf("attempt after waiting (%d) refused for %s", i, w)
		}
		if got := th.Attempt("k"); got != want {
			t.Errorf("wait after failure %d = %s, want %s", i+3, got, want)
		}
		c.add(want - time.Millisecond)
		if got := th.Attempt("k"); got != time.Millisecond {
			t.Errorf("just before the end: wait %s, want 1ms", got)
		}
		c.add(time.Millisecond)
	}
	if w := th.Attempt("other"); w != 0 {
		t.Errorf("another key waited %s", w)
	}
}

func TestSucceededAndUndo(t *testing.T) {
	th, _ := newThrottle(t, Config{Free: 2})
	th.Attempt("k")
	th.Attempt("k")
	if w := th.Attempt("k"); w == 0 {
		t.Fatal("no wait after two failures")
	}
	th.Succeeded("k")
	if w := th.Attempt("k"); w != 0 || th.Len() != 1 {
		t.Errorf("after Succeeded: wait %s, %d keys", w, th.Len())
	}

	// Undo takes back an attempt counted in advance, lifting the wait it set.
	th.Attempt("k") // second failure: blocks
	th.Undo("k")
	if w := th.Attempt("k"); w != 0 {
		t.Errorf("after Undo: wait %s", w)
	}
	th.Undo("k")
	th.Undo("k")
	if th.Len() != 0 {
		t.Errorf("a key with no failures left is still held")
	}
	th.Undo("never-seen") // harmless
}

// TestParallelAttemptsSeeEachOther: attempts are counted before their
// outcome is known, so a burst cannot all slip through the free ones.
func TestParallelAttemptsSeeEachOther(t *testing.T) {
	th, _ := newThrottle(t, Config{Free: 5})
	var wg sync.WaitGroup
	var mu sync.Mutex
	allowed := 0
	for range 64 {
		wg.Go(func() {
			if th.Attempt("10.0.0.1") == 0 {
				mu.Lock()
				allowed++
				mu.Unlock()
			}
		})
	}
	wg.Wait()
	if allowed != 5 {
		t.Errorf("%d of 64 parallel attempts allowed, want 5", allowed)
	}
}

func TestMemoryIsBounded(t *testing.T) {
	th, c := newThrottle(t, Config{Capacity: 100, Forget: time.Hour})
	for i := range 10_000 {
		th.Attempt(fmt.Sprint("login-", i))
	}
	if th.Len() != 100 {
		t.Errorf("%d keys held, want the capacity 100", th.Len())
	}
	// The most recent keys are the ones kept.
	for range 5 {
		th.Attempt("login-9999")
	}
	if w := th.Attempt("login-9999"); w == 0 {
		t.Errorf("the most recent key was forgotten")
	}
	// Quiet keys expire.
	c.add(time.Hour)
	th.Attempt("fresh")
	if th.Len() != 1 {
		t.Errorf("%d keys held after an hour of quiet, want 1", th.Len())
	}
}

func TestNewRefuses(t *testing.T) {
	for _, cfg := range []Config{{Free: -1}, {Base: time.Minute, Max: time.Second}, {Capacity: -1}} {
		if _, err := New(cfg); err == nil {
			t.Errorf("New(%+v) accepted", cfg)
		}
	}
}

func BenchmarkAttempt(b *testing.B) {
	th, _ := New(Config{Capacity: 1 << 16})
	keys := make([]string, 1<<17)
	for i := range keys {
		keys[i] = fmt.Sprint("login-", i)
	}
	b.ReportAllocs()
	i := 0
	for b.Loop() {
		th.Attempt(keys[i%len(keys)])
		i++
	}
}
