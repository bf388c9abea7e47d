package access

import (
	"maps"
	"slices"
	"sync/atomic"
)

// The snapshot's two indexes are persistent: an edit copies only the parts
// it touches (one shard of a map, one chunk of a vector) and shares the
// rest with the snapshot it started from, so that a write costs the same
// with a hundred resources or a million, and readers of the old snapshot
// never see a half-made change.

// shardBits sets the number of shards of a shardMap: 4,096, so that with
// 100,000 keys a shard holds ~25, which an edit copies. The shards are in
// groups of 1<<groupBits, so that an edit also copies the list of groups
// and one group, not a list of every shard.
const (
	groupBits = 6
	shardBits = 2 * groupBits
)

// shardOf picks a key's shard from its last three bytes: Warden's IDs end
// in random characters (5 bits each), and a hash of the whole key would
// cost the check as much as a map lookup. Other keys only spread less
// evenly, which costs edits, not correctness.
func shardOf(key string) int {
	var h uint32
	for i := max(0, len(key)-3); i < len(key); i++ {
		h = h*31 + uint32(key[i])
	}
	return int(h & (1<<shardBits - 1))
}

// shardMap is a map of string keys split into shards copied on write.
type shardMap[V any] struct {
	groups []*shardGroup[V] // nil until the first edit
}

// shardGroup is a group of shards; a shard is nil until a key is put in it.
type shardGroup[V any] [1 << groupBits]map[string]V

func (m shardMap[V]) get(key string) (V, bool) {
	if m.groups == nil {
		var zero V
		return zero, false
	}
	i := shardOf(key)
	v, ok := m.groups[i>>groupBits][i&(1<<groupBits-1)][key]
	return v, ok
}

// shardEdit changes a copy of a shardMap: the list of groups is copied on
// the first change (an edit that changes nothing here copies nothing), each
// group and each shard once, on its first change.
type shardEdit[V any] struct {
	m           shardMap[V]
	copied      bool
	ownedGroups [1 << groupBits]bool
	// The shards copied: the first few listed, then a bit per shard (most
	// edits change one or two shards of a map, a rebuild every one).
	few   [4]int32
	nfew  int
	owned *[1 << shardBits / 64]uint64
}

func editShards[V any](m shardMap[V]) shardEdit[V] { return shardEdit[V]{m: m} }

// ownsShard reports whether shard i is this edit's copy.
func (e *shardEdit[V]) ownsShard(i int) bool {
	if e.owned != nil {
		return e.owned[i/64]&(1<<(i%64)) != 0
	}
	for _, j := range e.few[:e.nfew] {
		if int(j) == i {
			return true
		}
	}
	return false
}

func (e *shardEdit[V]) ownShard(i int) {
	if e.owned == nil && e.nfew < len(e.few) {
		e.few[e.nfew] = int32(i)
		e.nfew++
		return
	}
	if e.owned == nil {
		e.owned = new([1 << shardBits / 64]uint64)
		for _, j := range e.few[:e.nfew] {
			e.owned[j/64] |= 1 << (j % 64)
		}
	}
	e.owned[i/64] |= 1 << (i % 64)
}

func (e *shardEdit[V]) shard(key string) map[string]V {
	if !e.copied {
		if e.m.groups == nil {
			e.m.groups = make([]*shardGroup[V], 1<<groupBits)
			for i := range e.m.groups {
				e.m.groups[i] = new(shardGroup[V])
			}
			e.ownedGroups = [1 << groupBits]bool{}
			for i := range e.ownedGroups {
				e.ownedGroups[i] = true
			}
		} else {
			e.m.groups = slices.Clone(e.m.groups)
		}
		e.copied = true
	}
	i := shardOf(key)
	g := i >> groupBits
	if !e.ownedGroups[g] {
		copied := *e.m.groups[g]
		e.m.groups[g] = &copied
		e.ownedGroups[g] = true
	}
	group := e.m.groups[g]
	j := i & (1<<groupBits - 1)
	if !e.ownsShard(i) {
		group[j] = maps.Clone(group[j])
		if group[j] == nil {
			group[j] = map[string]V{}
		}
		e.ownShard(i)
	}
	return group[j]
}

func (e *shardEdit[V]) get(key string) (V, bool) { return e.m.get(key) }

func (e *shardEdit[V]) set(key string, v V) { e.shard(key)[key] = v }

func (e *shardEdit[V]) remove(key string) {
	if _, ok := e.m.get(key); ok {
		delete(e.shard(key), key)
	}
}

// chunkBits sets the entries per chunk of a vector: an edit copies one
// chunk of 1,024 pointers (8 KiB) and the list of chunks.
const chunkBits = 10

type chunk = [1 << chunkBits]*entry

// vec is the snapshot's entries by slot, in chunks copied on write. Slots
// are never reused: an entry's parent slot stays valid for its life.
//
// No holder of a vec reads a slot at or past its n, so a new entry is put
// in place in a chunk shared with older vecs rather than in a copy of it —
// by the first edit to claim that slot. Vecs made from one another share
// claimed: every slot one of their edits has filled is below it. An edit of
// an older vec (a second edit of one snapshot) finds its slots claimed and
// copies the chunk, as for any other change.
type vec struct {
	chunks  []*chunk
	n       int32 // slots handed out
	claimed *atomic.Int32
}

func (v *vec) at(slot int32) *entry { return v.chunks[slot>>chunkBits][slot&(1<<chunkBits-1)] }

// vecEdit changes a copy of a vec.
type vecEdit struct {
	v      vec
	owned  map[int32]bool // chunks this edit copied or made
	listed bool           // v.chunks is this edit's own list
}

func editVec(v vec) *vecEdit {
	if v.claimed == nil {
		v.claimed = new(atomic.Int32)
		v.claimed.Store(v.n)
	}
	return &vecEdit{v: v}
}

// own makes chunk c this edit's own copy.
func (e *vecEdit) own(c int32) {
	if e.owned[c] {
		return
	}
	if !e.listed {
		e.v.chunks = slices.Clone(e.v.chunks)
		e.listed = true
	}
	if e.owned == nil {
		e.owned = map[int32]bool{}
	}
	copied := *e.v.chunks[c]
	e.v.chunks[c] = &copied
	e.owned[c] = true
}

func (e *vecEdit) set(slot int32, x *entry) {
	e.own(slot >> chunkBits)
	e.v.chunks[slot>>chunkBits][slot&(1<<chunkBits-1)] = x
}

// add hands out the next slot for x.
func (e *vecEdit) add(x *entry) int32 {
	slot := e.v.n
	e.v.n++
	c := slot >> chunkBits
	if int(c) == len(e.v.chunks) {
		if !e.listed {
			e.v.chunks = slices.Clone(e.v.chunks)
			e.listed = true
		}
		e.v.chunks = append(e.v.chunks, new(chunk))
		if e.owned == nil {
			e.owned = map[int32]bool{}
		}
		e.owned[c] = true
	}
	// Claimed whether or not the chunk is shared: a slot filled anywhere
	// is one no other edit of the lineage may fill in place.
	if e.v.claimed.CompareAndSwap(slot, slot+1) || e.owned[c] {
		e.v.chunks[c][slot&(1<<chunkBits-1)] = x
		return slot
	}
	e.set(slot, x)
	return slot
}
