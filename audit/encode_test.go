package audit_test

import (
	"bytes"
	"encoding/json"
	"testing"
	"time"

	"warden"
	"warden/audit"
)

// TestAppendJSONIsMarshal: the hand-written encoder writes the bytes
// json.Marshal writes, for every field set or empty and strings that need
// escaping.
func TestAppendJSONIsMarshal(t *testing.T) {
	full := func() *warden.AuditEvent {
		return &warden.AuditEvent{ID: "evt1", Source: "warden", Type: "yandex.cloud.iam.v1.ServiceAccountService.Create", Class: warden.AuditManagement,
			Time: time.Date(2025, 3, 14, 15, 9, 26, 535897000, time.UTC),
			Authentication: warden.AuditAuthentication{Authenticated: true, SubjectType: "userAccount", SubjectID: "aju1", SubjectName: "admin",
				CredentialType: "iamToken", CredentialID: "cred1"},
			Authorization: warden.AuditAuthorization{Authorized: true, Permission: "iam.serviceAccounts.create"},
			Resource:      warden.AuditResource{Path: []warden.AuditPathElement{{Type: "organization", ID: "bpf1"}, {Type: "folder", ID: "b1f1", Name: "default"}}},
			Request:       warden.AuditRequest{RemoteAddress: "203.0.113.7:443", UserAgent: "yc/0.1", RequestID: "req1"},
			Status:        warden.AuditError,
			Error:         &warden.AuditErrorInfo{Code: "already_exists", Message: `service account "x" already exists`},
			Details: map[string]any{"name": "robot", "update_mask": []string{"name", "description"}, "generated": true, "pruned_events": int64(3),
				"count": 7, "none": nil, "nil_list": []string(nil), "deltas": []map[string]any{{"role": "viewer", "n": 1.5}}, "float": 1e21},
			Seq: 42, PrevHash: "00ff", Hash: "abcd",
		}
	}
	cases := map[string]*warden.AuditEvent{
		"full":  full(),
		"empty": {},
		"no path, no request": {ID: "evt2", Time: time.Unix(0, 0).UTC(), Resource: warden.AuditResource{Path: []warden.AuditPathElement{}},
			Request: warden.AuditRequest{RequestID: "only"}},
		"strings that need escaping": {ID: "<script>&\"\\\n\r\t\b\f\x01\x1f\u2028\u2029\x7f", Type: "caf\u00e9 \U0001F600",
			Authentication: warden.AuditAuthentication{SubjectName: "bad \xff utf-8 \xe2\x82"},
			Request:        warden.AuditRequest{UserAgent: "Mozilla/5.0 (X11) <>&"}, Time: time.Date(2025, 1, 2, 3, 4, 5, 0, time.FixedZone("x", 3600))},
	}
	for name, e := range cases {
		t.Run(name, func(t *testing.T) {
			want, err := json.Marshal(e)
			if err != nil {
				t.Fatal(err)
			}
			got, err := audit.AppendJSON([]byte("prefix"), e)
			if err != nil {
				t.Fatal(err)
			}
			if !bytes.Equal(got[len("prefix"):], want) || !bytes.HasPrefix(got, []byte("prefix")) {
				t.Errorf("AppendJSON:\n got %s\nwant %s", got, want)
			}
		})
	}
	if _, err := audit.AppendJSON(nil, &warden.AuditEvent{Time: time.Date(10000, 1, 1, 0, 0, 0, 0, time.UTC)}); err == nil {
		t.Error("a year json.Marshal refuses was encoded")
	}
	// Times of one second and of others, with fractions of every length.
	base := time.Date(2025, 12, 31, 23, 59, 59, 0, time.UTC)
	for _, d := range []time.Duration{0, 1, 10, 100_000, 120_000_000, 999_999_999, time.Second, time.Second + 5, 400 * 24 * time.Hour} {
		for _, at := range []time.Time{base.Add(d), base.Add(d).In(time.FixedZone("x", -3600)), base.Add(-d)} {
			e := &warden.AuditEvent{Time: at}
			want, _ := json.Marshal(e)
			got, err := audit.AppendJSON(nil, e)
			if err != nil || !bytes.Equal(got, want) {
				t.Errorf("time %v:\n got %s\nwant %s", at, got, want)
			}
		}
	}
}

// BenchmarkAppendJSON is the encoding of one data event, against
// json.Marshal.
func BenchmarkAppendJSON(b *testing.B) {
	e := &warden.AuditEvent{ID: warden.NewID("evt"), Source: "warden", Type: "warden.access.v1.AccessService.Authorize", Class: warden.AuditData,
		Time:           time.Now().UTC(),
		Authentication: warden.AuditAuthentication{Authenticated: true, SubjectType: "serviceAccount", SubjectID: warden.NewID("aje"), SubjectName: "robot", CredentialType: "iamToken"},
		Authorization:  warden.AuditAuthorization{Authorized: true, Permission: "iam.serviceAccounts.list"},
		Resource:       warden.AuditResource{Path: []warden.AuditPathElement{{Type: "organization", ID: warden.NewID("bpf"), Name: "org"}, {Type: "cloud", ID: warden.NewID("b1g"), Name: "cloud"}, {Type: "folder", ID: warden.NewID("b1f"), Name: "default"}}},
		Request:        warden.AuditRequest{RemoteAddress: "203.0.113.7", RequestID: "0f8e7d6c-5b4a-3928-1706-f5e4d3c2b1a0"},
		Status:         warden.AuditDone, Details: map[string]any{"service": "postbox", "resource_service_address": "127.0.0.1:53412"}}
	b.Run("AppendJSON", func(b *testing.B) {
		b.ReportAllocs()
		var buf []byte
		for b.Loop() {
			buf, _ = audit.AppendJSON(buf[:0], e)
		}
	})
	b.Run("json.Marshal", func(b *testing.B) {
		b.ReportAllocs()
		for b.Loop() {
			json.Marshal(e)
		}
	})
}
