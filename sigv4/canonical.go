package sigv4

import (
	"bytes"
	"crypto/sha256"
	"encoding/hex"
	"hash"
	"net/http"
	"slices"
	"strings"
	"sync"
)

// state is the scratch memory of one verification. It is pooled so that a
// verification allocates nothing on the way to a yes.
type state struct {
	creq  []byte // canonical request
	sts   []byte // string to sign
	q     []byte // percent-encoded query keys and values
	pairs []qpair
	marks []int
	names []string // the signed header names, in order
	name  []byte   // canonical header key
	h     hash.Hash
	pad   [sha256.BlockSize]byte
	sum   [sha256.Size]byte
}

// qpair locates one query parameter in state.q: key q[k0:k1], value q[k1:v1].
type qpair struct{ k0, k1, v1 int }

// maxPooled keeps a verification of a huge request from pinning its buffers.
const maxPooled = 64 << 10

var states = sync.Pool{New: func() any {
	return &state{
		creq: make([]byte, 0, 1024),
		sts:  make([]byte, 0, 256),
		h:    sha256.New(),
	}
}}

func getState() *state { return states.Get().(*state) }

func putState(st *state) {
	// The names point into the request's headers, which must not live on
	// in the pool; pad holds the signing key masked by a constant.
	clear(st.names)
	st.names = st.names[:0]
	clear(st.pad[:])
	if cap(st.creq) > maxPooled || cap(st.q) > maxPooled || cap(st.pairs) > maxPooled/16 || cap(st.names) > maxSignedNames {
		return
	}
	states.Put(st)
}

// canonical is what the canonical request is built from besides the request.
type canonical struct {
	normalizePath bool
	form          Form
	signedHeaders string
	payloadHash   string
	// omitToken leaves X-Amz-Security-Token out of a presigned canonical
	// query (a signer that adds the token after signing, AWS IoT style).
	omitToken bool
}

// build writes the canonical request of req into st.creq. It returns a
// refusal when a signed header is absent or the query is not valid
// percent-encoding.
func (st *state) build(req *Request, c *canonical) *Refusal {
	b := append(st.creq[:0], req.Method...)
	b = append(b, '\n')
	if c.normalizePath {
		b, st.marks = appendNormalizedPath(b, req.Path, st.marks)
	} else {
		b = appendPathUnnormalized(b, req.Path)
	}
	b = append(b, '\n')
	var ok bool
	if b, ok = st.appendQuery(b, req.RawQuery, c); !ok {
		st.creq = b
		return &Refusal{Reason: InvalidRequest, Detail: "the query is not valid percent-encoding"}
	}
	b = append(b, '\n')
	for _, name := range st.names {
		b = append(b, name...)
		b = append(b, ':')
		if b, ok = st.appendHeader(b, req, name); !ok {
			st.creq = b
			return &Refusal{Reason: SignatureDoesNotMatch, Detail: "signed header " + name + " is not in the request"}
		}
		b = append(b, '\n')
	}
	b = append(b, '\n')
	b = append(b, c.signedHeaders...)
	b = append(b, '\n')
	b = append(b, c.payloadHash...)
	st.creq = b
	return nil
}

// appendHeader writes the canonical value of the signed header name: every
// value trimmed, runs of spaces collapsed, repeated headers joined by commas
// in the order received.
func (st *state) appendHeader(b []byte, req *Request, name string) ([]byte, bool) {
	if name == "host" && req.Host != "" {
		return appendTrimmed(b, req.Host), true
	}
	vals := st.header(req.Header, name)
	if len(vals) == 0 {
		return b, false
	}
	for i, v := range vals {
		if i > 0 {
			b = append(b, ',')
		}
		b = appendTrimmed(b, v)
	}
	return b, true
}

// header returns the values of the lower-case header name. Keys are looked
// up in canonical form (as net/http stores them) and, failing that, in lower
// case (as gRPC metadata carries them).
func (st *state) header(h http.Header, name string) []string {
	k := st.name[:0]
	upper := true
	for i := 0; i < len(name); i++ {
		c := name[i]
		if upper && c >= 'a' && c <= 'z' {
			c -= 'a' - 'A'
		}
		k = append(k, c)
		upper = c == '-'
	}
	st.name = k
	if v, ok := h[string(k)]; ok {
		return v
	}
	return h[name]
}

// appendTrimmed writes v without leading and trailing white space and with
// each run of spaces inside as one space: what the AWS SDKs sign.
func appendTrimmed(b []byte, v string) []byte {
	v = strings.TrimSpace(v)
	if !strings.Contains(v, "  ") {
		return append(b, v...)
	}
	for i := 0; i < len(v); i++ {
		if v[i] == ' ' && i > 0 && v[i-1] == ' ' {
			continue
		}
		b = append(b, v[i])
	}
	return b
}

// appendNormalizedPath writes the canonical URI of every service but S3:
// empty and "." segments dropped, ".." segments applied, then every byte
// but the unreserved ones percent-encoded — again, so an escape the client
// sent is itself escaped ("double encoding").
func appendNormalizedPath(b []byte, path string, marks []int) ([]byte, []int) {
	if path == "" {
		return append(b, '/'), marks
	}
	start := len(b)
	marks = marks[:0]
	if path[0] == '/' {
		b = append(b, '/')
	}
	for rest := path; rest != ""; {
		var seg string
		seg, rest, _ = strings.Cut(rest, "/")
		switch seg {
		case "", ".":
			continue
		case "..":
			if n := len(marks); n > 0 {
				b, marks = b[:marks[n-1]], marks[:n-1]
			}
			continue
		}
		marks = append(marks, len(b))
		if len(marks) > 1 {
			b = append(b, '/')
		}
		b = appendEscaped(b, seg)
	}
	if path[len(path)-1] == '/' && len(marks) > 0 {
		b = append(b, '/')
	}
	if len(b) == start {
		b = append(b, '/')
	}
	return b, marks
}

// appendPathUnnormalized writes S3's canonical URI: the path not
// normalised, encoded once — every escape decoded and the bytes encoded
// again the AWS way, so the client's choice of escapes ("~" or "%7E") does
// not matter, as it does not to S3.
func appendPathUnnormalized(b []byte, path string) []byte {
	if path == "" {
		return append(b, '/')
	}
	for i := 0; i < len(path); i++ {
		c := path[i]
		if c == '%' && i+2 < len(path) && isHex(path[i+1]) && isHex(path[i+2]) {
			c = unhex(path[i+1])<<4 | unhex(path[i+2])
			i += 2
		}
		if isUnreserved(c) || c == '/' {
			b = append(b, c)
		} else {
			b = appendPercent(b, c)
		}
	}
	return b
}

// appendQuery writes the canonical query: every parameter decoded and
// encoded again the AWS way, sorted by encoded key and then value. In query
// form X-Amz-Signature is left out.
func (st *state) appendQuery(b []byte, raw string, c *canonical) ([]byte, bool) {
	q, pairs := st.q[:0], st.pairs[:0]
	for raw != "" {
		var pair string
		pair, raw, _ = strings.Cut(raw, "&")
		if pair == "" {
			continue
		}
		k, v, _ := strings.Cut(pair, "=")
		p := qpair{k0: len(q)}
		var ok bool
		if q, ok = appendRecoded(q, k); !ok {
			st.q, st.pairs = q, pairs
			return b, false
		}
		p.k1 = len(q)
		if q, ok = appendRecoded(q, v); !ok {
			st.q, st.pairs = q, pairs
			return b, false
		}
		p.v1 = len(q)
		if c.form == QueryForm {
			key := string(q[p.k0:p.k1])
			if key == "X-Amz-Signature" || c.omitToken && key == "X-Amz-Security-Token" {
				q = q[:p.k0]
				continue
			}
		}
		pairs = append(pairs, p)
	}
	slices.SortFunc(pairs, func(x, y qpair) int {
		if r := bytes.Compare(q[x.k0:x.k1], q[y.k0:y.k1]); r != 0 {
			return r
		}
		return bytes.Compare(q[x.k1:x.v1], q[y.k1:y.v1])
	})
	for i, p := range pairs {
		if i > 0 {
			b = append(b, '&')
		}
		b = append(b, q[p.k0:p.k1]...)
		b = append(b, '=')
		b = append(b, q[p.k1:p.v1]...)
	}
	st.q, st.pairs = q, pairs
	return b, true
}

// appendRecoded decodes one query component (%XX escapes, '+' for space)
// and writes it encoded the AWS way; false when an escape is malformed.
func appendRecoded(b []byte, s string) ([]byte, bool) {
	for i := 0; i < len(s); i++ {
		c := s[i]
		switch c {
		case '%':
			if i+2 >= len(s) || !isHex(s[i+1]) || !isHex(s[i+2]) {
				return b, false
			}
			c = unhex(s[i+1])<<4 | unhex(s[i+2])
			i += 2
		case '+':
			c = ' '
		}
		if isUnreserved(c) {
			b = append(b, c)
		} else {
			b = appendPercent(b, c)
		}
	}
	return b, true
}

// unescape decodes a query component into dst; false when an escape is
// malformed.
func unescape(dst []byte, s string) ([]byte, bool) {
	for i := 0; i < len(s); i++ {
		c := s[i]
		switch c {
		case '%':
			if i+2 >= len(s) || !isHex(s[i+1]) || !isHex(s[i+2]) {
				return dst, false
			}
			c = unhex(s[i+1])<<4 | unhex(s[i+2])
			i += 2
		case '+':
			c = ' '
		}
		dst = append(dst, c)
	}
	return dst, true
}

func appendEscaped(b []byte, s string) []byte {
	for i := 0; i < len(s); i++ {
		if c := s[i]; isUnreserved(c) {
			b = append(b, c)
		} else {
			b = appendPercent(b, c)
		}
	}
	return b
}

const upperHex = "0123456789ABCDEF"

func appendPercent(b []byte, c byte) []byte {
	return append(b, '%', upperHex[c>>4], upperHex[c&15])
}

// isUnreserved reports whether c is an RFC 3986 unreserved character, the
// only bytes SigV4 leaves unencoded.
func isUnreserved(c byte) bool { return charClass[c]&unreserved != 0 }

// Character classes, looked up in a table: the path and query of every
// request pass through them byte by byte.
const (
	unreserved = 1 << iota
	tokenLower // a lower-case header name character (RFC 9110 tchar)
	lowerHex
)

var charClass = func() (t [256]uint8) {
	for c := 0; c < 256; c++ {
		b := byte(c)
		if isAlnum(b) || b == '-' || b == '_' || b == '.' || b == '~' {
			t[c] |= unreserved
		}
		if b >= 'a' && b <= 'z' || b >= '0' && b <= '9' || strings.IndexByte("!#$%&'*+-.^_`|~", b) >= 0 {
			t[c] |= tokenLower
		}
		if b >= '0' && b <= '9' || b >= 'a' && b <= 'f' {
			t[c] |= lowerHex
		}
	}
	return t
}()

func isHex(c byte) bool { return c >= '0' && c <= '9' || c >= 'a' && c <= 'f' || c >= 'A' && c <= 'F' }

func unhex(c byte) byte {
	switch {
	case c >= '0' && c <= '9':
		return c - '0'
	case c >= 'a' && c <= 'f':
		return c - 'a' + 10
	default:
		return c - 'A' + 10
	}
}

// stringToSign writes the string to sign for the canonical request in
// st.creq into st.sts: algorithm, request time, scope, hash of the request.
func (st *state) stringToSign(amzDate []byte, c *Credential) {
	b := append(st.sts[:0], Algorithm...)
	b = append(b, '\n')
	b = append(b, amzDate...)
	b = append(b, '\n')
	b = appendScope(b, c)
	b = append(b, '\n')
	sum := sha256.Sum256(st.creq)
	b = hex.AppendEncode(b, sum[:])
	st.sts = b
}

func appendScope(b []byte, c *Credential) []byte {
	b = append(b, c.Date...)
	b = append(b, '/')
	b = append(b, c.Region...)
	b = append(b, '/')
	b = append(b, c.Service...)
	b = append(b, '/')
	return append(b, scopeTerminator...)
}

// mac computes HMAC-SHA256(key, msg) into st.sum with the pooled hash, so
// the hot path allocates nothing (crypto/hmac allocates per key).
func (st *state) mac(key *SigningKey, msg []byte) {
	for i := range st.pad {
		st.pad[i] = 0x36
	}
	for i, k := range key {
		st.pad[i] ^= k
	}
	st.h.Reset()
	st.h.Write(st.pad[:])
	st.h.Write(msg)
	inner := st.h.Sum(st.sum[:0])
	for i := range st.pad {
		st.pad[i] ^= 0x36 ^ 0x5c
	}
	st.h.Reset()
	st.h.Write(st.pad[:])
	st.h.Write(inner)
	st.h.Sum(st.sum[:0])
}
