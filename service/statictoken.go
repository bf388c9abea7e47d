package service

import (
	"context"
	"encoding/json"
	"strings"
	"time"
	"unicode/utf8"

	"warden"
	"warden/authn"
	"warden/secret"
	"warden/statictoken"
	"warden/token"
)

// StaticToken is an account's static token as the API describes it: never
// its secret.
type StaticToken struct {
	ID           string
	SubjectID    string
	Description  string
	MaskedSecret string
	CreatedAt    time.Time
	ExpiresAt    time.Time // zero: never
}

// staticTokenData is what a static token credential's Data holds.
type staticTokenData struct {
	MaskedSecret string `json:"masked_secret"`
}

// Permissions on a service account or a user account that govern its
// static tokens; an account needs none for its own.
const (
	permSAStaticTokensGet      = "iam.serviceAccounts.staticTokens.get"
	permSAStaticTokensList     = "iam.serviceAccounts.staticTokens.list"
	permSAStaticTokensCreate   = "iam.serviceAccounts.staticTokens.create"
	permSAStaticTokensDelete   = "iam.serviceAccounts.staticTokens.delete"
	permUserStaticTokensGet    = "iam.userAccounts.staticTokens.get"
	permUserStaticTokensList   = "iam.userAccounts.staticTokens.list"
	permUserStaticTokensCreate = "iam.userAccounts.staticTokens.create"
	permUserStaticTokensDelete = "iam.userAccounts.staticTokens.delete"
)

// staticTokenPerms are the permissions of one action, by the type of
// account the token belongs to.
type staticTokenPerms struct{ serviceAccount, userAccount string }

var (
	staticTokensGet    = staticTokenPerms{permSAStaticTokensGet, permUserStaticTokensGet}
	staticTokensList   = staticTokenPerms{permSAStaticTokensList, permUserStaticTokensList}
	staticTokensCreate = staticTokenPerms{permSAStaticTokensCreate, permUserStaticTokensCreate}
	staticTokensDelete = staticTokenPerms{permSAStaticTokensDelete, permUserStaticTokensDelete}
)

func (p staticTokenPerms) of(subjectID string) string {
	if strings.HasPrefix(subjectID, warden.PrefixUserAccount) {
		return p.userAccount
	}
	return p.serviceAccount
}

// Limits of static tokens.
const (
	maxStaticTokenDescription = 256
	// MaxStaticTokens bounds the tokens of one account: each is held in
	// every wardend's memory.
	MaxStaticTokens = 100
)

// StaticTokenIndex returns the in-memory index the X-Token scheme checks.
func (s *Service) StaticTokenIndex() authn.StaticTokenIndex { return s.staticTokens }

// staticTokenOwner is the account whose tokens a call is about: subjectID,
// or the caller when it is empty. An account needs no permission for its
// own tokens; another's needs perm on it.
func (s *Service) staticTokenOwner(ctx context.Context, subjectID string, perm staticTokenPerms) (string, error) {
	caller := SubjectFrom(ctx)
	if subjectID == "" {
		subjectID = caller.ID
	}
	if !isAccountID(subjectID) {
		// Not repeated: a secret pasted into the wrong field stays unsaid.
		return "", warden.Errorf(warden.InvalidArgument, "subjectId: not the ID of a user account or a service account")
	}
	if subjectID == caller.ID {
		return subjectID, nil
	}
	return subjectID, s.authorize(ctx, perm.of(subjectID), subjectID)
}

func isAccountID(id string) bool {
	return len(id) == warden.IDLength && (strings.HasPrefix(id, warden.PrefixUserAccount) || strings.HasPrefix(id, warden.PrefixServiceAccount))
}

func accountType(id string) warden.ResourceType {
	if strings.HasPrefix(id, warden.PrefixUserAccount) {
		return warden.TypeUserAccount
	}
	return warden.TypeServiceAccount
}

// CreateStaticToken stores a new static token for subjectID (the caller
// when empty) and returns it with its secret, the only time the secret
// exists outside the caller. expiresAt zero: it never expires. Minting one
// passes the escalation guard, for the caller's own account too (a caller
// confined to a scope hands out nothing beyond it).
func (s *Service) CreateStaticToken(ctx context.Context, subjectID, description string, expiresAt time.Time) (*StaticToken, secret.String, error) {
	if n := utf8.RuneCountInString(description); !utf8.ValidString(description) || n > maxStaticTokenDescription {
		return nil, secret.String{}, warden.Errorf(warden.InvalidArgument, "description: at most %d characters of valid UTF-8", maxStaticTokenDescription)
	}
	if strings.Contains(description, statictoken.Prefix) {
		return nil, secret.String{}, warden.Errorf(warden.InvalidArgument, "description: must not hold a static token secret")
	}
	now := s.now()
	if !expiresAt.IsZero() && !expiresAt.After(now) {
		return nil, secret.String{}, warden.Errorf(warden.InvalidArgument, "expiresAt: %s is not in the future", expiresAt.UTC().Format(time.RFC3339))
	}
	sub, err := s.staticTokenOwner(ctx, subjectID, staticTokensCreate)
	if err != nil {
		return nil, secret.String{}, err
	}
	if err := s.guardMint(ctx, sub); err != nil {
		return nil, secret.String{}, err
	}
	out := &StaticToken{ID: warden.NewID(warden.PrefixStaticToken), SubjectID: sub, Description: description, CreatedAt: now, ExpiresAt: expiresAt.UTC()}
	sec := statictoken.NewSecret(out.ID)
	out.MaskedSecret = secret.Masked(sec)
	data, err := json.Marshal(staticTokenData{MaskedSecret: out.MaskedSecret})
	if err != nil {
		return nil, secret.String{}, &warden.Error{Code: warden.Internal, Message: "internal error", Cause: err}
	}
	err = s.store.Update(ctx, func(tx warden.Tx) error {
		acct, err := s.getResource(ctx, tx, sub, accountType(sub))
		if err != nil {
			return err
		}
		if !nodeOf(acct).ActiveAt(now) {
			return warden.Errorf(warden.FailedPrecondition, "%s %s is suspended or expired", typeNames[acct.Type], sub)
		}
		held, _, err := tx.ListCredentials(ctx, sub, warden.CredStaticToken, warden.Page{Size: MaxStaticTokens})
		if err != nil {
			return err
		}
		if len(held) >= MaxStaticTokens {
			return warden.Errorf(warden.FailedPrecondition, "%s %s already has %d static tokens, the most an account may hold: revoke one first", typeNames[acct.Type], sub, MaxStaticTokens)
		}
		return tx.CreateCredential(ctx, &warden.Credential{
			ID: out.ID, Kind: warden.CredStaticToken, SubjectID: sub, Hash: secret.Hash(sec), Data: data,
			Description: description, CreatedAt: now, ExpiresAt: out.ExpiresAt,
		})
	})
	if err != nil {
		return nil, secret.String{}, err
	}
	s.staticTokens.changed(ctx, out.ID)
	return out, secret.New(sec), nil
}

// GetStaticToken returns a token the caller may read.
func (s *Service) GetStaticToken(ctx context.Context, id string) (*StaticToken, error) {
	c, err := s.authorizeStaticToken(ctx, staticTokensGet, id)
	if err != nil {
		return nil, err
	}
	return decodeStaticToken(c)
}

// ListStaticTokens returns one page of an account's tokens (the caller's
// when subjectID is empty), without their secrets.
func (s *Service) ListStaticTokens(ctx context.Context, subjectID string, p warden.Page) ([]*StaticToken, string, error) {
	sub, err := s.staticTokenOwner(ctx, subjectID, staticTokensList)
	if err != nil {
		return nil, "", err
	}
	var out []*StaticToken
	var next string
	err = s.store.View(ctx, func(tx warden.Tx) error {
		if _, err := s.getResource(ctx, tx, sub, accountType(sub)); err != nil {
			return err
		}
		cs, n, err := tx.ListCredentials(ctx, sub, warden.CredStaticToken, p)
		if err != nil {
			return err
		}
		next = n
		for _, c := range cs {
			t, err := decodeStaticToken(c)
			if err != nil {
				return err
			}
			out = append(out, t)
		}
		return nil
	})
	if err != nil {
		return nil, "", err
	}
	return out, next, nil
}

// RevokeStaticToken deletes a token, and with it every IAM token minted on
// its behalf; requests with it are refused on this wardend when it returns
// and on the others within the refresh interval.
func (s *Service) RevokeStaticToken(ctx context.Context, id string) error {
	if _, err := s.authorizeStaticToken(ctx, staticTokensDelete, id); err != nil {
		return err
	}
	err := s.store.Update(ctx, func(tx warden.Tx) error {
		c, err := getCredential(ctx, tx, id, warden.CredStaticToken, "static token")
		if err != nil {
			return err
		}
		return s.deleteCredential(ctx, tx, c)
	})
	s.staticTokens.changed(ctx, id)
	if err == nil {
		s.revokedHere(id)
	}
	return err
}

// authorizeStaticToken returns a token the caller may act on: its own
// account's, or another's with the permission on that account. Whether an
// ID exists is told only to a caller who holds the permission somewhere,
// as for resources.
func (s *Service) authorizeStaticToken(ctx context.Context, perm staticTokenPerms, id string) (*warden.Credential, error) {
	if len(id) != warden.IDLength || !strings.HasPrefix(id, warden.PrefixStaticToken) {
		return nil, warden.Errorf(warden.InvalidArgument, "id: not the ID of a static token (%s…, %d characters)", warden.PrefixStaticToken, warden.IDLength)
	}
	var c *warden.Credential
	err := s.store.View(ctx, func(tx warden.Tx) (err error) {
		c, err = getCredential(ctx, tx, id, warden.CredStaticToken, "static token")
		return err
	})
	if warden.IsCode(err, warden.NotFound) {
		if aerr := s.authorize(ctx, perm.serviceAccount, id); aerr != nil {
			return nil, aerr
		}
		return nil, err
	}
	if err != nil {
		return nil, err
	}
	if c.SubjectID != SubjectFrom(ctx).ID {
		if err := s.authorize(ctx, perm.of(c.SubjectID), c.SubjectID); err != nil {
			return nil, err
		}
	}
	return c, nil
}

func decodeStaticToken(c *warden.Credential) (*StaticToken, error) {
	var d staticTokenData
	if err := json.Unmarshal(c.Data, &d); err != nil {
		return nil, &warden.Error{Code: warden.Internal, Message: "internal error", Cause: err}
	}
	return &StaticToken{
		ID: c.ID, SubjectID: c.SubjectID, Description: c.Description, MaskedSecret: d.MaskedSecret,
		CreatedAt: c.CreatedAt, ExpiresAt: c.ExpiresAt,
	}, nil
}

// SubjectType returns the token's account type (token.SubjectUserAccount
// or token.SubjectServiceAccount).
func (t *StaticToken) SubjectType() string {
	if accountType(t.SubjectID) == warden.TypeUserAccount {
		return token.SubjectUserAccount
	}
	return token.SubjectServiceAccount
}
