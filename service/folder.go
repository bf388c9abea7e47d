package service

import (
	"context"
	"github.com/yandex-cloud/go-genproto/yandex/cloud/access"

	rm "github.com/yandex-cloud/go-genproto/yandex/cloud/resourcemanager/v1"
	"google.golang.org/protobuf/proto"

	"warden"
)

// Folders implements resourcemanager FolderService.
type Folders struct {
	rm.UnimplementedFolderServiceServer
	s *Service
}

// Folders returns the FolderService server.
func (s *Service) Folders() *Folders { return &Folders{s: s} }

func folderProto(r *warden.Resource) *rm.Folder {
	return &rm.Folder{Id: r.ID, CloudId: r.ParentID, CreatedAt: ts(r.CreatedAt), Name: r.Name, Description: r.Description, Labels: r.Labels, Status: rm.Folder_ACTIVE}
}

// Get implements FolderService.Get.
func (f *Folders) Get(ctx context.Context, req *rm.GetFolderRequest) (*rm.Folder, error) {
	r, err := f.s.get(ctx, req.FolderId, warden.TypeFolder)
	if err != nil {
		return nil, err
	}
	return folderProto(r), nil
}

// List implements FolderService.List.
// A caller with resource-manager.folders.list on the cloud sees every
// folder; anyone else sees the folders they may get, and is refused when
// that is none.
func (f *Folders) List(ctx context.Context, req *rm.ListFoldersRequest) (*rm.ListFoldersResponse, error) {
	denied := f.s.authorize(ctx, "resource-manager.folders.list", req.CloudId)
	if denied != nil && !warden.IsCode(denied, warden.PermissionDenied) {
		return nil, denied
	}
	if denied != nil && !f.s.knownResource(req.CloudId) {
		return nil, denied
	}
	// Without the list permission the caller sees the folders it may get,
	// filtered before paging so that no page token names another.
	var visible func(*warden.Resource) bool
	if denied != nil {
		visible = func(r *warden.Resource) bool { return f.s.allowed(ctx, "resource-manager.folders.get", r.ID) }
	}
	rs, next, err := f.s.listKept(ctx, warden.TypeFolder, req.CloudId, warden.TypeCloud, req.Filter, req, visible)
	if err != nil {
		return nil, err
	}
	out := &rm.ListFoldersResponse{NextPageToken: next}
	for _, r := range rs {
		out.Folders = append(out.Folders, folderProto(r))
	}
	if denied != nil && len(out.Folders) == 0 {
		return nil, denied
	}
	return out, nil
}

// Create implements FolderService.Create.
func (f *Folders) Create(ctx context.Context, req *rm.CreateFolderRequest) (*operationT, error) {
	r := &warden.Resource{ID: warden.NewID(warden.PrefixFolder), Type: warden.TypeFolder, ParentID: req.CloudId, Name: req.Name, Description: req.Description, Labels: req.Labels}
	return f.s.create(ctx, r, warden.TypeCloud, "Create folder", &rm.CreateFolderMetadata{FolderId: r.ID},
		func(r *warden.Resource) proto.Message { return folderProto(r) })
}

// Update implements FolderService.Update.
func (f *Folders) Update(ctx context.Context, req *rm.UpdateFolderRequest) (*operationT, error) {
	present := presentFields(map[string]bool{"name": req.Name != "", "description": req.Description != "", "labels": req.Labels != nil})
	fields := mutableFields{
		"name":        func(r *warden.Resource) { r.Name = req.Name },
		"description": func(r *warden.Resource) { r.Description = req.Description },
		"labels":      func(r *warden.Resource) { r.Labels = copyLabels(req.Labels) },
	}
	return f.s.update(ctx, req.FolderId, warden.TypeFolder, req.UpdateMask, present, fields, "Update folder",
		&rm.UpdateFolderMetadata{FolderId: req.FolderId}, func(r *warden.Resource) proto.Message { return folderProto(r) })
}

// Delete implements FolderService.Delete. The folder must be empty.
func (f *Folders) Delete(ctx context.Context, req *rm.DeleteFolderRequest) (*operationT, error) {
	return f.s.remove(ctx, req.FolderId, warden.TypeFolder, "Delete folder", &rm.DeleteFolderMetadata{FolderId: req.FolderId, DeleteAfter: req.DeleteAfter})
}

// ListOperations implements FolderService.ListOperations.
func (f *Folders) ListOperations(ctx context.Context, req *rm.ListFolderOperationsRequest) (*rm.ListFolderOperationsResponse, error) {
	ops, next, err := f.s.listOperations(ctx, req.FolderId, warden.TypeFolder, req)
	if err != nil {
		return nil, err
	}
	return &rm.ListFolderOperationsResponse{Operations: ops, NextPageToken: next}, nil
}

// ListAccessBindings lists the bindings set directly on the resource.
func (f *Folders) ListAccessBindings(ctx context.Context, req *access.ListAccessBindingsRequest) (*access.ListAccessBindingsResponse, error) {
	return f.s.listAccessBindings(ctx, req, warden.TypeFolder)
}

// SetAccessBindings replaces the bindings of the resource.
func (f *Folders) SetAccessBindings(ctx context.Context, req *access.SetAccessBindingsRequest) (*operationT, error) {
	return f.s.setAccessBindings(ctx, req, warden.TypeFolder)
}

// UpdateAccessBindings adds and removes bindings of the resource.
func (f *Folders) UpdateAccessBindings(ctx context.Context, req *access.UpdateAccessBindingsRequest) (*operationT, error) {
	return f.s.updateAccessBindings(ctx, req, warden.TypeFolder)
}
