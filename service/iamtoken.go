package service

import (
	"context"
	"encoding/hex"
	"errors"
	"strings"
	"time"

	iam "github.com/yandex-cloud/go-genproto/yandex/cloud/iam/v1"
	"google.golang.org/protobuf/types/known/timestamppb"

	"warden"
	"warden/audit"
	"warden/jwtauth"
	"warden/secret"
	"warden/token"
)

// IamTokens implements iam IamTokenService.
type IamTokens struct {
	iam.UnimplementedIamTokenServiceServer
	s    *Service
	keys *keyState
}

// IamTokens returns the IamTokenService server.
func (s *Service) IamTokens() *IamTokens { return &IamTokens{s: s, keys: s.keyState()} }

// Create implements IamTokenService.Create: it exchanges a user's OAuth token
// (yandex_passport_oauth_token) or a service account's signed JWT (jwt) for
// an IAM token. It needs no other credential.
func (t *IamTokens) Create(ctx context.Context, req *iam.CreateIamTokenRequest) (*iam.CreateIamTokenResponse, error) {
	switch id := req.Identity.(type) {
	case *iam.CreateIamTokenRequest_YandexPassportOauthToken:
		tok, exp, err := t.s.exchangeOAuthToken(ctx, id.YandexPassportOauthToken)
		if err != nil {
			return nil, err
		}
		return &iam.CreateIamTokenResponse{IamToken: tok, ExpiresAt: timestamppb.New(exp)}, nil
	case *iam.CreateIamTokenRequest_Jwt:
		tok, exp, err := t.s.exchangeJWT(ctx, t.keys, id.Jwt)
		if err != nil {
			return nil, err
		}
		return &iam.CreateIamTokenResponse{IamToken: tok, ExpiresAt: timestamppb.New(exp)}, nil
	default:
		return nil, warden.Errorf(warden.InvalidArgument, "identity: one of yandex_passport_oauth_token or jwt is required")
	}
}

// CreateForServiceAccount implements IamTokenService.CreateForServiceAccount:
// it issues a token for an active service account.
func (t *IamTokens) CreateForServiceAccount(ctx context.Context, req *iam.CreateIamTokenForServiceAccountRequest) (*iam.CreateIamTokenResponse, error) {
	r, err := t.s.mintableServiceAccount(ctx, req.ServiceAccountId)
	if err != nil {
		return nil, err
	}
	tok, exp, err := t.s.issueToken(ctx, token.SubjectServiceAccount, r.ID, mintingCredential(SubjectFrom(ctx)))
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
	// Holding the token is the proof: its subject is who revokes it.
	audit.CallFrom(ctx).SetHolder(audit.Issued{SubjectType: c.SubjectType, SubjectID: c.SubjectID, Credential: "iamToken", TokenID: c.TokenID})
	err = t.s.mutate(ctx, func(tx warden.Tx, ch *auditEdit) error {
		ch.on(ctx, tx, c.SubjectID)
		ch.leaf("iamToken", c.TokenID)
		return tx.RevokeToken(ctx, warden.RevokedToken{TokenID: c.TokenID, SubjectID: c.SubjectID, RevokedAt: t.s.now().UTC(), ExpiresAt: c.ExpiresAt})
	})
	if err != nil {
		return nil, err
	}
	t.s.verifier.Revoke(map[string]time.Time{c.TokenID: c.ExpiresAt})
	return &iam.RevokeIamTokenResponse{SubjectId: c.SubjectID}, nil
}

// exchangeJWT turns a service account's PS256 JWT into an IAM token. What
// can be judged without a key (encoding, alg, typ, aud, times) is answered
// with InvalidArgument and the precise reason; everything about the key,
// its account or the signature gets the one Unauthenticated answer, so the
// exchange never tells which keys or accounts exist. The hot path reads no
// database (see keyState) and writes none (uses are flushed in batches).
func (s *Service) exchangeJWT(ctx context.Context, keys *keyState, compact string) (string, time.Time, error) {
	tok, err := jwtauth.Parse(compact)
	if err != nil {
		return "", time.Time{}, jwtError(err)
	}
	now := s.now()
	if err := keys.validator.Check(&tok.Claims, now); err != nil {
		return "", time.Time{}, jwtError(err)
	}
	if !isKeyID(tok.Header.KeyID) {
		return "", time.Time{}, jwtUnauthenticated("kid is not a key ID")
	}
	k, err := keys.lookup(ctx, tok.Header.KeyID, now)
	if err != nil {
		return "", time.Time{}, err
	}
	if !k.usable() {
		return "", time.Time{}, jwtUnauthenticated("no usable key " + k.id)
	}
	// The signature first: then, for a known key, every answer takes as
	// long whatever iss says.
	if err := tok.Verify(k.pub); err != nil {
		return "", time.Time{}, jwtUnauthenticated(err.Error())
	}
	switch {
	case k.subject != tok.Claims.Issuer:
		return "", time.Time{}, jwtUnauthenticated("key " + k.id + " does not belong to iss")
	case !s.subjectActive(ctx, k.subject):
		// The access snapshot learns of a suspension or deletion made
		// through this wardend at once, before the key cache expires.
		return "", time.Time{}, jwtUnauthenticated("service account " + k.subject + " is not active")
	}
	keys.recordUse(k, now)
	it, err := s.serviceAccountToken(ctx, k)
	if err != nil {
		return "", time.Time{}, err
	}
	return it.token, it.expires, nil
}

// serviceAccountToken returns the IAM token issued through k, when there is
// one that is not revoked, or issues one. Reuse is bounded by the life of
// the cache entry, at most the refresh interval: exchanges of one key within
// that interval get the same token. Signing a new one would otherwise cost
// as much as the RSA-2048 verification itself on every exchange (see
// BenchmarkExchangeJWT), and a second token for the same key holder within
// a fraction of a second buys nothing.
func (s *Service) serviceAccountToken(ctx context.Context, k *cachedKey) (*issuedToken, error) {
	if it := k.token.Load(); it != nil && !s.verifier.IsRevoked(it.id) && !s.verifier.IsCredentialRevoked(k.id) {
		return it, nil
	}
	keyID, priv, err := s.keys.current(ctx)
	if err != nil {
		return nil, err
	}
	now := s.now().UTC().Truncate(time.Second)
	c := token.Claims{
		TokenID: hex.EncodeToString(secret.RandomBytes(16)), KeyID: keyID,
		SubjectType: token.SubjectServiceAccount, SubjectID: k.subject, IssuedAt: now, ExpiresAt: now.Add(s.lifetime),
		CredentialID: k.id,
	}
	tok, err := token.Sign(c, priv)
	if err != nil {
		return nil, &warden.Error{Code: warden.Internal, Message: "internal error", Cause: err}
	}
	it := &issuedToken{token: tok, id: c.TokenID, expires: c.ExpiresAt}
	k.token.Store(it)
	return it, nil
}

// jwtError maps a jwtauth rejection to the caller's error.
func jwtError(err error) error {
	if errors.Is(err, jwtauth.ErrSignature) || errors.Is(err, jwtauth.ErrKeyTooSmall) {
		return jwtUnauthenticated(err.Error())
	}
	return &warden.Error{Code: warden.InvalidArgument, Message: "jwt: " + strings.TrimPrefix(err.Error(), "jwtauth: ")}
}

// jwtUnauthenticated is warden.ErrUnauthenticated with the real reason kept
// for the logs.
func jwtUnauthenticated(reason string) error {
	return &warden.Error{Code: warden.Unauthenticated, Message: warden.ErrUnauthenticated.Message, Cause: errors.New("jwt: " + reason)}
}

// isKeyID reports whether s has the shape of an authorized key's ID, so
// that arbitrary kid values cost no database read.
func isKeyID(s string) bool {
	if len(s) != warden.IDLength || !strings.HasPrefix(s, warden.PrefixKey) {
		return false
	}
	for i := range len(s) {
		if c := s[i]; (c < '0' || c > '9') && (c < 'a' || c > 'z') {
			return false
		}
	}
	return true
}
