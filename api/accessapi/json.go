package accessapi

import (
	"errors"
	"maps"
	"slices"
	"strings"
	"unicode/utf8"

	"google.golang.org/protobuf/proto"
	"google.golang.org/protobuf/types/known/structpb"

	"warden/api/accesspb"
	"warden/api/jsonbody"
)

// Authorize is asked once per request of every resource service, so its
// REST body is decoded and its answer encoded by hand rather than through
// protojson's reflection (about a third of the request's CPU). The hand
// decoder covers the bodies clients send — objects of known fields, either
// JSON or proto names, strings without escapes, header values that are
// strings — and gives up (errFallback) on anything else, which protojson
// then decodes (or refuses with its own error): the two never disagree on
// what a body means (see TestAuthorizeCodecParity).

// AuthorizeMethod is the full name of Authorize.
const AuthorizeMethod = "/warden.access.v1.AccessService/Authorize"

var errFallback = errors.New("accessapi: body outside the hand decoder")

// ErrFallback reports that DecodeAuthorize leaves a body to protojson.
func ErrFallback(err error) bool { return err == errFallback }

// DecodeAuthorize decodes a REST Authorize body into msg (an
// *accesspb.AuthorizeRequest); errFallback (ErrFallback) leaves msg
// partly set: reset it before decoding otherwise.
func DecodeAuthorize(body []byte, msg proto.Message) error {
	req, ok := msg.(*accesspb.AuthorizeRequest)
	if !ok {
		return errFallback
	}
	d := decoder{jsonbody.Scanner{B: body}}
	d.Space()
	if d.I == len(d.B) {
		return nil // an empty body: an empty request, as protojson is not asked
	}
	if !d.object(func(key string) int {
		switch key {
		case "request":
			req.Request = &accesspb.Request{}
			return sub(1, d.request(req.Request))
		case "subject":
			req.Subject = &accesspb.Subject{}
			return sub(2, d.subject(req.Subject))
		case "checks":
			return sub(3, d.array(func() bool {
				c := &accesspb.Check{}
				req.Checks = append(req.Checks, c)
				return d.check(c)
			}))
		}
		return 0
	}) {
		return errFallback
	}
	d.Space()
	if d.I != len(d.B) {
		return errFallback
	}
	return nil
}

type decoder struct {
	jsonbody.Scanner
}

// Strings every request repeats, by their own bytes (see strFrom).
var (
	commonMethods = commonStrings("GET", "HEAD", "POST", "PUT", "PATCH", "DELETE", "OPTIONS", "/")
	commonHeaders = commonStrings("Authorization", "X-Auth-Token", "X-Token", "X-YaCloud-SubjectToken", "X-Amz-Date",
		"X-Amz-Content-Sha256", "X-Amz-Security-Token", "Host", "Content-Type", "Content-Length")
	commonTypes = commonStrings("resource-manager.folder", "resource-manager.cloud", "organization-manager.organization",
		"iam.serviceAccount")
	// commonKeys are the keys of objects: field names, and the header
	// names of the headers map.
	commonKeys = commonStrings(append([]string{"request", "subject", "checks", "method", "path", "query", "headers",
		"bodySha256", "body_sha256", "clientAddress", "client_address", "service", "scope", "signingRegion", "signing_region",
		"signingService", "signing_service", "type", "id", "folderId", "folder_id", "cloudId", "cloud_id", "permission", "resource"},
		slices.Collect(maps.Keys(commonHeaders))...)...)
)

// commonStrings maps each string (and its lower-case form) to itself.
func commonStrings(ss ...string) map[string]string {
	m := map[string]string{}
	for _, s := range ss {
		m[s] = s
		m[strings.ToLower(s)] = strings.ToLower(s)
	}
	return m
}

// intoFrom is into reading with strFrom.
func (d *decoder) intoFrom(n int, p *string, common map[string]string) int {
	s, ok := d.StrFrom(common)
	*p = s
	if !ok {
		return 0
	}
	return n
}

// object reads an object of a message's fields: field reads the value of
// a key and returns its field number, 0 to give up. A field named twice
// (by either of its names) gives up, as protojson refuses it.
func (d *decoder) object(field func(key string) int) bool {
	var seen uint64
	return d.entries(func(key string) bool {
		n := field(key)
		if n <= 0 || n >= 64 || seen&(1<<n) != 0 {
			return false
		}
		seen |= 1 << n
		return true
	})
}

// mapObject reads an object of a map: a key twice gives up.
func (d *decoder) mapObject(entry func(key string) bool) bool {
	var seen []string
	return d.entries(func(key string) bool {
		for _, k := range seen {
			if k == key {
				return false
			}
		}
		seen = append(seen, key)
		return entry(key)
	})
}

func (d *decoder) entries(entry func(key string) bool) bool {
	if !d.Next('{') {
		return false
	}
	if d.Next('}') {
		return true
	}
	for {
		key, ok := d.StrFrom(commonKeys)
		if !ok || !d.Next(':') || !entry(key) {
			return false
		}
		if d.Next('}') {
			return true
		}
		if !d.Next(',') {
			return false
		}
	}
}

func (d *decoder) array(elem func() bool) bool {
	if !d.Next('[') {
		return false
	}
	if d.Next(']') {
		return true
	}
	for {
		if !elem() {
			return false
		}
		if d.Next(']') {
			return true
		}
		if !d.Next(',') {
			return false
		}
	}
}

// into reads a string into *p and returns n, or 0 when it cannot.
func (d *decoder) into(n int, p *string) int {
	s, ok := d.Str()
	*p = s
	if !ok {
		return 0
	}
	return n
}

// sub returns n when ok, else 0.
func sub(n int, ok bool) int {
	if !ok {
		return 0
	}
	return n
}

// protoName reports whether key names the field by its JSON name or its
// proto name, as protojson accepts both.
func protoName(key, json, proto string) bool { return key == json || key == proto }

func (d *decoder) request(r *accesspb.Request) bool {
	return d.object(func(key string) int {
		switch {
		case key == "method":
			return d.intoFrom(1, &r.Method, commonMethods)
		case key == "path":
			return d.intoFrom(2, &r.Path, commonMethods)
		case key == "query":
			return d.into(3, &r.Query)
		case protoName(key, "bodySha256", "body_sha256"):
			return d.into(5, &r.BodySha256)
		case protoName(key, "clientAddress", "client_address"):
			return d.into(6, &r.ClientAddress)
		case key == "service":
			return d.into(7, &r.Service)
		case key == "scope":
			return d.into(8, &r.Scope)
		case protoName(key, "signingRegion", "signing_region"):
			return d.into(9, &r.SigningRegion)
		case protoName(key, "signingService", "signing_service"):
			return d.into(10, &r.SigningService)
		case key == "headers":
			r.Headers = map[string]*structpb.ListValue{}
			return sub(4, d.mapObject(func(name string) bool {
				l := &structpb.ListValue{}
				r.Headers[name] = l
				return d.array(func() bool {
					s, ok := d.Str()
					l.Values = append(l.Values, structpb.NewStringValue(s))
					return ok
				})
			}))
		}
		return 0
	})
}

func (d *decoder) subject(s *accesspb.Subject) bool {
	return d.object(func(key string) int {
		switch {
		case key == "type":
			return d.into(1, &s.Type)
		case key == "id":
			return d.into(2, &s.Id)
		case protoName(key, "folderId", "folder_id"):
			return d.into(3, &s.FolderId)
		case protoName(key, "cloudId", "cloud_id"):
			return d.into(4, &s.CloudId)
		}
		return 0
	})
}

func (d *decoder) check(c *accesspb.Check) bool {
	return d.object(func(key string) int {
		switch key {
		case "permission":
			return d.into(1, &c.Permission)
		case "resource":
			c.Resource = &accesspb.Resource{}
			return sub(2, d.resource(c.Resource))
		}
		return 0
	})
}

func (d *decoder) resource(r *accesspb.Resource) bool {
	return d.object(func(key string) int {
		switch key {
		case "type":
			return d.intoFrom(1, &r.Type, commonTypes)
		case "id":
			return d.into(2, &r.Id)
		}
		return 0
	})
}

// EncodeAuthorize appends the JSON of an Authorize answer (an
// *accesspb.AuthorizeResponse) to dst as protojson writes it (JSON names,
// default values left out); false for an answer it leaves to protojson
// (one with a SigV4 stream).
func EncodeAuthorize(dst []byte, msg proto.Message) ([]byte, bool) {
	r, ok := msg.(*accesspb.AuthorizeResponse)
	if !ok || r.Sigv4Stream != nil {
		return dst, false
	}
	e := encoder{b: dst}
	e.b = append(e.b, '{')
	if s := r.Subject; s != nil {
		e.key("subject")
		e.b = append(e.b, '{')
		e.field("type", s.Type)
		e.field("id", s.Id)
		e.field("folderId", s.FolderId)
		e.field("cloudId", s.CloudId)
		e.end()
	}
	e.field("credentialType", r.CredentialType)
	if len(r.Results) > 0 {
		e.key("results")
		e.b = append(e.b, '[')
		for i, c := range r.Results {
			if i > 0 {
				e.b = append(e.b, ',')
			}
			e.b = append(e.b, '{')
			if c.Allowed {
				e.key("allowed")
				e.b = append(e.b, "true"...)
			}
			e.field("permission", c.Permission)
			if c.Resource != nil {
				e.key("resource")
				e.b = append(e.b, '{')
				e.field("type", c.Resource.Type)
				e.field("id", c.Resource.Id)
				e.end()
			}
			e.end()
		}
		e.b = append(e.b, ']')
	}
	e.field("credentialId", r.CredentialId)
	e.b = append(e.b, '}')
	return e.b, !e.fail
}

type encoder struct {
	b    []byte
	fail bool // a string the hand encoder leaves to protojson
}

// key writes "key": after a comma unless it is the object's first.
func (e *encoder) key(k string) {
	if c := e.b[len(e.b)-1]; c != '{' {
		e.b = append(e.b, ',')
	}
	e.b = append(e.b, '"')
	e.b = append(e.b, k...)
	e.b = append(e.b, '"', ':')
}

// field writes a string field unless it is empty (proto3's default).
// Strings that need escapes, or are not UTF-8, are left to protojson.
func (e *encoder) field(k, v string) {
	if v == "" {
		return
	}
	e.key(k)
	for i := 0; i < len(v); i++ {
		if c := v[i]; c < 0x20 || c == '"' || c == '\\' || c >= utf8.RuneSelf && !utf8.ValidString(v) {
			e.fail = true
			return
		}
	}
	e.b = append(e.b, '"')
	e.b = append(e.b, v...)
	e.b = append(e.b, '"')
}

// end closes an object.
func (e *encoder) end() { e.b = append(e.b, '}') }
