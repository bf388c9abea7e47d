package restapi

import (
	"slices"
	"strconv"
	"time"
	"unicode/utf8"

	iam "github.com/yandex-cloud/go-genproto/yandex/cloud/iam/v1"
	"google.golang.org/protobuf/proto"
	"google.golang.org/protobuf/types/known/timestamppb"
)

// Lists of service accounts are read as often as any answer, and protojson
// spent more on encoding one (reflection, a map iterator per message, a
// string per timestamp) than the rest of the request. These encoders write
// what protojson writes, by hand: JSON field names, proto3 defaults left
// out, enums by name, map keys sorted, timestamps in RFC 3339 with 0, 3, 6
// or 9 fractional digits, strings escaped as protojson escapes them. What
// they do not cover — a string that is not UTF-8, a timestamp out of
// range, an enum value without a name — they leave to protojson, which
// then answers its own error or output (TestEncodeServiceAccountsParity).

// ServiceAccountsListMethod and ServiceAccountGetMethod are the methods
// whose answers EncodeServiceAccounts and EncodeServiceAccount write.
const (
	ServiceAccountsListMethod = "/yandex.cloud.iam.v1.ServiceAccountService/List"
	ServiceAccountGetMethod   = "/yandex.cloud.iam.v1.ServiceAccountService/Get"
)

// EncodeServiceAccounts appends the JSON of an
// *iam.ListServiceAccountsResponse to dst as protojson writes it; false
// leaves it to protojson.
func EncodeServiceAccounts(dst []byte, msg proto.Message) ([]byte, bool) {
	r, ok := msg.(*iam.ListServiceAccountsResponse)
	if !ok {
		return dst, false
	}
	w := jsonWriter{b: append(dst, '{'), ok: true}
	if len(r.ServiceAccounts) > 0 {
		w.key("serviceAccounts")
		w.b = append(w.b, '[')
		for i, sa := range r.ServiceAccounts {
			if i > 0 {
				w.b = append(w.b, ',')
			}
			w.serviceAccount(sa)
		}
		w.b = append(w.b, ']')
	}
	w.str("nextPageToken", r.NextPageToken)
	w.b = append(w.b, '}')
	return w.b, w.ok
}

// EncodeServiceAccount appends the JSON of an *iam.ServiceAccount to dst
// as protojson writes it; false leaves it to protojson.
func EncodeServiceAccount(dst []byte, msg proto.Message) ([]byte, bool) {
	sa, ok := msg.(*iam.ServiceAccount)
	if !ok {
		return dst, false
	}
	w := jsonWriter{b: dst, ok: true}
	w.serviceAccount(sa)
	return w.b, w.ok
}

func (w *jsonWriter) serviceAccount(sa *iam.ServiceAccount) {
	if sa == nil {
		w.ok = false // not an answer the service gives: protojson's to judge
		return
	}
	w.b = append(w.b, '{')
	w.serviceAccountFields(sa)
	w.b = append(w.b, '}')
}

// serviceAccountFields writes the fields of an account, each after a comma
// unless it opens the object.
func (w *jsonWriter) serviceAccountFields(sa *iam.ServiceAccount) {
	w.str("id", sa.Id)
	w.str("folderId", sa.FolderId)
	w.timestamp("createdAt", sa.CreatedAt)
	w.str("name", sa.Name)
	w.str("description", sa.Description)
	w.stringMap("labels", sa.Labels)
	w.timestamp("lastAuthenticatedAt", sa.LastAuthenticatedAt)
	if sa.Status != 0 {
		name, known := iam.ServiceAccount_Status_name[int32(sa.Status)]
		if !known {
			w.ok = false // protojson writes the number
			return
		}
		w.key("status")
		w.quote(name)
	}
	w.timestamp("expiresAt", sa.ExpiresAt)
}

// jsonWriter appends JSON; ok turns false on a value left to protojson.
type jsonWriter struct {
	b  []byte
	ok bool
}

// key writes "key": after a comma unless it opens its object.
func (w *jsonWriter) key(k string) {
	if w.b[len(w.b)-1] != '{' {
		w.b = append(w.b, ',')
	}
	w.b = append(w.b, '"')
	w.b = append(w.b, k...)
	w.b = append(w.b, '"', ':')
}

// str writes a string field unless it is empty (proto3's default).
func (w *jsonWriter) str(k, v string) {
	if v != "" {
		w.key(k)
		w.quote(v)
	}
}

// quote writes a JSON string as protojson does: ", \ and control
// characters escaped (\b \f \n \r \t, others as \u00XX), everything else as
// it is; a string that is not UTF-8 is left to protojson (which refuses it).
func (w *jsonWriter) quote(s string) {
	w.b = append(w.b, '"')
	start := 0
	for i := 0; i < len(s); {
		c := s[i]
		if c >= utf8.RuneSelf {
			r, n := utf8.DecodeRuneInString(s[i:])
			if r == utf8.RuneError && n == 1 {
				w.ok = false
				return
			}
			i += n
			continue
		}
		if c >= ' ' && c != '"' && c != '\\' {
			i++
			continue
		}
		w.b = append(w.b, s[start:i]...)
		switch c {
		case '"', '\\':
			w.b = append(w.b, '\\', c)
		case '\b':
			w.b = append(w.b, '\\', 'b')
		case '\f':
			w.b = append(w.b, '\\', 'f')
		case '\n':
			w.b = append(w.b, '\\', 'n')
		case '\r':
			w.b = append(w.b, '\\', 'r')
		case '\t':
			w.b = append(w.b, '\\', 't')
		default:
			w.b = append(w.b, '\\', 'u', '0', '0', hex[c>>4], hex[c&0xf])
		}
		i++
		start = i
	}
	w.b = append(w.b, s[start:]...)
	w.b = append(w.b, '"')
}

const hex = "0123456789abcdef"

// stringMap writes a map<string, string> field unless it is empty, keys
// sorted as protojson sorts them.
func (w *jsonWriter) stringMap(k string, m map[string]string) {
	if len(m) == 0 {
		return
	}
	w.key(k)
	w.b = append(w.b, '{')
	var buf [8]string
	keys := buf[:0]
	for key := range m {
		keys = append(keys, key)
	}
	slices.Sort(keys)
	for i, key := range keys {
		if i > 0 {
			w.b = append(w.b, ',')
		}
		w.quote(key)
		w.b = append(w.b, ':')
		w.quote(m[key])
	}
	w.b = append(w.b, '}')
}

// The range of google.protobuf.Timestamp: 0001-01-01 to 9999-12-31.
const minTimestamp, maxTimestamp = -62135596800, 253402300799

// timestamp writes a Timestamp field unless it is nil, in UTC with 0, 3, 6
// or 9 fractional digits as protojson writes it.
func (w *jsonWriter) timestamp(k string, ts *timestamppb.Timestamp) {
	if ts == nil {
		return
	}
	secs, nanos := ts.GetSeconds(), ts.GetNanos()
	if secs < minTimestamp || secs > maxTimestamp || nanos < 0 || nanos > 999999999 {
		w.ok = false // protojson refuses it
		return
	}
	w.key(k)
	w.b = append(w.b, '"')
	w.b = time.Unix(secs, 0).UTC().AppendFormat(w.b, "2006-01-02T15:04:05")
	if nanos != 0 {
		digits := 9
		for n := nanos; digits > 3 && n%1000 == 0; n /= 1000 {
			digits -= 3
		}
		var buf [10]byte
		frac := strconv.AppendInt(buf[:0], int64(nanos)+1e9, 10)[1:] // nine digits with leading zeros
		w.b = append(w.b, '.')
		w.b = append(w.b, frac[:digits]...)
	}
	w.b = append(w.b, 'Z', '"')
}
