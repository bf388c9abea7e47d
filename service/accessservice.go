package service

import (
	"context"
	"errors"
	"strings"

	"google.golang.org/grpc/metadata"

	"warden"
	"warden/api/accesspb"
	"warden/apikey"
)

// AccessService implements Warden's own access service, the one question
// every resource service asks per request.
type AccessService struct {
	accesspb.UnimplementedAccessServiceServer
	s *Service
}

// AccessService returns the AccessService server.
func (s *Service) AccessService() *AccessService { return &AccessService{s: s} }

// Credential types reported by Authenticate.
const (
	credIAMToken = "iamToken"
	credAPIKey   = "apiKey"
)

// header returns the first value of a header, matched case-insensitively.
func header(req *accesspb.Request, name string) string {
	for k, v := range req.GetHeaders() {
		if strings.EqualFold(k, name) && len(v.GetValues()) > 0 {
			return v.GetValues()[0].GetStringValue()
		}
	}
	return ""
}

// errNoCredential is the log reason when a request carries no credential.
var errNoCredential = errors.New("no credential in the request")

// authenticateRequest finds the credential in a presented request and
// authenticates it; Warden, not the resource service, picks the header.
func (s *Service) authenticateRequest(ctx context.Context, req *accesspb.Request) (Subject, string, error, error) {
	if auth := header(req, "Authorization"); auth != "" {
		scheme, cred, _ := strings.Cut(auth, " ")
		switch {
		case strings.EqualFold(scheme, "Bearer"):
			sub, err, reason := s.Authenticate(strings.TrimSpace(cred))
			return sub, credIAMToken, err, reason
		case strings.EqualFold(scheme, "Api-Key"):
			sub, err, reason := s.AuthenticateAPIKey(ctx, &apikey.Request{
				Secret: strings.TrimSpace(cred), Client: req.GetClientAddress(), Now: s.now(),
				Product: req.GetService(), Scope: req.GetScope(),
			})
			if err != nil {
				return sub, credAPIKey, err, errors.New(reason)
			}
			return sub, credAPIKey, nil, nil
		}
		return Subject{}, "", warden.ErrUnauthenticated, errors.New("unsupported Authorization scheme")
	}
	if tok := header(req, "X-YaCloud-SubjectToken"); tok != "" {
		sub, err, reason := s.Authenticate(strings.TrimSpace(tok))
		return sub, credIAMToken, err, reason
	}
	return Subject{}, "", warden.ErrUnauthenticated, errNoCredential
}

func (s *Service) subjectProto(sub Subject) *accesspb.Subject {
	out := &accesspb.Subject{Type: sub.Type, Id: sub.ID}
	snap := s.authz.snap.Load()
	if n, ok := snap.Node(sub.ID); ok && n.Type == warden.TypeServiceAccount {
		out.FolderId = n.ParentID
		if f, ok := snap.Node(n.ParentID); ok {
			out.CloudId = f.ParentID
		}
	}
	return out
}

// Authenticate implements AccessService.Authenticate.
func (a *AccessService) Authenticate(ctx context.Context, req *accesspb.AuthenticateRequest) (*accesspb.AuthenticateResponse, error) {
	sub, cred, err, reason := a.s.authenticateRequest(ctx, req.GetRequest())
	if err != nil {
		a.s.log.Info("access: authentication refused", "reason", reason.Error(), "service", req.GetRequest().GetService())
		return nil, err
	}
	return &accesspb.AuthenticateResponse{Subject: a.s.subjectProto(sub), CredentialType: cred}, nil
}

// Authorize implements AccessService.Authorize.
func (a *AccessService) Authorize(ctx context.Context, req *accesspb.AuthorizeRequest) (*accesspb.AuthorizeResponse, error) {
	if len(req.Checks) == 0 || len(req.Checks) > 100 {
		return nil, warden.Errorf(warden.InvalidArgument, "checks: between 1 and 100 checks are required")
	}
	var sub Subject
	var cred string
	switch {
	case req.Request != nil:
		var err, reason error
		if sub, cred, err, reason = a.s.authenticateRequest(ctx, req.Request); err != nil {
			a.s.log.Info("access: authentication refused", "reason", reason.Error(), "service", req.Request.GetService())
			return nil, err
		}
	case req.Subject != nil:
		if err := a.s.callerMayCheck(ctx); err != nil {
			return nil, err
		}
		sub = Subject{Type: req.Subject.Type, ID: req.Subject.Id}
		if !a.s.subjectActive(ctx, sub.ID) {
			return nil, warden.Errorf(warden.FailedPrecondition, "subject %s is not an active account", sub.ID)
		}
	default:
		return nil, warden.Errorf(warden.InvalidArgument, "request: a request or a subject is required")
	}
	out := &accesspb.AuthorizeResponse{Subject: a.s.subjectProto(sub), CredentialType: cred, Results: make([]*accesspb.CheckResult, len(req.Checks))}
	subCtx := WithSubject(ctx, sub)
	for i, c := range req.Checks {
		if c.GetPermission() == "" || c.GetResource().GetId() == "" {
			return nil, warden.Errorf(warden.InvalidArgument, "checks[%d]: permission and resource.id are required", i)
		}
		allowed := a.s.authorize(subCtx, c.Permission, c.Resource.Id) == nil
		out.Results[i] = &accesspb.CheckResult{Allowed: allowed, Permission: c.Permission, Resource: c.Resource}
	}
	return out, nil
}

// callerMayCheck authenticates the caller of a subject-form Authorize: it
// must hold iam.access.check on some organization.
func (s *Service) callerMayCheck(ctx context.Context) error {
	md, _ := metadata.FromIncomingContext(ctx)
	var tok string
	if v := md.Get("authorization"); len(v) > 0 {
		tok, _ = strings.CutPrefix(v[0], "Bearer ")
	}
	caller, err, _ := s.Authenticate(strings.TrimSpace(tok))
	if err != nil {
		return err
	}
	if !s.authz.snap.Load().AllowedOnAnyRoot(caller.ID, true, "iam.access.check") {
		return errDenied("iam.access.check", "the organization")
	}
	return nil
}

// AuthorizeToken is the hot path of Authorize for one check, without the
// protobuf around it: verify the IAM token, check the subject is active,
// check the permission. It allocates nothing for a repeat token on a known
// resource.
func (s *Service) AuthorizeToken(tok, permission, resourceID string) (Subject, bool, error) {
	sub, err, _ := s.Authenticate(tok)
	if err != nil {
		return Subject{}, false, err
	}
	return sub, s.authz.snap.Load().Allowed(sub.ID, true, permission, resourceID), nil
}
