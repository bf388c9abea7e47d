package sigv4

import (
	"net/http"
	"strings"
)

// Payload hash values: what the last line of a canonical request may hold
// besides the hex SHA-256 of the body.
const (
	// EmptySHA256 is the hex SHA-256 of an empty body: the BodySHA256 of a
	// request without one.
	EmptySHA256 = "e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855"
	// UnsignedPayload: the signature does not cover the body (S3 only).
	UnsignedPayload = "UNSIGNED-PAYLOAD"
	// StreamingPayload: the body is aws-chunked, each chunk signed; see
	// NewChunkReader (S3 only).
	StreamingPayload = "STREAMING-AWS4-HMAC-SHA256-PAYLOAD"
	// StreamingPayloadTrailer: as StreamingPayload, with signed trailing
	// headers (a checksum) after the last chunk (S3 only).
	StreamingPayloadTrailer = "STREAMING-AWS4-HMAC-SHA256-PAYLOAD-TRAILER"
	// StreamingUnsignedPayloadTrailer: the body is aws-chunked, unsigned,
	// with a trailing checksum; the signature covers the headers only, the
	// resource service checks the checksum (S3 only).
	StreamingUnsignedPayloadTrailer = "STREAMING-UNSIGNED-PAYLOAD-TRAILER"
)

// Request is what a signature covers, as the resource service received it.
// The verifier reads it and keeps nothing of it.
type Request struct {
	// Method is the HTTP method, "GET".
	Method string
	// Path is the path of the request target exactly as sent, still
	// percent-encoded ("/a%20b"), without the query.
	Path string
	// RawQuery is the query exactly as sent, without '?'.
	RawQuery string
	// Host is the Host header; net/http keeps it in r.Host rather than in
	// r.Header. When empty, Header["Host"] is used.
	Host string
	// Header holds the request headers, keys in canonical form as net/http
	// and http.Header.Add produce them; lower-case keys (gRPC metadata) are
	// found too.
	Header http.Header
	// BodySHA256 is the hex SHA-256 of the body when the resource service
	// has it (EmptySHA256 for no body), "" when it does not. It is required
	// unless x-amz-content-sha256 carries the hash or the rules are S3's;
	// when both are there they must agree.
	BodySHA256 string
}

// FromHTTP returns the Request of a request received by a net/http server
// (or built by a client), with bodySHA256 as its BodySHA256. It shares r's
// header map; the path and query are taken from r.RequestURI, so that they
// are the bytes the client signed rather than Go's re-encoding of them.
// Use it on requests a server received: a request built by a client keeps
// its length in r.ContentLength rather than in a Content-Length header,
// which the SDKs sign.
func FromHTTP(r *http.Request, bodySHA256 string) Request {
	path, query := r.URL.EscapedPath(), r.URL.RawQuery
	if u := r.RequestURI; u != "" && u[0] == '/' {
		path, query, _ = strings.Cut(u, "?")
	}
	return Request{
		Method:     r.Method,
		Path:       path,
		RawQuery:   query,
		Host:       r.Host,
		Header:     r.Header,
		BodySHA256: bodySHA256,
	}
}

// FormOf says where req carries its SigV4 signature: an Authorization header
// starting "AWS4-" (header form), X-Amz-Algorithm, X-Amz-Credential or
// X-Amz-Signature in the query (query form), or neither (Unsigned). A request
// that carries both is header form here and refused by Verify.
func FormOf(req *Request) Form {
	switch {
	case hasAuthHeader(req.Header):
		return HeaderForm
	case queryHasAuth(req.RawQuery):
		return QueryForm
	default:
		return Unsigned
	}
}

func hasAuthHeader(h http.Header) bool {
	for _, v := range headerValues(h, "Authorization", "authorization") {
		if strings.HasPrefix(v, "AWS4-") {
			return true
		}
	}
	return false
}

// queryHasAuth reports whether the query names a presigned URL's algorithm,
// credential or signature, escaped or not.
func queryHasAuth(raw string) bool {
	var scratch [64]byte
	for raw != "" {
		var pair string
		pair, raw, _ = strings.Cut(raw, "&")
		k, _, _ := strings.Cut(pair, "=")
		if len(k) > len(scratch) {
			continue
		}
		key, ok := unescape(scratch[:0], k)
		if !ok {
			continue
		}
		switch string(key) {
		case "X-Amz-Algorithm", "X-Amz-Credential", "X-Amz-Signature":
			return true
		}
	}
	return false
}

func headerValues(h http.Header, canonicalKey, lowerKey string) []string {
	if v, ok := h[canonicalKey]; ok {
		return v
	}
	return h[lowerKey]
}

// singleHeader returns the one value of a header; ok is false when the
// header is repeated.
func singleHeader(h http.Header, canonicalKey, lowerKey string) (v string, present, ok bool) {
	vals := headerValues(h, canonicalKey, lowerKey)
	switch len(vals) {
	case 0:
		return "", false, true
	case 1:
		return vals[0], true, true
	default:
		return "", true, false
	}
}
