package warden

import "time"

// ResourceType names a node type of the resource hierarchy.
type ResourceType string

// Resource types. The hierarchy is organization → cloud → folder → service
// account; user accounts and userpools hang off their organization (a user
// names its pool in an attribute, so the hierarchy, and what a binding on
// the organization reaches, stays as it was before pools existed).
const (
	TypeOrganization   ResourceType = "organization"
	TypeCloud          ResourceType = "cloud"
	TypeFolder         ResourceType = "folder"
	TypeServiceAccount ResourceType = "serviceAccount"
	TypeUserAccount    ResourceType = "userAccount"
	TypeUserpool       ResourceType = "userpool"
	// TypeGroup is a group of user and service accounts under its
	// organization: a subject of access bindings that its members hold.
	TypeGroup ResourceType = "group"
)

// Resource statuses.
const (
	StatusActive    = "ACTIVE"
	StatusSuspended = "SUSPENDED"
)

// Resource is one node of the resource hierarchy. Every node type shares
// these fields; type-specific values are kept in Attrs.
type Resource struct {
	ID          string
	Type        ResourceType
	ParentID    string // empty for organizations
	Name        string // unique among the siblings of the same type
	Description string
	Labels      map[string]string
	Status      string
	CreatedAt   time.Time
	Attrs       map[string]string
}

// ResourceFilter selects resources for ListResources.
type ResourceFilter struct {
	Type     ResourceType
	ParentID string // empty: any parent
	Name     string // empty: any name
	Page     Page
	// Keep, when set, drops resources before paging: a page holds up to
	// Page.Size resources it keeps and its token points after a kept one,
	// so a resource the caller may not see leaks neither as an item nor
	// through a page token. It runs while the store reads: no I/O.
	Keep func(*Resource) bool
}

// Page asks for one page of a list: at most Size items after the position
// that Token encodes (empty: the first page).
type Page struct {
	Size  int
	Token string
}

// Operation is a stored long-running operation. Metadata, Response and Error
// hold serialized protobuf messages (google.protobuf.Any and google.rpc.Status)
// so that the domain needs no protobuf types.
type Operation struct {
	ID          string
	ResourceID  string
	Description string
	CreatedBy   string
	CreatedAt   time.Time
	ModifiedAt  time.Time
	Done        bool
	Metadata    []byte
	Response    []byte
	Error       []byte
}

// AccessBinding grants a role to a subject on a resource.
type AccessBinding struct {
	RoleID      string
	SubjectType string
	SubjectID   string
}

// GroupMember is a direct member of a group: a user or service account
// (groups do not hold groups).
type GroupMember struct {
	SubjectID   string
	SubjectType ResourceType
}

// CredentialKind names a kind of stored credential.
type CredentialKind string

// Credential kinds.
const (
	CredPassword    CredentialKind = "password"
	CredOAuthToken  CredentialKind = "oauthToken"
	CredKey         CredentialKind = "key"
	CredAPIKey      CredentialKind = "apiKey"
	CredAccessKey   CredentialKind = "accessKey"
	CredStaticToken CredentialKind = "staticToken"
)

// Credential is a secret, or the verifiable half of one, that a subject holds.
// Hash is a SHA-256 digest of a high-entropy secret (or an argon2id encoding
// for passwords); Data carries kind-specific attributes, never a plaintext
// secret.
type Credential struct {
	ID          string
	Kind        CredentialKind
	SubjectID   string
	Hash        []byte
	Data        []byte
	Description string
	CreatedAt   time.Time
	ExpiresAt   time.Time // zero: never expires
	LastUsedAt  time.Time
}

// CredentialChange is an entry of the credential change feed: the
// credential with this ID was created, changed or deleted at At.
type CredentialChange struct {
	ID           string
	CredentialID string
	At           time.Time
}

// ResourceChangeKind says what of a resource a ResourceChange changed.
type ResourceChangeKind string

// Kinds of resource change.
const (
	// ResourceChanged: the resource itself was created, updated or deleted.
	ResourceChanged ResourceChangeKind = "resource"
	// BindingsChanged: the access bindings set on the resource changed.
	BindingsChanged ResourceChangeKind = "bindings"
	// MembersChanged: the members of the group with this ID changed.
	MembersChanged ResourceChangeKind = "members"
)

// ResourceChange is an entry of the resource change feed: what of the
// resource with this ID changed at At. It names the change, not the new
// state, which readers read from the store.
type ResourceChange struct {
	ID         string
	ResourceID string
	Kind       ResourceChangeKind
	At         time.Time
}

// RevokedToken records an IAM token that must no longer be accepted. It can be
// forgotten once ExpiresAt has passed.
type RevokedToken struct {
	TokenID   string
	SubjectID string
	RevokedAt time.Time
	ExpiresAt time.Time
}

// SigningKey is a server key that signs self-verifying tokens. Private is
// encrypted under the master key.
type SigningKey struct {
	ID        string
	Algorithm string
	Private   []byte
	Public    []byte
	CreatedAt time.Time
}
