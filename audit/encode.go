package audit

import (
	"encoding/json"
	"slices"
	"strconv"
	"sync/atomic"
	"time"
	"unicode/utf8"

	"warden"
)

// AppendJSON appends e's JSON object to b: the bytes json.Marshal writes,
// without its reflection (a data event is encoded on every access check
// that records one). Details values of other types than strings, booleans,
// integers and string slices go through json.Marshal.
func AppendJSON(b []byte, e *warden.AuditEvent) ([]byte, error) {
	b = append(b, `{"event_id":`...)
	b = appendString(b, e.ID)
	b = append(b, `,"event_source":`...)
	b = appendString(b, e.Source)
	b = append(b, `,"event_type":`...)
	b = appendString(b, e.Type)
	b = append(b, `,"event_class":`...)
	b = appendString(b, e.Class)
	b = append(b, `,"event_time":`...)
	var err error
	if b, err = appendTime(b, e.Time); err != nil {
		return nil, err
	}
	a := &e.Authentication
	b = append(b, `,"authentication":{"authenticated":`...)
	b = strconv.AppendBool(b, a.Authenticated)
	b = appendOptional(b, `,"subject_type":`, a.SubjectType)
	b = appendOptional(b, `,"subject_id":`, a.SubjectID)
	b = appendOptional(b, `,"subject_name":`, a.SubjectName)
	b = appendOptional(b, `,"credential_type":`, a.CredentialType)
	b = appendOptional(b, `,"credential_id":`, a.CredentialID)
	b = append(b, `},"authorization":{"authorized":`...)
	b = strconv.AppendBool(b, e.Authorization.Authorized)
	b = appendOptional(b, `,"permission":`, e.Authorization.Permission)
	b = append(b, `},"resource_metadata":{"path":`...)
	b = appendPath(b, e.Resource.Path)
	r := &e.Request
	b = appendRequest(append(b, `},"request_metadata":{`...), r.RemoteAddress, r.UserAgent, r.RequestID)
	b = append(b, `},"event_status":`...)
	b = appendString(b, e.Status)
	if e.Error != nil {
		b = append(b, `,"error":{"code":`...)
		b = appendString(b, e.Error.Code)
		b = append(b, `,"message":`...)
		b = appendString(b, e.Error.Message)
		b = append(b, '}')
	}
	if len(e.Details) > 0 {
		if b, err = appendDetails(append(b, `,"details":`...), e.Details); err != nil {
			return nil, err
		}
	}
	if e.Seq != 0 {
		b = append(b, `,"sequence":`...)
		b = strconv.AppendInt(b, e.Seq, 10)
	}
	b = appendOptional(b, `,"previous_hash":`, e.PrevHash)
	b = appendOptional(b, `,"hash":`, e.Hash)
	return append(b, '}'), nil
}

// AppendPath appends the JSON of a resource path, as an event holds it.
func AppendPath(b []byte, path []warden.AuditPathElement) []byte { return appendPath(b, path) }

// appendPath appends a resource path ("null" for none).
func appendPath(b []byte, path []warden.AuditPathElement) []byte {
	if path == nil {
		return append(b, "null"...)
	}
	b = append(b, '[')
	for i, p := range path {
		if i > 0 {
			b = append(b, ',')
		}
		b = append(b, `{"resource_type":`...)
		b = appendString(b, p.Type)
		b = append(b, `,"resource_id":`...)
		b = appendString(b, p.ID)
		b = appendOptional(b, `,"resource_name":`, p.Name)
		b = append(b, '}')
	}
	return append(b, ']')
}

// appendRequest appends the fields of request_metadata that are set.
func appendRequest(b []byte, remoteAddress, userAgent, requestID string) []byte {
	n := len(b)
	b = appendOptional(b, `,"remote_address":`, remoteAddress)
	b = appendOptional(b, `,"user_agent":`, userAgent)
	b = appendOptional(b, `,"request_id":`, requestID)
	if len(b) > n {
		b = append(b[:n], b[n+1:]...) // the first field's comma
	}
	return b
}

// appendOptional appends name and v unless v is empty (omitempty).
func appendOptional(b []byte, name, v string) []byte {
	if v == "" {
		return b
	}
	return appendString(append(b, name...), v)
}

// appendTime appends t as time.Time's MarshalJSON does.
func appendTime(b []byte, t time.Time) ([]byte, error) {
	if t.Location() == time.UTC {
		// Events of one second share the formatting of its date and time.
		sec := t.Unix()
		if p := lastSecond.Load(); p != nil && p.unix == sec {
			return appendFraction(append(b, p.text...), t.Nanosecond()), nil
		}
		if y := t.Year(); y >= 0 && y < 10000 {
			p := &formattedSecond{unix: sec, text: t.Truncate(time.Second).AppendFormat([]byte{'"'}, time.RFC3339)}
			p.text = p.text[:len(p.text)-1] // its "Z"
			lastSecond.Store(p)
			return appendFraction(append(b, p.text...), t.Nanosecond()), nil
		}
	}
	if y := t.Year(); y < 0 || y >= 10000 {
		return nil, &json.UnsupportedValueError{Str: "event_time: year outside of range [0,9999]"}
	}
	b = append(b, '"')
	b = t.AppendFormat(b, time.RFC3339Nano)
	return append(b, '"'), nil
}

// formattedSecond is a UTC second formatted as RFC 3339 up to its seconds,
// after a JSON string's opening quote.
type formattedSecond struct {
	unix int64
	text []byte
}

// lastSecond is the second of the last UTC time appendTime formatted.
var lastSecond atomic.Pointer[formattedSecond]

// appendFraction ends a UTC time of RFC3339Nano: the nanoseconds without
// their trailing zeros (none when 0), "Z" and the closing quote.
func appendFraction(b []byte, nanos int) []byte {
	if nanos != 0 {
		var d [10]byte
		d[0] = '.'
		for i := 9; i >= 1; i-- {
			d[i] = byte('0' + nanos%10)
			nanos /= 10
		}
		n := 10
		for d[n-1] == '0' {
			n--
		}
		b = append(b, d[:n]...)
	}
	return append(b, 'Z', '"')
}

// appendDetails appends a map as json.Marshal does: keys sorted.
func appendDetails(b []byte, m map[string]any) ([]byte, error) {
	keys := make([]string, 0, len(m))
	for k := range m {
		keys = append(keys, k)
	}
	slices.Sort(keys)
	b = append(b, '{')
	for i, k := range keys {
		if i > 0 {
			b = append(b, ',')
		}
		b = append(appendString(b, k), ':')
		var err error
		if b, err = appendValue(b, m[k]); err != nil {
			return nil, err
		}
	}
	return append(b, '}'), nil
}

func appendValue(b []byte, v any) ([]byte, error) {
	switch v := v.(type) {
	case string:
		return appendString(b, v), nil
	case bool:
		return strconv.AppendBool(b, v), nil
	case int:
		return strconv.AppendInt(b, int64(v), 10), nil
	case int64:
		return strconv.AppendInt(b, v, 10), nil
	case []string:
		if v == nil {
			return append(b, "null"...), nil
		}
		b = append(b, '[')
		for i, s := range v {
			if i > 0 {
				b = append(b, ',')
			}
			b = appendString(b, s)
		}
		return append(b, ']'), nil
	case nil:
		return append(b, "null"...), nil
	}
	j, err := json.Marshal(v)
	if err != nil {
		return nil, err
	}
	return append(b, j...), nil
}

const hexDigits = "0123456789abcdef"

// plain holds the bytes a JSON string carries as they are (ASCII only:
// the others are checked as UTF-8).
var plain = func() (t [256]bool) {
	for c := byte(0x20); c < utf8.RuneSelf; c++ {
		t[c] = c != '"' && c != '\\' && c != '<' && c != '>' && c != '&'
	}
	return t
}()

// appendString appends s as a JSON string the way json.Marshal does:
// HTML characters, U+2028 and U+2029 escaped, invalid UTF-8 replaced.
func appendString(b []byte, s string) []byte {
	b = append(b, '"')
	start := 0
	for i := 0; i < len(s); {
		if plain[s[i]] {
			i++
			continue
		}
		if c := s[i]; c < utf8.RuneSelf {
			b = append(b, s[start:i]...)
			switch c {
			case '\\', '"':
				b = append(b, '\\', c)
			case '\b':
				b = append(b, '\\', 'b')
			case '\f':
				b = append(b, '\\', 'f')
			case '\n':
				b = append(b, '\\', 'n')
			case '\r':
				b = append(b, '\\', 'r')
			case '\t':
				b = append(b, '\\', 't')
			default:
				b = append(b, '\\', 'u', '0', '0', hexDigits[c>>4], hexDigits[c&0xF])
			}
			i++
			start = i
			continue
		}
		r, size := utf8.DecodeRuneInString(s[i:])
		if r == utf8.RuneError && size == 1 {
			b = append(b, s[start:i]...)
			b = append(b, `\ufffd`...)
			i += size
			start = i
			continue
		}
		if r == '\u2028' || r == '\u2029' {
			b = append(b, s[start:i]...)
			b = append(b, '\\', 'u', '2', '0', '2', hexDigits[r&0xF])
			i += size
			start = i
			continue
		}
		i += size
	}
	b = append(b, s[start:]...)
	return append(b, '"')
}
