// Package client is the Go client of Warden's public API: the Yandex Cloud
// compatible gRPC services (typed go-genproto clients over one connection)
// and Warden's own login endpoints. The CLI and the end-to-end tests use it;
// it never touches the database.
package client

import (
	"context"
	"crypto/tls"
	"errors"
	"fmt"
	"io"
	"net/http"
	"strings"
	"time"

	"github.com/yandex-cloud/go-genproto/yandex/cloud/endpoint"
	iam "github.com/yandex-cloud/go-genproto/yandex/cloud/iam/v1"
	"github.com/yandex-cloud/go-genproto/yandex/cloud/operation"
	om "github.com/yandex-cloud/go-genproto/yandex/cloud/organizationmanager/v1"
	rm "github.com/yandex-cloud/go-genproto/yandex/cloud/resourcemanager/v1"
	"google.golang.org/grpc"
	"google.golang.org/grpc/credentials"
	"google.golang.org/grpc/credentials/insecure"
)

// DefaultEndpoint is where wardend listens when started without flags.
const DefaultEndpoint = "127.0.0.1:8080"

// Config says where Warden is and who the client is.
type Config struct {
	// Endpoint is host:port, optionally with a scheme: https:// selects
	// TLS, http:// (or none) plaintext h2c. DefaultEndpoint when empty.
	Endpoint string
	// TLS forces TLS for an endpoint without a scheme. Plaintext is the
	// default because wardend serves plaintext unless given a certificate.
	TLS bool
	// TLSConfig customises TLS (CA pool, server name); nil means the
	// system roots.
	TLSConfig *tls.Config

	// Credentials, in the order Dial prefers them. All empty means
	// unauthenticated: only the public methods (IamTokenService.Create,
	// ApiEndpointService) will succeed.
	//
	// TokenSource, when set, supplies IAM tokens itself.
	TokenSource TokenSource
	// IAMToken is used as is, until it expires.
	IAMToken string
	// OAuthToken (from Login) is exchanged for IAM tokens through
	// IamTokenService.Create, which are cached until shortly before they
	// expire.
	OAuthToken string
	// Credentials is any other credential that IamTokenService.Create
	// accepts, exchanged and cached like OAuthToken: a
	// *ServiceAccountKey, for one.
	Credentials Exchangeable

	// Now is the clock for token expiry; time.Now when nil.
	Now func() time.Time
	// HTTPClient makes the plain HTTP calls (Login, SetPassword);
	// http.DefaultClient when nil.
	HTTPClient *http.Client
	// DialOptions are appended to the client's own gRPC options.
	DialOptions []grpc.DialOption
	// Debug, when set, receives a line per call: method, duration,
	// outcome and request id (never a body or a credential).
	Debug io.Writer
}

// target splits the endpoint into the gRPC target and the HTTP base URL.
func (c Config) target() (target, baseURL string, useTLS bool, err error) {
	ep := c.Endpoint
	if ep == "" {
		ep = DefaultEndpoint
	}
	useTLS = c.TLS
	switch {
	case strings.HasPrefix(ep, "https://"):
		ep, useTLS = strings.TrimPrefix(ep, "https://"), true
	case strings.HasPrefix(ep, "http://"):
		if c.TLS {
			return "", "", false, fmt.Errorf("client: endpoint %q is http:// but TLS was requested", c.Endpoint)
		}
		ep = strings.TrimPrefix(ep, "http://")
	}
	ep = strings.TrimSuffix(ep, "/")
	if ep == "" || strings.ContainsAny(ep, "/ ") {
		return "", "", false, fmt.Errorf("client: endpoint %q is not host:port", c.Endpoint)
	}
	scheme := "http://"
	if useTLS {
		scheme = "https://"
	}
	return ep, scheme + ep, useTLS, nil
}

func (c Config) httpClient() *http.Client {
	hc := http.DefaultClient
	if c.HTTPClient != nil {
		hc = c.HTTPClient
	}
	if c.Debug == nil {
		return hc
	}
	next := hc.Transport
	if next == nil {
		next = http.DefaultTransport
	}
	debug := *hc
	debug.Transport = debugTransport{w: c.Debug, next: next}
	return &debug
}

// Client holds one gRPC connection to Warden and a typed client for each of
// its services. Its methods are safe for concurrent use.
type Client struct {
	// Typed clients of the services wardend serves, sharing one
	// connection and its credentials.
	ServiceAccounts iam.ServiceAccountServiceClient
	IamTokens       iam.IamTokenServiceClient
	Keys            iam.KeyServiceClient
	UserAccounts    iam.UserAccountServiceClient
	RefreshTokens   iam.RefreshTokenServiceClient
	Roles           iam.RoleServiceClient
	Clouds          rm.CloudServiceClient
	Folders         rm.FolderServiceClient
	Organizations   om.OrganizationServiceClient
	Operations      operation.OperationServiceClient
	Endpoints       endpoint.ApiEndpointServiceClient

	conn    *grpc.ClientConn
	tokens  TokenSource // nil when unauthenticated
	cfg     Config
	baseURL string
}

// Dial prepares a client for cfg. It does not wait for the connection:
// the first call connects, and errors surface there.
func Dial(ctx context.Context, cfg Config) (*Client, error) {
	target, baseURL, useTLS, err := cfg.target()
	if err != nil {
		return nil, err
	}
	c := &Client{cfg: cfg, baseURL: baseURL}
	transport := insecure.NewCredentials()
	if useTLS {
		tc := cfg.TLSConfig
		if tc == nil {
			tc = &tls.Config{MinVersion: tls.VersionTLS12}
		}
		transport = credentials.NewTLS(tc)
	}
	opts := []grpc.DialOption{
		grpc.WithTransportCredentials(transport),
		grpc.WithPerRPCCredentials(perRPC{c}),
		grpc.WithChainUnaryInterceptor(cleanErrors(target)),
		grpc.WithUserAgent("warden-client"),
	}
	if cfg.Debug != nil {
		// Chained after cleanErrors, so it sees the raw status.
		opts = append(opts, grpc.WithChainUnaryInterceptor(debugCalls(cfg.Debug)))
	}
	c.conn, err = grpc.NewClient(target, append(opts, cfg.DialOptions...)...)
	if err != nil {
		return nil, fmt.Errorf("client: %w", err)
	}
	c.ServiceAccounts = iam.NewServiceAccountServiceClient(c.conn)
	c.IamTokens = iam.NewIamTokenServiceClient(c.conn)
	c.Keys = iam.NewKeyServiceClient(c.conn)
	c.UserAccounts = iam.NewUserAccountServiceClient(c.conn)
	c.RefreshTokens = iam.NewRefreshTokenServiceClient(c.conn)
	c.Roles = iam.NewRoleServiceClient(c.conn)
	c.Clouds = rm.NewCloudServiceClient(c.conn)
	c.Folders = rm.NewFolderServiceClient(c.conn)
	c.Organizations = om.NewOrganizationServiceClient(c.conn)
	c.Operations = operation.NewOperationServiceClient(c.conn)
	c.Endpoints = endpoint.NewApiEndpointServiceClient(c.conn)
	c.tokens = cfg.tokenSource(c.IamTokens)
	return c, nil
}

// tokenSource picks the credential Config documents as preferred.
func (c Config) tokenSource(tokens iam.IamTokenServiceClient) TokenSource {
	switch {
	case c.TokenSource != nil:
		return c.TokenSource
	case c.IAMToken != "":
		return StaticToken(c.IAMToken)
	case c.OAuthToken != "":
		return ReuseTokenSource(ExchangeTokenSource(tokens, OAuthToken(c.OAuthToken)), c.Now)
	case c.Credentials != nil:
		return ReuseTokenSource(ExchangeTokenSource(tokens, c.Credentials), c.Now)
	}
	return nil
}

// Conn is the underlying connection, for services the Client has no field
// for.
func (c *Client) Conn() *grpc.ClientConn { return c.conn }

// Close closes the connection.
func (c *Client) Close() error { return c.conn.Close() }

// ErrNoCredentials is returned by Token when the Config named none.
var ErrNoCredentials = errors.New("client: no credentials: log in or give an OAuth or IAM token or a service account key")

// Token returns the IAM token the client sends, obtaining or refreshing it
// if needed.
func (c *Client) Token(ctx context.Context) (Token, error) {
	if c.tokens == nil {
		return Token{}, ErrNoCredentials
	}
	return c.tokens.Token(ctx)
}
