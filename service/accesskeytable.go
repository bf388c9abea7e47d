package service

import "strings"

// accessKeyTable holds static access keys so that the garbage collector
// has nothing to scan per key (as apikey.Table for API keys): rows of
// fixed size, sealed secrets in one byte arena, account IDs interned, and
// maps whose keys and values hold no pointers. Its owner locks it.
type accessKeyTable struct {
	byKey  map[accessKeyID]uint32 // AWS key id → row
	byCred map[accessKeyID]uint32 // credential id → row
	rows   []accessKeyRow
	free   []uint32
	arena  []byte // sealed secrets
	waste  int    // arena bytes no row refers to
	names  []string
	index  map[string]uint32
}

// accessKeyID holds a key id or a credential id (both 20 characters;
// shorter ones are padded with zeros, longer ones are not held).
type accessKeyID [20]byte

func toAccessKeyID(s string) (accessKeyID, bool) {
	var k accessKeyID
	if len(s) > len(k) {
		return k, false
	}
	copy(k[:], s)
	return k, true
}

func (k *accessKeyID) String() string {
	n := 0
	for n < len(k) && k[n] != 0 {
		n++
	}
	return string(k[:n])
}

type accessKeyRow struct {
	keyID, credID accessKeyID
	subject       uint32 // name index
	sealedOff     uint32
	sealedLen     uint32
	live          bool
}

func newAccessKeyTable() *accessKeyTable {
	return &accessKeyTable{byKey: map[accessKeyID]uint32{}, byCred: map[accessKeyID]uint32{}, index: map[string]uint32{}}
}

func (t *accessKeyTable) Len() int { return len(t.byKey) }

// lookup returns the row of an AWS key id.
func (t *accessKeyTable) lookup(keyID string) (*accessKeyRow, bool) {
	k, ok := toAccessKeyID(keyID)
	if !ok {
		return nil, false
	}
	i, ok := t.byKey[k]
	if !ok {
		return nil, false
	}
	return &t.rows[i], true
}

func (t *accessKeyTable) subject(r *accessKeyRow) string { return t.names[r.subject] }

// sealed returns a copy of a row's sealed secret.
func (t *accessKeyTable) sealed(r *accessKeyRow) []byte {
	return append([]byte(nil), t.arena[r.sealedOff:r.sealedOff+r.sealedLen]...)
}

// put adds or replaces the key of a credential; false for ids it cannot
// hold. It returns the AWS key id the credential had before, if another.
func (t *accessKeyTable) put(keyID, credID, subject string, sealed []byte) (replaced string, ok bool) {
	k, ok1 := toAccessKeyID(keyID)
	c, ok2 := toAccessKeyID(credID)
	if !ok1 || !ok2 {
		return "", false
	}
	if old, had := t.byCred[c]; had && t.rows[old].keyID != k {
		replaced = t.rows[old].keyID.String()
		t.remove(credID)
	}
	r := accessKeyRow{keyID: k, credID: c, subject: t.name(subject), sealedOff: uint32(len(t.arena)), sealedLen: uint32(len(sealed)), live: true}
	t.arena = append(t.arena, sealed...)
	i, had := t.byKey[k]
	switch {
	case had:
		t.waste += int(t.rows[i].sealedLen)
		if t.rows[i].credID != c {
			delete(t.byCred, t.rows[i].credID) // the key id moved to another credential
		}
	case len(t.free) > 0:
		i = t.free[len(t.free)-1]
		t.free = t.free[:len(t.free)-1]
	default:
		i = uint32(len(t.rows))
		t.rows = append(t.rows, accessKeyRow{})
	}
	t.rows[i] = r
	t.byKey[k], t.byCred[c] = i, i
	t.compactIfWasteful()
	return replaced, true
}

// remove deletes the key of a credential and returns its AWS key id.
func (t *accessKeyTable) remove(credID string) (string, bool) {
	c, ok := toAccessKeyID(credID)
	if !ok {
		return "", false
	}
	i, ok := t.byCred[c]
	if !ok {
		return "", false
	}
	r := &t.rows[i]
	keyID := r.keyID.String()
	delete(t.byKey, r.keyID)
	delete(t.byCred, c)
	t.waste += int(r.sealedLen)
	*r = accessKeyRow{}
	t.free = append(t.free, i)
	return keyID, true
}

// compactIfWasteful rewrites the arena when most of it is secrets of keys
// replaced or deleted.
func (t *accessKeyTable) compactIfWasteful() {
	if t.waste < 1<<16 || t.waste < len(t.arena)/2 {
		return
	}
	arena := make([]byte, 0, len(t.arena)-t.waste)
	for i := range t.rows {
		r := &t.rows[i]
		if !r.live {
			continue
		}
		off := uint32(len(arena))
		arena = append(arena, t.arena[r.sealedOff:r.sealedOff+r.sealedLen]...)
		r.sealedOff = off
	}
	t.arena, t.waste = arena, 0
}

func (t *accessKeyTable) name(s string) uint32 {
	if i, ok := t.index[s]; ok {
		return i
	}
	i := uint32(len(t.names))
	s = strings.Clone(s)
	t.names = append(t.names, s)
	t.index[s] = i
	return i
}
