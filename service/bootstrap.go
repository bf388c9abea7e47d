package service

import (
	"context"
	"errors"

	"warden"
	"warden/secret"
)

// Bootstrap is what a first start creates.
type Bootstrap struct {
	OrganizationID string
	CloudID        string
	FolderID       string
	AdminID        string
	// AdminOAuthToken is shown once: the caller writes it to a file.
	AdminOAuthToken secret.String
}

// bootstrap creates the organization, the cloud and folder "default" and the
// user "admin" (holding admin on the organization) in one transaction, once
// per database. A meta row claimed in the same transaction makes concurrent
// first starts of several wardend safe: exactly one wins.
func (s *Service) bootstrap(ctx context.Context) (*Bootstrap, error) {
	// The admin's password is hashed before the transaction, and only when
	// this start may bootstrap: argon2id never runs inside a transaction.
	var passwordHash string
	if s.adminPassword != "" {
		err := s.store.View(ctx, func(tx warden.Tx) error {
			_, err := tx.Meta(ctx, metaBootstrap)
			return err
		})
		switch {
		case warden.IsCode(err, warden.NotFound):
			if passwordHash, err = s.hashPassword(ctx, s.adminPassword); err != nil {
				return nil, err
			}
		case err != nil:
			return nil, err
		}
	}
	var b *Bootstrap
	var ev *auditEntry
	err := s.store.Update(ctx, func(tx warden.Tx) error {
		if _, err := tx.Meta(ctx, metaBootstrap); err == nil {
			return nil
		} else if !warden.IsCode(err, warden.NotFound) {
			return err
		}
		now := s.now().UTC()
		b = &Bootstrap{
			OrganizationID: warden.NewID(warden.PrefixOrganization), CloudID: warden.NewID(warden.PrefixCloud),
			FolderID: warden.NewID(warden.PrefixFolder), AdminID: warden.NewID(warden.PrefixUserAccount),
		}
		if err := tx.InsertMeta(ctx, metaBootstrap, b.OrganizationID); err != nil {
			return err
		}
		for _, r := range []*warden.Resource{
			{ID: b.OrganizationID, Type: warden.TypeOrganization, Name: "default", Description: "Created by Warden at first start", Attrs: map[string]string{"title": "Default organization"}},
			{ID: b.CloudID, Type: warden.TypeCloud, ParentID: b.OrganizationID, Name: "default"},
			{ID: b.FolderID, Type: warden.TypeFolder, ParentID: b.CloudID, Name: "default"},
			{ID: b.AdminID, Type: warden.TypeUserAccount, ParentID: b.OrganizationID, Name: "admin"},
		} {
			r.Status, r.CreatedAt = warden.StatusActive, now
			if err := tx.CreateResource(ctx, r); err != nil {
				return err
			}
		}
		if err := tx.SetAccessBindings(ctx, b.OrganizationID, []warden.AccessBinding{{RoleID: "admin", SubjectType: "userAccount", SubjectID: b.AdminID}}); err != nil {
			return err
		}
		if s.adminPassword != "" {
			if passwordHash == "" {
				// Another start bootstrapped and then this database was
				// emptied between the check and now: try again later.
				return warden.Errorf(warden.Unavailable, "bootstrap raced; start again")
			}
			if err := tx.CreateCredential(ctx, &warden.Credential{
				ID: warden.NewID(warden.PrefixPassword), Kind: warden.CredPassword, SubjectID: b.AdminID,
				Hash: []byte(passwordHash), CreatedAt: now,
			}); err != nil {
				return err
			}
		}
		var err error
		if b.AdminOAuthToken, err = s.newOAuthToken(ctx, tx, b.AdminID, "bootstrap"); err != nil {
			return err
		}
		c := &auditEdit{}
		c.on(ctx, tx, b.OrganizationID)
		c.set("admin_id", b.AdminID)
		c.set("admin_password_set", s.adminPassword != "")
		ev, err = s.record(ctx, tx, "warden.system.Bootstrap", c)
		return err
	})
	if err != nil || b == nil {
		return nil, err
	}
	s.committed(ev)
	s.log.Info("bootstrapped a new database", "organization_id", b.OrganizationID, "cloud_id", b.CloudID, "folder_id", b.FolderID, "admin_id", b.AdminID)
	return b, nil
}

// metaUserpools marks a database whose users have been put in userpools.
const metaUserpools = "userpools"

// errAlreadyMigrated ends a migration transaction that another wardend's
// won.
var errAlreadyMigrated = errors.New("service: already migrated")

// ensureUserpool gives a bootstrapped database its default userpool, once:
// the pool "default" (domain DefaultUserpoolDomain) of the bootstrap
// organization, holding every user account not yet in a pool — the admin
// of a new database, and the users of one bootstrapped before userpools
// existed. A meta row claimed in the same transaction makes it safe when
// several wardend start at once.
func (s *Service) ensureUserpool(ctx context.Context) error {
	err := s.store.Update(ctx, func(tx warden.Tx) error {
		if _, err := tx.Meta(ctx, metaUserpools); err == nil {
			return errAlreadyMigrated
		} else if !warden.IsCode(err, warden.NotFound) {
			return err
		}
		org, err := tx.Meta(ctx, metaBootstrap)
		if err != nil {
			return err
		}
		if err := tx.InsertMeta(ctx, metaUserpools, org); err != nil {
			if warden.IsCode(err, warden.AlreadyExists) {
				return errAlreadyMigrated
			}
			return err
		}
		pool := &warden.Resource{ID: warden.NewID(warden.PrefixUserpool), Type: warden.TypeUserpool, ParentID: org, Name: "default",
			Description: "Created by Warden", Status: warden.StatusActive, CreatedAt: s.now().UTC(), Attrs: map[string]string{attrDomain: DefaultUserpoolDomain}}
		if err := tx.CreateResource(ctx, pool); err != nil {
			return err
		}
		for tok := ""; ; {
			users, next, err := tx.ListResources(ctx, warden.ResourceFilter{Type: warden.TypeUserAccount, ParentID: org, Page: warden.Page{Size: 1000, Token: tok}})
			if err != nil {
				return err
			}
			for _, u := range users {
				if attrsOf(u)[attrUserpool] != "" {
					continue
				}
				u.Attrs[attrUserpool] = pool.ID
				if err := tx.UpdateResource(ctx, u); err != nil {
					return err
				}
			}
			if next == "" {
				break
			}
			tok = next
		}
		s.log.Info("created the default userpool", "userpool_id", pool.ID, "organization_id", org)
		return nil
	})
	if errors.Is(err, errAlreadyMigrated) {
		return nil
	}
	return err
}
