package service

import (
	"context"

	"warden"
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

// AuditDecision queues d as a data event. It does not block and reads no
// database: the path comes from the snapshot and the event is written by
// the asynchronous writer (dropped, counted and logged when its buffer is
// full). Call it only when DataEventsOn.
func (s *Service) AuditDecision(ctx context.Context, d Decision) {
	e := &warden.AuditEvent{ID: warden.NewID("evt"), Type: eventTypeOf(d.Method), Class: warden.AuditData, Time: s.now(), Status: warden.AuditDone}
	p := d.Principal
	if p.ID != "" {
		e.Authentication = warden.AuditAuthentication{Authenticated: true, SubjectType: p.Type, SubjectID: p.ID,
			SubjectName: s.subjectName(p.ID), CredentialType: p.Credential, CredentialID: p.CredentialID}
	}
	e.Authorization = warden.AuditAuthorization{Authorized: d.Allowed, Permission: d.Permission}
	if d.ResourceID != "" {
		e.Resource.Path = s.snapshotPath(d.ResourceID)
	}
	e.Request.RemoteAddress = d.ClientAddress
	e.Details = map[string]any{"service": d.Service}
	if call := audit.CallFrom(ctx); call != nil {
		e.Request.RequestID, e.Request.UserAgent = call.RequestID, call.UserAgent
		e.Details["resource_service_address"] = call.RemoteAddress
	}
	if d.Err != nil {
		e.Status = warden.AuditError
		e.Error = &warden.AuditErrorInfo{Code: string(warden.ErrorCode(d.Err)), Message: warden.ErrorMessage(d.Err)}
		if reason := refusalReason(d.Err); reason != "" {
			e.Details["reason"] = reason
		}
	}
	s.audit.writer.Write(e)
}

func eventTypeOf(method string) string {
	return eventType(audit.WithCall(context.Background(), &audit.Call{Method: method}))
}
