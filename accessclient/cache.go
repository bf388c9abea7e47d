package accessclient

import (
	"container/list"
	"crypto/rand"
	"crypto/sha256"
	"encoding/binary"
	"fmt"
	"net/http"
	"strings"
	"sync"
	"time"
)

// CacheConfig sizes a Cache.
type CacheConfig struct {
	// TTL is how long a positive decision is reused: it is also how long a
	// revoked token, a removed binding or a deleted API key may still be
	// let in by this resource service. 1 ms to 1 minute.
	TTL time.Duration
	// MaxEntries bounds the memory: beyond it the least recently used
	// decision is dropped. Default 10000 (each entry is a few hundred bytes).
	MaxEntries int
	// Now is the clock; time.Now when nil.
	Now func() time.Time
}

// MaxCacheTTL is the longest TTL a Cache accepts: beyond a minute a revoked
// credential would stay usable for longer than an operator expects.
const MaxCacheTTL = time.Minute

// Cache holds Warden's positive decisions for a short time, so that a
// resource service far from Warden pays the round trip once per TTL and
// credential rather than once per request.
//
// What is cached: a decision in which every check was allowed, for a
// request carrying a bearer credential (an IAM token in Authorization or
// X-YaCloud-SubjectToken, an Api-Key, a Keystone X-Auth-Token, a static
// X-Token). It is keyed by SHA-256, under a random per-cache salt, of those
// headers together with the client address, the service and scope asked
// for, and the checks: no secret is held in clear, and an API key allowed
// from one address is not thereby allowed from another.
//
// What is not: refusals, denials and errors (a fixed credential or a new
// binding takes effect at once; Warden being unreachable is never turned
// into an allow), and SigV4 requests — each signature covers one request's
// time and body, so a cached answer would never be hit, and a presigned
// URL must stop working the second it expires.
//
// Revocation bound: a credential revoked, an account suspended or a binding
// removed is refused by this resource service at most TTL after Warden
// refuses it.
type Cache struct {
	ttl  time.Duration
	max  int
	now  func() time.Time
	salt [32]byte

	mu      sync.Mutex
	entries map[[32]byte]*list.Element
	lru     *list.List // of *cacheEntry, most recently used first
}

type cacheEntry struct {
	key     [32]byte
	expires time.Time
	d       Decision
}

// NewCache returns an empty Cache.
func NewCache(cfg CacheConfig) (*Cache, error) {
	if cfg.TTL < time.Millisecond || cfg.TTL > MaxCacheTTL {
		return nil, fmt.Errorf("accessclient: cache TTL must be between 1ms and %s, got %s", MaxCacheTTL, cfg.TTL)
	}
	if cfg.MaxEntries < 0 {
		return nil, fmt.Errorf("accessclient: cache MaxEntries must not be negative, got %d", cfg.MaxEntries)
	}
	if cfg.MaxEntries == 0 {
		cfg.MaxEntries = 10000
	}
	if cfg.Now == nil {
		cfg.Now = time.Now
	}
	c := &Cache{ttl: cfg.TTL, max: cfg.MaxEntries, now: cfg.Now, entries: map[[32]byte]*list.Element{}, lru: list.New()}
	if _, err := rand.Read(c.salt[:]); err != nil {
		return nil, fmt.Errorf("accessclient: cache salt: %w", err)
	}
	return c, nil
}

// Len is the number of decisions held, expired ones included until they
// are looked up or evicted.
func (c *Cache) Len() int {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.lru.Len()
}

// credentialHeaders are the headers a cacheable credential travels in.
var credentialHeaders = []string{"Authorization", "X-Yacloud-Subjecttoken", "X-Auth-Token", "X-Token"}

// key returns the key of a request's decision, and false for a request
// whose decision must not be cached.
func (c *Cache) key(r *http.Request, client, service, scope string, checks []Check) ([32]byte, bool) {
	q := r.URL.RawQuery
	if strings.HasPrefix(r.Header.Get("Authorization"), "AWS4-") || strings.Contains(q, "X-Amz-Signature") || strings.Contains(q, "X-Amz-Credential") {
		return [32]byte{}, false
	}
	h := sha256.New()
	h.Write(c.salt[:])
	field := func(s string) {
		// Length-prefixed, so that no two different requests hash alike.
		var n [8]byte
		binary.BigEndian.PutUint64(n[:], uint64(len(s)))
		h.Write(n[:])
		h.Write([]byte(s))
	}
	credential := false
	for _, name := range credentialHeaders {
		vs := r.Header.Values(name)
		field(fmt.Sprint(len(vs)))
		for _, v := range vs {
			field(v)
			credential = true
		}
	}
	if !credential {
		return [32]byte{}, false
	}
	field(client)
	field(service)
	field(scope)
	// The count keeps Authenticate's decision (no checks) apart from any
	// of Authorize's.
	field(fmt.Sprint(len(checks)))
	for _, ch := range checks {
		field(ch.Permission)
		field(ch.Resource.Type)
		field(ch.Resource.ID)
	}
	var k [32]byte
	h.Sum(k[:0])
	return k, true
}

// get returns a live decision; an expired one is dropped.
func (c *Cache) get(k [32]byte) (*Decision, bool) {
	c.mu.Lock()
	defer c.mu.Unlock()
	el, ok := c.entries[k]
	if !ok {
		return nil, false
	}
	e := el.Value.(*cacheEntry)
	if !c.now().Before(e.expires) {
		c.lru.Remove(el)
		delete(c.entries, k)
		return nil, false
	}
	c.lru.MoveToFront(el)
	d := e.d
	d.Allowed = append([]bool(nil), e.d.Allowed...)
	return &d, true
}

// put stores d if every check in it was allowed (a decision of
// Authenticate has none).
func (c *Cache) put(k [32]byte, d *Decision) {
	if d.Stream != nil {
		return
	}
	for _, ok := range d.Allowed {
		if !ok {
			return
		}
	}
	c.mu.Lock()
	defer c.mu.Unlock()
	e := &cacheEntry{key: k, expires: c.now().Add(c.ttl), d: *d}
	e.d.Allowed = append([]bool(nil), d.Allowed...)
	if el, ok := c.entries[k]; ok {
		el.Value = e
		c.lru.MoveToFront(el)
		return
	}
	c.entries[k] = c.lru.PushFront(e)
	for c.lru.Len() > c.max {
		last := c.lru.Back()
		c.lru.Remove(last)
		delete(c.entries, last.Value.(*cacheEntry).key)
	}
}
