package client

import (
	"context"
	"crypto/rand"
	"encoding/base64"
	"errors"
	"fmt"
	"io"
	"time"

	iam "github.com/yandex-cloud/go-genproto/yandex/cloud/iam/v1"
	"google.golang.org/grpc/metadata"

	"warden/jwtauth"
	"warden/keyfile"
)

// ServiceAccountKey is a service account's authorized key, as read from a
// key file: an Exchangeable that signs a fresh PS256 JWT for every
// exchange, as the Yandex SDKs do. Wrap it in ReuseTokenSource (Dial does,
// for Config.Credentials) so that the IAM token is reused until it nears
// expiry.
type ServiceAccountKey struct {
	// Key is the key with its private half.
	Key *keyfile.File
	// Audience is the JWT's aud claim; jwtauth.YandexAudience, which every
	// Warden accepts, when empty.
	Audience string
	// Random is the signature's randomness; crypto/rand when nil.
	Random io.Reader
	// Now is the clock for the JWT's iat and exp; time.Now when nil.
	Now func() time.Time
}

// ServiceAccountKeyFile reads a key file (as `warden iam key create
// --output` or `yc iam key create --output` write it) and returns it as
// credentials.
func ServiceAccountKeyFile(path string) (*ServiceAccountKey, error) {
	f, err := keyfile.ReadFile(path)
	if err != nil {
		return nil, err
	}
	return &ServiceAccountKey{Key: f}, nil
}

// IAMTokenRequest implements Exchangeable.
func (k *ServiceAccountKey) IAMTokenRequest(context.Context) (*iam.CreateIamTokenRequest, error) {
	if k == nil || k.Key == nil {
		return nil, errors.New("client: the service account key is empty")
	}
	aud, random, now := k.Audience, k.Random, time.Now
	if aud == "" {
		aud = jwtauth.YandexAudience
	}
	if random == nil {
		random = rand.Reader
	}
	if k.Now != nil {
		now = k.Now
	}
	jwt, err := k.Key.SignedJWT(random, aud, now())
	if err != nil {
		return nil, fmt.Errorf("sign a JWT with key %s: %w", k.Key.ID, err)
	}
	return &iam.CreateIamTokenRequest{Identity: &iam.CreateIamTokenRequest_Jwt{Jwt: jwt}}, nil
}

// String implements fmt.Stringer without revealing the private key.
func (k ServiceAccountKey) String() string {
	if k.Key == nil {
		return "client.ServiceAccountKey{}"
	}
	return fmt.Sprintf("client.ServiceAccountKey{%s of %s}", k.Key.ID, k.Key.ServiceAccountID)
}

// GoString implements fmt.GoStringer without revealing the private key.
func (k ServiceAccountKey) GoString() string { return k.String() }

// PublicKeyMetadata is the request metadata in which KeyService.Create
// takes a public key made by the caller (CreateKeyRequest has no field for
// one): base64 of its PEM. It is service.PublicKeyMetadata, repeated here
// because the client does not import the server's packages.
const PublicKeyMetadata = "x-warden-public-key"

// WithPublicKey returns ctx carrying publicKeyPEM for the KeyService.Create
// call made with it: the key registered is then that public key, and no
// private key comes back.
func WithPublicKey(ctx context.Context, publicKeyPEM []byte) context.Context {
	return metadata.AppendToOutgoingContext(ctx, PublicKeyMetadata, base64.StdEncoding.EncodeToString(publicKeyPEM))
}
