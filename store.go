package warden

import (
	"context"
	"time"
)

// Store is the storage contract every backend implements. Each mutation of a
// request runs inside one Update call: it commits whole or not at all.
type Store interface {
	// Update runs fn in a read-write transaction and commits when fn returns
	// nil. An error from fn rolls everything back and is returned as is.
	Update(ctx context.Context, fn func(Tx) error) error
	// View runs fn in a read-only transaction.
	View(ctx context.Context, fn func(Tx) error) error
	// ScanCredentials reads every credential of a kind for an in-memory
	// index, in parts (at most parts) read concurrently, each by one
	// query: fn is called on one goroutine per part, with the part's
	// number, never concurrently for one part. Every credential committed
	// before the call is passed once (one changed or deleted during the
	// call as it was before or after; the change feed says which changed),
	// one created during it at most once. c holds ID, Kind, SubjectID,
	// Hash, Data and ExpiresAt only, and it and its slices are reused
	// once fn returns. The whole table is read: it is for the kind that
	// makes up most of it (API keys). The first error of fn stops the scan
	// and is returned as is.
	ScanCredentials(ctx context.Context, kind CredentialKind, parts int, fn func(part int, c *Credential) error) error
	// Ping reports whether the database is reachable.
	Ping(ctx context.Context) error
	// Close releases the database.
	Close() error
}

// Tx is one transaction. Lookups of a missing record return NotFound, never a
// nil record with a nil error.
type Tx interface {
	// CreateResource inserts r; AlreadyExists when a sibling of the same type
	// has the same name, NotFound when the parent does not exist. It holds
	// the parent as GetResourceShared does. Its entry in the resource
	// change feed has r's ID as its own, so that the node that created r
	// knows the entry of its own create when it reads the feed.
	CreateResource(ctx context.Context, r *Resource) error
	// GetResource returns a resource by ID or NotFound.
	GetResource(ctx context.Context, id string) (*Resource, error)
	// GetResourceShared is GetResource that, inside Update, holds the
	// resource until the transaction ends against change and deletion but
	// not against other shared holders: creates of its children hold it so,
	// and do not wait for each other.
	GetResourceShared(ctx context.Context, id string) (*Resource, error)
	// UpdateResource overwrites the mutable fields of r (name, description,
	// labels, status, attrs); NotFound or AlreadyExists.
	UpdateResource(ctx context.Context, r *Resource) error
	// DeleteResource removes a resource with its bindings, credentials and
	// group memberships (its own as a group, and the ones naming it as a
	// member); NotFound, or FailedPrecondition while it still has children.
	DeleteResource(ctx context.Context, id string) error
	// ListResources returns one page of matching resources ordered by ID and
	// the token of the next page ("" after the last); InvalidArgument for a
	// bad page token.
	ListResources(ctx context.Context, f ResourceFilter) ([]*Resource, string, error)

	// CreateOperation stores a new operation.
	CreateOperation(ctx context.Context, op *Operation) error
	// UpdateOperation overwrites an operation's state; NotFound.
	UpdateOperation(ctx context.Context, op *Operation) error
	// GetOperation returns an operation or NotFound.
	GetOperation(ctx context.Context, id string) (*Operation, error)
	// ListOperations returns one page of a resource's operations, newest first.
	ListOperations(ctx context.Context, resourceID string, p Page) ([]*Operation, string, error)

	// AccessBindings returns the bindings set directly on a resource.
	AccessBindings(ctx context.Context, resourceID string) ([]AccessBinding, error)
	// SetAccessBindings replaces the bindings set directly on a resource.
	SetAccessBindings(ctx context.Context, resourceID string, bs []AccessBinding) error

	// GroupMembers returns one page of a group's direct members ordered by
	// subject ID, and the token of the next page; InvalidArgument for a bad
	// page token. A group without members (or none at all) has none.
	GroupMembers(ctx context.Context, groupID string, p Page) ([]GroupMember, string, error)
	// UpdateGroupMembers adds and removes direct members of a group (adding
	// a member twice or removing one that is not there is no error) and
	// appends a MembersChanged entry to the resource change feed.
	UpdateGroupMembers(ctx context.Context, groupID string, add []GroupMember, remove []string) error
	// GroupsOf returns the IDs of the groups a subject is a direct member
	// of, sorted.
	GroupsOf(ctx context.Context, subjectID string) ([]string, error)
	// AllGroupMembers returns every membership by group ID (for the
	// in-memory access snapshot).
	AllGroupMembers(ctx context.Context) (map[string][]GroupMember, error)

	// CreateCredential stores c; AlreadyExists when its hash is taken.
	CreateCredential(ctx context.Context, c *Credential) error
	// GetCredential returns a credential by ID or NotFound.
	GetCredential(ctx context.Context, id string) (*Credential, error)
	// CredentialByHash returns the credential of a kind with the given hash,
	// or NotFound.
	CredentialByHash(ctx context.Context, kind CredentialKind, hash []byte) (*Credential, error)
	// ListCredentials returns one page of a subject's credentials of a kind.
	ListCredentials(ctx context.Context, subjectID string, kind CredentialKind, p Page) ([]*Credential, string, error)
	// UpdateCredential overwrites a credential's mutable fields (hash, data,
	// description, expiry, last use); NotFound.
	UpdateCredential(ctx context.Context, c *Credential) error
	// DeleteCredential removes a credential; NotFound.
	DeleteCredential(ctx context.Context, id string) error
	// TouchCredential moves a credential's last use forward to at (never
	// back); a missing credential is not an error. A use is not a change:
	// it is not in the change feed.
	TouchCredential(ctx context.Context, id string, at time.Time) error
	// EachCredential calls fn with every credential of a kind, stopping at
	// its first error.
	EachCredential(ctx context.Context, kind CredentialKind, fn func(*Credential) error) error
	// CountCredentials returns the number of stored credentials of a
	// kind: what an in-memory index sizes itself by before a full load.
	CountCredentials(ctx context.Context, kind CredentialKind) (int, error)
	// CredentialChanges returns the credential change feed from since (a
	// reading of Clock) on, oldest first: Create, Update and
	// DeleteCredential each append one entry in their transaction. Entries
	// are stamped with the database's clock when written, not when
	// committed, so readers re-read a window.
	CredentialChanges(ctx context.Context, since time.Time) ([]CredentialChange, error)
	// Clock returns the database's clock: the one that stamps the change
	// feeds (CredentialChanges, ResourceChanges, RevokedTokens), so that readers on nodes
	// whose clocks disagree still read from the right place.
	Clock(ctx context.Context) (time.Time, error)

	// RevokeToken records a revoked token; revoking twice is not an error.
	// RevokedAt is set by the database's clock; the caller's is ignored.
	RevokeToken(ctx context.Context, t RevokedToken) error
	// RevokedTokens returns the revocations recorded at or after since (a
	// reading of Clock) that have not expired by now.
	RevokedTokens(ctx context.Context, since, now time.Time) ([]RevokedToken, error)

	// CreateSigningKey stores a new server signing key.
	CreateSigningKey(ctx context.Context, k *SigningKey) error
	// SigningKeys returns every stored signing key, newest first.
	SigningKeys(ctx context.Context) ([]*SigningKey, error)

	// AllResources returns every resource (for the in-memory access snapshot).
	AllResources(ctx context.Context) ([]*Resource, error)
	// AllAccessBindings returns every access binding by resource ID.
	AllAccessBindings(ctx context.Context) (map[string][]AccessBinding, error)
	// ResourceChanges returns the resource change feed from since (a
	// reading of Clock) on, oldest first: CreateResource, UpdateResource
	// and DeleteResource each append a ResourceChanged entry, and
	// SetAccessBindings a BindingsChanged one, in their transaction;
	// DeleteResource also appends BindingsChanged for every resource where
	// the deleted resource was a binding's subject, and MembersChanged for
	// every group it was a member of; UpdateGroupMembers appends
	// MembersChanged. Stamped like CredentialChanges.
	ResourceChanges(ctx context.Context, since time.Time) ([]ResourceChange, error)
	// CountResourceChanges returns the number of resource feed entries
	// stamped at or after from and before to: a reader that knows how many
	// it has seen there learns, without reading them, whether it missed one.
	CountResourceChanges(ctx context.Context, from, to time.Time) (int, error)
	// PruneChanges forgets the entries of the change feeds (resource and
	// credential) older than before.
	PruneChanges(ctx context.Context, before time.Time) error

	// InsertMeta records a key once; AlreadyExists when it is already set.
	InsertMeta(ctx context.Context, key, value string) error
	// Meta returns a recorded value or NotFound.
	Meta(ctx context.Context, key string) (string, error)

	AuditTx
}
