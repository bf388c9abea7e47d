package warden

import (
	"crypto/rand"
	"encoding/binary"
)

// ID prefixes, one per resource type: every ID is 20 characters, lowercase
// letters and digits, and its first three name its type.
const (
	PrefixOrganization   = "bpf"
	PrefixCloud          = "b1g"
	PrefixFolder         = "b1f"
	PrefixServiceAccount = "aje"
	PrefixUserAccount    = "aju"
	PrefixUserpool       = "ysu"
	PrefixGroup          = "ajg"
	PrefixOperation      = "op1"
	PrefixOAuthToken     = "oat"
	PrefixPassword       = "apw"
	PrefixKey            = "ajk"
	PrefixAPIKey         = "aka"
	PrefixAccessKey      = "ajs"
	PrefixSigningKey     = "sgk"
	PrefixStaticToken    = "stk"
)

const idAlphabet = "0123456789abcdefghijklmnopqrstuv" // 32 symbols: 5 bits each

// IDLength is the length of every Warden ID.
const IDLength = 20

// NewID returns a random ID with the given 3-character prefix: 17 random
// base-32 characters, 85 bits of entropy.
func NewID(prefix string) string {
	if len(prefix) != 3 {
		panic("warden: ID prefix must be 3 characters: " + prefix)
	}
	var raw [16]byte
	if _, err := rand.Read(raw[:]); err != nil {
		panic("warden: crypto/rand failed: " + err.Error())
	}
	hi, lo := binary.BigEndian.Uint64(raw[:8]), binary.BigEndian.Uint64(raw[8:])
	b := make([]byte, IDLength)
	copy(b, prefix)
	for i := 3; i < IDLength; i++ {
		b[i] = idAlphabet[lo&31]
		lo = lo>>5 | hi<<59
		hi >>= 5
	}
	return string(b)
}
