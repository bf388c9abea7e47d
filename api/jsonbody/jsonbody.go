// Package jsonbody reads JSON request bodies within bounds that an
// unauthenticated caller cannot push past: a size limit, answered with
// warden.TooLarge (HTTP 413), and a nesting limit checked by one cheap pass
// over the bytes before any decoder builds a tree, answered with
// InvalidArgument. Decoders and validators that recurse are linear in the
// body only up to a depth; a body nested 9,000 deep cost seconds of CPU
// before this check existed.
package jsonbody

import (
	"bytes"
	"encoding/json"
	"errors"
	"io"
	"strconv"

	"warden"
)

// MaxDepth is the deepest nesting of objects and arrays a body may have.
// The deepest request of Warden's APIs nests under ten; 64 leaves room for
// free-form values (google.protobuf.Value) without letting a caller make
// the decoder or validator recurse thousands of levels.
const MaxDepth = 64

// Read reads r up to limit bytes and checks the nesting of what it read. A
// longer body is a warden.TooLarge error naming the limit; a deeper one is
// InvalidArgument naming MaxDepth.
func Read(r io.Reader, limit int64) ([]byte, error) {
	b, err := Append(nil, r, limit)
	if err != nil {
		return nil, err
	}
	if err := CheckDepth(b, MaxDepth); err != nil {
		return nil, err
	}
	return b, nil
}

// Append is Read appending the body to dst (a buffer the caller reuses)
// without the check of its nesting, for a caller whose own decoder does not
// recurse: it must call CheckDepth before handing the body to one that
// does. It reads at most limit+1 bytes.
func Append(dst []byte, r io.Reader, limit int64) ([]byte, error) {
	start := len(dst)
	for {
		if len(dst) == cap(dst) {
			dst = append(dst, 0)[:len(dst)]
		}
		room := dst[len(dst):cap(dst)]
		if left := limit + 1 - int64(len(dst)-start); int64(len(room)) > left {
			room = room[:left]
		}
		n, err := r.Read(room)
		dst = dst[:len(dst)+n]
		if int64(len(dst)-start) > limit {
			return dst, warden.Errorf(warden.TooLarge, "the request body exceeds %d bytes", limit)
		}
		if err == io.EOF {
			return dst, nil
		}
		if err != nil {
			return dst, warden.Errorf(warden.InvalidArgument, "cannot read the request body")
		}
	}
}

// Decode reads a body with Read and decodes it strictly into v with
// encoding/json: unknown fields (a snake_case name, a typo) and a second
// value are refused. Type errors come back as *json.UnmarshalTypeError
// wrapped in an InvalidArgument warden.Error, so a caller can name the field.
func Decode(r io.Reader, limit int64, v any) error {
	b, err := Read(r, limit)
	if err != nil {
		return err
	}
	dec := json.NewDecoder(bytes.NewReader(b))
	dec.DisallowUnknownFields()
	if err := dec.Decode(v); err != nil {
		return &warden.Error{Code: warden.InvalidArgument, Message: "invalid JSON body: " + err.Error(), Cause: err}
	}
	if dec.More() {
		return warden.Errorf(warden.InvalidArgument, "invalid JSON body: more than one JSON value")
	}
	return nil
}

// ErrTooDeep is the cause of the error CheckDepth returns.
var ErrTooDeep = errors.New("jsonbody: nested too deep")

// CheckDepth returns an InvalidArgument error when b nests objects and
// arrays deeper than max. It only follows strings (so that brackets inside
// them do not count) and brackets: it does not validate the JSON, which is
// the decoder's job, and it costs one pass with no allocation.
func CheckDepth(b []byte, max int) error {
	depth := 0
	inString, escaped := false, false
	for _, c := range b {
		if inString {
			switch {
			case escaped:
				escaped = false
			case c == '\\':
				escaped = true
			case c == '"':
				inString = false
			}
			continue
		}
		switch c {
		case '"':
			inString = true
		case '{', '[':
			depth++
			if depth > max {
				return &warden.Error{Code: warden.InvalidArgument, Message: tooDeepMessage(max), Cause: ErrTooDeep}
			}
		case '}', ']':
			depth-- // unbalanced input is the decoder's to refuse
		}
	}
	return nil
}

func tooDeepMessage(max int) string {
	return "invalid JSON body: objects and arrays nest deeper than " + strconv.Itoa(max) + " levels"
}
