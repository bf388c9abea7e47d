// Package server assembles wardend: storage, services, the gRPC server and
// the HTTP handler that shares its one listening port (gRPC, REST, health,
// metrics). cmd/wardend is a thin wrapper, and end-to-end tests start a
// Main on port 0.
package server

import (
	"context"
	"crypto/tls"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net"
	"net/http"
	"net/netip"
	"os"
	"path/filepath"
	"sync"
	"time"

	authv3 "github.com/envoyproxy/go-control-plane/envoy/service/auth/v3"
	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/collectors"
	"github.com/yandex-cloud/go-genproto/yandex/cloud/endpoint"
	iam "github.com/yandex-cloud/go-genproto/yandex/cloud/iam/v1"
	awscompat "github.com/yandex-cloud/go-genproto/yandex/cloud/iam/v1/awscompatibility"
	"github.com/yandex-cloud/go-genproto/yandex/cloud/operation"
	om "github.com/yandex-cloud/go-genproto/yandex/cloud/organizationmanager/v1"
	idp "github.com/yandex-cloud/go-genproto/yandex/cloud/organizationmanager/v1/idp"
	rm "github.com/yandex-cloud/go-genproto/yandex/cloud/resourcemanager/v1"
	"google.golang.org/grpc/metadata"

	"warden"
	"warden/access"
	"warden/api/accessapi"
	"warden/api/accesspb"
	"warden/api/analyzerpb"
	"warden/api/auditpb"
	"warden/api/forwardauth"
	"warden/api/grpcapi"
	"warden/api/keystone"
	"warden/api/restapi"
	"warden/apikey"
	"warden/audit"
	"warden/authn"
	"warden/secret"
	"warden/service"
	"warden/sigv4"
)

// Config is wardend's configuration; cmd/wardend fills it from flags and
// WARDEN_* environment variables.
type Config struct {
	Listen   string // host:port; port 0 picks a free port
	DataDir  string // SQLite file, master key and bootstrap token live here
	Database string // "" for SQLite in DataDir, or postgres://…
	TLSCert  string
	TLSKey   string
	// MasterKeyFile holds the base64 master key that seals secrets at rest;
	// <data-dir>/master.key, created on first start, when empty. Every
	// wardend on one database needs the same key.
	MasterKeyFile string
	// PublicAddress is announced by ApiEndpointService; the listen address
	// when empty.
	PublicAddress string
	// RolesFiles are JSON role documents ({"roles": [{"id", "permissions",
	// "includes"}]}) added to the built-in catalog: operators' roles for
	// their own services.
	RolesFiles []string
	// ProductsFile is a JSON document of the products (services) API keys
	// can be bound to, replacing the built-in postbox, monaas, logaas and
	// storage: {"products": [{"name", "description", "endpoints", "scopes"}]}.
	ProductsFile string
	// OAuthTokenLifetime is how long a login's OAuth token stays valid;
	// 30 days when zero (see service.Config).
	OAuthTokenLifetime time.Duration
	// Logins tunes the throttling of failed password logins.
	Logins service.LoginLimits
	// KeystoneTokenLifetime is how long a Keystone token lives; 24 h when
	// zero (see service.Config).
	KeystoneTokenLifetime time.Duration
	// KeystoneCatalogFile lists the operator's services for Keystone's
	// catalog besides Warden's identity (see keystone.LoadCatalog).
	KeystoneCatalogFile string
	// AdminPassword, when set, becomes the bootstrap admin's password at
	// the first start.
	AdminPassword string
	// PasswordMaxAge, when not zero, is how long a user's password stays
	// valid (see service.Config).
	PasswordMaxAge time.Duration
	Logger         *slog.Logger
	// Now is the clock (tests inject one); time.Now when nil.
	Now func() time.Time
	// RefreshInterval bounds staleness of in-memory state; 500 ms when zero.
	RefreshInterval time.Duration
	// ShutdownTimeout bounds the wait for in-flight requests; 30 s when zero.
	ShutdownTimeout time.Duration
	// ReadTimeout bounds the time to read a request's body, WriteTimeout
	// the time from the start of its handling to the end of its response,
	// for every request but gRPC calls (which may be long); 30 s and 60 s
	// when zero.
	ReadTimeout, WriteTimeout time.Duration
	// MaxConnections bounds client connections; beyond it a few more are
	// accepted briefly to answer health checks, and the rest are turned
	// away. When zero, 10000 or what RLIMIT_NOFILE allows.
	MaxConnections int
	// ForwardAuthRoutes is the operator's route file for forward auth and
	// ext_authz (see forwardauth.Routes); without it every forwarded
	// request is denied.
	ForwardAuthRoutes string
	// TrustedProxies are the proxies whose X-Forwarded-For and X-Real-IP
	// forward auth and ext_authz believe (CIDRs).
	TrustedProxies []netip.Prefix
	// Banner, when set, is told once where the bootstrap token was written
	// (wardend passes its standard error).
	Banner io.Writer
	// Audit configures the exports, retention and data events of the
	// audit trail (see AuditConfig).
	Audit AuditConfig
}

// Main is a running wardend.
type Main struct {
	cfg      Config
	log      *slog.Logger
	store    warden.Store
	svc      *service.Service
	authn    *authn.Pipeline
	grpc     *grpcapi.Server
	rest     *restapi.Handler
	http     *http.Server
	lis      net.Listener
	limit    *limitListener
	dispatch *dispatcher
	cancel   context.CancelFunc
	wg       sync.WaitGroup
	addr     string
	boot     *service.Bootstrap
	serveErr chan error
	catalog  []keystone.Service
	exports  []*audit.Exporter
	fwd      *forwardauth.Checker
}

// AdminTokenFile is the name, in the data dir, of the file that receives the
// bootstrap admin's OAuth token.
const AdminTokenFile = "admin-oauth-token"

// Open prepares wardend: opens and migrates the database, bootstraps it,
// and binds the listener. Call Run to serve.
func Open(ctx context.Context, cfg Config) (*Main, error) {
	if cfg.Logger == nil {
		cfg.Logger = slog.New(slog.NewJSONHandler(os.Stderr, nil))
	}
	if cfg.Listen == "" {
		cfg.Listen = "127.0.0.1:8080"
	}
	if cfg.DataDir == "" {
		cfg.DataDir = "warden-data"
	}
	if (cfg.TLSCert == "") != (cfg.TLSKey == "") {
		return nil, errors.New("server: --tls-cert and --tls-key go together")
	}
	// Checked before anything is created: a refused password must not leave
	// a bootstrapped database behind without it.
	if err := validateAdminPassword(cfg.AdminPassword); err != nil {
		return nil, err
	}
	if err := boundClients(&cfg); err != nil {
		return nil, err
	}
	m := &Main{cfg: cfg, log: cfg.Logger, serveErr: make(chan error, 2)}
	if err := m.open(ctx); err != nil {
		m.Close()
		return nil, err
	}
	return m, nil
}

func (m *Main) open(ctx context.Context) error {
	// Files named in the configuration are read, and the port bound, before
	// the database is opened: a mistake in them creates nothing.
	var roles [][]byte
	for _, f := range m.cfg.RolesFiles {
		b, err := os.ReadFile(f)
		if err != nil {
			return fmt.Errorf("server: roles file: %w", err)
		}
		roles = append(roles, b)
	}
	if _, err := access.NewCatalog(roles...); err != nil {
		return fmt.Errorf("server: roles file: %w", err)
	}
	var products *apikey.Catalog
	var err error
	if m.cfg.ProductsFile != "" {
		if products, err = apikey.LoadCatalog(m.cfg.ProductsFile); err != nil {
			return fmt.Errorf("server: products file: %w", err)
		}
	}
	if m.cfg.KeystoneCatalogFile != "" {
		if m.catalog, err = keystone.LoadCatalog(m.cfg.KeystoneCatalogFile); err != nil {
			return fmt.Errorf("server: %w", err)
		}
	}
	fwdRoutes := &forwardauth.Routes{}
	if m.cfg.ForwardAuthRoutes != "" {
		if fwdRoutes, err = forwardauth.LoadRoutes(m.cfg.ForwardAuthRoutes); err != nil {
			return fmt.Errorf("server: %w", err)
		}
	}
	var cert tls.Certificate
	if m.cfg.TLSCert != "" {
		if cert, err = tls.LoadX509KeyPair(m.cfg.TLSCert, m.cfg.TLSKey); err != nil {
			return fmt.Errorf("server: TLS: %w", err)
		}
	}
	if m.lis, err = net.Listen("tcp", m.cfg.Listen); err != nil {
		return fmt.Errorf("server: listen: %w", err)
	}
	m.limit = newLimitListener(m.lis, m.cfg.MaxConnections)
	m.lis = m.limit
	m.addr = m.lis.Addr().String()
	public := m.cfg.PublicAddress
	if public == "" {
		public = m.addr
	}
	var sealer *secret.Sealer
	if m.store, sealer, err = openStore(ctx, m.cfg, true); err != nil {
		return err
	}
	auditCfg, err := m.auditConfig()
	if err != nil {
		return err
	}
	m.svc, err = service.New(service.Config{
		Audit: auditCfg,
		Store: m.store, Logger: m.log, Now: m.cfg.Now, Sealer: sealer, PublicAddress: public,
		RefreshInterval: m.cfg.RefreshInterval, Roles: roles, Products: products, AdminPassword: m.cfg.AdminPassword,
		OAuthTokenLifetime: m.cfg.OAuthTokenLifetime, Logins: m.cfg.Logins, KeystoneTokenLifetime: m.cfg.KeystoneTokenLifetime,
		PasswordMaxAge: m.cfg.PasswordMaxAge,
	})
	if err != nil {
		return err
	}
	if err := m.svc.CheckMasterKey(ctx); err != nil {
		return fmt.Errorf("server: %s", operatorText(err))
	}
	if m.boot, err = m.svc.Start(ctx); err != nil {
		return fmt.Errorf("server: start: %w", err)
	}
	if m.boot != nil {
		if err := m.finishBootstrap(ctx); err != nil {
			return err
		}
	}
	reg := prometheus.NewRegistry()
	reg.MustRegister(collectors.NewGoCollector(), collectors.NewProcessCollector(collectors.ProcessCollectorOpts{}))
	reg.MustRegister(m.svc.Collectors()...)
	reg.MustRegister(m.limit.Collectors()...)
	reg.MustRegister(m.svc.AuditWriter().Collectors()...)
	sch, err := schemes(m.svc)
	if err != nil {
		return err
	}
	m.authn, err = authn.New(authn.Config{Schemes: sch, Accounts: m.svc})
	if err != nil {
		return err
	}
	reg.MustRegister(m.authn.Collector())
	m.grpc, err = grpcapi.NewServer(grpcapi.Config{
		Logger: m.log, Metrics: reg, Auth: m.authn, Public: publicMethods, Authorize: m.svc.AuthorizeCall,
		Incoming: incoming, Audit: m.svc.AuditCall,
	})
	if err != nil {
		return err
	}
	iam.RegisterServiceAccountServiceServer(m.grpc, m.svc.ServiceAccounts())
	iam.RegisterIamTokenServiceServer(m.grpc, m.svc.IamTokens())
	iam.RegisterKeyServiceServer(m.grpc, m.svc.Keys())
	iam.RegisterApiKeyServiceServer(m.grpc, m.svc.APIKeys())
	awscompat.RegisterAccessKeyServiceServer(m.grpc, m.svc.AccessKeys())
	awscompat.RegisterTemporaryAccessKeyServiceServer(m.grpc, m.svc.TemporaryAccessKeys())
	iam.RegisterUserAccountServiceServer(m.grpc, m.svc.UserAccounts())
	iam.RegisterRefreshTokenServiceServer(m.grpc, m.svc.RefreshTokens())
	iam.RegisterRoleServiceServer(m.grpc, m.svc.Roles())
	accesspb.RegisterAccessServiceServer(m.grpc, accessapi.New(m.svc, m.authn))
	m.fwd, err = forwardauth.New(forwardauth.Config{
		Routes: fwdRoutes, TrustedProxies: m.cfg.TrustedProxies, Auth: m.authn, Access: m.svc, Logger: m.log,
	})
	if err != nil {
		return err
	}
	authv3.RegisterAuthorizationServer(m.grpc, m.fwd.ExtAuthz())
	rm.RegisterCloudServiceServer(m.grpc, m.svc.Clouds())
	rm.RegisterFolderServiceServer(m.grpc, m.svc.Folders())
	om.RegisterOrganizationServiceServer(m.grpc, m.svc.Organizations())
	om.RegisterUserServiceServer(m.grpc, m.svc.Members())
	om.RegisterGroupServiceServer(m.grpc, m.svc.Groups())
	idp.RegisterUserpoolServiceServer(m.grpc, m.svc.Userpools())
	idp.RegisterUserServiceServer(m.grpc, m.svc.Users())
	iam.RegisterYandexPassportUserAccountServiceServer(m.grpc, m.svc.PassportAccounts())
	operation.RegisterOperationServiceServer(m.grpc, m.svc.Operations())
	auditpb.RegisterAuditServiceServer(m.grpc, m.svc.AuditEvents())
	iam.RegisterAccessAnalyzerServiceServer(m.grpc, m.svc.AccessAnalyzer())
	analyzerpb.RegisterResourceAccessServiceServer(m.grpc, m.svc.ResourceAccess())
	endpoint.RegisterApiEndpointServiceServer(m.grpc, m.svc.Endpoints())
	m.rest, err = restapi.New(m.grpc)
	if err != nil {
		return err
	}
	m.rest.SetCodec(accessapi.AuthorizeMethod, &restapi.Codec{
		Decode: accessapi.DecodeAuthorize, Fallback: accessapi.ErrFallback, Encode: accessapi.EncodeAuthorize,
	})
	m.rest.SetCodec(restapi.ServiceAccountsListMethod, &restapi.Codec{Encode: restapi.EncodeServiceAccounts})
	m.rest.SetCodec(restapi.ServiceAccountGetMethod, &restapi.Codec{Encode: restapi.EncodeServiceAccount})
	m.rest.SetCodec(restapi.ServiceAccountCreateMethod, &restapi.Codec{
		Decode: restapi.DecodeCreate, Fallback: restapi.CreateFallback, Encode: restapi.EncodeOperation,
	})
	m.rest.SetCodec(restapi.ServiceAccountUpdateMethod, &restapi.Codec{Encode: restapi.EncodeOperation})
	m.http = &http.Server{
		Handler:           m.handler(m.rest, reg),
		ReadHeaderTimeout: 10 * time.Second,
		IdleTimeout:       5 * time.Minute,
		ConnContext:       connContext, // ReadTimeout, WriteTimeout: per request in handler
		ErrorLog:          slog.NewLogLogger(m.log.Handler(), slog.LevelWarn),
	}
	// TLS ends in the dispatcher, so net/http sees HTTP/2 (over TLS or
	// not) as h2c; HTTP/1.1 over TLS reaches it as the TLS connection.
	m.http.Protocols = new(http.Protocols)
	m.http.Protocols.SetHTTP1(true)
	m.http.Protocols.SetUnencryptedHTTP2(true)
	var tlsConfig *tls.Config
	if m.cfg.TLSCert != "" {
		tlsConfig = &tls.Config{Certificates: []tls.Certificate{cert}, MinVersion: tls.VersionTLS12}
	}
	m.dispatch = newDispatcher(m.lis, tlsConfig, m.http.ReadHeaderTimeout, m.http.IdleTimeout)
	return nil
}

// schemes are the credential schemes of the authentication pipeline, in the
// order they are tried. A new kind of credential is one file in authn and
// one line here.
func schemes(svc *service.Service) ([]authn.Scheme, error) {
	v4, err := sigv4.New(sigv4.Config{Keys: svc.AccessKeyIndex(), Now: svc.Now})
	if err != nil {
		return nil, err
	}
	return []authn.Scheme{
		authn.IAMToken{Verifier: svc},
		authn.APIKey{Index: svc.APIKeyIndex(), Now: svc.Now},
		authn.SigV4{Verifier: v4, Keys: svc.AccessKeyIndex()},
		authn.KeystoneToken{Verifier: svc},
		authn.StaticToken{Index: svc.StaticTokenIndex(), Now: svc.Now},
	}, nil
}

// incoming hands the service the request metadata it needs beyond the
// credential.
func incoming(ctx context.Context, md metadata.MD) context.Context {
	if v := md.Get(service.PublicKeyMetadata); len(v) > 0 {
		return service.WithCallerPublicKey(ctx, v[0])
	}
	return ctx
}

// publicMethods need no credential.
var publicMethods = func() map[string]bool {
	m := map[string]bool{}
	for name := range ownPublicMethods {
		m[name] = true
	}
	for _, name := range keystone.PublicMethods {
		m[name] = true
	}
	return m
}()

var ownPublicMethods = map[string]bool{
	"/yandex.cloud.iam.v1.IamTokenService/Create":    true,
	"/yandex.cloud.iam.v1.IamTokenService/Revoke":    true,
	"/yandex.cloud.endpoint.ApiEndpointService/Get":  true,
	"/yandex.cloud.endpoint.ApiEndpointService/List": true,
	MethodLogin: true,
	// The access service authenticates the credential it is given;
	// forward auth and ext_authz the request they describe.
	"/warden.access.v1.AccessService/Authenticate": true,
	"/warden.access.v1.AccessService/Authorize":    true,
	forwardauth.Method:                             true,
	forwardauth.ExtAuthzMethod:                     true,
}

// finishBootstrap writes the admin's OAuth token file (the password, when
// configured, was set in the bootstrap transaction).
func (m *Main) finishBootstrap(ctx context.Context) error {
	path := filepath.Join(m.cfg.DataDir, AdminTokenFile)
	if err := writeSecretFile(path, m.boot.AdminOAuthToken.Reveal()+"\n"); err != nil {
		return fmt.Errorf("server: write %s: %w", path, err)
	}
	m.log.Info("bootstrap admin OAuth token written", "path", path)
	if m.cfg.Banner != nil {
		fmt.Fprintf(m.cfg.Banner, "wardend: the bootstrap admin's OAuth token is in %s\n", path)
	}
	return nil
}

func writeSecretFile(path, content string) error {
	tmp := path + ".tmp"
	if err := os.WriteFile(tmp, []byte(content), 0o600); err != nil {
		return err
	}
	return os.Rename(tmp, path)
}

// Addr is the address wardend listens on.
func (m *Main) Addr() string { return m.addr }

// Bootstrap returns what the first start created (nil on later starts).
func (m *Main) Bootstrap() *service.Bootstrap { return m.boot }

// Service returns the service layer (for in-process benchmarks).
func (m *Main) Service() *service.Service { return m.svc }

// Handler returns the HTTP handler that serves everything.
func (m *Main) Handler() http.Handler { return m.http.Handler }

// Run serves until ctx ends or Close is called, then shuts down gracefully.
func (m *Main) Run(ctx context.Context) error {
	ctx, m.cancel = context.WithCancel(ctx)
	m.wg.Add(1)
	go func() {
		defer m.wg.Done()
		m.svc.Run(ctx)
	}()
	go m.dispatch.serve()
	go func() { m.serveErr <- m.http.Serve(m.dispatch.http) }()
	go func() {
		if err := m.grpc.Serve(m.dispatch.grpc); err != nil && !errors.Is(err, net.ErrClosed) {
			m.serveErr <- err
		}
	}()
	m.log.Info("wardend serving", "addr", m.addr, "tls", m.dispatch.tls != nil)
	select {
	case <-ctx.Done():
	case err := <-m.serveErr:
		if !errors.Is(err, http.ErrServerClosed) {
			return err
		}
	}
	return m.shutdown()
}

func (m *Main) shutdown() error {
	timeout := m.cfg.ShutdownTimeout
	if timeout == 0 {
		timeout = 30 * time.Second
	}
	ctx, cancel := context.WithTimeout(context.Background(), timeout)
	defer cancel()
	// Both servers wait for their in-flight requests; gRPC calls still
	// running when the time is up are cancelled.
	m.dispatch.Close()
	grpcDone := make(chan struct{})
	go func() {
		m.grpc.GracefulStop()
		close(grpcDone)
	}()
	err := m.http.Shutdown(ctx)
	select {
	case <-grpcDone:
	case <-ctx.Done():
		m.grpc.Stop()
		<-grpcDone
	}
	m.log.Info("wardend stopped")
	return err
}

// Close stops serving (if running) and releases the database.
func (m *Main) Close() error {
	if m.cancel != nil {
		m.cancel()
	}
	m.wg.Wait()
	if m.lis != nil {
		m.lis.Close() // after Run's shutdown this is a harmless second close
	}
	for _, e := range m.exports {
		e.Close()
	}
	if m.svc != nil {
		m.svc.Close() // its start-up load reads the store
	}
	if m.store != nil {
		return m.store.Close()
	}
	return nil
}
