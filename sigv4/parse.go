package sigv4

import (
	"strconv"
	"strings"
	"time"
)

// Algorithm is the one signing algorithm Warden verifies.
const Algorithm = "AWS4-HMAC-SHA256"

// MaxExpires is the longest validity a presigned URL may ask for (AWS's
// limit: seven days).
const MaxExpires = 7 * 24 * time.Hour

const (
	scopeTerminator = "aws4_request"
	amzDateLayout   = "20060102T150405Z"
	scopeDateLayout = "20060102"

	maxKeyIDLen    = 128
	maxScopePart   = 64
	maxTokenLen    = 16 << 10
	maxSignedNames = 64
)

// Form says where a request carries its signature.
type Form uint8

// The forms of a SigV4 request.
const (
	// Unsigned: the request carries no SigV4 signature at all.
	Unsigned Form = iota
	// HeaderForm: Authorization: AWS4-HMAC-SHA256 Credential=…
	HeaderForm
	// QueryForm: a presigned URL, X-Amz-Algorithm=AWS4-HMAC-SHA256&…
	QueryForm
)

// String names the form.
func (f Form) String() string {
	switch f {
	case HeaderForm:
		return "header"
	case QueryForm:
		return "query"
	default:
		return "unsigned"
	}
}

// Credential is who a request says signed it and for what scope.
type Credential struct {
	// AccessKeyID is the key id the client was given (AWS_ACCESS_KEY_ID).
	AccessKeyID string
	// Date is the scope's day, YYYYMMDD; Verify checks it is the day of the
	// request time.
	Date string
	// Region and Service are the scope's region and service; Verify checks
	// them against what the resource service expects.
	Region  string
	Service string
	// SessionToken is X-Amz-Security-Token, "" for a static key.
	SessionToken string
}

// Scope returns the credential scope, "date/region/service/aws4_request".
func (c Credential) Scope() string {
	return c.Date + "/" + c.Region + "/" + c.Service + "/" + scopeTerminator
}

// Signed is what a request claims about its own signature: the parsed
// Authorization header or presigned query parameters.
type Signed struct {
	Form       Form
	Credential Credential
	// SignedHeaders is the list as sent: lower-case names, sorted, ';'-separated.
	SignedHeaders string
	// Signature is the claimed signature, 64 lower-case hex digits.
	Signature string
	// Time is the request time: X-Amz-Date (presigned: the query's), or the
	// Date header. Zero from ParseAuthorization, which sees one header only.
	Time time.Time
	// Expires is X-Amz-Expires of a presigned URL, zero in header form.
	Expires time.Duration
}

// ParseAuthorization parses an Authorization header value of the form
// "AWS4-HMAC-SHA256 Credential=AKID/20150830/us-east-1/service/aws4_request,
// SignedHeaders=host;x-amz-date, Signature=<64 hex digits>", strictly: the
// three parts in this order, each once, every part well formed. It returns a
// *Refusal with AuthorizationHeaderMalformed otherwise. The strings of the
// result share memory with v.
func ParseAuthorization(v string) (Signed, error) {
	s := Signed{Form: HeaderForm}
	rest, ok := strings.CutPrefix(v, Algorithm+" ")
	if !ok {
		return s, malformed(HeaderForm, "the algorithm is not "+Algorithm)
	}
	rest = strings.TrimLeft(rest, " ")
	cred, rest, ok := authField(rest, "Credential=", true)
	if !ok {
		return s, malformed(HeaderForm, "no Credential where expected")
	}
	headers, rest, ok := authField(rest, "SignedHeaders=", true)
	if !ok {
		return s, malformed(HeaderForm, "no SignedHeaders where expected")
	}
	sig, rest, ok := authField(rest, "Signature=", false)
	if !ok || rest != "" {
		return s, malformed(HeaderForm, "no Signature at the end")
	}
	c, why := parseCredential(cred)
	if why != "" {
		return s, malformed(HeaderForm, why)
	}
	if why := checkSignedHeaders(headers); why != "" {
		return s, malformed(HeaderForm, why)
	}
	if !isSignature(sig) {
		return s, malformed(HeaderForm, "the signature is not 64 lower-case hex digits")
	}
	s.Credential, s.SignedHeaders, s.Signature = c, headers, sig
	return s, nil
}

// authField cuts "name=value" off s; when more follow, value ends at a comma
// and the spaces after it are dropped.
func authField(s, name string, more bool) (value, rest string, ok bool) {
	s, ok = strings.CutPrefix(s, name)
	if !ok {
		return "", "", false
	}
	if !more {
		v := strings.TrimRight(s, " ")
		return v, "", strings.IndexByte(v, ',') < 0 && strings.IndexByte(v, ' ') < 0
	}
	i := strings.IndexByte(s, ',')
	if i < 0 {
		return "", "", false
	}
	value = strings.TrimRight(s[:i], " ")
	if strings.IndexByte(value, ' ') >= 0 {
		return "", "", false
	}
	return value, strings.TrimLeft(s[i+1:], " "), true
}

// parseCredential parses "AKID/YYYYMMDD/region/service/aws4_request"; it
// returns a reason in words when the value is malformed.
func parseCredential(v string) (Credential, string) {
	var c Credential
	var ok bool
	if c.AccessKeyID, v, ok = strings.Cut(v, "/"); !ok {
		return c, "the credential has no scope"
	}
	if c.Date, v, ok = strings.Cut(v, "/"); !ok {
		return c, "the credential scope has no region"
	}
	if c.Region, v, ok = strings.Cut(v, "/"); !ok {
		return c, "the credential scope has no service"
	}
	if c.Service, v, ok = strings.Cut(v, "/"); !ok || v != scopeTerminator {
		return c, "the credential scope does not end in " + scopeTerminator
	}
	switch {
	case !isKeyID(c.AccessKeyID):
		return c, "the access key id is malformed"
	case !isScopeDate(c.Date):
		return c, "the credential date is not YYYYMMDD"
	case !isScopePart(c.Region):
		return c, "the credential region is malformed"
	case !isScopePart(c.Service):
		return c, "the credential service is malformed"
	}
	return c, ""
}

func isKeyID(s string) bool {
	if len(s) == 0 || len(s) > maxKeyIDLen {
		return false
	}
	for i := 0; i < len(s); i++ {
		if !isAlnum(s[i]) && s[i] != '-' && s[i] != '_' && s[i] != '.' {
			return false
		}
	}
	return true
}

func isScopePart(s string) bool {
	if len(s) == 0 || len(s) > maxScopePart {
		return false
	}
	for i := 0; i < len(s); i++ {
		if !isAlnum(s[i]) && s[i] != '-' && s[i] != '_' && s[i] != '.' {
			return false
		}
	}
	return true
}

func isScopeDate(s string) bool {
	if len(s) != 8 {
		return false
	}
	t, ok := parseDigits(s, 0, 4)
	month, ok2 := parseDigits(s, 4, 2)
	day, ok3 := parseDigits(s, 6, 2)
	if !ok || !ok2 || !ok3 || month < 1 || month > 12 || day < 1 {
		return false
	}
	return day <= daysIn(month, t)
}

func daysIn(month, year int) int {
	switch month {
	case 2:
		if year%4 == 0 && (year%100 != 0 || year%400 == 0) {
			return 29
		}
		return 28
	case 4, 6, 9, 11:
		return 30
	default:
		return 31
	}
}

// checkSignedHeaders checks a SignedHeaders list: non-empty lower-case header
// names, strictly ascending, so each appears once and the canonical headers
// are built in the order the list gives.
func checkSignedHeaders(s string) string {
	if s == "" || strings.HasSuffix(s, ";") {
		return "SignedHeaders is empty or ends in ';'"
	}
	prev, n := "", 0
	for s != "" {
		name, rest, _ := strings.Cut(s, ";")
		if !isHeaderName(name) {
			return "SignedHeaders holds a malformed header name"
		}
		if name <= prev {
			return "SignedHeaders is not sorted or repeats a name"
		}
		if n++; n > maxSignedNames {
			return "SignedHeaders names too many headers"
		}
		prev, s = name, rest
	}
	return ""
}

// isHeaderName reports whether s is a lower-case HTTP field name (RFC 9110
// token characters).
func isHeaderName(s string) bool {
	if s == "" {
		return false
	}
	for i := 0; i < len(s); i++ {
		if charClass[s[i]]&tokenLower == 0 {
			return false
		}
	}
	return true
}

// splitNames appends the names of a SignedHeaders list to dst.
func splitNames(dst []string, list string) []string {
	for list != "" {
		i := strings.IndexByte(list, ';')
		if i < 0 {
			return append(dst, list)
		}
		dst = append(dst, list[:i])
		list = list[i+1:]
	}
	return dst
}

func isSignature(s string) bool {
	if len(s) != 64 {
		return false
	}
	for i := 0; i < len(s); i++ {
		if charClass[s[i]]&lowerHex == 0 {
			return false
		}
	}
	return true
}

// isPayloadHash reports whether s is a hex SHA-256 as SigV4 writes it.
func isPayloadHash(s string) bool { return isSignature(s) }

func isAlnum(c byte) bool {
	return c >= '0' && c <= '9' || c >= 'a' && c <= 'z' || c >= 'A' && c <= 'Z'
}

func parseDigits(s string, at, n int) (int, bool) {
	v := 0
	for i := at; i < at+n; i++ {
		c := s[i]
		if c < '0' || c > '9' {
			return 0, false
		}
		v = v*10 + int(c-'0')
	}
	return v, true
}

// parseAmzDate parses an X-Amz-Date value, "20150830T123600Z", strictly: a
// value that does not format back to itself is refused, so the time checked
// is the time signed.
func parseAmzDate(s string) (time.Time, bool) {
	if len(s) != len(amzDateLayout) || s[8] != 'T' || s[15] != 'Z' || !isScopeDate(s[:8]) {
		return time.Time{}, false
	}
	y, _ := parseDigits(s, 0, 4)
	mo, _ := parseDigits(s, 4, 2)
	d, _ := parseDigits(s, 6, 2)
	h, ok1 := parseDigits(s, 9, 2)
	mi, ok2 := parseDigits(s, 11, 2)
	sec, ok3 := parseDigits(s, 13, 2)
	if !ok1 || !ok2 || !ok3 || h > 23 || mi > 59 || sec > 59 {
		return time.Time{}, false
	}
	return time.Date(y, time.Month(mo), d, h, mi, sec, 0, time.UTC), true
}

// presignedParams are the query parameters of a presigned URL that carry the
// signature; every one appears at most once.
var presignedParams = [...]string{
	"X-Amz-Algorithm", "X-Amz-Credential", "X-Amz-Date", "X-Amz-Expires",
	"X-Amz-SignedHeaders", "X-Amz-Signature", "X-Amz-Security-Token",
}

const (
	pAlgorithm = iota
	pCredential
	pDate
	pExpires
	pSignedHeaders
	pSignature
	pSecurityToken
)

// ParsePresigned parses the authentication parameters of a presigned URL's
// query (X-Amz-Algorithm, X-Amz-Credential, X-Amz-Date, X-Amz-Expires,
// X-Amz-SignedHeaders, X-Amz-Signature and the optional
// X-Amz-Security-Token), strictly: each once, all but the token present,
// X-Amz-Expires from 1 s to seven days. It returns a *Refusal with
// AuthorizationQueryParametersError otherwise.
func ParsePresigned(rawQuery string) (Signed, error) {
	s := Signed{Form: QueryForm}
	var vals [len(presignedParams)]string
	var seen [len(presignedParams)]bool
	var scratch [64]byte
	for q := rawQuery; q != ""; {
		var pair string
		pair, q, _ = strings.Cut(q, "&")
		if pair == "" {
			continue
		}
		rawKey, rawVal, _ := strings.Cut(pair, "=")
		key, ok := unescape(scratch[:0], rawKey)
		if !ok {
			return s, &Refusal{Reason: InvalidRequest, Detail: "the query is not valid percent-encoding"}
		}
		i := presignedIndex(key)
		if i < 0 {
			continue
		}
		if seen[i] {
			return s, malformed(QueryForm, presignedParams[i]+" appears more than once")
		}
		v, ok := unescape(nil, rawVal)
		if !ok {
			return s, malformed(QueryForm, presignedParams[i]+" is not valid percent-encoding")
		}
		seen[i], vals[i] = true, string(v)
	}
	for i, name := range presignedParams[:pSecurityToken] {
		if !seen[i] {
			return s, malformed(QueryForm, name+" is missing")
		}
	}
	if vals[pAlgorithm] != Algorithm {
		return s, malformed(QueryForm, "X-Amz-Algorithm is not "+Algorithm)
	}
	c, why := parseCredential(vals[pCredential])
	if why != "" {
		return s, malformed(QueryForm, why)
	}
	t, ok := parseAmzDate(vals[pDate])
	if !ok {
		return s, malformed(QueryForm, "X-Amz-Date is not YYYYMMDDTHHMMSSZ")
	}
	exp, ok := parseExpires(vals[pExpires])
	if !ok {
		return s, malformed(QueryForm, "X-Amz-Expires must be a number of seconds from 1 to 604800")
	}
	if why := checkSignedHeaders(vals[pSignedHeaders]); why != "" {
		return s, malformed(QueryForm, why)
	}
	if !isSignature(vals[pSignature]) {
		return s, malformed(QueryForm, "the signature is not 64 lower-case hex digits")
	}
	if seen[pSecurityToken] {
		if vals[pSecurityToken] == "" || len(vals[pSecurityToken]) > maxTokenLen {
			return s, malformed(QueryForm, "X-Amz-Security-Token is empty or too long")
		}
		c.SessionToken = vals[pSecurityToken]
	}
	s.Credential, s.SignedHeaders, s.Signature = c, vals[pSignedHeaders], vals[pSignature]
	s.Time, s.Expires = t, exp
	return s, nil
}

func presignedIndex(key []byte) int {
	if len(key) < len("X-Amz-Date") || string(key[:6]) != "X-Amz-" {
		return -1
	}
	for i, name := range presignedParams {
		if string(key) == name {
			return i
		}
	}
	return -1
}

func parseExpires(s string) (time.Duration, bool) {
	if s == "" || len(s) > 6 || s[0] == '0' {
		return 0, false
	}
	n, err := strconv.Atoi(s)
	if err != nil || n < 1 || time.Duration(n)*time.Second > MaxExpires {
		return 0, false
	}
	return time.Duration(n) * time.Second, true
}

func malformed(f Form, why string) *Refusal {
	return &Refusal{Reason: malformedReason(f), Detail: why}
}

func malformedReason(f Form) Reason {
	if f == QueryForm {
		return AuthorizationQueryParametersError
	}
	return AuthorizationHeaderMalformed
}
