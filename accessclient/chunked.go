package accessclient

import (
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/http"
	"strings"
	"time"

	"warden/sigv4"
)

// wireStream is the access service's SigV4Stream as protojson writes it.
type wireStream struct {
	SigningKey    []byte      `json:"signingKey"`
	RequestTime   time.Time   `json:"requestTime"`
	Region        string      `json:"region"`
	Service       string      `json:"service"`
	SeedSignature string      `json:"seedSignature"`
	Trailer       bool        `json:"trailer"`
	DecodedLength json.Number `json:"decodedLength"` // an int64: a string in protojson
}

// seed checks what Warden sent: a malformed seed is Warden's fault, and no
// chunk could verify under it.
func (w *wireStream) seed() (*sigv4.StreamSeed, error) {
	s := &sigv4.StreamSeed{Time: w.RequestTime, Region: w.Region, Service: w.Service, Signature: w.SeedSignature, Trailer: w.Trailer}
	if len(w.SigningKey) != len(s.Key) {
		return nil, errors.New("accessclient: Warden's sigv4Stream has no 32-byte signing key")
	}
	copy(s.Key[:], w.SigningKey)
	if w.DecodedLength != "" {
		n, err := w.DecodedLength.Int64()
		if err != nil {
			return nil, fmt.Errorf("accessclient: Warden's sigv4Stream.decodedLength: %w", err)
		}
		s.DecodedLength = n
	}
	return s, nil
}

// streamedPayload reports whether x-amz-content-sha256 says the signature
// does not cover the body as one hash: UNSIGNED-PAYLOAD or an aws-chunked
// STREAMING-… body.
func streamedPayload(contentSHA256 string) bool {
	return contentSHA256 == sigv4.UnsignedPayload || strings.HasPrefix(contentSHA256, "STREAMING-")
}

// ChunkedBody is the payload of an aws-chunked request body, verified
// chunk by chunk as it is read.
type ChunkedBody struct {
	r *sigv4.ChunkReader
}

// ChunkReader returns the payload of body, an aws-chunked request body
// (STREAMING-AWS4-HMAC-SHA256-PAYLOAD, with or without a signed trailer)
// whose request Warden verified; seed is that Decision's Stream. No byte of
// a chunk is handed out before the chunk's signature is checked, so a
// handler may stream the payload to storage as it reads, but must commit
// it only after io.EOF: a changed, reordered or missing chunk, or a length
// other than x-amz-decoded-content-length, ends the stream in an *Error
// whose Reason is the AWS error code to answer with (SignatureDoesNotMatch,
// IncompleteBody, InvalidRequest).
func ChunkReader(body io.Reader, seed *sigv4.StreamSeed) (*ChunkedBody, error) {
	if seed == nil {
		return nil, errors.New("accessclient: no stream seed: the request is not a SigV4-signed aws-chunked upload")
	}
	r, err := sigv4.NewChunkReader(body, *seed)
	if err != nil {
		return nil, fmt.Errorf("accessclient: %w", err)
	}
	return &ChunkedBody{r: r}, nil
}

// Read implements io.Reader.
func (b *ChunkedBody) Read(p []byte) (int, error) {
	n, err := b.r.Read(p)
	var ref *sigv4.Refusal
	if errors.As(err, &ref) {
		// The client is told what AWS would tell it, never the detail.
		code := 3 // InvalidArgument: a malformed or short body
		if ref.Reason == sigv4.SignatureDoesNotMatch {
			code = 16
		}
		return n, &Error{Code: code, Message: ref.Reason.Message(), Reason: ref.Reason.Code()}
	}
	return n, err
}

// Trailer returns the signed trailing headers (a checksum, say) once Read
// has returned io.EOF; nil before and for a body without a trailer.
func (b *ChunkedBody) Trailer() http.Header { return b.r.Trailer() }
