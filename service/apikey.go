package service

import (
	"context"
	"encoding/json"
	"fmt"
	"slices"
	"strconv"
	"strings"
	"time"
	"unicode/utf8"

	"github.com/prometheus/client_golang/prometheus"

	"warden"
	"warden/apikey"
	"warden/authn"
	"warden/secret"
)

// APIKey is an API key as both of its APIs describe it (the Yandex
// ApiKeyService and the Cloud.ru-style REST API): one stored kind of key,
// never its secret.
type APIKey struct {
	ID               string
	ServiceAccountID string
	Name             string // Cloud.ru name; empty for keys made through the Yandex API
	Description      string
	Scopes           []string // empty: any scope
	Products         []string // empty: any service
	Addresses        []string // addresses and subnets; empty: anywhere
	Slots            []apikey.Slot
	Timezone         int
	Enabled          bool
	MaskedSecret     string
	CreatedAt        time.Time
	UpdatedAt        time.Time
	ExpiresAt        time.Time // zero: never
	LastUsedAt       time.Time
	hash             []byte
}

// apiKeyData is what an API key credential's Data holds.
type apiKeyData struct {
	Name         string        `json:"name,omitempty"`
	Scopes       []string      `json:"scopes,omitempty"`
	Products     []string      `json:"products,omitempty"`
	Addresses    []string      `json:"addresses,omitempty"`
	Slots        []apikey.Slot `json:"time_slots,omitempty"`
	Timezone     int           `json:"timezone,omitempty"`
	Disabled     bool          `json:"disabled,omitempty"`
	MaskedSecret string        `json:"masked_secret"`
	UpdatedAt    time.Time     `json:"updated_at"`
}

func decodeAPIKey(c *warden.Credential) (*APIKey, error) {
	var d apiKeyData
	if err := json.Unmarshal(c.Data, &d); err != nil {
		return nil, fmt.Errorf("API key data: %w", err)
	}
	return &APIKey{
		ID: c.ID, ServiceAccountID: c.SubjectID, Name: d.Name, Description: c.Description,
		Scopes: d.Scopes, Products: d.Products, Addresses: d.Addresses, Slots: d.Slots, Timezone: d.Timezone,
		Enabled: !d.Disabled, MaskedSecret: d.MaskedSecret, CreatedAt: c.CreatedAt, UpdatedAt: d.UpdatedAt.UTC(),
		ExpiresAt: c.ExpiresAt, LastUsedAt: c.LastUsedAt, hash: c.Hash,
	}, nil
}

func (k *APIKey) credential() (*warden.Credential, error) {
	data, err := json.Marshal(apiKeyData{
		Name: k.Name, Scopes: k.Scopes, Products: k.Products, Addresses: k.Addresses, Slots: k.Slots,
		Timezone: k.Timezone, Disabled: !k.Enabled, MaskedSecret: k.MaskedSecret, UpdatedAt: k.UpdatedAt,
	})
	if err != nil {
		return nil, &warden.Error{Code: warden.Internal, Message: "internal error", Cause: err}
	}
	return &warden.Credential{
		ID: k.ID, Kind: warden.CredAPIKey, SubjectID: k.ServiceAccountID, Hash: k.hash, Data: data,
		Description: k.Description, CreatedAt: k.CreatedAt, ExpiresAt: k.ExpiresAt, LastUsedAt: k.LastUsedAt,
	}, nil
}

func (k *APIKey) spec() apikey.Spec {
	return apikey.Spec{
		KeyID: k.ID, SubjectID: k.ServiceAccountID, Hash: k.hash, Disabled: !k.Enabled, ExpiresAt: k.ExpiresAt,
		Addresses: k.Addresses, Slots: k.Slots, Timezone: k.Timezone, Products: k.Products, Scopes: k.Scopes,
	}
}

// APIKeyFields names the request fields of an API's key, for errors that
// name the field at fault. An empty name: the API has no such field.
type APIKeyFields struct {
	Description, Scopes, Products, Addresses, Slots, Timezone string
}

// Limits of API key fields.
const (
	maxAPIKeyDescription = 256
	maxAPIKeyScopes      = 100
	maxAPIKeyScope       = 256
)

// ValidateAPIKey checks the fields every API shares; f names them.
func (s *Service) ValidateAPIKey(k *APIKey, f APIKeyFields) error {
	if utf8.RuneCountInString(k.Description) > maxAPIKeyDescription {
		return warden.Errorf(warden.InvalidArgument, "%s: at most %d characters", f.Description, maxAPIKeyDescription)
	}
	if len(k.Scopes) > maxAPIKeyScopes {
		return warden.Errorf(warden.InvalidArgument, "%s: at most %d scopes, not %d", f.Scopes, maxAPIKeyScopes, len(k.Scopes))
	}
	for i, sc := range k.Scopes {
		switch {
		case len(sc) > maxAPIKeyScope:
			return warden.Errorf(warden.InvalidArgument, "%s[%d]: at most %d characters", f.Scopes, i, maxAPIKeyScope)
		case slices.Contains(k.Scopes[:i], sc):
			return warden.Errorf(warden.InvalidArgument, "%s[%d]: %q is listed twice", f.Scopes, i, sc)
		case !s.products.HasScope(sc):
			return warden.Errorf(warden.InvalidArgument, "%s[%d]: unknown scope %s (see ListScopes)", f.Scopes, i, shown(sc))
		}
	}
	for i, p := range k.Products {
		if _, ok := s.products.Product(p); !ok {
			return warden.Errorf(warden.InvalidArgument, "%s[%d]: unknown product %s (see GET /api/v1/products)", f.Products, i, shown(p))
		}
		if slices.Contains(k.Products[:i], p) {
			return warden.Errorf(warden.InvalidArgument, "%s[%d]: %q is listed twice", f.Products, i, p)
		}
	}
	if len(k.Addresses) > apikey.MaxAddresses {
		return warden.Errorf(warden.InvalidArgument, "%s: at most %d addresses and subnets, not %d", f.Addresses, apikey.MaxAddresses, len(k.Addresses))
	}
	for i, a := range k.Addresses {
		if strings.Contains(a, apikey.Prefix) {
			return warden.Errorf(warden.InvalidArgument, "%s[%d]: %s is not an IPv4 or IPv6 address or subnet", f.Addresses, i, shown(a))
		}
		if _, err := apikey.ParseNet(a); err != nil {
			return warden.Errorf(warden.InvalidArgument, "%s[%d]: %v", f.Addresses, i, err)
		}
	}
	if len(k.Slots) > apikey.MaxTimeSlots {
		return warden.Errorf(warden.InvalidArgument, "%s: at most %d time slots, not %d", f.Slots, apikey.MaxTimeSlots, len(k.Slots))
	}
	for i, sl := range k.Slots {
		if err := sl.Check(); err != nil {
			return warden.Errorf(warden.InvalidArgument, "%s[%d]: %v", f.Slots, i, err)
		}
	}
	if k.Timezone < apikey.MinTimezone || k.Timezone > apikey.MaxTimezone {
		return warden.Errorf(warden.InvalidArgument, "%s: must be between %d and %d, not %d", f.Timezone, apikey.MinTimezone, apikey.MaxTimezone, k.Timezone)
	}
	return nil
}

// shown quotes a value for an error message, unless it looks like an API
// key secret pasted into the wrong field: errors never repeat a secret.
func shown(v string) string {
	if strings.Contains(v, apikey.Prefix) {
		return "(a value that looks like an API key secret)"
	}
	return strconv.Quote(v)
}

// Products returns the product catalog API keys are bound to.
func (s *Service) Products() *apikey.Catalog { return s.products }

// Permissions on a service account that govern its API keys.
const (
	permAPIKeysGet    = "iam.serviceAccounts.apiKeys.get"
	permAPIKeysList   = "iam.serviceAccounts.apiKeys.list"
	permAPIKeysCreate = "iam.serviceAccounts.apiKeys.create"
	permAPIKeysUpdate = "iam.serviceAccounts.apiKeys.update"
	permAPIKeysDelete = "iam.serviceAccounts.apiKeys.delete"
)

// CreateAPIKey stores a new key for k.ServiceAccountID (the caller, when it
// is a service account and names none) and returns it with its secret, the
// only time the secret exists outside the caller. k must have passed
// ValidateAPIKey; inside, withOp may add an operation to the transaction.
func (s *Service) CreateAPIKey(ctx context.Context, k *APIKey, withOp func(warden.Tx, *APIKey) error) (*APIKey, secret.String, error) {
	sa, err := keyOwner(ctx, k.ServiceAccountID)
	if err != nil {
		return nil, secret.String{}, err
	}
	if err := s.authorize(ctx, permAPIKeysCreate, sa); err != nil {
		return nil, secret.String{}, err
	}
	if err := s.guardMint(ctx, sa); err != nil {
		return nil, secret.String{}, err
	}
	out := *k
	out.ID, out.ServiceAccountID = warden.NewID(warden.PrefixAPIKey), sa
	sec := apikey.NewSecret(out.ID)
	out.hash, out.MaskedSecret = secret.Hash(sec), apikey.Masked(sec)
	out.CreatedAt = s.now()
	out.UpdatedAt, out.LastUsedAt = out.CreatedAt, time.Time{}
	c, err := out.credential()
	if err != nil {
		return nil, secret.String{}, err
	}
	err = s.store.Update(ctx, func(tx warden.Tx) error {
		if _, err := s.getResource(ctx, tx, sa, warden.TypeServiceAccount); err != nil {
			return err
		}
		if err := tx.CreateCredential(ctx, c); err != nil {
			return err
		}
		if withOp != nil {
			return withOp(tx, &out)
		}
		return nil
	})
	if err != nil {
		return nil, secret.String{}, err
	}
	s.apiKeys.changed(ctx, out.ID)
	return &out, secret.New(sec), nil
}

// GetAPIKey returns a key the caller may read.
func (s *Service) GetAPIKey(ctx context.Context, id string) (*APIKey, error) {
	return s.authorizeAPIKey(ctx, permAPIKeysGet, id)
}

// ListAPIKeys returns one page of a service account's keys (the caller's,
// when it is a service account and names none).
func (s *Service) ListAPIKeys(ctx context.Context, serviceAccountID string, p warden.Page) ([]*APIKey, string, error) {
	sa, err := keyOwner(ctx, serviceAccountID)
	if err != nil {
		return nil, "", err
	}
	if err := s.authorize(ctx, permAPIKeysList, sa); err != nil {
		return nil, "", err
	}
	var out []*APIKey
	var next string
	err = s.store.View(ctx, func(tx warden.Tx) error {
		if _, err := s.getResource(ctx, tx, sa, warden.TypeServiceAccount); err != nil {
			return err
		}
		cs, n, err := tx.ListCredentials(ctx, sa, warden.CredAPIKey, p)
		if err != nil {
			return err
		}
		next = n
		for _, c := range cs {
			k, err := decodeStoredAPIKey(c)
			if err != nil {
				return err
			}
			out = append(out, k)
		}
		return nil
	})
	if err != nil {
		return nil, "", err
	}
	return out, next, nil
}

// UpdateAPIKey changes a key with edit, which must leave it valid (it is
// given a copy and the result is checked with f), in one transaction with
// whatever withOp adds. The change is enforced on this wardend when
// UpdateAPIKey returns, and on the others within the refresh interval.
func (s *Service) UpdateAPIKey(ctx context.Context, id string, f APIKeyFields, edit func(*APIKey) error, withOp func(warden.Tx, *APIKey) error) (*APIKey, error) {
	if _, err := s.authorizeAPIKey(ctx, permAPIKeysUpdate, id); err != nil {
		return nil, err
	}
	var out *APIKey
	err := s.store.Update(ctx, func(tx warden.Tx) error {
		k, err := getAPIKey(ctx, tx, id)
		if err != nil {
			return err
		}
		if err := edit(k); err != nil {
			return err
		}
		if err := s.ValidateAPIKey(k, f); err != nil {
			return err
		}
		k.ID, k.UpdatedAt = id, s.now()
		c, err := k.credential()
		if err != nil {
			return err
		}
		if err := tx.UpdateCredential(ctx, c); err != nil {
			return err
		}
		out = k
		if withOp != nil {
			return withOp(tx, k)
		}
		return nil
	})
	s.apiKeys.changed(ctx, id)
	if err != nil {
		return nil, err
	}
	return out, nil
}

// DeleteAPIKey deletes a key; requests with it are refused on this wardend
// when DeleteAPIKey returns, and on the others within the refresh interval.
func (s *Service) DeleteAPIKey(ctx context.Context, id string, withOp func(warden.Tx) error) error {
	if _, err := s.authorizeAPIKey(ctx, permAPIKeysDelete, id); err != nil {
		return err
	}
	err := s.store.Update(ctx, func(tx warden.Tx) error {
		c, err := getCredential(ctx, tx, id, warden.CredAPIKey, "API key")
		if err != nil {
			return err
		}
		if err := s.deleteCredential(ctx, tx, c); err != nil {
			return err
		}
		if withOp != nil {
			return withOp(tx)
		}
		return nil
	})
	s.apiKeys.changed(ctx, id)
	if err == nil {
		s.revokedHere(id)
	}
	return err
}

// authorizeAPIKey returns a key the caller may act on (see
// authorizeCredential).
func (s *Service) authorizeAPIKey(ctx context.Context, permission, id string) (*APIKey, error) {
	c, err := s.authorizeCredential(ctx, permission, id, warden.CredAPIKey, "API key")
	if err != nil {
		return nil, err
	}
	return decodeStoredAPIKey(c)
}

// getAPIKey reads a key; a credential of another kind is NotFound.
func getAPIKey(ctx context.Context, tx warden.Tx, id string) (*APIKey, error) {
	c, err := getCredential(ctx, tx, id, warden.CredAPIKey, "API key")
	if err != nil {
		return nil, err
	}
	return decodeStoredAPIKey(c)
}

// decodeStoredAPIKey is decodeAPIKey for a request: unreadable data is an
// internal error.
func decodeStoredAPIKey(c *warden.Credential) (*APIKey, error) {
	k, err := decodeAPIKey(c)
	if err != nil {
		return nil, &warden.Error{Code: warden.Internal, Message: "internal error", Cause: err}
	}
	return k, nil
}

// CheckAPIKey implements authn.APIKeyIndex from memory: no database read.
func (x *apiKeyIndex) CheckAPIKey(id string, r apikey.Request) (string, apikey.Refusal, bool) {
	x.mu.RLock()
	row, ok := x.keys.Lookup(id)
	if !ok {
		x.mu.RUnlock()
		if x.loading.Load() {
			return x.checkStored(id, &r)
		}
		return "", 0, false
	}
	defer x.mu.RUnlock()
	refusal := x.keys.Check(row, &r)
	if refusal == apikey.Accepted {
		x.recordUse(row, r.Now)
	}
	return x.keys.Subject(row), refusal, true
}

// APIKeyIndex returns the in-memory API key index for the authentication
// pipeline.
func (s *Service) APIKeyIndex() authn.APIKeyIndex { return s.apiKeys }

// Collectors returns the service's Prometheus metrics.
func (s *Service) Collectors() []prometheus.Collector {
	return append([]prometheus.Collector{prometheus.NewGaugeFunc(prometheus.GaugeOpts{
		Name: "warden_api_keys_loaded", Help: "API keys held in memory for checking.",
	}, func() float64 { return float64(s.apiKeys.Len()) }), prometheus.NewGaugeFunc(prometheus.GaugeOpts{
		Name: "warden_static_tokens_loaded", Help: "Static tokens held in memory for checking.",
	}, func() float64 { return float64(s.staticTokens.Len()) })}, s.logins.collectors()...)
}
