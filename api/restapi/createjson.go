package restapi

import (
	"errors"

	iam "github.com/yandex-cloud/go-genproto/yandex/cloud/iam/v1"
	"google.golang.org/protobuf/proto"

	"warden/api/jsonbody"
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
	d := jsonbody.Scanner{B: body}
	d.Space()
	if d.I == len(d.B) {
		return nil // an empty body: an empty request, as protojson is not asked
	}
	if !d.Next('{') {
		return errCreateFallback
	}
	var seen [4]bool
	if !d.Next('}') {
		for {
			key, ok := d.Str()
			if !ok || !d.Next(':') {
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
			if *dst, ok = d.Str(); !ok {
				return errCreateFallback
			}
			if d.Next('}') {
				break
			}
			if !d.Next(',') {
				return errCreateFallback
			}
		}
	}
	d.Space()
	if d.I != len(d.B) {
		return errCreateFallback
	}
	return nil
}
