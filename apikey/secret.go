// Package apikey is what Warden knows about API keys independent of any
// API: the secret format, and the restrictions a key carries compiled into
// a form that is checked per request without allocating.
package apikey

import (
	"warden"
	"warden/secret"
)

// A secret reads
//
//	warden_ak_<key ID>_<43 random base-62 characters><6-character checksum>
//
// in the format of secret.Format, which static tokens share under a prefix
// of their own. Only the SHA-256 of the whole secret is stored.
const (
	Prefix       = "warden_ak_"
	SecretLength = len(Prefix) + warden.IDLength + 1 + 43 + 6
)

// format is the secret format of API keys.
var format = secret.MustFormat(Prefix)

// NewSecret returns a fresh secret for the key with the given ID.
func NewSecret(keyID string) string { return format.New(keyID) }

// KeyID returns the key ID a secret names, and false when the string is not
// a well-formed secret: wrong prefix, length or alphabet, or a checksum
// that does not match. It allocates nothing.
func KeyID(s string) (string, bool) { return format.ID(s) }

// Masked is how a secret is shown after creation: four stars and its last
// six characters (the Yandex masked_secret form).
func Masked(s string) string { return secret.Masked(s) }
