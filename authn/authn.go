// Package authn is Warden's one authentication pipeline. Every edge — the
// gRPC interceptor (and through it the REST gateway, the Cloud.ru-style API
// and Warden's own /warden/v1 routes) and the access service — turns what it
// received into a transport-neutral Request and calls Pipeline.Authenticate.
//
// A Scheme is one way of presenting a credential (an IAM token in
// "Authorization: Bearer", an API key in "Authorization: Api-Key", …). Each
// scheme lives in a file of its own in this package and is registered in
// exactly one place, server.schemes: adding a credential type is one new file
// and one registration line there.
//
// Whatever went wrong, the caller gets one uniform answer
// (warden.ErrUnauthenticated, or the scheme's own PermissionDenied for a
// scope the credential lacks); the reason is kept apart, for the request's
// log line and for warden_credential_refusals_total{credential,reason}.
package authn

import (
	"context"
	"errors"
	"net/http"
	"strings"

	"github.com/prometheus/client_golang/prometheus"

	"warden"
	"warden/sigv4"
)

// Request is a request as any edge sees it, stripped of its transport.
type Request struct {
	Method string // HTTP method, or the full gRPC method name
	Path   string // escaped path
	Query  string // raw query, without "?"
	Header Header
	// BodyHash is the hex SHA-256 of the body, when the edge knows it.
	BodyHash string
	// ClientAddress is the client's IP or IP:port.
	ClientAddress string
	// Service is the product a resource service checks for (access service).
	Service string
	// Scope is the scope a resource service checks for (access service).
	Scope string
	// SigningRegion and SigningService are the region and AWS service name
	// a resource service answers as: a SigV4 signature must be scoped to
	// them.
	SigningRegion, SigningService string
}

// Header gives a scheme the request's headers.
type Header interface {
	// Get returns the first value of a header named in lower case, ""
	// when absent.
	Get(name string) string
	// HTTP returns every header (names in any case): what a signature
	// over the headers needs.
	HTTP() http.Header
}

// MD is a Header over lower-case keys, as gRPC metadata has them.
type MD map[string][]string

// Get implements Header.
func (m MD) Get(name string) string {
	if v := m[name]; len(v) > 0 {
		return v[0]
	}
	return ""
}

// HTTP implements Header: lower-case keys, which http.Header lookups by
// the verifiers that need them (sigv4) also find.
func (m MD) HTTP() http.Header { return http.Header(m) }

// Subject is an authenticated account.
type Subject struct {
	Type string // token.SubjectUserAccount or token.SubjectServiceAccount
	ID   string
}

// Principal is who a request is, and through which credential.
type Principal struct {
	Subject
	// Credential is the credential type ("iamToken", "apiKey", …).
	Credential string
	// CredentialID names the credential: an IAM token's ID, an API key's
	// ID. It is never a secret.
	CredentialID string
	// MintedBy is the stored credential that minted the presented one (an
	// authorized key or OAuth token behind an IAM token), "" when none.
	MintedBy string
	// Stream, for a SigV4 request with an aws-chunked body, seeds the
	// verification of its chunk signatures.
	Stream *sigv4.StreamSeed
	// Scope is the resource the credential is confined to: it authorizes
	// only on that resource and its descendants, whatever the subject's
	// bindings elsewhere. "" for an unconfined credential; NoScope for one
	// that authorizes nothing (an unscoped Keystone token).
	Scope string
	// Policy, when set, narrows the credential further (an ephemeral
	// access key's session policy): see Policy.
	Policy *Policy
}

// NoScope is the Scope of a credential confined to nothing: no resource is
// ever this one or below it.
const NoScope = "-"

// Scheme verifies one kind of credential.
type Scheme interface {
	// Credential is the credential type the scheme reports.
	Credential() string
	// Find returns the credential the request presents to this scheme and
	// whether it presents one at all.
	Find(r *Request) (string, bool)
	// Verify checks the credential in memory. A refusal is a *Refusal.
	Verify(ctx context.Context, r *Request, credential string) (Principal, error)
}

// Accounts answers whether an account may act at all: it exists, is not
// suspended and has not expired. It is consulted for every scheme, so no
// credential outlives its account.
type Accounts interface {
	Active(ctx context.Context, subjectID string) bool
}

// Refusal is why a credential was refused. Label is a short, fixed word for
// the metric; Detail may name ids but never a secret; Answer is what the
// caller is told (warden.ErrUnauthenticated when nil).
type Refusal struct {
	Label  string
	Detail string
	Answer error
}

// Refuse returns a Refusal answered with warden.ErrUnauthenticated.
func Refuse(label, detail string) *Refusal { return &Refusal{Label: label, Detail: detail} }

func (r *Refusal) Error() string { return r.Detail }

// Error is what Authenticate returns on a refusal. It unwraps to the
// caller-safe answer; Refusal is for logs only.
type Error struct {
	Credential string // "" when no credential was found
	Refusal    *Refusal
}

// Error implements error with the caller-safe answer.
func (e *Error) Error() string { return e.answer().Error() }

// Unwrap returns the caller-safe answer.
func (e *Error) Unwrap() error { return e.answer() }

func (e *Error) answer() error {
	if e.Refusal.Answer != nil {
		return e.Refusal.Answer
	}
	return warden.ErrUnauthenticated
}

// Reason returns the log reason of an authentication error, "" for others.
func Reason(err error) string {
	var e *Error
	if !errors.As(err, &e) {
		return ""
	}
	if e.Credential == "" {
		return e.Refusal.Detail
	}
	return e.Credential + ": " + e.Refusal.Detail
}

// Pipeline is the authentication pipeline.
type Pipeline struct {
	schemes  []Scheme
	accounts Accounts
	refusals *prometheus.CounterVec
}

// Config configures a Pipeline.
type Config struct {
	// Schemes in the order they are tried: the first that finds a
	// credential in the request decides.
	Schemes  []Scheme
	Accounts Accounts
}

// Credential refusal reasons common to every scheme.
var (
	errNoCredential = Refuse("no_credential", "no credential in the request")
	errInactive     = Refuse("subject_inactive", "the subject is suspended, expired or deleted")
)

// New returns a Pipeline.
func New(cfg Config) (*Pipeline, error) {
	if cfg.Accounts == nil || len(cfg.Schemes) == 0 {
		return nil, errors.New("authn: Accounts and at least one Scheme are required")
	}
	seen := map[string]bool{}
	for _, s := range cfg.Schemes {
		if seen[s.Credential()] {
			return nil, errors.New("authn: credential type " + s.Credential() + " registered twice")
		}
		seen[s.Credential()] = true
	}
	return &Pipeline{
		schemes: cfg.Schemes, accounts: cfg.Accounts,
		refusals: prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: "warden_credential_refusals_total",
			Help: "Credentials refused, by credential type and reason (never told to the caller).",
		}, []string{"credential", "reason"}),
	}, nil
}

// Collector returns the refusal counter.
func (p *Pipeline) Collector() prometheus.Collector { return p.refusals }

// Authenticate finds the credential r presents and verifies it. A refusal is
// an *Error: its message is the uniform answer; Reason tells the logs why.
func (p *Pipeline) Authenticate(ctx context.Context, r *Request) (Principal, error) {
	for _, s := range p.schemes {
		if cred, ok := s.Find(r); ok {
			return p.verify(ctx, s, r, cred)
		}
	}
	p.refusals.WithLabelValues("", errNoCredential.Label).Inc()
	return Principal{}, &Error{Refusal: errNoCredential}
}

// AuthenticateAs verifies a credential of a known type taken from somewhere
// other than a request's headers (a token in a request body).
func (p *Pipeline) AuthenticateAs(ctx context.Context, credential, secret string) (Principal, error) {
	for _, s := range p.schemes {
		if s.Credential() == credential {
			return p.verify(ctx, s, &Request{Header: MD(nil)}, secret)
		}
	}
	return Principal{}, &Error{Refusal: Refuse("unknown_scheme", "no scheme for "+credential)}
}

func (p *Pipeline) verify(ctx context.Context, s Scheme, r *Request, cred string) (Principal, error) {
	pr, err := s.Verify(ctx, r, cred)
	if err != nil {
		var ref *Refusal
		if !errors.As(err, &ref) {
			ref = Refuse("error", err.Error())
		}
		if ref.Answer != nil && pr.ID != "" && !p.accounts.Active(ctx, pr.ID) {
			// A genuine credential of a gone account says nothing more
			// than any other refusal.
			ref = errInactive
		}
		p.refusals.WithLabelValues(s.Credential(), ref.Label).Inc()
		return Principal{}, &Error{Credential: s.Credential(), Refusal: ref}
	}
	if !p.accounts.Active(ctx, pr.ID) {
		p.refusals.WithLabelValues(s.Credential(), errInactive.Label).Inc()
		return Principal{}, &Error{Credential: s.Credential(), Refusal: errInactive}
	}
	pr.Credential = s.Credential()
	return pr, nil
}

// authorization splits "Authorization: <scheme> <credential>" when the
// scheme matches, case-insensitively.
func authorization(r *Request, scheme string) (string, bool) {
	v := r.Header.Get("authorization")
	if len(v) <= len(scheme) || v[len(scheme)] != ' ' || !strings.EqualFold(v[:len(scheme)], scheme) {
		return "", false
	}
	return strings.TrimSpace(v[len(scheme)+1:]), true
}

type principalKey struct{}

// WithPrincipal returns ctx carrying the authenticated principal.
func WithPrincipal(ctx context.Context, p Principal) context.Context {
	return context.WithValue(ctx, principalKey{}, p)
}

// PrincipalFrom returns the principal ctx carries (zero when none).
func PrincipalFrom(ctx context.Context) Principal {
	p, _ := ctx.Value(principalKey{}).(Principal)
	return p
}
