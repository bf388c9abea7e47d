package service

import (
	"context"
	"encoding/base64"
	"fmt"
	"slices"
	"strings"

	iam "github.com/yandex-cloud/go-genproto/yandex/cloud/iam/v1"

	"warden"
	"warden/access"
	"warden/api/analyzerpb"
)

// Who can reach what, for audits: every binding that applies to a subject
// (iam.v1.AccessAnalyzerService), and every role held on a resource
// (Warden's ResourceAccessService). Both read the node's authorization
// snapshot, the same one every access check reads, so they answer what
// the checks decide.

const (
	permAnalyzeSubject  = "iam.accessAnalyzer.listSubjectAccessBindings"
	permAnalyzeResource = "iam.accessAnalyzer.listResourceAccessBindings"
)

// AccessAnalyzer implements iam.v1.AccessAnalyzerService.
type AccessAnalyzer struct {
	iam.UnimplementedAccessAnalyzerServiceServer
	s *Service
}

// AccessAnalyzer returns the AccessAnalyzerService server.
func (s *Service) AccessAnalyzer() *AccessAnalyzer { return &AccessAnalyzer{s: s} }

// ResourceAccess implements warden.analyzer.v1.ResourceAccessService.
type ResourceAccess struct {
	analyzerpb.UnimplementedResourceAccessServiceServer
	s *Service
}

// ResourceAccess returns the ResourceAccessService server.
func (s *Service) ResourceAccess() *ResourceAccess { return &ResourceAccess{s: s} }

// analyzerTypes are the resource types as Yandex's APIs name them.
var analyzerTypes = map[warden.ResourceType]string{
	warden.TypeOrganization:   "organization-manager.organization",
	warden.TypeCloud:          "resource-manager.cloud",
	warden.TypeFolder:         "resource-manager.folder",
	warden.TypeServiceAccount: "iam.serviceAccount",
	warden.TypeUserAccount:    "iam.userAccount",
	warden.TypeUserpool:       "organization-manager.idp.userpool",
	warden.TypeGroup:          "organization-manager.group",
}

func analyzerType(t warden.ResourceType) string {
	if name, ok := analyzerTypes[t]; ok {
		return name
	}
	return string(t)
}

// subjectsOf is every subject whose bindings apply to subjectID: itself,
// the groups it belongs to, and the system groups that take it in (a
// user's organization's members group among them).
func subjectsOf(snap *access.Snapshot, subjectID string) []string {
	out := []string{subjectID}
	out = append(out, snap.GroupsOf(subjectID)...)
	switch subjectID {
	case access.AllUsers:
	case access.AllAuthenticatedUsers:
		out = append(out, access.AllUsers)
	default:
		out = append(out, access.AllUsers)
		n, ok := snap.Node(subjectID)
		if ok && (n.Type == warden.TypeUserAccount || n.Type == warden.TypeServiceAccount) {
			out = append(out, access.AllAuthenticatedUsers)
		}
		if ok && n.Type == warden.TypeUserAccount {
			out = append(out, access.OrgUsersGroup(n.ParentID))
		}
	}
	return out
}

// analyzerPage cuts a sorted list at the key a page token names and at the
// page size. Tokens are the key of the last item answered, so a page does
// not shift when items before it come or go.
func analyzerPage[T any](items []T, key func(T) string, size int64, token string) ([]T, string, error) {
	start := 0
	if token != "" {
		after, err := base64.RawURLEncoding.DecodeString(token)
		if err != nil {
			return nil, "", warden.Errorf(warden.InvalidArgument, "page_token: malformed page token")
		}
		start, _ = slices.BinarySearchFunc(items, string(after), func(x T, k string) int { return strings.Compare(key(x), k) })
		if start < len(items) && key(items[start]) == string(after) {
			start++
		}
	}
	if size <= 0 {
		size = 100
	}
	end := min(start+int(size), len(items))
	next := ""
	if end < len(items) {
		next = base64.RawURLEncoding.EncodeToString([]byte(key(items[end-1])))
	}
	return items[start:end], next, nil
}

// ListSubjectAccessBindings implements AccessAnalyzerService: every role
// bound, within the organization, to the subject or to a group it belongs
// to (the system groups included), with the resource it is bound on. The
// permission table has checked iam.accessAnalyzer.listSubjectAccessBindings
// on the organization.
func (a *AccessAnalyzer) ListSubjectAccessBindings(ctx context.Context, req *iam.ListSubjectAccessBindingsRequest) (*iam.ListSubjectAccessBindingsResponse, error) {
	snap := a.s.authz.snap.Load()
	if org, ok := snap.Node(req.OrganizationId); !ok || org.Type != warden.TypeOrganization {
		return nil, warden.Errorf(warden.NotFound, "organization %s not found", req.OrganizationId)
	}
	grants := snap.BindingsOf(subjectsOf(snap, req.SubjectId), req.OrganizationId)
	page, next, err := analyzerPage(grants, grantKey, req.PageSize, req.PageToken)
	if err != nil {
		return nil, err
	}
	out := &iam.ListSubjectAccessBindingsResponse{NextPageToken: next}
	for _, g := range page {
		out.SubjectAccessBindings = append(out.SubjectAccessBindings, &iam.SubjectAccessBinding{
			RoleId: g.RoleID, SubjectId: g.SubjectID,
			Resource: &iam.Resource{Id: g.Resource.ID, Type: analyzerType(g.Resource.Type)},
		})
	}
	return out, nil
}

func grantKey(g access.Grant) string {
	return g.Resource.ID + "\x00" + g.RoleID + "\x00" + g.SubjectID
}

// subjectType names a subject as access bindings do.
func subjectType(snap *access.Snapshot, id string) string {
	if _, org := access.OrgOfUsersGroup(id); org || id == access.AllUsers || id == access.AllAuthenticatedUsers {
		return "system"
	}
	if n, ok := snap.Node(id); ok {
		return string(n.Type)
	}
	return ""
}

// ListResourceAccessBindings implements ResourceAccessService: every role
// held on the resource, through a binding on it or on an ancestor, and,
// with expand_groups, by each member of a group holding one. The permission
// table has checked iam.accessAnalyzer.listResourceAccessBindings on the
// resource.
func (r *ResourceAccess) ListResourceAccessBindings(ctx context.Context, req *analyzerpb.ListResourceAccessBindingsRequest) (*analyzerpb.ListResourceAccessBindingsResponse, error) {
	if req.ResourceId == "" {
		return nil, warden.Errorf(warden.InvalidArgument, "resource_id: required")
	}
	if req.PageSize < 0 || req.PageSize > 1000 {
		return nil, warden.Errorf(warden.InvalidArgument, "page_size: must be between 0 and 1000")
	}
	snap := r.s.authz.snap.Load()
	grants, ok := snap.BindingsOn(req.ResourceId)
	if !ok {
		return nil, warden.Errorf(warden.NotFound, "resource %s not found", req.ResourceId)
	}
	type held struct {
		key string // distance up the hierarchy, subject, role, group: the order of the answer
		b   *analyzerpb.ResourceAccessBinding
	}
	var all []held
	depth, at := 0, req.ResourceId
	for _, g := range grants {
		if g.Resource.ID != at {
			depth, at = depth+1, g.Resource.ID
		}
		bound := &analyzerpb.Resource{Id: g.Resource.ID, Type: analyzerType(g.Resource.Type), Name: g.Resource.Name}
		inherited := depth > 0
		sub := &analyzerpb.Subject{Id: g.SubjectID, Type: subjectType(snap, g.SubjectID)}
		prefix := fmt.Sprintf("%03d\x00", depth)
		all = append(all, held{prefix + g.SubjectID + "\x00" + g.RoleID + "\x00",
			&analyzerpb.ResourceAccessBinding{RoleId: g.RoleID, Subject: sub, BoundOn: bound, Inherited: inherited}})
		if !req.ExpandGroups || sub.Type != "group" {
			continue
		}
		for _, m := range snap.Members(g.SubjectID) {
			all = append(all, held{prefix + m + "\x00" + g.RoleID + "\x00" + g.SubjectID, &analyzerpb.ResourceAccessBinding{
				RoleId: g.RoleID, Subject: &analyzerpb.Subject{Id: m, Type: subjectType(snap, m)},
				BoundOn: bound, Inherited: inherited, ViaGroup: sub,
			}})
		}
	}
	slices.SortFunc(all, func(a, b held) int { return strings.Compare(a.key, b.key) })
	page, next, err := analyzerPage(all, func(h held) string { return h.key }, req.PageSize, req.PageToken)
	if err != nil {
		return nil, err
	}
	out := &analyzerpb.ListResourceAccessBindingsResponse{NextPageToken: next}
	for _, h := range page {
		out.ResourceAccessBindings = append(out.ResourceAccessBindings, h.b)
	}
	return out, nil
}
