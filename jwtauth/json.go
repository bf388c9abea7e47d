package jwtauth

import (
	"errors"
	"fmt"
	"math"
	"strconv"
	"time"
	"unicode/utf16"
	"unicode/utf8"
)

// This file reads the two small JSON objects of a token: strictly (RFC 8259
// grammar, no trailing data, nesting bounded), without reflection, and
// rejecting a repeated member that Warden reads. RFC 7515 §5.2 allows either
// rejecting duplicates or taking the last; rejecting them leaves no room for
// two parsers to disagree about which "alg" a token has.

var errSyntax = errors.New("invalid JSON")

const maxDepth = 16

type field uint8

const (
	fieldAlg field = iota
	fieldTyp
	fieldKid
	fieldIss
	fieldAud
	fieldIat
	fieldExp
	fieldNbf
)

// fields is the set of members already read.
type fields uint16

func (f *fields) add(x field, name string) error {
	if *f&(1<<x) != 0 {
		return fmt.Errorf("%w: %s appears twice", ErrMalformed, name)
	}
	*f |= 1 << x
	return nil
}

func (f fields) has(x field) bool { return f&(1<<x) != 0 }

type reader struct {
	b []byte
	i int
}

// readObject reads b, which must hold exactly one JSON object, calling
// member for each member with the reader positioned at its value; member
// must consume the value.
func readObject(b []byte, member func(key []byte, r *reader) error) error {
	r := &reader{b: b}
	r.space()
	if !r.eat('{') {
		return errSyntax
	}
	r.space()
	if !r.eat('}') {
		for {
			r.space()
			key, err := r.str()
			if err != nil {
				return err
			}
			r.space()
			if !r.eat(':') {
				return errSyntax
			}
			r.space()
			if err := member(key, r); err != nil {
				return err
			}
			r.space()
			if r.eat(',') {
				continue
			}
			if r.eat('}') {
				break
			}
			return errSyntax
		}
	}
	r.space()
	if r.i != len(r.b) {
		return errSyntax
	}
	return nil
}

func (r *reader) space() {
	for r.i < len(r.b) {
		switch r.b[r.i] {
		case ' ', '\t', '\n', '\r':
			r.i++
		default:
			return
		}
	}
}

func (r *reader) eat(c byte) bool {
	if r.i < len(r.b) && r.b[r.i] == c {
		r.i++
		return true
	}
	return false
}

func (r *reader) peek() byte {
	if r.i < len(r.b) {
		return r.b[r.i]
	}
	return 0
}

// str reads a string and returns its decoded bytes: a slice of the input
// when it has no escapes.
func (r *reader) str() ([]byte, error) {
	if !r.eat('"') {
		return nil, errSyntax
	}
	start := r.i
	for r.i < len(r.b) {
		c := r.b[r.i]
		switch {
		case c == '"':
			r.i++
			return validUTF8(r.b[start : r.i-1])
		case c == '\\':
			return r.escaped(start)
		case c < 0x20:
			return nil, errSyntax
		}
		r.i++
	}
	return nil, errSyntax
}

// escaped finishes a string that has an escape at r.i.
func (r *reader) escaped(start int) ([]byte, error) {
	out := append([]byte(nil), r.b[start:r.i]...)
	for r.i < len(r.b) {
		c := r.b[r.i]
		switch {
		case c == '"':
			r.i++
			return validUTF8(out)
		case c < 0x20:
			return nil, errSyntax
		case c != '\\':
			out = append(out, c)
			r.i++
			continue
		}
		if r.i+1 >= len(r.b) {
			return nil, errSyntax
		}
		e := r.b[r.i+1]
		r.i += 2
		switch e {
		case '"', '\\', '/':
			out = append(out, e)
		case 'b':
			out = append(out, '\b')
		case 'f':
			out = append(out, '\f')
		case 'n':
			out = append(out, '\n')
		case 'r':
			out = append(out, '\r')
		case 't':
			out = append(out, '\t')
		case 'u':
			ru, ok := r.hex4()
			if !ok {
				return nil, errSyntax
			}
			if utf16.IsSurrogate(ru) {
				// A valid pair combines; anything else becomes U+FFFD,
				// as encoding/json does.
				save := r.i
				if r.i+1 < len(r.b) && r.b[r.i] == '\\' && r.b[r.i+1] == 'u' {
					r.i += 2
					lo, ok := r.hex4()
					if ok && utf16.DecodeRune(ru, lo) != utf8.RuneError {
						ru = utf16.DecodeRune(ru, lo)
					} else {
						r.i = save
						ru = utf8.RuneError
					}
				} else {
					ru = utf8.RuneError
				}
			}
			out = utf8.AppendRune(out, ru)
		default:
			return nil, errSyntax
		}
	}
	return nil, errSyntax
}

// validUTF8 rejects what RFC 8259 §8.1 forbids rather than repairing it
// with U+FFFD as encoding/json does: IDs compared byte for byte must be the
// bytes that were signed.
func validUTF8(b []byte) ([]byte, error) {
	if !utf8.Valid(b) {
		return nil, fmt.Errorf("%w: a string is not valid UTF-8", ErrMalformed)
	}
	return b, nil
}

func (r *reader) hex4() (rune, bool) {
	if r.i+4 > len(r.b) {
		return 0, false
	}
	v, err := strconv.ParseUint(string(r.b[r.i:r.i+4]), 16, 16)
	if err != nil {
		return 0, false
	}
	r.i += 4
	return rune(v), true
}

// number reads a JSON number and returns its text.
func (r *reader) number() ([]byte, error) {
	start := r.i
	r.eat('-')
	switch c := r.peek(); {
	case c == '0':
		r.i++
	case c >= '1' && c <= '9':
		r.digits()
	default:
		return nil, errSyntax
	}
	if r.eat('.') {
		if r.digits() == 0 {
			return nil, errSyntax
		}
	}
	if c := r.peek(); c == 'e' || c == 'E' {
		r.i++
		if c := r.peek(); c == '+' || c == '-' {
			r.i++
		}
		if r.digits() == 0 {
			return nil, errSyntax
		}
	}
	return r.b[start:r.i], nil
}

func (r *reader) digits() int {
	n := 0
	for r.i < len(r.b) && r.b[r.i] >= '0' && r.b[r.i] <= '9' {
		r.i++
		n++
	}
	return n
}

func (r *reader) literal(s string) error {
	if len(r.b)-r.i < len(s) || string(r.b[r.i:r.i+len(s)]) != s {
		return errSyntax
	}
	r.i += len(s)
	return nil
}

// skip reads and discards any value.
func (r *reader) skip(depth int) error {
	if depth > maxDepth {
		return fmt.Errorf("%w: nested too deeply", ErrMalformed)
	}
	switch c := r.peek(); {
	case c == '"':
		_, err := r.str()
		return err
	case c == '{':
		return r.skipContainer('}', depth, true)
	case c == '[':
		return r.skipContainer(']', depth, false)
	case c == 't':
		return r.literal("true")
	case c == 'f':
		return r.literal("false")
	case c == 'n':
		return r.literal("null")
	default:
		_, err := r.number()
		return err
	}
}

func (r *reader) skipContainer(end byte, depth int, object bool) error {
	r.i++
	r.space()
	if r.eat(end) {
		return nil
	}
	for {
		r.space()
		if object {
			if _, err := r.str(); err != nil {
				return err
			}
			r.space()
			if !r.eat(':') {
				return errSyntax
			}
			r.space()
		}
		if err := r.skip(depth + 1); err != nil {
			return err
		}
		r.space()
		if r.eat(',') {
			continue
		}
		if r.eat(end) {
			return nil
		}
		return errSyntax
	}
}

func (r *reader) stringField(seen *fields, f field, name string) (string, error) {
	if err := seen.add(f, name); err != nil {
		return "", err
	}
	if r.peek() != '"' {
		return "", fmt.Errorf("%w: %s must be a string", ErrMalformed, name)
	}
	s, err := r.str()
	return string(s), err
}

// audience reads aud: a string or an array of strings (RFC 7519 §4.1.3).
// The Yandex Go SDK sends an array, PyJWT a string.
func (r *reader) audience(seen *fields) ([]string, error) {
	if err := seen.add(fieldAud, "aud"); err != nil {
		return nil, err
	}
	if r.peek() == '"' {
		s, err := r.str()
		return []string{string(s)}, err
	}
	if !r.eat('[') {
		return nil, fmt.Errorf("%w: aud must be a string or an array of strings", ErrMalformed)
	}
	var out []string
	r.space()
	if r.eat(']') {
		return out, nil
	}
	for {
		r.space()
		if r.peek() != '"' {
			return nil, fmt.Errorf("%w: aud must be a string or an array of strings", ErrMalformed)
		}
		s, err := r.str()
		if err != nil {
			return nil, err
		}
		out = append(out, string(s))
		r.space()
		if r.eat(',') {
			continue
		}
		if r.eat(']') {
			return out, nil
		}
		return nil, errSyntax
	}
}

// maxDate bounds NumericDate values so that time arithmetic cannot
// overflow: the year 9999.
const maxDate = 253402300799

// dateField reads a NumericDate: seconds since the epoch, possibly with a
// fraction (RFC 7519 §2), which is truncated.
func (r *reader) dateField(seen *fields, f field, name string) (time.Time, error) {
	if err := seen.add(f, name); err != nil {
		return time.Time{}, err
	}
	c := r.peek()
	if c != '-' && (c < '0' || c > '9') {
		return time.Time{}, fmt.Errorf("%w: %s must be a number of seconds", ErrMalformed, name)
	}
	text, err := r.number()
	if err != nil {
		return time.Time{}, err
	}
	v, err := strconv.ParseInt(string(text), 10, 64)
	if err != nil {
		fv, ferr := strconv.ParseFloat(string(text), 64)
		if ferr != nil || math.IsNaN(fv) || fv < 0 || fv > maxDate {
			return time.Time{}, fmt.Errorf("%w: %s is out of range", ErrMalformed, name)
		}
		v = int64(fv)
	}
	if v < 0 || v > maxDate {
		return time.Time{}, fmt.Errorf("%w: %s is out of range", ErrMalformed, name)
	}
	return time.Unix(v, 0).UTC(), nil
}
