// Package audit keeps Warden's audit trail: it seals records of events into
// a hash chain per database (each record's hash covers its body, its place
// and the hash of the record before it, under a key derived from the master
// key, so that someone who can write the database but does not hold the
// master key cannot rewrite history unnoticed), walks the chain to verify
// it, carries what the
// transport knows about a call to the service that records it, writes
// authentication and data events asynchronously through a bounded buffer,
// and exports events as JSON lines.
package audit

import (
	"bytes"
	"context"
	"crypto/hmac"
	"crypto/sha256"
	"encoding/binary"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"strings"
	"sync/atomic"
	"time"

	"github.com/klauspost/compress/s2"

	"warden"
)

// Source is the event_source of every event Warden writes.
const Source = "warden"

// Call is what the transport knows about one request, carried in its
// context so that the service records it in the request's audit event.
type Call struct {
	Method        string // full method name the request runs under
	RequestID     string
	RemoteAddress string
	UserAgent     string
	// Resource, when a handler sets it, is the resource the call is about
	// (for a refused call whose request message does not name it).
	Resource atomic.Value // string
	recorded atomic.Bool
	issued   atomic.Pointer[Issued]
}

type callKey struct{}

// WithCall returns ctx carrying c.
func WithCall(ctx context.Context, c *Call) context.Context {
	return context.WithValue(ctx, callKey{}, c)
}

// CallFrom returns the call of ctx, or nil outside a request.
func CallFrom(ctx context.Context) *Call {
	c, _ := ctx.Value(callKey{}).(*Call)
	return c
}

// MarkRecorded notes that the call's event was written with its change.
func (c *Call) MarkRecorded() {
	if c != nil {
		c.recorded.Store(true)
	}
}

// Recorded reports whether the call's event was written.
func (c *Call) Recorded() bool { return c != nil && c.recorded.Load() }

// SetResource names the resource the call is about.
func (c *Call) SetResource(id string) {
	if c != nil {
		c.Resource.Store(id)
	}
}

// ResourceID returns what SetResource stored ("" when nothing).
func (c *Call) ResourceID() string {
	if c == nil {
		return ""
	}
	id, _ := c.Resource.Load().(string)
	return id
}

// Chain seals records into the hash chain and verifies it.
type Chain struct {
	key []byte
}

// NewChain returns a Chain keyed by key (32 bytes derived from the master
// key: every wardend on one database must use the same).
func NewChain(key []byte) (*Chain, error) {
	if len(key) < 32 {
		return nil, errors.New("audit: chain key must be at least 32 bytes")
	}
	return &Chain{key: key}, nil
}

// mac is a record's chain hash: it covers the hash of the record before
// it, the record's place and its body (version 2: the body carries no
// chain field, so that a record is written before its place is known).
func (c *Chain) mac(prev []byte, seq int64, body []byte) []byte {
	m := hmac.New(sha256.New, c.key)
	m.Write([]byte("warden audit v2\n"))
	m.Write(prev)
	var n [9]byte
	n[0] = '\n'
	binary.BigEndian.PutUint64(n[1:], uint64(seq))
	m.Write(n[:])
	m.Write(body)
	return m.Sum(nil)
}

// macV1 is the chain hash of a record written before version 2, whose body
// holds its sequence number and previous hash.
func (c *Chain) macV1(prev, body []byte) []byte {
	m := hmac.New(sha256.New, c.key)
	m.Write([]byte("warden audit v1\n"))
	m.Write(prev)
	m.Write([]byte{'\n'})
	m.Write(body)
	return m.Sum(nil)
}

// Seal implements warden.AuditSealer.
func (c *Chain) Seal(head warden.AuditHead, r *warden.AuditRecord) {
	r.Seq, r.PrevHash = head.Seq+1, head.Hash
	r.Hash = c.mac(head.Hash, r.Seq, r.Body)
}

// Append stores events in tx, one record each: they commit with it and are
// sealed into the chain at the commit or soon after (see warden.AuditTx).
// Once tx committed, Sealed fills in the chain fields of an event whose
// record was sealed at the commit.
func (c *Chain) Append(ctx context.Context, tx warden.AuditTx, events ...*warden.AuditEvent) ([]*warden.AuditRecord, error) {
	rs := make([]*warden.AuditRecord, len(events))
	for i, e := range events {
		var err error
		if rs[i], err = NewRecord(e); err != nil {
			return nil, err
		}
	}
	return rs, tx.AppendAuditEvents(ctx, c, rs...)
}

// NewRecord returns the record that stores e, not sealed yet.
func NewRecord(e *warden.AuditEvent) (*warden.AuditRecord, error) {
	prepare(e)
	// A change's event is 0.8–1.2 KB: one buffer rather than the eight a
	// nil slice grows through.
	body, err := AppendJSON(make([]byte, 0, 1536), e)
	if err != nil {
		return nil, &warden.Error{Code: warden.Internal, Message: "internal error", Cause: fmt.Errorf("audit: encode event: %w", err)}
	}
	return &warden.AuditRecord{ID: e.ID, Time: e.Time, Last: e.Time, Type: e.Type, Class: e.Class, SubjectID: e.Authentication.SubjectID,
		Path: PathIDs(e.Resource.Path), Status: e.Status, Body: body}, nil
}

// prepare sets what every stored event has and drops its chain fields.
func prepare(e *warden.AuditEvent) {
	e.Source = Source
	e.Seq, e.PrevHash, e.Hash = 0, "", ""
	e.Time = e.Time.UTC().Truncate(time.Microsecond) // as the store keeps it
}

// Sealed sets the chain fields of e from r, the record that holds it, if
// r is sealed.
func Sealed(e *warden.AuditEvent, r *warden.AuditRecord) {
	if r.Seq != 0 {
		e.Seq, e.PrevHash, e.Hash = r.Seq, hex.EncodeToString(r.PrevHash), hex.EncodeToString(r.Hash)
	}
}

// SealPending seals every record of store that is not sealed yet, in
// batches of up to 1,000 records, and returns how many it sealed.
func (c *Chain) SealPending(ctx context.Context, store warden.Store) (int, error) {
	total := 0
	for {
		var n int
		err := store.Update(ctx, func(tx warden.Tx) (err error) {
			n, err = tx.SealAuditEvents(ctx, 1000, c)
			return err
		})
		total += n
		if err != nil || n < 1000 {
			return total, err
		}
	}
}

// PathIDs is the stored form of a resource path: its IDs, space-separated.
func PathIDs(path []warden.AuditPathElement) string {
	ids := make([]string, len(path))
	for i, p := range path {
		ids[i] = p.ID
	}
	return strings.Join(ids, " ")
}

// Decode returns the events a record stores (one, or a batch's), with the
// record's chain fields.
func Decode(r *warden.AuditRecord) ([]*warden.AuditEvent, error) {
	events, err := decodeBody(r)
	if err != nil {
		return nil, fmt.Errorf("audit: record %d (%s): %w", r.Pos, r.ID, err)
	}
	for _, e := range events {
		e.Seq, e.PrevHash, e.Hash = 0, "", "" // a version 1 body holds them
		Sealed(e, r)
	}
	return events, nil
}

// decodeBody returns the events of a record's body.
func decodeBody(r *warden.AuditRecord) ([]*warden.AuditEvent, error) {
	body := r.Body
	if r.Type == warden.AuditBatch {
		var err error
		if body, err = batchLines(r.Body); err != nil {
			return nil, err
		}
		if len(body) > 0 && body[0] != '{' {
			return decodeDataBatch(body)
		}
	}
	var out []*warden.AuditEvent
	for line := range bytes.SplitSeq(body, []byte{'\n'}) {
		e := &warden.AuditEvent{}
		if err := json.Unmarshal(line, e); err != nil {
			return nil, err
		}
		out = append(out, e)
		if r.Type != warden.AuditBatch {
			break
		}
	}
	return out, nil
}

// A batch's body is its events compressed with S2 (Snappy's faster
// successor; see Writer.compress): data events in the format of
// decodeDataBatch, or, written before it, as JSON lines.

// maxBatchLines bounds what a stored batch may decompress to.
const maxBatchLines = 256 << 20

// batchLines decompresses a batch's body.
func batchLines(body []byte) ([]byte, error) {
	n, err := s2.DecodedLen(body)
	if err != nil {
		return nil, fmt.Errorf("a batch that does not decompress: %w", err)
	}
	if n > maxBatchLines {
		return nil, fmt.Errorf("a batch of %d bytes, more than a batch holds", n)
	}
	lines, err := s2.Decode(nil, body)
	if err != nil {
		return nil, fmt.Errorf("a batch that does not decompress: %w", err)
	}
	return lines, nil
}

// Match reports whether f selects e (f.Page aside): the selection the
// store makes of single events, made here inside batches.
func Match(f warden.AuditFilter, e *warden.AuditEvent) bool {
	if (!f.Since.IsZero() && e.Time.Before(f.Since)) || (!f.Until.IsZero() && !e.Time.Before(f.Until)) {
		return false
	}
	if (f.SubjectID != "" && e.Authentication.SubjectID != f.SubjectID) || (f.Type != "" && e.Type != f.Type) ||
		(f.Class != "" && e.Class != f.Class) || (f.Status != "" && e.Status != f.Status) {
		return false
	}
	onPath := func(id string) bool {
		for _, p := range e.Resource.Path {
			if p.ID == id {
				return true
			}
		}
		return false
	}
	if f.Scope != "" && len(e.Resource.Path) > 0 && !onPath(f.Scope) {
		return false
	}
	return f.ResourceID == "" || onPath(f.ResourceID)
}

// Break is the first place where the chain does not hold.
type Break struct {
	Seq     int64  // the record's sequence number
	EventID string // its ID (a batch's for a batch), "" when it is missing
	Reason  string
}

func (b *Break) Error() string {
	if b.EventID == "" {
		return fmt.Sprintf("audit: chain broken at event %d: %s", b.Seq, b.Reason)
	}
	return fmt.Sprintf("audit: chain broken at event %d (%s): %s", b.Seq, b.EventID, b.Reason)
}

// Report is the result of walking the chain.
type Report struct {
	First, Last int64 // sequence numbers walked (First > Last: none)
	// Checked is how many records were verified, Events how many events
	// they hold (a batch holds several).
	Checked, Events int64
	// Unsealed is how many records were stored but not sealed yet when
	// the walk began: they are not verified.
	Unsealed int64
	Break    *Break // nil when the chain holds
}

// Verify walks the chain of store from the first record kept to the head
// as it was when the walk began and returns the first break. An error is a
// failure to read, not a break. Records not sealed yet are counted, not
// verified: seal them first (SealPending) to verify everything committed.
func (c *Chain) Verify(ctx context.Context, store warden.Store) (*Report, error) {
	var head warden.AuditHead
	if err := store.View(ctx, func(tx warden.Tx) (err error) {
		head, err = tx.AuditHead(ctx)
		return err
	}); err != nil {
		return nil, err
	}
	rep := &Report{First: head.PrunedSeq + 1, Last: head.Seq, Unsealed: head.Unsealed}
	next, prev := head.PrunedSeq+1, head.PrunedHash
	for next <= head.Seq {
		var batch []*warden.AuditRecord
		if err := store.View(ctx, func(tx warden.Tx) (err error) {
			batch, err = tx.AuditEventsFrom(ctx, next, 500)
			return err
		}); err != nil {
			return nil, err
		}
		if len(batch) == 0 {
			rep.Break = &Break{Seq: next, Reason: fmt.Sprintf("missing: the chain ends at %d but its head is %d (deleted?)", next-1, head.Seq)}
			return rep, nil
		}
		for _, r := range batch {
			if r.Seq > head.Seq {
				break
			}
			n, b := c.check(r, next, prev)
			if b != nil {
				rep.Break = b
				return rep, nil
			}
			prev, next = r.Hash, next+1
			rep.Checked++
			rep.Events += n
		}
	}
	if next-1 == head.Seq && !hmac.Equal(prev, head.Hash) {
		rep.Break = &Break{Seq: head.Seq, Reason: "the head's hash does not match the last event"}
	}
	return rep, nil
}

// check verifies one record against the place it should hold and returns
// how many events it holds.
func (c *Chain) check(r *warden.AuditRecord, seq int64, prev []byte) (int64, *Break) {
	if r.Seq != seq {
		return 0, &Break{Seq: seq, Reason: fmt.Sprintf("missing: the next stored event is %d (%s) (deleted?)", r.Seq, r.ID)}
	}
	if !hmac.Equal(r.PrevHash, prev) {
		return 0, &Break{Seq: r.Seq, EventID: r.ID, Reason: "its previous hash is not the hash of the event before it"}
	}
	v1 := false
	if !hmac.Equal(c.mac(prev, r.Seq, r.Body), r.Hash) {
		if v1 = hmac.Equal(c.macV1(prev, r.Body), r.Hash); !v1 {
			return 0, &Break{Seq: r.Seq, EventID: r.ID, Reason: "its content does not match its hash (altered)"}
		}
	}
	events, err := decodeBody(r)
	if err != nil {
		return 0, &Break{Seq: r.Seq, EventID: r.ID, Reason: "its hashed content is not an event (altered)"}
	}
	if !consistent(r, events, prev, v1) {
		return 0, &Break{Seq: r.Seq, EventID: r.ID, Reason: "its indexed fields differ from its hashed content (altered)"}
	}
	return int64(len(events)), nil
}

// consistent reports whether a record's indexed fields are those of the
// content its hash covers.
func consistent(r *warden.AuditRecord, events []*warden.AuditEvent, prev []byte, v1 bool) bool {
	if r.Type != warden.AuditBatch {
		e := events[0]
		if v1 && (e.Seq != r.Seq || e.PrevHash != hex.EncodeToString(prev)) {
			return false
		}
		return e.ID == r.ID && e.Time.Equal(r.Time) && e.Time.Equal(r.Last) && e.Type == r.Type && e.Class == r.Class &&
			e.Authentication.SubjectID == r.SubjectID && PathIDs(e.Resource.Path) == r.Path && e.Status == r.Status
	}
	first, last := events[0].Time, events[0].Time
	for _, e := range events {
		if e.Class != r.Class || e.Type == warden.AuditBatch {
			return false
		}
		if e.Time.Before(first) {
			first = e.Time
		}
		if e.Time.After(last) {
			last = e.Time
		}
	}
	return first.Equal(r.Time) && last.Equal(r.Last) && r.SubjectID == "" && r.Path == "" && r.Status == warden.AuditDone
}

// Issued is a credential a call issued (a token), for its event: who it was
// issued to and through which stored credential.
type Issued struct {
	SubjectType string
	SubjectID   string
	// Credential is the type of credential presented to get it ("jwt",
	// "oauthToken", "password", …); CredentialID the stored one, "" when
	// none.
	Credential   string
	CredentialID string
	// TokenID is the issued token's ID (never the token).
	TokenID string
	// Held, when set, says the call did not issue the credential but
	// presented it as its proof (revoking a token by holding it).
	Held bool
}

// SetIssued records what the call issued.
func (c *Call) SetIssued(i Issued) {
	if c != nil {
		c.issued.Store(&i)
	}
}

// SetHolder records the credential a call presented in its body as the
// proof of who it is (a public method that authenticates nothing else).
func (c *Call) SetHolder(i Issued) {
	i.Held = true
	c.SetIssued(i)
}

// IssuedCredential returns what SetIssued recorded, nil when nothing.
func (c *Call) IssuedCredential() *Issued {
	if c == nil {
		return nil
	}
	return c.issued.Load()
}
