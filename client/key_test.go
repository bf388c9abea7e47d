package client

import (
	"context"
	"encoding/base64"
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	iam "github.com/yandex-cloud/go-genproto/yandex/cloud/iam/v1"
	rm "github.com/yandex-cloud/go-genproto/yandex/cloud/resourcemanager/v1"
	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/metadata"
	"google.golang.org/grpc/status"
	"google.golang.org/protobuf/types/known/timestamppb"

	"warden/jwtauth"
	"warden/keyfile"
	"warden/secret"
	"warden/service"
)

// exchangeJWT is the fake's IamTokenService.Create for a JWT: it must be
// signed by jwtKey. The IAM token lives 12 hours from the JWT's iat, so
// that it follows the test's clock.
func (f *fake) exchangeJWT(compact string) (*iam.CreateIamTokenResponse, error) {
	tok, err := jwtauth.Parse(compact)
	if err != nil {
		return nil, status.Error(codes.InvalidArgument, "jwt: malformed")
	}
	if f.jwtKey == nil || tok.Verify(f.jwtKey) != nil {
		return nil, status.Error(codes.Unauthenticated, "the JWT is not valid")
	}
	f.mu.Lock()
	f.jwts = append(f.jwts, tok)
	n := len(f.jwts)
	f.mu.Unlock()
	return &iam.CreateIamTokenResponse{IamToken: fmt.Sprintf("t1.jwt-%d", n), ExpiresAt: timestamppb.New(tok.Claims.IssuedAt.Add(12 * time.Hour))}, nil
}

func (f *fake) seenJWTs() []*jwtauth.Token {
	f.mu.Lock()
	defer f.mu.Unlock()
	return append([]*jwtauth.Token(nil), f.jwts...)
}

// testKeyFile writes a key file of the test vector key rsa2048.key and
// returns its path.
func testKeyFile(t *testing.T, name string) string {
	t.Helper()
	pemText, err := os.ReadFile(filepath.Join("..", "jwtauth", "testdata", name))
	if err != nil {
		t.Fatal(err)
	}
	priv, err := jwtauth.ParsePrivateKey(string(pemText))
	if err != nil {
		t.Fatal(err)
	}
	pub, _, err := jwtauth.MarshalPublicKey(&priv.PublicKey)
	if err != nil {
		t.Fatal(err)
	}
	f := &keyfile.File{ID: "ajkclientkey00000001", ServiceAccountID: "ajeclientaccount0001", CreatedAt: time.Now(),
		KeyAlgorithm: "RSA_2048", PublicKey: pub, PrivateKey: secret.New(string(pemText))}
	path := filepath.Join(t.TempDir(), "key.json")
	if err := f.WriteFile(path); err != nil {
		t.Fatal(err)
	}
	return path
}

func TestServiceAccountKeyExchange(t *testing.T) {
	f, addr := startFake(t)
	path := testKeyFile(t, "rsa2048.key")
	pub, err := os.ReadFile(filepath.Join("..", "jwtauth", "testdata", "rsa2048.pub"))
	if err != nil {
		t.Fatal(err)
	}
	if f.jwtKey, _, err = jwtauth.ParsePublicKey(string(pub)); err != nil {
		t.Fatal(err)
	}
	key, err := ServiceAccountKeyFile(path)
	if err != nil {
		t.Fatal(err)
	}
	clk := &clock{t: time.Date(2030, 1, 1, 0, 0, 0, 0, time.UTC)}
	key.Now = clk.now
	c := dial(t, Config{Endpoint: addr, Credentials: key, Now: clk.now})
	ctx := context.Background()
	list := func(want string) {
		t.Helper()
		before := len(f.calls("List"))
		if _, err := c.Clouds.List(ctx, &rm.ListCloudsRequest{}); err != nil {
			t.Fatal(err)
		}
		if got := f.calls("List")[before]; got != "Bearer "+want {
			t.Errorf("authorization = %q, want Bearer %s", got, want)
		}
	}
	list("t1.jwt-1")
	list("t1.jwt-1")
	clk.add(12*time.Hour - 4*time.Minute) // within the refresh margin
	list("t1.jwt-2")

	jwts := f.seenJWTs()
	if len(jwts) != 2 {
		t.Fatalf("%d exchanges, want 2", len(jwts))
	}
	for i, tok := range jwts {
		wantIat := time.Date(2030, 1, 1, 0, 0, 0, 0, time.UTC)
		if i == 1 {
			wantIat = wantIat.Add(12*time.Hour - 4*time.Minute)
		}
		if tok.Header.KeyID != "ajkclientkey00000001" || tok.Claims.Issuer != "ajeclientaccount0001" ||
			len(tok.Claims.Audience) != 1 || tok.Claims.Audience[0] != jwtauth.YandexAudience ||
			!tok.Claims.IssuedAt.Equal(wantIat) || !tok.Claims.ExpiresAt.Equal(wantIat.Add(time.Hour)) {
			t.Errorf("JWT %d: header %+v, claims %+v", i+1, tok.Header, tok.Claims)
		}
	}
	if got := f.calls("Create"); len(got) != 2 || got[0] != "" || got[1] != "" {
		t.Errorf("IamTokenService.Create authorization = %q, want none", got)
	}
}

func TestServiceAccountKeyErrors(t *testing.T) {
	f, addr := startFake(t)
	ctx := context.Background()
	pub, err := os.ReadFile(filepath.Join("..", "jwtauth", "testdata", "other2048.pub"))
	if err != nil {
		t.Fatal(err)
	}
	if f.jwtKey, _, err = jwtauth.ParsePublicKey(string(pub)); err != nil {
		t.Fatal(err)
	}

	t.Run("rejected key", func(t *testing.T) {
		key, err := ServiceAccountKeyFile(testKeyFile(t, "rsa2048.key"))
		if err != nil {
			t.Fatal(err)
		}
		c := dial(t, Config{Endpoint: addr, Credentials: key})
		_, err = c.Clouds.List(ctx, &rm.ListCloudsRequest{})
		if status.Code(err) != codes.Unauthenticated || err.Error() != "the JWT is not valid" {
			t.Errorf("error = %q (code %v)", err, status.Code(err))
		}
	})
	t.Run("empty key", func(t *testing.T) {
		c := dial(t, Config{Endpoint: addr, Credentials: &ServiceAccountKey{}})
		if _, err := c.Token(ctx); err == nil || !strings.Contains(err.Error(), "the service account key is empty") {
			t.Errorf("Token with an empty key: %v", err)
		}
	})
	for _, tc := range []struct{ name, content, want string }{
		{"not JSON", "hello", "keyfile: not a key file"},
		{"no private key", `{"id": "ajk1", "service_account_id": "aje1"}`, "keyfile: the key file has no private_key"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			path := filepath.Join(t.TempDir(), "key.json")
			if err := os.WriteFile(path, []byte(tc.content), 0o600); err != nil {
				t.Fatal(err)
			}
			if _, err := ServiceAccountKeyFile(path); err == nil || !strings.HasPrefix(err.Error(), tc.want) {
				t.Errorf("ServiceAccountKeyFile: %v, want %q…", err, tc.want)
			}
		})
	}
	if _, err := ServiceAccountKeyFile(filepath.Join(t.TempDir(), "missing.json")); !errors.Is(err, fs.ErrNotExist) {
		t.Errorf("missing file: %v", err)
	}
}

func TestServiceAccountKeyDoesNotPrint(t *testing.T) {
	key, err := ServiceAccountKeyFile(testKeyFile(t, "rsa2048.key"))
	if err != nil {
		t.Fatal(err)
	}
	private := strings.Split(key.Key.PrivateKey.Reveal(), "\n")[1]
	for _, v := range []any{key, *key} {
		for _, verb := range []string{"%v", "%+v", "%s", "%#v"} {
			if s := fmt.Sprintf(verb, v); strings.Contains(s, private) || !strings.Contains(s, "ajkclientkey00000001") {
				t.Errorf("%s of %T = %q", verb, v, s)
			}
		}
	}
}

func TestWithPublicKey(t *testing.T) {
	if PublicKeyMetadata != service.PublicKeyMetadata {
		t.Fatalf("PublicKeyMetadata = %q, but the server reads %q", PublicKeyMetadata, service.PublicKeyMetadata)
	}
	const pem = "-----BEGIN PUBLIC KEY-----\nMIIB\n-----END PUBLIC KEY-----\n"
	md, _ := metadata.FromOutgoingContext(WithPublicKey(context.Background(), []byte(pem)))
	got := md.Get(PublicKeyMetadata)
	if len(got) != 1 {
		t.Fatalf("%s = %q, want one value", PublicKeyMetadata, got)
	}
	if b, err := base64.StdEncoding.DecodeString(got[0]); err != nil || string(b) != pem {
		t.Errorf("%s = %q, want base64 of the PEM", PublicKeyMetadata, got[0])
	}
}
