package service

import (
	"context"
	"fmt"
	"slices"
	"strconv"

	"github.com/yandex-cloud/go-genproto/yandex/cloud/access"

	"warden"
	waccess "warden/access"
)

func bindingProto(b warden.AccessBinding) *access.AccessBinding {
	return &access.AccessBinding{RoleId: b.RoleID, Subject: &access.Subject{Type: b.SubjectType, Id: b.SubjectID}}
}

func bindingFromProto(b *access.AccessBinding) warden.AccessBinding {
	return warden.AccessBinding{RoleID: b.GetRoleId(), SubjectType: b.GetSubject().GetType(), SubjectID: b.GetSubject().GetId()}
}

// listAccessBindings returns a page of the bindings set directly on a
// resource of type typ.
func (s *Service) listAccessBindings(ctx context.Context, req *access.ListAccessBindingsRequest, typ warden.ResourceType) (*access.ListAccessBindingsResponse, error) {
	var bs []warden.AccessBinding
	err := s.store.View(ctx, func(tx warden.Tx) (err error) {
		if _, err := s.getResource(ctx, tx, req.ResourceId, typ); err != nil {
			return err
		}
		bs, err = tx.AccessBindings(ctx, req.ResourceId)
		return err
	})
	if err != nil {
		return nil, err
	}
	start := 0
	if req.PageToken != "" {
		n, err := strconv.Atoi(req.PageToken)
		if err != nil || n < 0 || n > len(bs) {
			return nil, warden.Errorf(warden.InvalidArgument, "page_token: malformed page token")
		}
		start = n
	}
	size := int(req.PageSize)
	if size == 0 {
		size = 100
	}
	out := &access.ListAccessBindingsResponse{}
	end := min(start+size, len(bs))
	for _, b := range bs[start:end] {
		out.AccessBindings = append(out.AccessBindings, bindingProto(b))
	}
	if end < len(bs) {
		out.NextPageToken = strconv.Itoa(end)
	}
	return out, nil
}

// setAccessBindings replaces the bindings of a resource; the operation's
// result lists the effective deltas against the previous set.
func (s *Service) setAccessBindings(ctx context.Context, req *access.SetAccessBindingsRequest, typ warden.ResourceType) (*operationT, error) {
	want := make([]warden.AccessBinding, 0, len(req.AccessBindings))
	for _, b := range req.AccessBindings {
		want = append(want, bindingFromProto(b))
	}
	return s.changeBindings(ctx, req.ResourceId, typ, &access.SetAccessBindingsMetadata{ResourceId: req.ResourceId},
		func(ctx context.Context, tx warden.Tx) error {
			return s.checkBindings(ctx, tx, want, "access_bindings[%d]")
		},
		func([]warden.AccessBinding) ([]warden.AccessBinding, error) { return want, nil })
}

// updateAccessBindings applies ADD and REMOVE deltas to a resource's bindings.
func (s *Service) updateAccessBindings(ctx context.Context, req *access.UpdateAccessBindingsRequest, typ warden.ResourceType) (*operationT, error) {
	var added []warden.AccessBinding
	for _, d := range req.AccessBindingDeltas {
		// REMOVE may name what no longer exists; only ADD must be valid.
		b := bindingFromProto(d.AccessBinding)
		if d.Action != access.AccessBindingAction_ADD {
			b = warden.AccessBinding{RoleID: "viewer", SubjectType: "system", SubjectID: waccess.AllUsers}
		}
		added = append(added, b)
	}
	return s.changeBindings(ctx, req.ResourceId, typ, &access.UpdateAccessBindingsMetadata{ResourceId: req.ResourceId},
		func(ctx context.Context, tx warden.Tx) error {
			return s.checkBindings(ctx, tx, added, "access_binding_deltas[%d].access_binding")
		},
		func(cur []warden.AccessBinding) ([]warden.AccessBinding, error) {
			for i, d := range req.AccessBindingDeltas {
				b := bindingFromProto(d.AccessBinding)
				switch d.Action {
				case access.AccessBindingAction_ADD:
					if !slices.Contains(cur, b) {
						cur = append(cur, b)
					}
				case access.AccessBindingAction_REMOVE:
					cur = slices.DeleteFunc(cur, func(x warden.AccessBinding) bool { return x == b })
				default:
					return nil, warden.Errorf(warden.InvalidArgument, "access_binding_deltas[%d].action: must be ADD or REMOVE", i)
				}
			}
			return cur, nil
		})
}

func (s *Service) changeBindings(ctx context.Context, id string, typ warden.ResourceType, metadata protoMessage,
	check func(context.Context, warden.Tx) error, change func([]warden.AccessBinding) ([]warden.AccessBinding, error)) (*operationT, error) {
	var op *operationT
	err := s.mutate(ctx, func(tx warden.Tx, ch *auditEdit) error {
		if _, err := s.getResource(ctx, tx, id, typ); err != nil {
			return err
		}
		ch.on(ctx, tx, id)
		if err := check(ctx, tx); err != nil {
			return err
		}
		before, err := tx.AccessBindings(ctx, id)
		if err != nil {
			return err
		}
		after, err := change(slices.Clone(before))
		if err != nil {
			return err
		}
		if len(after) > 1000 {
			return warden.Errorf(warden.InvalidArgument, "access_bindings: at most 1000 bindings per resource")
		}
		for _, b := range after {
			if !slices.Contains(before, b) {
				if err := s.guardGrant(ctx, tx, b.RoleID, id); err != nil {
					return err
				}
			}
		}
		if err := tx.SetAccessBindings(ctx, id, after); err != nil {
			return err
		}
		result := &access.AccessBindingsOperationResult{}
		for _, b := range dedupe(after) {
			if !slices.Contains(before, b) {
				result.EffectiveDeltas = append(result.EffectiveDeltas, &access.AccessBindingDelta{Action: access.AccessBindingAction_ADD, AccessBinding: bindingProto(b)})
			}
		}
		for _, b := range before {
			if !slices.Contains(after, b) {
				result.EffectiveDeltas = append(result.EffectiveDeltas, &access.AccessBindingDelta{Action: access.AccessBindingAction_REMOVE, AccessBinding: bindingProto(b)})
			}
		}
		var deltas []string
		for _, d := range result.EffectiveDeltas {
			b := d.AccessBinding
			deltas = append(deltas, d.Action.String()+" "+b.RoleId+" "+b.Subject.Type+":"+b.Subject.Id)
		}
		ch.set("access_binding_deltas", deltas)
		op, err = s.newOperation(ctx, tx, id, "Change access bindings", metadata, result)
		return err
	})
	if err == nil {
		s.applied(ctx, warden.ResourceChange{ResourceID: id, Kind: warden.BindingsChanged})
	}
	return op, err
}

func dedupe(bs []warden.AccessBinding) []warden.AccessBinding {
	seen := map[warden.AccessBinding]bool{}
	var out []warden.AccessBinding
	for _, b := range bs {
		if !seen[b] {
			seen[b] = true
			out = append(out, b)
		}
	}
	return out
}

// checkBindings rejects bindings that name a role or a subject that does not
// exist; field is the request's path of binding i, as a format.
func (s *Service) checkBindings(ctx context.Context, tx warden.Tx, bs []warden.AccessBinding, field string) error {
	checked := map[string]bool{}
	for i, b := range bs {
		at := fmt.Sprintf(field, i)
		if _, ok := s.authz.catalog.Role(b.RoleID); !ok {
			return warden.Errorf(warden.InvalidArgument, "%s.role_id: role %q does not exist", at, b.RoleID)
		}
		if checked[b.SubjectType+":"+b.SubjectID] {
			continue
		}
		checked[b.SubjectType+":"+b.SubjectID] = true
		switch b.SubjectType {
		case "system":
			if org, ok := waccess.OrgOfUsersGroup(b.SubjectID); ok {
				// All users of an organization (Yandex's system group).
				if err := subjectExists(ctx, tx, org, warden.TypeOrganization, at, b); err != nil {
					return err
				}
			} else if b.SubjectID != waccess.AllUsers && b.SubjectID != waccess.AllAuthenticatedUsers {
				return warden.Errorf(warden.InvalidArgument, "%s.subject.id: system subject must be allUsers, allAuthenticatedUsers or group:organization:<organization id>:users", at)
			}
		case "userAccount", "serviceAccount", "group":
			if err := subjectExists(ctx, tx, b.SubjectID, warden.ResourceType(b.SubjectType), at, b); err != nil {
				return err
			}
		case "federatedUser":
			return warden.Errorf(warden.InvalidArgument, "%s.subject: %s %s does not exist", at, b.SubjectType, b.SubjectID)
		default:
			return warden.Errorf(warden.InvalidArgument, "%s.subject.type: must be userAccount, serviceAccount, federatedUser, group or system", at)
		}
	}
	return nil
}

// subjectExists refuses a binding whose subject (or, for an organization's
// members group, whose organization) id is not a resource of type typ.
func subjectExists(ctx context.Context, tx warden.Tx, id string, typ warden.ResourceType, at string, b warden.AccessBinding) error {
	r, err := tx.GetResource(ctx, id)
	if warden.IsCode(err, warden.NotFound) || (err == nil && r.Type != typ) {
		return warden.Errorf(warden.InvalidArgument, "%s.subject: %s %s does not exist", at, b.SubjectType, b.SubjectID)
	}
	return err
}
