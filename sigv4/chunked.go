package sigv4

import (
	"bufio"
	"bytes"
	"crypto/sha256"
	"crypto/subtle"
	"encoding/hex"
	"errors"
	"io"
	"net/http"
	"strconv"
	"time"
)

// MaxChunkSize is the largest aws-chunked chunk a ChunkReader takes: it
// holds a chunk whole until the chunk's signature is checked. SDKs send
// 64 KiB chunks; AWS asks for at least 8 KiB.
const MaxChunkSize = 16 << 20

const (
	maxChunkLine     = 4096
	maxTrailerFields = 16
	chunkAlgorithm   = "AWS4-HMAC-SHA256-PAYLOAD"
	trailerAlgorithm = "AWS4-HMAC-SHA256-TRAILER"
)

// StreamSeed is what the signatures of an aws-chunked body chain from: the
// signing key, request time and scope of the request, and its signature
// (the seed). Result.StreamSeed returns it; the access service hands it to
// the resource service that reads the body.
type StreamSeed struct {
	// Key signs for this day, region and service only, but is a secret all
	// the same: send it to the resource service over an authenticated,
	// encrypted channel only.
	Key     SigningKey
	Time    time.Time
	Region  string
	Service string
	// Signature is the request's signature, 64 lower-case hex digits.
	Signature string
	// Trailer is set for STREAMING-AWS4-HMAC-SHA256-PAYLOAD-TRAILER: signed
	// trailing headers follow the last chunk.
	Trailer bool
	// DecodedLength is x-amz-decoded-content-length, -1 when unknown.
	DecodedLength int64
}

// ChunkReader reads the payload of an aws-chunked body
// (STREAMING-AWS4-HMAC-SHA256-PAYLOAD), checking each chunk's signature
// before it hands out a byte of the chunk. It reports io.EOF only after the
// final, empty chunk (and the trailer, if any) verified and the length
// matched x-amz-decoded-content-length; a body cut short, reordered or
// changed ends in a *Refusal instead.
type ChunkReader struct {
	br      *bufio.Reader
	seed    StreamSeed
	prefix  []byte // "AWS4-HMAC-SHA256-PAYLOAD\n<date>\n<scope>\n"
	prev    [64]byte
	st      *state
	buf     []byte
	off     int
	total   int64
	trailer http.Header
	err     error
}

// NewChunkReader returns a reader of the payload of body, an aws-chunked
// body whose request verified with seed.
func NewChunkReader(body io.Reader, seed StreamSeed) (*ChunkReader, error) {
	if !isSignature(seed.Signature) || seed.Time.IsZero() || !isScopePart(seed.Region) || !isScopePart(seed.Service) {
		return nil, errors.New("sigv4: the stream seed is incomplete")
	}
	c := Credential{Date: seed.Time.UTC().Format(scopeDateLayout), Region: seed.Region, Service: seed.Service}
	p := append([]byte(chunkAlgorithm), '\n')
	p = seed.Time.UTC().AppendFormat(p, amzDateLayout)
	p = append(p, '\n')
	p = appendScope(p, &c)
	p = append(p, '\n')
	r := &ChunkReader{br: bufio.NewReaderSize(body, maxChunkLine), seed: seed, prefix: p, st: &state{h: sha256.New()}}
	copy(r.prev[:], seed.Signature)
	return r, nil
}

// Read implements io.Reader.
func (r *ChunkReader) Read(p []byte) (int, error) {
	for r.off == len(r.buf) {
		if r.err != nil {
			return 0, r.err
		}
		if r.err = r.next(); r.err != nil {
			// Whatever next read of a chunk that failed stays unread.
			r.buf, r.off = nil, 0
		}
	}
	n := copy(p, r.buf[r.off:])
	r.off += n
	return n, nil
}

// Trailer returns the signed trailing headers (a checksum, say) once Read
// has returned io.EOF; nil before, and for a body without a trailer. The
// resource service checks the checksum against the payload it read.
func (r *ChunkReader) Trailer() http.Header {
	if r.err != io.EOF {
		return nil
	}
	return r.trailer
}

// next reads and verifies the next chunk into r.buf; io.EOF after the final
// chunk.
func (r *ChunkReader) next() error {
	line, err := r.line()
	if err != nil {
		return err
	}
	size, sigLine, ok := parseChunkHeader(line)
	if !ok {
		return &Refusal{Reason: InvalidRequest, Detail: "malformed aws-chunked chunk header"}
	}
	if size > MaxChunkSize {
		return &Refusal{Reason: InvalidRequest, Detail: "aws-chunked chunk larger than " + strconv.Itoa(MaxChunkSize) + " bytes"}
	}
	if r.seed.DecodedLength >= 0 && r.total+int64(size) > r.seed.DecodedLength {
		return &Refusal{Reason: IncompleteBody, Detail: "aws-chunked body longer than x-amz-decoded-content-length"}
	}
	// Copy: the signature lies in the bufio buffer, which reading the data
	// overwrites.
	var sig [64]byte
	copy(sig[:], sigLine)
	r.buf, r.off = r.buf[:0], 0
	if size > 0 {
		r.buf = growTo(r.buf, size)
		if _, err := io.ReadFull(r.br, r.buf); err != nil {
			return truncated(err)
		}
	}
	final := size == 0
	if !final || !r.seed.Trailer {
		if err := r.crlf(); err != nil {
			return err
		}
	}
	sum := sha256.Sum256(r.buf)
	if !r.verify(chunkAlgorithm, sum[:], sig[:]) {
		return &Refusal{Reason: SignatureDoesNotMatch, Detail: "aws-chunked chunk signature does not match"}
	}
	r.total += int64(size)
	if !final {
		return nil
	}
	if r.seed.Trailer {
		if err := r.readTrailer(); err != nil {
			return err
		}
	}
	if r.seed.DecodedLength >= 0 && r.total != r.seed.DecodedLength {
		return &Refusal{Reason: IncompleteBody, Detail: "aws-chunked body shorter than x-amz-decoded-content-length"}
	}
	if _, err := r.br.ReadByte(); err != io.EOF {
		return &Refusal{Reason: InvalidRequest, Detail: "data after the final aws-chunked chunk"}
	}
	return io.EOF
}

// verify checks sig, the signature of a chunk (or trailer) whose hash is
// sum, chained from the previous signature; on success sig becomes the
// previous signature.
func (r *ChunkReader) verify(algorithm string, sum []byte, sig []byte) bool {
	b := append(r.st.sts[:0], algorithm...)
	b = append(b, r.prefix[len(chunkAlgorithm):]...)
	b = append(b, r.prev[:]...)
	b = append(b, '\n')
	if algorithm == chunkAlgorithm {
		b = append(b, EmptySHA256...)
		b = append(b, '\n')
	}
	b = hex.AppendEncode(b, sum)
	r.st.sts = b
	r.st.mac(&r.seed.Key, b)
	var want [64]byte
	hex.Encode(want[:], r.st.sum[:])
	if subtle.ConstantTimeCompare(want[:], sig) != 1 {
		return false
	}
	copy(r.prev[:], sig)
	return true
}

// readTrailer reads the trailing header lines up to x-amz-trailer-signature
// and the empty line after it, and checks the trailer signature.
func (r *ChunkReader) readTrailer() error {
	var canon []byte
	r.trailer = http.Header{}
	for n := 0; ; n++ {
		line, err := r.line()
		if err != nil {
			return err
		}
		name, value, ok := bytes.Cut(line, []byte(":"))
		if !ok || n > maxTrailerFields || !isHeaderName(string(bytes.ToLower(name))) {
			return &Refusal{Reason: InvalidRequest, Detail: "malformed aws-chunked trailer"}
		}
		if string(bytes.ToLower(name)) == "x-amz-trailer-signature" {
			if !isSignature(string(value)) {
				return &Refusal{Reason: InvalidRequest, Detail: "malformed aws-chunked trailer signature"}
			}
			sum := sha256.Sum256(canon)
			if !r.verify(trailerAlgorithm, sum[:], value) {
				return &Refusal{Reason: SignatureDoesNotMatch, Detail: "aws-chunked trailer signature does not match"}
			}
			break
		}
		canon = append(canon, line...)
		canon = append(canon, '\n')
		r.trailer.Add(string(name), string(bytes.TrimSpace(value)))
	}
	return r.crlf()
}

// line returns the next line without its CRLF.
func (r *ChunkReader) line() ([]byte, error) {
	line, err := r.br.ReadSlice('\n')
	switch {
	case err == bufio.ErrBufferFull:
		return nil, &Refusal{Reason: InvalidRequest, Detail: "aws-chunked line too long"}
	case err != nil:
		return nil, truncated(err)
	case len(line) < 2 || line[len(line)-2] != '\r':
		return nil, &Refusal{Reason: InvalidRequest, Detail: "aws-chunked line does not end in CRLF"}
	}
	return line[:len(line)-2], nil
}

func (r *ChunkReader) crlf() error {
	line, err := r.line()
	if err != nil {
		return err
	}
	if len(line) != 0 {
		return &Refusal{Reason: InvalidRequest, Detail: "aws-chunked chunk data does not end in CRLF"}
	}
	return nil
}

// parseChunkHeader parses "<hex size>;chunk-signature=<64 hex digits>".
func parseChunkHeader(line []byte) (int, []byte, bool) {
	hexSize, sig, ok := bytes.Cut(line, []byte(";chunk-signature="))
	if !ok || len(hexSize) == 0 || len(hexSize) > 8 || !isSignature(string(sig)) {
		return 0, nil, false
	}
	size := 0
	for _, c := range hexSize {
		if !isHex(c) {
			return 0, nil, false
		}
		size = size<<4 | int(unhex(c))
	}
	return size, sig, true
}

func growTo(b []byte, n int) []byte {
	if cap(b) >= n {
		return b[:n]
	}
	return make([]byte, n)
}

func truncated(err error) error {
	if err == io.EOF || err == io.ErrUnexpectedEOF {
		return &Refusal{Reason: IncompleteBody, Detail: "aws-chunked body ended before its final chunk"}
	}
	return err
}
