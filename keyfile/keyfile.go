// Package keyfile reads and writes service account authorized key files in
// the format of the Yandex Cloud tools: the JSON that `yc iam key create
// --output key.json` writes and the Yandex SDKs read
// (github.com/yandex-cloud/go-sdk/v2/pkg/iamkey). The SDK decodes the file
// with protojson and rejects unknown fields, so Marshal writes exactly the
// fields it knows.
package keyfile

import (
	"crypto/rsa"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"os"
	"strings"
	"time"

	iam "github.com/yandex-cloud/go-genproto/yandex/cloud/iam/v1"
	"google.golang.org/protobuf/encoding/protojson"
	"google.golang.org/protobuf/types/known/timestamppb"

	"warden/jwtauth"
	"warden/secret"
)

// File is one authorized key of a service account with its private half.
type File struct {
	ID               string
	ServiceAccountID string
	CreatedAt        time.Time
	KeyAlgorithm     string // RSA_2048 or RSA_4096
	PublicKey        string // PEM
	PrivateKey       secret.String
}

// FromCreateResponse builds the key file of a KeyService.Create answer. It
// fails when the answer holds no private key (the caller supplied the public
// key) or the key is not a service account's.
func FromCreateResponse(resp *iam.CreateKeyResponse) (*File, error) {
	k := resp.GetKey()
	switch {
	case k.GetId() == "":
		return nil, errors.New("keyfile: the response has no key")
	case k.GetServiceAccountId() == "":
		return nil, errors.New("keyfile: only service account keys can be written to a key file")
	case resp.GetPrivateKey() == "":
		return nil, errors.New("keyfile: the response has no private key")
	}
	return &File{
		ID: k.GetId(), ServiceAccountID: k.GetServiceAccountId(), CreatedAt: k.GetCreatedAt().AsTime(),
		KeyAlgorithm: k.GetKeyAlgorithm().String(), PublicKey: k.GetPublicKey(), PrivateKey: secret.New(resp.GetPrivateKey()),
	}, nil
}

// Marshal returns the file's JSON, as yc writes it: id, service_account_id,
// created_at, key_algorithm, public_key, private_key, and nothing else.
// The result holds the private key.
func (f *File) Marshal() ([]byte, error) {
	created, err := protojson.Marshal(timestamppb.New(f.CreatedAt))
	if err != nil {
		return nil, fmt.Errorf("keyfile: created_at: %w", err)
	}
	return json.MarshalIndent(struct {
		ID               string          `json:"id"`
		ServiceAccountID string          `json:"service_account_id"`
		CreatedAt        json.RawMessage `json:"created_at"`
		KeyAlgorithm     string          `json:"key_algorithm"`
		PublicKey        string          `json:"public_key"`
		PrivateKey       string          `json:"private_key"`
	}{f.ID, f.ServiceAccountID, created, f.KeyAlgorithm, f.PublicKey, f.PrivateKey.Reveal()}, "", "  ")
}

// WriteFile writes the key file to path with mode 0600, failing if path
// exists: a private key is never silently overwritten.
func (f *File) WriteFile(path string) error {
	b, err := f.Marshal()
	if err != nil {
		return err
	}
	out, err := os.OpenFile(path, os.O_WRONLY|os.O_CREATE|os.O_EXCL, 0o600)
	if err != nil {
		return fmt.Errorf("keyfile: %w", err)
	}
	if _, err := out.Write(append(b, '\n')); err != nil {
		out.Close()
		return fmt.Errorf("keyfile: write %s: %w", path, err)
	}
	if err := out.Close(); err != nil {
		return fmt.Errorf("keyfile: write %s: %w", path, err)
	}
	return nil
}

// Parse reads a key file. Like the Yandex SDK it accepts both the
// snake_case names yc writes and the camelCase names of the REST API.
func Parse(b []byte) (*File, error) {
	var raw struct {
		ID                string `json:"id"`
		ServiceAccountID  string `json:"service_account_id"`
		ServiceAccountID2 string `json:"serviceAccountId"`
		UserAccountID     string `json:"user_account_id"`
		UserAccountID2    string `json:"userAccountId"`
		CreatedAt         string `json:"created_at"`
		CreatedAt2        string `json:"createdAt"`
		KeyAlgorithm      string `json:"key_algorithm"`
		KeyAlgorithm2     string `json:"keyAlgorithm"`
		PublicKey         string `json:"public_key"`
		PublicKey2        string `json:"publicKey"`
		PrivateKey        string `json:"private_key"`
		PrivateKey2       string `json:"privateKey"`
	}
	if err := json.Unmarshal(b, &raw); err != nil {
		return nil, fmt.Errorf("keyfile: not a key file: %w", err)
	}
	f := &File{
		ID: raw.ID, ServiceAccountID: first(raw.ServiceAccountID, raw.ServiceAccountID2),
		KeyAlgorithm: first(raw.KeyAlgorithm, raw.KeyAlgorithm2), PublicKey: first(raw.PublicKey, raw.PublicKey2),
		PrivateKey: secret.New(first(raw.PrivateKey, raw.PrivateKey2)),
	}
	switch {
	case f.ID == "":
		return nil, errors.New("keyfile: the key file has no id")
	case f.ServiceAccountID == "" && first(raw.UserAccountID, raw.UserAccountID2) != "":
		return nil, errors.New("keyfile: the key belongs to a user account: only service account keys can authenticate")
	case f.ServiceAccountID == "":
		return nil, errors.New("keyfile: the key file has no service_account_id")
	case f.PrivateKey.Reveal() == "":
		return nil, errors.New("keyfile: the key file has no private_key")
	}
	if c := first(raw.CreatedAt, raw.CreatedAt2); c != "" {
		t, err := time.Parse(time.RFC3339Nano, c)
		if err != nil {
			return nil, fmt.Errorf("keyfile: created_at: %w", err)
		}
		f.CreatedAt = t
	}
	if _, err := f.privateKey(); err != nil {
		return nil, err
	}
	return f, nil
}

// ReadFile reads a key file from path.
func ReadFile(path string) (*File, error) {
	b, err := os.ReadFile(path)
	if err != nil {
		return nil, fmt.Errorf("keyfile: %w", err)
	}
	return Parse(b)
}

func first(a, b string) string {
	if a != "" {
		return a
	}
	return b
}

func (f *File) privateKey() (*rsa.PrivateKey, error) {
	priv, err := jwtauth.ParsePrivateKey(f.PrivateKey.Reveal())
	if err != nil {
		return nil, fmt.Errorf("keyfile: private_key: %s", strings.TrimPrefix(err.Error(), "jwtauth: "))
	}
	return priv, nil
}

// SignedJWT returns a JWT for exchange at IamTokenService.Create (the jwt
// field), built as the Yandex SDK builds it: iss the service account, kid
// the key, aud as given (jwtauth.YandexAudience is accepted by every
// Warden), valid for an hour from now.
func (f *File) SignedJWT(random io.Reader, aud string, now time.Time) (string, error) {
	priv, err := f.privateKey()
	if err != nil {
		return "", err
	}
	return jwtauth.Sign(random, priv, f.ID, jwtauth.NewClaims(f.ServiceAccountID, aud, now))
}
