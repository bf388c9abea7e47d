package secret

import (
	"crypto/rand"
	"errors"
	"hash/crc32"
	"unsafe"
)

// Format is the shape of Warden's machine secrets that name their
// credential (API keys, static tokens):
//
//	<prefix><credential ID>_<43 random base-62 characters><6-character checksum>
//
// The prefix lets secret scanners (and people) recognise one and tells the
// kinds apart; the credential ID makes its lookup a map access; 43 base-62
// characters carry 256 bits; the checksum (CRC-32 of everything before it,
// base 62) refuses a mistyped or truncated secret before any lookup. Only
// the SHA-256 of the whole secret is stored.
type Format struct {
	prefix string
}

// Lengths of a secret's parts after its prefix.
const (
	formatIDLen       = 20 // warden.IDLength: every Warden ID
	formatRandomLen   = 43
	formatChecksumLen = 6
)

const base62 = "0123456789ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz"

// NewFormat returns the format of secrets that start with prefix, which
// must be non-empty and end in '_' so that it reads apart from the ID.
func NewFormat(prefix string) (Format, error) {
	if len(prefix) < 2 || prefix[len(prefix)-1] != '_' {
		return Format{}, errors.New("secret: a secret prefix must end in '_': " + prefix)
	}
	return Format{prefix: prefix}, nil
}

// MustFormat is NewFormat for a constant prefix.
func MustFormat(prefix string) Format {
	f, err := NewFormat(prefix)
	if err != nil {
		panic(err)
	}
	return f
}

// Prefix returns the prefix every secret of the format starts with.
func (f Format) Prefix() string { return f.prefix }

// Len returns the length of every secret of the format.
func (f Format) Len() int {
	return len(f.prefix) + formatIDLen + 1 + formatRandomLen + formatChecksumLen
}

// New returns a fresh secret for the credential with the given ID.
func (f Format) New(id string) string {
	if len(id) != formatIDLen {
		panic("secret: a credential ID must have 20 characters: " + id)
	}
	n := f.Len()
	randomEnd := n - formatChecksumLen
	b := make([]byte, 0, n)
	b = append(b, f.prefix...)
	b = append(b, id...)
	b = append(b, '_')
	// Rejection sampling keeps every character uniform: bytes ≥ 248 (the
	// largest multiple of 62 below 256) are drawn again.
	var buf [64]byte
	for len(b) < randomEnd {
		if _, err := rand.Read(buf[:]); err != nil {
			panic("secret: crypto/rand failed: " + err.Error())
		}
		for _, x := range buf {
			if x < 248 && len(b) < randomEnd {
				b = append(b, base62[x%62])
			}
		}
	}
	return string(appendChecksum(b, crc32.ChecksumIEEE(b)))
}

func appendChecksum(b []byte, sum uint32) []byte {
	var c [formatChecksumLen]byte
	for i := formatChecksumLen - 1; i >= 0; i-- {
		c[i] = base62[sum%62]
		sum /= 62
	}
	return append(b, c[:]...)
}

// ID returns the credential ID a secret names, and false when the string
// is not a well-formed secret of the format: wrong prefix, length or
// alphabet, or a checksum that does not match. It allocates nothing.
func (f Format) ID(s string) (string, bool) {
	n, p := f.Len(), len(f.prefix)
	if len(s) != n || s[:p] != f.prefix || s[p+formatIDLen] != '_' {
		return "", false
	}
	body := s[:n-formatChecksumLen]
	var want uint64 // six base-62 digits exceed 32 bits: no wrap-around, one spelling per checksum
	for i := n - formatChecksumLen; i < n; i++ {
		v := base62Value(s[i])
		if v < 0 {
			return "", false
		}
		want = want*62 + uint64(v)
	}
	for i := p + formatIDLen + 1; i < len(body); i++ {
		if base62Value(s[i]) < 0 {
			return "", false
		}
	}
	id := s[p : p+formatIDLen]
	for i := 0; i < len(id); i++ {
		if c := id[i]; !(c >= '0' && c <= '9' || c >= 'a' && c <= 'z') {
			return "", false
		}
	}
	if uint64(crc32.ChecksumIEEE(UnsafeBytes(body))) != want {
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

// UnsafeBytes views a string's bytes without copying, for hashing it; the
// result must not be written to.
func UnsafeBytes(s string) []byte { return unsafe.Slice(unsafe.StringData(s), len(s)) }
