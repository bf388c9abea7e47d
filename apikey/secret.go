// Package apikey is what Warden knows about API keys independent of any
// API: the secret format, and the restrictions a key carries compiled into
// a form that is checked per request without allocating.
package apikey

import (
	"crypto/rand"
	"hash/crc32"

	"warden"
)

// A secret reads
//
//	warden_ak_<key ID>_<43 random base-62 characters><6-character checksum>
//
// The prefix lets secret scanners (and people) recognise one; the key ID
// makes its lookup a map access; 43 base-62 characters carry 256 bits; the
// checksum (CRC-32 of everything before it, base 62) refuses a mistyped or
// truncated secret before any lookup. Only the SHA-256 of the whole secret
// is stored.
const (
	Prefix       = "warden_ak_"
	randomLen    = 43
	checksumLen  = 6
	SecretLength = len(Prefix) + warden.IDLength + 1 + randomLen + checksumLen
)

const base62 = "0123456789ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz"

// NewSecret returns a fresh secret for the key with the given ID.
func NewSecret(keyID string) string {
	if len(keyID) != warden.IDLength {
		panic("apikey: key ID must have " + "20 characters: " + keyID)
	}
	b := make([]byte, 0, SecretLength)
	b = append(b, Prefix...)
	b = append(b, keyID...)
	b = append(b, '_')
	// Rejection sampling keeps every character uniform: bytes ≥ 248 (the
	// largest multiple of 62 below 256) are drawn again.
	var buf [64]byte
	for len(b) < len(Prefix)+warden.IDLength+1+randomLen {
		if _, err := rand.Read(buf[:]); err != nil {
			panic("apikey: crypto/rand failed: " + err.Error())
		}
		for _, x := range buf {
			if x < 248 && len(b) < len(Prefix)+warden.IDLength+1+randomLen {
				b = append(b, base62[x%62])
			}
		}
	}
	return string(appendChecksum(b, crc32.ChecksumIEEE(b)))
}

func appendChecksum(b []byte, sum uint32) []byte {
	var c [checksumLen]byte
	for i := checksumLen - 1; i >= 0; i-- {
		c[i] = base62[sum%62]
		sum /= 62
	}
	return append(b, c[:]...)
}

// KeyID returns the key ID a secret names, and false when the string is not
// a well-formed secret: wrong prefix, length or alphabet, or a checksum
// that does not match. It allocates nothing.
func KeyID(s string) (string, bool) {
	if len(s) != SecretLength || s[:len(Prefix)] != Prefix || s[len(Prefix)+warden.IDLength] != '_' {
		return "", false
	}
	body := s[:SecretLength-checksumLen]
	var want uint64 // six base-62 digits exceed 32 bits: no wrap-around, one spelling per checksum
	for i := SecretLength - checksumLen; i < SecretLength; i++ {
		v := base62Value(s[i])
		if v < 0 {
			return "", false
		}
		want = want*62 + uint64(v)
	}
	for i := len(Prefix) + warden.IDLength + 1; i < len(body); i++ {
		if base62Value(s[i]) < 0 {
			return "", false
		}
	}
	id := s[len(Prefix) : len(Prefix)+warden.IDLength]
	for i := 0; i < len(id); i++ {
		if c := id[i]; !(c >= '0' && c <= '9' || c >= 'a' && c <= 'z') {
			return "", false
		}
	}
	if uint64(crc32.ChecksumIEEE(unsafeBytes(body))) != want {
		return "", false
	}
	return id, true
}

func base62Value(c byte) int {
	switch {
	case c >= '0' && c <= '9':
		return int(c - '0')
	case c >= 'A' && c <= 'Z':
		return int(c-'A') + 10
	case c >= 'a' && c <= 'z':
		return int(c-'a') + 36
	}
	return -1
}

// Masked is how a secret is shown after creation: four stars and its last
// six characters (the Yandex masked_secret form).
func Masked(secret string) string {
	if len(secret) < 6 {
		return "****"
	}
	return "****" + secret[len(secret)-6:]
}
