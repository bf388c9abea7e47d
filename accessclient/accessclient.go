// Package accessclient lets a resource service put Warden in front of its
// HTTP handlers: each request's credential (whatever header the client
// used) is sent to Warden's access service with the permission the request
// needs, and only allowed requests reach the handler, with the subject in
// their context. The resource service never handles a secret itself.
package accessclient

import (
	"bytes"
	"context"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net"
	"net/http"
	"strings"
	"time"

	"warden/sigv4"
)

// Subject is who Warden says the caller is.
type Subject struct {
	Type     string `json:"type"`
	ID       string `json:"id"`
	FolderID string `json:"folderId,omitempty"`
	CloudID  string `json:"cloudId,omitempty"`
}

// Resource names what a check is about.
type Resource struct {
	Type string `json:"type,omitempty"`
	ID   string `json:"id"`
}

// Check is one permission on one resource.
type Check struct {
	Permission string   `json:"permission"`
	Resource   Resource `json:"resource"`
}

// Client talks to Warden's access service over REST.
type Client struct {
	// Endpoint is Warden's base URL, e.g. http://127.0.0.1:8080.
	Endpoint string
	// Service is this resource service's name (an API key's product).
	Service string
	// SigningRegion and SigningService are the region and AWS service name
	// this service answers SigV4 requests as ("ru-central1", "ses"); SigV4
	// requests are refused while they are unset.
	SigningRegion, SigningService string
	// Scope is the API-key scope every request checked by this Client asks
	// for ("yc.postbox.send"); a key with scopes serves only requests that
	// ask for one of them. Use one Client per scope.
	Scope string
	HTTP  *http.Client
	// Cache, when set, reuses positive decisions for its TTL (see Cache
	// for what is cached and the revocation bound it implies).
	Cache *Cache
}

// New returns a Client with a pooled HTTP client.
func New(endpoint, service string) (*Client, error) {
	if !strings.HasPrefix(endpoint, "http://") && !strings.HasPrefix(endpoint, "https://") {
		return nil, fmt.Errorf("accessclient: endpoint must be an http(s) URL, got %q", endpoint)
	}
	return &Client{Endpoint: strings.TrimSuffix(endpoint, "/"), Service: service,
		HTTP: &http.Client{Timeout: 5 * time.Second, Transport: &http.Transport{MaxIdleConnsPerHost: 64}}}, nil
}

// MaxHashedBody bounds a body the client reads whole to hash it (one whose
// signature covers its SHA-256, or that no signature covers): larger
// bodies are refused with ErrBodyTooLarge rather than passed on cut short.
// Streamed payloads (UNSIGNED-PAYLOAD, aws-chunked) are not read.
const MaxHashedBody = 64 << 20

// ErrUnavailable is returned, wrapped, when Warden cannot be asked: the
// request must then be refused (503), never let through.
var ErrUnavailable = errors.New("accessclient: Warden's access service is unavailable")

// ErrBodyTooLarge is returned for a body over MaxHashedBody; Middleware
// answers it with 413.
var ErrBodyTooLarge = errors.New("accessclient: the request body exceeds 64 MiB")

// Error is a refusal from Warden.
type Error struct {
	Code    int    `json:"code"` // google.rpc.Code: 16 unauthenticated, 7 permission denied
	Message string `json:"message"`
	// Reason is the machine-readable cause Warden gives, when it gives one:
	// for a SigV4 request, the AWS error code to answer the client with
	// (InvalidAccessKeyId, SignatureDoesNotMatch, RequestTimeTooSkewed, …).
	Reason string `json:"-"`
}

func (e *Error) Error() string { return fmt.Sprintf("accessclient: %s (code %d)", e.Message, e.Code) }

// presented describes r as Warden's access service expects it, reading (and
// restoring) the body to hash it.
func (c *Client) presented(r *http.Request) (map[string]any, error) {
	// Every header goes: a SigV4 signature may cover any of them.
	headers := make(map[string][]string, len(r.Header)+1)
	for k, v := range r.Header {
		headers[k] = v
	}
	headers["Host"] = []string{r.Host}
	// A body the signature does not hash whole (UNSIGNED-PAYLOAD, or
	// aws-chunked, each chunk signed) stays unread: the resource service
	// streams it, an aws-chunked one through ChunkReader.
	bodySHA256 := ""
	if !streamedPayload(r.Header.Get("X-Amz-Content-Sha256")) {
		sum := sha256.New()
		if r.Body != nil {
			body, err := io.ReadAll(io.LimitReader(r.Body, MaxHashedBody+1))
			if err != nil {
				return nil, err
			}
			if len(body) > MaxHashedBody {
				// Never hand the handler a body cut short.
				return nil, ErrBodyTooLarge
			}
			sum.Write(body)
			r.Body = io.NopCloser(bytes.NewReader(body))
		}
		bodySHA256 = hex.EncodeToString(sum.Sum(nil))
	}
	// The path and query as the client sent them: what it signed.
	path, query := r.URL.EscapedPath(), r.URL.RawQuery
	if u := r.RequestURI; strings.HasPrefix(u, "/") {
		path, query, _ = strings.Cut(u, "?")
	}
	req := map[string]any{
		"method": r.Method, "path": path, "query": query, "headers": headers,
		"clientAddress": clientHost(r), "service": c.Service, "scope": c.Scope,
		"signingRegion": c.SigningRegion, "signingService": c.SigningService,
	}
	if bodySHA256 != "" {
		req["bodySha256"] = bodySHA256
	}
	return req, nil
}

func clientHost(r *http.Request) string {
	host, _, err := net.SplitHostPort(r.RemoteAddr)
	if err != nil {
		return r.RemoteAddr
	}
	return host
}

// Authorize asks whether the caller of r may do every check; it returns the
// subject and one verdict per check, or an *Error when the credential is
// refused. AuthorizeRequest says more.
func (c *Client) Authorize(ctx context.Context, r *http.Request, checks ...Check) (*Subject, []bool, error) {
	d, err := c.AuthorizeRequest(ctx, r, checks...)
	if err != nil {
		return nil, nil, err
	}
	return &d.Subject, d.Allowed, nil
}

// Decision is Warden's answer about one request.
type Decision struct {
	Subject Subject
	// Allowed holds one verdict per check, in the order asked.
	Allowed []bool
	// CredentialType is how the caller authenticated: iamToken, apiKey,
	// sigv4, keystoneToken, staticToken.
	CredentialType string
	// CredentialID names the credential (a token id, an API key or access
	// key id) for audit logs; never a secret.
	CredentialID string
	// Stream is set for a SigV4 request whose body is aws-chunked
	// (x-amz-content-sha256 STREAMING-AWS4-HMAC-SHA256-PAYLOAD…): read the
	// body through ChunkReader(r.Body, d.Stream), never directly. It holds a
	// signing key for one day, region and service: drop it with the
	// request.
	Stream *sigv4.StreamSeed
}

// AuthorizeRequest asks whether the caller of r may do every check; it
// returns Warden's decision, or an *Error when the credential is refused
// (Code 16, and for SigV4 the AWS error code in Reason; Code 7 for an API
// key used outside its scope), or an error wrapping ErrUnavailable.
func (c *Client) AuthorizeRequest(ctx context.Context, r *http.Request, checks ...Check) (*Decision, error) {
	return c.decide(ctx, "/access/v1:authorize", r, checks)
}

// Authenticate asks who the caller of r is, without checking a
// permission: a resource service that places resources by the caller (in
// its service account's folder) learns it here, then authorizes. Errors are
// those of AuthorizeRequest.
func (c *Client) Authenticate(ctx context.Context, r *http.Request) (*Decision, error) {
	return c.decide(ctx, "/access/v1:authenticate", r, nil)
}

func (c *Client) decide(ctx context.Context, path string, r *http.Request, checks []Check) (*Decision, error) {
	var key [32]byte
	cacheable := false
	if c.Cache != nil {
		if key, cacheable = c.Cache.key(r, clientHost(r), c.Service, c.Scope, checks); cacheable {
			if d, ok := c.Cache.get(key); ok {
				return d, nil
			}
		}
	}
	req, err := c.presented(r)
	if err != nil {
		return nil, err
	}
	var out struct {
		Subject        Subject `json:"subject"`
		CredentialType string  `json:"credentialType"`
		CredentialID   string  `json:"credentialId"`
		Results        []struct {
			Allowed bool `json:"allowed"`
		} `json:"results"`
		Stream *wireStream `json:"sigv4Stream"`
	}
	in := map[string]any{"request": req}
	if checks != nil {
		in["checks"] = checks
	}
	if err := c.call(ctx, path, in, &out); err != nil {
		return nil, err
	}
	d := &Decision{Subject: out.Subject, CredentialType: out.CredentialType, CredentialID: out.CredentialID, Allowed: make([]bool, len(out.Results))}
	for i, res := range out.Results {
		d.Allowed[i] = res.Allowed
	}
	if len(checks) > 0 && len(d.Allowed) != len(checks) {
		return nil, fmt.Errorf("%w: %d verdicts for %d checks", ErrUnavailable, len(d.Allowed), len(checks))
	}
	if out.Stream != nil {
		if d.Stream, err = out.Stream.seed(); err != nil {
			return nil, err
		}
	}
	if cacheable {
		c.Cache.put(key, d)
	}
	return d, nil
}

func (c *Client) call(ctx context.Context, path string, in, out any) error {
	body, _ := json.Marshal(in)
	req, err := http.NewRequestWithContext(ctx, "POST", c.Endpoint+path, bytes.NewReader(body))
	if err != nil {
		return err
	}
	req.Header.Set("Content-Type", "application/json")
	resp, err := c.HTTP.Do(req)
	if err != nil {
		return fmt.Errorf("%w: %w", ErrUnavailable, err)
	}
	defer resp.Body.Close()
	raw, err := io.ReadAll(io.LimitReader(resp.Body, 1<<20))
	if err != nil {
		return fmt.Errorf("%w: %w", ErrUnavailable, err)
	}
	if resp.StatusCode != http.StatusOK {
		var st struct {
			Error
			Details []struct {
				Type   string `json:"@type"`
				Reason string `json:"reason"`
			} `json:"details"`
		}
		if json.Unmarshal(raw, &st) != nil || st.Code == 0 {
			return fmt.Errorf("%w: HTTP %d", ErrUnavailable, resp.StatusCode)
		}
		e := st.Error
		for _, d := range st.Details {
			if strings.HasSuffix(d.Type, "google.rpc.ErrorInfo") {
				e.Reason = d.Reason
			}
		}
		return &e
	}
	if err := json.Unmarshal(raw, out); err != nil {
		return fmt.Errorf("%w: %w", ErrUnavailable, err)
	}
	return nil
}

type subjectKey struct{}

// SubjectFrom returns the subject Middleware put in the request context.
func SubjectFrom(ctx context.Context) (*Subject, bool) {
	s, ok := ctx.Value(subjectKey{}).(*Subject)
	return s, ok
}

// Middleware admits a request only when Warden allows the check that need
// returns for it; refusals are answered 401 or 403 in JSON, and the
// subject is put in the context of admitted requests. The body of an
// aws-chunked SigV4 upload reaches the handler as its verified payload
// (see ChunkReader): the handler must commit what it read only at io.EOF.
func (c *Client) Middleware(need func(*http.Request) Check, next http.Handler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		d, err := c.AuthorizeRequest(r.Context(), r, need(r))
		var e *Error
		switch {
		case errors.As(err, &e) && e.Code == 16:
			writeJSON(w, http.StatusUnauthorized, e)
			return
		case errors.As(err, &e) && e.Code == 7:
			writeJSON(w, http.StatusForbidden, e)
			return
		case errors.Is(err, ErrBodyTooLarge):
			writeJSON(w, http.StatusRequestEntityTooLarge, &Error{Code: 3, Message: "the request body is too large"})
			return
		case err != nil:
			writeJSON(w, http.StatusServiceUnavailable, &Error{Code: 14, Message: "access check unavailable"})
			return
		case len(d.Allowed) != 1 || !d.Allowed[0]:
			writeJSON(w, http.StatusForbidden, &Error{Code: 7, Message: "permission denied"})
			return
		}
		if d.Stream != nil {
			// The handler reads the payload of an aws-chunked body, each
			// chunk verified, never the raw chunks.
			body, err := ChunkReader(r.Body, d.Stream)
			if err != nil {
				writeJSON(w, http.StatusServiceUnavailable, &Error{Code: 14, Message: "access check unavailable"})
				return
			}
			r.Body = struct {
				io.Reader
				io.Closer
			}{body, r.Body}
		}
		next.ServeHTTP(w, r.WithContext(context.WithValue(r.Context(), subjectKey{}, &d.Subject)))
	})
}

func writeJSON(w http.ResponseWriter, status int, v any) {
	w.Header().Set("Content-Type", "application/json")
	w.WriteHeader(status)
	json.NewEncoder(w).Encode(v)
}
