package client

import (
	"context"
	"errors"
	"fmt"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"
)

// clock is a settable fake clock.
type clock struct {
	mu sync.Mutex
	t  time.Time
}

func (c *clock) now() time.Time { c.mu.Lock(); defer c.mu.Unlock(); return c.t }
func (c *clock) add(d time.Duration) {
	c.mu.Lock()
	c.t = c.t.Add(d)
	c.mu.Unlock()
}

// countingSource issues token-1, token-2, … living for lifetime.
type countingSource struct {
	clock    *clock
	lifetime time.Duration
	n        atomic.Int32
}

func (s *countingSource) Token(context.Context) (Token, error) {
	n := s.n.Add(1)
	t := Token{Value: fmt.Sprintf("token-%d", n)}
	if s.lifetime > 0 {
		t.ExpiresAt = s.clock.now().Add(s.lifetime)
	}
	return t, nil
}

func TestReuseTokenSourceRefresh(t *testing.T) {
	for _, tc := range []struct {
		name     string
		lifetime time.Duration
		reuseFor time.Duration // still the first token this long after
		newAfter time.Duration // a new token this long after
	}{
		{"12h token refreshes 5 min early", 12 * time.Hour, 12*time.Hour - 5*time.Minute - time.Second, 12*time.Hour - 5*time.Minute},
		{"short token refreshes halfway", 4 * time.Minute, 2*time.Minute - time.Second, 2 * time.Minute},
		{"unknown expiry refreshes hourly", 0, time.Hour - time.Second, time.Hour},
	} {
		t.Run(tc.name, func(t *testing.T) {
			clk := &clock{t: time.Date(2025, 1, 1, 0, 0, 0, 0, time.UTC)}
			src := &countingSource{clock: clk, lifetime: tc.lifetime}
			ts := ReuseTokenSource(src, clk.now)
			ctx := context.Background()
			get := func() string {
				t.Helper()
				tok, err := ts.Token(ctx)
				if err != nil {
					t.Fatal(err)
				}
				return tok.Value
			}
			if got := get(); got != "token-1" {
				t.Fatalf("first token = %q", got)
			}
			clk.add(tc.reuseFor)
			if got := get(); got != "token-1" {
				t.Errorf("after %v: %q, want the cached token-1", tc.reuseFor, got)
			}
			clk.add(tc.newAfter - tc.reuseFor)
			if got := get(); got != "token-2" {
				t.Errorf("after %v: %q, want a new token-2", tc.newAfter, got)
			}
			if got := get(); got != "token-2" {
				t.Errorf("right after the refresh: %q, want token-2", got)
			}
		})
	}
}

func TestReuseTokenSourceConcurrent(t *testing.T) {
	var calls atomic.Int32
	release := make(chan struct{})
	src := TokenSourceFunc(func(ctx context.Context) (Token, error) {
		calls.Add(1)
		<-release
		return Token{Value: "shared", ExpiresAt: time.Now().Add(time.Hour)}, nil
	})
	ts := ReuseTokenSource(src, nil)
	var wg sync.WaitGroup
	errs := make(chan error, 50)
	for range 50 {
		wg.Add(1)
		go func() {
			defer wg.Done()
			tok, err := ts.Token(context.Background())
			if err == nil && tok.Value != "shared" {
				err = fmt.Errorf("token %q", tok.Value)
			}
			errs <- err
		}()
	}
	time.Sleep(20 * time.Millisecond)
	close(release)
	wg.Wait()
	close(errs)
	for err := range errs {
		if err != nil {
			t.Error(err)
		}
	}
	if n := calls.Load(); n != 1 {
		t.Errorf("%d exchanges for 50 concurrent callers, want 1", n)
	}
}

func TestReuseTokenSourceWaitHonoursContext(t *testing.T) {
	started, release := make(chan struct{}), make(chan struct{})
	defer close(release)
	ts := ReuseTokenSource(TokenSourceFunc(func(ctx context.Context) (Token, error) {
		close(started)
		<-release
		return Token{Value: "late"}, nil
	}), nil)
	go ts.Token(context.Background())
	<-started
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Millisecond)
	defer cancel()
	if _, err := ts.Token(ctx); !errors.Is(err, context.DeadlineExceeded) {
		t.Errorf("waiting caller: err = %v, want its context's deadline", err)
	}
}

func TestReuseTokenSourceDoesNotCacheErrors(t *testing.T) {
	var calls atomic.Int32
	ts := ReuseTokenSource(TokenSourceFunc(func(ctx context.Context) (Token, error) {
		if calls.Add(1) == 1 {
			return Token{}, errors.New("transient")
		}
		return Token{Value: "ok", ExpiresAt: time.Now().Add(time.Hour)}, nil
	}), nil)
	if _, err := ts.Token(context.Background()); err == nil {
		t.Fatal("first call succeeded, want the source's error")
	}
	if tok, err := ts.Token(context.Background()); err != nil || tok.Value != "ok" {
		t.Errorf("second call = %q, %v; want ok", tok.Value, err)
	}
}

func TestSecretsDoNotPrint(t *testing.T) {
	for _, v := range []any{Token{Value: "t1.secret"}, OAuthToken("y0_secret"), &Token{Value: "t1.secret"}} {
		for _, verb := range []string{"%v", "%+v", "%s", "%#v"} {
			if s := fmt.Sprintf(verb, v); strings.Contains(s, "secret") {
				t.Errorf("%s of %T = %q", verb, v, s)
			}
		}
	}
}
