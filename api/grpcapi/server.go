package grpcapi

import (
	"context"
	"log/slog"
	"math/rand/v2"
	"runtime"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	"google.golang.org/grpc"
	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/keepalive"
	"google.golang.org/grpc/metadata"
	"google.golang.org/grpc/peer"
	"google.golang.org/protobuf/proto"
	"google.golang.org/protobuf/types/known/emptypb"

	"warden"
	"warden/api/validate"
	"warden/authn"
)

// Authenticator is the authentication pipeline (authn.Pipeline). Its
// errors carry the log reason (authn.Reason) apart from the answer.
type Authenticator interface {
	Authenticate(ctx context.Context, r *authn.Request) (authn.Principal, error)
}

// Config configures the gRPC server.
type Config struct {
	Logger  *slog.Logger
	Metrics prometheus.Registerer
	Auth    Authenticator
	// Public lists full method names callable without a credential.
	Public map[string]bool
	// Authorize enforces the permission table for a method after
	// authentication and validation; every non-public method is checked.
	Authorize func(ctx context.Context, method string, req proto.Message) error
	// Incoming, when set, lets the service see request metadata it needs
	// beyond the credential (a caller-supplied public key), as context
	// values: the service never reads transport metadata itself.
	Incoming func(ctx context.Context, md metadata.MD) context.Context
	// Audit, when set, is told how every call ended (see audit.go).
	Audit func(ctx context.Context, method string, req proto.Message, err error)
}

// Method is one unary method of a registered service: what REST needs to
// call it through the same interceptor chain as gRPC.
type Method struct {
	FullName string // /package.Service/Method
	Impl     any
	Desc     grpc.MethodDesc
}

// Server is a gRPC server that also records its methods for REST.
type Server struct {
	*grpc.Server
	cfg     Config
	methods map[string]Method
	metrics *metrics
}

// NewServer returns a Server whose keepalive policy admits the Yandex SDK's
// 30-second pings on idle connections.
func NewServer(cfg Config) (*Server, error) {
	if cfg.Logger == nil || cfg.Auth == nil || cfg.Metrics == nil || cfg.Authorize == nil {
		return nil, errorf("Logger, Metrics, Auth and Authorize are required")
	}
	m, err := newMetrics(cfg.Metrics)
	if err != nil {
		return nil, err
	}
	s := &Server{cfg: cfg, methods: map[string]Method{}, metrics: m}
	s.Server = grpc.NewServer(
		grpc.UnaryInterceptor(s.Intercept),
		grpc.KeepaliveEnforcementPolicy(keepalive.EnforcementPolicy{MinTime: 10 * time.Second, PermitWithoutStream: true}),
		grpc.MaxRecvMsgSize(4<<20),
		// Calls run on goroutines kept from call to call (any beyond them
		// on a goroutine of their own, as without the option): a fresh
		// goroutine grew its stack through the interceptor chain on every
		// call, a tenth of the CPU of an Authorize.
		grpc.NumStreamWorkers(uint32(streamWorkers())),
	)
	return s, nil
}

// streamWorkers is how many goroutines serve gRPC calls: enough that one
// is free for nearly every call while the cores are busy with the rest.
func streamWorkers() int { return max(64, 16*runtime.GOMAXPROCS(0)) }

// RegisterService implements grpc.ServiceRegistrar.
func (s *Server) RegisterService(desc *grpc.ServiceDesc, impl any) {
	s.Server.RegisterService(desc, impl)
	for _, m := range desc.Methods {
		full := "/" + desc.ServiceName + "/" + m.MethodName
		s.methods[full] = Method{FullName: full, Impl: impl, Desc: m}
	}
}

// Methods returns the unary methods registered so far by full name.
func (s *Server) Methods() map[string]Method { return s.methods }

type requestIDKey struct{}

// WithRequestID returns ctx carrying a request id chosen by the transport.
func WithRequestID(ctx context.Context, id string) context.Context {
	return context.WithValue(ctx, requestIDKey{}, id)
}

// RequestID returns the request id of ctx ("" when none).
func RequestID(ctx context.Context) string {
	id, _ := ctx.Value(requestIDKey{}).(string)
	return id
}

type incomingKey struct{}

// WithIncoming returns ctx carrying md as the call's incoming metadata, for
// a transport that builds md afresh for each request (REST): the
// interceptor and the pipeline then read it as it is, without the copy
// metadata.FromIncomingContext makes of every header. Nothing may change
// md afterwards.
func WithIncoming(ctx context.Context, md metadata.MD) context.Context {
	return context.WithValue(metadata.NewIncomingContext(ctx, md), incomingKey{}, md)
}

// incomingMD is the incoming metadata of ctx: as WithIncoming gave it, or
// a copy of gRPC's.
func incomingMD(ctx context.Context) metadata.MD {
	if md, ok := ctx.Value(incomingKey{}).(metadata.MD); ok {
		return md
	}
	md, _ := metadata.FromIncomingContext(ctx)
	return md
}

type boundedDepthKey struct{}

// WithBoundedDepth marks a request whose message nesting the transport has
// bounded already (a JSON body within jsonbody.MaxDepth): validation then
// skips the walk that only the depth bound would need.
func WithBoundedDepth(ctx context.Context) context.Context {
	return context.WithValue(ctx, boundedDepthKey{}, true)
}

// NewRequestID returns a fresh random request id: 32 hex digits.
func NewRequestID() string { return newRequestID("") }

// NewOpenStackRequestID returns a fresh request id and the same id as
// OpenStack services write it ("req-<id>"), from one allocation.
func NewOpenStackRequestID() (id, openstack string) {
	s := newRequestID("req-")
	return s[len("req-"):], s
}

// newRequestID is prefix and 128 random bits in hex. The bits come from
// the runtime's per-thread ChaCha8 generator (seeded by the OS), not
// crypto/rand: an id names a request in logs, answers and audit events and
// grants nothing, so it must be unique, and needs no system call or lock
// per request.
func newRequestID(prefix string) string {
	const digits = "0123456789abcdef"
	var b [8 + 32]byte
	n := copy(b[:], prefix)
	for _, v := range [2]uint64{rand.Uint64(), rand.Uint64()} {
		for i := 60; i >= 0; i -= 4 {
			b[n] = digits[v>>uint(i)&0xf]
			n++
		}
	}
	return string(b[:n])
}

// Intercept is the unary interceptor chain shared by gRPC and REST: it
// assigns the request id, authenticates, validates, calls the handler, maps
// the error, logs one line and records metrics.
func (s *Server) Intercept(ctx context.Context, req any, info *grpc.UnaryServerInfo, handler grpc.UnaryHandler) (any, error) {
	start := time.Now()
	id := RequestID(ctx)
	if id == "" {
		// Called by gRPC itself: answer the id in the response headers.
		id = NewRequestID()
		ctx = WithRequestID(ctx, id)
		grpc.SetHeader(ctx, metadata.Pairs("x-request-id", id))
	}
	var client string
	if p, ok := peer.FromContext(ctx); ok && p.Addr != nil {
		client = p.Addr.String()
	}
	ctx = s.auditBegin(ctx, id, info.FullMethod, client)
	ctx, resp, err := s.call(ctx, req, info, handler, client)
	s.auditEnd(ctx, info.FullMethod, req, err)
	st := Status(err, id)
	code := st.Code()
	end := time.Now()
	s.logRequest(ctx, end, id, info.FullMethod, code, end.Sub(start), client, err)
	s.metrics.observe(info.FullMethod, code, end.Sub(start))
	if err != nil {
		return nil, st.Err()
	}
	return resp, nil
}

// logRequest writes a request's one log line. It hands the handler a
// record of typed attributes itself, as slog advises wrappers to: no
// attribute is boxed in an interface and no caller's frame is looked up,
// on a line every request writes.
func (s *Server) logRequest(ctx context.Context, end time.Time, id, method string, code codes.Code, took time.Duration, client string, err error) {
	level := slog.LevelInfo
	var reason string
	if err != nil {
		reason = authn.Reason(err) // asked only for an error: it allocates even for nil
	}
	if reason == "" && err != nil && (code == codes.Internal || code == codes.Unavailable) {
		level = slog.LevelError // keep the cause for operators
	}
	h := s.cfg.Logger.Handler()
	if !h.Enabled(ctx, level) {
		return
	}
	var buf [9]slog.Attr
	attrs := append(buf[:0], slog.String("request_id", id), slog.String("method", method), slog.String("code", code.String()),
		slog.Float64("duration_ms", float64(took.Microseconds())/1000))
	if client != "" {
		attrs = append(attrs, slog.String("peer", client))
	}
	if sub := authn.PrincipalFrom(ctx); sub.ID != "" {
		attrs = append(attrs, slog.String("subject", sub.ID), slog.String("credential", sub.Credential))
	}
	switch {
	case reason != "":
		attrs = append(attrs, slog.String("reason", reason))
	case level == slog.LevelError:
		attrs = append(attrs, slog.String("err", err.Error()))
	}
	r := slog.NewRecord(end, level, "request", 0)
	r.AddAttrs(attrs...)
	h.Handle(ctx, r)
}

// handleRequest is the request message of every Handle call: empty, read
// by nothing (fn has the request itself), shared.
var handleRequest proto.Message = &emptypb.Empty{}

// Handle runs fn as the method named method with what Intercept gives a
// protobuf method: request id, authentication (the subject is in fn's ctx),
// one log line and metrics. It is for endpoints that are not protobuf
// methods (the Cloud.ru-style REST API); fn validates and authorizes
// itself. The error is the google.rpc.Status to answer with.
func (s *Server) Handle(ctx context.Context, method string, fn func(context.Context) error) error {
	info := &grpc.UnaryServerInfo{FullMethod: method}
	_, err := s.Intercept(ctx, handleRequest, info, func(ctx context.Context, _ any) (any, error) {
		return nil, fn(ctx)
	})
	return err
}

// call authenticates (through the pipeline), validates, authorizes (through
// the permission table) and runs the handler. It returns the context the
// handler ran with, so the log line names the subject. client is the
// peer's address.
func (s *Server) call(ctx context.Context, req any, info *grpc.UnaryServerInfo, handler grpc.UnaryHandler, client string) (context.Context, any, error) {
	// One copy of the metadata serves the hook and the pipeline.
	md := incomingMD(ctx)
	if s.cfg.Incoming != nil {
		ctx = s.cfg.Incoming(ctx, md)
	}
	if !s.cfg.Public[info.FullMethod] {
		p, err := s.cfg.Auth.Authenticate(ctx, request(info.FullMethod, md, client))
		if err != nil {
			return ctx, nil, err
		}
		ctx = authn.WithPrincipal(ctx, p)
	}
	m, ok := req.(proto.Message)
	if !ok {
		return ctx, nil, errorf("request is not a protobuf message")
	}
	if m != handleRequest { // Handle's empty message has nothing to check
		check := validate.Message
		if ctx.Value(boundedDepthKey{}) != nil {
			check = validate.Rules
		}
		if err := check(m); err != nil {
			return ctx, nil, &warden.Error{Code: warden.InvalidArgument, Message: err.Error()}
		}
	}
	if !s.cfg.Public[info.FullMethod] {
		if err := s.cfg.Authorize(ctx, info.FullMethod, m); err != nil {
			return ctx, nil, err
		}
	}
	resp, err := handler(ctx, req)
	return ctx, resp, err
}

// IncomingRequest is the call of ctx as the authentication pipeline takes
// it: its metadata as the headers, its peer as the client.
func IncomingRequest(ctx context.Context, method string) *authn.Request {
	md := incomingMD(ctx)
	client := ""
	if p, ok := peer.FromContext(ctx); ok {
		client = p.Addr.String()
	}
	return request(method, md, client)
}

// request is a call as the authentication pipeline takes it: its
// metadata as the headers, client as the client's address.
func request(method string, md metadata.MD, client string) *authn.Request {
	return &authn.Request{Method: method, Header: authn.MD(md), ClientAddress: client}
}

type grpcapiError string

func (e grpcapiError) Error() string { return string(e) }

func errorf(s string) error { return grpcapiError("grpcapi: " + s) }
