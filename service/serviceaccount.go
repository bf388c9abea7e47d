package service

import (
	"context"
	"time"

	"github.com/yandex-cloud/go-genproto/yandex/cloud/access"
	iam "github.com/yandex-cloud/go-genproto/yandex/cloud/iam/v1"
	"google.golang.org/protobuf/proto"

	"warden"
)

// ServiceAccounts implements iam ServiceAccountService.
type ServiceAccounts struct {
	iam.UnimplementedServiceAccountServiceServer
	s *Service
}

// ServiceAccounts returns the ServiceAccountService server.
func (s *Service) ServiceAccounts() *ServiceAccounts { return &ServiceAccounts{s: s} }

const attrExpiresAt, attrLastAuthenticatedAt = "expires_at", "last_authenticated_at"

// attrTime is a time kept in an attribute; zero when there is none (which
// costs no parse: lists read these for every account).
func attrTime(r *warden.Resource, key string) time.Time {
	v := r.Attrs[key]
	if v == "" {
		return time.Time{}
	}
	t, _ := time.Parse(time.RFC3339Nano, v)
	return t
}

func serviceAccountProto(r *warden.Resource) *iam.ServiceAccount {
	st := iam.ServiceAccount_ACTIVE
	if r.Status == warden.StatusSuspended {
		st = iam.ServiceAccount_SUSPENDED
	}
	return &iam.ServiceAccount{
		Id: r.ID, FolderId: r.ParentID, CreatedAt: ts(r.CreatedAt), Name: r.Name, Description: r.Description,
		Labels: r.Labels, Status: st, LastAuthenticatedAt: ts(attrTime(r, attrLastAuthenticatedAt)), ExpiresAt: ts(attrTime(r, attrExpiresAt)),
	}
}

func saResponse(r *warden.Resource) proto.Message { return serviceAccountProto(r) }

// Get implements ServiceAccountService.Get.
func (a *ServiceAccounts) Get(ctx context.Context, req *iam.GetServiceAccountRequest) (*iam.ServiceAccount, error) {
	r, err := a.s.get(ctx, req.ServiceAccountId, warden.TypeServiceAccount)
	if err != nil {
		return nil, err
	}
	return serviceAccountProto(r), nil
}

// List implements ServiceAccountService.List.
func (a *ServiceAccounts) List(ctx context.Context, req *iam.ListServiceAccountsRequest) (*iam.ListServiceAccountsResponse, error) {
	rs, next, err := a.s.list(ctx, warden.TypeServiceAccount, req.FolderId, warden.TypeFolder, req.Filter, req)
	if err != nil {
		return nil, err
	}
	out := &iam.ListServiceAccountsResponse{NextPageToken: next}
	for _, r := range rs {
		out.ServiceAccounts = append(out.ServiceAccounts, serviceAccountProto(r))
	}
	return out, nil
}

// Create implements ServiceAccountService.Create.
func (a *ServiceAccounts) Create(ctx context.Context, req *iam.CreateServiceAccountRequest) (*operationT, error) {
	r := &warden.Resource{ID: warden.NewID(warden.PrefixServiceAccount), Type: warden.TypeServiceAccount, ParentID: req.FolderId,
		Name: req.Name, Description: req.Description, Labels: req.Labels, Attrs: map[string]string{}}
	if req.ExpiresAt != nil {
		r.Attrs[attrExpiresAt] = req.ExpiresAt.AsTime().UTC().Format(time.RFC3339Nano)
	}
	return a.s.create(ctx, r, warden.TypeFolder, "Create service account", &iam.CreateServiceAccountMetadata{ServiceAccountId: r.ID}, saResponse)
}

// Update implements ServiceAccountService.Update.
func (a *ServiceAccounts) Update(ctx context.Context, req *iam.UpdateServiceAccountRequest) (*operationT, error) {
	present := presentFields(map[string]bool{"name": req.Name != "", "description": req.Description != "", "labels": req.Labels != nil})
	fields := mutableFields{
		"name":        func(r *warden.Resource) { r.Name = req.Name },
		"description": func(r *warden.Resource) { r.Description = req.Description },
		"labels":      func(r *warden.Resource) { r.Labels = copyLabels(req.Labels) },
	}
	return a.s.updateChecked(ctx, req.ServiceAccountId, warden.TypeServiceAccount, req.UpdateMask, present, fields, a.s.renamedNameFree, "Update service account",
		&iam.UpdateServiceAccountMetadata{ServiceAccountId: req.ServiceAccountId}, saResponse)
}

// Delete implements ServiceAccountService.Delete. Its keys and bindings go
// with it.
func (a *ServiceAccounts) Delete(ctx context.Context, req *iam.DeleteServiceAccountRequest) (*operationT, error) {
	return a.s.remove(ctx, req.ServiceAccountId, warden.TypeServiceAccount, "Delete service account", &iam.DeleteServiceAccountMetadata{ServiceAccountId: req.ServiceAccountId})
}

// Suspend implements ServiceAccountService.Suspend.
func (a *ServiceAccounts) Suspend(ctx context.Context, req *iam.SuspendServiceAccountRequest) (*operationT, error) {
	return a.s.setStatus(ctx, req.ServiceAccountId, warden.TypeServiceAccount, warden.StatusSuspended, "Suspend service account",
		&iam.SuspendServiceAccountMetadata{ServiceAccountId: req.ServiceAccountId}, &iam.SuspendServiceAccountResponse{})
}

// Reactivate implements ServiceAccountService.Reactivate.
func (a *ServiceAccounts) Reactivate(ctx context.Context, req *iam.ReactivateServiceAccountRequest) (*operationT, error) {
	return a.s.setStatus(ctx, req.ServiceAccountId, warden.TypeServiceAccount, warden.StatusActive, "Reactivate service account",
		&iam.ReactivateServiceAccountMetadata{ServiceAccountId: req.ServiceAccountId}, &iam.ReactivateServiceAccountResponse{})
}

// ListOperations implements ServiceAccountService.ListOperations.
func (a *ServiceAccounts) ListOperations(ctx context.Context, req *iam.ListServiceAccountOperationsRequest) (*iam.ListServiceAccountOperationsResponse, error) {
	ops, next, err := a.s.listOperations(ctx, req.ServiceAccountId, warden.TypeServiceAccount, req)
	if err != nil {
		return nil, err
	}
	return &iam.ListServiceAccountOperationsResponse{Operations: ops, NextPageToken: next}, nil
}

// ListAccessBindings implements ServiceAccountService.ListAccessBindings.
func (a *ServiceAccounts) ListAccessBindings(ctx context.Context, req *access.ListAccessBindingsRequest) (*access.ListAccessBindingsResponse, error) {
	return a.s.listAccessBindings(ctx, req, warden.TypeServiceAccount)
}

// SetAccessBindings implements ServiceAccountService.SetAccessBindings.
func (a *ServiceAccounts) SetAccessBindings(ctx context.Context, req *access.SetAccessBindingsRequest) (*operationT, error) {
	return a.s.setAccessBindings(ctx, req, warden.TypeServiceAccount)
}

// UpdateAccessBindings implements ServiceAccountService.UpdateAccessBindings.
func (a *ServiceAccounts) UpdateAccessBindings(ctx context.Context, req *access.UpdateAccessBindingsRequest) (*operationT, error) {
	return a.s.updateAccessBindings(ctx, req, warden.TypeServiceAccount)
}
