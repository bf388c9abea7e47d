package apikey

import (
	"fmt"
	"net/netip"
	"strings"
	"time"
)

// Limits of a key's restrictions.
const (
	MaxAddresses = 100 // entries of the address list
	MaxTimeSlots = 24
	MinTimezone  = -12
	MaxTimezone  = 12
)

// Slot is a daily window of whole hours, [Start, End) in the key's
// timezone, 0 ≤ Start < End ≤ 24: {0, 5} is 00:00–05:00, {22, 24} runs to
// midnight.
type Slot struct {
	Start int `json:"start"`
	End   int `json:"end"`
}

// Policy is one key as the request path checks it: built once when the key
// is loaded, read without locks or allocation afterwards. It is a Table of
// one key: an index of many keys uses a Table.
type Policy struct {
	KeyID     string
	SubjectID string
	t         *Table
}

// Spec is what a Policy is compiled from.
type Spec struct {
	KeyID, SubjectID string
	Hash             []byte // SHA-256 of the secret
	Disabled         bool
	ExpiresAt        time.Time // zero: never
	Addresses        []string  // addresses and subnets; empty: anywhere
	Slots            []Slot    // empty: any time
	Timezone         int       // hours east of UTC of Slots
	Products         []string  // empty: any service
	Scopes           []string  // empty: any scope
}

const allHours = 1<<24 - 1

// Compile checks a spec and compiles it. Specs come from the store, which
// only holds validated ones, so an error here means corrupt data.
func Compile(s Spec) (*Policy, error) {
	t := NewTable(1)
	if _, err := t.Put(s); err != nil {
		return nil, err
	}
	return &Policy{KeyID: s.KeyID, SubjectID: s.SubjectID, t: t}, nil
}

// ParseNet parses an address (one host) or a subnet in CIDR form. A subnet
// with host bits set is refused rather than silently widened.
func ParseNet(s string) (netip.Prefix, error) {
	// An address has no '/' and a subnet has one: one parse, not a failed
	// one (which allocates its error) and another.
	if !strings.Contains(s, "/") {
		a, err := netip.ParseAddr(s)
		if err != nil {
			return netip.Prefix{}, fmt.Errorf("%q is not an IPv4 or IPv6 address or subnet", s)
		}
		if a.Zone() != "" {
			return netip.Prefix{}, fmt.Errorf("%q: zoned addresses are not supported", s)
		}
		a = a.Unmap()
		return netip.PrefixFrom(a, a.BitLen()), nil
	}
	p, err := netip.ParsePrefix(s)
	if err != nil {
		return netip.Prefix{}, fmt.Errorf("%q is not an IPv4 or IPv6 address or subnet", s)
	}
	if p.Masked() != p {
		return netip.Prefix{}, fmt.Errorf("%q has host bits set; the subnet is %s", s, p.Masked())
	}
	if p.Addr().Is4In6() {
		p = netip.PrefixFrom(p.Addr().Unmap(), p.Bits()-96)
	}
	return p, nil
}

// HourMask returns the UTC hours (bit h for hour h) that the slots cover in
// the timezone, or an error naming what is wrong.
func HourMask(slots []Slot, timezone int) (uint32, error) {
	if timezone < MinTimezone || timezone > MaxTimezone {
		return 0, fmt.Errorf("timezone %d is outside %d…%d", timezone, MinTimezone, MaxTimezone)
	}
	var local uint32
	for _, s := range slots {
		if err := s.Check(); err != nil {
			return 0, err
		}
		for h := s.Start; h < s.End; h++ {
			local |= 1 << h
		}
	}
	var utc uint32
	for h := 0; h < 24; h++ {
		if local&(1<<((h+timezone+24)%24)) != 0 {
			utc |= 1 << h
		}
	}
	return utc, nil
}

// Check reports what is wrong with a slot, or nil.
func (s Slot) Check() error {
	switch {
	case s.Start < 0 || s.Start > 24:
		return fmt.Errorf("start %d is outside 0…24", s.Start)
	case s.End < 0 || s.End > 24:
		return fmt.Errorf("end %d is outside 0…24", s.End)
	case s.Start >= s.End:
		return fmt.Errorf("start %d is not before end %d", s.Start, s.End)
	}
	return nil
}

// Refusal says why a key was refused; the zero value accepts.
type Refusal uint8

// Refusals, in the order Check looks for them.
const (
	Accepted Refusal = iota
	WrongSecret
	Disabled
	Expired
	OutsideAddresses
	OutsideHours
	WrongProduct
	WrongScope
)

var refusalNames = [...]string{"accepted", "wrong_secret", "disabled", "expired", "address", "time_window", "product", "scope"}

// String is the refusal's name, as logs and metrics label it.
func (r Refusal) String() string {
	if int(r) < len(refusalNames) {
		return refusalNames[r]
	}
	return "unknown"
}

// Request is what a key is checked against.
type Request struct {
	Secret  string
	Client  string // the client's address, "IP" or "IP:port"; may be empty
	Now     time.Time
	Product string // the service the request is for; may be empty
	Scope   string // the scope the service asks for; may be empty
}

// Check checks a secret and every restriction of the key. The secret is
// compared in constant time. A key with products serves only requests that
// name one of them; a key with scopes only requests that ask for one of
// them; a key with neither (a Yandex API key without scopes) serves any.
func (p *Policy) Check(r *Request) Refusal { return p.t.Check(0, r) }
