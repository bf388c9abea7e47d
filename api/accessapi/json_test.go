package accessapi

import (
	"bytes"
	"testing"

	"google.golang.org/protobuf/encoding/protojson"
	"google.golang.org/protobuf/proto"

	"warden/api/accesspb"
)

// authorizeBodies are bodies clients send, and bodies at the edges of what
// the hand decoder covers. fast marks those it must decode itself.
var authorizeBodies = []struct {
	body string
	fast bool
}{
	{`{"request":{"method":"GET","path":"/","headers":{"Authorization":["Bearer t1.abc"]}},"checks":[{"permission":"iam.serviceAccounts.list","resource":{"type":"resource-manager.folder","id":"b1gfolder"}}]}`, true},
	{` { "request" : { "clientAddress" : "10.0.0.1:443", "bodySha256": "e3b0", "service":"postbox", "scope":"yc.postbox.send", "signingRegion":"ru-central1", "signingService":"s3", "query":"a=b" } , "checks" : [ ] } `, true},
	{`{"request":{"client_address":"10.0.0.1","body_sha256":"x","signing_region":"r","signing_service":"s"}}`, true},
	{`{"subject":{"type":"serviceAccount","id":"aje1","folder_id":"b1g","cloudId":"b1c"},"checks":[{"permission":"p","resource":{"id":"r"}},{"permission":"q"}]}`, true},
	{`{"request":{"headers":{"A":["1","2"],"b":[]}}}`, true},
	{`{"request":{"headers":{"X":["ünïcödé"]}}}`, true},
	{`{}`, true},
	{``, true},
	// Left to protojson, which accepts or refuses them.
	{`{"request":{"headers":{"A":[1, true, null, {"x": "y"}, ["z"]]}}}`, false},
	{`{"request":{"method":"G\u0045T"}}`, false},
	{`{"request":{"method":"a\"b"}}`, false},
	{`{"request":{"clientAddress":"a","client_address":"b"}}`, false},
	{`{"request":{"headers":{"A":["1"],"A":["2"]}}}`, false},
	{`{"request":null}`, false},
	{`{"request":{"method":null}}`, false},
	{`{"checks":[{"permission":"p"}],"checks":[]}`, false},
	{`{"unknown":1}`, false},
	{`{"request":{"method":"GET"}} {}`, false},
	{`{"request":{"method":"GET"}`, false},
	{`{"request":{"method":"` + "\xff" + `"}}`, false},
	{`{"request":{"method":"a` + "\x01" + `"}}`, false},
	{`{"Request":{}}`, false},
	{`[]`, false},
}

// TestAuthorizeCodecParity: whatever the hand decoder accepts, protojson
// accepts with the same meaning; the bodies clients send take the hand
// path.
func TestAuthorizeCodecParity(t *testing.T) {
	for _, tt := range authorizeBodies {
		checkDecodeParity(t, []byte(tt.body), tt.fast)
	}
}

func checkDecodeParity(t *testing.T, body []byte, wantFast bool) {
	t.Helper()
	got := &accesspb.AuthorizeRequest{}
	err := DecodeAuthorize(body, got)
	if err != nil && !ErrFallback(err) {
		t.Fatalf("DecodeAuthorize(%q) = %v, want nil or the fallback", body, err)
	}
	if wantFast && err != nil {
		t.Errorf("DecodeAuthorize(%q) fell back to protojson, want the hand decoder", body)
	}
	if err != nil {
		return
	}
	want := &accesspb.AuthorizeRequest{}
	if len(bytes.TrimSpace(body)) > 0 { // restapi reads a blank body as an empty request
		if perr := protojson.Unmarshal(body, want); perr != nil {
			t.Fatalf("the hand decoder accepted %q, protojson refuses it: %v", body, perr)
		}
	}
	if !proto.Equal(got, want) {
		t.Errorf("body %q: hand decoder %v, protojson %v", body, got, want)
	}
}

func FuzzAuthorizeDecode(f *testing.F) {
	for _, tt := range authorizeBodies {
		f.Add([]byte(tt.body))
	}
	f.Fuzz(func(t *testing.T, body []byte) { checkDecodeParity(t, body, false) })
}

// TestAuthorizeEncodeParity: protojson reads the hand encoder's answers as
// the messages they encode; answers it cannot write are left to protojson.
func TestAuthorizeEncodeParity(t *testing.T) {
	for _, tt := range []struct {
		resp *accesspb.AuthorizeResponse
		fast bool
	}{
		{&accesspb.AuthorizeResponse{}, true},
		{&accesspb.AuthorizeResponse{
			Subject:        &accesspb.Subject{Type: "serviceAccount", Id: "aje1", FolderId: "b1g", CloudId: "b1c"},
			CredentialType: "iam_token", CredentialId: "cred",
			Results: []*accesspb.CheckResult{
				{Allowed: true, Permission: "p", Resource: &accesspb.Resource{Type: "t", Id: "r"}},
				{Permission: "q", Resource: &accesspb.Resource{Id: "s"}},
				{},
			},
		}, true},
		{&accesspb.AuthorizeResponse{Subject: &accesspb.Subject{Id: "ünï"}}, true},
		{&accesspb.AuthorizeResponse{Subject: &accesspb.Subject{Id: "a\"b\n"}}, false},
		{&accesspb.AuthorizeResponse{Sigv4Stream: &accesspb.SigV4Stream{Region: "r", DecodedLength: 5}}, false},
	} {
		b, ok := EncodeAuthorize(nil, tt.resp)
		if ok != tt.fast {
			t.Errorf("EncodeAuthorize(%v) ok = %v, want %v", tt.resp, ok, tt.fast)
		}
		if !ok {
			continue
		}
		got := &accesspb.AuthorizeResponse{}
		if err := protojson.Unmarshal(b, got); err != nil {
			t.Fatalf("protojson cannot read %s: %v", b, err)
		}
		if !proto.Equal(got, tt.resp) {
			t.Errorf("%s reads as %v, want %v", b, got, tt.resp)
		}
	}
}

func BenchmarkAuthorizeCodec(b *testing.B) {
	body := []byte(authorizeBodies[0].body)
	resp := &accesspb.AuthorizeResponse{
		Subject: &accesspb.Subject{Type: "serviceAccount", Id: "ajeaaaaaaaaaaaaaaaaa", FolderId: "b1gaaaaaaaaaaaaaaaaa"}, CredentialType: "iam_token",
		Results: []*accesspb.CheckResult{{Allowed: true, Permission: "iam.serviceAccounts.list", Resource: &accesspb.Resource{Type: "resource-manager.folder", Id: "b1gfolder"}}},
	}
	b.Run("hand", func(b *testing.B) {
		b.ReportAllocs()
		buf := make([]byte, 0, 512)
		for b.Loop() {
			m := &accesspb.AuthorizeRequest{}
			if err := DecodeAuthorize(body, m); err != nil {
				b.Fatal(err)
			}
			buf, _ = EncodeAuthorize(buf[:0], resp)
		}
	})
	b.Run("protojson", func(b *testing.B) {
		b.ReportAllocs()
		for b.Loop() {
			m := &accesspb.AuthorizeRequest{}
			if err := protojson.Unmarshal(body, m); err != nil {
				b.Fatal(err)
			}
			protojson.Marshal(resp)
		}
	})
}
