package grpcapi

import (
	"context"

	"google.golang.org/grpc/metadata"
	"google.golang.org/protobuf/proto"

	"warden/audit"
)

// auditBegin gives the call's context what the audit trail records of the
// transport: request id, client address and user agent.
func (s *Server) auditBegin(ctx context.Context, requestID, method, client string) context.Context {
	if s.cfg.Audit == nil {
		return ctx
	}
	c := &audit.Call{Method: method, RequestID: requestID, RemoteAddress: client}
	// One value, without copying every header as FromIncomingContext does.
	if ua := metadata.ValueFromIncomingContext(ctx, "user-agent"); len(ua) > 0 {
		c.UserAgent = ua[0]
	}
	return audit.WithCall(ctx, c)
}

// auditEnd tells the audit trail how the call ended, so that a refused or
// failed mutation is recorded too.
func (s *Server) auditEnd(ctx context.Context, method string, req any, err error) {
	if s.cfg.Audit == nil {
		return
	}
	m, _ := req.(proto.Message)
	s.cfg.Audit(ctx, method, m, err)
}
