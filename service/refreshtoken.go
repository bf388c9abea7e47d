package service

import (
	"context"

	iam "github.com/yandex-cloud/go-genproto/yandex/cloud/iam/v1"

	"warden"
	"warden/secret"
	"warden/token"
)

// RefreshTokens implements iam RefreshTokenService over users' OAuth tokens
// (the y0_ tokens a login returns). They play the part of Yandex's refresh
// tokens: the long-lived credential a CLI keeps after a login and
// exchanges for IAM tokens, so they are listed and revoked the same way.
type RefreshTokens struct {
	iam.UnimplementedRefreshTokenServiceServer
	s *Service
}

// RefreshTokens returns the RefreshTokenService server.
func (s *Service) RefreshTokens() *RefreshTokens { return &RefreshTokens{s: s} }

// Permissions on a user account that manage another user's tokens; a user
// needs none for their own.
const (
	permRefreshTokensList   = "iam.userAccounts.refreshTokens.list"
	permRefreshTokensRevoke = "iam.userAccounts.refreshTokens.revoke"
)

// List implements RefreshTokenService.List: the OAuth tokens of a user
// account, the caller's own when subject_id is empty. Only metadata: the
// secrets are not stored.
func (r *RefreshTokens) List(ctx context.Context, req *iam.ListRefreshTokensRequest) (*iam.ListRefreshTokensResponse, error) {
	if req.Filter != "" {
		return nil, warden.Errorf(warden.InvalidArgument, "filter: not supported: Warden's tokens have no client id, client instance or protection level to filter on")
	}
	user, err := r.s.tokenOwner(ctx, req.SubjectId, permRefreshTokensList)
	if err != nil {
		return nil, err
	}
	out := &iam.ListRefreshTokensResponse{}
	err = r.s.store.View(ctx, func(tx warden.Tx) error {
		if _, err := r.s.getResource(ctx, tx, user, warden.TypeUserAccount); err != nil {
			return err
		}
		cs, next, err := tx.ListCredentials(ctx, user, warden.CredOAuthToken, page(req.PageSize, req.PageToken))
		if err != nil {
			return err
		}
		out.NextPageToken = next
		for _, c := range cs {
			out.RefreshTokens = append(out.RefreshTokens, refreshTokenProto(c))
		}
		return nil
	})
	if err != nil {
		return nil, err
	}
	return out, nil
}

// Revoke implements RefreshTokenService.Revoke. By refresh_token (the
// secret itself), whoever holds it may revoke it; by refresh_token_id, a
// user revokes their own and others need the permission on its user; by
// revoke_filter, every token of its subject (the caller by default) whose
// client instance info (the token's description: "login", "bootstrap")
// matches when given. The proto requires one of the three; a request
// without any (from a caller skipping validation) means every token of
// the caller, as the proto's comment says.
func (r *RefreshTokens) Revoke(ctx context.Context, req *iam.RevokeRefreshTokenRequest) (*operationT, error) {
	var user string
	match := func(*warden.Credential) bool { return true }
	switch f := req.Filter.(type) {
	case *iam.RevokeRefreshTokenRequest_RefreshToken:
		c, err := r.s.oauthTokenBySecret(ctx, f.RefreshToken)
		if err != nil {
			return nil, err
		}
		user, match = c.SubjectID, func(x *warden.Credential) bool { return x.ID == c.ID }
	case *iam.RevokeRefreshTokenRequest_RefreshTokenId:
		c, err := r.s.oauthTokenByID(ctx, f.RefreshTokenId)
		if err != nil {
			return nil, err
		}
		user, match = c.SubjectID, func(x *warden.Credential) bool { return x.ID == c.ID }
	case *iam.RevokeRefreshTokenRequest_RevokeFilter:
		var err error
		if user, err = r.s.tokenOwner(ctx, f.RevokeFilter.GetSubjectId(), permRefreshTokensRevoke); err != nil {
			return nil, err
		}
		client, instance := f.RevokeFilter.GetClientId(), f.RevokeFilter.GetClientInstanceInfo()
		match = func(x *warden.Credential) bool {
			return client == "" && (instance == "" || instance == x.Description)
		}
	default:
		var err error
		if user, err = r.s.tokenOwner(ctx, "", permRefreshTokensRevoke); err != nil {
			return nil, err
		}
	}
	var op *operationT
	var ids []string
	err := r.s.mutate(ctx, func(tx warden.Tx, ch *auditEdit) error {
		if _, err := r.s.getResource(ctx, tx, user, warden.TypeUserAccount); err != nil {
			return err
		}
		var err error
		if ids, err = r.s.revokeMatching(ctx, tx, user, match); err != nil {
			return err
		}
		ch.on(ctx, tx, user)
		ch.set("revoked_credentials", ids)
		op, err = r.s.newOperation(ctx, tx, user, "Revoke refresh tokens",
			&iam.RevokeRefreshTokenMetadata{SubjectId: user, RefreshTokenIds: ids},
			&iam.RevokeRefreshTokenResponse{RefreshTokenIds: ids})
		return err
	})
	if err != nil {
		return nil, err
	}
	r.s.revokedHere(ids...)
	return op, nil
}

// tokenOwner is the user account whose tokens a call is about: subjectID,
// or the caller when it is empty. A user needs no permission for their own
// tokens; for another's, permission on that user account.
func (s *Service) tokenOwner(ctx context.Context, subjectID, permission string) (string, error) {
	caller := SubjectFrom(ctx)
	if subjectID == "" {
		if caller.Type != token.SubjectUserAccount {
			return "", warden.Errorf(warden.InvalidArgument, "subject_id: required: only user accounts have refresh tokens, and the caller is a %s", caller.Type)
		}
		return caller.ID, nil
	}
	if subjectID == caller.ID {
		return subjectID, nil
	}
	return subjectID, s.authorize(ctx, permission, subjectID)
}

// oauthTokenBySecret finds a token by its secret: holding it is the right
// to revoke it.
func (s *Service) oauthTokenBySecret(ctx context.Context, tok string) (*warden.Credential, error) {
	var c *warden.Credential
	err := s.store.View(ctx, func(tx warden.Tx) (err error) {
		c, err = tx.CredentialByHash(ctx, warden.CredOAuthToken, secret.Hash(tok))
		return err
	})
	if warden.IsCode(err, warden.NotFound) {
		return nil, warden.Errorf(warden.NotFound, "refresh_token: no such token: it expired, was revoked or never existed")
	}
	return c, err
}

// oauthTokenByID finds a token by ID after checking that the caller may
// revoke it. Whether an ID exists is told only to its user and to a caller
// who holds the permission somewhere, as for resources.
func (s *Service) oauthTokenByID(ctx context.Context, id string) (*warden.Credential, error) {
	var c *warden.Credential
	err := s.store.View(ctx, func(tx warden.Tx) (err error) {
		c, err = getCredential(ctx, tx, id, warden.CredOAuthToken, "refresh token")
		return err
	})
	if warden.IsCode(err, warden.NotFound) {
		if aerr := s.authorize(ctx, permRefreshTokensRevoke, id); aerr != nil {
			return nil, aerr
		}
		return nil, err
	}
	if err != nil {
		return nil, err
	}
	if c.SubjectID != SubjectFrom(ctx).ID {
		if err := s.authorize(ctx, permRefreshTokensRevoke, c.SubjectID); err != nil {
			return nil, err
		}
	}
	return c, nil
}

// revokeOAuthTokens deletes every OAuth token of a user in tx, and with
// them the IAM tokens exchanged for them (through the revocation list, on
// every node within the refresh interval): for a password change, so that
// a stolen token dies with the old password. It returns their IDs for
// revokedHere once tx has committed.
func (s *Service) revokeOAuthTokens(ctx context.Context, tx warden.Tx, userID string) ([]string, error) {
	return s.revokeMatching(ctx, tx, userID, func(*warden.Credential) bool { return true })
}

// revokeMatching deletes a user's OAuth tokens that match, recording the
// revocation of the IAM tokens exchanged for them, and returns their IDs
// (for revokedHere once tx has committed).
func (s *Service) revokeMatching(ctx context.Context, tx warden.Tx, userID string, match func(*warden.Credential) bool) ([]string, error) {
	var doomed []*warden.Credential
	p := warden.Page{Size: 1000}
	for {
		cs, next, err := tx.ListCredentials(ctx, userID, warden.CredOAuthToken, p)
		if err != nil {
			return nil, err
		}
		for _, c := range cs {
			if match(c) {
				doomed = append(doomed, c)
			}
		}
		if next == "" {
			break
		}
		p.Token = next
	}
	ids := make([]string, 0, len(doomed))
	for _, c := range doomed {
		if err := s.deleteCredential(ctx, tx, c); err != nil {
			return nil, err
		}
		ids = append(ids, c.ID)
	}
	return ids, nil
}

func refreshTokenProto(c *warden.Credential) *iam.RefreshToken {
	return &iam.RefreshToken{
		Id: c.ID, SubjectId: c.SubjectID, ClientInstanceInfo: c.Description,
		CreatedAt: ts(c.CreatedAt), ExpiresAt: ts(c.ExpiresAt), LastUsedAt: ts(c.LastUsedAt),
		ProtectionLevel: iam.RefreshToken_NO_PROTECTION,
	}
}
