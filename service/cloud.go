package service

import (
	"context"
	"github.com/yandex-cloud/go-genproto/yandex/cloud/access"

	rm "github.com/yandex-cloud/go-genproto/yandex/cloud/resourcemanager/v1"
	"google.golang.org/protobuf/proto"

	"warden"
)

// Clouds implements resourcemanager CloudService.
type Clouds struct {
	rm.UnimplementedCloudServiceServer
	s *Service
}

// Clouds returns the CloudService server.
func (s *Service) Clouds() *Clouds { return &Clouds{s: s} }

func cloudProto(r *warden.Resource) *rm.Cloud {
	return &rm.Cloud{Id: r.ID, CreatedAt: ts(r.CreatedAt), Name: r.Name, Description: r.Description, OrganizationId: r.ParentID, Labels: r.Labels}
}

// Get implements CloudService.Get.
func (c *Clouds) Get(ctx context.Context, req *rm.GetCloudRequest) (*rm.Cloud, error) {
	r, err := c.s.get(ctx, req.CloudId, warden.TypeCloud)
	if err != nil {
		return nil, err
	}
	return cloudProto(r), nil
}

// List implements CloudService.List.
func (c *Clouds) List(ctx context.Context, req *rm.ListCloudsRequest) (*rm.ListCloudsResponse, error) {
	// Filtered before paging: a page token made from a cloud the caller
	// cannot see would tell its id.
	visible := func(r *warden.Resource) bool { return c.s.allowed(ctx, "resource-manager.clouds.get", r.ID) }
	rs, next, err := c.s.listKept(ctx, warden.TypeCloud, req.OrganizationId, warden.TypeOrganization, req.Filter, req, visible)
	if err != nil {
		return nil, err
	}
	out := &rm.ListCloudsResponse{NextPageToken: next}
	for _, r := range rs {
		out.Clouds = append(out.Clouds, cloudProto(r))
	}
	return out, nil
}

// Create implements CloudService.Create.
func (c *Clouds) Create(ctx context.Context, req *rm.CreateCloudRequest) (*operationT, error) {
	r := &warden.Resource{ID: warden.NewID(warden.PrefixCloud), Type: warden.TypeCloud, ParentID: req.OrganizationId, Name: req.Name, Description: req.Description, Labels: req.Labels}
	return c.s.create(ctx, r, warden.TypeOrganization, "Create cloud", &rm.CreateCloudMetadata{CloudId: r.ID},
		func(r *warden.Resource) proto.Message { return cloudProto(r) })
}

// Update implements CloudService.Update.
func (c *Clouds) Update(ctx context.Context, req *rm.UpdateCloudRequest) (*operationT, error) {
	present := presentFields(map[string]bool{"name": req.Name != "", "description": req.Description != "", "labels": req.Labels != nil})
	fields := mutableFields{
		"name":        func(r *warden.Resource) { r.Name = req.Name },
		"description": func(r *warden.Resource) { r.Description = req.Description },
		"labels":      func(r *warden.Resource) { r.Labels = copyLabels(req.Labels) },
	}
	return c.s.update(ctx, req.CloudId, warden.TypeCloud, req.UpdateMask, present, fields, "Update cloud",
		&rm.UpdateCloudMetadata{CloudId: req.CloudId}, func(r *warden.Resource) proto.Message { return cloudProto(r) })
}

// Delete implements CloudService.Delete. The cloud must be empty.
func (c *Clouds) Delete(ctx context.Context, req *rm.DeleteCloudRequest) (*operationT, error) {
	return c.s.remove(ctx, req.CloudId, warden.TypeCloud, "Delete cloud", &rm.DeleteCloudMetadata{CloudId: req.CloudId, DeleteAfter: req.DeleteAfter})
}

// ListOperations implements CloudService.ListOperations.
func (c *Clouds) ListOperations(ctx context.Context, req *rm.ListCloudOperationsRequest) (*rm.ListCloudOperationsResponse, error) {
	ops, next, err := c.s.listOperations(ctx, req.CloudId, warden.TypeCloud, req)
	if err != nil {
		return nil, err
	}
	return &rm.ListCloudOperationsResponse{Operations: ops, NextPageToken: next}, nil
}

// ListAccessBindings lists the bindings set directly on the resource.
func (c *Clouds) ListAccessBindings(ctx context.Context, req *access.ListAccessBindingsRequest) (*access.ListAccessBindingsResponse, error) {
	return c.s.listAccessBindings(ctx, req, warden.TypeCloud)
}

// SetAccessBindings replaces the bindings of the resource.
func (c *Clouds) SetAccessBindings(ctx context.Context, req *access.SetAccessBindingsRequest) (*operationT, error) {
	return c.s.setAccessBindings(ctx, req, warden.TypeCloud)
}

// UpdateAccessBindings adds and removes bindings of the resource.
func (c *Clouds) UpdateAccessBindings(ctx context.Context, req *access.UpdateAccessBindingsRequest) (*operationT, error) {
	return c.s.updateAccessBindings(ctx, req, warden.TypeCloud)
}
