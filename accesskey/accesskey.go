// Package accesskey is the format of Warden's AWS-compatible static access
// keys: the key id AWS clients send in a SigV4 credential scope, and the
// secret they sign with.
//
// A key id reads "WDNK" followed by 16 characters of RFC 4648 base 32
// (A–Z, 2–7): 20 characters of upper-case letters and digits like AWS's
// "AKIA…", with a prefix a secret scanner can match, and 80 random bits so
// that ids cannot be guessed. A secret is 40 characters of base 62 (238
// bits): the length of an AWS secret access key, without the "/" and "+"
// that trip up shells and URLs.
package accesskey

import (
	"crypto/hmac"
	"crypto/rand"
	"crypto/sha512"
	"encoding/base32"
	"strings"
)

// KeyIDPrefix starts every key id.
const KeyIDPrefix = "WDNK"

// Lengths of a key id and a secret.
const (
	KeyIDLength  = 20
	SecretLength = 40
)

var b32 = base32.StdEncoding.WithPadding(base32.NoPadding)

// NewKeyID returns a fresh random key id.
func NewKeyID() string {
	b := make([]byte, 10)
	rand.Read(b)
	return KeyIDPrefix + b32.EncodeToString(b)
}

// IsKeyID reports whether s has the shape of a key id (it may still be
// unknown): checked before any lookup.
func IsKeyID(s string) bool {
	if len(s) != KeyIDLength || !strings.HasPrefix(s, KeyIDPrefix) {
		return false
	}
	for i := len(KeyIDPrefix); i < len(s); i++ {
		c := s[i]
		if (c < 'A' || c > 'Z') && (c < '2' || c > '7') {
			return false
		}
	}
	return true
}

const alphabet = "0123456789ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz"

// NewSecret returns a fresh random secret: each character drawn uniformly
// from the 62 symbols by rejection sampling.
func NewSecret() string {
	out := make([]byte, 0, SecretLength)
	buf := make([]byte, 64)
	for len(out) < SecretLength {
		rand.Read(buf)
		for _, b := range buf {
			if b < 248 && len(out) < SecretLength { // 248 = 4·62: no modulo bias
				out = append(out, alphabet[b%62])
			}
		}
	}
	return string(out)
}

// EphemeralKeyIDPrefix starts the key id of an ephemeral access key, which
// is valid only with its session token.
const EphemeralKeyIDPrefix = "WDNE"

// NewEphemeralKeyID returns a fresh random ephemeral key id.
func NewEphemeralKeyID() string {
	b := make([]byte, 10)
	rand.Read(b)
	return EphemeralKeyIDPrefix + b32.EncodeToString(b)
}

// IsEphemeralKeyID reports whether s has the shape of an ephemeral key id.
func IsEphemeralKeyID(s string) bool {
	return strings.HasPrefix(s, EphemeralKeyIDPrefix) && IsKeyID(KeyIDPrefix+s[len(EphemeralKeyIDPrefix):])
}

// DeriveSecret returns the secret of an ephemeral key id under root (a key
// every wardend derives from the master key): ephemeral keys have no row in
// the database, so any wardend recomputes the secret from the id alone.
func DeriveSecret(root []byte, keyID string) string {
	out := make([]byte, 0, SecretLength)
	for counter := byte(0); len(out) < SecretLength; counter++ {
		mac := hmac.New(sha512.New, root)
		mac.Write([]byte(keyID))
		mac.Write([]byte{counter})
		for _, b := range mac.Sum(nil) {
			if b < 248 && len(out) < SecretLength {
				out = append(out, alphabet[b%62])
			}
		}
	}
	return string(out)
}
