package sigv4

import (
	"crypto/subtle"
	"errors"
	"fmt"
	"net/http"
	"slices"
	"strconv"
	"strings"
	"time"
)

// DefaultMaxSkew is how far a request's time may be from the server clock:
// AWS's fifteen minutes.
const DefaultMaxSkew = 15 * time.Minute

// Config configures a Verifier.
type Config struct {
	// Keys finds the signing key of a credential. Required.
	Keys Keys
	// Now is the clock. Required, so that tests and every wardend agree on
	// what "now" means (pass time.Now in production).
	Now func() time.Time
	// MaxSkew is how far X-Amz-Date (or Date) may be from Now in header
	// form, and how early a presigned URL may be used. Zero means
	// DefaultMaxSkew; at most one hour.
	MaxSkew time.Duration
	// AllowUnsignedSessionToken accepts an X-Amz-Security-Token that the
	// client added after signing: a header left out of SignedHeaders, or a
	// presigned query parameter left out of the canonical query (the AWS
	// test suite's post-sts-header-after, AWS IoT's practice). Off by
	// default: every client Warden serves signs its token, and an unsigned
	// token is one more thing a man in the middle could swap.
	AllowUnsignedSessionToken bool
}

// Verifier checks SigV4 signatures. It is safe for concurrent use.
type Verifier struct {
	keys          Keys
	now           func() time.Time
	maxSkew       time.Duration
	unsignedToken bool
}

// New returns a Verifier for cfg.
func New(cfg Config) (*Verifier, error) {
	if cfg.Keys == nil {
		return nil, errors.New("sigv4: Config.Keys is required")
	}
	if cfg.Now == nil {
		return nil, errors.New("sigv4: Config.Now is required")
	}
	if cfg.MaxSkew == 0 {
		cfg.MaxSkew = DefaultMaxSkew
	}
	if cfg.MaxSkew < 0 || cfg.MaxSkew > time.Hour {
		return nil, fmt.Errorf("sigv4: Config.MaxSkew %v is outside (0, 1h]", cfg.MaxSkew)
	}
	return &Verifier{keys: cfg.Keys, now: cfg.Now, maxSkew: cfg.MaxSkew, unsignedToken: cfg.AllowUnsignedSessionToken}, nil
}

// Rules selects which of AWS's two families of signing rules a service
// follows.
type Rules uint8

// The rule families.
const (
	// RulesAuto is RulesS3 for service "s3" and RulesGeneric otherwise.
	RulesAuto Rules = iota
	// RulesGeneric: the path is normalised and encoded twice; the payload
	// hash is the hex SHA-256 of the body, from x-amz-content-sha256 or
	// Request.BodySHA256.
	RulesGeneric
	// RulesS3: the path is not normalised and encoded once; x-amz-content-sha256 may also be
	// UNSIGNED-PAYLOAD or one of the STREAMING-… values; a presigned URL
	// without x-amz-content-sha256 signs UNSIGNED-PAYLOAD.
	RulesS3
)

// PathStyle says how the canonical URI is built from the path.
type PathStyle uint8

// The path styles.
const (
	// PathAuto follows the rules: PathUnnormalized for RulesS3,
	// PathNormalized otherwise.
	PathAuto PathStyle = iota
	// PathNormalized removes empty and dot segments and encodes the result
	// again, escapes included ("double encoding"): every service but S3.
	PathNormalized
	// PathUnnormalized keeps the segments as sent and encodes the path once
	// (S3, and the AWS test suite's "unnormalized" cases).
	PathUnnormalized
)

// Expect is what the resource service declares about itself for one
// verification: a signature scoped to another region or service is refused.
type Expect struct {
	// Region and Service must equal the credential scope's. Required.
	Region  string
	Service string
	// Rules and Path select the signing rules; zero values follow Service.
	Rules Rules
	Path  PathStyle
}

func (e Expect) s3() bool {
	return e.Rules == RulesS3 || e.Rules == RulesAuto && e.Service == "s3"
}

func (e Expect) normalizePath() bool {
	switch e.Path {
	case PathNormalized:
		return true
	case PathUnnormalized:
		return false
	default:
		return !e.s3()
	}
}

// Result is what a verified request was signed with.
type Result struct {
	Form       Form
	Credential Credential
	// Time is the request time (X-Amz-Date or Date).
	Time time.Time
	// Expires is the end of a presigned URL's validity; zero in header form.
	Expires time.Time
	// SignedHeaders is the request's SignedHeaders list.
	SignedHeaders string
	// PayloadHash is what the signature says of the body: a hex SHA-256,
	// UnsignedPayload or one of the Streaming… values. When it is a hex hash
	// that did not come from Request.BodySHA256, the resource service must
	// check the body against it before acting on the body.
	PayloadHash string
	// DecodedLength is x-amz-decoded-content-length of an aws-chunked body,
	// -1 when absent.
	DecodedLength int64

	signature string
	key       SigningKey
}

// StreamSeed returns what a reader of the aws-chunked body needs to verify
// each chunk signature, and false unless PayloadHash is StreamingPayload or
// StreamingPayloadTrailer. The seed holds a signing key: valid only for this
// day, region and service, but a secret all the same.
func (r *Result) StreamSeed() (StreamSeed, bool) {
	if r.PayloadHash != StreamingPayload && r.PayloadHash != StreamingPayloadTrailer {
		return StreamSeed{}, false
	}
	return StreamSeed{
		Key:           r.key,
		Time:          r.Time,
		Region:        r.Credential.Region,
		Service:       r.Credential.Service,
		Signature:     r.signature,
		Trailer:       r.PayloadHash == StreamingPayloadTrailer,
		DecodedLength: r.DecodedLength,
	}, true
}

// ErrNoPayloadHash is returned when a request under RulesGeneric carries no
// x-amz-content-sha256 and the caller gave no Request.BodySHA256: the
// signature covers the body, so the caller must hash it. It is the caller's
// error, not the client's.
var ErrNoPayloadHash = errors.New("sigv4: the request has no x-amz-content-sha256 and Request.BodySHA256 is empty")

// Verify checks the SigV4 signature of req, in header or query form, for
// the region and service the resource service declares. It checks, in this
// order: the form of the signature, the request time against the clock, the
// credential scope, that host, the date header and every x-amz-* header
// sent are signed, the payload hash, the access key (through Keys), and the
// signature itself, compared in constant time.
//
// A refusal for something the client did is a *Refusal (see ReasonOf);
// any other error is the caller's (bad Expect or BodySHA256,
// ErrNoPayloadHash) or the key store's.
func (v *Verifier) Verify(req *Request, want Expect) (Result, error) {
	if want.Region == "" || want.Service == "" {
		return Result{}, errors.New("sigv4: Expect.Region and Expect.Service are required")
	}
	if req.BodySHA256 != "" && !isPayloadHash(req.BodySHA256) {
		return Result{}, errors.New("sigv4: Request.BodySHA256 is not a lower-case hex SHA-256")
	}
	if req.Path != "" && req.Path[0] != '/' {
		return Result{}, &Refusal{Reason: InvalidRequest, Detail: "the path does not start with '/'"}
	}
	s, dateHeader, err := parseRequest(req)
	if err != nil {
		return Result{}, err
	}
	var dateBuf [len(amzDateLayout)]byte
	amzDate := appendAmzDate(dateBuf[:0], s.Time)
	if ref := v.checkTime(&s, v.now()); ref != nil {
		return Result{}, ref
	}
	if ref := checkScope(&s, amzDate, want); ref != nil {
		return Result{}, ref
	}
	st := getState()
	defer putState(st)
	st.names = splitNames(st.names[:0], s.SignedHeaders)
	if ref := v.checkSignedHeaders(req, st.names, dateHeader); ref != nil {
		return Result{}, ref
	}
	payload, err := payloadHash(req, s.Form, want.s3())
	if err != nil {
		return Result{}, err
	}
	key, err := v.keys.SigningKey(s.Credential)
	if err != nil {
		if _, ok := ReasonOf(err); ok {
			return Result{}, err
		}
		return Result{}, fmt.Errorf("sigv4: look up the signing key: %w", err)
	}
	c := canonical{
		normalizePath: want.normalizePath(),
		form:          s.Form,
		signedHeaders: s.SignedHeaders,
		payloadHash:   payload,
	}
	ok, ref := st.matches(req, &c, &s, amzDate, &key)
	if ref == nil && !ok && v.unsignedToken && s.Form == QueryForm && s.Credential.SessionToken != "" {
		c.omitToken = true
		ok, ref = st.matches(req, &c, &s, amzDate, &key)
	}
	if ref != nil {
		return Result{}, ref
	}
	if !ok {
		return Result{}, &Refusal{
			Reason:           SignatureDoesNotMatch,
			Detail:           "the signature does not match",
			CanonicalRequest: string(st.creq),
			StringToSign:     string(st.sts),
		}
	}
	return v.result(req, &s, payload, key)
}

// matches builds the canonical request and string to sign and reports
// whether the request's signature is theirs under key.
func (st *state) matches(req *Request, c *canonical, s *Signed, amzDate []byte, key *SigningKey) (bool, *Refusal) {
	if ref := st.build(req, c); ref != nil {
		return false, ref
	}
	st.stringToSign(amzDate, &s.Credential)
	st.mac(key, st.sts)
	var claimed [32]byte
	for i := range claimed {
		claimed[i] = unhex(s.Signature[2*i])<<4 | unhex(s.Signature[2*i+1])
	}
	return subtle.ConstantTimeCompare(st.sum[:], claimed[:]) == 1, nil
}

func (v *Verifier) result(req *Request, s *Signed, payload string, key SigningKey) (Result, error) {
	r := Result{
		Form:          s.Form,
		Credential:    s.Credential,
		Time:          s.Time,
		SignedHeaders: s.SignedHeaders,
		PayloadHash:   payload,
		DecodedLength: -1,
	}
	if s.Form == QueryForm {
		r.Expires = s.Time.Add(s.Expires)
	}
	if payload != StreamingPayload && payload != StreamingPayloadTrailer {
		return r, nil
	}
	r.signature, r.key = s.Signature, key
	if v, present, ok := singleHeader(req.Header, "X-Amz-Decoded-Content-Length", "x-amz-decoded-content-length"); present {
		n, err := strconv.ParseInt(v, 10, 64)
		if !ok || err != nil || n < 0 {
			return Result{}, &Refusal{Reason: InvalidRequest, Detail: "x-amz-decoded-content-length is not a length"}
		}
		r.DecodedLength = n
	}
	return r, nil
}

// parseRequest finds and parses the signature of req, and for the header
// form the request time and session token from their own headers. It
// returns the name of the header the time came from.
func parseRequest(req *Request) (Signed, string, error) {
	header, query := hasAuthHeader(req.Header), queryHasAuth(req.RawQuery)
	switch {
	case header && query:
		return Signed{}, "", &Refusal{Reason: InvalidRequest, Detail: "the request is signed both in the Authorization header and in the query"}
	case query:
		s, err := ParsePresigned(req.RawQuery)
		return s, "", err
	case !header:
		return Signed{}, "", &Refusal{Reason: AccessDenied, Detail: "the request carries no SigV4 signature"}
	}
	auth, _, ok := singleHeader(req.Header, "Authorization", "authorization")
	if !ok {
		return Signed{}, "", malformed(HeaderForm, "more than one Authorization header")
	}
	s, err := ParseAuthorization(auth)
	if err != nil {
		return s, "", err
	}
	dateHeader := "x-amz-date"
	if d, present, ok := singleHeader(req.Header, "X-Amz-Date", "x-amz-date"); present {
		if s.Time, ok = parseAmzDateOK(d, ok); !ok {
			return s, "", &Refusal{Reason: AccessDenied, Detail: "X-Amz-Date is not one YYYYMMDDTHHMMSSZ"}
		}
	} else if d, present, ok := singleHeader(req.Header, "Date", "date"); present && ok {
		t, err := http.ParseTime(d)
		if err != nil {
			return s, "", &Refusal{Reason: AccessDenied, Detail: "the Date header is not an HTTP date"}
		}
		s.Time, dateHeader = t.UTC().Truncate(time.Second), "date"
	} else {
		return s, "", &Refusal{Reason: AccessDenied, Detail: "the request has no single X-Amz-Date or Date header"}
	}
	if tok, present, ok := singleHeader(req.Header, "X-Amz-Security-Token", "x-amz-security-token"); present {
		if !ok || tok == "" || len(tok) > maxTokenLen {
			return s, "", malformed(HeaderForm, "X-Amz-Security-Token is repeated, empty or too long")
		}
		s.Credential.SessionToken = tok
	}
	return s, dateHeader, nil
}

func parseAmzDateOK(s string, single bool) (time.Time, bool) {
	if !single {
		return time.Time{}, false
	}
	return parseAmzDate(s)
}

// checkTime checks the request time: within MaxSkew of now in header form;
// for a presigned URL, not more than MaxSkew early and not expired.
func (v *Verifier) checkTime(s *Signed, now time.Time) *Refusal {
	if s.Form == HeaderForm {
		if d := now.Sub(s.Time); d > v.maxSkew || d < -v.maxSkew {
			return &Refusal{Reason: RequestTimeTooSkewed, Detail: "the request time is more than " + v.maxSkew.String() + " from the server clock"}
		}
		return nil
	}
	if s.Time.Sub(now) > v.maxSkew {
		return &Refusal{Reason: AccessDenied, Detail: "the presigned URL is not valid yet"}
	}
	if now.After(s.Time.Add(s.Expires)) {
		return &Refusal{Reason: AccessDenied, Detail: "the presigned URL has expired"}
	}
	return nil
}

// checkScope checks the credential scope against the request day and what
// the resource service declares.
func checkScope(s *Signed, amzDate []byte, want Expect) *Refusal {
	c := &s.Credential
	switch {
	case c.Date != string(amzDate[:len(scopeDateLayout)]):
		return malformed(s.Form, "the credential date is not the day of the request time")
	case c.Region != want.Region:
		return malformed(s.Form, "the credential scope names region "+strconv.Quote(c.Region)+"; this service expects "+strconv.Quote(want.Region))
	case c.Service != want.Service:
		return malformed(s.Form, "the credential scope names service "+strconv.Quote(c.Service)+"; this service expects "+strconv.Quote(want.Service))
	}
	return nil
}

// checkSignedHeaders requires host and the header the time came from to be
// signed, and every x-amz-* header sent: an unsigned one (x-amz-acl, say)
// could be changed on the way without the signature noticing.
func (v *Verifier) checkSignedHeaders(req *Request, names []string, dateHeader string) *Refusal {
	if !slices.Contains(names, "host") {
		return &Refusal{Reason: AccessDenied, Detail: "host is not signed"}
	}
	if dateHeader != "" && !slices.Contains(names, dateHeader) {
		return &Refusal{Reason: AccessDenied, Detail: dateHeader + " is not signed"}
	}
	for k := range req.Header {
		if len(k) < len("x-amz-") || k[0]|0x20 != 'x' || !strings.EqualFold(k[:len("x-amz-")], "x-amz-") || signsFold(names, k) {
			continue
		}
		if v.unsignedToken && strings.EqualFold(k, "x-amz-security-token") {
			continue
		}
		return &Refusal{Reason: AccessDenied, Detail: "there were headers present in the request which were not signed: " + strings.ToLower(k)}
	}
	return nil
}

func signsFold(names []string, name string) bool {
	for _, n := range names {
		if len(n) == len(name) && strings.EqualFold(n, name) {
			return true
		}
	}
	return false
}

// appendAmzDate writes t as X-Amz-Date does, 20150830T123600Z, without the
// generality (and cost) of time.Time.AppendFormat.
func appendAmzDate(b []byte, t time.Time) []byte {
	t = t.UTC()
	y, mo, d := t.Date()
	h, mi, s := t.Clock()
	b = append(b, byte('0'+y/1000%10), byte('0'+y/100%10), byte('0'+y/10%10), byte('0'+y%10))
	for _, n := range [...]int{int(mo), d} {
		b = append(b, byte('0'+n/10), byte('0'+n%10))
	}
	b = append(b, 'T')
	for _, n := range [...]int{h, mi, s} {
		b = append(b, byte('0'+n/10), byte('0'+n%10))
	}
	return append(b, 'Z')
}

// payloadHash returns the last line of the canonical request: the body hash
// the client claims in x-amz-content-sha256 (checked against the body hash
// the caller gives, when it gives one) or the caller's body hash; for a
// presigned S3 URL without the header, UNSIGNED-PAYLOAD.
func payloadHash(req *Request, form Form, s3 bool) (string, error) {
	claimed, present, ok := singleHeader(req.Header, "X-Amz-Content-Sha256", "x-amz-content-sha256")
	if !ok {
		return "", &Refusal{Reason: InvalidRequest, Detail: "x-amz-content-sha256 is repeated"}
	}
	body := req.BodySHA256
	switch {
	case !present && s3 && form == QueryForm:
		return UnsignedPayload, nil
	case !present && body != "":
		return body, nil
	case !present && s3:
		return "", &Refusal{Reason: InvalidRequest, Detail: "missing required header for this request: x-amz-content-sha256"}
	case !present:
		return "", ErrNoPayloadHash
	case isPayloadHash(claimed):
		if body != "" && body != claimed {
			return "", &Refusal{Reason: ContentSHA256Mismatch, Detail: "x-amz-content-sha256 is not the hash of the body"}
		}
		return claimed, nil
	}
	switch claimed {
	case UnsignedPayload, StreamingPayload, StreamingPayloadTrailer, StreamingUnsignedPayloadTrailer:
		if !s3 {
			return "", &Refusal{Reason: InvalidRequest, Detail: "x-amz-content-sha256 " + claimed + " is taken by S3 only"}
		}
		if form == QueryForm && claimed != UnsignedPayload {
			return "", &Refusal{Reason: InvalidRequest, Detail: "an aws-chunked body needs the Authorization header, not a presigned URL"}
		}
		return claimed, nil
	}
	return "", &Refusal{Reason: InvalidRequest, Detail: "x-amz-content-sha256 must be UNSIGNED-PAYLOAD, STREAMING-AWS4-HMAC-SHA256-PAYLOAD(-TRAILER), STREAMING-UNSIGNED-PAYLOAD-TRAILER or a lower-case hex SHA-256"}
}
