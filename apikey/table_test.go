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

// TestTableMerge: batches compiled apart and merged into a table answer
// as one table that every key was put into: names interned once, addresses
// and lists where their rows point, a key added twice (to one batch or two)
// as the last merged, a key the table held before replaced in its row.
func TestTableMerge(t *testing.T) {
	spec := func(i int, product string) apikey.Spec {
		sum := sha256.Sum256(fmt.Appendf(nil, "secret-%d", i))
		s := apikey.Spec{
			KeyID: fmt.Sprintf("aka%017d", i), SubjectID: fmt.Sprintf("aje%017d", i%701), Hash: sum[:],
			Products: []string{product}, Scopes: []string{fmt.Sprintf("scope.%d", i%3)},
		}
		if i%2 == 0 {
			s.Addresses = []string{fmt.Sprintf("10.%d.0.0/16", i%200), "2001:db8::/32"}
		}
		return s
	}
	req := func(i int, client, product string) *apikey.Request {
		return &apikey.Request{Secret: fmt.Sprintf("secret-%d", i), Client: client, Now: day, Product: product, Scope: fmt.Sprintf("scope.%d", i%3)}
	}
	whole, merged := apikey.NewTable(0), apikey.NewTable(0)
	put := func(tb *apikey.Table, s apikey.Spec) {
		if _, err := tb.Put(s); err != nil {
			t.Fatal(err)
		}
	}
	for i := 0; i < 100; i += 7 { // held before the merge
		put(whole, spec(i, "old"))
		put(merged, spec(i, "old"))
	}
	before, _ := merged.Lookup(fmt.Sprintf("aka%017d", 7))
	// Three goroutines' worth of batches, each going on from the one
	// before every 500 keys.
	lanes := []*apikey.Batch{apikey.NewBatch(0), apikey.NewBatch(100), apikey.NewBatch(0)}
	var batches []*apikey.Batch
	add := func(lane int, s apikey.Spec) {
		if err := lanes[lane].Add(s); err != nil {
			t.Fatal(err)
		}
		if lanes[lane].Len() == 500 {
			batches = append(batches, lanes[lane])
			lanes[lane] = lanes[lane].Next(10)
		}
	}
	const n = 3000
	for i := range n {
		product := []string{"postbox", "monaas", "logaas"}[i%3]
		add(i%3, spec(i, product))
		put(whole, spec(i, product))
	}
	batches = append(batches, lanes[0], lanes[1])
	for i := 0; i < n; i += 10 { // again, in a batch merged last: it wins
		add(2, spec(i, "storage"))
		put(whole, spec(i, "storage"))
	}
	add(2, spec(1, "twice")) // twice in one batch: the later wins
	add(2, spec(1, "thrice"))
	put(whole, spec(1, "thrice"))
	batches = append(batches, lanes[2])
	for _, b := range batches {
		merged.Merge(b)
	}
	if merged.Len() != whole.Len() {
		t.Fatalf("merged Len = %d, want %d", merged.Len(), whole.Len())
	}
	if after, _ := merged.Lookup(fmt.Sprintf("aka%017d", 7)); after != before {
		t.Errorf("a key held before the merge moved from row %d to %d", before, after)
	}
	for i := range n {
		id := fmt.Sprintf("aka%017d", i)
		wr, _ := whole.Lookup(id)
		mr, ok := merged.Lookup(id)
		if !ok {
			t.Fatalf("key %d is not held after merging", i)
		}
		if got, want := merged.Subject(mr), whole.Subject(wr); got != want {
			t.Fatalf("key %d: Subject %q, want %q", i, got, want)
		}
		if i%13 != 1 {
			if got, want := merged.Check(mr, req(i, "10.250.0.1", "storage")), whole.Check(wr, req(i, "10.250.0.1", "storage")); got != want {
				t.Fatalf("key %d: %v after merging, %v in the whole table", i, got, want)
			}
			continue
		}
		for _, client := range []string{fmt.Sprintf("10.%d.1.2:443", i%200), "10.250.0.1", "[2001:db8::1]:443", ""} {
			for _, product := range []string{"postbox", "monaas", "logaas", "storage", "old", "twice", "thrice"} {
				if got, want := merged.Check(mr, req(i, client, product)), whole.Check(wr, req(i, client, product)); got != want {
					t.Fatalf("key %d from %q for %s: %v after merging, %v in the whole table", i, client, product, got, want)
				}
			}
		}
	}
}
