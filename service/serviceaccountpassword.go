package service

import (
	"context"

	"warden"
	"warden/audit"
	"warden/secret"
)

// Service accounts with a password are Selectel's "service users": they
// authenticate with Keystone's password method, by ID or by name in their
// domain (the cloud of their folder). Service-account names are unique per
// folder only, so a name must be kept unique among the accounts of a domain
// that hold a password: setting a password, renaming an account that has
// one, or giving a user account its first password is refused when it
// would make a name in a domain resolve to two accounts.

const permSetServiceAccountPassword = "iam.serviceAccounts.setPassword"

// generatedPasswordBytes is the entropy of a generated password: 192 bits,
// 32 URL-safe characters.
const generatedPasswordBytes = 24

// SetServiceAccountPassword sets a service account's password, or with
// generate a random one, which it returns (shown once). It needs
// iam.serviceAccounts.setPassword on the account and passes the escalation
// guard: a password is a credential of the account. The account's Keystone
// tokens issued through the previous password are revoked on every node.
func (s *Service) SetServiceAccountPassword(ctx context.Context, id, password string, generate bool) (secret.String, error) {
	audit.CallFrom(ctx).SetResource(id)
	if generate == (password != "") {
		return secret.String{}, warden.Errorf(warden.InvalidArgument, "password: give a password or ask for a generated one, not both or neither")
	}
	if generate {
		password = secret.RandomToken(generatedPasswordBytes)
	} else if err := ValidatePassword(password); err != nil {
		return secret.String{}, err
	}
	if err := s.authorize(ctx, permSetServiceAccountPassword, id); err != nil {
		return secret.String{}, err
	}
	err := s.store.View(ctx, func(tx warden.Tx) error {
		sa, err := s.getResource(ctx, tx, id, warden.TypeServiceAccount)
		if err != nil {
			return err
		}
		return s.keystoneNameFree(ctx, tx, sa)
	})
	if err != nil {
		return secret.String{}, err
	}
	if err := s.guardMint(ctx, id); err != nil {
		return secret.String{}, err
	}
	hash, err := s.hashPassword(ctx, password)
	if err != nil {
		return secret.String{}, err
	}
	var revoked []string
	err = s.mutate(ctx, func(tx warden.Tx, ch *auditEdit) error {
		sa, err := s.getResource(ctx, tx, id, warden.TypeServiceAccount)
		if err != nil {
			return err
		}
		// Checked again where it is written: a rename or another password
		// may have come in while the hash ran.
		if err := s.keystoneNameFree(ctx, tx, sa); err != nil {
			return err
		}
		if revoked, err = s.deletePasswords(ctx, tx, id); err != nil {
			return err
		}
		c := &warden.Credential{
			ID: warden.NewID(warden.PrefixPassword), Kind: warden.CredPassword, SubjectID: id,
			Hash: []byte(hash), CreatedAt: s.now().UTC(),
		}
		ch.credential(ctx, tx, c)
		ch.set("generated", generate)
		ch.set("revoked_credentials", revoked)
		return tx.CreateCredential(ctx, c)
	})
	if err != nil {
		return secret.String{}, err
	}
	s.revokedHere(revoked...)
	if generate {
		return secret.New(password), nil
	}
	return secret.String{}, nil
}

// RemoveServiceAccountPassword removes a service account's password; its
// Keystone tokens are revoked with it. NotFound when it has none.
func (s *Service) RemoveServiceAccountPassword(ctx context.Context, id string) error {
	audit.CallFrom(ctx).SetResource(id)
	if err := s.authorize(ctx, permSetServiceAccountPassword, id); err != nil {
		return err
	}
	var revoked []string
	err := s.mutate(ctx, func(tx warden.Tx, ch *auditEdit) (err error) {
		if _, err := s.getResource(ctx, tx, id, warden.TypeServiceAccount); err != nil {
			return err
		}
		ch.on(ctx, tx, id)
		if revoked, err = s.deletePasswords(ctx, tx, id); err != nil {
			return err
		}
		ch.set("revoked_credentials", revoked)
		if len(revoked) == 0 {
			return warden.Errorf(warden.NotFound, "service account %s has no password", id)
		}
		return nil
	})
	if err != nil {
		return err
	}
	s.revokedHere(revoked...)
	return nil
}

// deletePasswords deletes an account's passwords in tx, revoking the
// tokens issued through them, and returns their IDs.
func (s *Service) deletePasswords(ctx context.Context, tx warden.Tx, subjectID string) ([]string, error) {
	var ids []string
	for p := (warden.Page{Size: 1000}); ; {
		creds, next, err := tx.ListCredentials(ctx, subjectID, warden.CredPassword, p)
		if err != nil {
			return nil, err
		}
		for _, c := range creds {
			if err := s.deleteCredential(ctx, tx, c); err != nil {
				return nil, err
			}
			ids = append(ids, c.ID)
		}
		if next == "" {
			return ids, nil
		}
		p.Token = next
	}
}

// keystoneNameFree refuses, with FailedPrecondition, a service account
// whose name another account with a password already holds in its domain,
// when the account has a password or is about to get one. Accounts without
// a password never log in by name, so they never make a name ambiguous.
func (s *Service) keystoneNameFree(ctx context.Context, tx warden.Tx, sa *warden.Resource) error {
	folder, err := tx.GetResource(ctx, sa.ParentID)
	if err != nil {
		return err
	}
	cloud, err := tx.GetResource(ctx, folder.ParentID)
	if err != nil {
		return err
	}
	others, err := s.passwordHolders(ctx, tx, cloud, sa.Name, sa.ID)
	if err != nil {
		return err
	}
	if len(others) > 0 {
		return warden.Errorf(warden.FailedPrecondition,
			"name %q: %s, also in cloud %s, has a password: accounts with a password must be named uniquely in their cloud (their Keystone domain)",
			sa.Name, others[0].ID, cloud.ID)
	}
	return nil
}

// renamedNameFree is keystoneNameFree for an account being updated: only
// one that has a password can make its new name ambiguous.
func (s *Service) renamedNameFree(ctx context.Context, tx warden.Tx, sa *warden.Resource) error {
	creds, _, err := tx.ListCredentials(ctx, sa.ID, warden.CredPassword, warden.Page{Size: 1})
	if err != nil || len(creds) == 0 {
		return err
	}
	return s.keystoneNameFree(ctx, tx, sa)
}

// userNameFree is keystoneNameFree for a user account about to get its
// first password: a user is in every cloud of its organization.
func (s *Service) userNameFree(ctx context.Context, tx warden.Tx, user *warden.Resource) error {
	for tok := ""; ; {
		clouds, next, err := tx.ListResources(ctx, warden.ResourceFilter{Type: warden.TypeCloud, ParentID: user.ParentID, Page: warden.Page{Size: 1000, Token: tok}})
		if err != nil {
			return err
		}
		for _, c := range clouds {
			others, err := s.passwordHolders(ctx, tx, c, user.Name, user.ID)
			if err != nil {
				return err
			}
			if len(others) > 0 {
				return warden.Errorf(warden.FailedPrecondition,
					"name %q: %s, in cloud %s, has a password: accounts with a password must be named uniquely in a cloud (their Keystone domain)",
					user.Name, others[0].ID, c.ID)
			}
		}
		if next == "" {
			return nil
		}
		tok = next
	}
}
