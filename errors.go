// Package warden is the domain of Warden, a self-hosted identity and access
// management service: resources, subjects, credentials, operations, the error
// type shared by every layer and the storage contract. It imports nothing of
// HTTP, SQL or gRPC; transports and backends live in subpackages.
package warden

import (
	"errors"
	"fmt"
	"time"
)

// Code classifies an Error independently of the transport that reports it.
type Code string

// Error codes. Each maps to exactly one gRPC code and one HTTP status at the
// edge (see api/grpcapi).
const (
	InvalidArgument    Code = "invalid_argument"
	NotFound           Code = "not_found"
	AlreadyExists      Code = "already_exists"
	PermissionDenied   Code = "permission_denied"
	Unauthenticated    Code = "unauthenticated"
	FailedPrecondition Code = "failed_precondition"
	ResourceExhausted  Code = "resource_exhausted"
	Unimplemented      Code = "unimplemented"
	Unavailable        Code = "unavailable"
	Internal           Code = "internal"

	// TooLarge is a request bigger than a limit: HTTP 413, which says to a
	// REST client that retrying the same request cannot help (429 would
	// invite it); gRPC has no code of its own and answers ResourceExhausted.
	TooLarge Code = "too_large"
)

// Error is Warden's one error type. Message is safe to show to the caller;
// Cause is for logs only and is never returned over the wire.
type Error struct {
	Code    Code
	Message string
	Cause   error
	// RetryAfter, when set on a ResourceExhausted or Unavailable error, is
	// how long the caller should wait before trying again: the edge sends
	// it as google.rpc.RetryInfo and as the HTTP Retry-After header.
	RetryAfter time.Duration
	// Reason, when set, is a machine-readable cause that is safe to show
	// (for a SigV4 refusal, the AWS error code a resource service answers
	// its client with): the edge sends it as google.rpc.ErrorInfo.
	Reason string
}

// Error implements error.
func (e *Error) Error() string {
	if e.Cause != nil {
		return fmt.Sprintf("%s: %s: %v", e.Code, e.Message, e.Cause)
	}
	return fmt.Sprintf("%s: %s", e.Code, e.Message)
}

// Unwrap returns the internal cause.
func (e *Error) Unwrap() error { return e.Cause }

// Errorf returns an *Error with a caller-safe formatted message.
func Errorf(code Code, format string, args ...any) *Error {
	return &Error{Code: code, Message: fmt.Sprintf(format, args...)}
}

// ErrorCode returns the code of the first *Error in err's chain, Internal for
// any other non-nil error and "" for nil.
func ErrorCode(err error) Code {
	if err == nil {
		return ""
	}
	var e *Error
	if errors.As(err, &e) {
		return e.Code
	}
	return Internal
}

// ErrorMessage returns the caller-safe message of err: the message of the
// first *Error in its chain, or a generic text for anything else so that
// internals never leak.
func ErrorMessage(err error) string {
	var e *Error
	if errors.As(err, &e) {
		return e.Message
	}
	return "internal error"
}

// ErrUnauthenticated is the one answer to every failed authentication: it does
// not say whether the credential, the subject or the signature was wrong.
var ErrUnauthenticated = &Error{Code: Unauthenticated, Message: "the request is unauthenticated: the credential is missing, malformed, expired or revoked"}

// IsCode reports whether err carries code.
func IsCode(err error, code Code) bool { return ErrorCode(err) == code }
