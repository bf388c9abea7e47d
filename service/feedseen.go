package service

import (
	"slices"
	"sort"
	"time"
)

// feedSeen is the set of resource feed entries already applied, kept in
// the order of their stamps as well, so that how many fall in a window is
// two binary searches: a poll that counts as many entries in the window it
// re-reads as it has seen there skips reading them.
type feedSeen struct {
	ids  map[string]struct{}
	byAt []seenEntry // sorted by at
}

type seenEntry struct {
	at time.Time
	id string
}

func newFeedSeen() *feedSeen { return &feedSeen{ids: map[string]struct{}{}} }

func (f *feedSeen) has(id string) bool {
	_, ok := f.ids[id]
	return ok
}

// add notes an entry; one already noted is left as it is.
func (f *feedSeen) add(id string, at time.Time) {
	if f.has(id) {
		return
	}
	f.ids[id] = struct{}{}
	e := seenEntry{at: at, id: id}
	if n := len(f.byAt); n == 0 || !at.Before(f.byAt[n-1].at) {
		f.byAt = append(f.byAt, e) // the usual case: entries arrive in order
		return
	}
	f.byAt = slices.Insert(f.byAt, f.search(at.Add(1)), e)
}

// count returns the number of entries stamped at or after from and before to.
func (f *feedSeen) count(from, to time.Time) int {
	return max(0, f.search(to)-f.search(from))
}

// search is the index of the first entry stamped at or after at.
func (f *feedSeen) search(at time.Time) int {
	return sort.Search(len(f.byAt), func(i int) bool { return !f.byAt[i].at.Before(at) })
}

// forgetBefore drops the entries stamped before at.
func (f *feedSeen) forgetBefore(at time.Time) {
	n := f.search(at)
	for _, e := range f.byAt[:n] {
		delete(f.ids, e.id)
	}
	clear(f.byAt[:n]) // their IDs are garbage; the array goes at the next growth
	f.byAt = f.byAt[n:]
}

func (f *feedSeen) clear() {
	clear(f.ids)
	f.byAt = f.byAt[:0]
}

func (f *feedSeen) len() int { return len(f.ids) }
