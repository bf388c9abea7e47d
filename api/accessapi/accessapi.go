// Package accessapi serves Warden's access service (warden.access.v1): the
// one question every resource service asks per request — who is this, and
// may they do X on Y. The credential is taken from the request the resource
// service presents and goes through the same authentication pipeline as
// every call to Warden itself.
package accessapi

import (
	"context"
	"errors"
	"net/http"
	"strings"
	"time"

	"google.golang.org/protobuf/types/known/structpb"

	"warden"
	"warden/api/accesspb"
	"warden/api/grpcapi"
	"warden/authn"
	"warden/service"
	"warden/sigv4"
)

// Authenticator is the authentication pipeline.
type Authenticator interface {
	Authenticate(ctx context.Context, r *authn.Request) (authn.Principal, error)
}

// Server implements accesspb.AccessServiceServer.
type Server struct {
	accesspb.UnimplementedAccessServiceServer
	svc  *service.Service
	auth Authenticator
}

// New returns the access service over svc, authenticating with auth.
func New(svc *service.Service, auth Authenticator) *Server {
	return &Server{svc: svc, auth: auth}
}

// Authenticate implements AccessService.Authenticate.
func (a *Server) Authenticate(ctx context.Context, req *accesspb.AuthenticateRequest) (*accesspb.AuthenticateResponse, error) {
	p, err := a.authenticate(ctx, req.GetRequest())
	a.record(ctx, methodAuthenticate, req.GetRequest(), p, err, nil)
	if err != nil {
		return nil, err
	}
	return &accesspb.AuthenticateResponse{
		Subject: a.subject(p.Subject), CredentialType: p.Credential, CredentialId: p.CredentialID, Sigv4Stream: stream(p.Stream),
	}, nil
}

// Authorize implements AccessService.Authorize.
func (a *Server) Authorize(ctx context.Context, req *accesspb.AuthorizeRequest) (*accesspb.AuthorizeResponse, error) {
	if len(req.Checks) == 0 || len(req.Checks) > 100 {
		return nil, warden.Errorf(warden.InvalidArgument, "checks: between 1 and 100 checks are required")
	}
	var p authn.Principal
	switch {
	case req.Request != nil:
		var err error
		if p, err = a.authenticate(ctx, req.Request); err != nil {
			a.record(ctx, methodAuthorize, req.Request, p, err, nil)
			return nil, err
		}
	case req.Subject != nil:
		if err := a.callerMayCheck(ctx); err != nil {
			return nil, err
		}
		p = service.SubjectOf(req.Subject.Type, req.Subject.Id)
		if !a.svc.Active(ctx, p.ID) {
			return nil, warden.Errorf(warden.FailedPrecondition, "subject %s is not an active account", p.ID)
		}
	default:
		return nil, warden.Errorf(warden.InvalidArgument, "request: a request or a subject is required")
	}
	out := &accesspb.AuthorizeResponse{
		Subject: a.subject(p.Subject), CredentialType: p.Credential, CredentialId: p.CredentialID, Sigv4Stream: stream(p.Stream),
		Results: make([]*accesspb.CheckResult, len(req.Checks)),
	}
	for i, c := range req.Checks {
		if c.GetPermission() == "" || c.GetResource().GetId() == "" {
			return nil, warden.Errorf(warden.InvalidArgument, "checks[%d]: permission and resource.id are required", i)
		}
		allowed := a.svc.Allowed(ctx, p, c.Permission, c.Resource.Id)
		out.Results[i] = &accesspb.CheckResult{Allowed: allowed, Permission: c.Permission, Resource: c.Resource}
	}
	a.record(ctx, methodAuthorize, req.Request, p, nil, out.Results)
	return out, nil
}

const (
	methodAuthenticate = "/warden.access.v1.AccessService/Authenticate"
	methodAuthorize    = "/warden.access.v1.AccessService/Authorize"
)

// record writes the decisions of a call as data events when they are
// switched on for its service or credential type: one per check, or one
// for the authentication when there is no check.
func (a *Server) record(ctx context.Context, method string, req *accesspb.Request, p authn.Principal, err error, results []*accesspb.CheckResult) {
	cred := p.Credential
	if err != nil {
		// Declared here: its address escapes, which allocates.
		var ae *authn.Error
		if errors.As(err, &ae) {
			cred = ae.Credential
		}
	}
	if !a.svc.DataEventsOn(req.GetService(), cred) {
		return
	}
	d := service.Decision{Method: method, Service: req.GetService(), ClientAddress: req.GetClientAddress(), Principal: p, Err: err, Allowed: err == nil}
	if len(results) == 0 {
		a.svc.AuditDecision(ctx, d)
		return
	}
	for _, r := range results {
		d.Permission, d.ResourceID, d.Allowed = r.Permission, r.Resource.GetId(), r.Allowed
		a.svc.AuditDecision(ctx, d)
	}
}

// authenticate runs the presented request through the pipeline. The
// refusal reason goes to the log line of this call (the interceptor reads
// it from the error).
func (a *Server) authenticate(ctx context.Context, req *accesspb.Request) (authn.Principal, error) {
	return a.auth.Authenticate(ctx, &authn.Request{
		Method: req.GetMethod(), Path: req.GetPath(), Query: req.GetQuery(), Header: headers(req.GetHeaders()),
		BodyHash: req.GetBodySha256(), ClientAddress: req.GetClientAddress(), Service: req.GetService(), Scope: req.GetScope(),
		SigningRegion: req.GetSigningRegion(), SigningService: req.GetSigningService(),
	})
}

// callerMayCheck authenticates the caller of a subject-form Authorize with
// its own credential: it must hold iam.access.check on some organization.
func (a *Server) callerMayCheck(ctx context.Context) error {
	caller, err := a.auth.Authenticate(ctx, grpcapi.IncomingRequest(ctx, "/warden.access.v1.AccessService/Authorize"))
	if err != nil {
		return err
	}
	return a.svc.MayCheck(caller)
}

// stream hands the resource service what verifies an aws-chunked body.
func stream(s *sigv4.StreamSeed) *accesspb.SigV4Stream {
	if s == nil {
		return nil
	}
	return &accesspb.SigV4Stream{
		SigningKey: s.Key[:], RequestTime: s.Time.UTC().Format(time.RFC3339), Region: s.Region, Service: s.Service,
		SeedSignature: s.Signature, Trailer: s.Trailer, DecodedLength: s.DecodedLength,
	}
}

func (a *Server) subject(s authn.Subject) *accesspb.Subject {
	out := &accesspb.Subject{Type: s.Type, Id: s.ID}
	out.FolderId, out.CloudId = a.svc.Placement(s.ID)
	return out
}

// headers is a presented request's header map as an authn.Header: names
// match case-insensitively, as HTTP's do.
type headers map[string]*structpb.ListValue

// Get implements authn.Header.
func (h headers) Get(name string) string {
	if v, ok := h[name]; ok {
		return first(v)
	}
	for k, v := range h {
		if strings.EqualFold(k, name) {
			return first(v)
		}
	}
	return ""
}

// HTTP implements authn.Header.
func (h headers) HTTP() http.Header {
	out := make(http.Header, len(h))
	for k, v := range h {
		vs := make([]string, 0, len(v.GetValues()))
		for _, x := range v.GetValues() {
			vs = append(vs, x.GetStringValue())
		}
		out[http.CanonicalHeaderKey(k)] = vs
	}
	return out
}

func first(v *structpb.ListValue) string {
	if len(v.GetValues()) == 0 {
		return ""
	}
	return v.GetValues()[0].GetStringValue()
}
