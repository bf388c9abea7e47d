package apikey_test

import (
	"crypto/sha256"
	"fmt"
	"net/netip"
	"strings"
	"testing"
	"time"

	"warden/apikey"
)

// day is a Wednesday, midnight UTC: the instants of the tests are hours and
// minutes after it.
var day = time.Date(2026, 11, 4, 0, 0, 0, 0, time.UTC)

func at(hour, minute int) time.Time {
	return day.Add(time.Duration(hour)*time.Hour + time.Duration(minute)*time.Minute)
}

// compile compiles a spec for secret, filling in the key, subject and hash.
func compile(t testing.TB, secret string, s apikey.Spec) *apikey.Policy {
	t.Helper()
	sum := sha256.Sum256([]byte(secret))
	s.KeyID, s.SubjectID, s.Hash = secret[idStart:idEnd], "ajeowner", sum[:]
	p, err := apikey.Compile(s)
	if err != nil {
		t.Fatalf("Compile(%+v): %v", s, err)
	}
	return p
}

func TestCompile(t *testing.T) {
	id, s := newSecret(t)
	sum := sha256.Sum256([]byte(s))
	p, err := apikey.Compile(apikey.Spec{KeyID: id, SubjectID: "ajeowner", Hash: sum[:]})
	if err != nil {
		t.Fatal(err)
	}
	if p.KeyID != id || p.SubjectID != "ajeowner" {
		t.Errorf("KeyID, SubjectID = %q, %q; want %q, %q", p.KeyID, p.SubjectID, id, "ajeowner")
	}
}

func TestCompileRefuses(t *testing.T) {
	sum := sha256.Sum256([]byte("secret"))
	tests := []struct {
		name string
		spec apikey.Spec
		want string // in the error
	}{
		{"no hash", apikey.Spec{}, "hash of 0 bytes"},
		{"short hash", apikey.Spec{Hash: sum[:31]}, "hash of 31 bytes"},
		{"long hash", apikey.Spec{Hash: append(sum[:], 0)}, "hash of 33 bytes"},
		{"bad address", apikey.Spec{Hash: sum[:], Addresses: []string{"10.0.0.0/8", "10.1.2.3/8"}}, "host bits"},
		{"bad slot", apikey.Spec{Hash: sum[:], Slots: []apikey.Slot{{5, 5}}}, "start 5 is not before end 5"},
		{"bad timezone", apikey.Spec{Hash: sum[:], Slots: []apikey.Slot{{0, 5}}, Timezone: 13}, "timezone 13"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			p, err := apikey.Compile(tt.spec)
			if err == nil {
				t.Fatalf("Compile(%+v) = %v, nil; want an error", tt.spec, p)
			}
			if !strings.Contains(err.Error(), tt.want) {
				t.Errorf("Compile(%+v): %v, want it to say %q", tt.spec, err, tt.want)
			}
		})
	}
}

// Compile copies what it keeps: the caller's slices may be reused.
func TestCompileCopiesSpec(t *testing.T) {
	_, s := newSecret(t)
	spec := apikey.Spec{
		Addresses: []string{"10.0.0.0/8"},
		Products:  []string{"postbox"},
		Scopes:    []string{"yc.postbox.send"},
	}
	sum := sha256.Sum256([]byte(s))
	spec.Hash = sum[:]
	p, err := apikey.Compile(spec)
	if err != nil {
		t.Fatal(err)
	}
	spec.Hash[0] ^= 0xff
	spec.Addresses[0] = "192.168.0.0/16"
	spec.Products[0] = "monaas"
	spec.Scopes[0] = "yc.monitoring.read"
	r := &apikey.Request{Secret: s, Client: "10.1.2.3", Now: day, Product: "postbox", Scope: "yc.postbox.send"}
	if got := p.Check(r); got != apikey.Accepted {
		t.Errorf("after the spec changed, Check(%+v) = %v, want %v", r, got, apikey.Accepted)
	}
}

func TestCheckSecret(t *testing.T) {
	id, s := newSecret(t)
	p := compile(t, s, apikey.Spec{})
	tests := []struct {
		name, secret string
		want         apikey.Refusal
	}{
		{"correct", s, apikey.Accepted},
		{"empty", "", apikey.WrongSecret},
		{"another secret of the key", apikey.NewSecret(id), apikey.WrongSecret},
		{"last character changed", s[:len(s)-1] + string(base62[(strings.IndexByte(base62, s[len(s)-1])+1)%62]), apikey.WrongSecret},
		{"truncated", s[:len(s)-1], apikey.WrongSecret},
		{"appended", s + "0", apikey.WrongSecret},
		{"masked", apikey.Masked(s), apikey.WrongSecret},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			r := &apikey.Request{Secret: tt.secret, Now: day}
			if got := p.Check(r); got != tt.want {
				t.Errorf("Check(%q) = %v, want %v", tt.secret, got, tt.want)
			}
		})
	}
}

func TestCheckDisabled(t *testing.T) {
	_, s := newSecret(t)
	p := compile(t, s, apikey.Spec{Disabled: true})
	tests := []struct {
		name, secret string
		want         apikey.Refusal
	}{
		{"correct secret", s, apikey.Disabled},
		// A wrong secret learns nothing of the key, not even that it is off.
		{"wrong secret", apikey.NewSecret(s[idStart:idEnd]), apikey.WrongSecret},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if got := p.Check(&apikey.Request{Secret: tt.secret, Now: day}); got != tt.want {
				t.Errorf("Check = %v, want %v", got, tt.want)
			}
		})
	}
}

func TestCheckExpiry(t *testing.T) {
	_, s := newSecret(t)
	expires := at(12, 0)
	p := compile(t, s, apikey.Spec{ExpiresAt: expires})
	tests := []struct {
		name string
		now  time.Time
		want apikey.Refusal
	}{
		{"a day before", expires.AddDate(0, 0, -1), apikey.Accepted},
		{"a second before", expires.Add(-time.Second), apikey.Accepted},
		{"a nanosecond before", expires.Add(-time.Nanosecond), apikey.Accepted},
		{"at expiry", expires, apikey.Expired},
		{"in another zone at expiry", expires.In(time.FixedZone("UTC+3", 3*3600)), apikey.Expired},
		{"a nanosecond after", expires.Add(time.Nanosecond), apikey.Expired},
		{"a year after", expires.AddDate(1, 0, 0), apikey.Expired},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if got := p.Check(&apikey.Request{Secret: s, Now: tt.now}); got != tt.want {
				t.Errorf("expires %v, Check at %v = %v, want %v", expires, tt.now, got, tt.want)
			}
		})
	}
	t.Run("never", func(t *testing.T) {
		p := compile(t, s, apikey.Spec{})
		now := time.Date(9999, 12, 31, 23, 59, 59, 0, time.UTC)
		if got := p.Check(&apikey.Request{Secret: s, Now: now}); got != apikey.Accepted {
			t.Errorf("key without expiry, Check at %v = %v, want %v", now, got, apikey.Accepted)
		}
	})
}

func TestCheckExpiryBetweenSeconds(t *testing.T) {
	_, s := newSecret(t)
	expires := at(12, 0).Add(500 * time.Millisecond)
	p := compile(t, s, apikey.Spec{ExpiresAt: expires})
	now := expires.Add(-400 * time.Millisecond)
	if got := p.Check(&apikey.Request{Secret: s, Now: now}); got != apikey.Accepted {
		t.Errorf("expires %v, Check at %v = %v, want %v", expires, now, got, apikey.Accepted)
	}
}

func TestCheckAddresses(t *testing.T) {
	_, s := newSecret(t)
	tests := []struct {
		name      string
		addresses []string
		client    string
		want      apikey.Refusal
	}{
		{"IPv4 address, same", []string{"10.1.2.3"}, "10.1.2.3", apikey.Accepted},
		{"IPv4 address, same with port", []string{"10.1.2.3"}, "10.1.2.3:5555", apikey.Accepted},
		{"IPv4 address, mapped", []string{"10.1.2.3"}, "::ffff:10.1.2.3", apikey.Accepted},
		{"IPv4 address, mapped with port", []string{"10.1.2.3"}, "[::ffff:10.1.2.3]:443", apikey.Accepted},
		{"IPv4 address, neighbour", []string{"10.1.2.3"}, "10.1.2.4", apikey.OutsideAddresses},
		{"IPv4 address, neighbour with port", []string{"10.1.2.3"}, "10.1.2.4:5555", apikey.OutsideAddresses},

		{"IPv4 subnet, inside", []string{"10.0.0.0/8"}, "10.1.2.3", apikey.Accepted},
		{"IPv4 subnet, first", []string{"10.0.0.0/8"}, "10.0.0.0", apikey.Accepted},
		{"IPv4 subnet, last", []string{"10.0.0.0/8"}, "10.255.255.255:1", apikey.Accepted},
		{"IPv4 subnet, mapped inside", []string{"10.0.0.0/8"}, "::ffff:10.1.2.3", apikey.Accepted},
		{"IPv4 subnet, below", []string{"10.0.0.0/8"}, "9.255.255.255", apikey.OutsideAddresses},
		{"IPv4 subnet, above", []string{"10.0.0.0/8"}, "11.0.0.0", apikey.OutsideAddresses},
		{"IPv4 subnet, mapped outside", []string{"10.0.0.0/8"}, "::ffff:11.1.2.3", apikey.OutsideAddresses},
		{"IPv4 subnet, IPv6 client", []string{"10.0.0.0/8"}, "2001:db8::1", apikey.OutsideAddresses},
		{"IPv4 subnet given mapped", []string{"::ffff:10.0.0.0/104"}, "10.1.2.3", apikey.Accepted},
		{"IPv4 subnet given mapped, outside", []string{"::ffff:10.0.0.0/104"}, "11.1.2.3", apikey.OutsideAddresses},

		{"IPv6 address, same", []string{"2001:db8::1"}, "2001:db8::1", apikey.Accepted},
		{"IPv6 address, same with port", []string{"2001:db8::1"}, "[2001:db8::1]:443", apikey.Accepted},
		{"IPv6 address, spelt long", []string{"2001:db8::1"}, "2001:0db8:0000:0000:0000:0000:0000:0001", apikey.Accepted},
		{"IPv6 address, zoned client", []string{"fe80::1"}, "[fe80::1%eth0]:443", apikey.Accepted},
		{"IPv6 address, neighbour", []string{"2001:db8::1"}, "[2001:db8::2]:443", apikey.OutsideAddresses},

		{"IPv6 subnet, inside", []string{"2001:db8::/32"}, "2001:db8:ffff::1", apikey.Accepted},
		{"IPv6 subnet, inside with port", []string{"2001:db8::/32"}, "[2001:db8::1]:443", apikey.Accepted},
		{"IPv6 subnet, outside", []string{"2001:db8::/32"}, "2001:db9::1", apikey.OutsideAddresses},
		{"IPv6 subnet, IPv4 client", []string{"2001:db8::/32"}, "10.1.2.3", apikey.OutsideAddresses},

		{"list, first", []string{"10.0.0.0/8", "2001:db8::/32", "192.168.1.7"}, "10.9.9.9", apikey.Accepted},
		{"list, middle", []string{"10.0.0.0/8", "2001:db8::/32", "192.168.1.7"}, "[2001:db8::5]:80", apikey.Accepted},
		{"list, last", []string{"10.0.0.0/8", "2001:db8::/32", "192.168.1.7"}, "192.168.1.7:8443", apikey.Accepted},
		{"list, none", []string{"10.0.0.0/8", "2001:db8::/32", "192.168.1.7"}, "192.168.1.8", apikey.OutsideAddresses},

		{"restricted, empty client", []string{"10.0.0.0/8"}, "", apikey.OutsideAddresses},
		{"restricted, host name", []string{"10.0.0.0/8"}, "localhost", apikey.OutsideAddresses},
		{"restricted, host name with port", []string{"10.0.0.0/8"}, "localhost:80", apikey.OutsideAddresses},
		{"restricted, garbage", []string{"10.0.0.0/8"}, "10.1.2.3.4", apikey.OutsideAddresses},
		{"restricted, subnet as client", []string{"10.0.0.0/8"}, "10.1.2.0/24", apikey.OutsideAddresses},
		{"restricted, brackets without port", []string{"2001:db8::/32"}, "[2001:db8::1]", apikey.OutsideAddresses},
		{"restricted, port too big", []string{"10.0.0.0/8"}, "10.1.2.3:65536", apikey.OutsideAddresses},
		{"restricted, zero everywhere", []string{"10.0.0.0/8"}, "0.0.0.0", apikey.OutsideAddresses},

		{"unrestricted, IPv4", nil, "10.1.2.3", apikey.Accepted},
		{"unrestricted, IPv6", nil, "[2001:db8::1]:443", apikey.Accepted},
		{"unrestricted, empty client", nil, "", apikey.Accepted},
		{"unrestricted, garbage", nil, "not an address", apikey.Accepted},

		{"everywhere IPv4", []string{"0.0.0.0/0"}, "203.0.113.9", apikey.Accepted},
		{"everywhere IPv4, IPv6 client", []string{"0.0.0.0/0"}, "2001:db8::1", apikey.OutsideAddresses},
		{"everywhere IPv6", []string{"::/0"}, "2001:db8::1", apikey.Accepted},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			p := compile(t, s, apikey.Spec{Addresses: tt.addresses})
			r := &apikey.Request{Secret: s, Client: tt.client, Now: day}
			if got := p.Check(r); got != tt.want {
				t.Errorf("addresses %q, Check from %q = %v, want %v", tt.addresses, tt.client, got, tt.want)
			}
		})
	}
}

func TestParseNet(t *testing.T) {
	tests := []struct {
		in   string
		want netip.Prefix
	}{
		{"10.0.0.0/8", netip.MustParsePrefix("10.0.0.0/8")},
		{"2001:db8::/32", netip.MustParsePrefix("2001:db8::/32")},
		{"192.168.1.7", netip.MustParsePrefix("192.168.1.7/32")},
		{"192.168.1.7/32", netip.MustParsePrefix("192.168.1.7/32")},
		{"2001:db8::1", netip.MustParsePrefix("2001:db8::1/128")},
		{"0.0.0.0/0", netip.MustParsePrefix("0.0.0.0/0")},
		{"::/0", netip.MustParsePrefix("::/0")},
		{"::ffff:10.1.2.3", netip.MustParsePrefix("10.1.2.3/32")},
		{"::ffff:10.0.0.0/104", netip.MustParsePrefix("10.0.0.0/8")},
	}
	for _, tt := range tests {
		t.Run(tt.in, func(t *testing.T) {
			got, err := apikey.ParseNet(tt.in)
			if err != nil {
				t.Fatalf("ParseNet(%q): %v", tt.in, err)
			}
			if got != tt.want {
				t.Errorf("ParseNet(%q) = %v, want %v", tt.in, got, tt.want)
			}
		})
	}
}

func TestParseNetRefuses(t *testing.T) {
	tests := []struct {
		in   string
		want string // in the error
	}{
		{"10.1.2.3/8", "host bits set; the subnet is 10.0.0.0/8"},
		{"2001:db8::1/32", "host bits set; the subnet is 2001:db8::/32"},
		{"300.1.1.1", "not an IPv4 or IPv6 address"},
		{"10.0.0.0/33", "not an IPv4 or IPv6 address"},
		{"2001:db8::/129", "not an IPv4 or IPv6 address"},
		{"10.0.0.0/-1", "not an IPv4 or IPv6 address"},
		{"fe80::1%eth0", "zoned"},
		{"fe80::/10%eth0", "not an IPv4 or IPv6 address"},
		{"", "not an IPv4 or IPv6 address"},
		{" 10.0.0.0/8", "not an IPv4 or IPv6 address"},
		{"10.0.0.0/8 ", "not an IPv4 or IPv6 address"},
		{"10.1.2.3:80", "not an IPv4 or IPv6 address"},
		{"10.0.0", "not an IPv4 or IPv6 address"},
		{"example.com", "not an IPv4 or IPv6 address"},
	}
	for _, tt := range tests {
		t.Run(tt.in, func(t *testing.T) {
			got, err := apikey.ParseNet(tt.in)
			if err == nil {
				t.Fatalf("ParseNet(%q) = %v, nil; want an error", tt.in, got)
			}
			if !strings.Contains(err.Error(), tt.want) {
				t.Errorf("ParseNet(%q): %v, want it to say %q", tt.in, err, tt.want)
			}
		})
	}
}

// TestCheckHours checks every minute of two UTC days against the slots,
// expecting acceptance exactly when the local hour (found through the time
// package, not through the package's arithmetic) lies in a slot.
func TestCheckHours(t *testing.T) {
	_, s := newSecret(t)
	slotSets := [][]apikey.Slot{
		{{18, 19}},
		{{0, 5}},
		{{22, 24}},
		{{0, 24}},
		{{23, 24}},
		{{0, 1}},
		{{0, 5}, {22, 24}},
		{{9, 12}, {13, 18}},
		{{3, 8}, {5, 10}},
	}
	for _, tz := range []int{-12, -5, 0, 3, 12} {
		zone := time.FixedZone(fmt.Sprintf("UTC%+d", tz), tz*3600)
		for _, slots := range slotSets {
			t.Run(fmt.Sprintf("tz %+d slots %v", tz, slots), func(t *testing.T) {
				p := compile(t, s, apikey.Spec{Slots: slots, Timezone: tz})
				for m := 0; m < 2*24*60; m++ {
					now := at(0, m)
					want := apikey.OutsideHours
					if inSlots(slots, now.In(zone).Hour()) {
						want = apikey.Accepted
					}
					if got := p.Check(&apikey.Request{Secret: s, Now: now}); got != want {
						t.Fatalf("Check at %v (%v local) = %v, want %v", now.Format("15:04 MST"), now.In(zone).Format("15:04"), got, want)
					}
				}
			})
		}
	}
}

func inSlots(slots []apikey.Slot, hour int) bool {
	for _, s := range slots {
		if s.Start <= hour && hour < s.End {
			return true
		}
	}
	return false
}

// TestCheckHoursBoundaries spells out the edges of some windows in UTC.
func TestCheckHoursBoundaries(t *testing.T) {
	_, s := newSecret(t)
	tests := []struct {
		name string
		tz   int
		slot apikey.Slot
		now  time.Time
		want apikey.Refusal
	}{
		{"+3 18–19, before", 3, apikey.Slot{18, 19}, at(14, 59), apikey.OutsideHours},
		{"+3 18–19, start", 3, apikey.Slot{18, 19}, at(15, 0), apikey.Accepted},
		{"+3 18–19, last minute", 3, apikey.Slot{18, 19}, at(15, 59), apikey.Accepted},
		{"+3 18–19, last second", 3, apikey.Slot{18, 19}, at(15, 59).Add(59*time.Second + 999*time.Millisecond), apikey.Accepted},
		{"+3 18–19, end", 3, apikey.Slot{18, 19}, at(16, 0), apikey.OutsideHours},

		{"0 22–24, 23:59 local", 0, apikey.Slot{22, 24}, at(23, 59), apikey.Accepted},
		{"0 22–24, 00:00 local", 0, apikey.Slot{22, 24}, at(24, 0), apikey.OutsideHours},
		{"0 22–24, 21:59 local", 0, apikey.Slot{22, 24}, at(21, 59), apikey.OutsideHours},
		{"+3 22–24, 23:59 local", 3, apikey.Slot{22, 24}, at(20, 59), apikey.Accepted},
		{"+3 22–24, 00:00 local", 3, apikey.Slot{22, 24}, at(21, 0), apikey.OutsideHours},

		{"0 0–5, 00:00", 0, apikey.Slot{0, 5}, at(0, 0), apikey.Accepted},
		{"0 0–5, 04:59", 0, apikey.Slot{0, 5}, at(4, 59), apikey.Accepted},
		{"0 0–5, 05:00", 0, apikey.Slot{0, 5}, at(5, 0), apikey.OutsideHours},

		// UTC-12: local hour h is UTC hour h+12, so 00–05 local is 12–17 UTC.
		{"-12 0–5, 11:59 UTC", -12, apikey.Slot{0, 5}, at(11, 59), apikey.OutsideHours},
		{"-12 0–5, 12:00 UTC", -12, apikey.Slot{0, 5}, at(12, 0), apikey.Accepted},
		{"-12 0–5, 16:59 UTC", -12, apikey.Slot{0, 5}, at(16, 59), apikey.Accepted},
		{"-12 0–5, 17:00 UTC", -12, apikey.Slot{0, 5}, at(17, 0), apikey.OutsideHours},
		// 18–19 local in UTC-12 is 06:00 UTC the next day.
		{"-12 18–19, 06:00 UTC", -12, apikey.Slot{18, 19}, at(6, 0), apikey.Accepted},
		{"-12 18–19, 18:00 UTC", -12, apikey.Slot{18, 19}, at(18, 0), apikey.OutsideHours},
		{"-12 22–24, 11:59 UTC", -12, apikey.Slot{22, 24}, at(11, 59), apikey.Accepted},
		{"-12 22–24, 12:00 UTC", -12, apikey.Slot{22, 24}, at(12, 0), apikey.OutsideHours},

		// UTC+12: local hour h is UTC hour h-12, so 00–05 local is 12–17 UTC
		// of the day before.
		{"+12 0–5, 11:59 UTC", 12, apikey.Slot{0, 5}, at(11, 59), apikey.OutsideHours},
		{"+12 0–5, 12:00 UTC", 12, apikey.Slot{0, 5}, at(12, 0), apikey.Accepted},
		{"+12 0–5, 16:59 UTC", 12, apikey.Slot{0, 5}, at(16, 59), apikey.Accepted},
		{"+12 0–5, 17:00 UTC", 12, apikey.Slot{0, 5}, at(17, 0), apikey.OutsideHours},
		{"+12 18–19, 06:00 UTC", 12, apikey.Slot{18, 19}, at(6, 0), apikey.Accepted},
		{"+12 18–19, 05:59 UTC", 12, apikey.Slot{18, 19}, at(5, 59), apikey.OutsideHours},
		{"+12 22–24, 11:59 UTC", 12, apikey.Slot{22, 24}, at(11, 59), apikey.Accepted},

		// Now given in another zone is the same instant.
		{"+3 18–19, start given in UTC+3", 3, apikey.Slot{18, 19}, at(15, 0).In(time.FixedZone("", 3*3600)), apikey.Accepted},
		{"+3 18–19, start given in UTC-7", 3, apikey.Slot{18, 19}, at(15, 0).In(time.FixedZone("", -7*3600)), apikey.Accepted},
		// Before 1970 the Unix time is negative.
		{"0 22–24, 1969-12-31 23:30", 0, apikey.Slot{22, 24}, time.Date(1969, 12, 31, 23, 30, 0, 0, time.UTC), apikey.Accepted},
		{"0 0–5, 1969-12-31 23:30", 0, apikey.Slot{0, 5}, time.Date(1969, 12, 31, 23, 30, 0, 0, time.UTC), apikey.OutsideHours},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			p := compile(t, s, apikey.Spec{Slots: []apikey.Slot{tt.slot}, Timezone: tt.tz})
			if got := p.Check(&apikey.Request{Secret: s, Now: tt.now}); got != tt.want {
				t.Errorf("slot %v in UTC%+d, Check at %v = %v, want %v", tt.slot, tt.tz, tt.now, got, tt.want)
			}
		})
	}
}

func TestHourMask(t *testing.T) {
	tests := []struct {
		slots []apikey.Slot
		tz    int
		want  uint32
	}{
		{[]apikey.Slot{{0, 24}}, 0, 1<<24 - 1},
		{[]apikey.Slot{{0, 24}}, -12, 1<<24 - 1},
		{[]apikey.Slot{{0, 1}}, 0, 1 << 0},
		{[]apikey.Slot{{23, 24}}, 0, 1 << 23},
		{[]apikey.Slot{{18, 19}}, 3, 1 << 15},
		{[]apikey.Slot{{0, 1}}, 3, 1 << 21},
		{[]apikey.Slot{{0, 1}}, -12, 1 << 12},
		{[]apikey.Slot{{0, 1}}, 12, 1 << 12},
		{[]apikey.Slot{{23, 24}}, -12, 1 << 11},
		{[]apikey.Slot{{0, 2}, {4, 5}}, 0, 1<<0 | 1<<1 | 1<<4},
		{nil, 0, 0},
	}
	for _, tt := range tests {
		t.Run(fmt.Sprintf("%v tz %+d", tt.slots, tt.tz), func(t *testing.T) {
			got, err := apikey.HourMask(tt.slots, tt.tz)
			if err != nil {
				t.Fatal(err)
			}
			if got != tt.want {
				t.Errorf("HourMask(%v, %d) = %024b, want %024b", tt.slots, tt.tz, got, tt.want)
			}
		})
	}
}

func TestHourMaskRefuses(t *testing.T) {
	tests := []struct {
		name  string
		slots []apikey.Slot
		tz    int
		want  string // in the error
	}{
		{"timezone 13", []apikey.Slot{{0, 5}}, 13, "timezone 13 is outside -12…12"},
		{"timezone -13", []apikey.Slot{{0, 5}}, -13, "timezone -13 is outside -12…12"},
		{"timezone 13 without slots", nil, 13, "timezone 13"},
		{"start 25", []apikey.Slot{{25, 26}}, 0, "start 25 is outside 0…24"},
		{"end 25", []apikey.Slot{{0, 25}}, 0, "end 25 is outside 0…24"},
		{"start equals end", []apikey.Slot{{5, 5}}, 0, "start 5 is not before end 5"},
		{"start after end", []apikey.Slot{{6, 5}}, 0, "start 6 is not before end 5"},
		{"start 24", []apikey.Slot{{24, 24}}, 0, "start 24 is not before end 24"},
		{"negative start", []apikey.Slot{{-1, 5}}, 0, "start -1 is outside 0…24"},
		{"negative end", []apikey.Slot{{0, -1}}, 0, "end -1 is outside 0…24"},
		{"zero slot", []apikey.Slot{{}}, 0, "start 0 is not before end 0"},
		{"second slot bad", []apikey.Slot{{0, 5}, {7, 7}}, 0, "start 7 is not before end 7"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got, err := apikey.HourMask(tt.slots, tt.tz)
			if err == nil {
				t.Fatalf("HourMask(%v, %d) = %024b, nil; want an error", tt.slots, tt.tz, got)
			}
			if !strings.Contains(err.Error(), tt.want) {
				t.Errorf("HourMask(%v, %d): %v, want it to say %q", tt.slots, tt.tz, err, tt.want)
			}
		})
	}
}

func TestCheckProducts(t *testing.T) {
	_, s := newSecret(t)
	tests := []struct {
		name     string
		products []string
		product  string
		want     apikey.Refusal
	}{
		{"listed", []string{"postbox"}, "postbox", apikey.Accepted},
		{"another", []string{"postbox"}, "monaas", apikey.WrongProduct},
		{"none named", []string{"postbox"}, "", apikey.WrongProduct},
		{"case differs", []string{"postbox"}, "Postbox", apikey.WrongProduct},
		{"prefix", []string{"postbox"}, "post", apikey.WrongProduct},
		{"second of two", []string{"postbox", "monaas"}, "monaas", apikey.Accepted},
		{"unrestricted", nil, "monaas", apikey.Accepted},
		{"unrestricted, none named", nil, "", apikey.Accepted},
		{"empty list", []string{}, "logaas", apikey.Accepted},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			p := compile(t, s, apikey.Spec{Products: tt.products})
			r := &apikey.Request{Secret: s, Now: day, Product: tt.product}
			if got := p.Check(r); got != tt.want {
				t.Errorf("products %q, Check for %q = %v, want %v", tt.products, tt.product, got, tt.want)
			}
		})
	}
}

func TestCheckScopes(t *testing.T) {
	_, s := newSecret(t)
	tests := []struct {
		name   string
		scopes []string
		scope  string
		want   apikey.Refusal
	}{
		{"listed", []string{"yc.postbox.send"}, "yc.postbox.send", apikey.Accepted},
		{"another", []string{"yc.postbox.send"}, "yc.monitoring.read", apikey.WrongScope},
		{"none asked", []string{"yc.postbox.send"}, "", apikey.WrongScope},
		{"prefix", []string{"yc.postbox.send"}, "yc.postbox", apikey.WrongScope},
		{"second of two", []string{"yc.monitoring.read", "yc.monitoring.write"}, "yc.monitoring.write", apikey.Accepted},
		{"unrestricted", nil, "yc.logging.write", apikey.Accepted},
		{"unrestricted, none asked", nil, "", apikey.Accepted},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			p := compile(t, s, apikey.Spec{Scopes: tt.scopes})
			r := &apikey.Request{Secret: s, Now: day, Scope: tt.scope}
			if got := p.Check(r); got != tt.want {
				t.Errorf("scopes %q, Check for %q = %v, want %v", tt.scopes, tt.scope, got, tt.want)
			}
		})
	}
}

// allRestrictions is a key restricted in every way, and a request it
// accepts.
func allRestrictions(t testing.TB) (*apikey.Policy, *apikey.Request) {
	t.Helper()
	_, s := newSecret(t)
	var addresses []string
	for i := range 9 {
		addresses = append(addresses, fmt.Sprintf("172.%d.0.0/16", 16+i))
	}
	addresses = append(addresses, "2001:db8::/32")
	p := compile(t, s, apikey.Spec{
		ExpiresAt: day.AddDate(1, 0, 0),
		Addresses: addresses,
		Slots:     []apikey.Slot{{9, 18}},
		Timezone:  3,
		Products:  []string{"monaas", "logaas", "postbox"},
		Scopes:    []string{"yc.monitoring.read", "yc.postbox.send"},
	})
	r := &apikey.Request{
		Secret:  s,
		Client:  "[2001:db8::7]:443",
		Now:     at(12, 30),
		Product: "postbox",
		Scope:   "yc.postbox.send",
	}
	return p, r
}

// TestCheckOrder checks that each restriction alone refuses the request,
// and that the first broken one in the documented order is reported.
func TestCheckOrder(t *testing.T) {
	p, ok := allRestrictions(t)
	if got := p.Check(ok); got != apikey.Accepted {
		t.Fatalf("Check(%+v) = %v, want %v", ok, got, apikey.Accepted)
	}
	tests := []struct {
		name   string
		change func(r *apikey.Request)
		want   apikey.Refusal
	}{
		{"secret", func(r *apikey.Request) { r.Secret = apikey.NewSecret(p.KeyID) }, apikey.WrongSecret},
		{"expired", func(r *apikey.Request) { r.Now = day.AddDate(2, 0, 0) }, apikey.Expired},
		{"address", func(r *apikey.Request) { r.Client = "10.1.2.3" }, apikey.OutsideAddresses},
		{"hours", func(r *apikey.Request) { r.Now = at(20, 0) }, apikey.OutsideHours},
		{"product", func(r *apikey.Request) { r.Product = "storage" }, apikey.WrongProduct},
		{"scope", func(r *apikey.Request) { r.Scope = "yc.storage.read" }, apikey.WrongScope},
		{"all", func(r *apikey.Request) {
			r.Secret, r.Client, r.Now, r.Product, r.Scope = "", "", time.Time{}, "", ""
		}, apikey.WrongSecret},
		{"address and after", func(r *apikey.Request) {
			r.Client, r.Now, r.Product, r.Scope = "", at(20, 0), "", ""
		}, apikey.OutsideAddresses},
		{"product and scope", func(r *apikey.Request) { r.Product, r.Scope = "", "" }, apikey.WrongProduct},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			r := *ok
			tt.change(&r)
			if got := p.Check(&r); got != tt.want {
				t.Errorf("Check(%+v) = %v, want %v", r, got, tt.want)
			}
		})
	}
}

func TestCheckAllocatesNothing(t *testing.T) {
	p, r := allRestrictions(t)
	allocs := testing.AllocsPerRun(100, func() {
		if p.Check(r) != apikey.Accepted {
			panic("refused")
		}
	})
	if allocs != 0 {
		t.Errorf("Check allocates %v times per call, want 0", allocs)
	}
}

func TestRefusalString(t *testing.T) {
	tests := []struct {
		r    apikey.Refusal
		want string
	}{
		{apikey.Accepted, "accepted"},
		{apikey.WrongSecret, "wrong_secret"},
		{apikey.Disabled, "disabled"},
		{apikey.Expired, "expired"},
		{apikey.OutsideAddresses, "address"},
		{apikey.OutsideHours, "time_window"},
		{apikey.WrongProduct, "product"},
		{apikey.WrongScope, "scope"},
		{apikey.WrongScope + 1, "unknown"},
		{255, "unknown"},
	}
	for _, tt := range tests {
		if got := tt.r.String(); got != tt.want {
			t.Errorf("Refusal(%d).String() = %q, want %q", uint8(tt.r), got, tt.want)
		}
	}
}

func BenchmarkCheckAllRestrictions(b *testing.B) {
	p, r := allRestrictions(b)
	b.ReportAllocs()
	for b.Loop() {
		if got := p.Check(r); got != apikey.Accepted {
			b.Fatalf("Check = %v, want %v", got, apikey.Accepted)
		}
	}
}
