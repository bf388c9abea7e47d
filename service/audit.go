package service

import (
	"context"
	"errors"
	"slices"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"google.golang.org/protobuf/proto"
	"google.golang.org/protobuf/reflect/protoreflect"

	"warden"
	"warden/access"
	"warden/audit"
	"warden/authn"
)

// AuditConfig configures the audit trail.
type AuditConfig struct {
	// Export, when set, receives every event once it is committed (the
	// JSON-lines exporters). It must not block for long.
	Export func([]*warden.AuditEvent)
	// Buffer bounds the authentication and data events waiting to be
	// written; 4096 when zero.
	Buffer int
	// DataServices switches data events (access-service decisions) on for
	// the services named ("*": every service); DataCredentials for the
	// credential types named ("iamToken", "apiKey", …; "*": every type).
	// Both empty: data events are off.
	DataServices, DataCredentials []string
	// Retention is how long events are kept; a background job prunes
	// older ones. Zero keeps them forever.
	Retention time.Duration
}

// auditState is the audit trail of a Service.
type auditState struct {
	chain  *audit.Chain
	writer *audit.Writer
	sealer *audit.Sealer
	export func([]*warden.AuditEvent)
	// dataServices and dataCredentials: see AuditConfig.
	dataServices, dataCredentials map[string]bool
	retention                     time.Duration
	// dataTypes are the event types of data events by method.
	dataTypes sync.Map
	paths     pathCache
	// off skips the events of changes: for the benchmark that measures
	// what the trail costs, never set outside this package's tests.
	off bool
}

func newAuditState(s *Service, cfg AuditConfig) (*auditState, error) {
	chain, err := audit.NewChain(s.sealer.Derive("warden: audit chain"))
	if err != nil {
		return nil, err
	}
	a := &auditState{chain: chain, export: cfg.Export, retention: cfg.Retention,
		dataServices: set(cfg.DataServices), dataCredentials: set(cfg.DataCredentials)}
	if a.sealer, err = audit.NewSealer(chain, s.store, s.log); err != nil {
		return nil, err
	}
	a.writer, err = audit.NewWriter(audit.WriterConfig{Chain: chain, Store: s.store, Sealer: a.sealer, Logger: s.log, Buffer: cfg.Buffer, After: cfg.Export})
	if err != nil {
		return nil, err
	}
	return a, nil
}

func set(names []string) map[string]bool {
	m := map[string]bool{}
	for _, n := range names {
		m[n] = true
	}
	return m
}

// AuditChain returns the chain that seals and verifies events.
func (s *Service) AuditChain() *audit.Chain { return s.audit.chain }

// AuditWriter returns the asynchronous writer of authentication and data
// events.
func (s *Service) AuditWriter() *audit.Writer { return s.audit.writer }

// auditEdit is what a mutation tells its audit event: the resource it changed
// and the changed fields (never a secret).
type auditEdit struct {
	path    []warden.AuditPathElement
	details map[string]any
	snap    *access.Snapshot // ancestors are looked up here first
}

// on makes the event about resource id, whose path is read in tx. Call it
// before deleting the resource.
func (c *auditEdit) on(ctx context.Context, tx warden.Tx, id string) {
	c.path = auditPath(ctx, tx, id, c.snap)
}

// created makes the event about r, just created in tx: its parent's path
// (from the snapshot, which does not hold r yet) and r itself.
func (c *auditEdit) created(ctx context.Context, tx warden.Tx, r *warden.Resource) {
	c.path = append(auditPath(ctx, tx, r.ParentID, c.snap), warden.AuditPathElement{Type: string(r.Type), ID: r.ID, Name: r.Name})
}

// leaf adds a node under the resource (a key of a service account).
func (c *auditEdit) leaf(typ, id string) {
	c.path = append(c.path, warden.AuditPathElement{Type: typ, ID: id})
}

// set records a changed field or a parameter.
func (c *auditEdit) set(key string, v any) {
	if c.details == nil {
		c.details = map[string]any{}
	}
	c.details[key] = v
}

// auditPath returns the path of id from its organization down, as far as
// the store knows it. Nodes in snap (when not nil) are not read: a parent
// never changes, and a name at most the refresh interval late is no harm.
func auditPath(ctx context.Context, tx warden.Tx, id string, snap *access.Snapshot) []warden.AuditPathElement {
	var path []warden.AuditPathElement
	for i := 0; id != "" && i < 8; i++ {
		if snap != nil {
			if n, ok := snap.Node(id); ok {
				path = append(path, warden.AuditPathElement{Type: string(n.Type), ID: n.ID, Name: n.Name})
				id = n.ParentID
				continue
			}
		}
		r, err := tx.GetResource(ctx, id)
		if err != nil {
			path = append(path, warden.AuditPathElement{ID: id})
			break
		}
		path = append(path, warden.AuditPathElement{Type: string(r.Type), ID: r.ID, Name: r.Name})
		id = r.ParentID
	}
	for i, j := 0, len(path)-1; i < j; i, j = i+1, j-1 {
		path[i], path[j] = path[j], path[i]
	}
	return path
}

// mutate runs fn in a read-write transaction and appends the call's audit
// event in the same transaction: the change and its event commit together
// or not at all. Every service method that changes the store goes through
// it, so a new method gets its event by using it.
//
// The event is stored in the transaction but sealed into the chain at its
// commit or shortly after (audit.Sealer): a change does not wait for the
// chain's head, held by no writer.
func (s *Service) mutate(ctx context.Context, fn func(warden.Tx, *auditEdit) error) error {
	var e *auditEntry
	err := s.store.Update(ctx, func(tx warden.Tx) (err error) {
		c := &auditEdit{snap: s.authz.snap.Load()}
		if err := fn(tx, c); err != nil {
			return err
		}
		if s.audit.off {
			return nil
		}
		ev := s.newEvent(ctx, eventType(ctx), "")
		ev.Resource.Path, ev.Details = c.path, c.details
		e, err = s.appendEvent(ctx, tx, ev)
		return err
	})
	if err != nil || e == nil {
		return err
	}
	audit.CallFrom(ctx).MarkRecorded()
	s.committed(e)
	return nil
}

// auditEntry is an event appended in a transaction and its record.
type auditEntry struct {
	ev  *warden.AuditEvent
	rec *warden.AuditRecord
}

// appendEvent stores ev in tx.
func (s *Service) appendEvent(ctx context.Context, tx warden.Tx, ev *warden.AuditEvent) (*auditEntry, error) {
	rs, err := s.audit.chain.Append(ctx, tx, ev)
	if err != nil {
		return nil, err
	}
	return &auditEntry{ev: ev, rec: rs[0]}, nil
}

// record appends an event of Warden's own (bootstrap, retention) in tx.
func (s *Service) record(ctx context.Context, tx warden.Tx, typ string, c *auditEdit) (*auditEntry, error) {
	ev := s.newEvent(ctx, typ, warden.AuditSystem)
	ev.Resource.Path, ev.Details = c.path, c.details
	return s.appendEvent(ctx, tx, ev)
}

// committed is the end of an event whose transaction committed: the sealer
// is told if the store left it unsealed, and the exporters get it.
func (s *Service) committed(e *auditEntry) {
	if e == nil {
		return
	}
	if e.rec.Seq == 0 {
		s.audit.sealer.Kick()
	}
	if s.audit.export != nil {
		audit.Sealed(e.ev, e.rec)
		s.audit.export([]*warden.AuditEvent{e.ev})
	}
}

// eventType is the event type of the call in ctx: its method name with
// dots ("yandex.cloud.iam.v1.ServiceAccountService.Create").
func eventType(ctx context.Context) string {
	if c := audit.CallFrom(ctx); c != nil && c.Method != "" {
		return strings.ReplaceAll(strings.TrimPrefix(c.Method, "/"), "/", ".")
	}
	return "warden.internal.Change"
}

// newEvent returns an event of ctx's call, its subject and credential; class
// "" takes the method's class.
func (s *Service) newEvent(ctx context.Context, typ, class string) *warden.AuditEvent {
	call := audit.CallFrom(ctx)
	if class == "" {
		class = warden.AuditManagement
		if call != nil {
			if c := AuditClass(call.Method); c != "" {
				class = c
			}
		}
	}
	e := &warden.AuditEvent{ID: warden.NewID("evt"), Type: typ, Class: class, Time: s.now(), Status: warden.AuditDone}
	e.Authorization.Authorized = true
	if p := SubjectFrom(ctx); p.ID != "" {
		e.Authentication = warden.AuditAuthentication{Authenticated: true, SubjectType: p.Type, SubjectID: p.ID,
			SubjectName: s.subjectName(p.ID), CredentialType: p.Credential, CredentialID: p.CredentialID}
		if p.MintedBy != "" {
			e.Details = map[string]any{"credential_minted_by": p.MintedBy}
		}
	}
	if call == nil {
		return e
	}
	e.Request = warden.AuditRequest{RemoteAddress: call.RemoteAddress, UserAgent: call.UserAgent, RequestID: call.RequestID}
	if is := call.IssuedCredential(); is != nil {
		if !e.Authentication.Authenticated {
			// A token exchange authenticates through what it exchanges.
			e.Authentication = warden.AuditAuthentication{Authenticated: true, SubjectType: is.SubjectType, SubjectID: is.SubjectID,
				SubjectName: s.subjectName(is.SubjectID), CredentialType: is.Credential, CredentialID: is.CredentialID}
		}
		if !is.Held {
			if e.Details == nil {
				e.Details = map[string]any{}
			}
			e.Details["issued_to"] = is.SubjectID
			if is.TokenID != "" {
				e.Details["issued_token_id"] = is.TokenID
			}
		}
	}
	return e
}

// subjectName is the name of an account from the snapshot ("" when it is
// not there yet): no database read.
func (s *Service) subjectName(id string) string {
	if n, ok := s.authz.snap.Load().Node(id); ok {
		return n.Name
	}
	return ""
}

// AuditClass returns the class of the event a call of method writes, ""
// for a method that changes nothing and so writes none (reads; the access
// service writes data events itself).
func AuditClass(method string) string {
	if c, ok := auditClasses.Load(method); ok {
		return c.(string)
	}
	c := auditClass(method)
	if auditClassesHeld.Add(1) <= maxAuditClasses {
		auditClasses.Store(method, c)
	}
	return c
}

// auditClasses memoises AuditClass: it is asked at the end of every call,
// of the few hundred methods wardend serves (bounded all the same).
var (
	auditClasses     sync.Map // method → class
	auditClassesHeld atomic.Int64
)

const maxAuditClasses = 4096

func auditClass(method string) string {
	if authenticationMethods[method] {
		return warden.AuditAuthn
	}
	name := method[strings.LastIndex(method, "/")+1:]
	for _, verb := range mutatingVerbs {
		if strings.HasPrefix(name, verb) {
			return warden.AuditManagement
		}
	}
	return ""
}

// authenticationMethods issue or exchange credentials.
var authenticationMethods = map[string]bool{
	"/yandex.cloud.iam.v1.IamTokenService/Create":                                     true,
	"/yandex.cloud.iam.v1.IamTokenService/CreateForServiceAccount":                    true,
	"/yandex.cloud.iam.v1.awscompatibility.TemporaryAccessKeyService/CreateEphemeral": true,
	"/openstack.identity.v3.TokenService/Issue":                                       true,
	"/warden.iam.v1.SessionService/Login":                                             true,
}

// mutatingVerbs begin the name of every method that changes something: a
// new method named so gets an event for each call (and the walk in
// server.TestAuditEveryMutation fails until it is covered).
var mutatingVerbs = []string{"Create", "Update", "Delete", "Set", "Remove", "Suspend", "Reactivate", "Revoke", "Cancel", "Add", "Rotate", "Enable", "Disable", "Issue", "Login"}

// AuditCall is the interceptor's end of every call: a call of a method
// that writes an event but wrote none with a change (refused, invalid,
// failed, or changing nothing) gets its event here, in its own
// transaction, so every such call has exactly one. Authentication events
// and refusals of unauthenticated callers go through the bounded buffer:
// a flood of bad credentials cannot make the database write per request.
func (s *Service) AuditCall(ctx context.Context, method string, req proto.Message, callErr error) {
	class := AuditClass(method)
	call := audit.CallFrom(ctx)
	if class == "" || call.Recorded() {
		return
	}
	e := s.newEvent(ctx, eventType(ctx), class)
	if callErr != nil {
		e.Status = warden.AuditError
		code := warden.ErrorCode(callErr)
		e.Error = &warden.AuditErrorInfo{Code: string(code), Message: warden.ErrorMessage(callErr)}
		e.Authorization.Authorized = code != warden.PermissionDenied && code != warden.Unauthenticated
		if code == warden.Unauthenticated {
			e.Authentication.Authenticated = false
		}
		if reason := refusalReason(callErr); reason != "" {
			if e.Details == nil {
				e.Details = map[string]any{}
			}
			e.Details["reason"] = reason
		}
	}
	id := call.ResourceID()
	if id == "" {
		id = requestResource(req)
	}
	if class == warden.AuditAuthn || warden.ErrorCode(callErr) == warden.Unauthenticated {
		if id != "" {
			e.Resource.Path = s.snapshotPath(id)
		}
		s.audit.writer.Write(e)
		return
	}
	var entry *auditEntry
	err := s.store.Update(ctx, func(tx warden.Tx) (err error) {
		if id != "" {
			e.Resource.Path = auditPath(ctx, tx, id, s.authz.snap.Load())
		}
		entry, err = s.appendEvent(ctx, tx, e)
		return err
	})
	if err != nil {
		s.log.Error("audit event lost", "request_id", e.Request.RequestID, "event_type", e.Type, "err", err)
		return
	}
	call.MarkRecorded()
	s.committed(entry)
}

// refusalReason is the reason kept for logs of a refused credential.
func refusalReason(err error) string {
	if r := authn.Reason(err); r != "" {
		return r
	}
	var we *warden.Error
	if errors.As(err, &we) && we.Code == warden.Unauthenticated && we.Cause != nil {
		return we.Cause.Error()
	}
	return ""
}

// snapshotPath is the path of id from the in-memory snapshot, for events
// written off the request's path.
func (s *Service) snapshotPath(id string) []warden.AuditPathElement {
	return s.appendSnapshotPath(nil, id)
}

// appendSnapshotPath appends the path of id from the snapshot to path.
func (s *Service) appendSnapshotPath(path []warden.AuditPathElement, id string) []warden.AuditPathElement {
	return appendPathIn(s.authz.snap.Load(), path, id)
}

// appendPathIn appends the path of id in snap to path.
func appendPathIn(snap *access.Snapshot, path []warden.AuditPathElement, id string) []warden.AuditPathElement {
	start := len(path)
	for i := 0; id != "" && i < 8; i++ {
		n, ok := snap.Node(id)
		if !ok {
			path = append(path, warden.AuditPathElement{ID: id})
			break
		}
		path = append(path, warden.AuditPathElement{Type: string(n.Type), ID: n.ID, Name: n.Name})
		id = n.ParentID
	}
	slices.Reverse(path[start:])
	return path
}

// resourceFields are request fields naming the resource a call is about,
// most specific first.
var resourceFields = []protoreflect.Name{"key_id", "api_key_id", "access_key_id", "service_account_id", "resource_id", "user_account_id",
	"user_id", "group_id", "subject_id", "userpool_id", "folder_id", "cloud_id", "organization_id", "operation_id"}

// requestResource is the resource a request names, "" when none.
func requestResource(req proto.Message) string {
	if req == nil {
		return ""
	}
	m := req.ProtoReflect()
	fields := m.Descriptor().Fields()
	for _, name := range resourceFields {
		if f := fields.ByName(name); f != nil && f.Kind() == protoreflect.StringKind && f.Cardinality() != protoreflect.Repeated {
			if v := m.Get(f).String(); v != "" {
				return v
			}
		}
	}
	return ""
}

// runAudit starts the asynchronous writer, the sealer and the retention
// job; the channel closes once the writer has written what was queued when
// ctx ended.
func (s *Service) runAudit(ctx context.Context) <-chan struct{} {
	done := make(chan struct{})
	go func() {
		defer close(done)
		s.audit.writer.Run(ctx)
	}()
	go s.audit.sealer.Run(ctx)
	if s.audit.retention > 0 {
		go s.runRetention(ctx)
	}
	return done
}

// runRetention prunes expired events at start and then hourly.
func (s *Service) runRetention(ctx context.Context) {
	tick := time.NewTicker(time.Hour)
	defer tick.Stop()
	for {
		if _, err := s.PruneAudit(ctx); err != nil && ctx.Err() == nil {
			s.log.Warn("prune audit events", "err", err)
		}
		select {
		case <-ctx.Done():
			return
		case <-tick.C:
		}
	}
}

// PruneAudit deletes the events older than the retention period and
// records that it did, as an event, in the same transaction. It returns how
// many it deleted.
func (s *Service) PruneAudit(ctx context.Context) (int64, error) {
	before := s.now().Add(-s.audit.retention)
	var n int64
	var ev *auditEntry
	err := s.store.Update(ctx, func(tx warden.Tx) (err error) {
		if n, err = tx.PruneAuditEvents(ctx, before); err != nil || n == 0 {
			return err
		}
		c := &auditEdit{}
		c.set("pruned_events", n)
		c.set("pruned_before", before.Format(time.RFC3339Nano))
		c.set("retention", s.audit.retention.String())
		ev, err = s.record(ctx, tx, "warden.audit.Prune", c)
		return err
	})
	if err == nil {
		s.committed(ev)
	}
	return n, err
}

// credential makes the event about credential c of its subject: its type
// and ID, never its secret or hash.
func (c *auditEdit) credential(ctx context.Context, tx warden.Tx, cred *warden.Credential) {
	c.on(ctx, tx, cred.SubjectID)
	c.leaf(string(cred.Kind), cred.ID)
}
