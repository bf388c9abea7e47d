package accessclient_test

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"net/http"
	"net/http/httptest"
	"sync/atomic"
	"testing"
	"time"

	"warden/accessclient"
)

// countingWarden answers every authorize call with allowed (or denied) and
// counts the calls.
type countingWarden struct {
	calls   atomic.Int64
	allowed atomic.Bool
	srv     *httptest.Server
}

func newFakeWarden(t *testing.T) *countingWarden {
	f := &countingWarden{}
	f.allowed.Store(true)
	f.srv = httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		f.calls.Add(1)
		var in struct{ Checks []json.RawMessage }
		json.NewDecoder(r.Body).Decode(&in)
		results := make([]map[string]bool, len(in.Checks))
		for i := range results {
			results[i] = map[string]bool{"allowed": f.allowed.Load()}
		}
		json.NewEncoder(w).Encode(map[string]any{"subject": map[string]string{"type": "serviceAccount", "id": "ajerobot"}, "results": results})
	}))
	t.Cleanup(f.srv.Close)
	return f
}

type testClock struct{ t time.Time }

func (c *testClock) now() time.Time { return c.t }

func cachedClient(t *testing.T, endpoint string, clk *testClock, max int) *accessclient.Client {
	t.Helper()
	c, err := accessclient.New(endpoint, "postbox")
	if err != nil {
		t.Fatal(err)
	}
	if c.Cache, err = accessclient.NewCache(accessclient.CacheConfig{TTL: 2 * time.Second, MaxEntries: max, Now: clk.now}); err != nil {
		t.Fatal(err)
	}
	return c
}

var listSets = accessclient.Check{Permission: "postbox.configurationSets.list", Resource: accessclient.Resource{Type: "resource-manager.folder", ID: "b1g"}}

func bearer(token, from string) *http.Request {
	r := httptest.NewRequest("GET", "/v2/email/configuration-sets", nil)
	r.Header.Set("Authorization", "Bearer "+token)
	r.RemoteAddr = from + ":40000"
	return r
}

// TestCacheTTL: a positive decision is reused until its TTL runs out, on
// the cache's clock, then asked again.
func TestCacheTTL(t *testing.T) {
	f := newFakeWarden(t)
	clk := &testClock{t: time.Unix(1_800_000_000, 0)}
	c := cachedClient(t, f.srv.URL, clk, 0)
	ask := func(step string, wantCalls int64) {
		t.Helper()
		d, err := c.AuthorizeRequest(context.Background(), bearer("t1.token", "192.0.2.1"), listSets)
		if err != nil || !d.Allowed[0] || d.Subject.ID != "ajerobot" {
			t.Fatalf("%s: %+v, %v", step, d, err)
		}
		if got := f.calls.Load(); got != wantCalls {
			t.Errorf("%s: %d calls to Warden, want %d", step, got, wantCalls)
		}
	}
	ask("first", 1)
	ask("again", 1)
	clk.t = clk.t.Add(2*time.Second - time.Nanosecond)
	ask("just before the TTL", 1)
	clk.t = clk.t.Add(time.Nanosecond)
	ask("at the TTL", 2)
	ask("cached anew", 2)
}

// TestCacheKeepsNoRefusal: a denial and an unreachable Warden are asked
// again every time; an unreachable Warden is an error wrapping
// ErrUnavailable, never an allow.
func TestCacheKeepsNoRefusal(t *testing.T) {
	f := newFakeWarden(t)
	f.allowed.Store(false)
	c := cachedClient(t, f.srv.URL, &testClock{t: time.Unix(1_800_000_000, 0)}, 0)
	for i := range 3 {
		d, err := c.AuthorizeRequest(context.Background(), bearer("t1.token", "192.0.2.1"), listSets)
		if err != nil || d.Allowed[0] {
			t.Fatalf("denied call %d: %+v, %v", i, d, err)
		}
	}
	if got := f.calls.Load(); got != 3 {
		t.Errorf("3 denied calls made %d calls to Warden", got)
	}
	f.srv.Close()
	for i := range 2 {
		d, err := c.AuthorizeRequest(context.Background(), bearer("t1.other", "192.0.2.1"), listSets)
		if !errors.Is(err, accessclient.ErrUnavailable) || d != nil {
			t.Errorf("Warden down, call %d: %+v, %v; want ErrUnavailable", i, d, err)
		}
	}
	if c.Cache.Len() != 0 {
		t.Errorf("%d decisions cached after denials and errors", c.Cache.Len())
	}
}

// TestCacheKey: a decision is reused only for the same credential, client
// address, scope and checks; a SigV4 request is never cached.
func TestCacheKey(t *testing.T) {
	f := newFakeWarden(t)
	c := cachedClient(t, f.srv.URL, &testClock{t: time.Unix(1_800_000_000, 0)}, 0)
	other := listSets
	other.Resource.ID = "b1other"
	sigv4 := httptest.NewRequest("GET", "/v2/email/configuration-sets", nil)
	sigv4.Header.Set("Authorization", "AWS4-HMAC-SHA256 Credential=AKID/20261130/ru-central1/ses/aws4_request, SignedHeaders=host, Signature=00")
	presigned := httptest.NewRequest("GET", "/v2/email/configuration-sets?X-Amz-Credential=AKID&X-Amz-Signature=00", nil)
	scoped := *c
	scoped.Scope = "yc.postbox.send"
	for _, tc := range []struct {
		name  string
		c     *accessclient.Client
		r     *http.Request
		check accessclient.Check
	}{
		{"another token", c, bearer("t1.second", "192.0.2.1"), listSets},
		{"another client address", c, bearer("t1.token", "192.0.2.2"), listSets},
		{"another resource", c, bearer("t1.token", "192.0.2.1"), other},
		{"another scope", &scoped, bearer("t1.token", "192.0.2.1"), listSets},
		{"a SigV4 header", c, sigv4, listSets},
		{"a presigned URL", c, presigned, listSets},
	} {
		t.Run(tc.name, func(t *testing.T) {
			if _, err := c.AuthorizeRequest(context.Background(), bearer("t1.token", "192.0.2.1"), listSets); err != nil {
				t.Fatal(err)
			}
			before := f.calls.Load()
			for range 2 {
				if _, err := tc.c.AuthorizeRequest(context.Background(), tc.r, tc.check); err != nil {
					t.Fatal(err)
				}
			}
			want := before + 1
			if tc.r == sigv4 || tc.r == presigned {
				want = before + 2
			}
			if got := f.calls.Load(); got != want {
				t.Errorf("%d calls to Warden, want %d", got-before, want-before)
			}
		})
	}
}

// TestCacheEviction: the cache never holds more than MaxEntries decisions;
// the least recently used one goes first.
func TestCacheEviction(t *testing.T) {
	f := newFakeWarden(t)
	c := cachedClient(t, f.srv.URL, &testClock{t: time.Unix(1_800_000_000, 0)}, 3)
	ask := func(token string) {
		t.Helper()
		if _, err := c.AuthorizeRequest(context.Background(), bearer(token, "192.0.2.1"), listSets); err != nil {
			t.Fatal(err)
		}
	}
	ask("t1.keep")
	for i := range 100 {
		ask(fmt.Sprintf("t1.n%d", i))
		ask("t1.keep") // the most recently used survives
		if n := c.Cache.Len(); n > 3 {
			t.Fatalf("after %d tokens: %d entries, want at most 3", i+2, n)
		}
	}
	if got := f.calls.Load(); got != 101 {
		t.Errorf("%d calls to Warden, want 101 (t1.keep asked once)", got)
	}
	before := f.calls.Load()
	ask("t1.n0")
	if f.calls.Load() != before+1 {
		t.Error("an evicted decision was still served")
	}
}

// TestNewCacheConfig: a TTL outside 1ms…1m or a negative size is refused.
func TestNewCacheConfig(t *testing.T) {
	for _, cfg := range []accessclient.CacheConfig{{TTL: 0}, {TTL: 2 * time.Minute}, {TTL: time.Second, MaxEntries: -1}} {
		if _, err := accessclient.NewCache(cfg); err == nil {
			t.Errorf("NewCache(%+v) accepted", cfg)
		}
	}
}

// BenchmarkAuthorize: one decision for a bearer token, asked of a Warden
// stand-in on loopback every time, or served by the cache.
func BenchmarkAuthorize(b *testing.B) {
	f := &countingWarden{}
	f.allowed.Store(true)
	f.srv = httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		w.Write([]byte(`{"subject": {"type": "serviceAccount", "id": "ajerobot"}, "results": [{"allowed": true}]}`))
	}))
	defer f.srv.Close()
	for _, cached := range []bool{false, true} {
		name := "uncached"
		if cached {
			name = "cached"
		}
		b.Run(name, func(b *testing.B) {
			c, _ := accessclient.New(f.srv.URL, "postbox")
			if cached {
				c.Cache, _ = accessclient.NewCache(accessclient.CacheConfig{TTL: time.Minute})
			}
			r := bearer("t1.token", "192.0.2.1")
			b.ReportAllocs()
			for b.Loop() {
				if _, err := c.AuthorizeRequest(context.Background(), r, listSets); err != nil {
					b.Fatal(err)
				}
			}
		})
	}
}
