package service

import (
	"context"

	"github.com/yandex-cloud/go-genproto/yandex/cloud/endpoint"

	"warden"
)

// Endpoints implements endpoint ApiEndpointService: every API that the
// Yandex SDKs discover is served at Warden's own address.
type Endpoints struct {
	endpoint.UnimplementedApiEndpointServiceServer
	s *Service
}

// Endpoints returns the ApiEndpointService server.
func (s *Service) Endpoints() *Endpoints { return &Endpoints{s: s} }

// endpointIDs are the API endpoint ids the Yandex SDKs ask for.
var endpointIDs = []string{"endpoint", "iam", "operation", "organization-manager", "resource-manager", "resourcemanager"}

// Get implements ApiEndpointService.Get.
func (e *Endpoints) Get(ctx context.Context, req *endpoint.GetApiEndpointRequest) (*endpoint.ApiEndpoint, error) {
	for _, id := range endpointIDs {
		if id == req.ApiEndpointId {
			return &endpoint.ApiEndpoint{Id: id, Address: e.s.address}, nil
		}
	}
	return nil, warden.Errorf(warden.NotFound, "api endpoint %s not found", req.ApiEndpointId)
}

// List implements ApiEndpointService.List.
func (e *Endpoints) List(ctx context.Context, req *endpoint.ListApiEndpointsRequest) (*endpoint.ListApiEndpointsResponse, error) {
	out := &endpoint.ListApiEndpointsResponse{}
	for _, id := range endpointIDs {
		out.Endpoints = append(out.Endpoints, &endpoint.ApiEndpoint{Id: id, Address: e.s.address})
	}
	return out, nil
}
