package jwtauth

import (
	"errors"
	"fmt"
	"slices"
	"time"
)

// Defaults of ValidatorConfig.
const (
	// DefaultMaxLifetime is the longest exp − iat the Yandex IAM accepts.
	DefaultMaxLifetime = time.Hour
	// DefaultSkew is how far ahead of the server's clock a client's may
	// run: iat and nbf up to this far in the future are accepted. exp gets
	// no leeway: a token is expired once the server's clock passes it.
	DefaultSkew = 5 * time.Minute
)

// YandexAudience is the audience the Yandex Cloud SDKs hard-code.
const YandexAudience = "https://iam.api.cloud.yandex.net/iam/v1/tokens"

// YandexLegacyAudience is the token URL of older Yandex documentation; the
// example JWT of seed 002 still carries it.
const YandexLegacyAudience = "https://api.cloud.yandex.net/iam/v1/tokens"

// ValidatorConfig configures a Validator.
type ValidatorConfig struct {
	// Audiences lists the accepted aud values; a token must name one.
	Audiences []string
	// MaxLifetime bounds exp − iat; DefaultMaxLifetime when zero.
	MaxLifetime time.Duration
	// Skew is the clock skew allowed for iat and nbf; DefaultSkew when
	// zero.
	Skew time.Duration
}

// Validator checks a token's claims against the server's audiences and
// clock.
type Validator struct {
	audiences   []string
	maxLifetime time.Duration
	skew        time.Duration
}

// NewValidator validates cfg and returns a Validator.
func NewValidator(cfg ValidatorConfig) (*Validator, error) {
	if len(cfg.Audiences) == 0 || slices.Contains(cfg.Audiences, "") {
		return nil, errors.New("jwtauth: at least one non-empty audience is required")
	}
	v := &Validator{audiences: slices.Clone(cfg.Audiences), maxLifetime: cfg.MaxLifetime, skew: cfg.Skew}
	if v.maxLifetime == 0 {
		v.maxLifetime = DefaultMaxLifetime
	}
	if v.skew == 0 {
		v.skew = DefaultSkew
	}
	if v.maxLifetime < 0 || v.skew < 0 {
		return nil, errors.New("jwtauth: MaxLifetime and Skew must not be negative")
	}
	return v, nil
}

// Audiences returns the accepted audiences.
func (v *Validator) Audiences() []string { return slices.Clone(v.audiences) }

// Check checks the claims at now: the audience, exp − iat, and that the
// token is current. Signature and issuer are the caller's business.
func (v *Validator) Check(c *Claims, now time.Time) error {
	if !slices.ContainsFunc(c.Audience, func(a string) bool { return slices.Contains(v.audiences, a) }) {
		return fmt.Errorf("%w: it must be one of %q", ErrAudience, v.audiences)
	}
	life := c.ExpiresAt.Sub(c.IssuedAt)
	if life <= 0 {
		return fmt.Errorf("%w: exp must be after iat", ErrLifetime)
	}
	if life > v.maxLifetime {
		return fmt.Errorf("%w: exp - iat is %d s, at most %d s allowed", ErrLifetime, int64(life/time.Second), int64(v.maxLifetime/time.Second))
	}
	if c.IssuedAt.After(now.Add(v.skew)) {
		return fmt.Errorf("%w: iat is %s, the server time is %s: check the clock", ErrIssuedInFuture, c.IssuedAt.Format(time.RFC3339), now.UTC().Format(time.RFC3339))
	}
	if !c.NotBefore.IsZero() && c.NotBefore.After(now.Add(v.skew)) {
		return fmt.Errorf("%w: nbf is %s, the server time is %s", ErrNotYetValid, c.NotBefore.Format(time.RFC3339), now.UTC().Format(time.RFC3339))
	}
	if !now.Before(c.ExpiresAt) {
		return fmt.Errorf("%w: exp is %s, the server time is %s", ErrExpired, c.ExpiresAt.Format(time.RFC3339), now.UTC().Format(time.RFC3339))
	}
	return nil
}
