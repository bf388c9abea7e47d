package service

import (
	"context"
	"encoding/base64"
	"encoding/json"
	"fmt"
	"strconv"
	"strings"
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
	out := &auditpb.VerifyResponse{Ok: rep.Break == nil, FirstSequence: rep.First, LastSequence: rep.Last, Checked: rep.Checked,
		Events: rep.Events, Unsealed: rep.Unsealed}
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

// ListAuditEvents returns one page of the events f selects, in the order
// they were stored, after sealing what is committed: the events listed
// carry their place in the chain. The events of a batch are selected here,
// one by one; a page may end inside a batch.
func (s *Service) ListAuditEvents(ctx context.Context, f warden.AuditFilter) ([]*warden.AuditEvent, string, error) {
	from, skip, err := parseAuditToken(f.Page.Token)
	if err != nil {
		return nil, "", err
	}
	if err := s.sealCommitted(ctx); err != nil {
		return nil, "", err
	}
	size := f.Page.Size
	if size <= 0 {
		size = 100
	}
	type listed struct {
		e        *warden.AuditEvent
		pos      int64
		position int
	}
	var out []listed
	after := from - 1
	for len(out) <= size {
		var recs []*warden.AuditRecord
		err := s.store.View(ctx, func(tx warden.Tx) (err error) {
			recs, err = tx.ListAuditEvents(ctx, f, after, size+1)
			return err
		})
		if err != nil {
			return nil, "", err
		}
		for _, r := range recs {
			evs, err := audit.Decode(r)
			if err != nil {
				return nil, "", &warden.Error{Code: warden.Internal, Message: "internal error", Cause: err}
			}
			for i, e := range evs {
				if (r.Pos == from && i < skip) || !audit.Match(f, e) {
					continue
				}
				out = append(out, listed{e: e, pos: r.Pos, position: i})
			}
			after = r.Pos
		}
		if len(recs) <= size {
			break
		}
	}
	evs := make([]*warden.AuditEvent, 0, min(len(out), size))
	for _, l := range out[:min(len(out), size)] {
		evs = append(evs, l.e)
	}
	if len(out) <= size {
		return evs, "", nil
	}
	next := out[size] // the first event of the next page
	return evs, base64.RawURLEncoding.EncodeToString(fmt.Appendf(nil, "%d.%d", next.pos, next.position)), nil
}

// parseAuditToken returns where a page starts: the record at pos, from its
// event skip on (0, 0: the beginning).
func parseAuditToken(tok string) (pos int64, skip int, err error) {
	if tok == "" {
		return 0, 0, nil
	}
	bad := warden.Errorf(warden.InvalidArgument, "page_token: malformed page token")
	b, err := base64.RawURLEncoding.DecodeString(tok)
	if err != nil {
		return 0, 0, bad
	}
	p, i, ok := strings.Cut(string(b), ".")
	if pos, err = strconv.ParseInt(p, 10, 64); err != nil || !ok || pos < 1 {
		return 0, 0, bad
	}
	if skip, err = strconv.Atoi(i); err != nil || skip < 0 {
		return 0, 0, bad
	}
	return pos, skip, nil
}

// sealCommitted seals the records committed but not sealed yet (none where
// the store seals at commit), so that a reader sees every event committed
// before its call in the chain.
func (s *Service) sealCommitted(ctx context.Context) error {
	var head warden.AuditHead
	err := s.store.View(ctx, func(tx warden.Tx) (err error) {
		head, err = tx.AuditHead(ctx)
		return err
	})
	if err != nil || head.Unsealed == 0 {
		return err
	}
	_, err = s.audit.chain.SealPending(ctx, s.store)
	return err
}

// VerifyAudit seals what is committed and walks the audit chain; records
// committed meanwhile are counted in the report as unsealed.
func (s *Service) VerifyAudit(ctx context.Context) (*audit.Report, error) {
	if err := s.sealCommitted(ctx); err != nil {
		return nil, err
	}
	return s.audit.chain.Verify(ctx, s.store)
}
