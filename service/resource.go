package service

import (
	"context"
	"slices"

	"github.com/yandex-cloud/go-genproto/yandex/cloud/operation"
	"google.golang.org/protobuf/proto"
	"google.golang.org/protobuf/types/known/fieldmaskpb"

	"warden"
)

// getResource returns a resource of the given type; a resource of another
// type is NotFound, as if it did not exist.
func (s *Service) getResource(ctx context.Context, tx warden.Tx, id string, typ warden.ResourceType) (*warden.Resource, error) {
	r, err := tx.GetResource(ctx, id)
	return ofType(r, err, id, typ)
}

// getParent is getResource for the parent of a resource being created: it
// holds the parent shared, so that siblings are created side by side.
func (s *Service) getParent(ctx context.Context, tx warden.Tx, id string, typ warden.ResourceType) (*warden.Resource, error) {
	r, err := tx.GetResourceShared(ctx, id)
	return ofType(r, err, id, typ)
}

// ofType turns a resource of another type than typ into NotFound.
func ofType(r *warden.Resource, err error, id string, typ warden.ResourceType) (*warden.Resource, error) {
	if err == nil && r.Type != typ {
		err = warden.Errorf(warden.NotFound, "%s %s not found", typ, id)
	}
	if warden.IsCode(err, warden.NotFound) {
		return nil, warden.Errorf(warden.NotFound, "%s %s not found", typeNames[typ], id)
	}
	return r, err
}

// typeNames are resource types as messages name them.
var typeNames = map[warden.ResourceType]string{
	warden.TypeOrganization: "organization", warden.TypeCloud: "cloud", warden.TypeFolder: "folder",
	warden.TypeServiceAccount: "service account", warden.TypeUserAccount: "user account", warden.TypeUserpool: "userpool",
	warden.TypeGroup: "group",
}

func (s *Service) get(ctx context.Context, id string, typ warden.ResourceType) (*warden.Resource, error) {
	var r *warden.Resource
	err := s.store.View(ctx, func(tx warden.Tx) (err error) {
		r, err = s.getResource(ctx, tx, id, typ)
		return err
	})
	return r, err
}

type listRequest interface {
	GetPageSize() int64
	GetPageToken() string
}

// list returns a page of resources of a type under parent ("" = any),
// after checking that the parent exists and is of parentType.
func (s *Service) list(ctx context.Context, typ warden.ResourceType, parent string, parentType warden.ResourceType, filter string, req listRequest) ([]*warden.Resource, string, error) {
	return s.listKept(ctx, typ, parent, parentType, filter, req, nil)
}

// listKept is list keeping only the resources keep accepts (all when nil),
// filtered before paging so that page tokens name only those.
func (s *Service) listKept(ctx context.Context, typ warden.ResourceType, parent string, parentType warden.ResourceType, filter string, req listRequest, keep func(*warden.Resource) bool) ([]*warden.Resource, string, error) {
	name, err := parseFilter(filter)
	if err != nil {
		return nil, "", err
	}
	var rs []*warden.Resource
	var next string
	// A parent the access snapshot holds exists (the caller was just
	// authorized on it through the snapshot); only one it does not know
	// is looked up, for the NotFound or the wrong type. The children of a
	// known parent are in memory for the types authz.lists holds: such a
	// list reads nothing (one of a parent created on another node a moment
	// ago still reads the store, as fresh as it is).
	known := false
	if parent != "" {
		n, ok := s.authz.snap.Load().Node(parent)
		known = ok && n.Type == parentType
	}
	f := warden.ResourceFilter{Type: typ, ParentID: parent, Name: name, Page: page(req.GetPageSize(), req.GetPageToken()), Keep: keep}
	if known && s.authz.lists.holds(typ) {
		return s.authz.lists.page(f)
	}
	err = s.store.View(ctx, func(tx warden.Tx) error {
		if parent != "" && !known {
			if _, err := s.getResource(ctx, tx, parent, parentType); err != nil {
				return err
			}
		}
		rs, next, err = tx.ListResources(ctx, f)
		return err
	})
	return rs, next, err
}

// create stores r under its parent (which must be of parentType) together
// with a finished operation.
func (s *Service) create(ctx context.Context, r *warden.Resource, parentType warden.ResourceType, description string, metadata proto.Message, response func(*warden.Resource) proto.Message) (*operation.Operation, error) {
	r.Status, r.CreatedAt = warden.StatusActive, s.now().UTC()
	var op *operation.Operation
	err := s.mutate(ctx, func(tx warden.Tx, c *auditEdit) (err error) {
		// A resource's type never changes, nor is an ID reused: a parent
		// the snapshot holds is of the type it says, and is not read. That
		// it still exists, the insert checks (and holds it, shared).
		if n, ok := c.snap.Node(r.ParentID); !ok || n.Type != parentType {
			if _, err := s.getParent(ctx, tx, r.ParentID, parentType); err != nil {
				return err
			}
		}
		if err := tx.CreateResource(ctx, r); err != nil {
			if warden.IsCode(err, warden.NotFound) { // the parent, deleted since the snapshot
				return warden.Errorf(warden.NotFound, "%s %s not found", typeNames[parentType], r.ParentID)
			}
			return err
		}
		c.created(ctx, tx, r)
		c.set("name", r.Name)
		op, err = s.newOperation(ctx, tx, r.ID, description, metadata, response(r))
		return err
	})
	if err == nil {
		if err := s.authz.created(ctx, r); err != nil {
			s.log.Warn("apply change to access snapshot", "err", err)
			s.authz.changed()
		}
	}
	return op, err
}

// mutableFields lists the fields an update mask may name, with the setters
// that copy them from the request.
type mutableFields map[string]func(r *warden.Resource)

// update applies the fields named by mask (every field present in the
// request when the mask is empty) to the resource and stores it with a
// finished operation.
func (s *Service) update(ctx context.Context, id string, typ warden.ResourceType, mask *fieldmaskpb.FieldMask, present []string, fields mutableFields, description string, metadata proto.Message, response func(*warden.Resource) proto.Message) (*operation.Operation, error) {
	return s.updateChecked(ctx, id, typ, mask, present, fields, nil, description, metadata, response)
}

// updateChecked is update with check (when not nil) run on the changed
// resource in the transaction, before it is stored.
func (s *Service) updateChecked(ctx context.Context, id string, typ warden.ResourceType, mask *fieldmaskpb.FieldMask, present []string, fields mutableFields, check func(context.Context, warden.Tx, *warden.Resource) error, description string, metadata proto.Message, response func(*warden.Resource) proto.Message) (*operation.Operation, error) {
	paths := mask.GetPaths()
	if len(paths) == 0 {
		paths = present
	}
	for _, p := range paths {
		if fields[p] == nil {
			return nil, warden.Errorf(warden.InvalidArgument, "update_mask: field %q cannot be updated", p)
		}
	}
	var op *operation.Operation
	err := s.mutate(ctx, func(tx warden.Tx, c *auditEdit) error {
		r, err := s.getResource(ctx, tx, id, typ)
		if err != nil {
			return err
		}
		c.on(ctx, tx, id)
		c.set("update_mask", paths)
		for _, p := range slices.Compact(slices.Sorted(slices.Values(paths))) {
			fields[p](r)
		}
		if check != nil {
			if err := check(ctx, tx, r); err != nil {
				return err
			}
		}
		if err := tx.UpdateResource(ctx, r); err != nil {
			return err
		}
		op, err = s.newOperation(ctx, tx, r.ID, description, metadata, response(r))
		return err
	})
	if err == nil {
		s.applied(ctx, warden.ResourceChange{ResourceID: id, Kind: warden.ResourceChanged})
	}
	return op, err
}

// remove deletes a resource of a type with a finished operation.
func (s *Service) remove(ctx context.Context, id string, typ warden.ResourceType, description string, metadata proto.Message) (*operation.Operation, error) {
	var op *operation.Operation
	err := s.mutate(ctx, func(tx warden.Tx, c *auditEdit) error {
		if _, err := s.getResource(ctx, tx, id, typ); err != nil {
			return err
		}
		c.on(ctx, tx, id)
		if err := tx.DeleteResource(ctx, id); err != nil {
			return err
		}
		var err error
		op, err = s.newOperation(ctx, tx, id, description, metadata, nil)
		return err
	})
	if err == nil {
		s.authz.removed(id) // its tokens and bindings stop working here at once
	}
	return op, err
}

// setStatus changes a resource's status with a finished operation.
func (s *Service) setStatus(ctx context.Context, id string, typ warden.ResourceType, status, description string, metadata, response proto.Message) (*operation.Operation, error) {
	var op *operation.Operation
	err := s.mutate(ctx, func(tx warden.Tx, c *auditEdit) error {
		r, err := s.getResource(ctx, tx, id, typ)
		if err != nil {
			return err
		}
		c.on(ctx, tx, id)
		c.set("status", status)
		r.Status = status
		if err := tx.UpdateResource(ctx, r); err != nil {
			return err
		}
		op, err = s.newOperation(ctx, tx, id, description, metadata, response)
		return err
	})
	if err == nil {
		s.applied(ctx, warden.ResourceChange{ResourceID: id, Kind: warden.ResourceChanged}) // a suspended account stops working here at once
	}
	return op, err
}

// listOperations returns a page of the operations of a resource of a type.
func (s *Service) listOperations(ctx context.Context, id string, typ warden.ResourceType, req listRequest) ([]*operation.Operation, string, error) {
	return s.operationsOf(ctx, id, req, func(tx warden.Tx) error {
		_, err := s.getResource(ctx, tx, id, typ)
		return err
	})
}

// operationsOf returns one page of the operations on id, after check (when
// not nil) in the same read.
func (s *Service) operationsOf(ctx context.Context, id string, req listRequest, check func(warden.Tx) error) ([]*operation.Operation, string, error) {
	var ops []*warden.Operation
	var next string
	err := s.store.View(ctx, func(tx warden.Tx) (err error) {
		if check != nil {
			if err := check(tx); err != nil {
				return err
			}
		}
		ops, next, err = tx.ListOperations(ctx, id, page(req.GetPageSize(), req.GetPageToken()))
		return err
	})
	if err != nil {
		return nil, "", err
	}
	out := make([]*operation.Operation, 0, len(ops))
	for _, op := range ops {
		p, err := operationProto(op)
		if err != nil {
			return nil, "", err
		}
		out = append(out, p)
	}
	return out, next, nil
}

func copyLabels(m map[string]string) map[string]string {
	out := make(map[string]string, len(m))
	for k, v := range m {
		out[k] = v
	}
	return out
}
