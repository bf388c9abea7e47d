// Package throttle slows repeated failures down per key (a login name, a
// client address) with exponential backoff, in bounded memory: at most
// Capacity keys are held, the least recently tried is forgotten first, and a
// key that has been quiet for Forget is forgotten too.
package throttle

import (
	"container/list"
	"fmt"
	"sync"
	"time"
)

// Config tunes a Throttle; zero fields take the defaults named.
type Config struct {
	// Free is how many failures in a row a key may have before it must
	// wait; 5 when zero.
	Free int
	// Base is the first wait; it doubles with each further failure. 1 s
	// when zero.
	Base time.Duration
	// Max caps the wait; 5 min when zero.
	Max time.Duration
	// Forget is how long a key must stay quiet (and unblocked) before its
	// failures are forgotten; 15 min when zero, and never less than Max.
	Forget time.Duration
	// Capacity is the most keys held; 65,536 when zero. A new key beyond
	// it pushes out the least recently tried one.
	Capacity int
	// Now is the clock; time.Now when nil.
	Now func() time.Time
}

// Throttle counts failures per key. It is safe for concurrent use.
type Throttle struct {
	cfg  Config
	mu   sync.Mutex
	lru  *list.List // of *entry, the most recently tried at the front
	keys map[string]*list.Element
}

type entry struct {
	key      string
	failures int
	until    time.Time // refused before this
	last     time.Time // last attempt
}

// New validates cfg and returns a Throttle.
func New(cfg Config) (*Throttle, error) {
	if cfg.Free < 0 || cfg.Base < 0 || cfg.Max < 0 || cfg.Forget < 0 || cfg.Capacity < 0 {
		return nil, fmt.Errorf("throttle: negative setting in %+v", cfg)
	}
	if cfg.Free == 0 {
		cfg.Free = 5
	}
	if cfg.Base == 0 {
		cfg.Base = time.Second
	}
	if cfg.Max == 0 {
		cfg.Max = 5 * time.Minute
	}
	if cfg.Max < cfg.Base {
		return nil, fmt.Errorf("throttle: Max %s is below Base %s", cfg.Max, cfg.Base)
	}
	if cfg.Forget == 0 {
		cfg.Forget = 15 * time.Minute
	}
	cfg.Forget = max(cfg.Forget, cfg.Max)
	if cfg.Capacity == 0 {
		cfg.Capacity = 65536
	}
	if cfg.Now == nil {
		cfg.Now = time.Now
	}
	return &Throttle{cfg: cfg, lru: list.New(), keys: map[string]*list.Element{}}, nil
}

// Attempt asks whether key may be tried now. While key must wait it
// returns how long, and counts nothing. Otherwise it returns 0 and counts
// the attempt as a failure in advance, so that attempts made in parallel
// see each other: Succeeded or Undo takes it back.
func (t *Throttle) Attempt(key string) time.Duration {
	now := t.cfg.Now()
	t.mu.Lock()
	defer t.mu.Unlock()
	t.expire(now)
	if el, ok := t.keys[key]; ok {
		if wait := el.Value.(*entry).until.Sub(now); wait > 0 {
			return wait // not an attempt: the LRU order stays by last attempt
		}
	}
	e := t.entry(key, now)
	e.failures++
	e.last = now
	if e.failures >= t.cfg.Free {
		e.until = now.Add(t.delay(e.failures - t.cfg.Free))
	}
	return 0
}

// delay is Base doubled n times, capped at Max.
func (t *Throttle) delay(n int) time.Duration {
	d := t.cfg.Base
	for i := 0; i < n && d < t.cfg.Max; i++ {
		d *= 2
	}
	return min(d, t.cfg.Max)
}

// Succeeded forgets key's failures: the right password ends the backoff.
func (t *Throttle) Succeeded(key string) {
	t.mu.Lock()
	defer t.mu.Unlock()
	if el, ok := t.keys[key]; ok {
		t.remove(el)
	}
}

// Undo takes back one attempt that turned out not to be a failure (the
// server was too busy to check it, or it succeeded and the key's earlier
// failures still count, as for a client address).
func (t *Throttle) Undo(key string) {
	t.mu.Lock()
	defer t.mu.Unlock()
	el, ok := t.keys[key]
	if !ok {
		return
	}
	e := el.Value.(*entry)
	e.failures--
	if e.failures < t.cfg.Free {
		e.until = time.Time{}
	}
	if e.failures <= 0 {
		t.remove(el)
	}
}

// Len is how many keys are held.
func (t *Throttle) Len() int {
	t.mu.Lock()
	defer t.mu.Unlock()
	return len(t.keys)
}

// entry returns key's entry, made or moved to the front of the LRU list.
func (t *Throttle) entry(key string, now time.Time) *entry {
	if el, ok := t.keys[key]; ok {
		t.lru.MoveToFront(el)
		return el.Value.(*entry)
	}
	if len(t.keys) >= t.cfg.Capacity {
		t.remove(t.lru.Back())
	}
	e := &entry{key: key, last: now}
	t.keys[key] = t.lru.PushFront(e)
	return e
}

// expire forgets keys at the back of the LRU list that have been quiet
// for Forget; the list is ordered by last attempt, so it stops at the
// first that has not.
func (t *Throttle) expire(now time.Time) {
	for el := t.lru.Back(); el != nil; el = t.lru.Back() {
		e := el.Value.(*entry)
		if now.Sub(e.last) < t.cfg.Forget || now.Before(e.until) {
			return
		}
		t.remove(el)
	}
}

func (t *Throttle) remove(el *list.Element) {
	delete(t.keys, el.Value.(*entry).key)
	t.lru.Remove(el)
}
