package service

import (
	"context"
	"encoding/json"
	"time"

	"google.golang.org/protobuf/types/known/structpb"

	"warden"
	"warden/api/auditpb"
	"warden/audit"
)

// AuditEvents implements warden.audit.v1.AuditService.
type AuditEvents struct {
	auditpb.UnimplementedAuditServiceServer
	s *Service
}

// AuditEvents returns the AuditService server.
func (s *Service) AuditEvents() *AuditEvents { return &AuditEvents{s: s} }

// permAuditList reads and verifies the audit trail (role auditor).
const permAuditList = "audit.events.list"

// ListEvents implements AuditService.ListEvents; the permission table has
// checked audit.events.list on organization_id.
func (a *AuditEvents) ListEvents(ctx context.Context, req *auditpb.ListEventsRequest) (*auditpb.ListEventsResponse, error) {
	f := warden.AuditFilter{Scope: req.OrganizationId, SubjectID: req.SubjectId, ResourceID: req.ResourceId, Type: req.EventType,
		Class: req.EventClass, Status: req.EventStatus, Page: page(req.PageSize, req.PageToken)}
	var err error
	if f.Since, err = parseTime("since", req.Since); err != nil {
		return nil, err
	}
	if f.Until, err = parseTime("until", req.Until); err != nil {
		return nil, err
	}
	if req.PageSize < 0 || req.PageSize > 1000 {
		return nil, warden.Errorf(warden.InvalidArgument, "page_size: must be 0 to 1000")
	}
	evs, next, err := a.s.ListAuditEvents(ctx, f)
	if err != nil {
		return nil, err
	}
	out := &auditpb.ListEventsResponse{NextPageToken: next}
	for _, e := range evs {
		st, err := eventStruct(e)
		if err != nil {
			return nil, err
		}
		out.Events = append(out.Events, st)
	}
	return out, nil
}

// Verify implements AuditService.Verify.
func (a *AuditEvents) Verify(ctx context.Context, req *auditpb.VerifyRequest) (*auditpb.VerifyResponse, error) {
	rep, err := a.s.VerifyAudit(ctx)
	if err != nil {
		return nil, err
	}
	out := &auditpb.VerifyResponse{Ok: rep.Break == nil, FirstSequence: rep.First, LastSequence: rep.Last, Checked: rep.Checked}
	if b := rep.Break; b != nil {
		out.BreakSequence, out.BreakEventId, out.BreakReason = b.Seq, b.EventID, b.Reason
	}
	return out, nil
}

func parseTime(field, v string) (time.Time, error) {
	if v == "" {
		return time.Time{}, nil
	}
	t, err := time.Parse(time.RFC3339Nano, v)
	if err != nil {
		return time.Time{}, warden.Errorf(warden.InvalidArgument, "%s: not an RFC 3339 time", field)
	}
	return t, nil
}

// eventStruct is an event as its JSON object.
func eventStruct(e *warden.AuditEvent) (*structpb.Struct, error) {
	b, err := json.Marshal(e)
	if err != nil {
		return nil, &warden.Error{Code: warden.Internal, Message: "internal error", Cause: err}
	}
	st := &structpb.Struct{}
	if err := st.UnmarshalJSON(b); err != nil {
		return nil, &warden.Error{Code: warden.Internal, Message: "internal error", Cause: err}
	}
	return st, nil
}

// ListAuditEvents returns one page of the events f selects, oldest first.
func (s *Service) ListAuditEvents(ctx context.Context, f warden.AuditFilter) ([]*warden.AuditEvent, string, error) {
	var recs []*warden.AuditRecord
	var next string
	err := s.store.View(ctx, func(tx warden.Tx) (err error) {
		recs, next, err = tx.ListAuditEvents(ctx, f)
		return err
	})
	if err != nil {
		return nil, "", err
	}
	out := make([]*warden.AuditEvent, 0, len(recs))
	for _, r := range recs {
		e, err := audit.Decode(r)
		if err != nil {
			return nil, "", &warden.Error{Code: warden.Internal, Message: "internal error", Cause: err}
		}
		out = append(out, e)
	}
	return out, next, nil
}

// VerifyAudit walks the audit chain.
func (s *Service) VerifyAudit(ctx context.Context) (*audit.Report, error) {
	return s.audit.chain.Verify(ctx, s.store)
}
