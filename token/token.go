// Package token implements Warden's self-verifying IAM token format:
//
//	t1.<payload>.<signature>
//
// payload is base64url (no padding) of a compact binary record (version,
// issue and expiry times, a random token ID, the subject and the signing key
// ID); signature is the Ed25519 signature of "t1.<payload>", 64 bytes, which
// base64url-encodes to exactly the 86 characters of the Yandex token pattern.
// A token verifies with the server's public keys alone: no database read.
package token

import (
	"crypto/ed25519"
	"encoding/base64"
	"encoding/binary"
	"encoding/hex"
	"errors"
	"fmt"
	"strings"
	"time"
)

// Prefix starts every IAM token.
const Prefix = "t1."

// SessionPrefix starts the session token of an ephemeral access key: the
// same format under another prefix, which the signature covers, so that
// neither kind of token passes for the other.
const SessionPrefix = "ws1."

// MaxLifetime is the longest an IAM token may live.
const MaxLifetime = 12 * time.Hour

// Payload versions: version 2 adds the ID of the credential that minted
// the token; version 1 tokens (minted before) are still read.
const (
	version1 = 1
	version  = 2
)

// MaxLength bounds the length of an acceptable token: anything longer is
// rejected before decoding.
const MaxLength = 1024

// Subject types a token may carry.
const (
	SubjectUserAccount    = "userAccount"
	SubjectServiceAccount = "serviceAccount"
)

var subjectTypeCodes = map[string]byte{SubjectUserAccount: 1, SubjectServiceAccount: 2}

var subjectTypeNames = [...]string{1: SubjectUserAccount, 2: SubjectServiceAccount}

// Claims is what a token says.
type Claims struct {
	TokenID     string // 32 hex characters; the handle for revocation
	KeyID       string
	SubjectType string
	SubjectID   string
	IssuedAt    time.Time
	ExpiresAt   time.Time
	// CredentialID names the stored credential the token was minted
	// through (an authorized key, an OAuth token), "" when none: deleting
	// that credential revokes the token.
	CredentialID string
}

// Errors of Parse. They are for logs: callers answer every one of them with
// the same Unauthenticated message.
var (
	ErrMalformed  = errors.New("token: malformed")
	ErrSignature  = errors.New("token: bad signature")
	ErrUnknownKey = errors.New("token: unknown signing key")
	ErrExpired    = errors.New("token: expired")
	ErrRevoked    = errors.New("token: revoked")
)

// b64 refuses the spellings a lenient decoder accepts: non-zero bits after
// the last byte (each 64-byte signature had 16 spellings) and padding.
var b64 = base64.RawURLEncoding.Strict()

// decode reads one base64url part and accepts only its canonical spelling:
// Strict still skips '\r' and '\n', which the length check catches.
func decode(s string) ([]byte, bool) {
	b, err := b64.DecodeString(s)
	if err != nil || b64.EncodedLen(len(b)) != len(s) {
		return nil, false
	}
	return b, true
}

// Sign returns the token for c, signed with priv. c.KeyID must name priv.
func Sign(c Claims, priv ed25519.PrivateKey) (string, error) { return SignAs(Prefix, c, priv) }

// SignAs is Sign with another prefix (SessionPrefix).
func SignAs(prefix string, c Claims, priv ed25519.PrivateKey) (string, error) {
	code, ok := subjectTypeCodes[c.SubjectType]
	if !ok {
		return "", fmt.Errorf("token: unknown subject type %q", c.SubjectType)
	}
	id, err := hex.DecodeString(c.TokenID)
	if err != nil || len(id) != 16 {
		return "", errors.New("token: token ID must be 32 hex characters")
	}
	if len(c.KeyID) > 255 || len(c.SubjectID) > 255 || len(c.CredentialID) > 255 {
		return "", errors.New("token: key, subject or credential ID too long")
	}
	p := make([]byte, 0, 1+8+8+16+1+3+len(c.KeyID)+len(c.SubjectID)+len(c.CredentialID))
	p = append(p, version)
	p = binary.BigEndian.AppendUint64(p, uint64(c.IssuedAt.Unix()))
	p = binary.BigEndian.AppendUint64(p, uint64(c.ExpiresAt.Unix()))
	p = append(p, id...)
	p = append(p, code, byte(len(c.KeyID)))
	p = append(p, c.KeyID...)
	p = append(p, byte(len(c.SubjectID)))
	p = append(p, c.SubjectID...)
	p = append(p, byte(len(c.CredentialID)))
	p = append(p, c.CredentialID...)
	signed := prefix + b64.EncodeToString(p)
	return signed + "." + b64.EncodeToString(ed25519.Sign(priv, []byte(signed))), nil
}

// Split checks the token's shape and returns the signed part, the decoded
// payload and the signature.
func split(prefix, tok string) (signed string, payload, sig []byte, err error) {
	if len(tok) > MaxLength || !strings.HasPrefix(tok, prefix) {
		return "", nil, nil, ErrMalformed
	}
	dot := strings.LastIndexByte(tok, '.')
	if dot <= len(prefix) {
		return "", nil, nil, ErrMalformed
	}
	signed = tok[:dot]
	payload, ok := decode(signed[len(prefix):])
	if !ok {
		return "", nil, nil, ErrMalformed
	}
	if sig, ok = decode(tok[dot+1:]); !ok || len(sig) != ed25519.SignatureSize {
		return "", nil, nil, ErrMalformed
	}
	return signed, payload, sig, nil
}

func decodePayload(p []byte) (Claims, error) {
	var c Claims
	if len(p) < 1+8+8+16+1+1 || (p[0] != version && p[0] != version1) {
		return c, ErrMalformed
	}
	c.IssuedAt = time.Unix(int64(binary.BigEndian.Uint64(p[1:9])), 0).UTC()
	c.ExpiresAt = time.Unix(int64(binary.BigEndian.Uint64(p[9:17])), 0).UTC()
	c.TokenID = hex.EncodeToString(p[17:33])
	code, rest := p[33], p[34:]
	if int(code) >= len(subjectTypeNames) || subjectTypeNames[code] == "" {
		return c, ErrMalformed
	}
	c.SubjectType = subjectTypeNames[code]
	var ok bool
	if c.KeyID, rest, ok = readString(rest); !ok {
		return c, ErrMalformed
	}
	if c.SubjectID, rest, ok = readString(rest); !ok {
		return c, ErrMalformed
	}
	if p[0] == version {
		if c.CredentialID, rest, ok = readString(rest); !ok {
			return c, ErrMalformed
		}
	}
	if len(rest) != 0 {
		return c, ErrMalformed
	}
	return c, nil
}

func readString(b []byte) (string, []byte, bool) {
	if len(b) < 1 || len(b) < 1+int(b[0]) {
		return "", nil, false
	}
	n := int(b[0])
	return string(b[1 : 1+n]), b[1+n:], true
}

// Parse verifies tok's signature with the public key that keys returns for
// its key ID and checks its expiry at now. It does not consult revocations;
// Verifier does.
func Parse(tok string, keys func(keyID string) (ed25519.PublicKey, bool), now time.Time) (Claims, error) {
	return ParseAs(Prefix, tok, keys, now)
}

// ParseAs is Parse of a token made by SignAs with prefix.
func ParseAs(prefix, tok string, keys func(keyID string) (ed25519.PublicKey, bool), now time.Time) (Claims, error) {
	signed, payload, sig, err := split(prefix, tok)
	if err != nil {
		return Claims{}, err
	}
	c, err := decodePayload(payload)
	if err != nil {
		return Claims{}, err
	}
	pub, ok := keys(c.KeyID)
	if !ok {
		return Claims{}, ErrUnknownKey
	}
	if !ed25519.Verify(pub, []byte(signed), sig) {
		return Claims{}, ErrSignature
	}
	if !now.Before(c.ExpiresAt) {
		return Claims{}, ErrExpired
	}
	return c, nil
}
