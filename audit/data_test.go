package audit

import (
	"bytes"
	"encoding/json"
	"strings"
	"testing"
	"time"

	"warden"
)

// TestAppendDataJSONIsTheEvent: a data event encoded without building it
// is the JSON of the event it stands for.
func TestAppendDataJSONIsTheEvent(t *testing.T) {
	at := time.Date(2025, 3, 14, 15, 9, 26, 535897000, time.UTC)
	path := []warden.AuditPathElement{{Type: "organization", ID: "bpf1"}, {Type: "folder", ID: "b1f1", Name: "def<ault>"}}
	cases := map[string]DataEvent{
		"allowed": {ID: "evt1", Type: "warden.access.v1.AccessService.Authorize", SubjectType: "serviceAccount", SubjectID: "aje1",
			SubjectName: "robot", CredentialType: "iamToken", CredentialID: "cred", Permission: "iam.serviceAccounts.list", Allowed: true,
			Path: path, ClientAddress: "203.0.113.7", CallerAddress: "127.0.0.1:5000", RequestID: "req", UserAgent: "postbox/1", Service: "postbox"},
		"denied, no path, no caller": {ID: "evt2", Type: "t", SubjectID: "aje1", Permission: "p", Service: "s"},
		"refused credential": {ID: "evt3", Type: "t", Service: "postbox", ErrorCode: "unauthenticated", ErrorMessage: "the credential \"x\" was refused",
			Reason: "bad signature", CallerAddress: "127.0.0.1:1"},
		"refused without reason": {ID: "evt4", Type: "t", ErrorCode: "unauthenticated", ErrorMessage: "m", Path: []warden.AuditPathElement{}},
	}
	for name, d := range cases {
		t.Run(name, func(t *testing.T) {
			d.Time = at
			want, err := AppendJSON(nil, d.Event())
			if err != nil {
				t.Fatal(err)
			}
			got, err := appendDataJSON(nil, &d, at)
			if err != nil {
				t.Fatal(err)
			}
			if !bytes.Equal(got, want) {
				t.Errorf("appendDataJSON:\n got %s\nwant %s", got, want)
			}
			d.PathJSON = AppendPath(nil, d.Path)
			if got, _ := appendDataJSON(nil, &d, at); !bytes.Equal(got, want) {
				t.Errorf("appendDataJSON with the path encoded:\n got %s\nwant %s", got, want)
			}
		})
	}
	// Without an ID, each event gets a new one of Warden's form.
	d := DataEvent{Type: "t", Time: at}
	a, _ := appendDataJSON(nil, &d, at)
	b, _ := appendDataJSON(nil, &d, at)
	var ea, eb warden.AuditEvent
	if err := json.Unmarshal(a, &ea); err != nil {
		t.Fatal(err)
	}
	if err := json.Unmarshal(b, &eb); err != nil {
		t.Fatal(err)
	}
	if len(ea.ID) != warden.IDLength || !strings.HasPrefix(ea.ID, "evt") || strings.Trim(ea.ID, "0123456789abcdefghijklmnopqrstuv") != "" || ea.ID == eb.ID {
		t.Errorf("new event IDs %q and %q", ea.ID, eb.ID)
	}
}

// BenchmarkWriteData is what recording a decision costs the request's
// path: encoding it into the writer's buffer.
func BenchmarkWriteData(b *testing.B) {
	w := &Writer{limit: 1 << 30, dataQueued: make(chan struct{}, 1), dataFull: make(chan struct{}, 1)}
	path := []warden.AuditPathElement{{Type: "organization", ID: warden.NewID("bpf"), Name: "org"}, {Type: "cloud", ID: warden.NewID("b1g"), Name: "cloud"},
		{Type: "folder", ID: warden.NewID("b1f"), Name: "default"}}
	d := DataEvent{Time: time.Now(), Type: "warden.access.v1.AccessService.Authorize", SubjectType: "serviceAccount",
		SubjectID: warden.NewID("aje"), SubjectName: "robot", CredentialType: "iamToken", Permission: "iam.serviceAccounts.list", Allowed: true,
		Path: path, ClientAddress: "203.0.113.7", CallerAddress: "127.0.0.1:53412", RequestID: "0f8e7d6c-5b4a-3928-1706-f5e4d3c2b1a0", Service: "postbox"}
	b.ReportAllocs()
	for i := 0; b.Loop(); i++ {
		w.WriteData(&d)
		if i%dataBatch == 0 {
			if r, _ := w.takeData(); r != nil {
				w.data.spare = r.Body // as Run does once it is written
			}
		}
	}
}
