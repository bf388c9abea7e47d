package service

import (
	"encoding/base64"
	"slices"
	"strings"
	"sync"

	"warden"
)

// listed holds, per parent, the resources of a few types in ID order, so
// that a list of them is answered from memory rather than the store: a list
// of a folder's service accounts is asked as often as any read, and a read
// transaction cost five times the rest of the request.
//
// authz keeps it with the access snapshot, under the same lock and at the
// same points — a full load, a state read for a change the feed named, a
// create or delete through this process — so it is exactly as fresh: a
// node's own writes at once, other nodes' within the feed's interval. Its
// pages are the store's (warden.ResourceFilter): filtered before paging,
// in ID order (byte order, which both backends use for these IDs of
// lower-case letters and digits), the token naming the last ID of a page.
type listed struct {
	types map[warden.ResourceType]bool
	mu    sync.RWMutex
	// by holds each list sorted by ID. A resource in it is never changed:
	// a new state replaces the pointer.
	by    map[listKey][]*warden.Resource
	where map[string]listKey // resource ID → its list
}

type listKey struct {
	parent string
	typ    warden.ResourceType
}

func newListed(types ...warden.ResourceType) *listed {
	l := &listed{types: map[warden.ResourceType]bool{}, by: map[listKey][]*warden.Resource{}, where: map[string]listKey{}}
	for _, t := range types {
		l.types[t] = true
	}
	return l
}

// holds reports whether lists of typ are answered from memory.
func (l *listed) holds(typ warden.ResourceType) bool { return l.types[typ] }

// reset replaces everything with rs (every resource of the store), which
// must not be changed afterwards.
func (l *listed) reset(rs []*warden.Resource) {
	by, where := map[listKey][]*warden.Resource{}, map[string]listKey{}
	for _, r := range rs {
		if l.types[r.Type] {
			compact(r)
			k := listKey{r.ParentID, r.Type}
			by[k] = append(by[k], r)
			where[r.ID] = k
		}
	}
	for _, list := range by {
		slices.SortFunc(list, byID)
	}
	l.mu.Lock()
	l.by, l.where = by, where
	l.mu.Unlock()
}

// put adds r, or replaces the state held of it. r must not be changed
// afterwards.
func (l *listed) put(r *warden.Resource) {
	if !l.types[r.Type] {
		return
	}
	compact(r)
	l.mu.Lock()
	defer l.mu.Unlock()
	l.removeLocked(r.ID)
	k := listKey{r.ParentID, r.Type}
	list := l.by[k]
	i, _ := slices.BinarySearchFunc(list, r.ID, idCompare)
	l.by[k] = slices.Insert(list, i, r)
	l.where[r.ID] = k
}

// remove forgets a resource (nothing when it is not held).
func (l *listed) remove(id string) {
	l.mu.Lock()
	defer l.mu.Unlock()
	l.removeLocked(id)
}

func (l *listed) removeLocked(id string) {
	k, ok := l.where[id]
	if !ok {
		return
	}
	delete(l.where, id)
	list := l.by[k]
	if i, found := slices.BinarySearchFunc(list, id, idCompare); found {
		list = slices.Delete(list, i, i+1)
	}
	if len(list) == 0 {
		delete(l.by, k)
		return
	}
	l.by[k] = list
}

// page answers f (whose ParentID and Type name a list this holds) as the
// store's ListResources does.
func (l *listed) page(f warden.ResourceFilter) ([]*warden.Resource, string, error) {
	after, err := base64.RawURLEncoding.DecodeString(f.Page.Token)
	if err != nil {
		return nil, "", warden.Errorf(warden.InvalidArgument, "page_token: malformed page token")
	}
	size := f.Page.Size
	if size <= 0 {
		size = 100
	}
	l.mu.RLock()
	defer l.mu.RUnlock()
	list := l.by[listKey{f.ParentID, f.Type}]
	i, found := slices.BinarySearchFunc(list, string(after), idCompare)
	if found {
		i++
	}
	var out []*warden.Resource
	for _, r := range list[i:] {
		if f.Name != "" && r.Name != f.Name || f.Keep != nil && !f.Keep(r) {
			continue
		}
		if len(out) == size {
			// One more than a page: the next one starts after the last
			// resource of this one.
			return out, base64.RawURLEncoding.EncodeToString([]byte(out[size-1].ID)), nil
		}
		if out == nil {
			out = make([]*warden.Resource, 0, min(size, len(list)-i))
		}
		out = append(out, r)
	}
	return out, "", nil
}

// compact drops the empty maps the store makes for every resource (most
// accounts have no labels): nil reads as empty to every reader, and an
// account held costs a hundred bytes less.
func compact(r *warden.Resource) {
	if len(r.Labels) == 0 {
		r.Labels = nil
	}
	if len(r.Attrs) == 0 {
		r.Attrs = nil
	}
}

func byID(a, b *warden.Resource) int { return strings.Compare(a.ID, b.ID) }

func idCompare(r *warden.Resource, id string) int { return strings.Compare(r.ID, id) }
