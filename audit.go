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
	// Seq is the place in the chain of its database (from 1) of the
	// record that holds the event (a batch holds several); 0 until the
	// record is sealed. The chain fields are not part of the stored body:
	// they are filled in when the event is read.
	Seq int64 `json:"sequence,omitempty"`
	// PrevHash is the hex hash of the record before it ("" for the first).
	PrevHash string `json:"previous_hash,omitempty"`
	// Hash is the hex chain hash of the record that holds the event.
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

// AuditBatch is the type of a record that holds several events (data
// events, written in bulk): its body is their JSON objects, one per line,
// and the chain seals them together.
const AuditBatch = "warden.audit.Batch"

// AuditRecord is an entry of the audit trail as stored: the indexed fields,
// the event's JSON without its chain fields (Body, what the hash covers; a
// batch's events one per line) and the chain links.
type AuditRecord struct {
	// Pos is the record's place in the table (its insertion order); 0
	// before it is stored.
	Pos int64
	// Seq is the record's place in the chain, 0 until it is sealed.
	Seq  int64
	ID   string
	Time time.Time
	// Last is the time of a batch's last event (Time for one event).
	Last      time.Time
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

// AuditHead is the end of the chain: the last record sealed, the last one
// pruned by retention (the chain now starts after it), and how many
// records are stored but not sealed yet.
type AuditHead struct {
	Seq        int64
	Hash       []byte
	PrunedSeq  int64
	PrunedHash []byte
	Unsealed   int64
}

// AuditSealer links records into the chain.
type AuditSealer interface {
	// Seal makes r the record after head: it sets r's Seq, PrevHash and
	// Hash from head and r.Body (the indexed fields are checked against
	// the body, not hashed).
	Seal(head AuditHead, r *AuditRecord)
}

// AuditFilter selects events for listing; empty fields match all.
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
	// Page is the lister's: ListAuditEvents takes its position and size
	// as arguments.
	Page Page
}

// AuditTx is the audit trail's part of a transaction. Appends are not
// changes: they do not move ChangeMark.
//
// A record is appended unsealed in the transaction of its change (so it
// exists if and only if the change committed) and sealed into the chain
// either at that commit, where the store serialises its writers anyway
// (SQLite's group commit), or afterwards by SealAuditEvents, so that
// writers do not queue on the chain's head (PostgreSQL).
type AuditTx interface {
	// AppendAuditEvents stores rs, in order, with the transaction: s seals
	// them if the store seals at commit, else they wait for
	// SealAuditEvents. After the commit, a record sealed at commit has its
	// Seq, PrevHash and Hash set.
	AppendAuditEvents(ctx context.Context, s AuditSealer, rs ...*AuditRecord) error
	// SealAuditEvents seals up to limit committed records that are not
	// sealed yet, in the order they were stored, under a lock of the
	// chain's head held until the transaction ends. It returns how many it
	// sealed.
	SealAuditEvents(ctx context.Context, limit int, s AuditSealer) (int, error)
	// ListAuditEvents returns up to limit records with Pos > after in order
	// of Pos: the events f selects (f.Page is not used) and every batch
	// that may hold some (one of f's class, overlapping its time range);
	// the caller filters inside batches.
	ListAuditEvents(ctx context.Context, f AuditFilter, after int64, limit int) ([]*AuditRecord, error)
	// AuditEventsFrom returns up to limit sealed records with Seq ≥ from in
	// order of Seq (for walking the chain).
	AuditEventsFrom(ctx context.Context, from int64, limit int) ([]*AuditRecord, error)
	// AuditHead returns the end of the chain without locking it.
	AuditHead(ctx context.Context) (AuditHead, error)
	// PruneAuditEvents deletes the sealed records stamped before before,
	// keeping at least the head, and records the last one deleted in the
	// head. It returns how many it deleted.
	PruneAuditEvents(ctx context.Context, before time.Time) (int64, error)
}
