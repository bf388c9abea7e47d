package restapi

import (
	"net/http"
	"strings"
	"testing"

	iam "github.com/yandex-cloud/go-genproto/yandex/cloud/iam/v1"
	"google.golang.org/grpc/codes"
	"google.golang.org/protobuf/encoding/protojson"
	"google.golang.org/protobuf/proto"

	"warden"
	"warden/api/accesspb"
	"warden/api/grpcapi"
	"warden/api/jsonbody"
	"warden/api/validate"
)

// fuzzRoutes are routes whose bodies come from untrusted callers: the
// access service's (reached without a credential) and a create request with
// maps, lists and validation rules.
var fuzzRoutes = []*route{
	{input: (&accesspb.AuthenticateRequest{}).ProtoReflect().Type(), body: "*"},
	{input: (&iam.CreateServiceAccountRequest{}).ProtoReflect().Type(), body: "*"},
	{input: (&iam.UpdateServiceAccountRequest{}).ProtoReflect().Type(), body: "*"},
}

func decodeBody(rt *route, body string) (proto.Message, error) {
	r, _ := http.NewRequest("POST", "/x", strings.NewReader(body))
	msg := rt.input.New()
	if err := (&Handler{}).decode(r, rt, nil, msg); err != nil {
		return nil, err
	}
	return msg.Interface(), nil
}

func TestDecodeLimits(t *testing.T) {
	rt := fuzzRoutes[0]
	tests := []struct {
		name, body string
		code       codes.Code
		http       int
	}{
		{"allowed depth", `{"request": {"headers": {"a": [` + strings.Repeat("[", jsonbody.MaxDepth-4) + strings.Repeat("]", jsonbody.MaxDepth-4) + `]}}}`, codes.OK, 200},
		{"9,000 deep", `{"request": {"headers": {"a": [` + strings.Repeat("[", 9000) + strings.Repeat("]", 9000) + `]}}}`, codes.InvalidArgument, 400},
		{"over the size limit", `{"request": {"path": "` + strings.Repeat("a", maxBody) + `"}}`, codes.ResourceExhausted, 413},
		{"unknown field", `{"request": {"pth": "/"}}`, codes.InvalidArgument, 400},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			_, err := decodeBody(rt, tt.body)
			st := grpcapi.Status(err, "")
			if st.Code() != tt.code {
				t.Fatalf("decode = %v, want %v", err, tt.code)
			}
			if err == nil {
				return
			}
			if got := statusOf(err); got != tt.http {
				t.Errorf("HTTP status of %v = %d, want %d", err, got, tt.http)
			}
		})
	}
}

func statusOf(err error) int {
	w := &recorder{header: http.Header{}}
	WriteError(w, err, "id")
	return w.status
}

type recorder struct {
	header http.Header
	status int
}

func (r *recorder) Header() http.Header         { return r.header }
func (r *recorder) Write(b []byte) (int, error) { return len(b), nil }
func (r *recorder) WriteHeader(s int)           { r.status = s }

// FuzzDecode: decoding an untrusted body never panics and fails only as
// InvalidArgument or TooLarge; what it accepts is within the depth limit,
// survives the validator, and round-trips through protojson to the same
// message, which validates the same way.
func FuzzDecode(f *testing.F) {
	f.Add(uint8(0), `{"request": {"method": "GET", "path": "/v1/x", "headers": {"Authorization": ["Bearer t1.abc"]}, "clientAddress": "10.0.0.1:5000", "service": "postbox"}}`)
	f.Add(uint8(0), `{"request": {"headers": {"a": [[[["x", 1, true, null, {"k": [2.5e3]}]]]]}}}`)
	f.Add(uint8(0), `{"request": {"headers": {"a": [`+strings.Repeat("[", 70)+strings.Repeat("]", 70)+`]}}}`)
	f.Add(uint8(0), `{"request": {"headers": {"\u0041": ["\ud83d\ude00", "\"[{"]}}}`)
	f.Add(uint8(0), `{"request": {"headers": null}} `)
	f.Add(uint8(1), `{"folderId": "b1gfolder", "name": "robot", "labels": {"env": "prod", "Team": "x"}}`)
	f.Add(uint8(1), `{"folder_id": "b1gfolder", "name": "robot", "expiresAt": "2030-01-01T00:00:00Z"}`)
	f.Add(uint8(1), `{"folderId": 5, "name": ["robot"]}`)
	f.Add(uint8(2), `{"serviceAccountId": "aje1", "updateMask": "name,labels", "name": "Bad"}`)
	f.Add(uint8(2), `{"updateMask": {"paths": ["name"]}}`)
	f.Fuzz(func(t *testing.T, which uint8, body string) {
		rt := fuzzRoutes[int(which)%len(fuzzRoutes)]
		msg, err := decodeBody(rt, body)
		if err != nil {
			if c := warden.ErrorCode(err); c != warden.TooLarge && grpcapi.Status(err, "").Code() != codes.InvalidArgument {
				t.Fatalf("decode(%q) = %v, want InvalidArgument or TooLarge", body, err)
			}
			return
		}
		if jsonbody.CheckDepth([]byte(body), jsonbody.MaxDepth) != nil {
			t.Fatalf("decode accepted %q, deeper than the limit", body)
		}
		verr := validate.Message(msg)
		out, err := protojson.Marshal(msg)
		if err != nil {
			return // e.g. an invalid UTF-8 map key that protojson lets in but not out
		}
		again, err := decodeBody(rt, string(out))
		if err != nil {
			t.Fatalf("decode of its own marshalled form %s: %v", out, err)
		}
		if !proto.Equal(msg, again) {
			t.Fatalf("round trip changed the message:\n in  %s\n out %s", body, out)
		}
		if verr2 := validate.Message(again); (verr == nil) != (verr2 == nil) {
			t.Fatalf("validation differs after a round trip: %v vs %v", verr, verr2)
		}
	})
}

// TestExactRoutesFoundAsBefore: every route without variables is found by
// its own path through the lookup, and the scan finds the same route.
func TestExactRoutesFoundAsBefore(t *testing.T) {
	routes := map[string][]*route{}
	for _, tpl := range []string{"/access/v1:authorize", "/access/v1:authenticate", "/iam/v1/serviceAccounts", "/iam/v1/serviceAccounts/{service_account_id}", "/iam/v1/serviceAccounts/{service_account_id}:setAccessBindings", "/x/{rest=**}"} {
		rt, err := parseTemplate(tpl)
		if err != nil {
			t.Fatal(err)
		}
		rt.template = tpl
		routes["POST"] = append(routes["POST"], rt)
	}
	h := &Handler{routes: routes}
	scan := func(path string) *route {
		r, _ := http.NewRequest("POST", path, nil)
		found, _, _ := h.find(r)
		return found
	}
	before := map[string]*route{}
	paths := []string{"/access/v1:authorize", "/access/v1:authenticate", "/iam/v1/serviceAccounts", "/iam/v1/serviceAccounts/aje1", "/iam/v1/serviceAccounts/aje1:setAccessBindings", "/x/a/b", "/nothing"}
	for _, p := range paths {
		before[p] = scan(p)
	}
	h.indexExact()
	for _, p := range paths {
		if got := scan(p); got != before[p] {
			t.Errorf("%s: the lookup finds %v, the scan %v", p, got, before[p])
		}
	}
	if len(h.exact) != 3 {
		t.Errorf("%d exact routes, want 3", len(h.exact))
	}
}
