package service

import (
	"context"

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
	var ev *warden.AuditEvent
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
	s.exportEvents(ev)
	s.log.Info("bootstrapped a new database", "organization_id", b.OrganizationID, "cloud_id", b.CloudID, "folder_id", b.FolderID, "admin_id", b.AdminID)
	return b, nil
}
