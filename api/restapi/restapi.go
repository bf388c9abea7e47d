// Package restapi serves every gRPC method that carries a google.api.http
// annotation as REST/JSON on the annotated verb and path, the way the Yandex
// Cloud REST API does. Routes are derived from the compiled descriptors, so
// a service registered on the gRPC server gets REST with no further code,
// and REST calls run through the very same interceptor chain as gRPC.
package restapi

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"net/http"
	"net/url"
	"sort"
	"strconv"
	"strings"
	"sync"

	"google.golang.org/genproto/googleapis/api/annotations"
	"google.golang.org/grpc"
	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/metadata"
	"google.golang.org/grpc/peer"
	"google.golang.org/grpc/status"
	"google.golang.org/protobuf/encoding/protojson"
	"google.golang.org/protobuf/proto"
	"google.golang.org/protobuf/reflect/protoreflect"
	"google.golang.org/protobuf/reflect/protoregistry"

	"warden"
	"warden/api/grpcapi"
	"warden/api/jsonbody"
)

// maxBody bounds a request body.
const maxBody = 4 << 20

// Handler routes REST requests to gRPC methods.
type Handler struct {
	routes    map[string][]*route // by HTTP method
	exact     map[string]*route   // "VERB /path" of routes without variables
	intercept grpc.UnaryServerInterceptor
	unmarshal protojson.UnmarshalOptions
	marshal   protojson.MarshalOptions
}

type route struct {
	method   grpcapi.Method
	codec    *Codec
	input    protoreflect.MessageType
	body     string // "", "*" or a field name
	segments []segment
	verb     string
	literals int
	template string
}

type segment struct {
	literal string
	field   string // set for a variable
	rest    bool   // {field=**}: matches the remaining segments
}

// New builds the routes of every annotated method of srv.
func New(srv *grpcapi.Server) (*Handler, error) {
	h := &Handler{
		routes:    map[string][]*route{},
		intercept: srv.Intercept,
		unmarshal: protojson.UnmarshalOptions{},
		marshal:   protojson.MarshalOptions{},
	}
	names := make([]string, 0, len(srv.Methods()))
	for name := range srv.Methods() {
		names = append(names, name)
	}
	sort.Strings(names)
	for _, name := range names {
		m := srv.Methods()[name]
		if err := h.add(m); err != nil {
			return nil, err
		}
	}
	for _, rs := range h.routes {
		// Most specific first: routes with a verb, then more literal segments.
		sort.SliceStable(rs, func(i, j int) bool {
			if (rs[i].verb != "") != (rs[j].verb != "") {
				return rs[i].verb != ""
			}
			return rs[i].literals > rs[j].literals
		})
	}
	h.indexExact()
	return h, nil
}

// indexExact indexes the routes without variables by verb and path: such a
// route wins whenever it matches (no route with variables ranks above it),
// so it is found with one lookup rather than a scan of the verb's routes.
func (h *Handler) indexExact() {
	h.exact = map[string]*route{}
	for verb, rs := range h.routes {
		for _, rt := range rs {
			if rt.literals == len(rt.segments) {
				if _, dup := h.exact[verb+" "+rt.template]; !dup {
					h.exact[verb+" "+rt.template] = rt
				}
			}
		}
	}
}

func (h *Handler) add(m grpcapi.Method) error {
	svc, meth, _ := strings.Cut(strings.TrimPrefix(m.FullName, "/"), "/")
	d, err := protoregistry.GlobalFiles.FindDescriptorByName(protoreflect.FullName(svc))
	if err != nil {
		return fmt.Errorf("restapi: %s: %w", m.FullName, err)
	}
	md := d.(protoreflect.ServiceDescriptor).Methods().ByName(protoreflect.Name(meth))
	if md == nil {
		return fmt.Errorf("restapi: %s: no descriptor", m.FullName)
	}
	rule, _ := proto.GetExtension(md.Options(), annotations.E_Http).(*annotations.HttpRule)
	if rule == nil {
		return nil
	}
	input, err := protoregistry.GlobalTypes.FindMessageByName(md.Input().FullName())
	if err != nil {
		return fmt.Errorf("restapi: %s: %w", m.FullName, err)
	}
	for _, r := range append([]*annotations.HttpRule{rule}, rule.AdditionalBindings...) {
		verb, path := httpPattern(r)
		if path == "" {
			continue
		}
		rt, err := parseTemplate(path)
		if err != nil {
			return fmt.Errorf("restapi: %s: %w", m.FullName, err)
		}
		rt.method, rt.input, rt.body, rt.template = m, input, r.Body, path
		h.routes[verb] = append(h.routes[verb], rt)
	}
	return nil
}

func httpPattern(r *annotations.HttpRule) (string, string) {
	switch p := r.Pattern.(type) {
	case *annotations.HttpRule_Get:
		return http.MethodGet, p.Get
	case *annotations.HttpRule_Post:
		return http.MethodPost, p.Post
	case *annotations.HttpRule_Patch:
		return http.MethodPatch, p.Patch
	case *annotations.HttpRule_Put:
		return http.MethodPut, p.Put
	case *annotations.HttpRule_Delete:
		return http.MethodDelete, p.Delete
	case *annotations.HttpRule_Custom:
		return p.Custom.Kind, p.Custom.Path
	}
	return "", ""
}

// Codec decodes a method's request body and encodes its answer without
// protojson's reflection, for methods on every request's path. Either may
// be nil or decline: Decode with an error for which Fallback is true (the
// message is then reset and protojson decodes the body, answering its own
// errors), Encode by returning false. A codec must mean by a body exactly
// what protojson means by it, and write what protojson would.
type Codec struct {
	Decode   func(body []byte, msg proto.Message) error
	Fallback func(error) bool
	Encode   func(dst []byte, msg proto.Message) ([]byte, bool)
}

// SetCodec makes the routes of a method (a full name) use c for their
// answer, and for their body where it is the whole message ("*").
func (h *Handler) SetCodec(method string, c *Codec) {
	for _, rs := range h.routes {
		for _, rt := range rs {
			if rt.method.FullName == method {
				rt.codec = c
			}
		}
	}
}

// Route is a REST route and the gRPC method it calls.
type Route struct {
	Verb, Path string // Path is the google.api.http template
	Method     string
}

// Routes returns every route, sorted by path and verb.
func (h *Handler) Routes() []Route {
	var out []Route
	for verb, rs := range h.routes {
		for _, rt := range rs {
			out = append(out, Route{Verb: verb, Path: rt.template, Method: rt.method.FullName})
		}
	}
	sort.Slice(out, func(i, j int) bool {
		if out[i].Path != out[j].Path {
			return out[i].Path < out[j].Path
		}
		return out[i].Verb < out[j].Verb
	})
	return out
}

// parseTemplate reads a path template such as
// /iam/v1/serviceAccounts/{service_account_id}:suspend.
func parseTemplate(path string) (*route, error) {
	rt := &route{}
	parts := strings.Split(strings.TrimPrefix(path, "/"), "/")
	last := parts[len(parts)-1]
	if i := strings.LastIndex(last, ":"); i >= 0 && !strings.Contains(last[i:], "}") {
		rt.verb, parts[len(parts)-1] = last[i+1:], last[:i]
	}
	for _, p := range parts {
		if strings.HasPrefix(p, "{") && strings.HasSuffix(p, "}") {
			field, pattern, _ := strings.Cut(p[1:len(p)-1], "=")
			rt.segments = append(rt.segments, segment{field: field, rest: pattern == "**"})
			continue
		}
		if strings.ContainsAny(p, "{}") {
			return nil, fmt.Errorf("unsupported path template %q", path)
		}
		rt.segments = append(rt.segments, segment{literal: p})
		rt.literals++
	}
	return rt, nil
}

// match returns the path variables when the route matches the escaped path.
func (rt *route) match(parts []string) (map[string]string, bool) {
	if rt.verb != "" {
		last := parts[len(parts)-1]
		if !strings.HasSuffix(last, ":"+rt.verb) {
			return nil, false
		}
		parts = append(parts[:len(parts)-1:len(parts)-1], strings.TrimSuffix(last, ":"+rt.verb))
	}
	vars := map[string]string{}
	for i, s := range rt.segments {
		if s.rest {
			if i >= len(parts) {
				return nil, false
			}
			vars[s.field] = strings.Join(parts[i:], "/")
			return vars, true
		}
		if i >= len(parts) {
			return nil, false
		}
		if s.literal != "" {
			if parts[i] != s.literal {
				return nil, false
			}
			continue
		}
		if parts[i] == "" || strings.Contains(parts[i], ":") && rt.verb == "" && i == len(rt.segments)-1 {
			return nil, false
		}
		vars[s.field] = parts[i]
	}
	return vars, len(parts) == len(rt.segments)
}

func (h *Handler) find(r *http.Request) (*route, map[string]string, bool) {
	if rt, ok := h.exact[r.Method+" "+r.URL.EscapedPath()]; ok {
		return rt, nil, true
	}
	parts := strings.Split(strings.TrimPrefix(r.URL.EscapedPath(), "/"), "/")
	for _, rt := range h.routes[r.Method] {
		if vars, ok := rt.match(parts); ok {
			return rt, vars, true
		}
	}
	return nil, nil, false
}

// ServeHTTP implements http.Handler.
func (h *Handler) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	id := grpcapi.NewRequestID()
	w.Header().Set("X-Request-Id", id)
	// Bodies are read by jsonbody, which bounds their nesting.
	ctx := grpcapi.WithBoundedDepth(grpcapi.WithRequestID(incoming(r), id))
	rt, vars, ok := h.find(r)
	if !ok {
		WriteError(w, status.Errorf(codes.NotFound, "no API method at %s %s", r.Method, r.URL.Path), id)
		return
	}
	// The request is decoded into the message the method's handler
	// allocates: no copy of it. A decoding error is answered before the
	// interceptors run, as gRPC answers a message it cannot parse.
	dec := func(v any) error { return h.decode(r, rt, vars, v.(proto.Message).ProtoReflect()) }
	resp, err := rt.method.Desc.Handler(rt.method.Impl, ctx, dec, h.intercept)
	if err != nil {
		WriteError(w, err, id)
		return
	}
	if rt.codec != nil && rt.codec.Encode != nil && writeEncoded(w, rt.codec, resp.(proto.Message)) {
		return
	}
	b, err := h.marshal.Marshal(resp.(proto.Message))
	if err != nil {
		WriteError(w, status.Error(codes.Internal, "internal error"), id)
		return
	}
	w.Header().Set("Content-Type", "application/json")
	w.Write(b)
}

// writeEncoded answers msg as c encodes it, into a buffer of the pool;
// false when c leaves it to protojson.
func writeEncoded(w http.ResponseWriter, c *Codec, msg proto.Message) bool {
	buf := answers.Get().(*[]byte)
	b, ok := c.Encode((*buf)[:0], msg)
	if ok {
		w.Header().Set("Content-Type", "application/json")
		w.Write(b) // copied into the connection's buffer: b is reused
	}
	if cap(b) <= 64<<10 {
		*buf = b
		answers.Put(buf)
	}
	return ok
}

// answers are the buffers codecs encode answers into, bodies those
// request bodies are read into.
var (
	answers = sync.Pool{New: func() any { b := make([]byte, 0, 4096); return &b }}
	bodies  = sync.Pool{New: func() any { b := make([]byte, 0, 2048); return &b }}
)

// Incoming is the context a handler outside the routes gives
// grpcapi.Server.Handle: the request's headers as metadata, its client
// address as the peer.
func Incoming(r *http.Request) context.Context { return incoming(r) }

// incoming presents the HTTP request to the interceptors as gRPC would: its
// headers as incoming metadata and the client address as the peer.
func incoming(r *http.Request) context.Context {
	md := make(metadata.MD, len(r.Header))
	for k, vs := range r.Header {
		md[lowerHeader(k)] = vs
	}
	ctx := grpcapi.WithIncoming(r.Context(), md)
	if r.RemoteAddr != "" {
		// As net/http wrote it ("IP:port"): the pipeline and the log read
		// it as a string, so it is not parsed (ResolveTCPAddr) per request.
		ctx = peer.NewContext(ctx, &peer.Peer{Addr: remoteAddr(r.RemoteAddr)})
	}
	return ctx
}

// lowerNames are the lower-case forms of the headers most requests carry,
// so that their names cost no allocation per request.
var lowerNames = func() map[string]string {
	m := map[string]string{}
	for _, h := range []string{"Accept", "Accept-Encoding", "Authorization", "Connection", "Content-Length", "Content-Type",
		"User-Agent", "X-Auth-Token", "X-Subject-Token", "X-Token", "X-Request-Id", "X-Forwarded-For", "X-Real-Ip",
		"X-Yacloud-Subjecttoken", "X-Amz-Date", "X-Amz-Content-Sha256", "X-Amz-Security-Token", "Api-Key", "Host"} {
		m[h] = strings.ToLower(h)
	}
	return m
}()

// lowerHeader is a canonical header name in lower case, as gRPC metadata
// keys are.
func lowerHeader(k string) string {
	if l, ok := lowerNames[k]; ok {
		return l
	}
	return strings.ToLower(k)
}

// remoteAddr is a client's TCP address as net/http gives it.
type remoteAddr string

func (a remoteAddr) Network() string { return "tcp" }
func (a remoteAddr) String() string  { return string(a) }

// WriteError answers err as google.rpc.Status JSON, with the request id in
// its details and the HTTP status of its code.
func WriteError(w http.ResponseWriter, err error, id string) {
	st := grpcapi.Status(err, id)
	code := grpcapi.HTTPStatus(st.Code())
	if warden.IsCode(err, warden.TooLarge) {
		code = http.StatusRequestEntityTooLarge // gRPC's ResourceExhausted would say 429: retry later
	}
	b, merr := protojson.Marshal(st.Proto())
	if merr != nil {
		b = []byte(`{"code":13,"message":"internal error"}`)
	}
	w.Header().Set("Content-Type", "application/json")
	if code == http.StatusTooManyRequests || code == http.StatusServiceUnavailable {
		// Tell the client when to come back (a 413 gets none: retrying
		// the same body cannot help).
		w.Header().Set("Retry-After", strconv.Itoa(grpcapi.RetryAfterSeconds(st)))
	}
	w.WriteHeader(code)
	w.Write(b)
}

func invalid(format string, args ...any) error {
	return status.Errorf(codes.InvalidArgument, format, args...)
}

// decode builds the request message from the body, path and query.
func (h *Handler) decode(r *http.Request, rt *route, vars map[string]string, msg protoreflect.Message) error {
	if rt.body != "" {
		// The body is read into a buffer of the pool: decoders copy what
		// they keep.
		buf := bodies.Get().(*[]byte)
		defer func() {
			if cap(*buf) <= 64<<10 {
				bodies.Put(buf)
			}
		}()
		body, err := jsonbody.Append((*buf)[:0], r.Body, maxBody)
		*buf = body
		if err != nil {
			return err
		}
		if rt.codec != nil && rt.codec.Decode != nil && rt.body == "*" && len(vars) == 0 {
			// A hand decoder reads a fixed shape: it does not recurse.
			err := rt.codec.Decode(body, msg.Interface())
			if err == nil {
				return nil
			}
			if !rt.codec.Fallback(err) {
				return err
			}
			proto.Reset(msg.Interface())
		}
		// Nesting is bounded before protojson builds anything: a deep body
		// would make it and the validator recurse.
		if err := jsonbody.CheckDepth(body, jsonbody.MaxDepth); err != nil {
			return err
		}
		if len(bytes.TrimSpace(body)) > 0 {
			target := msg
			if rt.body != "*" {
				fd := msg.Descriptor().Fields().ByName(protoreflect.Name(rt.body))
				if fd == nil || fd.Message() == nil {
					return status.Errorf(codes.Internal, "internal error")
				}
				target = msg.Mutable(fd).Message()
			}
			if err := h.unmarshal.Unmarshal(body, target.Interface()); err != nil {
				return invalid("invalid JSON body: %s", strings.TrimPrefix(err.Error(), "proto: "))
			}
		}
	}
	for field, raw := range vars {
		v, err := url.PathUnescape(raw)
		if err != nil {
			return invalid("%s: malformed path segment", field)
		}
		if err := setField(msg, field, []string{v}); err != nil {
			return err
		}
	}
	if rt.body != "*" {
		for key, vals := range r.URL.Query() {
			if err := setField(msg, key, vals); err != nil {
				return err
			}
		}
	}
	return nil
}

// setField sets a (possibly dotted) field named by its proto or JSON name
// from string values, as grpc-gateway does for path and query parameters.
func setField(msg protoreflect.Message, path string, vals []string) error {
	names := strings.Split(path, ".")
	for i, name := range names {
		fds := msg.Descriptor().Fields()
		fd := fds.ByName(protoreflect.Name(name))
		if fd == nil {
			fd = fds.ByJSONName(name)
		}
		if fd == nil {
			return invalid("unknown parameter %q", path)
		}
		if i < len(names)-1 {
			if fd.Message() == nil || fd.IsList() || fd.IsMap() {
				return invalid("unknown parameter %q", path)
			}
			msg = msg.Mutable(fd).Message()
			continue
		}
		if fd.IsMap() {
			return invalid("parameter %q cannot be set in the query", path)
		}
		if fd.IsList() {
			l := msg.Mutable(fd).List()
			for _, s := range vals {
				v, err := parseScalar(fd, s)
				if err != nil {
					return invalid("%s: %v", path, err)
				}
				l.Append(v)
			}
			return nil
		}
		if len(vals) == 0 {
			return nil
		}
		v, err := parseScalar(fd, vals[len(vals)-1])
		if err != nil {
			return invalid("%s: %v", path, err)
		}
		msg.Set(fd, v)
	}
	return nil
}

func parseScalar(fd protoreflect.FieldDescriptor, s string) (protoreflect.Value, error) {
	switch fd.Kind() {
	case protoreflect.StringKind:
		return protoreflect.ValueOfString(s), nil
	case protoreflect.BoolKind:
		b, err := strconv.ParseBool(s)
		return protoreflect.ValueOfBool(b), err
	case protoreflect.Int32Kind, protoreflect.Sint32Kind, protoreflect.Sfixed32Kind:
		n, err := strconv.ParseInt(s, 10, 32)
		return protoreflect.ValueOfInt32(int32(n)), err
	case protoreflect.Int64Kind, protoreflect.Sint64Kind, protoreflect.Sfixed64Kind:
		n, err := strconv.ParseInt(s, 10, 64)
		return protoreflect.ValueOfInt64(n), err
	case protoreflect.Uint32Kind, protoreflect.Fixed32Kind:
		n, err := strconv.ParseUint(s, 10, 32)
		return protoreflect.ValueOfUint32(uint32(n)), err
	case protoreflect.Uint64Kind, protoreflect.Fixed64Kind:
		n, err := strconv.ParseUint(s, 10, 64)
		return protoreflect.ValueOfUint64(n), err
	case protoreflect.DoubleKind:
		f, err := strconv.ParseFloat(s, 64)
		return protoreflect.ValueOfFloat64(f), err
	case protoreflect.FloatKind:
		f, err := strconv.ParseFloat(s, 32)
		return protoreflect.ValueOfFloat32(float32(f)), err
	case protoreflect.EnumKind:
		if ev := fd.Enum().Values().ByName(protoreflect.Name(s)); ev != nil {
			return protoreflect.ValueOfEnum(ev.Number()), nil
		}
		n, err := strconv.ParseInt(s, 10, 32)
		if err != nil {
			return protoreflect.Value{}, fmt.Errorf("unknown value %q", s)
		}
		return protoreflect.ValueOfEnum(protoreflect.EnumNumber(n)), nil
	case protoreflect.MessageKind:
		// Well-known wrappers such as Timestamp and FieldMask take their
		// JSON string form.
		m := dynamicNew(fd)
		if err := protojson.Unmarshal([]byte(strconv.Quote(s)), m.Interface()); err != nil {
			return protoreflect.Value{}, fmt.Errorf("malformed value %q", s)
		}
		return protoreflect.ValueOfMessage(m), nil
	}
	return protoreflect.Value{}, fmt.Errorf("unsupported parameter type")
}

// HandlerFunc serves a hand-written JSON endpoint (not a protobuf method)
// through srv's interceptor chain as method: request id, authentication,
// the permission table, one log line and metrics. fn returns the response
// body, encoded as JSON; its error is answered as google.rpc.Status JSON.
func HandlerFunc(srv *grpcapi.Server, method string, fn func(context.Context, *http.Request) (any, error)) http.HandlerFunc {
	return func(w http.ResponseWriter, r *http.Request) {
		id := grpcapi.NewRequestID()
		w.Header().Set("X-Request-Id", id)
		var body any
		var fnErr error
		err := srv.Handle(grpcapi.WithRequestID(incoming(r), id), method, func(ctx context.Context) error {
			body, fnErr = fn(ctx, r)
			return fnErr
		})
		if err != nil {
			if warden.IsCode(fnErr, warden.TooLarge) {
				err = fnErr // the gRPC status Handle answers has no 413 of its own
			}
			WriteError(w, err, id)
			return
		}
		w.Header().Set("Content-Type", "application/json")
		json.NewEncoder(w).Encode(body)
	}
}
