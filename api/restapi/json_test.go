package restapi

import (
	"encoding/json"
	"fmt"
	"math/rand/v2"
	"strings"
	"testing"

	"github.com/google/go-cmp/cmp"
	iam "github.com/yandex-cloud/go-genproto/yandex/cloud/iam/v1"
	"google.golang.org/protobuf/encoding/protojson"
	"google.golang.org/protobuf/proto"
	"google.golang.org/protobuf/testing/protocmp"
	"google.golang.org/protobuf/types/known/timestamppb"
)

// serviceAccountStrings are strings at the edges of JSON escaping.
var serviceAccountStrings = []string{
	"", "robot", "a\"b", `back\slash`, "tab\there", "nl\n cr\r bs\b ff\f", "\x00\x01\x1f\x7f", "</script>&amp;",
	"ünïcödé ✓ 𝄞", "\u2028\u2029", "\ufffd", "émoji 🙂 end", strings.Repeat("x", 300),
}

// TestEncodeServiceAccountsParity: for many messages, the hand encoder's
// list (and single account) answer means exactly what protojson's does —
// the same JSON value once parsed (field names, defaults left out, enum
// names, timestamps, escapes) and the same message read back — and what
// it leaves to protojson is what protojson itself refuses or writes
// otherwise.
func TestEncodeServiceAccountsParity(t *testing.T) {
	r := rand.New(rand.NewPCG(1, 2))
	str := func() string { return serviceAccountStrings[r.IntN(len(serviceAccountStrings))] }
	stamp := func() *timestamppb.Timestamp {
		switch r.IntN(6) {
		case 0:
			return nil
		case 1:
			return &timestamppb.Timestamp{}
		}
		nanos := []int32{0, 1, 1000, 500000000, 123456789, 120000000, 999999999, 1000000}[r.IntN(8)]
		secs := []int64{minTimestamp, maxTimestamp, 1700000000, -1, 86399, 1e10}[r.IntN(6)]
		return &timestamppb.Timestamp{Seconds: secs, Nanos: nanos}
	}
	account := func() *iam.ServiceAccount {
		sa := &iam.ServiceAccount{Id: str(), FolderId: str(), CreatedAt: stamp(), Name: str(), Description: str(),
			LastAuthenticatedAt: stamp(), Status: iam.ServiceAccount_Status(r.IntN(5)), ExpiresAt: stamp()}
		for range r.IntN(12) {
			if sa.Labels == nil {
				sa.Labels = map[string]string{}
			}
			sa.Labels[str()+fmt.Sprint(r.IntN(20))] = str()
		}
		return sa
	}
	var msgs []*iam.ListServiceAccountsResponse
	msgs = append(msgs, &iam.ListServiceAccountsResponse{}, &iam.ListServiceAccountsResponse{NextPageToken: "YWJj"},
		&iam.ListServiceAccountsResponse{ServiceAccounts: []*iam.ServiceAccount{{}}})
	for range 500 {
		m := &iam.ListServiceAccountsResponse{NextPageToken: str()}
		for range r.IntN(6) {
			m.ServiceAccounts = append(m.ServiceAccounts, account())
		}
		msgs = append(msgs, m)
	}
	fast := 0
	for _, m := range msgs {
		if checkEncodeParity(t, EncodeServiceAccounts, m) {
			fast++
		}
		for _, sa := range m.ServiceAccounts {
			checkEncodeParity(t, EncodeServiceAccount, sa)
		}
	}
	if fast < len(msgs)/2 {
		t.Errorf("the hand encoder wrote %d of %d lists, want most", fast, len(msgs))
	}

	// What it leaves to protojson.
	for _, tt := range []struct {
		name string
		msg  proto.Message
	}{
		{"not UTF-8", &iam.ServiceAccount{Name: "a\xffb"}},
		{"not UTF-8 in a label", &iam.ServiceAccount{Labels: map[string]string{"k": "\xc3"}}},
		{"before year 1", &iam.ServiceAccount{CreatedAt: &timestamppb.Timestamp{Seconds: minTimestamp - 1}}},
		{"after year 9999", &iam.ServiceAccount{ExpiresAt: &timestamppb.Timestamp{Seconds: maxTimestamp + 1}}},
		{"negative nanos", &iam.ServiceAccount{CreatedAt: &timestamppb.Timestamp{Nanos: -1}}},
		{"too many nanos", &iam.ServiceAccount{CreatedAt: &timestamppb.Timestamp{Nanos: 1e9}}},
		{"unnamed status", &iam.ServiceAccount{Status: 42}},
	} {
		if b, ok := EncodeServiceAccount(nil, tt.msg); ok {
			t.Errorf("%s: encoded as %s, want it left to protojson", tt.name, b)
		}
		if b, ok := EncodeServiceAccounts(nil, &iam.ListServiceAccountsResponse{ServiceAccounts: []*iam.ServiceAccount{tt.msg.(*iam.ServiceAccount)}}); ok {
			t.Errorf("%s in a list: encoded as %s, want it left to protojson", tt.name, b)
		}
	}
	if _, ok := EncodeServiceAccounts(nil, &iam.ServiceAccount{}); ok {
		t.Error("EncodeServiceAccounts encoded another message type")
	}
}

// checkEncodeParity compares encode's answer for m with protojson's and
// reports whether encode wrote it.
func checkEncodeParity(t *testing.T, encode func([]byte, proto.Message) ([]byte, bool), m proto.Message) bool {
	t.Helper()
	want, werr := protojson.Marshal(m)
	out, ok := encode([]byte("prefix"), m)
	if !ok {
		if werr == nil {
			// Every message made here that protojson writes has named
			// enum values: the hand encoder must write it too.
			t.Errorf("%v: left to protojson, which writes it", m)
		}
		return false
	}
	if werr != nil {
		t.Fatalf("%v: hand encoder wrote %s, protojson refuses it: %v", m, out, werr)
	}
	got, found := strings.CutPrefix(string(out), "prefix")
	if !found {
		t.Fatalf("the encoder did not append to dst: %s", got)
	}
	var gotV, wantV any
	if err := json.Unmarshal([]byte(got), &gotV); err != nil {
		t.Fatalf("%v: hand encoder wrote invalid JSON %s: %v", m, got, err)
	}
	json.Unmarshal(want, &wantV)
	if diff := cmp.Diff(wantV, gotV); diff != "" {
		t.Fatalf("%v: hand encoder differs from protojson (-protojson +hand):\n%s\nhand: %s\nprotojson: %s", m, diff, got, want)
	}
	back := m.ProtoReflect().New().Interface()
	// Compared with Anys decoded: an Any's bytes hold a map in any order.
	if err := protojson.Unmarshal([]byte(got), back); err != nil || cmp.Diff(m, back, protocmp.Transform()) != "" {
		t.Fatalf("%s reads back as %v (%v), want %v", got, back, err, m)
	}
	return true
}

func FuzzEncodeServiceAccounts(f *testing.F) {
	for _, s := range serviceAccountStrings {
		f.Add(s, s, int64(1700000000), int32(5))
	}
	f.Fuzz(func(t *testing.T, name, label string, secs int64, nanos int32) {
		m := &iam.ListServiceAccountsResponse{ServiceAccounts: []*iam.ServiceAccount{{
			Id: "aje", Name: name, Labels: map[string]string{label: name}, CreatedAt: &timestamppb.Timestamp{Seconds: secs, Nanos: nanos},
		}}}
		want, werr := protojson.Marshal(m)
		got, ok := EncodeServiceAccounts(nil, m)
		if ok != (werr == nil) {
			t.Fatalf("%v: hand encoder ok = %v, protojson error %v", m, ok, werr)
		}
		if !ok {
			return
		}
		var gotV, wantV any
		if err := json.Unmarshal(got, &gotV); err != nil {
			t.Fatalf("invalid JSON %q: %v", got, err)
		}
		json.Unmarshal(want, &wantV)
		if diff := cmp.Diff(wantV, gotV); diff != "" {
			t.Fatalf("differs (-protojson +hand):\n%s", diff)
		}
	})
}

func BenchmarkEncodeServiceAccounts(b *testing.B) {
	m := &iam.ListServiceAccountsResponse{}
	for i := range 10 {
		m.ServiceAccounts = append(m.ServiceAccounts, &iam.ServiceAccount{Id: fmt.Sprintf("aje%017d", i), FolderId: "b1g00000000000000000",
			CreatedAt: timestamppb.Now(), Name: fmt.Sprintf("robot-%d", i), Description: "bench", Status: iam.ServiceAccount_ACTIVE})
	}
	b.Run("hand", func(b *testing.B) {
		b.ReportAllocs()
		buf := make([]byte, 0, 4096)
		for b.Loop() {
			buf, _ = EncodeServiceAccounts(buf[:0], m)
		}
	})
	b.Run("protojson", func(b *testing.B) {
		b.ReportAllocs()
		for b.Loop() {
			protojson.Marshal(m)
		}
	})
}
