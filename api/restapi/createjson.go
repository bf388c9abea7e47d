package restapi

import (
	"errors"
	"unicode/utf8"

	iam "github.com/yandex-cloud/go-genproto/yandex/cloud/iam/v1"
	"google.golang.org/protobuf/proto"
)

// A service account's create is the write clients repeat most, and
// protojson's reflective decoding was a sixtieth of its CPU. DecodeCreate
// reads the bodies clients send — an object of folderId, name and
// description (by JSON or proto name), strings without escapes — and gives
// up on anything else (labels, an expiry, an escape, a field twice, an
// unknown field), which protojson then decodes or refuses with its own
// error: the two never disagree on what a body means
// (TestDecodeCreateParity).

var errCreateFallback = errors.New("restapi: body outside the hand decoder")

// CreateFallback reports that DecodeCreate leaves a body to protojson.
func CreateFallback(err error) bool { return err == errCreateFallback }

// DecodeCreate decodes a REST body into msg (an
// *iam.CreateServiceAccountRequest); on an error for which CreateFallback
// is true msg may be partly set: reset it before decoding otherwise.
func DecodeCreate(body []byte, msg proto.Message) error {
	req, ok := msg.(*iam.CreateServiceAccountRequest)
	if !ok {
		return errCreateFallback
	}
	d := flatObject{b: body}
	d.space()
	if d.i == len(d.b) {
		return nil // an empty body: an empty request, as protojson is not asked
	}
	if !d.next('{') {
		return errCreateFallback
	}
	var seen [4]bool
	if !d.next('}') {
		for {
			key, ok := d.str()
			if !ok || !d.next(':') {
				return errCreateFallback
			}
			var field int
			var dst *string
			switch key {
			case "folderId", "folder_id":
				field, dst = 1, &req.FolderId
			case "name":
				field, dst = 2, &req.Name
			case "description":
				field, dst = 3, &req.Description
			default:
				return errCreateFallback
			}
			if seen[field] {
				return errCreateFallback // protojson refuses a field twice
			}
			seen[field] = true
			if *dst, ok = d.str(); !ok {
				return errCreateFallback
			}
			if d.next('}') {
				break
			}
			if !d.next(',') {
				return errCreateFallback
			}
		}
	}
	d.space()
	if d.i != len(d.b) {
		return errCreateFallback
	}
	return nil
}

// flatObject reads a JSON object of strings.
type flatObject struct {
	b []byte
	i int
}

func (d *flatObject) space() {
	for d.i < len(d.b) {
		switch d.b[d.i] {
		case ' ', '\t', '\n', '\r':
			d.i++
		default:
			return
		}
	}
}

func (d *flatObject) next(c byte) bool {
	d.space()
	if d.i < len(d.b) && d.b[d.i] == c {
		d.i++
		return true
	}
	return false
}

// str reads a string without escapes, in valid UTF-8.
func (d *flatObject) str() (string, bool) {
	if !d.next('"') {
		return "", false
	}
	start := d.i
	for ; d.i < len(d.b); d.i++ {
		switch c := d.b[d.i]; {
		case c == '"':
			s := d.b[start:d.i]
			d.i++
			return string(s), utf8.Valid(s)
		case c == '\\' || c < 0x20:
			return "", false
		}
	}
	return "", false
}
