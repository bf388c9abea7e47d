package client

import (
	"context"
	"crypto/rsa"
	"errors"
	"net"
	"strings"
	"sync"
	"testing"
	"time"

	iam "github.com/yandex-cloud/go-genproto/yandex/cloud/iam/v1"
	"github.com/yandex-cloud/go-genproto/yandex/cloud/operation"
	rm "github.com/yandex-cloud/go-genproto/yandex/cloud/resourcemanager/v1"
	"google.golang.org/grpc"
	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/metadata"
	"google.golang.org/grpc/status"
	"google.golang.org/protobuf/types/known/anypb"
	"google.golang.org/protobuf/types/known/timestamppb"

	"warden/jwtauth"
)

// fake serves IamTokenService, CloudService and OperationService and
// records the authorization header each method saw.
type fake struct {
	mu   sync.Mutex
	auth map[string][]string // method → authorization values, one per call
	// rejectOAuth makes Create fail with this status.
	rejectOAuth *status.Status
	opPolls     int
	// jwtKey verifies the JWTs that Create accepts; jwts are those seen.
	jwtKey *rsa.PublicKey
	jwts   []*jwtauth.Token
}

func (f *fake) record(ctx context.Context, method string) {
	md, _ := metadata.FromIncomingContext(ctx)
	f.mu.Lock()
	defer f.mu.Unlock()
	f.auth[method] = append(f.auth[method], strings.Join(md.Get("authorization"), ","))
}

func (f *fake) calls(method string) []string {
	f.mu.Lock()
	defer f.mu.Unlock()
	return append([]string(nil), f.auth[method]...)
}

// tokenService is IamTokenService.
type tokenService struct {
	iam.UnimplementedIamTokenServiceServer
	*fake
}

func (f tokenService) Create(ctx context.Context, req *iam.CreateIamTokenRequest) (*iam.CreateIamTokenResponse, error) {
	f.record(ctx, "Create")
	if f.rejectOAuth != nil {
		return nil, f.rejectOAuth.Err()
	}
	if jwt := req.GetJwt(); jwt != "" {
		return f.exchangeJWT(jwt)
	}
	if req.GetYandexPassportOauthToken() != "y0_good" {
		return nil, status.Error(codes.Unauthenticated, "the OAuth token is not valid")
	}
	return &iam.CreateIamTokenResponse{IamToken: "t1.fake", ExpiresAt: timestamppb.New(time.Now().Add(12 * time.Hour))}, nil
}

// cloudService is CloudService.
type cloudService struct {
	rm.UnimplementedCloudServiceServer
	*fake
}

func (f cloudService) List(ctx context.Context, req *rm.ListCloudsRequest) (*rm.ListCloudsResponse, error) {
	f.record(ctx, "List")
	return &rm.ListCloudsResponse{Clouds: []*rm.Cloud{{Id: "b1gfake", Name: "default"}}}, nil
}

func (f cloudService) Get(ctx context.Context, req *rm.GetCloudRequest) (*rm.Cloud, error) {
	return nil, status.Errorf(codes.NotFound, "cloud %s not found", req.CloudId)
}

func (f cloudService) Delete(ctx context.Context, req *rm.DeleteCloudRequest) (*operation.Operation, error) {
	return &operation.Operation{Id: "op1pending"}, nil // not done: the client must poll
}

// opService is OperationService.
type opService struct {
	operation.UnimplementedOperationServiceServer
	f *fake
}

func (o opService) Get(ctx context.Context, req *operation.GetOperationRequest) (*operation.Operation, error) {
	o.f.mu.Lock()
	defer o.f.mu.Unlock()
	o.f.opPolls++
	if o.f.opPolls < 2 {
		return &operation.Operation{Id: req.OperationId}, nil
	}
	resp, _ := anypb.New(&rm.Cloud{Id: "b1gfake", Name: "gone"})
	return &operation.Operation{Id: req.OperationId, Done: true, Result: &operation.Operation_Response{Response: resp}}, nil
}

func startFake(t *testing.T) (*fake, string) {
	t.Helper()
	f := &fake{auth: map[string][]string{}}
	s := grpc.NewServer()
	iam.RegisterIamTokenServiceServer(s, tokenService{fake: f})
	rm.RegisterCloudServiceServer(s, cloudService{fake: f})
	operation.RegisterOperationServiceServer(s, opService{f: f})
	lis, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	go s.Serve(lis)
	t.Cleanup(s.Stop)
	return f, lis.Addr().String()
}

func dial(t *testing.T, cfg Config) *Client {
	t.Helper()
	c, err := Dial(context.Background(), cfg)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { c.Close() })
	return c
}

func TestOAuthExchange(t *testing.T) {
	f, addr := startFake(t)
	c := dial(t, Config{Endpoint: addr, OAuthToken: "y0_good"})
	ctx := context.Background()
	for range 3 {
		if _, err := c.Clouds.List(ctx, &rm.ListCloudsRequest{}); err != nil {
			t.Fatal(err)
		}
	}
	if got := f.calls("Create"); len(got) != 1 || got[0] != "" {
		t.Errorf("IamTokenService.Create calls = %q, want one, without authorization", got)
	}
	for _, got := range f.calls("List") {
		if got != "Bearer t1.fake" {
			t.Errorf("List authorization = %q, want the exchanged IAM token", got)
		}
	}
	tok, err := c.Token(ctx)
	if err != nil || tok.Value != "t1.fake" || time.Until(tok.ExpiresAt) < 11*time.Hour {
		t.Errorf("Token() = %q expiring %v, %v", tok.Value, tok.ExpiresAt, err)
	}
}

func TestCredentialChoice(t *testing.T) {
	f, addr := startFake(t)
	ctx := context.Background()
	for _, tc := range []struct {
		name string
		cfg  Config
		want string
	}{
		{"IAM token", Config{IAMToken: "t1.given"}, "Bearer t1.given"},
		{"IAM token wins over OAuth", Config{IAMToken: "t1.given", OAuthToken: "y0_good"}, "Bearer t1.given"},
		{"token source wins", Config{TokenSource: StaticToken("t1.source"), IAMToken: "t1.given"}, "Bearer t1.source"},
		{"exchangeable credentials", Config{Credentials: OAuthToken("y0_good")}, "Bearer t1.fake"},
		{"none", Config{}, ""},
	} {
		t.Run(tc.name, func(t *testing.T) {
			tc.cfg.Endpoint = addr
			c := dial(t, tc.cfg)
			before := len(f.calls("List"))
			if _, err := c.Clouds.List(ctx, &rm.ListCloudsRequest{}); err != nil {
				t.Fatal(err)
			}
			if got := f.calls("List")[before]; got != tc.want {
				t.Errorf("authorization = %q, want %q", got, tc.want)
			}
		})
	}
	c := dial(t, Config{Endpoint: addr})
	if _, err := c.Token(ctx); !errors.Is(err, ErrNoCredentials) {
		t.Errorf("Token without credentials: %v", err)
	}
}

func TestErrorsAreClean(t *testing.T) {
	f, addr := startFake(t)
	ctx := context.Background()
	c := dial(t, Config{Endpoint: addr, IAMToken: "t1.x"})

	_, err := c.Clouds.Get(ctx, &rm.GetCloudRequest{CloudId: "b1gnope"})
	var e *Error
	if !errors.As(err, &e) || err.Error() != "cloud b1gnope not found" || status.Code(err) != codes.NotFound || e.Code != codes.NotFound {
		t.Errorf("Get error = %v (%T, code %v), want the server's message with code NotFound", err, err, status.Code(err))
	}

	t.Run("rejected OAuth token", func(t *testing.T) {
		c := dial(t, Config{Endpoint: addr, OAuthToken: "y0_bad"})
		_, err := c.Clouds.List(ctx, &rm.ListCloudsRequest{})
		if status.Code(err) != codes.Unauthenticated || err.Error() != "the OAuth token is not valid" {
			t.Errorf("error = %q (code %v)", err, status.Code(err))
		}
	})
	t.Run("exchange failing with a server-only code", func(t *testing.T) {
		f.rejectOAuth = status.New(codes.InvalidArgument, "yandex_passport_oauth_token: is malformed")
		defer func() { f.rejectOAuth = nil }()
		c := dial(t, Config{Endpoint: addr, OAuthToken: "y0_good"})
		_, err := c.Clouds.List(ctx, &rm.ListCloudsRequest{})
		if status.Code(err) != codes.Unauthenticated || err.Error() != "yandex_passport_oauth_token: is malformed" {
			t.Errorf("error = %q (code %v)", err, status.Code(err))
		}
	})
	t.Run("unreachable", func(t *testing.T) {
		c := dial(t, Config{Endpoint: "127.0.0.1:1", IAMToken: "t1.x"})
		_, err := c.Clouds.List(ctx, &rm.ListCloudsRequest{})
		if status.Code(err) != codes.Unavailable || !strings.HasPrefix(err.Error(), "cannot reach Warden at 127.0.0.1:1: ") {
			t.Errorf("error = %q (code %v)", err, status.Code(err))
		}
	})
}

func TestWaitPollsUnfinishedOperations(t *testing.T) {
	_, addr := startFake(t)
	c := dial(t, Config{Endpoint: addr, IAMToken: "t1.x"})
	ctx := context.Background()
	op, err := c.Clouds.Delete(ctx, &rm.DeleteCloudRequest{CloudId: "b1gfake"})
	if err != nil {
		t.Fatal(err)
	}
	var cloud rm.Cloud
	if err := c.Result(ctx, op, &cloud); err != nil || cloud.Name != "gone" {
		t.Errorf("Result = %v, %v", &cloud, err)
	}

	failed := &operation.Operation{Id: "op1failed", Done: true, Result: &operation.Operation_Error{Error: status.New(codes.FailedPrecondition, "folder is not empty").Proto()}}
	if _, err := c.Wait(ctx, failed); status.Code(err) != codes.FailedPrecondition || err.Error() != "folder is not empty" {
		t.Errorf("Wait of a failed operation = %v", err)
	}
}

func TestConfigEndpoint(t *testing.T) {
	for _, tc := range []struct {
		cfg           Config
		target, base  string
		tls, mustFail bool
	}{
		{cfg: Config{}, target: DefaultEndpoint, base: "http://" + DefaultEndpoint},
		{cfg: Config{Endpoint: "h:1"}, target: "h:1", base: "http://h:1"},
		{cfg: Config{Endpoint: "http://h:1/"}, target: "h:1", base: "http://h:1"},
		{cfg: Config{Endpoint: "https://h:443"}, target: "h:443", base: "https://h:443", tls: true},
		{cfg: Config{Endpoint: "h:443", TLS: true}, target: "h:443", base: "https://h:443", tls: true},
		{cfg: Config{Endpoint: "http://h:1", TLS: true}, mustFail: true},
		{cfg: Config{Endpoint: "h:1/path"}, mustFail: true},
	} {
		target, base, useTLS, err := tc.cfg.target()
		if tc.mustFail {
			if err == nil {
				t.Errorf("%+v: no error", tc.cfg.Endpoint)
			}
			continue
		}
		if err != nil || target != tc.target || base != tc.base || useTLS != tc.tls {
			t.Errorf("%q (TLS %v) = %q, %q, %v, %v; want %q, %q, %v", tc.cfg.Endpoint, tc.cfg.TLS, target, base, useTLS, err, tc.target, tc.base, tc.tls)
		}
	}
}
