package service

import (
	"context"
	"time"

	"github.com/yandex-cloud/go-genproto/yandex/cloud/access"
	idp "github.com/yandex-cloud/go-genproto/yandex/cloud/organizationmanager/v1/idp"
	"google.golang.org/protobuf/proto"

	"warden"
)

// Userpools implements organizationmanager idp UserpoolService. A userpool
// is a resource under its organization; its users are user accounts of the
// organization that name it (attrUserpool), and their logins end in
// "@" + the pool's domain (its default_subdomain).
type Userpools struct {
	idp.UnimplementedUserpoolServiceServer
	s *Service
}

// Userpools returns the UserpoolService server.
func (s *Service) Userpools() *Userpools { return &Userpools{s: s} }

// Attributes of userpools and of the users in them.
const (
	attrDomain    = "domain"
	attrUserpool  = "userpool_id"
	attrUpdatedAt = "updated_at"
)

// DefaultUserpoolDomain is the domain of the pool that bootstrap creates:
// its users log in as name@default.
const DefaultUserpoolDomain = "default"

func userpoolProto(r *warden.Resource) *idp.Userpool {
	updated := attrTime(r, attrUpdatedAt)
	if updated.IsZero() {
		updated = r.CreatedAt
	}
	return &idp.Userpool{
		Id: r.ID, OrganizationId: r.ParentID, Name: r.Name, Description: r.Description, Labels: r.Labels,
		CreatedAt: ts(r.CreatedAt), UpdatedAt: ts(updated), Domains: []string{r.Attrs[attrDomain]}, Status: idp.Userpool_ACTIVE,
	}
}

func poolResponse(r *warden.Resource) proto.Message { return userpoolProto(r) }

// unsupportedPolicies refuses the per-pool policies Warden does not keep:
// its password policy is server-wide (length, common passwords, login name,
// --password-max-age) and login throttling is the server's. Accepting and
// ignoring them would let an operator believe a policy holds that does not.
func unsupportedPolicies(m interface {
	GetUserSettings() *idp.UserSettings
	GetPasswordQualityPolicy() *idp.PasswordQualityPolicy
	GetPasswordLifetimePolicy() *idp.PasswordLifetimePolicy
	GetBruteforceProtectionPolicy() *idp.BruteforceProtectionPolicy
	GetPasswordBlacklistPolicy() *idp.PasswordBlacklistPolicy
}) error {
	for field, set := range map[string]bool{
		"user_settings":                m.GetUserSettings() != nil,
		"password_quality_policy":      m.GetPasswordQualityPolicy() != nil,
		"password_lifetime_policy":     m.GetPasswordLifetimePolicy() != nil,
		"bruteforce_protection_policy": m.GetBruteforceProtectionPolicy() != nil,
		"password_blacklist_policy":    m.GetPasswordBlacklistPolicy() != nil,
	} {
		if set {
			return warden.Errorf(warden.InvalidArgument, "%s: not supported: Warden's password and login policies are server-wide (see wardend --password-max-age)", field)
		}
	}
	return nil
}

// Get implements UserpoolService.Get.
func (p *Userpools) Get(ctx context.Context, req *idp.GetUserpoolRequest) (*idp.Userpool, error) {
	r, err := p.s.get(ctx, req.UserpoolId, warden.TypeUserpool)
	if err != nil {
		return nil, err
	}
	return userpoolProto(r), nil
}

// List implements UserpoolService.List.
func (p *Userpools) List(ctx context.Context, req *idp.ListUserpoolsRequest) (*idp.ListUserpoolsResponse, error) {
	rs, next, err := p.s.list(ctx, warden.TypeUserpool, req.OrganizationId, warden.TypeOrganization, req.Filter, req)
	if err != nil {
		return nil, err
	}
	out := &idp.ListUserpoolsResponse{NextPageToken: next}
	for _, r := range rs {
		out.Userpools = append(out.Userpools, userpoolProto(r))
	}
	return out, nil
}

// Create implements UserpoolService.Create. The domain (default_subdomain)
// must be unique in the organization, as logins are.
func (p *Userpools) Create(ctx context.Context, req *idp.CreateUserpoolRequest) (*operationT, error) {
	if err := unsupportedPolicies(req); err != nil {
		return nil, err
	}
	r := &warden.Resource{ID: warden.NewID(warden.PrefixUserpool), Type: warden.TypeUserpool, ParentID: req.OrganizationId,
		Name: req.Name, Description: req.Description, Labels: req.Labels, Attrs: map[string]string{attrDomain: req.DefaultSubdomain}}
	r.Status, r.CreatedAt = warden.StatusActive, p.s.now().UTC()
	var op *operationT
	err := p.s.mutate(ctx, func(tx warden.Tx, c *auditEdit) (err error) {
		if _, err := p.s.getResource(ctx, tx, r.ParentID, warden.TypeOrganization); err != nil {
			return err
		}
		if err := p.s.domainFree(ctx, tx, r); err != nil {
			return err
		}
		if err := tx.CreateResource(ctx, r); err != nil {
			return err
		}
		c.created(ctx, tx, r)
		c.set("name", r.Name)
		op, err = p.s.newOperation(ctx, tx, r.ID, "Create userpool", &idp.CreateUserpoolMetadata{UserpoolId: r.ID}, userpoolProto(r))
		return err
	})
	if err == nil {
		p.s.authz.changed()
	}
	return op, err
}

// domainFree refuses a pool whose domain another pool of its organization
// has.
func (s *Service) domainFree(ctx context.Context, tx warden.Tx, pool *warden.Resource) error {
	for tok := ""; ; {
		pools, next, err := tx.ListResources(ctx, warden.ResourceFilter{Type: warden.TypeUserpool, ParentID: pool.ParentID, Page: warden.Page{Size: 1000, Token: tok}})
		if err != nil {
			return err
		}
		for _, other := range pools {
			if other.ID != pool.ID && other.Attrs[attrDomain] == pool.Attrs[attrDomain] {
				return warden.Errorf(warden.AlreadyExists, "default_subdomain: userpool %s already has the domain %q", other.ID, pool.Attrs[attrDomain])
			}
		}
		if next == "" {
			return nil
		}
		tok = next
	}
}

// Update implements UserpoolService.Update. The domain cannot change: the
// logins of the pool's users end in it.
func (p *Userpools) Update(ctx context.Context, req *idp.UpdateUserpoolRequest) (*operationT, error) {
	if err := unsupportedPolicies(req); err != nil {
		return nil, err
	}
	present := presentFields(map[string]bool{"name": req.Name != "", "description": req.Description != "", "labels": req.Labels != nil})
	now := p.s.now().UTC().Format(time.RFC3339Nano)
	stamp := func(r *warden.Resource) {
		if r.Attrs == nil {
			r.Attrs = map[string]string{}
		}
		r.Attrs[attrUpdatedAt] = now
	}
	fields := mutableFields{
		"name":        func(r *warden.Resource) { r.Name = req.Name; stamp(r) },
		"description": func(r *warden.Resource) { r.Description = req.Description; stamp(r) },
		"labels":      func(r *warden.Resource) { r.Labels = copyLabels(req.Labels); stamp(r) },
	}
	return p.s.update(ctx, req.UserpoolId, warden.TypeUserpool, req.UpdateMask, present, fields, "Update userpool",
		&idp.UpdateUserpoolMetadata{UserpoolId: req.UserpoolId}, poolResponse)
}

// Delete implements UserpoolService.Delete: only an empty pool goes, so
// that no user is left in a pool that does not exist.
func (p *Userpools) Delete(ctx context.Context, req *idp.DeleteUserpoolRequest) (*operationT, error) {
	var users []*warden.Resource
	err := p.s.store.View(ctx, func(tx warden.Tx) error {
		pool, err := p.s.getResource(ctx, tx, req.UserpoolId, warden.TypeUserpool)
		if err != nil {
			return err
		}
		users, _, err = tx.ListResources(ctx, warden.ResourceFilter{Type: warden.TypeUserAccount, ParentID: pool.ParentID, Page: warden.Page{Size: 1},
			Keep: func(r *warden.Resource) bool { return r.Attrs[attrUserpool] == pool.ID }})
		return err
	})
	if err != nil {
		return nil, err
	}
	if len(users) > 0 {
		return nil, warden.Errorf(warden.FailedPrecondition, "userpool %s still has users (%s): delete them first", req.UserpoolId, users[0].ID)
	}
	return p.s.remove(ctx, req.UserpoolId, warden.TypeUserpool, "Delete userpool", &idp.DeleteUserpoolMetadata{UserpoolId: req.UserpoolId})
}

// ListOperations implements UserpoolService.ListOperations.
func (p *Userpools) ListOperations(ctx context.Context, req *idp.ListUserpoolOperationsRequest) (*idp.ListUserpoolOperationsResponse, error) {
	ops, next, err := p.s.listOperations(ctx, req.UserpoolId, warden.TypeUserpool, req)
	if err != nil {
		return nil, err
	}
	return &idp.ListUserpoolOperationsResponse{Operations: ops, NextPageToken: next}, nil
}

// ListAccessBindings implements UserpoolService.ListAccessBindings.
func (p *Userpools) ListAccessBindings(ctx context.Context, req *access.ListAccessBindingsRequest) (*access.ListAccessBindingsResponse, error) {
	return p.s.listAccessBindings(ctx, req, warden.TypeUserpool)
}

// SetAccessBindings implements UserpoolService.SetAccessBindings.
func (p *Userpools) SetAccessBindings(ctx context.Context, req *access.SetAccessBindingsRequest) (*operationT, error) {
	return p.s.setAccessBindings(ctx, req, warden.TypeUserpool)
}

// UpdateAccessBindings implements UserpoolService.UpdateAccessBindings.
func (p *Userpools) UpdateAccessBindings(ctx context.Context, req *access.UpdateAccessBindingsRequest) (*operationT, error) {
	return p.s.updateAccessBindings(ctx, req, warden.TypeUserpool)
}
