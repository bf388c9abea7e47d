package audit

import (
	"encoding/binary"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"math/bits"
	"math/rand/v2"
	"strings"
	"time"
	"unicode/utf8"

	"warden"
)

// DataEvent is a data event (an access-service decision) as the request's
// path records it: its fields flat. The writer keeps its strings as they
// are and encodes them later (see Writer.WriteData).
type DataEvent struct {
	Time time.Time
	Type string
	// The subject and credential (SubjectID "": none was authenticated).
	SubjectType, SubjectID, SubjectName, CredentialType, CredentialID string
	Permission                                                        string
	Allowed                                                           bool
	// Path is the resource's path as AppendPath encodes it, "" when the
	// event is about no resource: a caller keeps it for the next event
	// about the resource.
	Path string
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

// A batch of data events is stored as one record of the chain whose body is
// the S2 compression of:
//
//	version (1 byte, dataBatchVersion; a batch of JSON lines, the format
//	before it, starts with '{')
//	seed (16 bytes): the event IDs are derived from it (dataEventID)
//	the events, each:
//	  flags (uvarint): bit 0 allowed, bit 1 the request ID is 32 lowercase
//	    hex digits kept as their 16 bytes, bit 2+i field i differs from the
//	    event before it in the batch (the first: from "")
//	  time (varint): µs since the event before it (the first: since the
//	    epoch)
//	  each field that differs, in order: its length (uvarint), its bytes
//
// Decisions of one resource service repeat all but the request ID and the
// time, so an event is about 20 bytes before compression: encoding it is a
// few comparisons and a copy, cheap enough for the request's path, and
// the JSON of the Yandex Audit Trails shape is made only when the event is
// read.
const (
	dataBatchVersion = 1
	dataHeaderLen    = 1 + 16
)

// The fields of a data event in the order a batch stores them (the ones
// most likely to differ between two events first, so that their flags fit
// in one byte).
const (
	fRequestID = iota
	fClientAddress
	fCallerAddress
	fPermission
	fPath
	fSubjectID
	fSubjectType
	fSubjectName
	fCredentialType
	fCredentialID
	fUserAgent
	fService
	fType
	fErrorCode
	fErrorMessage
	fReason
	dataFields
)

const (
	flagAllowed  = 1 << 0
	flagHexID    = 1 << 1
	flagField0   = 2 // the flag of field i is 1 << (flagField0 + i)
	flagsDefined = 1<<(flagField0+dataFields) - 1
)

// dataStrings are the fields of a data event as a batch stores them.
type dataStrings [dataFields]string

func (d *DataEvent) strings() dataStrings {
	var f dataStrings
	f[fRequestID], f[fClientAddress], f[fCallerAddress], f[fPermission], f[fPath] = d.RequestID, d.ClientAddress, d.CallerAddress, d.Permission, d.Path
	f[fSubjectID], f[fSubjectType], f[fSubjectName], f[fCredentialType], f[fCredentialID] = d.SubjectID, d.SubjectType, d.SubjectName, d.CredentialType, d.CredentialID
	f[fUserAgent], f[fService], f[fType] = d.UserAgent, d.Service, d.Type
	f[fErrorCode], f[fErrorMessage], f[fReason] = d.ErrorCode, d.ErrorMessage, d.Reason
	return f
}

// maxDataRecord is the most bytes appendDataRecord may append for f.
func maxDataRecord(f *dataStrings) int {
	n := 2 * binary.MaxVarintLen64
	for _, s := range f {
		n += binary.MaxVarintLen64 + len(s)
	}
	return n
}

// appendDataHeader starts a batch; the writer sets its seed once it takes
// the batch (setDataSeed).
func appendDataHeader(b []byte) []byte {
	var h [dataHeaderLen]byte
	h[0] = dataBatchVersion
	return append(b, h[:]...)
}

// setDataSeed gives the batch that starts at b its event IDs.
func setDataSeed(b []byte) {
	binary.LittleEndian.PutUint64(b[1:], rand.Uint64())
	binary.LittleEndian.PutUint64(b[9:], rand.Uint64())
}

// appendDataRecord appends an event with the fields f to a batch whose
// previous event had the fields prev (set to f) and happened delta µs
// before it.
func appendDataRecord(b []byte, prev *dataStrings, f *dataStrings, allowed bool, delta int64) []byte {
	var flags uint64
	if allowed {
		flags |= flagAllowed
	}
	for i := range f {
		if f[i] != prev[i] {
			flags |= 1 << (flagField0 + i)
		}
	}
	var id [16]byte
	hexID := false
	if flags&(1<<(flagField0+fRequestID)) != 0 {
		if id, hexID = unhexID(f[fRequestID]); hexID {
			flags |= flagHexID
		}
	}
	b = binary.AppendUvarint(b, flags)
	b = binary.AppendVarint(b, delta)
	for m := flags >> flagField0; m != 0; m &= m - 1 {
		i := bits.TrailingZeros64(m)
		if i == fRequestID && hexID {
			b = append(b, id[:]...)
		} else {
			b = append(binary.AppendUvarint(b, uint64(len(f[i]))), f[i]...)
		}
		prev[i] = f[i]
	}
	return b
}

// unhexID returns the 16 bytes of a request ID of the form Warden gives
// them, 32 lowercase hexadecimal digits (what hex.EncodeToString gives
// back), and whether s is one.
func unhexID(s string) (id [16]byte, ok bool) {
	if len(s) != 2*len(id) {
		return id, false
	}
	var bad byte
	for i := range id {
		hi, lo := unhex[s[2*i]], unhex[s[2*i+1]]
		bad |= hi | lo
		id[i] = hi<<4 | lo
	}
	return id, bad < 16
}

// unhex is the value of each lowercase hexadecimal digit, 0xff for the
// other bytes.
var unhex = func() (t [256]byte) {
	for c := range t {
		switch {
		case '0' <= c && c <= '9':
			t[c] = byte(c - '0')
		case 'a' <= c && c <= 'f':
			t[c] = byte(c - 'a' + 10)
		default:
			t[c] = 0xff
		}
	}
	return t
}()

// dataEventID is the ID of event i of the batch seeded with (hi, lo): of
// Warden's form ("evt" and 17 base-32 characters, 85 bits). Its low 64 bits
// are a bijection of i (an odd multiple, then SplitMix64's finalizer), so
// the IDs of one batch differ; the random seed sets batches apart as
// random IDs would. An event ID must be unique, not unguessable.
func dataEventID(hi, lo uint64, i int) string {
	const alphabet = "0123456789abcdefghijklmnopqrstuv"
	x := lo + uint64(i)*0x9e3779b97f4a7c15
	lo, hi = mix64(x), mix64(hi^x)
	var id [warden.IDLength]byte
	copy(id[:], "evt")
	for j := 3; j < warden.IDLength; j++ {
		id[j] = alphabet[lo&31]
		lo = lo>>5 | hi<<59
		hi >>= 5
	}
	return string(id[:])
}

func mix64(z uint64) uint64 {
	z = (z ^ z>>30) * 0xbf58476d1ce4e5b9
	z = (z ^ z>>27) * 0x94d049bb133111eb
	return z ^ z>>31
}

// errDataBatch is what a batch that is not one decodes to.
var errDataBatch = errors.New("a batch of data events that does not decode")

// decodeDataBatch returns the events of a batch's decompressed body.
func decodeDataBatch(b []byte) ([]*warden.AuditEvent, error) {
	if len(b) < dataHeaderLen || b[0] != dataBatchVersion {
		return nil, errDataBatch
	}
	hi, lo := binary.LittleEndian.Uint64(b[1:]), binary.LittleEndian.Uint64(b[9:])
	b = b[dataHeaderLen:]
	var (
		out  []*warden.AuditEvent
		f    dataStrings
		at   int64
		path []warden.AuditPathElement
	)
	for i := 0; len(b) > 0; i++ {
		flags, n := binary.Uvarint(b)
		if n <= 0 || flags&^flagsDefined != 0 {
			return nil, errDataBatch
		}
		b = b[n:]
		delta, n := binary.Varint(b)
		if n <= 0 {
			return nil, errDataBatch
		}
		b, at = b[n:], at+delta
		for m := flags >> flagField0; m != 0; m &= m - 1 {
			j := bits.TrailingZeros64(m)
			if j == fRequestID && flags&flagHexID != 0 {
				if len(b) < 16 {
					return nil, errDataBatch
				}
				f[j], b = hex.EncodeToString(b[:16]), b[16:]
				continue
			}
			l, n := binary.Uvarint(b)
			if n <= 0 || l > uint64(len(b)-n) {
				return nil, errDataBatch
			}
			f[j], b = validUTF8(b[n:n+int(l)]), b[n+int(l):]
			if j == fPath {
				if path = nil; f[j] != "" {
					if err := json.Unmarshal([]byte(f[j]), &path); err != nil {
						return nil, fmt.Errorf("%w: its resource path: %v", errDataBatch, err)
					}
				}
			}
		}
		if flags&flagHexID != 0 && flags&(1<<(flagField0+fRequestID)) == 0 {
			return nil, errDataBatch
		}
		e := dataEvent(&f, flags&flagAllowed != 0, time.UnixMicro(at).UTC(), path)
		e.ID = dataEventID(hi, lo, i)
		out = append(out, e)
	}
	if len(out) == 0 {
		return nil, errDataBatch
	}
	return out, nil
}

// dataEvent returns the event a data event's fields stand for: what
// json.Unmarshal made of the event's JSON line, the format before.
func dataEvent(f *dataStrings, allowed bool, at time.Time, path []warden.AuditPathElement) *warden.AuditEvent {
	e := &warden.AuditEvent{Source: Source, Type: f[fType], Class: warden.AuditData, Time: at, Status: warden.AuditDone,
		Authorization: warden.AuditAuthorization{Authorized: allowed, Permission: f[fPermission]},
		Request:       warden.AuditRequest{RemoteAddress: f[fClientAddress], RequestID: f[fRequestID], UserAgent: f[fUserAgent]},
		Details:       map[string]any{"service": f[fService]}}
	if path != nil {
		// Its own copy: events are handed out one by one.
		e.Resource.Path = append(make([]warden.AuditPathElement, 0, len(path)), path...)
	}
	if f[fSubjectID] != "" {
		e.Authentication = warden.AuditAuthentication{Authenticated: true, SubjectType: f[fSubjectType], SubjectID: f[fSubjectID],
			SubjectName: f[fSubjectName], CredentialType: f[fCredentialType], CredentialID: f[fCredentialID]}
	}
	if f[fCallerAddress] != "" {
		e.Details["resource_service_address"] = f[fCallerAddress]
	}
	if f[fErrorCode] != "" {
		e.Status = warden.AuditError
		e.Error = &warden.AuditErrorInfo{Code: f[fErrorCode], Message: f[fErrorMessage]}
		if f[fReason] != "" {
			e.Details["reason"] = f[fReason]
		}
	}
	return e
}

// validUTF8 returns b as a string with each byte that is not UTF-8
// replaced by U+FFFD, as json.Marshal writes it.
func validUTF8(b []byte) string {
	if utf8.Valid(b) {
		return string(b)
	}
	var s strings.Builder
	for len(b) > 0 {
		r, n := utf8.DecodeRune(b)
		if r == utf8.RuneError && n == 1 {
			s.WriteRune(utf8.RuneError)
		} else {
			s.Write(b[:n])
		}
		b = b[n:]
	}
	return s.String()
}
