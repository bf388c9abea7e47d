package authn

import (
	"context"
	"time"

	"warden"
	"warden/apikey"
	"warden/token"
)

// CredAPIKey is the credential type of API keys.
const CredAPIKey = "apiKey"

// APIKeyIndex checks API keys in memory.
type APIKeyIndex interface {
	// CheckAPIKey checks the key of r.Secret (whose id is keyID) against
	// every restriction on it and records an accepted use. found is false
	// for a key the index does not hold.
	CheckAPIKey(keyID string, r apikey.Request) (subjectID string, refusal apikey.Refusal, found bool)
}

// ErrAPIKeyScope is the one answer to a key used for a scope it lacks.
var ErrAPIKeyScope = warden.Errorf(warden.PermissionDenied, "the API key is not valid for this scope")

// APIKey is the scheme of API keys, presented as "Authorization: Api-Key
// <secret>". The request's client address, service (product) and scope are
// checked against the key's restrictions.
type APIKey struct {
	Index APIKeyIndex
	Now   func() time.Time
}

// Credential implements Scheme.
func (APIKey) Credential() string { return CredAPIKey }

// Find implements Scheme.
func (APIKey) Find(r *Request) (string, bool) { return authorization(r, "Api-Key") }

// Verify implements Scheme.
func (s APIKey) Verify(_ context.Context, r *Request, secret string) (Principal, error) {
	id, ok := apikey.KeyID(secret)
	if !ok {
		return Principal{}, Refuse("malformed", "malformed API key")
	}
	sub, refusal, found := s.Index.CheckAPIKey(id, apikey.Request{
		Secret: secret, Client: r.ClientAddress, Now: s.Now(), Product: r.Service, Scope: r.Scope,
	})
	if !found {
		return Principal{}, Refuse("unknown_key", "unknown API key")
	}
	p := Principal{Subject: Subject{Type: token.SubjectServiceAccount, ID: sub}, CredentialID: id}
	switch refusal {
	case apikey.Accepted:
		return p, nil
	case apikey.WrongScope:
		// The key is genuine: the subject is known, and the answer may say
		// what is wrong.
		return p, &Refusal{Label: refusal.String(), Detail: "API key " + id + " refused: " + refusal.String(), Answer: ErrAPIKeyScope}
	}
	return Principal{}, Refuse(refusal.String(), "API key "+id+" refused: "+refusal.String())
}
