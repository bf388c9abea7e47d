package apikey_test

import (
	"crypto/sha256"
	"fmt"
	"testing"

	"warden/apikey"
)

// TestTablePutReplaceDelete: a replaced key keeps its row and takes its
// new restrictions; a deleted key is unknown and its row is reused; the
// pools are compacted as keys churn, without changing any answer.
func TestTablePutReplaceDelete(t *testing.T) {
	tb := apikey.NewTable(0)
	spec := func(i int, product string) apikey.Spec {
		sum := sha256.Sum256(fmt.Appendf(nil, "secret-%d", i))
		return apikey.Spec{
			KeyID: fmt.Sprintf("aka%017d", i), SubjectID: fmt.Sprintf("aje%017d", i%7), Hash: sum[:],
			Addresses: []string{"10.0.0.0/8", "2001:db8::/32"}, Products: []string{product}, Scopes: []string{"yc.postbox.send"},
		}
	}
	req := func(i int, product string) *apikey.Request {
		return &apikey.Request{Secret: fmt.Sprintf("secret-%d", i), Client: "10.1.2.3:443", Now: day, Product: product, Scope: "yc.postbox.send"}
	}
	const n = 3000
	rows := map[int]uint32{}
	for i := range n {
		r, err := tb.Put(spec(i, "postbox"))
		if err != nil {
			t.Fatal(err)
		}
		rows[i] = r
	}
	// Every key replaced three times: enough waste to compact the pools.
	for round := range 3 {
		product := []string{"monaas", "logaas", "storage"}[round]
		for i := range n {
			r, err := tb.Put(spec(i, product))
			if err != nil {
				t.Fatal(err)
			}
			if r != rows[i] {
				t.Fatalf("replaced key %d moved from row %d to %d", i, rows[i], r)
			}
		}
	}
	for i := range n {
		r, ok := tb.Lookup(fmt.Sprintf("aka%017d", i))
		if !ok || r != rows[i] {
			t.Fatalf("Lookup(key %d) = %d, %v; want %d", i, r, ok, rows[i])
		}
		if got := tb.Check(r, req(i, "storage")); got != apikey.Accepted {
			t.Fatalf("key %d for its new product: %v", i, got)
		}
		if got := tb.Check(r, req(i, "postbox")); got != apikey.WrongProduct {
			t.Fatalf("key %d for its old product: %v, want %v", i, got, apikey.WrongProduct)
		}
		if got, want := tb.Subject(r), fmt.Sprintf("aje%017d", i%7); got != want {
			t.Fatalf("Subject = %q, want %q", got, want)
		}
		if got, want := tb.KeyID(r), fmt.Sprintf("aka%017d", i); got != want {
			t.Fatalf("KeyID = %q, want %q", got, want)
		}
	}
	gone, ok := tb.Delete(fmt.Sprintf("aka%017d", 5))
	if !ok {
		t.Fatal("Delete of a held key: not found")
	}
	if _, ok := tb.Lookup(fmt.Sprintf("aka%017d", 5)); ok {
		t.Fatal("a deleted key is still found")
	}
	if r, _ := tb.Put(spec(n, "postbox")); r != gone {
		t.Errorf("a new key took row %d, want the freed row %d", r, gone)
	}
	if got := tb.Len(); got != n {
		t.Errorf("Len = %d, want %d", got, n)
	}
}

// TestTableRefusesCorruptSpecs: a spec that does not compile leaves the
// table as it was.
func TestTableRefusesCorruptSpecs(t *testing.T) {
	tb := apikey.NewTable(0)
	sum := sha256.Sum256([]byte("s"))
	if _, err := tb.Put(apikey.Spec{KeyID: "aka1", Hash: sum[:], Addresses: []string{"10.0.0.1/8"}}); err == nil {
		t.Error("a subnet with host bits set was accepted")
	}
	if _, err := tb.Put(apikey.Spec{KeyID: "aka123456789012345678901", Hash: sum[:]}); err == nil {
		t.Error("a key ID longer than KeyIDSize was accepted")
	}
	if _, ok := tb.Lookup("aka1"); ok || tb.Len() != 0 {
		t.Errorf("after refused specs: Len %d, want 0", tb.Len())
	}
}
