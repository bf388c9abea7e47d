package audit

import (
	"encoding/json"
	"math/rand/v2"
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

// appendEventID appends a new event ID as a JSON string: an ID of Warden's
// form ("evt" and 17 base-32 characters) from the runtime's per-thread
// generator, which costs nanoseconds where crypto/rand costs hundreds. An
// event ID must be unique, not unguessable: 85 random bits are.
func appendEventID(b []byte) []byte {
	const alphabet = "0123456789abcdefghijklmnopqrstuv"
	hi, lo := rand.Uint64(), rand.Uint64()
	b = append(b, `"evt`...)
	for i := 3; i < warden.IDLength; i++ {
		b = append(b, alphabet[lo&31])
		lo = lo>>5 | hi<<59
		hi >>= 5
	}
	return append(b, '"')
}

// DataEvent is a data event (an access-service decision) as the request's
// path records it: its fields flat, encoded without building an event (see
// Writer.WriteData). Event returns the event it stands for.
type DataEvent struct {
	// ID is the event's ID; "" gives it a new one as it is encoded.
	ID   string
	Time time.Time
	Type string
	// The subject and credential (SubjectID "": none was authenticated).
	SubjectType, SubjectID, SubjectName, CredentialType, CredentialID string
	Permission                                                        string
	Allowed                                                           bool
	// Path is the resource's, from the organization down; PathJSON, when
	// set, is its encoding (AppendPath), which a caller may keep for the
	// next event about the resource.
	Path     []warden.AuditPathElement
	PathJSON []byte
	// ClientAddress is the end client's address as the resource service
	// saw it; CallerAddress the resource service's own.
	ClientAddress, CallerAddress string
	RequestID, UserAgent         string
	// Service is the resource service asking.
	Service string
	// ErrorCode, ErrorMessage and Reason say why the credential was
	// refused (ErrorCode "": it was accepted).
	ErrorCode, ErrorMessage, Reason string
}

// Event returns the event d stands for.
func (d *DataEvent) Event() *warden.AuditEvent {
	e := &warden.AuditEvent{ID: d.ID, Source: Source, Type: d.Type, Class: warden.AuditData, Time: d.Time, Status: warden.AuditDone,
		Authorization: warden.AuditAuthorization{Authorized: d.Allowed, Permission: d.Permission},
		Resource:      warden.AuditResource{Path: d.Path},
		Request:       warden.AuditRequest{RemoteAddress: d.ClientAddress, RequestID: d.RequestID, UserAgent: d.UserAgent},
		Details:       map[string]any{"service": d.Service}}
	if d.SubjectID != "" {
		e.Authentication = warden.AuditAuthentication{Authenticated: true, SubjectType: d.SubjectType, SubjectID: d.SubjectID,
			SubjectName: d.SubjectName, CredentialType: d.CredentialType, CredentialID: d.CredentialID}
	}
	if d.CallerAddress != "" {
		e.Details["resource_service_address"] = d.CallerAddress
	}
	if d.ErrorCode != "" {
		e.Status = warden.AuditError
		e.Error = &warden.AuditErrorInfo{Code: d.ErrorCode, Message: d.ErrorMessage}
		if d.Reason != "" {
			e.Details["reason"] = d.Reason
		}
	}
	return e
}

// appendDataJSON appends the JSON object of d.Event() to b without
// building it, with the time at instead of d.Time.
func appendDataJSON(b []byte, d *DataEvent, at time.Time) ([]byte, error) {
	b = append(b, `{"event_id":`...)
	if d.ID == "" {
		b = appendEventID(b)
	} else {
		b = appendString(b, d.ID)
	}
	b = append(b, `,"event_source":"`+Source+`","event_type":`...)
	b = appendString(b, d.Type)
	b = append(b, `,"event_class":"`+warden.AuditData+`","event_time":`...)
	var err error
	if b, err = appendTime(b, at); err != nil {
		return nil, err
	}
	b = append(b, `,"authentication":{"authenticated":`...)
	if d.SubjectID == "" {
		b = append(b, "false"...)
	} else {
		b = append(b, "true"...)
		b = appendOptional(b, `,"subject_type":`, d.SubjectType)
		b = appendOptional(b, `,"subject_id":`, d.SubjectID)
		b = appendOptional(b, `,"subject_name":`, d.SubjectName)
		b = appendOptional(b, `,"credential_type":`, d.CredentialType)
		b = appendOptional(b, `,"credential_id":`, d.CredentialID)
	}
	b = append(b, `},"authorization":{"authorized":`...)
	b = strconv.AppendBool(b, d.Allowed)
	b = appendOptional(b, `,"permission":`, d.Permission)
	b = append(b, `},"resource_metadata":{"path":`...)
	if d.PathJSON != nil {
		b = append(b, d.PathJSON...)
	} else {
		b = appendPath(b, d.Path)
	}
	b = appendRequest(append(b, `},"request_metadata":{`...), d.ClientAddress, d.UserAgent, d.RequestID)
	if d.ErrorCode == "" {
		b = append(b, `},"event_status":"`+warden.AuditDone+`","details":{`...)
	} else {
		b = append(b, `},"event_status":"`+warden.AuditError+`","error":{"code":`...)
		b = appendString(b, d.ErrorCode)
		b = append(b, `,"message":`...)
		b = appendString(b, d.ErrorMessage)
		b = append(b, `},"details":{`...)
		if d.Reason != "" {
			b = append(appendString(append(b, `"reason":`...), d.Reason), ',')
		}
	}
	if d.CallerAddress != "" {
		b = append(appendString(append(b, `"resource_service_address":`...), d.CallerAddress), ',')
	}
	b = appendString(append(b, `"service":`...), d.Service)
	return append(b, "}}"...), nil
}
