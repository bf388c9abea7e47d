// Package statictoken is what Warden knows about static tokens independent
// of any API: their secret format. A static token is an account's
// long-lived secret, presented as "X-Token: <secret>" (Selectel's
// control-panel tokens), that authenticates as the account itself.
package statictoken

import "warden/secret"

// Prefix starts every static token secret:
//
//	warden_st_<token ID>_<43 random base-62 characters><6-character checksum>
//
// the format of API keys (secret.Format) under a prefix of its own, so that
// neither kind is ever taken for the other. Only the SHA-256 of the whole
// secret is stored.
const Prefix = "warden_st_"

var format = secret.MustFormat(Prefix)

// SecretLength is the length of every static token secret.
var SecretLength = format.Len()

// NewSecret returns a fresh secret for the token with the given ID.
func NewSecret(tokenID string) string { return format.New(tokenID) }

// TokenID returns the token ID a secret names, and false when the string
// is not a well-formed static token: wrong prefix, length or alphabet, or a
// checksum that does not match. It allocates nothing.
func TokenID(s string) (string, bool) { return format.ID(s) }
