package secret

import (
	"context"
	"errors"
	"fmt"
	"math"
	"os"
	"runtime"
	"runtime/debug"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"time"
)

// ErrBusy is returned by the Context password functions when every hashing
// slot stayed taken for as long as the limiter lets a caller wait. It is
// not a verdict on the password: the caller should answer "retry later".
var ErrBusy = errors.New("secret: too many password hashes in progress")

// HashMemory is what one argon2id computation holds while it runs.
const HashMemory = argonMemory * 1024

// DefaultPasswordWait is how long a request waits for a hashing slot before
// it is told to retry later.
const DefaultPasswordWait = time.Second

// PasswordLimiter bounds how many argon2id computations run at once. Each
// holds HashMemory for its whole run, so unbounded concurrency turns a
// burst of logins into gigabytes of memory and starves every other request
// of CPU; beyond the number of cores, more concurrent hashes finish no more
// logins per second anyway.
//
// A slot also rests after each hash, for half as long as the hash took,
// before the next may use it: hashing then keeps the cores it runs on busy
// two thirds of the time at most, and other requests find a free core in
// between instead of queueing behind hashes for Go's 10 ms preemption
// tick. That costs a flood a third of its hashes and a single login
// nothing, as its answer does not wait for the rest.
type PasswordLimiter struct {
	slots chan struct{}
	wait  time.Duration
	rest  float64 // a slot rests this fraction of a hash's duration
}

// hashRest is the fraction of a hash's duration its slot rests after it.
const hashRest = 0.5

// NewPasswordLimiter returns a limiter that lets slots hashes run at once
// and lets a Context caller wait up to wait for one.
func NewPasswordLimiter(slots int, wait time.Duration) (*PasswordLimiter, error) {
	if slots < 1 {
		return nil, fmt.Errorf("secret: password hashing slots must be at least 1, got %d", slots)
	}
	if wait < 0 {
		return nil, fmt.Errorf("secret: password hashing wait must not be negative, got %s", wait)
	}
	return &PasswordLimiter{slots: make(chan struct{}, slots), wait: wait, rest: hashRest}, nil
}

// Slots is how many hashes may run at once.
func (l *PasswordLimiter) Slots() int { return cap(l.slots) }

// InUse is how many hashes run now.
func (l *PasswordLimiter) InUse() int { return len(l.slots) }

// acquire takes a slot. A bounded caller waits at most l.wait (and never
// past ctx) and gets ErrBusy after; an unbounded one waits for ctx only.
func (l *PasswordLimiter) acquire(ctx context.Context, bounded bool) (release func(), err error) {
	select {
	case l.slots <- struct{}{}:
		return l.releaser(), nil
	default:
	}
	var timeout <-chan time.Time
	if bounded {
		t := time.NewTimer(l.wait)
		defer t.Stop()
		timeout = t.C
	}
	select {
	case l.slots <- struct{}{}:
		return l.releaser(), nil
	case <-timeout:
		return nil, ErrBusy
	case <-ctx.Done():
		return nil, ctx.Err()
	}
}

// releaser returns the function that gives a slot taken now back, after
// its rest.
func (l *PasswordLimiter) releaser() func() {
	start := time.Now()
	return func() {
		rest := time.Duration(float64(time.Since(start)) * l.rest)
		if rest <= 0 {
			<-l.slots
			return
		}
		time.AfterFunc(rest, func() { <-l.slots })
	}
}

// The process-wide limiter. It is global on purpose: the memory it guards
// belongs to the process, and several services in one process (a test
// starting three nodes, say) must share one bound.
var (
	processLimiter     atomic.Pointer[PasswordLimiter]
	processLimiterOnce sync.Once
)

// SetPasswordLimiter makes l the limiter that every password hash and check
// of this process goes through. Hashes already running finish under the
// limiter they started with. wardend calls it before serving.
func SetPasswordLimiter(l *PasswordLimiter) { processLimiter.Store(l) }

// Passwords returns the process-wide limiter: the one set last, or one of
// DefaultPasswordSlots() slots and DefaultPasswordWait.
func Passwords() *PasswordLimiter {
	processLimiterOnce.Do(func() {
		l, _ := NewPasswordLimiter(DefaultPasswordSlots(), DefaultPasswordWait)
		processLimiter.CompareAndSwap(nil, l)
	})
	return processLimiter.Load()
}

// DefaultPasswordSlots sizes the limiter from the machine: an eighth of the
// memory the process may use (the cgroup limit, GOMEMLIMIT or the
// machine's memory, whichever is least) divided by HashMemory — an eighth
// because the garbage collector lets freed hash buffers pile up to about
// the live heap again before it runs — and no more than GOMAXPROCS divided
// by the threads of one hash: argon2id is CPU-bound, and one hash already
// keeps that many cores busy. At least 1.
func DefaultPasswordSlots() int {
	return passwordSlots(memoryLimit(), runtime.GOMAXPROCS(0))
}

func passwordSlots(memory uint64, procs int) int {
	n := procs / argonThreads
	if bySize := memory / 8 / HashMemory; bySize < uint64(n) {
		n = int(bySize)
	}
	return max(n, 1)
}

// memoryLimit is the least of the cgroup's memory limit (v2 or v1),
// GOMEMLIMIT and the machine's memory; MaxUint64 when none is known.
func memoryLimit() uint64 {
	limit := uint64(math.MaxUint64)
	for _, path := range []string{"/sys/fs/cgroup/memory.max", "/sys/fs/cgroup/memory/memory.limit_in_bytes"} {
		if n, ok := readBytes(path); ok && n < limit {
			limit = n
		}
	}
	if n := debug.SetMemoryLimit(-1); n > 0 && n < math.MaxInt64 && uint64(n) < limit {
		limit = uint64(n)
	}
	if n, ok := memTotal(); ok && n < limit {
		limit = n
	}
	return limit
}

// readBytes reads a number of bytes from a cgroup file ("max" reads as
// unknown).
func readBytes(path string) (uint64, bool) {
	b, err := os.ReadFile(path)
	if err != nil {
		return 0, false
	}
	n, err := strconv.ParseUint(strings.TrimSpace(string(b)), 10, 64)
	return n, err == nil && n > 0
}

// memTotal reads MemTotal from /proc/meminfo.
func memTotal() (uint64, bool) {
	b, err := os.ReadFile("/proc/meminfo")
	if err != nil {
		return 0, false
	}
	for _, line := range strings.Split(string(b), "\n") {
		if rest, ok := strings.CutPrefix(line, "MemTotal:"); ok {
			n, err := strconv.ParseUint(strings.TrimSuffix(strings.TrimSpace(rest), " kB"), 10, 64)
			return n * 1024, err == nil && n > 0
		}
	}
	return 0, false
}
