package service

import (
	"context"
	"encoding/hex"
	"errors"
	"strings"
	"time"

	"warden"
	"warden/authn"
	"warden/secret"
	"warden/token"
)

// Subject is the authenticated caller of a request: the principal the
// authentication pipeline (package authn) found.
type Subject = authn.Principal

// SubjectOf returns the principal of an account acting without a presented
// credential (bootstrap, operator commands, tests).
func SubjectOf(subjectType, id string) Subject {
	return Subject{Subject: authn.Subject{Type: subjectType, ID: id}}
}

// WithSubject returns ctx carrying the authenticated subject.
func WithSubject(ctx context.Context, s Subject) context.Context { return authn.WithPrincipal(ctx, s) }

// SubjectFrom returns the subject ctx carries (zero when unauthenticated).
func SubjectFrom(ctx context.Context) Subject { return authn.PrincipalFrom(ctx) }

// mintingCredential is the stored credential behind a principal: the one
// that minted its IAM token, or the API key or static token it presented.
// A token minted on its behalf dies with it.
func mintingCredential(p Subject) string {
	if p.MintedBy != "" {
		return p.MintedBy
	}
	if p.Credential == authn.CredAPIKey || p.Credential == authn.CredStaticToken {
		return p.CredentialID
	}
	return ""
}

// VerifyToken implements authn.TokenVerifier: it checks an IAM token on the
// hot path, with no database read unless the token names a signing key made
// by another wardend since the last refresh.
func (s *Service) VerifyToken(ctx context.Context, tok string) (*token.Claims, error) {
	c, err := s.verifier.Verify(tok)
	if errors.Is(err, token.ErrUnknownKey) && s.keys.reloadForUnknown(ctx) {
		c, err = s.verifier.Verify(tok)
	}
	return c, err
}

// Active implements authn.Accounts: an account may act when it exists, is
// not suspended and has not expired.
func (s *Service) Active(ctx context.Context, id string) bool { return s.subjectActive(ctx, id) }

// issueToken signs a new IAM token for a subject, minted through the stored
// credential mintedBy ("" when none): deleting it revokes the token.
func (s *Service) issueToken(ctx context.Context, subjectType, subjectID, mintedBy string) (string, time.Time, error) {
	keyID, priv, err := s.keys.current(ctx)
	if err != nil {
		return "", time.Time{}, err
	}
	now := s.now().UTC().Truncate(time.Second)
	c := token.Claims{
		TokenID: hex.EncodeToString(secret.RandomBytes(16)), KeyID: keyID,
		SubjectType: subjectType, SubjectID: subjectID, IssuedAt: now, ExpiresAt: now.Add(s.lifetime),
		CredentialID: mintedBy,
	}
	tok, err := token.Sign(c, priv)
	if err != nil {
		return "", time.Time{}, &warden.Error{Code: warden.Internal, Message: "internal error", Cause: err}
	}
	return tok, c.ExpiresAt, nil
}

// OAuth tokens are "y0_" + 32 random bytes; only their SHA-256 is stored.
const oauthTokenPrefix = "y0_"

// OAuth token lifetimes: a login's token is a long-lived credential, so it
// lives a month unless the operator says otherwise, and a year at most.
const (
	DefaultOAuthTokenLifetime = 30 * 24 * time.Hour
	MaxOAuthTokenLifetime     = 365 * 24 * time.Hour
)

// newOAuthToken creates a user's OAuth token in tx and returns its secret.
func (s *Service) newOAuthToken(ctx context.Context, tx warden.Tx, userID, description string) (secret.String, error) {
	tok := oauthTokenPrefix + secret.RandomToken(32)
	now := s.now().UTC()
	err := tx.CreateCredential(ctx, &warden.Credential{
		ID: warden.NewID(warden.PrefixOAuthToken), Kind: warden.CredOAuthToken, SubjectID: userID,
		Hash: secret.Hash(tok), Description: description, CreatedAt: now, ExpiresAt: now.Add(s.oauthLifetime),
	})
	return secret.New(tok), err
}

// exchangeOAuthToken turns a user's OAuth token into an IAM token.
func (s *Service) exchangeOAuthToken(ctx context.Context, oauth string) (string, time.Time, error) {
	if !strings.HasPrefix(oauth, oauthTokenPrefix) {
		return "", time.Time{}, warden.ErrUnauthenticated
	}
	var user *warden.Resource
	var credID string
	err := s.store.View(ctx, func(tx warden.Tx) error {
		c, err := tx.CredentialByHash(ctx, warden.CredOAuthToken, secret.Hash(oauth))
		if err != nil {
			return err
		}
		credID = c.ID
		if !c.ExpiresAt.IsZero() && !s.now().Before(c.ExpiresAt) {
			return warden.ErrUnauthenticated
		}
		user, err = tx.GetResource(ctx, c.SubjectID)
		return err
	})
	if warden.IsCode(err, warden.NotFound) || (err == nil && user.Status != warden.StatusActive) {
		return "", time.Time{}, warden.ErrUnauthenticated
	}
	if err != nil {
		return "", time.Time{}, err
	}
	return s.issueToken(ctx, token.SubjectUserAccount, user.ID, credID)
}

func (s *Service) parseIgnoringRevocation(tok string) (*token.Claims, error) {
	c, err := token.Parse(tok, s.verifier.PublicKey, s.now())
	if err != nil {
		return nil, err
	}
	return &c, nil
}
