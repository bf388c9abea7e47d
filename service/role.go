package service

import (
	"context"
	"strconv"

	iam "github.com/yandex-cloud/go-genproto/yandex/cloud/iam/v1"

	"warden"
)

// Roles implements iam RoleService over the role catalog.
type Roles struct {
	iam.UnimplementedRoleServiceServer
	s *Service
}

// Roles returns the RoleService server.
func (s *Service) Roles() *Roles { return &Roles{s: s} }

// Get implements RoleService.Get.
func (r *Roles) Get(ctx context.Context, req *iam.GetRoleRequest) (*iam.Role, error) {
	role, ok := r.s.authz.catalog.Role(req.RoleId)
	if !ok {
		return nil, warden.Errorf(warden.NotFound, "role %s not found", req.RoleId)
	}
	return &iam.Role{Id: role.ID, Description: role.Description}, nil
}

// List implements RoleService.List; filter takes name="<role id>".
func (r *Roles) List(ctx context.Context, req *iam.ListRolesRequest) (*iam.ListRolesResponse, error) {
	name, err := parseFilter(req.Filter)
	if err != nil {
		return nil, err
	}
	all := r.s.authz.catalog.Roles()
	start := 0
	if req.PageToken != "" {
		if start, err = strconv.Atoi(req.PageToken); err != nil || start < 0 || start > len(all) {
			return nil, warden.Errorf(warden.InvalidArgument, "page_token: malformed page token")
		}
	}
	size := int(req.PageSize)
	if size == 0 {
		size = 100
	}
	out := &iam.ListRolesResponse{}
	i := start
	for ; i < len(all) && len(out.Roles) < size; i++ {
		if name == "" || all[i].ID == name {
			out.Roles = append(out.Roles, &iam.Role{Id: all[i].ID, Description: all[i].Description})
		}
	}
	if i < len(all) && name == "" {
		out.NextPageToken = strconv.Itoa(i)
	}
	return out, nil
}
