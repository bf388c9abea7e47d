package service

import (
	"context"
	"sync"
	"sync/atomic"

	"warden"
	"warden/access"
	"warden/audit"
	"warden/authn"
)

// Decision is one access-service decision: who, through which credential,
// asked to do what on which resource, and the answer.
type Decision struct {
	// Method is the access-service method ("/warden.access.v1.AccessService/Authorize").
	Method string
	// Service is the resource service the request was for ("postbox").
	Service string
	// ClientAddress is the end client's address as the resource service saw it.
	ClientAddress string
	Principal     authn.Principal
	// Permission and ResourceID are the check ("" for an authentication).
	Permission, ResourceID string
	Allowed                bool
	// Err is why the credential was refused (nil when it was accepted).
	Err error
}

// DataEventsOn reports whether decisions for a resource service and a
// credential type are recorded: data events are off unless switched on for
// one or the other.
func (s *Service) DataEventsOn(service, credential string) bool {
	a := s.audit
	if len(a.dataServices) == 0 && len(a.dataCredentials) == 0 {
		return false
	}
	return a.dataServices["*"] || a.dataServices[service] || a.dataCredentials["*"] || (credential != "" && a.dataCredentials[credential])
}

// AuditDecision queues d as a data event. It does not block, reads no
// database and allocates nothing: the event's path and subject name come
// from the snapshot, and the writer's buffer keeps what differs from the
// event before (dropped, counted and logged when the buffer is full). Call
// it only when DataEventsOn.
func (s *Service) AuditDecision(ctx context.Context, d Decision) {
	p := d.Principal
	e := audit.DataEvent{Time: s.now(), Type: s.audit.dataType(d.Method), Service: d.Service,
		Permission: d.Permission, Allowed: d.Allowed, ClientAddress: d.ClientAddress}
	if p.ID != "" {
		e.SubjectType, e.SubjectID, e.SubjectName, e.CredentialType, e.CredentialID = p.Type, p.ID, s.subjectName(p.ID), p.Credential, p.CredentialID
	}
	if d.ResourceID != "" {
		e.Path = s.audit.paths.get(s, d.ResourceID)
	}
	if call := audit.CallFrom(ctx); call != nil {
		e.RequestID, e.UserAgent, e.CallerAddress = call.RequestID, call.UserAgent, call.RemoteAddress
	}
	if d.Err != nil {
		e.ErrorCode, e.ErrorMessage, e.Reason = string(warden.ErrorCode(d.Err)), warden.ErrorMessage(d.Err), refusalReason(d.Err)
	}
	s.audit.writer.WriteData(&e)
}

// dataType returns the event type of a data event of method: the access
// service has a few methods, whose types are kept.
func (a *auditState) dataType(method string) string {
	if t, ok := a.dataTypes.Load(method); ok {
		return t.(string)
	}
	t := eventTypeOf(method)
	a.dataTypes.Store(method, t)
	return t
}

func eventTypeOf(method string) string {
	return eventType(audit.WithCall(context.Background(), &audit.Call{Method: method}))
}

// pathCache keeps the encoded path of the resources that data events were
// about, for one snapshot: the checks of a resource service ask about the
// same resources again and again, and a path is read again only once the
// snapshot changed. It holds the last snapshot it served, no older one.
type pathCache struct {
	cur atomic.Pointer[pathGeneration]
}

// pathGeneration is the cache of one snapshot.
type pathGeneration struct {
	snap *access.Snapshot
	m    sync.Map // resource ID → string
	n    atomic.Int64
}

// maxCachedPaths bounds a generation (~0.4 KB a path): past it, it starts
// over.
const maxCachedPaths = 16384

// get returns the encoded path of id in the current snapshot.
func (c *pathCache) get(s *Service, id string) string {
	snap := s.authz.snap.Load()
	g := c.cur.Load()
	if g == nil || g.snap != snap || g.n.Load() > maxCachedPaths {
		g = &pathGeneration{snap: snap}
		c.cur.Store(g)
	}
	if v, ok := g.m.Load(id); ok {
		return v.(string)
	}
	var path [5]warden.AuditPathElement // organization to resource and a leaf
	b := string(audit.AppendPath(nil, appendPathIn(snap, path[:0], id)))
	g.m.Store(id, b)
	g.n.Add(1)
	return b
}
