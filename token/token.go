// Package token implements Warden's self-verifying IAM token format:
//
//	t1.<payload>.<signature>
//
// payload is base64url (no padding) of a compact binary record (version,
// issue and expiry times, a random token ID, the subject and the signing key
// ID); signature is the Ed25519 signature of "t1.<payload>", 64 bytes, which
// base64url-encodes to exactly the 86 characters of the Yandex token pattern.
// A token verifies with the server's public keys alone: no database read.
//
// Keystone tokens (KeystonePrefix, "k1.<payload>.<signature>") share the
// format and the signing keys; their payload (version 3) adds the scope, the
// authentication methods and the audit chain. The prefix is part of what is
// signed, so a token of one kind never verifies as the other: a scoped
// Keystone token cannot be replayed as an unconfined IAM token.
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
// IAM token format under another prefix, which the signature covers, so
// that neither kind of token passes for the other.
const SessionPrefix = "ws1."

// MaxLifetime is the longest an IAM token may live.
const MaxLifetime = 12 * time.Hour

// Payload versions: version 2 adds the ID of the credential that minted
// the token; version 1 tokens (minted before) are still read. Version 3 is
// the Keystone token's.
const (
	version1        = 1
	version         = 2
	versionKeystone = 3
	// versionSession is an ephemeral access key's session token: an IAM
	// token's fields and the key's policy.
	versionSession = 4
)

// KeystonePrefix starts every Keystone token.
const KeystonePrefix = "k1."

// MaxKeystoneLifetime is the longest a Keystone token may live.
const MaxKeystoneLifetime = 7 * 24 * time.Hour

// Authentication methods a Keystone token records (Claims.Methods).
const (
	MethodPassword byte = 1 << iota
	MethodToken
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

	// Keystone marks a Keystone token; the fields below are its own.
	Keystone bool
	// Scope is the resource the token is confined to: a cloud (a Keystone
	// domain) or a folder (a project); "" for an unscoped token.
	Scope string
	// Methods are the authentication methods behind the token
	// (MethodPassword, MethodToken).
	Methods byte
	// AuditChain is the token ID of the token this one was rescoped
	// from, "" for a token issued from a password.
	AuditChain string

	// Policy, in a session token (SessionPrefix) only, narrows what the
	// ephemeral key may do: a JSON policy the service compiles.
	Policy string
}

// MaxPolicyLength bounds a session token's policy, so that the token stays
// within MaxLength.
const MaxPolicyLength = 512

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

// Sign returns the token for c, signed with priv: a Keystone token when
// c.Keystone is set. c.KeyID must name priv.
func Sign(c Claims, priv ed25519.PrivateKey) (string, error) { return signAs("", c, priv) }

// SignAs is Sign of an IAM-token-shaped token under another prefix
// (SessionPrefix): the prefix is signed, so neither kind passes for the
// other.
func SignAs(prefix string, c Claims, priv ed25519.PrivateKey) (string, error) {
	if prefix == "" || c.Keystone {
		return "", errors.New("token: SignAs takes a prefix and no Keystone claims")
	}
	return signAs(prefix, c, priv)
}

func signAs(as string, c Claims, priv ed25519.PrivateKey) (string, error) {
	code, ok := subjectTypeCodes[c.SubjectType]
	if !ok {
		return "", fmt.Errorf("token: unknown subject type %q", c.SubjectType)
	}
	id, err := hex.DecodeString(c.TokenID)
	if err != nil || len(id) != 16 {
		return "", errors.New("token: token ID must be 32 hex characters")
	}
	if len(c.KeyID) > 255 || len(c.SubjectID) > 255 || len(c.CredentialID) > 255 || len(c.Scope) > 255 {
		return "", errors.New("token: key, subject, credential or scope ID too long")
	}
	var chain []byte
	if c.AuditChain != "" {
		if chain, err = hex.DecodeString(c.AuditChain); err != nil || len(chain) != 16 {
			return "", errors.New("token: audit chain must be 32 hex characters")
		}
	}
	if !c.Keystone && (c.Scope != "" || c.Methods != 0 || c.AuditChain != "") {
		return "", errors.New("token: scope, methods and audit chain are for Keystone tokens")
	}
	prefix, v := Prefix, byte(version)
	if c.Keystone {
		prefix, v = KeystonePrefix, versionKeystone
	}
	if as != "" {
		prefix = as
	}
	session := prefix == SessionPrefix
	if session {
		v = versionSession
	}
	if len(c.Policy) > MaxPolicyLength || (c.Policy != "" && !session) {
		return "", errors.New("token: a policy is for session tokens, at most 512 bytes")
	}
	p := make([]byte, 0, 1+8+8+16+1+7+len(c.KeyID)+len(c.SubjectID)+len(c.CredentialID)+len(c.Scope)+len(chain))
	p = append(p, v)
	p = binary.BigEndian.AppendUint64(p, uint64(c.IssuedAt.Unix()))
	p = binary.BigEndian.AppendUint64(p, uint64(c.ExpiresAt.Unix()))
	p = append(p, id...)
	p = append(p, code, byte(len(c.KeyID)))
	p = append(p, c.KeyID...)
	p = append(p, byte(len(c.SubjectID)))
	p = append(p, c.SubjectID...)
	p = append(p, byte(len(c.CredentialID)))
	p = append(p, c.CredentialID...)
	if session {
		p = binary.BigEndian.AppendUint16(p, uint16(len(c.Policy)))
		p = append(p, c.Policy...)
	}
	if c.Keystone {
		p = append(p, byte(len(c.Scope)))
		p = append(p, c.Scope...)
		p = append(p, c.Methods, byte(len(chain)))
		p = append(p, chain...)
	}
	signed := prefix + b64.EncodeToString(p)
	return signed + "." + b64.EncodeToString(ed25519.Sign(priv, []byte(signed))), nil
}

// Split checks the token's shape and returns the signed part, the decoded
// payload and the signature.
func split(tok, prefix string) (signed string, payload, sig []byte, err error) {
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

// decodePayload reads a payload of a token of the kind the prefix named:
// an IAM token's (version 1 or 2) or a Keystone token's (version 3).
func decodePayload(p []byte, keystone, session bool) (Claims, error) {
	var c Claims
	if len(p) < 1+8+8+16+1+1 {
		return c, ErrMalformed
	}
	if keystone != (p[0] == versionKeystone) || session != (p[0] == versionSession) ||
		(!keystone && !session && p[0] != version && p[0] != version1) {
		return c, ErrMalformed
	}
	c.Keystone = keystone
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
	if p[0] != version1 {
		if c.CredentialID, rest, ok = readString(rest); !ok {
			return c, ErrMalformed
		}
	}
	if session {
		if len(rest) < 2 || len(rest) < 2+int(binary.BigEndian.Uint16(rest)) {
			return c, ErrMalformed
		}
		n := int(binary.BigEndian.Uint16(rest))
		c.Policy, rest = string(rest[2:2+n]), rest[2+n:]
	}
	if keystone {
		if c.Scope, rest, ok = readString(rest); !ok || len(rest) < 2 {
			return c, ErrMalformed
		}
		c.Methods = rest[0]
		var chain string
		if chain, rest, ok = readString(rest[1:]); !ok || (len(chain) != 0 && len(chain) != 16) {
			return c, ErrMalformed
		}
		if chain != "" {
			c.AuditChain = hex.EncodeToString([]byte(chain))
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

// Parse verifies an IAM token's signature with the public key that keys
// returns for its key ID and checks its expiry at now. It does not consult
// revocations; Verifier does. A Keystone token is malformed here.
func Parse(tok string, keys func(keyID string) (ed25519.PublicKey, bool), now time.Time) (Claims, error) {
	return parse(tok, Prefix, keys, now)
}

// ParseAs is Parse of a token made by SignAs with prefix.
func ParseAs(prefix, tok string, keys func(keyID string) (ed25519.PublicKey, bool), now time.Time) (Claims, error) {
	return parse(tok, prefix, keys, now)
}

// ParseKeystone is Parse for Keystone tokens; an IAM token is malformed
// here.
func ParseKeystone(tok string, keys func(keyID string) (ed25519.PublicKey, bool), now time.Time) (Claims, error) {
	return parse(tok, KeystonePrefix, keys, now)
}

func parse(tok, prefix string, keys func(keyID string) (ed25519.PublicKey, bool), now time.Time) (Claims, error) {
	signed, payload, sig, err := split(tok, prefix)
	if err != nil {
		return Claims{}, err
	}
	c, err := decodePayload(payload, prefix == KeystonePrefix, prefix == SessionPrefix)
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
