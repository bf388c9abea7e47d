package service

import (
	"context"
	"github.com/yandex-cloud/go-genproto/yandex/cloud/access"

	om "github.com/yandex-cloud/go-genproto/yandex/cloud/organizationmanager/v1"
	"google.golang.org/protobuf/proto"

	"warden"
)

// Organizations implements organizationmanager OrganizationService.
type Organizations struct {
	om.UnimplementedOrganizationServiceServer
	s *Service
}

// Organizations returns the OrganizationService server.
func (s *Service) Organizations() *Organizations { return &Organizations{s: s} }

func organizationProto(r *warden.Resource) *om.Organization {
	return &om.Organization{Id: r.ID, CreatedAt: ts(r.CreatedAt), Name: r.Name, Description: r.Description, Title: r.Attrs["title"], Labels: r.Labels}
}

// Get implements OrganizationService.Get.
func (o *Organizations) Get(ctx context.Context, req *om.GetOrganizationRequest) (*om.Organization, error) {
	r, err := o.s.get(ctx, req.OrganizationId, warden.TypeOrganization)
	if err != nil {
		return nil, err
	}
	return organizationProto(r), nil
}

// List implements OrganizationService.List.
func (o *Organizations) List(ctx context.Context, req *om.ListOrganizationsRequest) (*om.ListOrganizationsResponse, error) {
	// Filtered before paging: a page token made from an organization the
	// caller cannot see would tell its id.
	visible := func(r *warden.Resource) bool {
		return o.s.allowed(ctx, "organization-manager.organizations.get", r.ID)
	}
	rs, next, err := o.s.listKept(ctx, warden.TypeOrganization, "", "", req.Filter, req, visible)
	if err != nil {
		return nil, err
	}
	out := &om.ListOrganizationsResponse{NextPageToken: next}
	for _, r := range rs {
		out.Organizations = append(out.Organizations, organizationProto(r))
	}
	return out, nil
}

// Update implements OrganizationService.Update.
func (o *Organizations) Update(ctx context.Context, req *om.UpdateOrganizationRequest) (*operationT, error) {
	present := presentFields(map[string]bool{"name": req.Name != "", "description": req.Description != "", "title": req.Title != "", "labels": req.Labels != nil})
	fields := mutableFields{
		"name":        func(r *warden.Resource) { r.Name = req.Name },
		"description": func(r *warden.Resource) { r.Description = req.Description },
		"title":       func(r *warden.Resource) { r.Attrs["title"] = req.Title },
		"labels":      func(r *warden.Resource) { r.Labels = copyLabels(req.Labels) },
	}
	return o.s.update(ctx, req.OrganizationId, warden.TypeOrganization, req.UpdateMask, present, fields, "Update organization",
		&om.UpdateOrganizationMetadata{OrganizationId: req.OrganizationId},
		func(r *warden.Resource) proto.Message { return organizationProto(r) })
}

// ListOperations implements OrganizationService.ListOperations.
func (o *Organizations) ListOperations(ctx context.Context, req *om.ListOrganizationOperationsRequest) (*om.ListOrganizationOperationsResponse, error) {
	ops, next, err := o.s.listOperations(ctx, req.OrganizationId, warden.TypeOrganization, req)
	if err != nil {
		return nil, err
	}
	return &om.ListOrganizationOperationsResponse{Operations: ops, NextPageToken: next}, nil
}

// ListAccessBindings lists the bindings set directly on the resource.
func (o *Organizations) ListAccessBindings(ctx context.Context, req *access.ListAccessBindingsRequest) (*access.ListAccessBindingsResponse, error) {
	return o.s.listAccessBindings(ctx, req, warden.TypeOrganization)
}

// SetAccessBindings replaces the bindings of the resource.
func (o *Organizations) SetAccessBindings(ctx context.Context, req *access.SetAccessBindingsRequest) (*operationT, error) {
	return o.s.setAccessBindings(ctx, req, warden.TypeOrganization)
}

// UpdateAccessBindings adds and removes bindings of the resource.
func (o *Organizations) UpdateAccessBindings(ctx context.Context, req *access.UpdateAccessBindingsRequest) (*operationT, error) {
	return o.s.updateAccessBindings(ctx, req, warden.TypeOrganization)
}
