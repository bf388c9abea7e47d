package e2e

import (
	"strconv"
	"strings"
	"testing"
	"time"

	yc "github.com/yandex-cloud/go-genproto/yandex/cloud"
	iampb "github.com/yandex-cloud/go-genproto/yandex/cloud/iam/v1"
	ompb "github.com/yandex-cloud/go-genproto/yandex/cloud/organizationmanager/v1"
	idp "github.com/yandex-cloud/go-genproto/yandex/cloud/organizationmanager/v1/idp"
	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/status"
	"google.golang.org/protobuf/proto"
	"google.golang.org/protobuf/reflect/protoreflect"
	"google.golang.org/protobuf/reflect/protoregistry"
	"google.golang.org/protobuf/types/descriptorpb"
	"google.golang.org/protobuf/types/known/fieldmaskpb"
	"google.golang.org/protobuf/types/known/timestamppb"
)

// TestPeopleValidationEveryRule reads the validation rules from the protos
// of every user and userpool method Warden implements, breaks each rule of
// an otherwise valid request in turn, and expects InvalidArgument naming
// the field: no rule of these protos can be left unchecked unnoticed.
func TestPeopleValidationEveryRule(t *testing.T) {
	n := start(t, t.TempDir(), "")
	p := newPeople(t, n)
	conn := sdkConn(t, n.addr)
	admin := n.m.Bootstrap().AdminID
	const (
		idpUsers = "/yandex.cloud.organizationmanager.v1.idp.UserService/"
		idpPools = "/yandex.cloud.organizationmanager.v1.idp.UserpoolService/"
	)
	spec := func() *idp.PasswordSpec { return &idp.PasswordSpec{Password: "amber-walrus-42"} }
	bases := map[string]proto.Message{
		idpUsers + "Get":  &idp.GetUserRequest{UserId: admin},
		idpUsers + "List": &idp.ListUsersRequest{UserpoolId: p.pool},
		idpUsers + "Create": &idp.CreateUserRequest{UserpoolId: p.pool, Username: "valid@default", FullName: "Valid",
			Credentials: &idp.CreateUserRequest_PasswordSpec{PasswordSpec: spec()}},
		idpUsers + "Update":            &idp.UpdateUserRequest{UserId: admin, UpdateMask: &fieldmaskpb.FieldMask{Paths: []string{"full_name"}}, FullName: "Admin"},
		idpUsers + "Delete":            &idp.DeleteUserRequest{UserId: "ajunosuchuser0000000"},
		idpUsers + "Suspend":           &idp.SuspendUserRequest{UserId: "ajunosuchuser0000000"},
		idpUsers + "Reactivate":        &idp.ReactivateUserRequest{UserId: "ajunosuchuser0000000"},
		idpUsers + "SetOwnPassword":    &idp.SetOwnPasswordRequest{PasswordSpec: spec()},
		idpUsers + "SetOthersPassword": &idp.SetOthersPasswordRequest{UserId: "ajunosuchuser0000000", PasswordSpec: spec()},
		idpPools + "Get":               &idp.GetUserpoolRequest{UserpoolId: p.pool},
		idpPools + "List":              &idp.ListUserpoolsRequest{OrganizationId: p.org},
		idpPools + "Create":            &idp.CreateUserpoolRequest{OrganizationId: p.org, Name: "team", DefaultSubdomain: "team"},
		idpPools + "Update":            &idp.UpdateUserpoolRequest{UserpoolId: p.pool},
		idpPools + "Delete":            &idp.DeleteUserpoolRequest{UserpoolId: "ysunosuchpool0000000"},
		idpPools + "ListOperations":    &idp.ListUserpoolOperationsRequest{UserpoolId: p.pool},
		"/yandex.cloud.organizationmanager.v1.UserService/ListMembers":      &ompb.ListMembersRequest{OrganizationId: p.org},
		"/yandex.cloud.organizationmanager.v1.UserService/DeleteMembership": &ompb.DeleteMembershipRequest{OrganizationId: p.org, SubjectId: "ajunosuchuser0000000"},
		"/yandex.cloud.iam.v1.YandexPassportUserAccountService/GetByLogin":  &iampb.GetUserAccountByLoginRequest{Login: "admin"},
	}
	checked := 0
	for method, base := range bases {
		out := outputOf(t, method)
		for _, v := range violations(base.ProtoReflect().Descriptor(), "") {
			t.Run(strings.TrimPrefix(method, "/yandex.cloud.")+"/"+v.name, func(t *testing.T) {
				req := proto.Clone(base)
				v.apply(req.ProtoReflect())
				err := conn.Invoke(p.admin, method, req, out.New().Interface())
				if status.Code(err) != codes.InvalidArgument || !strings.HasPrefix(status.Convert(err).Message(), v.field) {
					t.Fatalf("%v: got %v, want InvalidArgument naming %s", req, err, v.field)
				}
			})
			checked++
		}
	}
	if checked < 60 {
		t.Fatalf("only %d rules broken: the rules were not read", checked)
	}
}

func outputOf(t *testing.T, method string) protoreflect.MessageType {
	svc, name, _ := strings.Cut(strings.TrimPrefix(method, "/"), "/")
	d, err := protoregistry.GlobalFiles.FindDescriptorByName(protoreflect.FullName(svc))
	if err != nil {
		t.Fatal(err)
	}
	md := d.(protoreflect.ServiceDescriptor).Methods().ByName(protoreflect.Name(name))
	mt, err := protoregistry.GlobalTypes.FindMessageByName(md.Output().FullName())
	if err != nil {
		t.Fatal(err)
	}
	return mt
}

// violation breaks one rule of one field of a request.
type violation struct {
	name, field string
	apply       func(protoreflect.Message)
}

// violations are one violation per rule declared on the fields of md (and
// of the password_spec it holds), at the path prefix.
func violations(md protoreflect.MessageDescriptor, prefix string) []violation {
	var out []violation
	fields := md.Fields()
	for i := 0; i < fields.Len(); i++ {
		fd := fields.Get(i)
		path := prefix + string(fd.Name())
		at := func(m protoreflect.Message) protoreflect.Message {
			if prefix == "" {
				return m
			}
			// The one nested message whose rules are broken: password_spec.
			outer := m.Descriptor().Fields().ByName(protoreflect.Name(strings.TrimSuffix(prefix, ".")))
			return m.Mutable(outer).Message()
		}
		opts, _ := fd.Options().(*descriptorpb.FieldOptions)
		if opts == nil {
			continue
		}
		required := proto.GetExtension(opts, yc.E_Required).(bool)
		length := proto.GetExtension(opts, yc.E_Length).(string)
		pattern := proto.GetExtension(opts, yc.E_Pattern).(string)
		value := proto.GetExtension(opts, yc.E_Value).(string)
		mapKey, _ := proto.GetExtension(opts, yc.E_MapKey).(*yc.MapKeySpec)
		switch {
		case fd.IsMap():
			if mapKey != nil {
				out = append(out, violation{"map key", path, func(m protoreflect.Message) {
					mp := at(m).Mutable(fd).Map()
					mp.Set(protoreflect.ValueOfString("Bad").MapKey(), protoreflect.ValueOfString("x"))
				}})
			}
			if length != "" {
				out = append(out, violation{"map value length", path, func(m protoreflect.Message) {
					mp := at(m).Mutable(fd).Map()
					mp.Set(protoreflect.ValueOfString("k").MapKey(), protoreflect.ValueOfString(strings.Repeat("a", maxOf(length)+1)))
				}})
			}
		case fd.Kind() == protoreflect.StringKind:
			if required {
				out = append(out, violation{path + " missing", path, func(m protoreflect.Message) { at(m).Clear(fd) }})
			}
			if length != "" {
				out = append(out, violation{path + " too long", path, func(m protoreflect.Message) {
					at(m).Set(fd, protoreflect.ValueOfString(strings.Repeat("a", maxOf(length)+1)))
				}})
			}
			if pattern != "" {
				out = append(out, violation{path + " pattern", path, func(m protoreflect.Message) { at(m).Set(fd, protoreflect.ValueOfString("!!")) }})
			}
		case fd.Kind() == protoreflect.Int64Kind && value != "":
			out = append(out, violation{path + " out of range", path, func(m protoreflect.Message) {
				at(m).Set(fd, protoreflect.ValueOfInt64(int64(maxOf(value)+1)))
			}})
		case fd.Kind() == protoreflect.MessageKind && fd.Message().FullName() == "google.protobuf.Timestamp" && value != "":
			out = append(out, violation{path + " out of range", path, func(m protoreflect.Message) {
				at(m).Set(fd, protoreflect.ValueOfMessage(timestamppb.New(time.Date(2200, 1, 1, 0, 0, 0, 0, time.UTC)).ProtoReflect()))
			}})
		case fd.Kind() == protoreflect.MessageKind && fd.Message().FullName() == "yandex.cloud.organizationmanager.v1.idp.PasswordSpec":
			if required {
				out = append(out, violation{path + " missing", path, func(m protoreflect.Message) { at(m).Clear(fd) }})
			}
			if prefix == "" {
				out = append(out, violations(fd.Message(), path+".")...)
			}
		}
	}
	return out
}

// maxOf is the upper bound of a rule such as "<=50", "0-1000" or "1-63".
func maxOf(rule string) int {
	rule = strings.TrimPrefix(rule, "<=")
	if _, hi, ok := strings.Cut(rule, "-"); ok {
		rule = hi
	}
	n, err := strconv.Atoi(strings.TrimSpace(rule))
	if err != nil {
		panic("e2e: rule " + rule)
	}
	return n
}
