package validate

import (
	"errors"
	"strconv"
	"strings"
	"testing"

	"github.com/yandex-cloud/go-genproto/yandex/cloud/access"
	iam "github.com/yandex-cloud/go-genproto/yandex/cloud/iam/v1"
	"google.golang.org/protobuf/proto"
	"google.golang.org/protobuf/types/known/structpb"

	"warden/api/accesspb"
)

func TestMessage(t *testing.T) {
	sa := func(f func(*iam.CreateServiceAccountRequest)) *iam.CreateServiceAccountRequest {
		r := &iam.CreateServiceAccountRequest{FolderId: "b1gfolder", Name: "robot"}
		f(r)
		return r
	}
	tests := []struct {
		name string
		msg  proto.Message
		want string // "" for valid
	}{
		{"valid", sa(func(*iam.CreateServiceAccountRequest) {}), ""},
		{"required top-level field", sa(func(r *iam.CreateServiceAccountRequest) { r.FolderId = "" }), "folder_id: is required"},
		{"pattern", sa(func(r *iam.CreateServiceAccountRequest) { r.Name = "Robot" }), "name: must match the pattern [a-z]([-a-z0-9]{0,61}[a-z0-9])?"},
		{"map key", sa(func(r *iam.CreateServiceAccountRequest) { r.Labels = map[string]string{"Env": "x"} }), `labels key "Env": must match the pattern [a-z][-_0-9a-z]*`},
		{"map value", sa(func(r *iam.CreateServiceAccountRequest) { r.Labels = map[string]string{"env": "a b"} }), "labels.env: must match the pattern [-_0-9a-z]*"},
		{"list element field", &access.SetAccessBindingsRequest{ResourceId: "r", AccessBindings: []*access.AccessBinding{
			{RoleId: "viewer", Subject: &access.Subject{Id: "u", Type: "userAccount"}},
			{Subject: &access.Subject{Id: "u", Type: "userAccount"}},
		}}, "access_bindings[1].role_id: is required"},
		{"nested field", &access.SetAccessBindingsRequest{ResourceId: "r", AccessBindings: []*access.AccessBinding{
			{RoleId: "viewer", Subject: &access.Subject{Id: strings.Repeat("x", 101), Type: "userAccount"}},
		}}, "access_bindings[0].subject.id: length must be at most 100 characters"},
		{"exactly one", &iam.CreateIamTokenRequest{}, "identity: exactly one of its fields must be set"},
		{"an empty list below its size", &access.UpdateAccessBindingsRequest{ResourceId: "r"}, "access_binding_deltas: must have from 1 to 1000 elements"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			err := Message(tt.msg)
			got := ""
			if err != nil {
				got = err.Error()
			}
			if got != tt.want {
				t.Errorf("Message = %q, want %q", got, tt.want)
			}
		})
	}
}

// nested returns an access request whose one header value nests lists
// levels deep: the shape of the 9,000-deep attack body.
func nested(levels int) *accesspb.AuthenticateRequest {
	v := structpb.NewStringValue("Bearer x")
	for range levels {
		v = structpb.NewListValue(&structpb.ListValue{Values: []*structpb.Value{v}})
	}
	return &accesspb.AuthenticateRequest{Request: &accesspb.Request{
		Headers: map[string]*structpb.ListValue{"Authorization": {Values: []*structpb.Value{v}}},
	}}
}

// Each JSON list level is two messages (Value, ListValue) below the
// header's ListValue, Request and AuthenticateRequest.
const fixedLevels = 3

func TestMessageDepth(t *testing.T) {
	deepest := (MaxDepth - fixedLevels) / 2
	if err := Message(nested(deepest)); err != nil {
		t.Errorf("Message(%d levels) = %v, want nil", deepest, err)
	}
	if deepest < 64 {
		t.Errorf("MaxDepth %d admits %d JSON levels, fewer than the JSON body limit 64", MaxDepth, deepest)
	}
	err := Message(nested(9000))
	if err == nil || !strings.Contains(err.Error(), "nests messages deeper than") {
		t.Fatalf("Message(9000 levels) = %v, want a depth violation", err)
	}
	if len(err.Error()) > 200 {
		t.Errorf("depth violation is %d bytes long, want a short message: %.300s", len(err.Error()), err)
	}
	if !strings.HasPrefix(err.Error(), "request.headers.Authorization.values[0].") {
		t.Errorf("depth violation %q does not start with the path of the deep field", err)
	}
}

// BenchmarkMessageDeep validates the deepest request a JSON body may carry
// (64 levels of lists in a header). Before paths were built lazily each
// level copied the whole path above it.
func BenchmarkMessageDeep(b *testing.B) {
	for _, levels := range []int{8, 64} {
		m := nested(levels)
		b.Run("levels="+strconv.Itoa(levels), func(b *testing.B) {
			b.ReportAllocs()
			for b.Loop() {
				if err := Message(m); err != nil {
					b.Fatal(err)
				}
			}
		})
	}
}

func BenchmarkMessage(b *testing.B) {
	m := &iam.CreateServiceAccountRequest{FolderId: "b1gfolder", Name: "robot", Labels: map[string]string{"env": "prod", "team": "iam"}}
	b.ReportAllocs()
	for b.Loop() {
		if err := Message(m); err != nil {
			b.Fatal(err)
		}
	}
}

// FuzzMessage validates requests as gRPC delivers them (any wire bytes
// the protobuf decoder accepts, nested up to its own limit of 10,000): it
// never panics, every violation names a field and a reason, and a message
// validates the same way after a marshal round trip.
func FuzzMessage(f *testing.F) {
	for _, m := range []proto.Message{
		nested(2), nested((MaxDepth - fixedLevels) / 2), nested((MaxDepth-fixedLevels)/2 + 1),
		&iam.CreateServiceAccountRequest{FolderId: "b1g", Name: "robot", Labels: map[string]string{"Env": "x"}},
		&access.SetAccessBindingsRequest{ResourceId: "r", AccessBindings: []*access.AccessBinding{{RoleId: "viewer"}}},
	} {
		b, err := proto.Marshal(m)
		if err != nil {
			f.Fatal(err)
		}
		f.Add(b)
	}
	types := []func() proto.Message{
		func() proto.Message { return &accesspb.AuthenticateRequest{} },
		func() proto.Message { return &iam.CreateServiceAccountRequest{} },
		func() proto.Message { return &access.SetAccessBindingsRequest{} },
	}
	f.Fuzz(func(t *testing.T, b []byte) {
		for _, newMsg := range types {
			m := newMsg()
			if proto.Unmarshal(b, m) != nil {
				continue
			}
			err := Message(m)
			var ve *Error
			if err != nil && (!errors.As(err, &ve) || ve.Field == "" || ve.Reason == "") {
				t.Fatalf("Message = %#v, want a violation naming a field and a reason", err)
			}
			out, merr := proto.Marshal(m)
			if merr != nil {
				t.Fatalf("Marshal of a decoded message: %v", merr)
			}
			again := newMsg()
			if uerr := proto.Unmarshal(out, again); uerr != nil {
				t.Fatalf("Unmarshal of its own marshalled form: %v", uerr)
			}
			if err2 := Message(again); (err == nil) != (err2 == nil) {
				t.Fatalf("validation differs after a round trip: %v vs %v", err, err2)
			}
		}
	})
}

// TestMessagesWithoutRulesAreSkipped: a type with no rule at any depth and
// no cycle is not walked at all (one cache lookup, no allocation); types
// with rules, or that can nest without bound, are.
func TestMessagesWithoutRulesAreSkipped(t *testing.T) {
	for _, tt := range []struct {
		m    proto.Message
		want bool
	}{
		{&accesspb.Resource{}, false},
		{&accesspb.Check{}, false},
		{&accesspb.AuthorizeRequest{}, true}, // headers hold google.protobuf.Value, which nests
		{&iam.CreateServiceAccountRequest{}, true},
	} {
		if got := needsWalk(tt.m.ProtoReflect().Descriptor()); got != tt.want {
			t.Errorf("needsWalk(%T) = %v, want %v", tt.m, got, tt.want)
		}
	}
	m := &accesspb.Check{Permission: "p", Resource: &accesspb.Resource{Type: "t", Id: "i"}}
	if allocs := testing.AllocsPerRun(100, func() { Message(m) }); allocs != 0 {
		t.Errorf("Message of a type without rules allocates %v times, want 0", allocs)
	}
	// A violation deep in a walked message still names its path.
	err := Message(&iam.CreateServiceAccountRequest{FolderId: "b1g", Name: "Bad Name"})
	if err == nil || !strings.HasPrefix(err.Error(), "name: ") {
		t.Errorf("Message(bad name) = %v, want a violation of name", err)
	}
}

// TestRulesSkipsDepthOnlyWalks: for messages whose nesting is bounded
// already, a type that would be walked only for the depth bound is not
// walked; rules are still checked.
func TestRulesSkipsDepthOnlyWalks(t *testing.T) {
	if needsRules((&accesspb.AuthorizeRequest{}).ProtoReflect().Descriptor()) {
		t.Error("AuthorizeRequest has no rule, yet Rules would walk it")
	}
	if err := Rules(nested(20)); err != nil {
		t.Errorf("Rules(nested) = %v", err)
	}
	if err := Rules(&iam.CreateServiceAccountRequest{FolderId: "b1g", Name: "Bad Name"}); err == nil || !strings.HasPrefix(err.Error(), "name: ") {
		t.Errorf("Rules(bad name) = %v, want a violation of name", err)
	}
	if err := Message(nested(9000)); err == nil {
		t.Error("Message no longer bounds the depth")
	}
}
