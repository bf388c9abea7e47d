package service

import (
	"encoding/json"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"
	"github.com/google/go-cmp/cmp/cmpopts"

	"warden"
	"warden/apikey"
)

// storedAPIKeyData are the data of API keys as Warden writes them: every
// field, none, and names that json.Marshal escapes.
func storedAPIKeyData(t testing.TB) [][]byte {
	at := time.Date(2026, 3, 4, 5, 6, 7, 890, time.UTC)
	var out [][]byte
	for _, d := range []apiKeyData{
		{},
		{MaskedSecret: "****abcdef", UpdatedAt: at},
		{
			Name: "ci-deploy", Scopes: []string{"yc.postbox.send"}, Products: []string{"postbox", "monaas"},
			Addresses: []string{"10.0.0.0/8", "2001:db8::/32", "192.0.2.1"}, Slots: []apikey.Slot{{Start: 0, End: 5}, {Start: 22, End: 24}},
			Timezone: -7, Disabled: true, MaskedSecret: "****abcdef", UpdatedAt: at,
		},
		{Name: `"quoted" & <tagged> \ back`, MaskedSecret: "****x", UpdatedAt: at.In(time.FixedZone("", 3*3600))},
		{Name: "ключ для CI ✓", Timezone: 12, Slots: []apikey.Slot{{Start: 8, End: 20}}, UpdatedAt: at},
		{Name: "line\nbreak\ttab\u2028", Scopes: []string{}, Products: []string{"postbox"}},
	} {
		b, err := json.Marshal(d)
		if err != nil {
			t.Fatal(err)
		}
		out = append(out, b)
	}
	return out
}

// checkSpecDecoder compares the decoder's fast path with encoding/json on
// data: when the fast path accepts data, encoding/json must accept it too
// and decode the same values. It reports whether the fast path accepted.
func checkSpecDecoder(t *testing.T, d *specDecoder, data []byte) bool {
	t.Helper()
	d.spec = apikey.Spec{}
	fast := d.fast(data)
	var want apiKeyData
	err := json.Unmarshal(data, &want)
	if !fast {
		return false
	}
	if err != nil {
		t.Fatalf("fast path accepted %q, which encoding/json refuses: %v", data, err)
	}
	got := apiKeyData{
		Scopes: d.spec.Scopes, Products: d.spec.Products, Addresses: d.spec.Addresses, Slots: d.spec.Slots,
		Timezone: d.spec.Timezone, Disabled: d.spec.Disabled,
	}
	want.Name, want.MaskedSecret, want.UpdatedAt = "", "", time.Time{} // not the index's
	if diff := cmp.Diff(want, got, cmpopts.EquateEmpty()); diff != "" {
		t.Fatalf("fast path decoded %q differently from encoding/json (-json +fast):\n%s", data, diff)
	}
	return true
}

// TestAPIKeySpecDecoderFastPath: every key as Warden writes it takes the
// fast path and decodes as encoding/json decodes it; data the fast path
// does not take still decodes (through encoding/json), and corrupt data is
// an error.
func TestAPIKeySpecDecoderFastPath(t *testing.T) {
	d := newSpecDecoder()
	for _, data := range storedAPIKeyData(t) {
		if !checkSpecDecoder(t, d, data) {
			t.Errorf("fast path refused Warden's own data %s", data)
		}
	}
	for _, tc := range []struct {
		data string
		want apikey.Spec
		ok   bool
	}{
		{`{"Scopes":["a"]}`, apikey.Spec{Scopes: []string{"a"}}, true},                                                    // case-folded key
		{`{"scopes":["a\u0062"]}`, apikey.Spec{Scopes: []string{"ab"}}, true},                                             // escape in a kept string
		{`{"timezone":3,"timezone":4}`, apikey.Spec{Timezone: 4}, true},                                                   // duplicate: the last
		{`{"scopes":null,"disabled":true}`, apikey.Spec{Disabled: true}, true},                                            // null
		{`{"extra":{"nested":[1,2]},"timezone":-2}`, apikey.Spec{Timezone: -2}, true},                                     // unknown key
		{`{"timezone":1.5}`, apikey.Spec{}, false},                                                                        // not an int
		{`{"updated_at":"yesterday"}`, apikey.Spec{}, false},                                                              // not a time
		{`{"scopes":["a"]`, apikey.Spec{}, false},                                                                         // cut short
		{`{"scopes":["a"]} {}`, apikey.Spec{}, false},                                                                     // trailing value
		{`{"time_slots":[{"start":8,"end":20,"start":9}]}`, apikey.Spec{Slots: []apikey.Slot{{Start: 9, End: 20}}}, true}, // duplicate in a slot
	} {
		c := &warden.Credential{ID: "aka1", Data: []byte(tc.data)}
		got, err := d.decode(c)
		if (err == nil) != tc.ok {
			t.Errorf("decode(%s): error %v, want ok %v", tc.data, err, tc.ok)
			continue
		}
		checkSpecDecoder(t, newSpecDecoder(), []byte(tc.data))
		if err != nil {
			continue
		}
		tc.want.KeyID = "aka1"
		if diff := cmp.Diff(tc.want, *got, cmpopts.EquateEmpty()); diff != "" {
			t.Errorf("decode(%s) (-want +got):\n%s", tc.data, diff)
		}
	}
}

// FuzzAPIKeySpecDecoder: whatever the data, the fast path accepts only
// what encoding/json accepts, and decodes it the same.
func FuzzAPIKeySpecDecoder(f *testing.F) {
	for _, data := range storedAPIKeyData(f) {
		f.Add(data)
	}
	for _, s := range []string{
		`{"timezone":-0}`, `{"timezone":012}`, `{"disabled":truex}`, `{"scopes":["a",]}`, `{"name":"\u00e9\x"}`,
		`{"time_slots":[{},{"end":3}]}`, ` { "scopes" : [ "a" , "b" ] } `, `{"name":"\xff\xfe"}`, `{"masked_secret":"a` + "\x01" + `"}`,
	} {
		f.Add([]byte(s))
	}
	f.Fuzz(func(t *testing.T, data []byte) {
		checkSpecDecoder(t, newSpecDecoder(), data)
	})
}

// BenchmarkAPIKeySpecDecode: what a full load spends turning a stored key's
// data into its spec, through the decoder and through encoding/json.
func BenchmarkAPIKeySpecDecode(b *testing.B) {
	all := storedAPIKeyData(b)
	c := &warden.Credential{ID: "aka1", SubjectID: "aje1", Data: all[2]}
	b.Run("decoder", func(b *testing.B) {
		d := newSpecDecoder()
		b.ReportAllocs()
		for b.Loop() {
			if _, err := d.decode(c); err != nil {
				b.Fatal(err)
			}
		}
	})
	b.Run("encoding-json", func(b *testing.B) {
		b.ReportAllocs()
		for b.Loop() {
			if _, err := decodeAPIKey(c); err != nil {
				b.Fatal(err)
			}
		}
	})
}
