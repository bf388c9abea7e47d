package apikey

import "unsafe"

// unsafeBytes views a string's bytes without copying, for hashing it; the
// result must not be written to.
func unsafeBytes(s string) []byte { return unsafe.Slice(unsafe.StringData(s), len(s)) }
