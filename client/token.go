package client

import (
	"context"
	"errors"
	"fmt"
	"sync"
	"time"

	iam "github.com/yandex-cloud/go-genproto/yandex/cloud/iam/v1"
	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/credentials"
	"google.golang.org/grpc/status"
)

// Token is an IAM token. It prints as [redacted]; use Value where the token
// is really needed.
type Token struct {
	Value string
	// ExpiresAt is zero when unknown (a token given as is).
	ExpiresAt time.Time
}

// String implements fmt.Stringer without revealing the token.
func (t Token) String() string { return "[redacted]" }

// GoString implements fmt.GoStringer without revealing the token.
func (t Token) GoString() string { return "client.Token{[redacted]}" }

// TokenSource supplies the IAM token for each call.
type TokenSource interface {
	// Token returns a valid IAM token. Errors carry the gRPC code of the
	// failed exchange (Unauthenticated for a rejected credential).
	Token(ctx context.Context) (Token, error)
}

// TokenSourceFunc adapts a function to TokenSource.
type TokenSourceFunc func(ctx context.Context) (Token, error)

// Token implements TokenSource.
func (f TokenSourceFunc) Token(ctx context.Context) (Token, error) { return f(ctx) }

// StaticToken is a TokenSource that always returns the IAM token tok.
func StaticToken(tok string) TokenSource {
	return TokenSourceFunc(func(context.Context) (Token, error) { return Token{Value: tok}, nil })
}

// Exchangeable is a credential that IamTokenService.Create exchanges for an
// IAM token: an OAuthToken or a *ServiceAccountKey (a signed JWT).
type Exchangeable interface {
	// IAMTokenRequest builds the request; it is called for every exchange
	// so that a JWT can be signed afresh.
	IAMTokenRequest(ctx context.Context) (*iam.CreateIamTokenRequest, error)
}

// OAuthToken is a user's OAuth token, as Login returns it.
type OAuthToken string

// IAMTokenRequest implements Exchangeable.
func (t OAuthToken) IAMTokenRequest(context.Context) (*iam.CreateIamTokenRequest, error) {
	return &iam.CreateIamTokenRequest{Identity: &iam.CreateIamTokenRequest_YandexPassportOauthToken{YandexPassportOauthToken: string(t)}}, nil
}

// String implements fmt.Stringer without revealing the token.
func (t OAuthToken) String() string { return "[redacted]" }

// GoString implements fmt.GoStringer without revealing the token.
func (t OAuthToken) GoString() string { return "client.OAuthToken([redacted])" }

// ExchangeTokenSource exchanges cred for a new IAM token on every call;
// wrap it in ReuseTokenSource.
func ExchangeTokenSource(tokens iam.IamTokenServiceClient, cred Exchangeable) TokenSource {
	return TokenSourceFunc(func(ctx context.Context) (Token, error) {
		req, err := cred.IAMTokenRequest(ctx)
		if err != nil {
			return Token{}, fmt.Errorf("client: build IAM token request: %w", err)
		}
		resp, err := tokens.Create(ctx, req)
		if err != nil {
			return Token{}, exchangeError(err)
		}
		return Token{Value: resp.IamToken, ExpiresAt: resp.ExpiresAt.AsTime()}, nil
	})
}

// exchangeError keeps the server's message. gRPC turns the codes that only
// a server may use (InvalidArgument, NotFound, …) into Internal when they
// come from per-RPC credentials, so a rejected credential is reported as
// Unauthenticated instead.
func exchangeError(err error) error {
	st := status.Convert(err)
	switch st.Code() {
	case codes.Unauthenticated, codes.PermissionDenied, codes.Unavailable, codes.DeadlineExceeded, codes.Canceled, codes.Internal, codes.Unimplemented, codes.ResourceExhausted:
		return err
	}
	return &Error{Code: codes.Unauthenticated, Message: st.Message(), status: status.New(codes.Unauthenticated, st.Message())}
}

// ReuseTokenSource caches src's token until shortly before it expires: five
// minutes before, or halfway through its life when that is shorter, so
// that a token is never sent just as it lapses. Concurrent callers share one
// exchange. now is the clock (time.Now when nil).
func ReuseTokenSource(src TokenSource, now func() time.Time) TokenSource {
	if now == nil {
		now = time.Now
	}
	return &reuseSource{src: src, now: now, lock: make(chan struct{}, 1)}
}

type reuseSource struct {
	src  TokenSource
	now  func() time.Time
	lock chan struct{} // a mutex that a waiting caller can give up on

	mu        sync.Mutex
	tok       Token
	refreshAt time.Time
}

const maxRefreshMargin = 5 * time.Minute

func (s *reuseSource) cached() (Token, bool) {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.tok, s.tok.Value != "" && s.now().Before(s.refreshAt)
}

func (s *reuseSource) Token(ctx context.Context) (Token, error) {
	if tok, ok := s.cached(); ok {
		return tok, nil
	}
	select {
	case s.lock <- struct{}{}:
	case <-ctx.Done():
		return Token{}, ctx.Err()
	}
	defer func() { <-s.lock }()
	// Another caller may have refreshed while this one waited.
	if tok, ok := s.cached(); ok {
		return tok, nil
	}
	fetched := s.now()
	tok, err := s.src.Token(ctx)
	if err != nil {
		return Token{}, err
	}
	if tok.Value == "" {
		return Token{}, errors.New("client: the token source returned an empty token")
	}
	refreshAt := tok.ExpiresAt
	if !refreshAt.IsZero() {
		refreshAt = refreshAt.Add(-min(maxRefreshMargin, tok.ExpiresAt.Sub(fetched)/2))
	} else {
		refreshAt = fetched.Add(time.Hour) // unknown lifetime: refresh hourly
	}
	s.mu.Lock()
	s.tok, s.refreshAt = tok, refreshAt
	s.mu.Unlock()
	return tok, nil
}

// iamTokenCreate is the one method that must be called without a token:
// it is how a token is obtained.
const iamTokenCreate = "/yandex.cloud.iam.v1.IamTokenService/Create"

// perRPC attaches "authorization: Bearer <IAM token>" to every call but
// IamTokenService.Create.
type perRPC struct{ c *Client }

func (p perRPC) GetRequestMetadata(ctx context.Context, _ ...string) (map[string]string, error) {
	if p.c.tokens == nil {
		return nil, nil
	}
	if ri, ok := credentials.RequestInfoFromContext(ctx); ok && ri.Method == iamTokenCreate {
		return nil, nil
	}
	tok, err := p.c.tokens.Token(ctx)
	if err != nil {
		return nil, err
	}
	return map[string]string{"authorization": "Bearer " + tok.Value}, nil
}

// RequireTransportSecurity is false: wardend serves plaintext h2c unless
// it is given a certificate.
func (perRPC) RequireTransportSecurity() bool { return false }
