package client

import (
	"context"
	"errors"
	"fmt"

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
		// Transport errors do not say where the client was connecting.
		e.Message = fmt.Sprintf("cannot reach Warden at %s: %s", endpoint, e.Message)
	}
	return e
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
