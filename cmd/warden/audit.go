package main

import (
	"fmt"
	"strings"
	"time"

	"github.com/spf13/cobra"
	"google.golang.org/protobuf/types/known/structpb"

	"warden/api/auditpb"
)

// auditColumns are the text table of events.
var auditColumns = []column[*structpb.Struct]{
	{"TIME", func(e *structpb.Struct) string { return eventField(e, "event_time") }},
	{"TYPE", func(e *structpb.Struct) string { return eventField(e, "event_type") }},
	{"SUBJECT", func(e *structpb.Struct) string { return eventField(e, "authentication", "subject_id") }},
	{"CREDENTIAL", func(e *structpb.Struct) string {
		return strings.Trim(eventField(e, "authentication", "credential_type")+" "+eventField(e, "authentication", "credential_id"), " ")
	}},
	{"RESOURCE", func(e *structpb.Struct) string {
		path := e.GetFields()["resource_metadata"].GetStructValue().GetFields()["path"].GetListValue().GetValues()
		if len(path) == 0 {
			return ""
		}
		return path[len(path)-1].GetStructValue().GetFields()["resource_id"].GetStringValue()
	}},
	{"STATUS", func(e *structpb.Struct) string {
		if code := eventField(e, "error", "code"); code != "" {
			return eventField(e, "event_status") + " " + code
		}
		return eventField(e, "event_status")
	}},
	{"REQUEST ID", func(e *structpb.Struct) string { return eventField(e, "request_metadata", "request_id") }},
}

// eventField digs a string out of an event by path.
func eventField(s *structpb.Struct, path ...string) string {
	for i, p := range path {
		v := s.GetFields()[p]
		if i == len(path)-1 {
			return v.GetStringValue()
		}
		s = v.GetStructValue()
	}
	return ""
}

// parseSince takes a duration back from now (1h, 30m) or an RFC 3339 time.
func parseSince(v string, now time.Time) (string, error) {
	if v == "" {
		return "", nil
	}
	if d, err := time.ParseDuration(v); err == nil {
		if d < 0 {
			return "", fmt.Errorf("--since %s: give a positive duration", v)
		}
		return now.Add(-d).UTC().Format(time.RFC3339Nano), nil
	}
	if _, err := time.Parse(time.RFC3339Nano, v); err != nil {
		return "", fmt.Errorf("--since %q: give a duration (1h, 30m) or an RFC 3339 time", v)
	}
	return v, nil
}

func (a *app) auditCommand() *cobra.Command {
	var f struct {
		org, since, until, subject, resource, typ, class, outcome string
		limit                                                     int
	}
	list := &cobra.Command{
		Use:   "list",
		Short: "List audit events",
		Long: `List the audit trail's events, oldest first: every change, every token
issued or refused and, when wardend records them, access-service decisions.
Needs audit.events.list (role auditor) on the organization.`,
		Example: `  warden audit list --since 1h
  warden audit list --since 24h --subject aje0example0000000000 --outcome error --format json
  warden audit list --resource b1g0example0000000000 --type yandex.cloud.iam.v1.KeyService.Create`,
		Args: cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			ctx := cmd.Context()
			c, err := a.dial(ctx)
			if err != nil {
				return err
			}
			org, err := a.organizationID(ctx, c, f.org)
			if err != nil {
				return err
			}
			since, err := parseSince(f.since, time.Now())
			if err != nil {
				return err
			}
			until, err := parseSince(f.until, time.Now())
			if err != nil {
				return err
			}
			status := strings.ToUpper(f.outcome)
			switch status {
			case "SUCCESS":
				status = "DONE"
			case "FAILURE", "REFUSED":
				status = "ERROR"
			case "", "DONE", "ERROR":
			default:
				return fmt.Errorf("--outcome %q: give done (success) or error (failure)", f.outcome)
			}
			if f.limit < 1 {
				return fmt.Errorf("--limit must be at least 1")
			}
			req := &auditpb.ListEventsRequest{OrganizationId: org, Since: since, Until: until, SubjectId: f.subject,
				ResourceId: f.resource, EventType: f.typ, EventClass: f.class, EventStatus: status}
			var events []*structpb.Struct
			for len(events) < f.limit {
				req.PageSize = int64(min(f.limit-len(events), 1000))
				resp, err := c.Audit.ListEvents(ctx, req)
				if err != nil {
					return err
				}
				events = append(events, resp.Events...)
				if resp.NextPageToken == "" {
					break
				}
				req.PageToken = resp.NextPageToken
			}
			return printList(a, events, auditColumns)
		},
	}
	fl := list.Flags()
	fl.StringVar(&f.org, "organization-id", "", "organization whose events to list (default: the only one you can see)")
	fl.StringVar(&f.since, "since", "", "events at or after this time: a duration back from now (1h) or an RFC 3339 time")
	fl.StringVar(&f.until, "until", "", "events before this time, as --since")
	fl.StringVar(&f.subject, "subject", "", "only events by this subject (an account ID)")
	fl.StringVar(&f.resource, "resource", "", "only events with this resource on their path")
	fl.StringVar(&f.typ, "type", "", "only events of this type (yandex.cloud.iam.v1.ServiceAccountService.Create)")
	fl.StringVar(&f.class, "class", "", "only events of this class: management, authentication, data or system")
	fl.StringVar(&f.outcome, "outcome", "", "only events that succeeded (done) or failed or were refused (error)")
	fl.IntVar(&f.limit, "limit", 1000, "at most this many events")

	var verifyOrg string
	verify := &cobra.Command{
		Use:   "verify",
		Short: "Verify the audit trail's hash chain",
		Long: `Walk the audit trail's hash chain from the first event kept to the last and
name the first event that was altered, deleted or inserted. Exits non-zero
when the chain is broken.

Events are sealed into the chain when their change commits or shortly after
(a batch of data events is one record of the chain). Verify seals what is
committed first, and reports how many records were committed during the
walk and are not sealed yet.`,
		Example: `  warden audit verify`,
		Args:    cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			ctx := cmd.Context()
			c, err := a.dial(ctx)
			if err != nil {
				return err
			}
			org, err := a.organizationID(ctx, c, verifyOrg)
			if err != nil {
				return err
			}
			resp, err := c.Audit.Verify(ctx, &auditpb.VerifyRequest{OrganizationId: org})
			if err != nil {
				return err
			}
			if a.flags.format != "text" {
				if err := a.printOne(resp); err != nil {
					return err
				}
			}
			if !resp.Ok {
				at := fmt.Sprint(resp.BreakSequence)
				if resp.BreakEventId != "" {
					at += " (" + resp.BreakEventId + ")"
				}
				return fmt.Errorf("the audit chain is broken at event %s: %s", at, resp.BreakReason)
			}
			if a.flags.format == "text" {
				fmt.Fprintf(a.env.Stdout, "the audit chain holds: records %d to %d, %d checked holding %d events; %d committed since, not sealed yet\n",
					resp.FirstSequence, resp.LastSequence, resp.Checked, resp.Events, resp.Unsealed)
			}
			return nil
		},
	}
	verify.Flags().StringVar(&verifyOrg, "organization-id", "", "organization on which you hold audit.events.list (default: the only one you can see)")
	return group("audit", "Read and verify the audit trail", `
Read the audit trail — who did what, when, from where, with which
credential — and verify that it was not tampered with.`, nil, list, verify)
}
