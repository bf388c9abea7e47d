package restapi

import (
	"strings"
	"testing"

	iam "github.com/yandex-cloud/go-genproto/yandex/cloud/iam/v1"
	"google.golang.org/protobuf/encoding/protojson"
	"google.golang.org/protobuf/proto"
)

// TestDecodeCreateParity: every body the hand decoder reads, it reads as
// protojson does; every other one it leaves to protojson — among them
// each that protojson refuses.
func TestDecodeCreateParity(t *testing.T) {
	bodies := []string{
		``, `  `, `{}`, ` { } `,
		`{"folderId":"b1g","name":"robot"}`,
		`{"folder_id":"b1g","name":"robot","description":"d"}`,
		"{\n\t\"name\" : \"robot\" ,\r\n \"folderId\":\"b1g\"}",
		`{"name":"ünïcödé ✓ 𝄞","description":""}`,
		`{"name":"robot","labels":{"a":"b"}}`,
		`{"name":"robot","expiresAt":"2030-01-01T00:00:00Z"}`,
		`{"name":"a\"b"}`, `{"name":"a\\b"}`, `{"name":"a\u0041"}`, "{\"name\":\"tab\there\"}",
		`{"name":"a\xffb"}`, `{"name":null}`, `{"name":1}`, `{"name":"a","name":"b"}`,
		`{"folderId":"a","folder_id":"b"}`, `{"unknown":"x"}`, `{"name":"a",}`, `{"name":"a"} x`,
		`{"name":"a"`, `{"name":}`, `{,}`, `[]`, `"s"`, `{"Name":"a"}`, `{"name" "a"}`,
		strings.Repeat(" ", 10) + `{"description":"` + strings.Repeat("x", 500) + `"}`,
	}
	fast := 0
	for _, body := range bodies {
		want := &iam.CreateServiceAccountRequest{}
		werr := error(nil)
		if strings.TrimSpace(body) != "" {
			werr = protojson.Unmarshal([]byte(body), want)
		}
		got := &iam.CreateServiceAccountRequest{}
		err := DecodeCreate([]byte(body), got)
		switch {
		case CreateFallback(err):
			continue
		case err != nil:
			t.Errorf("%q: error %v, want a request or a fallback", body, err)
		case werr != nil:
			t.Errorf("%q: decoded as %v, protojson refuses it: %v", body, got, werr)
		case !proto.Equal(got, want):
			t.Errorf("%q: decoded as %v, protojson as %v", body, got, want)
		default:
			fast++
		}
	}
	if fast < 8 {
		t.Errorf("the hand decoder read %d bodies, want the 8 plain ones at least", fast)
	}
	if err := DecodeCreate([]byte(`{}`), &iam.GetServiceAccountRequest{}); !CreateFallback(err) {
		t.Errorf("another message type: %v, want a fallback", err)
	}
}

func FuzzDecodeCreate(f *testing.F) {
	for _, s := range []string{`{"folderId":"b1g","name":"robot"}`, `{"name":"a","name":"b"}`, `{"name":"\u00e9"}`, ` {} `} {
		f.Add([]byte(s))
	}
	f.Fuzz(func(t *testing.T, body []byte) {
		got := &iam.CreateServiceAccountRequest{}
		err := DecodeCreate(body, got)
		if CreateFallback(err) {
			return
		}
		want := &iam.CreateServiceAccountRequest{}
		if len(strings.TrimSpace(string(body))) > 0 {
			if werr := protojson.Unmarshal(body, want); werr != nil {
				t.Fatalf("%q: decoded as %v, protojson refuses it: %v", body, got, werr)
			}
		}
		if err != nil || !proto.Equal(got, want) {
			t.Fatalf("%q: decoded as %v (%v), protojson as %v", body, got, err, want)
		}
	})
}

func BenchmarkDecodeCreate(b *testing.B) {
	body := []byte(`{"folderId":"b1g00000000000000000","name":"bench-12345"}`)
	b.Run("hand", func(b *testing.B) {
		b.ReportAllocs()
		for b.Loop() {
			DecodeCreate(body, &iam.CreateServiceAccountRequest{})
		}
	})
	b.Run("protojson", func(b *testing.B) {
		b.ReportAllocs()
		for b.Loop() {
			protojson.Unmarshal(body, &iam.CreateServiceAccountRequest{})
		}
	})
}
