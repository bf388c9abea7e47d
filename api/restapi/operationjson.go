package restapi

import (
	iam "github.com/yandex-cloud/go-genproto/yandex/cloud/iam/v1"
	"github.com/yandex-cloud/go-genproto/yandex/cloud/operation"
	"google.golang.org/protobuf/proto"
	"google.golang.org/protobuf/types/known/anypb"
)

// Every create answers an Operation whose metadata and response are Anys,
// which protojson writes by looking their types up, decoding them and
// walking them by reflection: a sixth of a service-account create's CPU.
// EncodeOperation writes the operations of the methods below as protojson
// does (the Any's fields after its "@type"), and leaves any other type in
// an Any, and an operation that failed, to protojson.

// ServiceAccountCreateMethod and ServiceAccountUpdateMethod answer the
// operations EncodeOperation writes.
const (
	ServiceAccountCreateMethod = "/yandex.cloud.iam.v1.ServiceAccountService/Create"
	ServiceAccountUpdateMethod = "/yandex.cloud.iam.v1.ServiceAccountService/Update"
)

// anyFields writes the fields of the message an Any of one type holds,
// false when it cannot.
type anyFields func(w *jsonWriter, value []byte) bool

// anyEncoders are the types EncodeOperation writes, by type URL.
var anyEncoders = map[string]anyFields{
	typeURL(&iam.CreateServiceAccountMetadata{}): func(w *jsonWriter, value []byte) bool {
		var m iam.CreateServiceAccountMetadata
		if proto.Unmarshal(value, &m) != nil {
			return false
		}
		w.str("serviceAccountId", m.ServiceAccountId)
		return true
	},
	typeURL(&iam.UpdateServiceAccountMetadata{}): func(w *jsonWriter, value []byte) bool {
		var m iam.UpdateServiceAccountMetadata
		if proto.Unmarshal(value, &m) != nil {
			return false
		}
		w.str("serviceAccountId", m.ServiceAccountId)
		return true
	},
	typeURL(&iam.ServiceAccount{}): func(w *jsonWriter, value []byte) bool {
		var m iam.ServiceAccount
		if proto.Unmarshal(value, &m) != nil {
			return false
		}
		w.serviceAccountFields(&m)
		return true
	},
}

// typeURL is the type URL anypb.New gives a message.
func typeURL(m proto.Message) string {
	return "type.googleapis.com/" + string(m.ProtoReflect().Descriptor().FullName())
}

// EncodeOperation appends the JSON of an *operation.Operation to dst as
// protojson writes it; false leaves it to protojson.
func EncodeOperation(dst []byte, msg proto.Message) ([]byte, bool) {
	op, ok := msg.(*operation.Operation)
	if !ok {
		return dst, false
	}
	w := jsonWriter{b: append(dst, '{'), ok: true}
	w.str("id", op.Id)
	w.str("description", op.Description)
	w.timestamp("createdAt", op.CreatedAt)
	w.str("createdBy", op.CreatedBy)
	w.timestamp("modifiedAt", op.ModifiedAt)
	if op.Done {
		w.key("done")
		w.b = append(w.b, "true"...)
	}
	w.any("metadata", op.Metadata)
	switch r := op.Result.(type) {
	case nil:
	case *operation.Operation_Response:
		if r.Response == nil {
			return dst, false // a oneof set to nothing: protojson's to judge
		}
		w.any("response", r.Response)
	default:
		return dst, false // an error: rare, and a google.rpc.Status with Anys of its own
	}
	w.b = append(w.b, '}')
	return w.b, w.ok
}

// any writes an Any field unless it is nil: an object of "@type" and the
// fields of the message it holds.
func (w *jsonWriter) any(k string, a *anypb.Any) {
	if a == nil {
		return
	}
	fields, known := anyEncoders[a.TypeUrl]
	if !known {
		w.ok = false
		return
	}
	w.key(k)
	w.b = append(w.b, '{')
	w.key("@type")
	w.quote(a.TypeUrl)
	if !fields(w, a.Value) {
		w.ok = false
		return
	}
	w.b = append(w.b, '}')
}
