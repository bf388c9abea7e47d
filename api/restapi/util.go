package restapi

import (
	"google.golang.org/protobuf/reflect/protoreflect"
	"google.golang.org/protobuf/reflect/protoregistry"
	"google.golang.org/protobuf/types/dynamicpb"
)

func dynamicNew(fd protoreflect.FieldDescriptor) protoreflect.Message {
	if mt, err := protoregistry.GlobalTypes.FindMessageByName(fd.Message().FullName()); err == nil {
		return mt.New()
	}
	return dynamicpb.NewMessage(fd.Message())
}
