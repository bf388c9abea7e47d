package service

import (
	"context"
	"errors"
	"time"

	iam "github.com/yandex-cloud/go-genproto/yandex/cloud/iam/v1"
	"google.golang.org/protobuf/types/known/timestamppb"

	"warden"
	"warden/token"
)

// IamTokens implements iam IamTokenService.
type IamTokens struct {
	iam.UnimplementedIamTokenServiceServer
	s *Service
}

// IamTokens returns the IamTokenService server.
func (s *Service) IamTokens() *IamTokens { return &IamTokens{s: s} }

// Create implements IamTokenService.Create: it exchanges a user's OAuth token
// (yandex_passport_oauth_token) for an IAM token. It needs no other
// credential.
func (t *IamTokens) Create(ctx context.Context, req *iam.CreateIamTokenRequest) (*iam.CreateIamTokenResponse, error) {
	switch id := req.Identity.(type) {
	case *iam.CreateIamTokenRequest_YandexPassportOauthToken:
		tok, exp, err := t.s.exchangeOAuthToken(ctx, id.YandexPassportOauthToken)
		if err != nil {
			return nil, err
		}
		return &iam.CreateIamTokenResponse{IamToken: tok, ExpiresAt: timestamppb.New(exp)}, nil
	case *iam.CreateIamTokenRequest_Jwt:
		return nil, warden.Errorf(warden.Unimplemented, "jwt: the service account JWT exchange is not available yet")
	default:
		return nil, warden.Errorf(warden.InvalidArgument, "identity: one of yandex_passport_oauth_token or jwt is required")
	}
}

// CreateForServiceAccount implements IamTokenService.CreateForServiceAccount:
// it issues a token for an active service account.
func (t *IamTokens) CreateForServiceAccount(ctx context.Context, req *iam.CreateIamTokenForServiceAccountRequest) (*iam.CreateIamTokenResponse, error) {
	r, err := t.s.get(ctx, req.ServiceAccountId, warden.TypeServiceAccount)
	if err != nil {
		return nil, err
	}
	if r.Status != warden.StatusActive {
		return nil, warden.Errorf(warden.FailedPrecondition, "service account %s is suspended", r.ID)
	}
	tok, exp, err := t.s.issueToken(token.SubjectServiceAccount, r.ID)
	if err != nil {
		return nil, err
	}
	return &iam.CreateIamTokenResponse{IamToken: tok, ExpiresAt: timestamppb.New(exp)}, nil
}

// Revoke implements IamTokenService.Revoke. Holding the token is the proof
// needed to revoke it. Every node stops accepting it within the refresh
// interval.
func (t *IamTokens) Revoke(ctx context.Context, req *iam.RevokeIamTokenRequest) (*iam.RevokeIamTokenResponse, error) {
	c, err := t.s.verifier.Verify(req.IamToken)
	if errors.Is(err, token.ErrRevoked) {
		// Revoking twice succeeds; the claims are still needed for the answer.
		c, err = t.s.parseIgnoringRevocation(req.IamToken)
	}
	if err != nil {
		return nil, warden.Errorf(warden.InvalidArgument, "iam_token: not a valid, unexpired IAM token")
	}
	err = t.s.store.Update(ctx, func(tx warden.Tx) error {
		return tx.RevokeToken(ctx, warden.RevokedToken{TokenID: c.TokenID, SubjectID: c.SubjectID, RevokedAt: t.s.now().UTC(), ExpiresAt: c.ExpiresAt})
	})
	if err != nil {
		return nil, err
	}
	t.s.verifier.Revoke(map[string]time.Time{c.TokenID: c.ExpiresAt})
	return &iam.RevokeIamTokenResponse{SubjectId: c.SubjectID}, nil
}
