package audit

import (
	"fmt"
	"math/rand/v2"
	"strings"
	"testing"
	"time"

	"github.com/klauspost/compress/s2"

	"warden"
)

// testBatch returns a batch of the events ds, as the writer queues them.
func testBatch(at time.Time, ds ...DataEvent) []byte {
	b := appendDataHeader(nil)
	var prev dataStrings
	last := int64(0)
	for i := range ds {
		f := ds[i].strings()
		t := at.Add(time.Duration(i) * 1500 * time.Microsecond).UnixMicro()
		if i == 2 {
			t -= 4000 // out of order: queued by another goroutine
		}
		b = appendDataRecord(b, &prev, &f, ds[i].Allowed, t-last)
		last = t
	}
	setDataSeed(b)
	return b
}

// TestDataBatchIsTheEvents: events stored in a batch read back as the
// JSON of the Yandex Audit Trails shape that the events had when they were
// stored as JSON lines: fields that differ from the event before, that
// become empty again, that are not UTF-8, request IDs of Warden's form and
// others, times out of order.
func TestDataBatchIsTheEvents(t *testing.T) {
	at := time.Date(2025, 3, 14, 15, 9, 26, 535897000, time.UTC)
	path := string(AppendPath(nil, []warden.AuditPathElement{{Type: "organization", ID: "bpf1"}, {Type: "folder", ID: "b1f1", Name: "def<ault>"}}))
	allowed := DataEvent{Type: "warden.access.v1.AccessService.Authorize", SubjectType: "serviceAccount", SubjectID: "aje1",
		SubjectName: "robot", CredentialType: "iamToken", CredentialID: "cred", Permission: "iam.serviceAccounts.list", Allowed: true,
		Path: path, ClientAddress: "203.0.113.7", CallerAddress: "127.0.0.1:5000", RequestID: "0f8e7d6c5b4a39281706f5e4d3c2b1a0",
		UserAgent: "postbox/1", Service: "postbox"}
	again := allowed
	again.RequestID = "1f8e7d6c5b4a39281706f5e4d3c2b1a0"
	cases := []struct {
		d    DataEvent
		want string
	}{
		{allowed, `{"event_id":"ID","event_source":"warden","event_type":"warden.access.v1.AccessService.Authorize","event_class":"data","event_time":"2025-03-14T15:09:26.535897Z","authentication":{"authenticated":true,"subject_type":"serviceAccount","subject_id":"aje1","subject_name":"robot","credential_type":"iamToken","credential_id":"cred"},"authorization":{"authorized":true,"permission":"iam.serviceAccounts.list"},"resource_metadata":{"path":[{"resource_type":"organization","resource_id":"bpf1"},{"resource_type":"folder","resource_id":"b1f1","resource_name":"def\u003cault\u003e"}]},"request_metadata":{"remote_address":"203.0.113.7","user_agent":"postbox/1","request_id":"0f8e7d6c5b4a39281706f5e4d3c2b1a0"},"event_status":"DONE","details":{"resource_service_address":"127.0.0.1:5000","service":"postbox"}}`},
		{again, `{"event_id":"ID","event_source":"warden","event_type":"warden.access.v1.AccessService.Authorize","event_class":"data","event_time":"2025-03-14T15:09:26.537397Z","authentication":{"authenticated":true,"subject_type":"serviceAccount","subject_id":"aje1","subject_name":"robot","credential_type":"iamToken","credential_id":"cred"},"authorization":{"authorized":true,"permission":"iam.serviceAccounts.list"},"resource_metadata":{"path":[{"resource_type":"organization","resource_id":"bpf1"},{"resource_type":"folder","resource_id":"b1f1","resource_name":"def\u003cault\u003e"}]},"request_metadata":{"remote_address":"203.0.113.7","user_agent":"postbox/1","request_id":"1f8e7d6c5b4a39281706f5e4d3c2b1a0"},"event_status":"DONE","details":{"resource_service_address":"127.0.0.1:5000","service":"postbox"}}`},
		{DataEvent{Type: "t", SubjectID: "aje1", Permission: "p", Service: "s", RequestID: "0F8E7D6C5B4A39281706F5E4D3C2B1A0"},
			`{"event_id":"ID","event_source":"warden","event_type":"t","event_class":"data","event_time":"2025-03-14T15:09:26.534897Z","authentication":{"authenticated":true,"subject_id":"aje1"},"authorization":{"authorized":false,"permission":"p"},"resource_metadata":{"path":null},"request_metadata":{"request_id":"0F8E7D6C5B4A39281706F5E4D3C2B1A0"},"event_status":"DONE","details":{"service":"s"}}`},
		{DataEvent{Type: "t", Service: "postbox", ErrorCode: "unauthenticated", ErrorMessage: "the credential \"x\" was refused",
			Reason: "bad signature", CallerAddress: "127.0.0.1:1", UserAgent: "bad \xff utf-8 \xe2\x82", SubjectName: "ignored without a subject"},
			`{"event_id":"ID","event_source":"warden","event_type":"t","event_class":"data","event_time":"2025-03-14T15:09:26.540397Z","authentication":{"authenticated":false},"authorization":{"authorized":false},"resource_metadata":{"path":null},"request_metadata":{"user_agent":"bad � utf-8 ��"},"event_status":"ERROR","error":{"code":"unauthenticated","message":"the credential \"x\" was refused"},"details":{"reason":"bad signature","resource_service_address":"127.0.0.1:1","service":"postbox"}}`},
		{DataEvent{Type: "t", ErrorCode: "unauthenticated", ErrorMessage: "m", Path: "[]", RequestID: "req-1"},
			`{"event_id":"ID","event_source":"warden","event_type":"t","event_class":"data","event_time":"2025-03-14T15:09:26.541897Z","authentication":{"authenticated":false},"authorization":{"authorized":false},"resource_metadata":{"path":[]},"request_metadata":{"request_id":"req-1"},"event_status":"ERROR","error":{"code":"unauthenticated","message":"m"},"details":{"service":""}}`},
		{allowed, `{"event_id":"ID","event_source":"warden","event_type":"warden.access.v1.AccessService.Authorize","event_class":"data","event_time":"2025-03-14T15:09:26.543397Z","authentication":{"authenticated":true,"subject_type":"serviceAccount","subject_id":"aje1","subject_name":"robot","credential_type":"iamToken","credential_id":"cred"},"authorization":{"authorized":true,"permission":"iam.serviceAccounts.list"},"resource_metadata":{"path":[{"resource_type":"organization","resource_id":"bpf1"},{"resource_type":"folder","resource_id":"b1f1","resource_name":"def\u003cault\u003e"}]},"request_metadata":{"remote_address":"203.0.113.7","user_agent":"postbox/1","request_id":"0f8e7d6c5b4a39281706f5e4d3c2b1a0"},"event_status":"DONE","details":{"resource_service_address":"127.0.0.1:5000","service":"postbox"}}`},
	}
	var ds []DataEvent
	for _, c := range cases {
		ds = append(ds, c.d)
	}
	batch := testBatch(at, ds...)
	got, err := decodeDataBatch(batch)
	if err != nil {
		t.Fatal(err)
	}
	if len(got) != len(cases) {
		t.Fatalf("%d events, want %d", len(got), len(cases))
	}
	ids := map[string]bool{}
	for i, e := range got {
		if len(e.ID) != warden.IDLength || !strings.HasPrefix(e.ID, "evt") || strings.Trim(e.ID, "0123456789abcdefghijklmnopqrstuv") != "" || ids[e.ID] {
			t.Errorf("event %d: ID %q, want a new one of Warden's form", i, e.ID)
		}
		ids[e.ID] = true
		e.ID = "ID"
		line, err := AppendJSON(nil, e)
		if err != nil {
			t.Fatal(err)
		}
		if string(line) != cases[i].want {
			t.Errorf("event %d:\n got %s\nwant %s", i, line, cases[i].want)
		}
	}
	// Another batch of the same events: other IDs.
	again2, _ := decodeDataBatch(testBatch(at, ds...))
	if ids[again2[0].ID] {
		t.Errorf("two batches gave an event the ID %s", again2[0].ID)
	}
}

// TestDataBatchRefusesWhatItDidNotWrite: a batch cut short or with bytes
// changed decodes to an error or to events, never to a panic, and a
// batch of no event or of another version is an error.
func TestDataBatchRefusesWhatItDidNotWrite(t *testing.T) {
	path := string(AppendPath(nil, []warden.AuditPathElement{{Type: "folder", ID: "b1f1"}}))
	d := DataEvent{Type: "t", SubjectID: "aje1", Permission: "p", Path: path, RequestID: "0f8e7d6c5b4a39281706f5e4d3c2b1a0", Service: "s"}
	batch := testBatch(time.Now(), d, d, d)
	for n := range len(batch) {
		if _, err := decodeDataBatch(batch[:n]); err == nil && n <= dataHeaderLen {
			t.Errorf("a batch of %d bytes decodes", n)
		}
	}
	for i := range batch {
		for _, c := range []byte{0, 0x7f, 0x80, 0xff} {
			changed := append([]byte(nil), batch...)
			changed[i] = c
			decodeDataBatch(changed)
		}
	}
	other := append([]byte(nil), batch...)
	other[0] = 2
	if _, err := decodeDataBatch(other); err == nil {
		t.Error("a batch of another version decodes")
	}
}

// BenchmarkWriteData is what recording a decision costs the request's
// path: appending it to the writer's buffer.
func BenchmarkWriteData(b *testing.B) {
	w := &Writer{limit: 1 << 30, bytes: 1 << 40, batch: dataBatch, dataQueued: make(chan struct{}, 1), dataFull: make(chan struct{}, 1)}
	path := string(AppendPath(nil, []warden.AuditPathElement{{Type: "organization", ID: warden.NewID("bpf"), Name: "org"},
		{Type: "cloud", ID: warden.NewID("b1g"), Name: "cloud"}, {Type: "folder", ID: warden.NewID("b1f"), Name: "default"}}))
	d := DataEvent{Time: time.Now(), Type: "warden.access.v1.AccessService.Authorize", SubjectType: "serviceAccount",
		SubjectID: warden.NewID("aje"), SubjectName: "robot", CredentialType: "iamToken", Permission: "iam.serviceAccounts.list", Allowed: true,
		Path: path, ClientAddress: "203.0.113.7", CallerAddress: "127.0.0.1:53412", Service: "postbox"}
	ids := make([]string, 64)
	for i := range ids {
		ids[i] = fmt.Sprintf("%032x", rand.Uint64())
	}
	b.ReportAllocs()
	for i := 0; b.Loop(); i++ {
		d.RequestID = ids[i%len(ids)] // a new request each time
		w.WriteData(&d)
		if i%dataBatch == 0 {
			if r, _ := w.takeData(); r != nil {
				w.data.spare = r.Body // as Run does once it is written
			}
		}
	}
}

// BenchmarkDataBatch is the writer's share of an event: compressing a full
// batch.
func BenchmarkDataBatch(b *testing.B) {
	w := &Writer{}
	path := string(AppendPath(nil, []warden.AuditPathElement{{Type: "organization", ID: warden.NewID("bpf"), Name: "org"},
		{Type: "cloud", ID: warden.NewID("b1g"), Name: "cloud"}, {Type: "folder", ID: warden.NewID("b1f"), Name: "default"}}))
	ds := make([]DataEvent, dataBatch)
	for i := range ds {
		ds[i] = DataEvent{Type: "warden.access.v1.AccessService.Authorize", SubjectType: "serviceAccount",
			SubjectID: "ajeexample", SubjectName: "robot", CredentialType: "iamToken", Permission: "iam.serviceAccounts.list", Allowed: true,
			Path: path, ClientAddress: "203.0.113.7", CallerAddress: "127.0.0.1:53412", Service: "postbox",
			RequestID: fmt.Sprintf("%016x%016x", rand.Uint64(), rand.Uint64())}
	}
	batch := testBatch(time.Now(), ds...)
	b.ReportAllocs()
	for b.Loop() {
		r := &warden.AuditRecord{Body: batch}
		w.compress(r)
	}
	b.ReportMetric(float64(len(s2.Encode(nil, batch)))/dataBatch, "stored-B/event")
	b.ReportMetric(float64(len(batch))/dataBatch, "raw-B/event")
}

// TestBatchOfJSONLines: a batch written before the binary form (its events'
// JSON lines) still reads back.
func TestBatchOfJSONLines(t *testing.T) {
	var lines []byte
	for i, id := range []string{"evt1", "evt2"} {
		e := &warden.AuditEvent{ID: id, Source: Source, Type: "t", Class: warden.AuditData, Status: warden.AuditDone,
			Time: time.Date(2025, 1, 2, 3, 4, 5, i, time.UTC), Details: map[string]any{"service": "postbox"}}
		if i > 0 {
			lines = append(lines, '\n')
		}
		lines, _ = AppendJSON(lines, e)
	}
	evs, err := Decode(&warden.AuditRecord{Type: warden.AuditBatch, Body: s2.Encode(nil, lines)})
	if err != nil || len(evs) != 2 || evs[0].ID != "evt1" || evs[1].ID != "evt2" || evs[1].Details["service"] != "postbox" {
		t.Fatalf("decode: %v, %+v", err, evs)
	}
}
