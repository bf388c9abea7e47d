package apikey

import (
	"crypto/sha256"
	"crypto/subtle"
	"fmt"
	"net/netip"
	"strings"
)

// KeyIDSize is the longest key ID a Table holds (Warden's IDs are 20
// characters).
const KeyIDSize = 20

// Table holds compiled keys for checking, laid out so that the garbage
// collector has almost nothing to scan however many keys it holds: rows
// of fixed size in one slice, addresses and name lists in shared pools
// addressed by offsets, names (subjects, products, scopes) interned once,
// and a map whose keys and values hold no pointers. A Policy is a Table of
// one key. A Table is not safe for concurrent use: its owner locks it
// (Check may run concurrently with other Checks).
type Table struct {
	byID map[[KeyIDSize]byte]uint32
	rows []row
	free []uint32 // rows of deleted keys, reused first
	pools
	waste int // pool entries no row refers to
}

// pools hold what rows refer to by offset: addresses, name lists, names.
type pools struct {
	nets  []packedNet
	lists []uint32 // name indexes
	*nameSet
}

// nameSet interns names. Batches that continue one another (Batch.Next)
// share one.
type nameSet struct {
	names []string
	index map[string]uint32 // names
	// What Table.Merge learnt of a Batch's names: names[i] is the name
	// merged[i] of into. Only Merge touches them.
	into   *Table
	merged []uint32
}

func newNameSet() *nameSet { return &nameSet{index: map[string]uint32{}} }

// row is one key. It holds no pointers.
type row struct {
	id       [KeyIDSize]byte
	hash     [sha256.Size]byte
	expires  int64 // UnixNano; with hasExpiry
	hours    uint32
	subject  uint32 // name index
	nets     span
	products span
	scopes   span
	flags    uint8
}

const (
	rowDisabled uint8 = 1 << iota
	rowHasExpiry
	rowLive // not deleted
)

// span is a part of a pool.
type span struct{ off, n uint32 }

// packedNet is a netip.Prefix without its pointer (the zone).
type packedNet struct {
	addr [16]byte
	bits uint8
	is4  bool
}

func pack(p netip.Prefix) packedNet {
	return packedNet{addr: p.Addr().As16(), bits: uint8(p.Bits()), is4: p.Addr().Is4()}
}

func (n *packedNet) contains(a netip.Addr) bool {
	var addr netip.Addr
	if n.is4 {
		addr = netip.AddrFrom4([4]byte(n.addr[12:]))
	} else {
		addr = netip.AddrFrom16(n.addr)
	}
	return netip.PrefixFrom(addr, int(n.bits)).Contains(a)
}

// NewTable returns an empty table; sizeHint is the number of keys expected.
func NewTable(sizeHint int) *Table {
	return &Table{
		byID: make(map[[KeyIDSize]byte]uint32, sizeHint), rows: make([]row, 0, sizeHint),
		pools: pools{nameSet: newNameSet()},
	}
}

// Len returns the number of keys held.
func (t *Table) Len() int { return len(t.byID) }

// Rows returns the number of rows, held keys and free rows: row numbers
// are below it.
func (t *Table) Rows() int { return len(t.rows) }

// Lookup returns the row of a key ID.
func (t *Table) Lookup(id string) (uint32, bool) {
	var k [KeyIDSize]byte
	if len(id) > len(k) {
		return 0, false
	}
	copy(k[:], id)
	i, ok := t.byID[k]
	return i, ok
}

// Put compiles a spec and adds it, or replaces the key of the same ID in
// its row (so that what its owner keeps per row stays with the key). It
// returns the row. Specs come from the store, which only holds validated
// ones, so an error here means corrupt data; the table is then unchanged.
func (t *Table) Put(s Spec) (uint32, error) {
	r, err := t.compile(s)
	if err != nil {
		return 0, err
	}
	i := t.place(r)
	t.compactIfWasteful()
	return i, nil
}

// compile checks a spec and compiles it into a row, adding what the row
// refers to to the pools (nothing on an error).
func (p *pools) compile(s Spec) (row, error) {
	if len(s.Hash) != sha256.Size {
		return row{}, fmt.Errorf("apikey: hash of %d bytes", len(s.Hash))
	}
	if len(s.KeyID) > KeyIDSize {
		return row{}, fmt.Errorf("apikey: key ID of %d bytes", len(s.KeyID))
	}
	r := row{hours: allHours, flags: rowLive}
	copy(r.id[:], s.KeyID)
	copy(r.hash[:], s.Hash)
	if s.Disabled {
		r.flags |= rowDisabled
	}
	if !s.ExpiresAt.IsZero() {
		r.expires = s.ExpiresAt.UnixNano()
		r.flags |= rowHasExpiry
	}
	if len(s.Slots) > 0 {
		mask, err := HourMask(s.Slots, s.Timezone)
		if err != nil {
			return row{}, err
		}
		r.hours = mask
	}
	// The addresses go straight into the pool (no slice per key), which
	// is cut back if one does not parse.
	r.nets = span{uint32(len(p.nets)), uint32(len(s.Addresses))}
	for _, a := range s.Addresses {
		n, err := ParseNet(a)
		if err != nil {
			p.nets = p.nets[:r.nets.off]
			return row{}, err
		}
		p.nets = append(p.nets, pack(n))
	}
	r.subject = p.name(s.SubjectID)
	r.products = p.nameList(s.Products)
	r.scopes = p.nameList(s.Scopes)
	return r, nil
}

// place puts a compiled row in the row of the key with its ID, or in a free
// row, or in a new one, and returns its row.
func (t *Table) place(r row) uint32 {
	i, ok := t.byID[r.id]
	switch {
	case ok:
		t.release(&t.rows[i])
		t.rows[i] = r
	case len(t.free) > 0:
		i = t.free[len(t.free)-1]
		t.free = t.free[:len(t.free)-1]
		t.rows[i] = r
	default:
		i = uint32(len(t.rows))
		t.rows = append(t.rows, r)
	}
	t.byID[r.id] = i
	return i
}

// Batch is keys compiled to be added to a Table at once (Merge): a load
// compiles keys into batches on several goroutines while another merges
// the full ones. A batch has no index by ID: a lookup in a Table's map is
// a random memory access, the largest part of compiling a key, which the
// merge then pays once. Each of a goroutine's batches goes on from the one
// before (Next), so that a name (an account) is interned, and merged, once
// per goroutine rather than once per batch.
type Batch struct {
	rows  []row
	names []string // the names its rows may refer to, as of its last Add
	pools
}

// NewBatch returns an empty batch; sizeHint is the number of keys
// expected.
func NewBatch(sizeHint int) *Batch {
	return &Batch{rows: make([]row, 0, sizeHint), pools: pools{nameSet: newNameSet()}}
}

// Next returns an empty batch that goes on from b: it shares b's interned
// names. b may be merged (on another goroutine) while keys are added to
// the new batch, but no more keys are added to b.
func (b *Batch) Next(sizeHint int) *Batch {
	return &Batch{rows: make([]row, 0, sizeHint), names: b.names, pools: pools{nameSet: b.nameSet}}
}

// Add compiles a spec into the batch (see Put); the batch is unchanged on
// an error. Of keys added twice, to one batch or to several merged into a
// table, the last merged wins.
func (b *Batch) Add(s Spec) error {
	r, err := b.compile(s)
	if err != nil {
		return err
	}
	b.rows = append(b.rows, r)
	// A view of the shared list that later appends (by the next batch)
	// leave as it is, for Merge to read on its goroutine.
	b.names = b.nameSet.names
	return nil
}

// Len returns the number of keys added.
func (b *Batch) Len() int { return len(b.rows) }

// Merge moves the keys of a batch into t, as if each were Put in the order
// added (a key t holds already is replaced in its row). b must not be
// used afterwards.
func (t *Table) Merge(b *Batch) {
	ns := b.nameSet
	if ns.into != t {
		ns.into, ns.merged = t, nil
	}
	for _, n := range b.names[min(len(ns.merged), len(b.names)):] {
		ns.merged = append(ns.merged, t.name(n))
	}
	names := ns.merged
	netsOff, listsOff := uint32(len(t.nets)), uint32(len(t.lists))
	t.nets = append(t.nets, b.nets...)
	for _, n := range b.lists {
		t.lists = append(t.lists, names[n])
	}
	for _, r := range b.rows {
		r.subject = names[r.subject]
		r.nets.off += netsOff
		r.products.off += listsOff
		r.scopes.off += listsOff
		t.place(r)
	}
	t.compactIfWasteful()
}

// Delete removes a key and returns the row it had.
func (t *Table) Delete(id string) (uint32, bool) {
	i, ok := t.Lookup(id)
	if !ok {
		return 0, false
	}
	t.release(&t.rows[i])
	delete(t.byID, t.rows[i].id)
	t.rows[i] = row{}
	t.free = append(t.free, i)
	return i, true
}

// release counts the pool entries of a row as waste.
func (t *Table) release(r *row) {
	t.waste += int(r.nets.n + r.products.n + r.scopes.n)
}

// compactIfWasteful rewrites the pools when most of them is waste (keys
// replaced or deleted since the last compaction).
func (t *Table) compactIfWasteful() {
	if t.waste < 4096 || t.waste < (len(t.nets)+len(t.lists))/2 {
		return
	}
	nets := make([]packedNet, 0, len(t.nets)-t.waste/2)
	lists := make([]uint32, 0, len(t.lists)-t.waste/2)
	for i := range t.rows {
		r := &t.rows[i]
		if r.flags&rowLive == 0 {
			continue
		}
		off := uint32(len(nets))
		nets = append(nets, t.nets[r.nets.off:r.nets.off+r.nets.n]...)
		r.nets.off = off
		for _, s := range []*span{&r.products, &r.scopes} {
			off := uint32(len(lists))
			lists = append(lists, t.lists[s.off:s.off+s.n]...)
			s.off = off
		}
	}
	t.nets, t.lists, t.waste = nets, lists, 0
}

// name interns a name.
func (p *pools) name(s string) uint32 {
	if i, ok := p.index[s]; ok {
		return i
	}
	i := uint32(len(p.names))
	s = strings.Clone(s)
	p.names = append(p.names, s)
	p.index[s] = i
	return i
}

func (p *pools) nameList(names []string) span {
	sp := span{uint32(len(p.lists)), uint32(len(names))}
	for _, n := range names {
		p.lists = append(p.lists, p.name(n))
	}
	return sp
}

// Subject returns the account of the key in row i.
func (t *Table) Subject(i uint32) string { return t.names[t.rows[i].subject] }

// KeyID returns the ID of the key in row i.
func (t *Table) KeyID(i uint32) string {
	id := t.rows[i].id[:]
	n := 0
	for n < len(id) && id[n] != 0 {
		n++
	}
	return string(id[:n])
}

// Check checks a secret and every restriction of the key in row i (see
// Policy.Check).
func (t *Table) Check(i uint32, r *Request) Refusal {
	k := &t.rows[i]
	sum := sha256.Sum256(unsafeBytes(r.Secret))
	if subtle.ConstantTimeCompare(sum[:], k.hash[:]) != 1 {
		return WrongSecret
	}
	if k.flags&rowDisabled != 0 {
		return Disabled
	}
	if k.flags&rowHasExpiry != 0 && r.Now.UnixNano() >= k.expires {
		return Expired
	}
	now := r.Now.Unix()
	if k.nets.n > 0 && !t.allowsAddress(k.nets, r.Client) {
		return OutsideAddresses
	}
	if k.hours != allHours && k.hours&(1<<(((now%86400)+86400)%86400/3600)) == 0 {
		return OutsideHours
	}
	if k.products.n > 0 && !t.hasName(k.products, r.Product) {
		return WrongProduct
	}
	if k.scopes.n > 0 && !t.hasName(k.scopes, r.Scope) {
		return WrongScope
	}
	return Accepted
}

func (t *Table) hasName(s span, name string) bool {
	for _, i := range t.lists[s.off : s.off+s.n] {
		if t.names[i] == name {
			return true
		}
	}
	return false
}

func (t *Table) allowsAddress(s span, client string) bool {
	var a netip.Addr
	if ap, err := netip.ParseAddrPort(client); err == nil {
		a = ap.Addr()
	} else if a, err = netip.ParseAddr(client); err != nil {
		return false
	}
	a = a.Unmap().WithZone("")
	for i := range t.nets[s.off : s.off+s.n] {
		if t.nets[s.off+uint32(i)].contains(a) {
			return true
		}
	}
	return false
}
