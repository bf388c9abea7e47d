package keystone

import (
	"sync"

	"warden/access"
)

// docCache keeps encoded token documents. A document is a function of the
// token's claims (immutable), the endpoint the catalog names, the catalog
// choice and the access snapshot (names and roles): the cache empties when
// the snapshot changes. Revocation and expiry are checked before the cache
// is consulted, on every request.
type docCache struct {
	max  int
	mu   sync.RWMutex
	snap *access.Snapshot
	m    map[docKey][]byte
}

// docKey names a document: the token, what the links are made of (the
// request's Host, whether it came over TLS, the path prefix: with the
// handler's configuration they make the root URL, not built per request)
// and the catalog choice.
type docKey struct {
	tokenID, host, prefix string
	tls, catalog          bool
}

// docCacheEntries bounds the cache: a document is about 1 KiB.
const docCacheEntries = 16384

func newDocCache(max int) *docCache { return &docCache{max: max, m: map[docKey][]byte{}} }

func (c *docCache) get(snap *access.Snapshot, k docKey) ([]byte, bool) {
	c.mu.RLock()
	defer c.mu.RUnlock()
	if c.snap != snap {
		return nil, false
	}
	b, ok := c.m[k]
	return b, ok
}

func (c *docCache) put(snap *access.Snapshot, k docKey, doc []byte) {
	c.mu.Lock()
	defer c.mu.Unlock()
	if c.snap != snap || len(c.m) >= c.max {
		// A new snapshot makes every document stale; a full cache starts
		// over rather than tracking age.
		clear(c.m)
		c.snap = snap
	}
	c.m[k] = doc
}
