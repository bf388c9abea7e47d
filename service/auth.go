package service

import (
	"context"
	"encoding/hex"
	"errors"
	"strings"
	"time"

	"warden"
	"warden/secret"
	"warden/token"
)

// Subject is the authenticated caller of a request.
type Subject struct {
	Type    string // token.SubjectUserAccount or token.SubjectServiceAccount
	ID      string
	TokenID string
}

type subjectKey struct{}

// WithSubject returns ctx carrying the authenticated subject.
func WithSubject(ctx context.Context, s Subject) context.Context {
	return context.WithValue(ctx, subjectKey{}, s)
}

// SubjectFrom returns the subject ctx carries (zero when unauthenticated).
func SubjectFrom(ctx context.Context) Subject {
	s, _ := ctx.Value(subjectKey{}).(Subject)
	return s
}

// Authenticate checks an IAM token on the hot path: no database read. The
// error is always warden.ErrUnauthenticated, whatever was wrong; the reason
// is returned separately for logs and metrics.
func (s *Service) Authenticate(tok string) (Subject, error, error) {
	c, err := s.verifier.Verify(tok)
	if errors.Is(err, token.ErrUnknownKey) && s.keys.reloadForUnknown(context.Background()) {
		c, err = s.verifier.Verify(tok)
	}
	if err != nil {
		return Subject{}, warden.ErrUnauthenticated, err
	}
	if !s.subjectActive(context.Background(), c.SubjectID) {
		return Subject{}, warden.ErrUnauthenticated, errSubjectInactive
	}
	return Subject{Type: c.SubjectType, ID: c.SubjectID, TokenID: c.TokenID}, nil, nil
}

var errSubjectInactive = errors.New("the subject is suspended or deleted")

// issueToken signs a new IAM token for a subject.
func (s *Service) issueToken(subjectType, subjectID string) (string, time.Time, error) {
	keyID, priv, err := s.keys.current()
	if err != nil {
		return "", time.Time{}, err
	}
	now := s.now().UTC().Truncate(time.Second)
	c := token.Claims{
		TokenID: hex.EncodeToString(secret.RandomBytes(16)), KeyID: keyID,
		SubjectType: subjectType, SubjectID: subjectID, IssuedAt: now, ExpiresAt: now.Add(s.lifetime),
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
	err := s.store.View(ctx, func(tx warden.Tx) error {
		c, err := tx.CredentialByHash(ctx, warden.CredOAuthToken, secret.Hash(oauth))
		if err != nil {
			return err
		}
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
	return s.issueToken(token.SubjectUserAccount, user.ID)
}

// SetPassword sets a local user's password. A user may set their own; until
// the authorization issue lands any authenticated subject may set any.
func (s *Service) SetPassword(ctx context.Context, userID, password string) error {
	if len(password) < 8 || len(password) > 1024 {
		return warden.Errorf(warden.InvalidArgument, "password: must be 8 to 1024 characters long")
	}
	hash := secret.HashPassword(password)
	return s.store.Update(ctx, func(tx warden.Tx) error {
		if _, err := s.getResource(ctx, tx, userID, warden.TypeUserAccount); err != nil {
			return err
		}
		creds, _, err := tx.ListCredentials(ctx, userID, warden.CredPassword, warden.Page{Size: 10})
		if err != nil {
			return err
		}
		for _, c := range creds {
			if err := tx.DeleteCredential(ctx, c.ID); err != nil {
				return err
			}
		}
		return tx.CreateCredential(ctx, &warden.Credential{
			ID: warden.NewID(warden.PrefixPassword), Kind: warden.CredPassword, SubjectID: userID,
			Hash: []byte(hash), CreatedAt: s.now().UTC(),
		})
	})
}

func (s *Service) parseIgnoringRevocation(tok string) (*token.Claims, error) {
	c, err := token.Parse(tok, s.verifier.PublicKey, s.now())
	if err != nil {
		return nil, err
	}
	return &c, nil
}
