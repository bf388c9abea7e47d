package restapi

import (
	"math/rand/v2"
	"testing"

	iam "github.com/yandex-cloud/go-genproto/yandex/cloud/iam/v1"
	"github.com/yandex-cloud/go-genproto/yandex/cloud/operation"
	"google.golang.org/genproto/googleapis/rpc/status"
	"google.golang.org/protobuf/encoding/protojson"
	"google.golang.org/protobuf/proto"
	"google.golang.org/protobuf/types/known/anypb"
	"google.golang.org/protobuf/types/known/emptypb"
	"google.golang.org/protobuf/types/known/timestamppb"
)

// TestEncodeOperationParity: the hand encoder's operations (a service
// account's create and update, with accounts of every shape) mean exactly
// what protojson's do, and it leaves to protojson the operations it does
// not know: other types in an Any, an error, an Any that does not decode.
func TestEncodeOperationParity(t *testing.T) {
	r := rand.New(rand.NewPCG(3, 4))
	str := func() string { return serviceAccountStrings[r.IntN(len(serviceAccountStrings))] }
	mustAny := func(m proto.Message) *anypb.Any {
		a, err := anypb.New(m)
		if err != nil {
			t.Fatal(err)
		}
		return a
	}
	stamp := func() *timestamppb.Timestamp {
		if r.IntN(4) == 0 {
			return nil
		}
		return &timestamppb.Timestamp{Seconds: 1700000000 + r.Int64N(1e8), Nanos: []int32{0, 1000, 123456789}[r.IntN(3)]}
	}
	var ops []*operation.Operation
	ops = append(ops, &operation.Operation{}, &operation.Operation{Done: true, Result: &operation.Operation_Response{Response: mustAny(&iam.ServiceAccount{})}})
	for range 300 {
		sa := &iam.ServiceAccount{Id: str(), FolderId: str(), CreatedAt: stamp(), Name: str(), Description: str(),
			Status: iam.ServiceAccount_Status(r.IntN(4)), ExpiresAt: stamp()}
		if r.IntN(2) == 0 {
			sa.Labels = map[string]string{str(): str(), "k": str()}
		}
		var meta proto.Message = &iam.CreateServiceAccountMetadata{ServiceAccountId: str()}
		if r.IntN(2) == 0 {
			meta = &iam.UpdateServiceAccountMetadata{ServiceAccountId: str()}
		}
		op := &operation.Operation{Id: str(), Description: str(), CreatedAt: stamp(), CreatedBy: str(), ModifiedAt: stamp(),
			Done: r.IntN(4) > 0, Metadata: mustAny(meta), Result: &operation.Operation_Response{Response: mustAny(sa)}}
		if r.IntN(8) == 0 {
			op.Metadata = nil
		}
		if r.IntN(8) == 0 {
			op.Result = nil
		}
		ops = append(ops, op)
	}
	fast := 0
	for _, op := range ops {
		if checkEncodeParity(t, EncodeOperation, op) {
			fast++
		}
	}
	if fast < len(ops)/2 {
		t.Errorf("the hand encoder wrote %d of %d operations, want most", fast, len(ops))
	}

	for _, tt := range []struct {
		name string
		op   *operation.Operation
	}{
		{"another metadata type", &operation.Operation{Metadata: mustAny(&iam.DeleteServiceAccountMetadata{ServiceAccountId: "a"})}},
		{"another response type", &operation.Operation{Result: &operation.Operation_Response{Response: mustAny(&emptypb.Empty{})}}},
		{"an error", &operation.Operation{Done: true, Result: &operation.Operation_Error{Error: &status.Status{Code: 5, Message: "gone"}}}},
		{"an Any that does not decode", &operation.Operation{Metadata: &anypb.Any{TypeUrl: typeURL(&iam.CreateServiceAccountMetadata{}), Value: []byte{0xff}}}},
		{"not UTF-8 in the response", &operation.Operation{Result: &operation.Operation_Response{Response: &anypb.Any{
			TypeUrl: typeURL(&iam.ServiceAccount{}), Value: []byte{0x22, 2, 'a', 0xff}}}}}, // name (field 4) = "a\xff"
		{"a response set to nothing", &operation.Operation{Result: &operation.Operation_Response{}}},
	} {
		if b, ok := EncodeOperation(nil, tt.op); ok {
			want, err := protojson.Marshal(tt.op)
			t.Errorf("%s: encoded as %s, want it left to protojson (which writes %s, %v)", tt.name, b, want, err)
		}
	}
	if _, ok := EncodeOperation(nil, &iam.ServiceAccount{}); ok {
		t.Error("EncodeOperation encoded another message type")
	}
}

func BenchmarkEncodeOperation(b *testing.B) {
	meta, _ := anypb.New(&iam.CreateServiceAccountMetadata{ServiceAccountId: "ajeabcdefghijklmnopq"})
	resp, _ := anypb.New(&iam.ServiceAccount{Id: "ajeabcdefghijklmnopq", FolderId: "b1g00000000000000000", CreatedAt: timestamppb.Now(),
		Name: "robot", Status: iam.ServiceAccount_ACTIVE})
	op := &operation.Operation{Id: "ajeopabcdefghijklmno", Description: "Create service account", CreatedAt: timestamppb.Now(),
		CreatedBy: "ajeuserabcdefghijklm", ModifiedAt: timestamppb.Now(), Done: true, Metadata: meta, Result: &operation.Operation_Response{Response: resp}}
	b.Run("hand", func(b *testing.B) {
		b.ReportAllocs()
		buf := make([]byte, 0, 4096)
		for b.Loop() {
			buf, _ = EncodeOperation(buf[:0], op)
		}
	})
	b.Run("protojson", func(b *testing.B) {
		b.ReportAllocs()
		for b.Loop() {
			protojson.Marshal(op)
		}
	})
}
