package sigv4

import (
	"errors"
	"net/http"
)

// Reason says why a request was refused, in terms a resource service can map
// to the AWS error code its clients print. The codes are AWS's own, so a
// client learns no more from Warden than it would from AWS.
type Reason uint8

// The reasons a signed request is refused.
const (
	// InvalidAccessKeyID: the access key id is unknown (or deleted, or its
	// owner suspended: AWS does not tell these apart either).
	InvalidAccessKeyID Reason = iota + 1
	// SignatureDoesNotMatch: the signature (or a chunk signature) is wrong,
	// or a signed header is missing from the request.
	SignatureDoesNotMatch
	// RequestTimeTooSkewed: X-Amz-Date or Date is more than the allowed skew
	// away from the server clock.
	RequestTimeTooSkewed
	// ExpiredToken: the session token of an ephemeral key has expired.
	ExpiredToken
	// InvalidToken: the session token is malformed or not Warden's.
	InvalidToken
	// AccessDenied: a presigned URL expired or is not valid yet, the request
	// carries no signature, or x-amz-* headers were sent unsigned.
	AccessDenied
	// AuthorizationHeaderMalformed: the Authorization header cannot be parsed,
	// or its credential scope names another date, region or service.
	AuthorizationHeaderMalformed
	// AuthorizationQueryParametersError: the same for presigned URLs,
	// including X-Amz-Expires beyond seven days.
	AuthorizationQueryParametersError
	// InvalidRequest: the request is signed in a way this service does not
	// take (both header and query signature, an unknown or unsupported
	// x-amz-content-sha256, a missing x-amz-content-sha256 for S3, a query
	// that is not valid percent-encoding).
	InvalidRequest
	// ContentSHA256Mismatch: x-amz-content-sha256 differs from the hash of
	// the body the resource service received.
	ContentSHA256Mismatch
	// IncompleteBody: an aws-chunked body ended before its final chunk, or
	// its length differs from x-amz-decoded-content-length.
	IncompleteBody
)

var reasons = [...]struct {
	code    string
	status  int
	message string
}{
	InvalidAccessKeyID:                {"InvalidAccessKeyId", http.StatusForbidden, "The AWS Access Key Id you provided does not exist in our records."},
	SignatureDoesNotMatch:             {"SignatureDoesNotMatch", http.StatusForbidden, "The request signature we calculated does not match the signature you provided. Check your key and signing method."},
	RequestTimeTooSkewed:              {"RequestTimeTooSkewed", http.StatusForbidden, "The difference between the request time and the current time is too large."},
	ExpiredToken:                      {"ExpiredToken", http.StatusBadRequest, "The provided token has expired."},
	InvalidToken:                      {"InvalidToken", http.StatusBadRequest, "The provided token is malformed or otherwise invalid."},
	AccessDenied:                      {"AccessDenied", http.StatusForbidden, "Access Denied"},
	AuthorizationHeaderMalformed:      {"AuthorizationHeaderMalformed", http.StatusBadRequest, "The authorization header is malformed."},
	AuthorizationQueryParametersError: {"AuthorizationQueryParametersError", http.StatusBadRequest, "Error parsing the X-Amz-Credential parameter or another authorization query parameter."},
	InvalidRequest:                    {"InvalidRequest", http.StatusBadRequest, "The request is not signed in a way this service accepts."},
	ContentSHA256Mismatch:             {"XAmzContentSHA256Mismatch", http.StatusBadRequest, "The provided 'x-amz-content-sha256' header does not match what was computed."},
	IncompleteBody:                    {"IncompleteBody", http.StatusBadRequest, "You did not provide the number of bytes specified by the Content-Length HTTP header."},
}

func (r Reason) known() bool { return r > 0 && int(r) < len(reasons) }

// Code returns the AWS error code for r, as S3 and other AWS services print it.
func (r Reason) Code() string {
	if !r.known() {
		return "AccessDenied"
	}
	return reasons[r].code
}

// String returns Code, so reasons read well in logs.
func (r Reason) String() string { return r.Code() }

// HTTPStatus returns the status AWS answers r with (400 or 403).
func (r Reason) HTTPStatus() int {
	if !r.known() {
		return http.StatusForbidden
	}
	return reasons[r].status
}

// Message returns AWS's generic message for r: safe to show any client, it
// never names the part of the request that was wrong beyond what AWS says.
func (r Reason) Message() string {
	if !r.known() {
		return reasons[AccessDenied].message
	}
	return reasons[r].message
}

// Refusal is the error Verify and the chunk reader return when a request is
// refused for something the client did. Any other error from this package
// is the caller's or the key store's fault, not the client's.
type Refusal struct {
	// Reason is the machine-readable cause.
	Reason Reason
	// Detail says what exactly failed, for the server log. It holds no
	// secret and no expected signature, but it may name the part of the
	// request that was wrong: show clients Reason.Message instead.
	Detail string
	// CanonicalRequest and StringToSign are what the verifier signed, set on
	// SignatureDoesNotMatch for a request signature (S3 returns the same two
	// strings in its error body so that client authors can debug).
	CanonicalRequest string
	StringToSign     string
}

// Error implements error.
func (r *Refusal) Error() string {
	if r.Detail == "" {
		return "sigv4: " + r.Reason.Code()
	}
	return "sigv4: " + r.Reason.Code() + ": " + r.Detail
}

// Refuse returns a *Refusal: for Keys implementations that turn down a
// credential (InvalidAccessKeyID, InvalidToken, ExpiredToken).
func Refuse(reason Reason, detail string) error {
	return &Refusal{Reason: reason, Detail: detail}
}

// ReasonOf returns the Reason of a refusal in err's chain, and false when err
// is not a refusal (nil, or a failure that is not the client's).
func ReasonOf(err error) (Reason, bool) {
	var r *Refusal
	if errors.As(err, &r) {
		return r.Reason, true
	}
	return 0, false
}
