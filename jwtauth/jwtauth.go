// Package jwtauth verifies the JSON Web Tokens that service accounts sign
// with an authorized key and exchange for an IAM token (RFC 7519, compact
// JWS of RFC 7515), and signs them for Warden's own clients.
//
// Exactly one algorithm exists here: PS256, RSASSA-PSS with SHA-256, MGF1
// with SHA-256 and a salt as long as the hash (RFC 7518 §3.5), which is what
// the Yandex Cloud SDKs and PyJWT produce. The algorithm is not chosen by the
// token: a header naming anything else is rejected before any key is looked
// at, so "none", HS256 keyed with the public key and RS256 downgrades cannot
// happen by construction.
//
// It is hand-written rather than built on a general JWT library for three
// reasons: golang-jwt verifies PS256 with rsa.PSSSaltLengthAuto (any salt
// length, a documented departure from RFC 7518 kept for old signers), its
// algorithm registry and key-function design is the surface alg-confusion
// bugs come from, and the exchange is a hot path whose cost should be the
// RSA verification alone (reflection-based JSON decoding costs about 8% of
// an RSA-2048 verify on its own).
package jwtauth

import (
	"crypto"
	"crypto/rsa"
	"crypto/sha256"
	"encoding/base64"
	"errors"
	"fmt"
	"strings"
	"time"
)

// MaxLength bounds an acceptable token, as the Yandex API bounds the jwt
// field of CreateIamTokenRequest.
const MaxLength = 8000

// Algorithm is the one signature algorithm accepted.
const Algorithm = "PS256"

// MinKeyBits is the smallest RSA modulus a token may be verified with.
const MinKeyBits = 2048

// Errors of Parse, Verify and Validator.Check. Their text after the
// "jwtauth: " prefix is safe to show to the caller: it describes the token,
// never the keys or accounts it names.
var (
	ErrMalformed       = errors.New("jwtauth: malformed token")
	ErrAlgorithm       = errors.New("jwtauth: alg must be PS256")
	ErrType            = errors.New("jwtauth: typ must be JWT")
	ErrMissing         = errors.New("jwtauth: missing required field")
	ErrAudience        = errors.New("jwtauth: aud does not name this server")
	ErrLifetime        = errors.New("jwtauth: lifetime too long")
	ErrExpired         = errors.New("jwtauth: token expired")
	ErrIssuedInFuture  = errors.New("jwtauth: iat is in the future")
	ErrNotYetValid     = errors.New("jwtauth: token not valid yet")
	ErrSignature       = errors.New("jwtauth: bad signature")
	ErrKeyTooSmall     = errors.New("jwtauth: RSA key too small")
	errUnsupportedCrit = fmt.Errorf("%w: the crit header is not supported", ErrMalformed)
)

// Header is the JOSE header of a token.
type Header struct {
	Algorithm string // alg
	Type      string // typ
	KeyID     string // kid
}

// Claims are the registered claims Warden reads; others are ignored.
type Claims struct {
	Issuer    string   // iss
	Audience  []string // aud: a string or an array of strings on the wire
	IssuedAt  time.Time
	ExpiresAt time.Time
	NotBefore time.Time // zero when absent
}

// Token is a decoded token whose signature has not been checked yet.
type Token struct {
	Header Header
	Claims Claims

	signingInput string // header.payload, as received
	signature    []byte
}

var b64 = base64.RawURLEncoding.Strict()

// Parse decodes a compact token and checks its shape: three unpadded
// base64url parts, a header with alg PS256, typ JWT and a kid, and a claims
// set with iss, iat and exp. It does not verify the signature or the
// claims' values: see Verify and Validator.
func Parse(compact string) (*Token, error) {
	if len(compact) > MaxLength {
		return nil, fmt.Errorf("%w: longer than %d bytes", ErrMalformed, MaxLength)
	}
	h, rest, ok1 := strings.Cut(compact, ".")
	p, s, ok2 := strings.Cut(rest, ".")
	if !ok1 || !ok2 || strings.IndexByte(s, '.') >= 0 {
		return nil, fmt.Errorf("%w: want three base64url parts separated by dots", ErrMalformed)
	}
	// One buffer for the three decoded parts. The header is checked first,
	// so that a token with a foreign alg is rejected as that whatever else
	// is wrong with it.
	raw := []byte(compact)
	hr, pr, sr := raw[:len(h)], raw[len(h)+1:len(h)+1+len(p)], raw[len(h)+1+len(p)+1:]
	buf := make([]byte, b64.DecodedLen(len(h))+b64.DecodedLen(len(p))+b64.DecodedLen(len(s)))
	t := &Token{signingInput: compact[:len(h)+1+len(p)]}
	hb, err := decode(buf, hr, "header")
	if err != nil {
		return nil, err
	}
	if err := parseHeader(hb, &t.Header); err != nil {
		return nil, err
	}
	pb, err := decode(buf[len(hb):], pr, "payload")
	if err != nil {
		return nil, err
	}
	if err := parseClaims(pb, &t.Claims); err != nil {
		return nil, err
	}
	if t.signature, err = decode(buf[len(hb)+len(pb):], sr, "signature"); err != nil {
		return nil, err
	}
	return t, nil
}

func decode(dst, part []byte, name string) ([]byte, error) {
	n, err := b64.Decode(dst, part)
	if err != nil || n == 0 {
		return nil, fmt.Errorf("%w: the %s is not unpadded base64url", ErrMalformed, name)
	}
	return dst[:n], nil
}

func parseHeader(b []byte, h *Header) error {
	var seen fields
	err := readObject(b, func(key []byte, r *reader) error {
		var err error
		switch string(key) {
		case "alg":
			h.Algorithm, err = r.stringField(&seen, fieldAlg, "alg")
		case "typ":
			h.Type, err = r.stringField(&seen, fieldTyp, "typ")
		case "kid":
			h.KeyID, err = r.stringField(&seen, fieldKid, "kid")
		case "crit":
			// RFC 7515 §4.1.11: extensions the recipient does not
			// understand make the token invalid.
			return errUnsupportedCrit
		default:
			return r.skip(0)
		}
		return err
	})
	if err != nil {
		return wrapSyntax(err, "header")
	}
	switch {
	case h.Algorithm != Algorithm:
		return ErrAlgorithm
	case !strings.EqualFold(h.Type, "JWT"):
		return ErrType
	case h.KeyID == "":
		return fmt.Errorf("%w: kid", ErrMissing)
	}
	return nil
}

func parseClaims(b []byte, c *Claims) error {
	var seen fields
	err := readObject(b, func(key []byte, r *reader) error {
		var err error
		switch string(key) {
		case "iss":
			c.Issuer, err = r.stringField(&seen, fieldIss, "iss")
		case "aud":
			c.Audience, err = r.audience(&seen)
		case "iat":
			c.IssuedAt, err = r.dateField(&seen, fieldIat, "iat")
		case "exp":
			c.ExpiresAt, err = r.dateField(&seen, fieldExp, "exp")
		case "nbf":
			c.NotBefore, err = r.dateField(&seen, fieldNbf, "nbf")
		default:
			return r.skip(0)
		}
		return err
	})
	if err != nil {
		return wrapSyntax(err, "payload")
	}
	switch {
	case c.Issuer == "":
		return fmt.Errorf("%w: iss", ErrMissing)
	case len(c.Audience) == 0:
		return fmt.Errorf("%w: aud", ErrMissing)
	case !seen.has(fieldIat):
		return fmt.Errorf("%w: iat", ErrMissing)
	case !seen.has(fieldExp):
		return fmt.Errorf("%w: exp", ErrMissing)
	}
	return nil
}

func wrapSyntax(err error, part string) error {
	if errors.Is(err, ErrMalformed) {
		return err
	}
	return fmt.Errorf("%w: the %s is not a JSON object: %v", ErrMalformed, part, err)
}

var pssOptions = &rsa.PSSOptions{SaltLength: rsa.PSSSaltLengthEqualsHash, Hash: crypto.SHA256}

// Verify checks the token's PS256 signature with pub. ErrSignature for any
// mismatch, ErrKeyTooSmall for a modulus under MinKeyBits.
func (t *Token) Verify(pub *rsa.PublicKey) error {
	if pub == nil || pub.N == nil || pub.N.BitLen() < MinKeyBits {
		return ErrKeyTooSmall
	}
	digest := sha256.Sum256([]byte(t.signingInput))
	if err := rsa.VerifyPSS(pub, crypto.SHA256, digest[:], t.signature, pssOptions); err != nil {
		return ErrSignature
	}
	return nil
}
