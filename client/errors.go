package client

import (
	"context"
	"errors"
	"fmt"
	"strings"

	"google.golang.org/genproto/googleapis/rpc/errdetails"
	"google.golang.org/grpc"
	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/status"
)

// Error is a failed call: the gRPC code and the message the server meant
// for the caller, without the "rpc error: code = … desc = …" wrapping.
// status.Code and status.FromError still see the original status.
type Error struct {
	Code    codes.Code
	Message string
	// RequestID is the server's id for the request, when it sent one.
	RequestID string
	status    *status.Status
}

// Error implements error.
func (e *Error) Error() string { return e.Message }

// GRPCStatus lets the grpc/status package read the code and details.
func (e *Error) GRPCStatus() *status.Status { return e.status }

// newError converts a status into an *Error.
func newError(st *status.Status, endpoint string) *Error {
	e := &Error{Code: st.Code(), Message: st.Message(), status: st}
	for _, d := range st.Details() {
		if ri, ok := d.(*errdetails.RequestInfo); ok {
			e.RequestID = ri.RequestId
		}
	}
	switch {
	case e.Message == "":
		e.Message = st.Code().String()
	case st.Code() == codes.Unavailable && endpoint != "":
		// Transport errors do not say where the client was connecting,
		// and their text is the HTTP/2 stack's.
		e.Message = fmt.Sprintf("cannot reach Warden at %s: %s", endpoint, explainTransport(e.Message))
	}
	return e
}

// explainTransport turns the text of a transport failure into what the
// user can do about it. The raw text stays in the status (and in the
// CLI's --debug output).
func explainTransport(msg string) string {
	switch {
	case strings.Contains(msg, "connection refused"):
		return "nothing accepts connections there (is wardend running, and is the endpoint right?)"
	case strings.Contains(msg, "frame too large"), strings.Contains(msg, "server preface"),
		strings.Contains(msg, "malformed HTTP"), strings.Contains(msg, "HTTP/1"):
		return "the server there does not speak plaintext gRPC: if it serves TLS, use --tls or an https:// endpoint; else check that the endpoint is wardend's"
	case strings.Contains(msg, "first record does not look like a TLS handshake"):
		return "the server there does not speak TLS: use an http:// endpoint and no --tls"
	case strings.Contains(msg, "certificate"):
		return "its TLS certificate was not accepted: " + lastClause(msg)
	case strings.Contains(msg, "no such host"):
		return "the host name does not resolve"
	case strings.Contains(msg, "i/o timeout"), strings.Contains(msg, "deadline exceeded"):
		return "the connection timed out"
	}
	return lastClause(msg)
}

// lastClause is the innermost cause of a chain of "a: b: c" wrappings,
// without gRPC's quoting.
func lastClause(msg string) string {
	msg = strings.Trim(msg, `"`)
	if i := strings.LastIndex(msg, ": "); i >= 0 && i+2 < len(msg) {
		return strings.Trim(msg[i+2:], `"`)
	}
	return msg
}

// cleanErrors turns the status errors of every call into *Error.
func cleanErrors(endpoint string) grpc.UnaryClientInterceptor {
	return func(ctx context.Context, method string, req, reply any, cc *grpc.ClientConn, invoker grpc.UnaryInvoker, opts ...grpc.CallOption) error {
		err := invoker(ctx, method, req, reply, cc, opts...)
		if err == nil {
			return nil
		}
		var e *Error
		if errors.As(err, &e) {
			return err
		}
		st, ok := status.FromError(err)
		if !ok {
			return err
		}
		return newError(st, endpoint)
	}
}
