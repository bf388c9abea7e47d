// Package grpcapi serves Warden's services over gRPC: the interceptor chain
// (request id, logging, metrics, authentication, validation) and the one
// place where warden error codes become gRPC statuses.
package grpcapi

import (
	"context"
	"errors"
	"net/http"
	"time"

	"google.golang.org/genproto/googleapis/rpc/errdetails"
	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/status"
	"google.golang.org/protobuf/types/known/durationpb"

	"warden"
)

var grpcCodes = map[warden.Code]codes.Code{
	warden.InvalidArgument:    codes.InvalidArgument,
	warden.NotFound:           codes.NotFound,
	warden.AlreadyExists:      codes.AlreadyExists,
	warden.PermissionDenied:   codes.PermissionDenied,
	warden.Unauthenticated:    codes.Unauthenticated,
	warden.FailedPrecondition: codes.FailedPrecondition,
	warden.ResourceExhausted:  codes.ResourceExhausted,
	warden.TooLarge:           codes.ResourceExhausted,
	warden.Unimplemented:      codes.Unimplemented,
	warden.Unavailable:        codes.Unavailable,
	warden.Internal:           codes.Internal,
}

// Status converts err into a gRPC status carrying the caller-safe message and
// the request id. Errors that already are gRPC statuses pass through.
func Status(err error, requestID string) *status.Status {
	if err == nil {
		return nil
	}
	var we *warden.Error
	var st *status.Status
	switch {
	case errors.As(err, &we):
		st = status.New(grpcCodes[we.Code], we.Message)
		if we.Reason != "" {
			if withReason, err := st.WithDetails(&errdetails.ErrorInfo{Reason: we.Reason, Domain: "warden"}); err == nil {
				st = withReason
			}
		}
		if we.RetryAfter > 0 {
			if withRetry, err := st.WithDetails(&errdetails.RetryInfo{RetryDelay: durationpb.New(we.RetryAfter)}); err == nil {
				st = withRetry
			}
		}
	case errors.Is(err, context.Canceled):
		st = status.New(codes.Canceled, "the request was cancelled")
	case errors.Is(err, context.DeadlineExceeded):
		st = status.New(codes.DeadlineExceeded, "the request deadline was exceeded")
	default:
		if s, ok := status.FromError(err); ok {
			st = s
			for _, d := range s.Details() {
				if _, done := d.(*errdetails.RequestInfo); done {
					return s // this function has seen it already
				}
			}
		} else {
			st = status.New(codes.Internal, "internal error")
		}
	}
	if requestID != "" {
		if withID, err := st.WithDetails(&errdetails.RequestInfo{RequestId: requestID}); err == nil {
			st = withID
		}
	}
	return st
}

// RetryAfterSeconds is the HTTP Retry-After value for a status: the whole
// seconds, rounded up, of its google.rpc.RetryInfo, or 1 for a
// ResourceExhausted or Unavailable status without one (a 429 or 503
// answer always tells the client when to come back); 0 otherwise.
func RetryAfterSeconds(st *status.Status) int {
	for _, d := range st.Details() {
		if ri, ok := d.(*errdetails.RetryInfo); ok && ri.RetryDelay != nil {
			return max(1, int((ri.RetryDelay.AsDuration()+time.Second-1)/time.Second))
		}
	}
	if st.Code() == codes.ResourceExhausted || st.Code() == codes.Unavailable {
		return 1
	}
	return 0
}

// HTTPStatus is the HTTP status for a gRPC code, as google.rpc.Code documents.
func HTTPStatus(c codes.Code) int {
	switch c {
	case codes.OK:
		return http.StatusOK
	case codes.InvalidArgument, codes.OutOfRange:
		return http.StatusBadRequest
	case codes.Unauthenticated:
		return http.StatusUnauthorized
	case codes.PermissionDenied:
		return http.StatusForbidden
	case codes.NotFound:
		return http.StatusNotFound
	case codes.AlreadyExists, codes.Aborted:
		return http.StatusConflict
	case codes.FailedPrecondition:
		return http.StatusPreconditionFailed
	case codes.ResourceExhausted:
		return http.StatusTooManyRequests
	case codes.Canceled:
		return 499
	case codes.Unimplemented:
		return http.StatusNotImplemented
	case codes.Unavailable:
		return http.StatusServiceUnavailable
	case codes.DeadlineExceeded:
		return http.StatusGatewayTimeout
	default:
		return http.StatusInternalServerError
	}
}
