package service

import (
	"context"
	"fmt"
	"strconv"

	"github.com/yandex-cloud/go-genproto/yandex/cloud/access"
	om "github.com/yandex-cloud/go-genproto/yandex/cloud/organizationmanager/v1"
	"google.golang.org/protobuf/proto"

	"warden"
)

// Groups implements organizationmanager GroupService. A group is a
// resource under its organization; its direct members are user and
// service accounts (a group inside a group is refused, as Yandex Cloud
// does: membership stays one level deep, so what a subject holds is its
// own bindings and its groups', never a chain to follow), and a binding to
// the group is held by each of them.
type Groups struct {
	om.UnimplementedGroupServiceServer
	s *Service
}

// Groups returns the GroupService server.
func (s *Service) Groups() *Groups { return &Groups{s: s} }

// Permissions on groups, checked on the group (so that a binding on its
// organization grants them).
const (
	permGroupsGet           = "organization-manager.groups.get"
	permGroupsList          = "organization-manager.groups.list"
	permGroupsCreate        = "organization-manager.groups.create"
	permGroupsUpdate        = "organization-manager.groups.update"
	permGroupsDelete        = "organization-manager.groups.delete"
	permGroupsUpdateMembers = "organization-manager.groups.updateMembers"
)

func groupProto(r *warden.Resource) *om.Group {
	return &om.Group{Id: r.ID, OrganizationId: r.ParentID, CreatedAt: ts(r.CreatedAt), Name: r.Name, Description: r.Description, Labels: r.Labels}
}

func groupResponse(r *warden.Resource) proto.Message { return groupProto(r) }

// Get implements GroupService.Get.
func (g *Groups) Get(ctx context.Context, req *om.GetGroupRequest) (*om.Group, error) {
	r, err := g.s.get(ctx, req.GroupId, warden.TypeGroup)
	if err != nil {
		return nil, err
	}
	return groupProto(r), nil
}

// List implements GroupService.List: the groups of an organization.
func (g *Groups) List(ctx context.Context, req *om.ListGroupsRequest) (*om.ListGroupsResponse, error) {
	rs, next, err := g.s.list(ctx, warden.TypeGroup, req.OrganizationId, warden.TypeOrganization, req.Filter, req)
	if err != nil {
		return nil, err
	}
	out := &om.ListGroupsResponse{NextPageToken: next}
	for _, r := range rs {
		out.Groups = append(out.Groups, groupProto(r))
	}
	return out, nil
}

// Create implements GroupService.Create. A new group has no members and
// no bindings: making one hands out nothing.
func (g *Groups) Create(ctx context.Context, req *om.CreateGroupRequest) (*operationT, error) {
	r := &warden.Resource{ID: warden.NewID(warden.PrefixGroup), Type: warden.TypeGroup, ParentID: req.OrganizationId,
		Name: req.Name, Description: req.Description, Labels: req.Labels}
	op, err := g.s.create(ctx, r, warden.TypeOrganization, "Create group", &om.CreateGroupMetadata{GroupId: r.ID}, groupResponse)
	if warden.IsCode(err, warden.AlreadyExists) {
		return nil, warden.Errorf(warden.AlreadyExists, "name: a group named %q already exists in organization %s", req.Name, req.OrganizationId)
	}
	return op, err
}

// Update implements GroupService.Update.
func (g *Groups) Update(ctx context.Context, req *om.UpdateGroupRequest) (*operationT, error) {
	present := presentFields(map[string]bool{"name": req.Name != "", "description": req.Description != "", "labels": req.Labels != nil})
	fields := mutableFields{
		"name":        func(r *warden.Resource) { r.Name = req.Name },
		"description": func(r *warden.Resource) { r.Description = req.Description },
		"labels":      func(r *warden.Resource) { r.Labels = copyLabels(req.Labels) },
	}
	named := func(ctx context.Context, tx warden.Tx, r *warden.Resource) error {
		if r.Name == "" {
			return warden.Errorf(warden.InvalidArgument, "name: a group must keep a name")
		}
		return nil
	}
	op, err := g.s.updateChecked(ctx, req.GroupId, warden.TypeGroup, req.UpdateMask, present, fields, named, "Update group",
		&om.UpdateGroupMetadata{GroupId: req.GroupId}, groupResponse)
	if warden.IsCode(err, warden.AlreadyExists) {
		return nil, warden.Errorf(warden.AlreadyExists, "name: a group named %q already exists in the organization", req.Name)
	}
	return op, err
}

// Delete implements GroupService.Delete. Its memberships and every binding
// naming it go with it, on every wardend through the resource feed.
func (g *Groups) Delete(ctx context.Context, req *om.DeleteGroupRequest) (*operationT, error) {
	return g.s.remove(ctx, req.GroupId, warden.TypeGroup, "Delete group", &om.DeleteGroupMetadata{GroupId: req.GroupId})
}

// ListOperations implements GroupService.ListOperations.
func (g *Groups) ListOperations(ctx context.Context, req *om.ListGroupOperationsRequest) (*om.ListGroupOperationsResponse, error) {
	ops, next, err := g.s.listOperations(ctx, req.GroupId, warden.TypeGroup, req)
	if err != nil {
		return nil, err
	}
	return &om.ListGroupOperationsResponse{Operations: ops, NextPageToken: next}, nil
}

// ListMembers implements GroupService.ListMembers.
func (g *Groups) ListMembers(ctx context.Context, req *om.ListGroupMembersRequest) (*om.ListGroupMembersResponse, error) {
	out := &om.ListGroupMembersResponse{}
	err := g.s.store.View(ctx, func(tx warden.Tx) error {
		if _, err := g.s.getResource(ctx, tx, req.GroupId, warden.TypeGroup); err != nil {
			return err
		}
		ms, next, err := tx.GroupMembers(ctx, req.GroupId, page(req.PageSize, req.PageToken))
		if err != nil {
			return err
		}
		out.NextPageToken = next
		for _, m := range ms {
			out.Members = append(out.Members, &om.GroupMember{SubjectId: m.SubjectID, SubjectType: string(m.SubjectType)})
		}
		return nil
	})
	if err != nil {
		return nil, err
	}
	return out, nil
}

// UpdateMembers implements GroupService.UpdateMembers. A member is a user
// or service account of the group's organization. Adding one hands it
// everything the group holds, so the caller must hold all of that too
// (the escalation guard, as for granting a role): holding
// organization-manager.groups.updateMembers is not enough to join, or add
// anyone to, a group that holds more than oneself.
func (g *Groups) UpdateMembers(ctx context.Context, req *om.UpdateGroupMembersRequest) (*operationT, error) {
	var op *operationT
	err := g.s.mutate(ctx, func(tx warden.Tx, c *auditEdit) error {
		group, err := g.s.getResource(ctx, tx, req.GroupId, warden.TypeGroup)
		if err != nil {
			return err
		}
		c.on(ctx, tx, group.ID)
		var add []warden.GroupMember
		var remove, deltas []string
		for i, d := range req.MemberDeltas {
			field := fmt.Sprintf("member_deltas[%d]", i)
			switch d.Action {
			case om.MemberDelta_ADD:
				m, err := g.s.memberOf(ctx, tx, group, d.SubjectId, field+".subject_id")
				if err != nil {
					return err
				}
				add = append(add, m)
			case om.MemberDelta_REMOVE:
				remove = append(remove, d.SubjectId)
			default:
				return warden.Errorf(warden.InvalidArgument, "%s.action: must be ADD or REMOVE", field)
			}
			deltas = append(deltas, d.Action.String()+" "+d.SubjectId)
		}
		if len(add) > 0 {
			if err := g.s.guardJoin(ctx, group.ID); err != nil {
				return err
			}
		}
		c.set("member_deltas", deltas)
		if err := tx.UpdateGroupMembers(ctx, group.ID, add, remove); err != nil {
			return err
		}
		op, err = g.s.newOperation(ctx, tx, group.ID, "Update group members", &om.UpdateGroupMembersMetadata{GroupId: group.ID}, nil)
		return err
	})
	if err == nil {
		// The change applies here before the call returns; elsewhere
		// through the feed.
		g.s.applied(ctx, warden.ResourceChange{ResourceID: req.GroupId, Kind: warden.MembersChanged})
	}
	return op, err
}

// memberOf checks that a subject may join group: a user or service account
// of the group's organization, not a group. The subject is held (shared)
// until the transaction ends, so that it is not deleted meanwhile (which
// would leave its membership behind) and two changes of different groups
// naming it do not wait for each other.
func (s *Service) memberOf(ctx context.Context, tx warden.Tx, group *warden.Resource, id, field string) (warden.GroupMember, error) {
	r, err := tx.GetResourceShared(ctx, id)
	if warden.IsCode(err, warden.NotFound) {
		return warden.GroupMember{}, warden.Errorf(warden.InvalidArgument, "%s: subject %s does not exist", field, id)
	}
	if err != nil {
		return warden.GroupMember{}, err
	}
	switch r.Type {
	case warden.TypeUserAccount, warden.TypeServiceAccount:
	case warden.TypeGroup:
		return warden.GroupMember{}, warden.Errorf(warden.InvalidArgument, "%s: %s is a group, and a group cannot be a member of a group", field, id)
	default:
		return warden.GroupMember{}, warden.Errorf(warden.InvalidArgument, "%s: %s is a %s, not a user or service account", field, id, typeNames[r.Type])
	}
	org, err := s.organizationOf(ctx, tx, r)
	if err != nil {
		return warden.GroupMember{}, err
	}
	if org != group.ParentID {
		return warden.GroupMember{}, warden.Errorf(warden.InvalidArgument, "%s: %s belongs to another organization than group %s", field, id, group.ID)
	}
	return warden.GroupMember{SubjectID: r.ID, SubjectType: r.Type}, nil
}

// organizationOf returns the organization a resource is in (itself for an
// organization), through the snapshot where it knows the ancestors.
func (s *Service) organizationOf(ctx context.Context, tx warden.Tx, r *warden.Resource) (string, error) {
	snap := s.authz.snap.Load()
	id, parent := r.ID, r.ParentID
	for depth := 0; parent != "" && depth < 8; depth++ {
		if n, ok := snap.Node(parent); ok {
			id, parent = n.ID, n.ParentID
			continue
		}
		p, err := tx.GetResourceShared(ctx, parent)
		if err != nil {
			return "", err
		}
		id, parent = p.ID, p.ParentID
	}
	return id, nil
}

// guardJoin refuses to add members to a group that holds, anywhere,
// something the caller does not hold there: a place in the group hands
// out all of it.
func (s *Service) guardJoin(ctx context.Context, groupID string) error {
	if short, ok := s.authz.snap.Load().Covers(SubjectFrom(ctx).ID, groupID); !ok {
		return warden.Errorf(warden.PermissionDenied,
			"permission denied: a member of group %s holds %s on %s, which the caller does not hold",
			groupID, short.Permission, short.ResourceID)
	}
	return nil
}

// ListEffective implements GroupService.ListEffective: the groups a
// subject is a direct member of (in one organization when organization_id
// is set). A subject lists its own; another's need
// organization-manager.groups.list on the organization.
func (g *Groups) ListEffective(ctx context.Context, req *om.ListEffectiveRequest) (*om.ListEffectiveResponse, error) {
	name, err := parseFilter(req.Filter)
	if err != nil {
		return nil, err
	}
	if SubjectFrom(ctx).ID != req.SubjectId {
		on := req.OrganizationId
		if on == "" {
			on = g.s.subjectOrganization(req.SubjectId)
		}
		if err := g.s.authorize(ctx, permGroupsList, on); err != nil {
			return nil, err
		}
	}
	var infos []*om.GroupMembershipInfo
	err = g.s.store.View(ctx, func(tx warden.Tx) error {
		ids, err := tx.GroupsOf(ctx, req.SubjectId)
		if err != nil {
			return err
		}
		for _, id := range ids {
			r, err := tx.GetResource(ctx, id)
			if warden.IsCode(err, warden.NotFound) {
				continue // deleted since
			}
			if err != nil {
				return err
			}
			if (req.OrganizationId == "" || r.ParentID == req.OrganizationId) && (name == "" || r.Name == name) {
				infos = append(infos, &om.GroupMembershipInfo{GroupId: r.ID, GroupName: r.Name})
			}
		}
		return nil
	})
	if err != nil {
		return nil, err
	}
	start, end, next, err := offsetPage(req.PageToken, req.PageSize, len(infos))
	if err != nil {
		return nil, err
	}
	return &om.ListEffectiveResponse{GroupMembershipInfo: infos[start:end], NextPageToken: next}, nil
}

// subjectOrganization returns the organization of a user or service
// account as the snapshot knows it; the subject itself when it does not
// (the check then answers as for any unknown resource).
func (s *Service) subjectOrganization(id string) string {
	snap := s.authz.snap.Load()
	at := id
	for depth := 0; depth < 8; depth++ {
		n, ok := snap.Node(at)
		if !ok {
			return id
		}
		if n.Type == warden.TypeOrganization {
			return n.ID
		}
		at = n.ParentID
	}
	return id
}

// offsetPage pages a list held whole in memory: the page token is the
// offset of the page's first item.
func offsetPage(token string, size int64, n int) (start, end int, next string, err error) {
	if token != "" {
		start, err = strconv.Atoi(token)
		if err != nil || start < 0 || start > n {
			return 0, 0, "", warden.Errorf(warden.InvalidArgument, "page_token: malformed page token")
		}
	}
	if size == 0 {
		size = 100
	}
	end = min(start+int(size), n)
	if end < n {
		next = strconv.Itoa(end)
	}
	return start, end, next, nil
}

// ListAccessBindings implements GroupService.ListAccessBindings: the
// bindings on the group (who may manage it), not those naming it.
func (g *Groups) ListAccessBindings(ctx context.Context, req *access.ListAccessBindingsRequest) (*access.ListAccessBindingsResponse, error) {
	return g.s.listAccessBindings(ctx, req, warden.TypeGroup)
}

// SetAccessBindings implements GroupService.SetAccessBindings.
func (g *Groups) SetAccessBindings(ctx context.Context, req *access.SetAccessBindingsRequest) (*operationT, error) {
	return g.s.setAccessBindings(ctx, req, warden.TypeGroup)
}

// UpdateAccessBindings implements GroupService.UpdateAccessBindings.
func (g *Groups) UpdateAccessBindings(ctx context.Context, req *access.UpdateAccessBindingsRequest) (*operationT, error) {
	return g.s.updateAccessBindings(ctx, req, warden.TypeGroup)
}
