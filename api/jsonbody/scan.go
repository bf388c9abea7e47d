package jsonbody

import "unicode/utf8"

// Scanner reads the plain JSON that the hand decoders of hot requests
// accept — strings without escapes, in valid UTF-8 — byte by byte; what it
// cannot read, they hand to protojson.
type Scanner struct {
	B []byte // the body
	I int    // the next byte to read
}

// Space skips white space.
func (d *Scanner) Space() {
	for d.I < len(d.B) {
		switch d.B[d.I] {
		case ' ', '\t', '\n', '\r':
			d.I++
		default:
			return
		}
	}
}

// Next reads c after white space, and reports whether it was there.
func (d *Scanner) Next(c byte) bool {
	d.Space()
	if d.I < len(d.B) && d.B[d.I] == c {
		d.I++
		return true
	}
	return false
}

// Str reads a string without escapes, in valid UTF-8.
func (d *Scanner) Str() (string, bool) { return d.StrFrom(nil) }

// StrFrom is Str answering a string of common (the same bytes) without
// allocating one: methods, header names and resource types repeat in every
// request.
func (d *Scanner) StrFrom(common map[string]string) (string, bool) {
	if !d.Next('"') {
		return "", false
	}
	start := d.I
	for d.I < len(d.B) {
		c := d.B[d.I]
		switch {
		case c == '"':
			s := d.B[start:d.I]
			d.I++
			if v, ok := common[string(s)]; ok {
				return v, true
			}
			if !utf8.Valid(s) {
				return "", false
			}
			return string(s), true
		case c == '\\' || c < 0x20:
			return "", false
		}
		d.I++
	}
	return "", false
}
