package warden

import (
	"context"
	"time"
)

// Audit event classes: what CloudTrail calls management and data events,
// plus authentication decisions and Warden's own housekeeping.
const (
	AuditManagement = "management"
	AuditAuthn      = "authentication"
	AuditData       = "data"
	AuditSystem     = "system"
)

// Audit event statuses, as Yandex Audit Trails names them.
const (
	AuditDone  = "DONE"
	AuditError = "ERROR"
)

// AuditEvent is one entry of the audit trail in the shape of Yandex Audit
// Trails events, plus the credential used and the hash chain. It carries no
// secret: credentials appear by type and ID only.
type AuditEvent struct {
	ID     string    `json:"event_id"`
	Source string    `json:"event_source"`
	Type   string    `json:"event_type"`
	Class  string    `json:"event_class"`
	Time   time.Time `json:"event_time"`
	// Authentication says who called and through which credential.
	Authentication AuditAuthentication `json:"authentication"`
	Authorization  AuditAuthorization  `json:"authorization"`
	Resource       AuditResource       `json:"resource_metadata"`
	Request        AuditRequest        `json:"request_metadata"`
	Status         string              `json:"event_status"`
	// Error is the answer of a failed or refused call.
	Error *AuditErrorInfo `json:"error,omitempty"`
	// Details are the changed fields and parameters of the call: never a
	// secret (credential IDs instead).
	Details map[string]any `json:"details,omitempty"`
	// Seq is the event's place in the chain of its database (from 1).
	Seq int64 `json:"sequence"`
	// PrevHash is the hex hash of the event before it ("" for the first).
	PrevHash string `json:"previous_hash"`
	// Hash is the hex chain hash of this event; it is not part of the
	// hashed body.
	Hash string `json:"hash,omitempty"`
}

// AuditAuthentication is the authentication part of an event.
type AuditAuthentication struct {
	Authenticated  bool   `json:"authenticated"`
	SubjectType    string `json:"subject_type,omitempty"`
	SubjectID      string `json:"subject_id,omitempty"`
	SubjectName    string `json:"subject_name,omitempty"`
	CredentialType string `json:"credential_type,omitempty"`
	CredentialID   string `json:"credential_id,omitempty"`
}

// AuditAuthorization is the authorization part of an event.
type AuditAuthorization struct {
	Authorized bool `json:"authorized"`
	// Permission is the permission checked, for data events.
	Permission string `json:"permission,omitempty"`
}

// AuditResource locates the resource an event is about.
type AuditResource struct {
	// Path runs from the organization down to the resource.
	Path []AuditPathElement `json:"path"`
}

// AuditPathElement is one node of a resource path.
type AuditPathElement struct {
	Type string `json:"resource_type"`
	ID   string `json:"resource_id"`
	Name string `json:"resource_name,omitempty"`
}

// AuditRequest is where a call came from.
type AuditRequest struct {
	RemoteAddress string `json:"remote_address,omitempty"`
	UserAgent     string `json:"user_agent,omitempty"`
	RequestID     string `json:"request_id,omitempty"`
}

// AuditErrorInfo is the error a call was answered with.
type AuditErrorInfo struct {
	Code    string `json:"code"`
	Message string `json:"message"`
}

// AuditRecord is an audit event as stored: the indexed fields, the event's
// JSON without its hash (Body, what the hash covers) and the chain links.
type AuditRecord struct {
	Seq       int64
	ID        string
	Time      time.Time
	Type      string
	Class     string
	SubjectID string
	// Path is the IDs of the resource path, space-separated.
	Path     string
	Status   string
	Body     []byte
	PrevHash []byte
	Hash     []byte
}

// AuditHead is the end of the chain: the last event appended, and the last
// one pruned by retention (the chain now starts after it).
type AuditHead struct {
	Seq        int64
	Hash       []byte
	PrunedSeq  int64
	PrunedHash []byte
}

// AuditFilter selects events for ListAuditEvents; empty fields match all.
type AuditFilter struct {
	Since, Until time.Time // Since inclusive, Until exclusive
	SubjectID    string
	// ResourceID matches events with the resource anywhere on their path.
	ResourceID string
	// Scope, when set, keeps the events with it on their path and those
	// about no resource (an auditor of one organization's view).
	Scope  string
	Type   string
	Class  string
	Status string
	Page   Page
}

// AuditTx is the audit trail's part of a transaction. Appends are not
// changes: they do not move ChangeMark.
type AuditTx interface {
	// LockAuditHead returns the end of the chain and holds it until the
	// transaction ends, so that appends from several processes on one
	// database form one chain.
	LockAuditHead(ctx context.Context) (AuditHead, error)
	// AppendAuditEvent stores r, whose Seq follows the locked head's, and
	// makes it the head; FailedPrecondition when the head was not locked
	// or Seq does not follow it.
	AppendAuditEvent(ctx context.Context, r *AuditRecord) error
	// AppendAuditEvents is AppendAuditEvent for records that follow one
	// another, written in a few statements.
	AppendAuditEvents(ctx context.Context, rs []*AuditRecord) error
	// ListAuditEvents returns one page of matching events, oldest first,
	// and the token of the next page; InvalidArgument for a bad token.
	ListAuditEvents(ctx context.Context, f AuditFilter) ([]*AuditRecord, string, error)
	// AuditEventsFrom returns up to limit events with Seq ≥ from in order
	// of Seq (for walking the chain).
	AuditEventsFrom(ctx context.Context, from int64, limit int) ([]*AuditRecord, error)
	// AuditHead returns the end of the chain without locking it.
	AuditHead(ctx context.Context) (AuditHead, error)
	// PruneAuditEvents deletes the events stamped before before, keeping
	// at least the head, and records the last one deleted in the head. It
	// returns how many it deleted.
	PruneAuditEvents(ctx context.Context, before time.Time) (int64, error)
}
