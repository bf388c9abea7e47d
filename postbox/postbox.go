// Package postbox is a small Amazon SESv2-compatible mail API — the
// reference for writing a resource service behind Warden. It keeps
// configuration sets, email identities and sent messages as files in a
// data directory (it sends no mail), and asks Warden's access service about
// every request through accessclient, whatever credential the client
// brought: a SigV4 signature (static or ephemeral key), an IAM token in
// X-YaCloud-SubjectToken or Authorization: Bearer, or an Api-Key.
//
// Resources live in a folder: the one named by the X-Folder-Id header, or
// else the folder of the caller's service account, as Yandex Cloud Postbox
// places them. A caller with no folder of its own (a user account) must
// name one.
package postbox

import (
	"errors"
	"fmt"
	"log/slog"
	"net/http"
	"slices"
	"strings"
	"time"

	"warden/accessclient"
)

// FolderHeader names the folder a request works in; without it, the
// caller's service-account folder.
const FolderHeader = "X-Folder-Id"

// SendScope is the API-key scope SendEmail asks for: a key scoped to it
// sends mail and does nothing else.
const SendScope = "yc.postbox.send"

// Permissions checked per operation, on the folder (Warden's built-in
// roles postbox.viewer, postbox.sender, postbox.editor and postbox.admin
// hold them).
const (
	permSetsCreate       = "postbox.configurationSets.create"
	permSetsGet          = "postbox.configurationSets.get"
	permSetsList         = "postbox.configurationSets.list"
	permSetsDelete       = "postbox.configurationSets.delete"
	permIdentitiesCreate = "postbox.identities.create"
	permIdentitiesGet    = "postbox.identities.get"
	permIdentitiesList   = "postbox.identities.list"
	permIdentitiesDelete = "postbox.identities.delete"
	permSend             = "postbox.emails.send"
)

// maxBody bounds a request body: SES accepts messages of up to 40 MB, a
// reference service needs less.
const maxBody = 10 << 20

// Config configures a Handler.
type Config struct {
	// DataDir holds the resources; created if missing.
	DataDir string
	// Warden is the base URL of Warden's REST API (http://127.0.0.1:8080).
	Warden string
	// SigningRegion is the region SigV4 requests must be signed for;
	// "ru-central1" if empty. The service is always "ses".
	SigningRegion string
	// CacheTTL, when positive, lets accessclient reuse Warden's positive
	// decisions for that long (at most accessclient.MaxCacheTTL): a revoked
	// token is then refused within CacheTTL. Zero asks Warden every time.
	CacheTTL time.Duration
	// CacheSize bounds the decisions cached (default 10000).
	CacheSize int
	// Logger logs each request and every internal error; slog.Default()
	// if nil.
	Logger *slog.Logger
	// Now is the clock; time.Now if nil.
	Now func() time.Time
}

// Handler serves the SESv2 API.
type Handler struct {
	store          *Store
	warden, sender *accessclient.Client // sender asks for SendScope
	log            *slog.Logger
	now            func() time.Time
	mux            *http.ServeMux
}

// New checks cfg and returns a Handler; an error names what is wrong.
func New(cfg Config) (*Handler, error) {
	if cfg.Warden == "" {
		return nil, errors.New("postbox: Warden's address is required")
	}
	if cfg.SigningRegion == "" {
		cfg.SigningRegion = "ru-central1"
	}
	if cfg.Logger == nil {
		cfg.Logger = slog.Default()
	}
	if cfg.Now == nil {
		cfg.Now = time.Now
	}
	store, err := OpenStore(cfg.DataDir)
	if err != nil {
		return nil, err
	}
	warden, err := accessclient.New(cfg.Warden, "postbox")
	if err != nil {
		return nil, fmt.Errorf("postbox: %w", err)
	}
	warden.SigningRegion, warden.SigningService = cfg.SigningRegion, "ses"
	if cfg.CacheTTL != 0 {
		if warden.Cache, err = accessclient.NewCache(accessclient.CacheConfig{TTL: cfg.CacheTTL, MaxEntries: cfg.CacheSize, Now: cfg.Now}); err != nil {
			return nil, fmt.Errorf("postbox: %w", err)
		}
	}
	sender := *warden
	sender.Scope = SendScope
	h := &Handler{store: store, warden: warden, sender: &sender, log: cfg.Logger, now: cfg.Now, mux: http.NewServeMux()}
	h.routes()
	return h, nil
}

// routes maps each SESv2 operation to its permission and handler. The AWS
// CLI, boto3 and seed 000's curl list with GET; aws-sdk-go-v2's sesv2 since
// v1.77 lists with POST …/list-configuration-sets and …/list-identities.
func (h *Handler) routes() {
	h.handle("POST /v2/email/configuration-sets", permSetsCreate, h.createConfigurationSet)
	h.handle("GET /v2/email/configuration-sets", permSetsList, h.listConfigurationSets)
	h.handle("POST /v2/email/list-configuration-sets", permSetsList, h.listConfigurationSets)
	h.handle("GET /v2/email/configuration-sets/{name}", permSetsGet, h.getConfigurationSet)
	h.handle("DELETE /v2/email/configuration-sets/{name}", permSetsDelete, h.deleteConfigurationSet)
	h.handle("POST /v2/email/identities", permIdentitiesCreate, h.createEmailIdentity)
	h.handle("GET /v2/email/identities", permIdentitiesList, h.listEmailIdentities)
	h.handle("POST /v2/email/list-identities", permIdentitiesList, h.listEmailIdentities)
	h.handle("GET /v2/email/identities/{name}", permIdentitiesGet, h.getEmailIdentity)
	h.handle("DELETE /v2/email/identities/{name}", permIdentitiesDelete, h.deleteEmailIdentity)
	h.handle("POST /v2/email/outbound-emails", permSend, h.sendEmail)
	// For load balancers and supervisors: no credential, nothing revealed.
	h.mux.HandleFunc("GET /healthz", func(w http.ResponseWriter, r *http.Request) { w.Write([]byte("ok\n")) })
	h.mux.HandleFunc("/", func(w http.ResponseWriter, r *http.Request) {
		writeError(w, &apiError{http.StatusNotFound, "UnknownOperationException", "no such operation: " + r.Method + " " + r.URL.Path})
	})
}

// ServeHTTP implements http.Handler.
func (h *Handler) ServeHTTP(w http.ResponseWriter, r *http.Request) { h.mux.ServeHTTP(w, r) }

// request is what an operation gets once Warden has allowed it.
type request struct {
	*http.Request
	folder  string
	subject accessclient.Subject
	via     string // the credential type, for the message record
}

// handle registers an operation: every request is authorized for perm on
// its folder before op runs, and op's error is answered in AWS's shape.
func (h *Handler) handle(pattern, perm string, op func(http.ResponseWriter, *request) error) {
	client := h.warden
	if perm == permSend {
		client = h.sender
	}
	h.mux.HandleFunc(pattern, func(w http.ResponseWriter, r *http.Request) {
		start := h.now()
		r.Body = http.MaxBytesReader(w, r.Body, maxBody)
		req, err := h.authorize(r, client, perm)
		if err == nil {
			err = op(w, req)
		}
		status := http.StatusOK
		if err != nil {
			status = h.fail(w, r, err)
		}
		attrs := []any{"op", pattern, "status", status, "duration_ms", float64(h.now().Sub(start).Microseconds()) / 1000}
		if req != nil {
			attrs = append(attrs, "folder", req.folder, "subject", req.subject.ID, "credential", req.via)
		}
		h.log.Info("postbox request", attrs...)
	})
}

// authorize finds the request's folder and asks Warden whether its caller
// holds perm there.
func (h *Handler) authorize(r *http.Request, client *accessclient.Client, perm string) (*request, error) {
	folder := r.Header.Get(FolderHeader)
	if folder == "" {
		d, err := client.Authenticate(r.Context(), r)
		if err != nil {
			return nil, err
		}
		if d.Subject.FolderID == "" {
			return nil, badRequest("the caller has no folder of its own: name one in the %s header", FolderHeader)
		}
		folder = d.Subject.FolderID
	} else if !validFolder(folder) {
		return nil, badRequest("%s: %q is not a folder id", FolderHeader, folder)
	} else if unsigned(r, FolderHeader) {
		// Else a captured signed request could be replayed against
		// another folder of its signer's.
		return nil, badRequest("%s must be covered by the SigV4 signature (SignedHeaders)", FolderHeader)
	}
	d, err := client.AuthorizeRequest(r.Context(), r, accessclient.Check{
		Permission: perm, Resource: accessclient.Resource{Type: "resource-manager.folder", ID: folder},
	})
	if err != nil {
		return nil, err
	}
	if !d.Allowed[0] {
		return nil, &apiError{http.StatusForbidden, "AccessDeniedException", fmt.Sprintf("%s is not allowed in folder %s", perm, folder)}
	}
	if d.Stream != nil {
		// SES clients sign the body whole; aws-chunked is S3's.
		return nil, badRequest("aws-chunked bodies are not supported")
	}
	return &request{Request: r, folder: folder, subject: d.Subject, via: d.CredentialType}, nil
}

// unsigned reports whether r is signed with SigV4 (a header or a presigned
// URL) and its signature does not cover the header name. A bearer
// credential signs nothing, so nothing is unsigned.
func unsigned(r *http.Request, name string) bool {
	var signed string
	if auth := r.Header.Get("Authorization"); strings.HasPrefix(auth, "AWS4-") {
		_, rest, _ := strings.Cut(auth, "SignedHeaders=")
		signed, _, _ = strings.Cut(rest, ",")
	} else if q := r.URL.Query(); q.Has("X-Amz-Signature") {
		signed = q.Get("X-Amz-SignedHeaders")
	} else {
		return false
	}
	return !slices.Contains(strings.Split(strings.ToLower(strings.TrimSpace(signed)), ";"), strings.ToLower(name))
}
