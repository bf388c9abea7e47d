package secret

import (
	"context"
	"errors"
	"fmt"
	"strings"
	"testing"
	"time"
)

func TestPasswordSlots(t *testing.T) {
	const gib = 1 << 30
	tests := []struct {
		memory uint64
		procs  int
		want   int
	}{
		{24 * gib, 2, 1},    // this machine: one hash keeps both cores busy
		{24 * gib, 16, 8},   // CPU-bound: two threads a hash
		{24 * gib, 128, 48}, // big box: 24 GiB / 8 / 64 MiB
		{2 * gib, 64, 4},    // 2 GiB / 8 / 64 MiB
		{256 << 20, 8, 1},   // tiny container: at least one
		{0, 4, 1},
	}
	for _, tt := range tests {
		t.Run(fmt.Sprintf("%dMiB/%dcpu", tt.memory>>20, tt.procs), func(t *testing.T) {
			if got := passwordSlots(tt.memory, tt.procs); got != tt.want {
				t.Errorf("passwordSlots(%d, %d) = %d, want %d", tt.memory, tt.procs, got, tt.want)
			}
		})
	}
	if n := DefaultPasswordSlots(); n < 1 {
		t.Errorf("DefaultPasswordSlots() = %d", n)
	}
}

func TestNewPasswordLimiterRefuses(t *testing.T) {
	if _, err := NewPasswordLimiter(0, time.Second); err == nil || !strings.HasPrefix(err.Error(), "secret: ") {
		t.Errorf("0 slots: %v", err)
	}
	if _, err := NewPasswordLimiter(1, -time.Second); err == nil {
		t.Errorf("negative wait accepted")
	}
}

func TestLimiterBoundsAndWaits(t *testing.T) {
	l, err := NewPasswordLimiter(2, 30*time.Millisecond)
	if err != nil {
		t.Fatal(err)
	}
	l.rest = 0 // TestSlotRests covers the rest
	ctx := context.Background()
	r1, err1 := l.acquire(ctx, true)
	r2, err2 := l.acquire(ctx, true)
	if err1 != nil || err2 != nil || l.InUse() != 2 {
		t.Fatalf("two slots: %v, %v, in use %d", err1, err2, l.InUse())
	}
	start := time.Now()
	if _, err := l.acquire(ctx, true); !errors.Is(err, ErrBusy) {
		t.Fatalf("third acquire while full: %v, want ErrBusy", err)
	}
	if waited := time.Since(start); waited < 30*time.Millisecond {
		t.Errorf("gave up after %s, want the 30ms wait", waited)
	}

	// An unbounded caller waits until a slot frees.
	got := make(chan error, 1)
	go func() {
		r, err := l.acquire(ctx, false)
		if err == nil {
			r()
		}
		got <- err
	}()
	select {
	case err := <-got:
		t.Fatalf("unbounded acquire returned %v while full", err)
	case <-time.After(60 * time.Millisecond):
	}
	r1()
	if err := <-got; err != nil {
		t.Fatalf("unbounded acquire after a release: %v", err)
	}

	// A cancelled context ends the wait with its error.
	cctx, cancel := context.WithCancel(ctx)
	r3, err := l.acquire(ctx, true)
	if err != nil {
		t.Fatal(err)
	}
	cancel()
	if _, err := l.acquire(cctx, false); !errors.Is(err, context.Canceled) {
		t.Errorf("cancelled wait: %v", err)
	}
	r2()
	r3()
	if l.InUse() != 0 {
		t.Errorf("in use after every release: %d", l.InUse())
	}
}

// TestSlotRests: a slot is given back half a hash's duration after the
// hash, not at once.
func TestSlotRests(t *testing.T) {
	l, _ := NewPasswordLimiter(1, 0)
	release, err := l.acquire(context.Background(), true)
	if err != nil {
		t.Fatal(err)
	}
	held := 200 * time.Millisecond
	time.Sleep(held) // stands for the hash's work
	released := time.Now()
	release()
	if l.InUse() != 1 {
		t.Fatal("the slot came back without resting")
	}
	for l.InUse() != 0 {
		if time.Since(released) > 10*time.Second {
			t.Fatal("the slot never came back")
		}
		time.Sleep(time.Millisecond)
	}
	if rested := time.Since(released); rested < held/2 {
		t.Errorf("the slot rested %s after a %s hash, want at least %s", rested, held, held/2)
	}
}

// TestPasswordFunctionsUseTheLimiter: every argon2id entry point takes a
// slot of the process-wide limiter, so a full limiter turns the bounded
// ones away with ErrBusy and makes the unbounded ones wait.
func TestPasswordFunctionsUseTheLimiter(t *testing.T) {
	old := Passwords()
	t.Cleanup(func() { SetPasswordLimiter(old) })
	l, _ := NewPasswordLimiter(1, 10*time.Millisecond)
	l.rest = 0
	SetPasswordLimiter(l)
	release, err := l.acquire(context.Background(), true)
	if err != nil {
		t.Fatal(err)
	}
	ctx := context.Background()
	if _, err := HashPasswordContext(ctx, "correct horse"); !errors.Is(err, ErrBusy) {
		t.Errorf("HashPasswordContext while full: %v", err)
	}
	if _, err := VerifyPasswordContext(ctx, DummyPasswordHash, "x"); !errors.Is(err, ErrBusy) {
		t.Errorf("VerifyPasswordContext while full: %v", err)
	}
	done := make(chan string, 1)
	go func() { done <- HashPassword("correct horse") }()
	select {
	case <-done:
		t.Fatal("HashPassword ran while the limiter was full")
	case <-time.After(50 * time.Millisecond):
	}
	release()
	enc := <-done
	if ok, err := VerifyPasswordContext(ctx, enc, "correct horse"); !ok || err != nil {
		t.Errorf("VerifyPasswordContext after release = %v, %v", ok, err)
	}
}

// TestDummyPasswordHash: the dummy costs what a real hash costs, because
// it has HashPassword's parameters.
func TestDummyPasswordHash(t *testing.T) {
	real := HashPassword("anything")
	paramsOf := func(enc string) string { return strings.Join(strings.Split(enc, "$")[:4], "$") }
	if got, want := paramsOf(DummyPasswordHash), paramsOf(real); got != want {
		t.Errorf("dummy parameters %q, HashPassword's %q", got, want)
	}
	if p, ok := parseArgon2id(DummyPasswordHash); !ok || len(p.key) != argonKeyLen || len(p.salt) != 16 {
		t.Errorf("dummy does not parse: %+v %v", p, ok)
	}
	if VerifyPassword(DummyPasswordHash, "warden-dummy-password") || VerifyPassword(DummyPasswordHash, "") {
		t.Error("the dummy hash matched a guess")
	}
}

// TestOversizedEncodingRefused: a stored encoding asking for more memory
// than a slot budgets does not run.
func TestOversizedEncodingRefused(t *testing.T) {
	enc := strings.Replace(DummyPasswordHash, "m=65536", "m=4194304", 1)
	if ok, err := VerifyPasswordContext(context.Background(), enc, "x"); ok || err != nil {
		t.Errorf("4 GiB encoding: %v, %v", ok, err)
	}
}

func BenchmarkVerifyPassword(b *testing.B) {
	b.ReportAllocs()
	for b.Loop() {
		VerifyPassword(DummyPasswordHash, "correct horse")
	}
}
