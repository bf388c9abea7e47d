// Package audit keeps Warden's audit trail: it seals events into a hash
// chain per database (each event's hash covers its body and the hash of the
// event before it, under a key derived from the master key, so that someone
// who can write the database but does not hold the master key cannot rewrite
// history unnoticed), walks the chain to verify it, carries what the
// transport knows about a call to the service that records it, writes
// authentication and data events asynchronously through a bounded buffer,
// and exports events as JSON lines.
package audit

import (
	"context"
	"crypto/hmac"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"strings"
	"sync/atomic"
	"time"

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

// Chain seals events into the hash chain.
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

func (c *Chain) mac(prev, body []byte) []byte {
	m := hmac.New(sha256.New, c.key)
	m.Write([]byte("warden audit v1\n"))
	m.Write(prev)
	m.Write([]byte{'\n'})
	m.Write(body)
	return m.Sum(nil)
}

// Append makes e the next event of the chain in tx: it locks the head,
// fills e's sequence number and hashes, and stores it. The lock is held
// until tx ends, so append last in a transaction.
func (c *Chain) Append(ctx context.Context, tx warden.AuditTx, e *warden.AuditEvent) error {
	head, err := tx.LockAuditHead(ctx)
	if err != nil {
		return err
	}
	r, err := c.seal(head, e)
	if err != nil {
		return err
	}
	return tx.AppendAuditEvent(ctx, r)
}

// AppendAll appends events in order under one lock of the head.
func (c *Chain) AppendAll(ctx context.Context, tx warden.AuditTx, events []*warden.AuditEvent) error {
	head, err := tx.LockAuditHead(ctx)
	if err != nil {
		return err
	}
	rs := make([]*warden.AuditRecord, len(events))
	for i, e := range events {
		if rs[i], err = c.seal(head, e); err != nil {
			return err
		}
		head.Seq, head.Hash = rs[i].Seq, rs[i].Hash
	}
	return tx.AppendAuditEvents(ctx, rs)
}

func (c *Chain) seal(head warden.AuditHead, e *warden.AuditEvent) (*warden.AuditRecord, error) {
	e.Source = Source
	e.Seq, e.PrevHash, e.Hash = head.Seq+1, hex.EncodeToString(head.Hash), ""
	e.Time = e.Time.UTC().Truncate(time.Microsecond) // as the store keeps it
	body, err := json.Marshal(e)
	if err != nil {
		return nil, &warden.Error{Code: warden.Internal, Message: "internal error", Cause: fmt.Errorf("audit: marshal event: %w", err)}
	}
	sum := c.mac(head.Hash, body)
	e.Hash = hex.EncodeToString(sum)
	return &warden.AuditRecord{
		Seq: e.Seq, ID: e.ID, Time: e.Time, Type: e.Type, Class: e.Class, SubjectID: e.Authentication.SubjectID,
		Path: PathIDs(e.Resource.Path), Status: e.Status, Body: body, PrevHash: head.Hash, Hash: sum,
	}, nil
}

// PathIDs is the stored form of a resource path: its IDs, space-separated.
func PathIDs(path []warden.AuditPathElement) string {
	ids := make([]string, len(path))
	for i, p := range path {
		ids[i] = p.ID
	}
	return strings.Join(ids, " ")
}

// Decode returns the event a record stores, with its hash.
func Decode(r *warden.AuditRecord) (*warden.AuditEvent, error) {
	e := &warden.AuditEvent{}
	if err := json.Unmarshal(r.Body, e); err != nil {
		return nil, fmt.Errorf("audit: event %d: %w", r.Seq, err)
	}
	e.Hash = hex.EncodeToString(r.Hash)
	return e, nil
}

// Break is the first place where the chain does not hold.
type Break struct {
	Seq     int64  // the event's sequence number
	EventID string // its ID, "" when the event is missing
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
	Checked     int64
	Break       *Break // nil when the chain holds
}

// Verify walks the chain of store from the first event kept to the head
// as it was when the walk began and returns the first break. An error is a
// failure to read, not a break.
func (c *Chain) Verify(ctx context.Context, store warden.Store) (*Report, error) {
	var head warden.AuditHead
	if err := store.View(ctx, func(tx warden.Tx) (err error) {
		head, err = tx.AuditHead(ctx)
		return err
	}); err != nil {
		return nil, err
	}
	rep := &Report{First: head.PrunedSeq + 1, Last: head.Seq}
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
			if b := c.check(r, next, prev); b != nil {
				rep.Break = b
				return rep, nil
			}
			prev, next = r.Hash, next+1
			rep.Checked++
		}
	}
	if next-1 == head.Seq && !hmac.Equal(prev, head.Hash) {
		rep.Break = &Break{Seq: head.Seq, Reason: "the head's hash does not match the last event"}
	}
	return rep, nil
}

// check verifies one record against the place it should hold.
func (c *Chain) check(r *warden.AuditRecord, seq int64, prev []byte) *Break {
	if r.Seq != seq {
		return &Break{Seq: seq, Reason: fmt.Sprintf("missing: the next stored event is %d (%s) (deleted?)", r.Seq, r.ID)}
	}
	if !hmac.Equal(r.PrevHash, prev) {
		return &Break{Seq: r.Seq, EventID: r.ID, Reason: "its previous hash is not the hash of the event before it"}
	}
	if !hmac.Equal(c.mac(prev, r.Body), r.Hash) {
		return &Break{Seq: r.Seq, EventID: r.ID, Reason: "its content does not match its hash (altered)"}
	}
	e, err := Decode(r)
	if err != nil {
		return &Break{Seq: r.Seq, EventID: r.ID, Reason: "its content is not an event"}
	}
	same := e.Seq == r.Seq && e.ID == r.ID && e.Time.Equal(r.Time) && e.Type == r.Type && e.Class == r.Class &&
		e.Authentication.SubjectID == r.SubjectID && PathIDs(e.Resource.Path) == r.Path && e.Status == r.Status &&
		e.PrevHash == hex.EncodeToString(prev)
	if !same {
		return &Break{Seq: r.Seq, EventID: r.ID, Reason: "its indexed fields differ from its hashed content (altered)"}
	}
	return nil
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
