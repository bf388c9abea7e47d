// Package service implements the use cases behind every Warden API method on
// the types of the Yandex Cloud API (github.com/yandex-cloud/go-genproto).
// It is transport-neutral: api/grpcapi serves it over gRPC and api/restapi
// over REST, and both see exactly the same behaviour.
package service

import (
	"context"
	"fmt"
	"log/slog"
	"regexp"
	"time"

	"github.com/yandex-cloud/go-genproto/yandex/cloud/operation"
	"google.golang.org/genproto/googleapis/rpc/status"
	"google.golang.org/protobuf/proto"
	"google.golang.org/protobuf/types/known/anypb"
	"google.golang.org/protobuf/types/known/emptypb"
	"google.golang.org/protobuf/types/known/timestamppb"

	"warden"
	"warden/access"
	"warden/apikey"
	"warden/secret"
	"warden/token"
)

// Config configures a Service.
type Config struct {
	Store  warden.Store
	Logger *slog.Logger
	// Now is the clock; time.Now when nil.
	Now func() time.Time
	// Sealer encrypts server signing keys at rest.
	Sealer *secret.Sealer
	// PublicAddress is the host:port clients reach Warden at, answered by
	// ApiEndpointService.
	PublicAddress string
	// TokenLifetime of IAM tokens; 12 h when zero, at most 12 h.
	TokenLifetime time.Duration
	// KeyRotation is how often a new signing key is made; 24 h when zero.
	KeyRotation time.Duration
	// RefreshInterval bounds how stale the in-memory revocation list, key
	// set and access snapshot may be relative to the database; 200 ms when
	// zero.
	RefreshInterval time.Duration
	// Roles are operators' role documents added to the built-in catalog.
	Roles [][]byte
	// Products API keys can be bound to; the built-in catalog when nil.
	Products *apikey.Catalog
	// OAuthTokenLifetime is how long a user's OAuth token (from a login)
	// stays valid; DefaultOAuthTokenLifetime when zero, at most
	// MaxOAuthTokenLifetime.
	OAuthTokenLifetime time.Duration
	// Logins tunes the throttling of failed password logins (Keystone's
	// password method included).
	Logins LoginLimits
	// KeystoneTokenLifetime is how long a Keystone token lives;
	// DefaultKeystoneTokenLifetime when zero, 1 minute to
	// token.MaxKeystoneLifetime.
	KeystoneTokenLifetime time.Duration
	// AdminPassword, when set, is the bootstrap admin's password, set in
	// the bootstrap transaction (ignored once bootstrapped).
	AdminPassword string
	// PasswordMaxAge, when not zero, is how long a user's password stays
	// valid after it was set: an older one is refused at login (after it
	// was checked, so only its holder learns it expired). At most
	// MaxPasswordMaxAge.
	PasswordMaxAge time.Duration
	// Audit configures the audit trail.
	Audit AuditConfig
}

// MaxPasswordMaxAge bounds Config.PasswordMaxAge (two years, as Yandex's
// password lifetime policy does).
const MaxPasswordMaxAge = 730 * 24 * time.Hour

// Service holds the state shared by every API method.
type Service struct {
	store    warden.Store
	log      *slog.Logger
	now      func() time.Time
	sealer   *secret.Sealer
	address  string
	lifetime time.Duration
	rotation time.Duration
	refresh  time.Duration
	verifier *token.Verifier
	keys     *keyring
	authz    *authz
	jwtKeys  *keyState // authorized keys cached for the JWT exchange
	apiKeys  *apiKeyIndex
	// accessKeys follows the same credential feed as apiKeys.
	accessKeys *accessKeyIndex
	products   *apikey.Catalog
	logins     *loginGuard
	// oauthLifetime is how long a new OAuth token is valid.
	oauthLifetime time.Duration
	// keystoneLifetime is how long a new Keystone token is valid.
	keystoneLifetime time.Duration
	// verified remembers passwords that passed Keystone's password method.
	verified *verifiedPasswords
	// adminPassword is set at bootstrap only.
	adminPassword string
	// passwordMaxAge is Config.PasswordMaxAge.
	passwordMaxAge time.Duration
	audit          *auditState

	// staticTokens follows the same credential feed as apiKeys.
	staticTokens *staticTokenIndex
}

// New validates cfg and returns a Service. Call Start before serving.
func New(cfg Config) (*Service, error) {
	if cfg.Store == nil || cfg.Sealer == nil {
		return nil, fmt.Errorf("service: Store and Sealer are required")
	}
	s := &Service{
		store: cfg.Store, log: cfg.Logger, now: cfg.Now, sealer: cfg.Sealer, address: cfg.PublicAddress,
		lifetime: cfg.TokenLifetime, rotation: cfg.KeyRotation, refresh: cfg.RefreshInterval,
	}
	if s.log == nil {
		s.log = slog.New(slog.DiscardHandler)
	}
	clock := s.now
	if clock == nil {
		clock = time.Now
	}
	// The store keeps microseconds: answer with what a later read returns.
	s.now = func() time.Time { return clock().UTC().Truncate(time.Microsecond) }
	if cfg.AdminPassword != "" {
		if err := ValidatePassword(cfg.AdminPassword); err != nil {
			return nil, fmt.Errorf("service: admin password: %s", warden.ErrorMessage(err))
		}
	}
	s.adminPassword = cfg.AdminPassword
	if cfg.PasswordMaxAge < 0 || cfg.PasswordMaxAge > MaxPasswordMaxAge {
		return nil, fmt.Errorf("service: password maximum age %s is outside 0 to %s", cfg.PasswordMaxAge, MaxPasswordMaxAge)
	}
	s.passwordMaxAge = cfg.PasswordMaxAge
	if s.lifetime == 0 {
		s.lifetime = token.MaxLifetime
	}
	if s.lifetime > token.MaxLifetime {
		return nil, fmt.Errorf("service: token lifetime %s exceeds %s", s.lifetime, token.MaxLifetime)
	}
	if s.rotation == 0 {
		s.rotation = 24 * time.Hour
	}
	s.oauthLifetime = cfg.OAuthTokenLifetime
	if s.oauthLifetime == 0 {
		s.oauthLifetime = DefaultOAuthTokenLifetime
	}
	if s.oauthLifetime < time.Minute || s.oauthLifetime > MaxOAuthTokenLifetime {
		return nil, fmt.Errorf("service: OAuth token lifetime %s is outside 1m to %s", s.oauthLifetime, MaxOAuthTokenLifetime)
	}
	s.keystoneLifetime = cfg.KeystoneTokenLifetime
	if s.keystoneLifetime == 0 {
		s.keystoneLifetime = DefaultKeystoneTokenLifetime
	}
	if s.keystoneLifetime < time.Minute || s.keystoneLifetime > token.MaxKeystoneLifetime {
		return nil, fmt.Errorf("service: Keystone token lifetime %s is outside 1m to %s", s.keystoneLifetime, token.MaxKeystoneLifetime)
	}
	if s.refresh == 0 {
		s.refresh = 200 * time.Millisecond
	}
	catalog, err := access.NewCatalog(cfg.Roles...)
	if err != nil {
		return nil, err
	}
	s.authz = newAuthz(s.store, catalog)
	if s.audit, err = newAuditState(s, cfg.Audit); err != nil {
		return nil, err
	}
	s.products = cfg.Products
	if s.products == nil {
		s.products = apikey.DefaultCatalog()
	}
	s.apiKeys = newAPIKeyIndex(s.store, s.log, s.refresh)
	s.verifier = token.NewVerifier(s.now)
	s.accessKeys = newAccessKeyIndex(s.store, s.sealer, s.log, func(id string) bool { return s.subjectActive(context.Background(), id) }, s.verifier, s.now)
	s.staticTokens = newStaticTokenIndex(s.store, s.log)
	s.apiKeys.followers = append(s.apiKeys.followers, s.accessKeys, s.staticTokens)
	if s.logins, err = newLoginGuard(cfg.Logins, s.now); err != nil {
		return nil, err
	}
	s.jwtKeys = newKeyState(s)
	s.verified = newVerifiedPasswords(s.now)
	s.keys = &keyring{store: s.store, sealer: s.sealer, verifier: s.verifier, now: s.now, rotation: s.rotation}
	return s, nil
}

// Start loads signing keys and revocations and bootstraps an empty database.
// It returns the bootstrap result (nil when the database was bootstrapped
// before).
func (s *Service) Start(ctx context.Context) (*Bootstrap, error) {
	boot, err := s.bootstrap(ctx)
	if err != nil {
		return nil, err
	}
	if err := s.ensureUserpool(ctx); err != nil {
		return nil, fmt.Errorf("service: default userpool: %w", err)
	}
	if err := s.keys.load(ctx); err != nil {
		return nil, err
	}
	if _, err := s.loadRevocations(ctx, time.Time{}); err != nil {
		return nil, err
	}
	if err := s.authz.reload(ctx); err != nil {
		return nil, err
	}
	s.apiKeys.loadInBackground(ctx) // keys are read from the store until it is done
	if err := s.accessKeys.loadAll(ctx); err != nil {
		return nil, err
	}
	if err := s.staticTokens.loadAll(ctx); err != nil {
		return nil, err
	}
	return boot, nil
}

// Run refreshes the in-memory key set and revocation list until ctx ends.
func (s *Service) Run(ctx context.Context) {
	go s.runAuthz(ctx)
	auditDone := s.runAudit(ctx)
	tick := time.NewTicker(s.refresh)
	defer tick.Stop()
	var lastRevocations time.Time // by the database's clock; zero: read them all once
	lastKeys := s.now()
	for {
		select {
		case <-ctx.Done():
			// Uses not yet written would be lost with the process.
			s.apiKeys.stopped.Store(true)
			s.apiKeys.flush(context.Background())
			<-auditDone // the buffered audit events are written
			return
		case <-tick.C:
		}
		// Re-read a window behind the last poll: a revocation committed late
		// by a slow transaction on another node is still picked up. Both
		// ends are the database's clock, which stamps revocations, so a node
		// whose clock is off neither misses them nor makes others miss its.
		since := lastRevocations
		if !since.IsZero() {
			since = since.Add(-10 * time.Second)
		}
		if read, err := s.loadRevocations(ctx, since); err != nil && ctx.Err() == nil {
			s.log.Warn("refresh revocations", "err", err)
		} else if err == nil {
			lastRevocations = read
		}
		if err := s.apiKeys.refresh(ctx); err != nil && ctx.Err() == nil {
			s.log.Warn("refresh API keys", "err", err)
		}
		if s.now().Sub(lastKeys) >= 30*time.Second {
			lastKeys = s.now()
			if err := s.keys.load(ctx); err != nil && ctx.Err() == nil {
				s.log.Warn("refresh signing keys", "err", err)
			}
		}
	}
}

// loadRevocations applies the revocations recorded since then (by the
// database's clock) and returns the database's clock as it was before it
// read them: the next read starts from there.
func (s *Service) loadRevocations(ctx context.Context, since time.Time) (time.Time, error) {
	var revoked []warden.RevokedToken
	var read time.Time
	err := s.store.View(ctx, func(tx warden.Tx) (err error) {
		if read, err = tx.Clock(ctx); err != nil {
			return err
		}
		revoked, err = tx.RevokedTokens(ctx, since, s.now())
		return err
	})
	if err != nil {
		return time.Time{}, err
	}
	s.applyRevocations(revoked)
	return read, nil
}

// Now returns the service's clock reading.
func (s *Service) Now() time.Time { return s.now() }

// Ready reports whether the store is reachable.
func (s *Service) Ready(ctx context.Context) error { return s.store.Ping(ctx) }

// newOperation builds a finished operation on resourceID and stores it in tx,
// so the operation commits together with the mutation it describes.
func (s *Service) newOperation(ctx context.Context, tx warden.Tx, resourceID, description string, metadata, response proto.Message) (*operation.Operation, error) {
	now := s.now().UTC()
	op := &warden.Operation{
		ID: warden.NewID(warden.PrefixOperation), ResourceID: resourceID, Description: description,
		CreatedBy: SubjectFrom(ctx).ID, CreatedAt: now, ModifiedAt: now, Done: true,
	}
	if response == nil {
		response = &emptypb.Empty{}
	}
	// The Anys stored are the ones answered: no decoding of what was just
	// encoded.
	meta, metaBytes, err := marshalAny(metadata)
	if err != nil {
		return nil, err
	}
	resp, respBytes, err := marshalAny(response)
	if err != nil {
		return nil, err
	}
	op.Metadata, op.Response = metaBytes, respBytes
	if err := tx.CreateOperation(ctx, op); err != nil {
		return nil, err
	}
	return &operation.Operation{
		Id: op.ID, Description: op.Description, CreatedBy: op.CreatedBy,
		CreatedAt: timestamppb.New(op.CreatedAt), ModifiedAt: timestamppb.New(op.ModifiedAt), Done: op.Done,
		Metadata: meta, Result: &operation.Operation_Response{Response: resp},
	}, nil
}

// marshalAny wraps m in an Any and encodes that.
func marshalAny(m proto.Message) (*anypb.Any, []byte, error) {
	a, err := anypb.New(m)
	if err != nil {
		return nil, nil, &warden.Error{Code: warden.Internal, Message: "internal error", Cause: err}
	}
	b, err := proto.Marshal(a)
	if err != nil {
		return nil, nil, &warden.Error{Code: warden.Internal, Message: "internal error", Cause: err}
	}
	return a, b, nil
}

func unmarshalAny(b []byte) (*anypb.Any, error) {
	if len(b) == 0 {
		return nil, nil
	}
	a := &anypb.Any{}
	if err := proto.Unmarshal(b, a); err != nil {
		return nil, &warden.Error{Code: warden.Internal, Message: "internal error", Cause: err}
	}
	return a, nil
}

func operationProto(op *warden.Operation) (*operation.Operation, error) {
	out := &operation.Operation{
		Id: op.ID, Description: op.Description, CreatedBy: op.CreatedBy,
		CreatedAt: timestamppb.New(op.CreatedAt), ModifiedAt: timestamppb.New(op.ModifiedAt), Done: op.Done,
	}
	var err error
	if out.Metadata, err = unmarshalAny(op.Metadata); err != nil {
		return nil, err
	}
	if len(op.Error) > 0 {
		st := &status.Status{}
		if err := proto.Unmarshal(op.Error, st); err != nil {
			return nil, &warden.Error{Code: warden.Internal, Message: "internal error", Cause: err}
		}
		out.Result = &operation.Operation_Error{Error: st}
		return out, nil
	}
	resp, err := unmarshalAny(op.Response)
	if err != nil {
		return nil, err
	}
	if resp != nil {
		out.Result = &operation.Operation_Response{Response: resp}
	}
	return out, nil
}

func ts(t time.Time) *timestamppb.Timestamp {
	if t.IsZero() {
		return nil
	}
	return timestamppb.New(t)
}

var nameFilter = regexp.MustCompile(`^\s*name\s*=\s*"([^"\\]*)"\s*$`)

// parseFilter accepts the filter the Yandex list methods document: empty, or
// name="<name>".
func parseFilter(filter string) (name string, err error) {
	if filter == "" {
		return "", nil
	}
	m := nameFilter.FindStringSubmatch(filter)
	if m == nil {
		return "", warden.Errorf(warden.InvalidArgument, `filter: unsupported filter %q: only name="<name>" is supported`, filter)
	}
	return m[1], nil
}

func page(size int64, tok string) warden.Page { return warden.Page{Size: int(size), Token: tok} }

type operationT = operation.Operation

// presentFields names the fields set in an update request, for an update
// without a mask.
func presentFields(set map[string]bool) []string {
	var out []string
	for name, ok := range set {
		if ok {
			out = append(out, name)
		}
	}
	return out
}

type protoMessage = proto.Message
