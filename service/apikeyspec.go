package service

import (
	"encoding/json"
	"fmt"
	"time"

	"warden"
	"warden/api/jsonbody"
	"warden/apikey"
)

// specDecoder turns stored API keys into the specs the index compiles.
//
// encoding/json spent ~5 µs decoding a key's data (a third of a full
// load's CPU, and most of its garbage), so a decoder reads the JSON that
// Warden writes (apiKeyData through json.Marshal) itself, without
// reflection and without allocating for the names it has seen before. It
// accepts a subset of what encoding/json does and gives the same result
// for it (FuzzAPIKeySpecDecoder); anything else (an escape in a kept
// string, a key in another case, a duplicate, null) goes to encoding/json.
// The stored format is unchanged, so no migration is needed and nodes of
// older versions read the same rows.
//
// A decoder is not safe for concurrent use: each loading goroutine has its
// own.
type specDecoder struct {
	spec  apikey.Spec       // reused: valid until the next decode
	names map[string]string // addresses, products and scopes seen
}

// maxInternedNames bounds the names a decoder keeps: keys mostly share a
// few addresses, products and scopes; beyond the bound a name costs an
// allocation, as with encoding/json.
const maxInternedNames = 4096

func newSpecDecoder() *specDecoder {
	return &specDecoder{names: map[string]string{}}
}

// decode returns the spec of a stored key. It and its slices are valid
// until the next decode; c's may be reused once it returns (Table.Put
// copies what it keeps).
func (d *specDecoder) decode(c *warden.Credential) (*apikey.Spec, error) {
	s := &d.spec
	*s = apikey.Spec{
		KeyID: c.ID, SubjectID: c.SubjectID, Hash: c.Hash, ExpiresAt: c.ExpiresAt,
		Addresses: s.Addresses[:0], Slots: s.Slots[:0], Products: s.Products[:0], Scopes: s.Scopes[:0],
	}
	if d.fast(c.Data) {
		return s, nil
	}
	var data apiKeyData
	if err := json.Unmarshal(c.Data, &data); err != nil {
		return nil, fmt.Errorf("API key data: %w", err)
	}
	s.Disabled, s.Timezone = data.Disabled, data.Timezone
	s.Addresses, s.Slots, s.Products, s.Scopes = data.Addresses, data.Slots, data.Products, data.Scopes
	return s, nil
}

// Fields of apiKeyData, as bits of the ones seen.
const (
	fieldName = 1 << iota
	fieldScopes
	fieldProducts
	fieldAddresses
	fieldSlots
	fieldTimezone
	fieldDisabled
	fieldMasked
	fieldUpdated
)

// fast decodes data into d.spec and reports whether it could; false leaves
// d.spec partly written.
func (d *specDecoder) fast(data []byte) bool {
	p := jsonScanner{jsonbody.Scanner{B: data}}
	if !p.Next('{') {
		return false
	}
	if p.Next('}') {
		return p.end()
	}
	s := &d.spec
	seen := 0
	for {
		key, ok := p.plainString()
		if !ok || !p.Next(':') {
			return false
		}
		var field int
		switch string(key) {
		case "name":
			field, ok = fieldName, p.skipString()
		case "scopes":
			field = fieldScopes
			s.Scopes, ok = d.strings(&p, s.Scopes)
		case "products":
			field = fieldProducts
			s.Products, ok = d.strings(&p, s.Products)
		case "addresses":
			field = fieldAddresses
			s.Addresses, ok = d.strings(&p, s.Addresses)
		case "time_slots":
			field = fieldSlots
			s.Slots, ok = slots(&p, s.Slots)
		case "timezone":
			field = fieldTimezone
			s.Timezone, ok = p.int()
		case "disabled":
			field = fieldDisabled
			s.Disabled, ok = p.bool()
		case "masked_secret":
			field, ok = fieldMasked, p.skipString()
		case "updated_at":
			field, ok = fieldUpdated, p.time()
		default:
			return false
		}
		if !ok || seen&field != 0 {
			return false
		}
		seen |= field
		if p.Next('}') {
			return p.end()
		}
		if !p.Next(',') {
			return false
		}
	}
}

// strings reads an array of plain strings, appending to into.
func (d *specDecoder) strings(p *jsonScanner, into []string) ([]string, bool) {
	if !p.Next('[') {
		return into, false
	}
	if p.Next(']') {
		return into, true
	}
	for {
		b, ok := p.plainString()
		if !ok {
			return into, false
		}
		into = append(into, d.name(b))
		if p.Next(']') {
			return into, true
		}
		if !p.Next(',') {
			return into, false
		}
	}
}

// name returns b as a string, without allocating for one seen before.
func (d *specDecoder) name(b []byte) string {
	if s, ok := d.names[string(b)]; ok {
		return s
	}
	s := string(b)
	if len(d.names) < maxInternedNames {
		d.names[s] = s
	}
	return s
}

// slots reads an array of apikey.Slot objects, appending to into.
func slots(p *jsonScanner, into []apikey.Slot) ([]apikey.Slot, bool) {
	if !p.Next('[') {
		return into, false
	}
	if p.Next(']') {
		return into, true
	}
	for {
		var s apikey.Slot
		if !p.Next('{') {
			return into, false
		}
		if !p.Next('}') {
			seen := 0
			for {
				key, ok := p.plainString()
				if !ok || !p.Next(':') {
					return into, false
				}
				var field int
				switch string(key) {
				case "start":
					field = 1
					s.Start, ok = p.int()
				case "end":
					field = 2
					s.End, ok = p.int()
				default:
					return into, false
				}
				if !ok || seen&field != 0 {
					return into, false
				}
				seen |= field
				if p.Next('}') {
					break
				}
				if !p.Next(',') {
					return into, false
				}
			}
		}
		into = append(into, s)
		if p.Next(']') {
			return into, true
		}
		if !p.Next(',') {
			return into, false
		}
	}
}

// jsonScanner reads the JSON values specDecoder accepts, each method
// skipping white space before its value and reporting false for anything
// else (white space and single bytes as jsonbody.Scanner reads them).
type jsonScanner struct {
	jsonbody.Scanner
}

// end reports whether nothing but white space is left.
func (p *jsonScanner) end() bool {
	p.Space()
	return p.I == len(p.B)
}

// plainString reads a string of printable ASCII without escapes, which
// reads the same however it is decoded, and returns its bytes.
func (p *jsonScanner) plainString() ([]byte, bool) {
	if !p.Next('"') {
		return nil, false
	}
	start := p.I
	for ; p.I < len(p.B); p.I++ {
		switch c := p.B[p.I]; {
		case c == '"':
			p.I++
			return p.B[start : p.I-1], true
		case c < 0x20 || c == '\\' || c >= 0x80:
			return nil, false
		}
	}
	return nil, false
}

// skipString skips a string as encoding/json accepts one: no control
// characters, escapes among \" \\ \/ \b \f \n \r \t \uXXXX, any other byte
// (invalid UTF-8 included: encoding/json replaces it rather than refusing
// it).
func (p *jsonScanner) skipString() bool {
	if !p.Next('"') {
		return false
	}
	for p.I < len(p.B) {
		c := p.B[p.I]
		p.I++
		switch {
		case c == '"':
			return true
		case c < 0x20:
			return false
		case c == '\\':
			if p.I == len(p.B) {
				return false
			}
			e := p.B[p.I]
			p.I++
			switch e {
			case '"', '\\', '/', 'b', 'f', 'n', 'r', 't':
			case 'u':
				if p.I+4 > len(p.B) {
					return false
				}
				for _, h := range p.B[p.I : p.I+4] {
					if !('0' <= h && h <= '9' || 'a' <= h && h <= 'f' || 'A' <= h && h <= 'F') {
						return false
					}
				}
				p.I += 4
			default:
				return false
			}
		}
	}
	return false
}

// time checks a string as time.Time's UnmarshalJSON does (it is given the
// string as written, quotes and escapes included).
func (p *jsonScanner) time() bool {
	p.Space()
	start := p.I
	if !p.skipString() {
		return false
	}
	var t time.Time
	return t.UnmarshalJSON(p.B[start:p.I]) == nil
}

// int reads an integer of at most 18 digits (never out of range), as
// JSON writes it: no leading zero, no fraction or exponent (which
// encoding/json refuses for an int; the caller's next eat fails on them).
func (p *jsonScanner) int() (int, bool) {
	p.Space()
	neg := p.I < len(p.B) && p.B[p.I] == '-'
	if neg {
		p.I++
	}
	start, n := p.I, 0
	for ; p.I < len(p.B) && '0' <= p.B[p.I] && p.B[p.I] <= '9'; p.I++ {
		n = n*10 + int(p.B[p.I]-'0')
	}
	digits := p.I - start
	if digits == 0 || digits > 18 || digits > 1 && p.B[start] == '0' {
		return 0, false
	}
	if neg {
		n = -n
	}
	return n, true
}

// bool reads true or false.
func (p *jsonScanner) bool() (bool, bool) {
	p.Space()
	rest := p.B[p.I:]
	switch {
	case len(rest) >= 4 && string(rest[:4]) == "true":
		p.I += 4
		return true, true
	case len(rest) >= 5 && string(rest[:5]) == "false":
		p.I += 5
		return false, true
	}
	return false, false
}
