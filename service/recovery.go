package service

import (
	"context"
	"strings"

	"warden"
	"warden/secret"
)

// metaBootstrap is the meta row that a first start claims (see bootstrap).
const metaBootstrap = "bootstrap"

// Bootstrapped reports whether store holds a database that a first start
// has bootstrapped. wardend creates nothing (no master key, no token file)
// for a database that has been, and refuses to act as a first start on one.
func Bootstrapped(ctx context.Context, store warden.Store) (bool, error) {
	err := store.View(ctx, func(tx warden.Tx) error {
		_, err := tx.Meta(ctx, metaBootstrap)
		return err
	})
	if warden.IsCode(err, warden.NotFound) {
		return false, nil
	}
	return err == nil, err
}

// CheckMasterKey returns FailedPrecondition when the service's master key
// does not open the newest signing key of the database: the operator gave a
// key other than the one the database was made with. A database without
// signing keys passes.
func (s *Service) CheckMasterKey(ctx context.Context) error {
	var keys []*warden.SigningKey
	err := s.store.View(ctx, func(tx warden.Tx) (err error) {
		keys, err = tx.SigningKeys(ctx)
		return err
	})
	if err != nil || len(keys) == 0 {
		return err
	}
	if _, err := s.sealer.Open(keys[0].Private, []byte(keys[0].ID)); err != nil {
		return warden.Errorf(warden.FailedPrecondition, "the master key does not open this database's signing keys: give the key it was created with")
	}
	return nil
}

// IssueRecoveryToken creates a new OAuth token for the active user account
// whose ID or login is user: the way back in for an operator who lost the
// admin's credentials and has the database and the master key at hand. It is
// not an API method: only `wardend admin issue-token` calls it. NotFound
// when no such user exists, FailedPrecondition when the login is ambiguous,
// the account is not active or the master key is wrong.
func (s *Service) IssueRecoveryToken(ctx context.Context, user string) (secret.String, warden.Resource, error) {
	if err := s.CheckMasterKey(ctx); err != nil {
		return secret.String{}, warden.Resource{}, err
	}
	var tok secret.String
	var account *warden.Resource
	var ev *auditEntry
	err := s.store.Update(ctx, func(tx warden.Tx) (err error) {
		if account, err = findUser(ctx, tx, user); err != nil {
			return err
		}
		if account.Status != warden.StatusActive {
			return warden.Errorf(warden.FailedPrecondition, "user account %s is %s: its tokens would be refused", account.ID, strings.ToLower(string(account.Status)))
		}
		if tok, err = s.newOAuthToken(ctx, tx, account.ID, "recovery"); err != nil {
			return err
		}
		c := &auditEdit{}
		c.on(ctx, tx, account.ID)
		ev, err = s.record(ctx, tx, "warden.system.IssueRecoveryToken", c)
		return err
	})
	if err != nil {
		return secret.String{}, warden.Resource{}, err
	}
	s.committed(ev)
	s.log.Warn("recovery OAuth token issued", "user_account_id", account.ID, "login", account.Name)
	return tok, *account, nil
}

// findUser finds a user account by ID, or else by login (its name).
func findUser(ctx context.Context, tx warden.Tx, user string) (*warden.Resource, error) {
	if r, err := tx.GetResource(ctx, user); err == nil && r.Type == warden.TypeUserAccount {
		return r, nil
	} else if err != nil && !warden.IsCode(err, warden.NotFound) {
		return nil, err
	}
	users, _, err := tx.ListResources(ctx, warden.ResourceFilter{Type: warden.TypeUserAccount, Name: user, Page: warden.Page{Size: 2}})
	if err != nil {
		return nil, err
	}
	switch len(users) {
	case 0:
		return nil, warden.Errorf(warden.NotFound, "no user account with the ID or login %q", user)
	case 1:
		return users[0], nil
	}
	return nil, warden.Errorf(warden.FailedPrecondition, "several user accounts have the login %q (%s, %s, …): give an ID", user, users[0].ID, users[1].ID)
}
