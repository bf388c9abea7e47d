package apikey

import "warden/secret"

// unsafeBytes views a string's bytes without copying, for hashing it; the
// result must not be written to.
func unsafeBytes(s string) []byte { return secret.UnsafeBytes(s) }
