package keyfile

import (
	"crypto/rand"
	"crypto/rsa"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	iam "github.com/yandex-cloud/go-genproto/yandex/cloud/iam/v1"
	"github.com/yandex-cloud/go-sdk/v2/pkg/iamkey"
	"google.golang.org/protobuf/types/known/timestamppb"

	"warden/jwtauth"
)

func createResponse(t *testing.T) (*iam.CreateKeyResponse, *rsa.PrivateKey) {
	t.Helper()
	b, err := os.ReadFile(filepath.Join("..", "jwtauth", "testdata", "rsa2048.key"))
	if err != nil {
		t.Fatal(err)
	}
	priv, err := jwtauth.ParsePrivateKey(string(b))
	if err != nil {
		t.Fatal(err)
	}
	pub, _, err := jwtauth.MarshalPublicKey(&priv.PublicKey)
	if err != nil {
		t.Fatal(err)
	}
	return &iam.CreateKeyResponse{
		Key: &iam.Key{
			Id: "ajkvectorkey00000001", Subject: &iam.Key_ServiceAccountId{ServiceAccountId: "ajevectoraccount0001"},
			CreatedAt: timestamppb.New(time.Date(2026, 1, 2, 3, 4, 5, 123456000, time.UTC)), Description: "d",
			KeyAlgorithm: iam.Key_RSA_2048, PublicKey: pub,
		},
		PrivateKey: string(b),
	}, priv
}

// TestYandexSDKReadsMarshal: the Yandex SDK's own reader (which rejects
// unknown fields) accepts the file and sees the same key.
func TestYandexSDKReadsMarshal(t *testing.T) {
	resp, _ := createResponse(t)
	f, err := FromCreateResponse(resp)
	if err != nil {
		t.Fatal(err)
	}
	b, err := f.Marshal()
	if err != nil {
		t.Fatal(err)
	}
	got, err := iamkey.ReadFromJSONBytes(b)
	if err != nil {
		t.Fatalf("the SDK rejects the file: %v\n%s", err, b)
	}
	if got.Id != resp.Key.Id || got.GetServiceAccountId() != resp.Key.GetServiceAccountId() || got.KeyAlgorithm != iam.Key_RSA_2048 ||
		got.PublicKey != resp.Key.PublicKey || got.PrivateKey != resp.PrivateKey || !got.CreatedAt.AsTime().Equal(resp.Key.CreatedAt.AsTime()) {
		t.Errorf("the SDK read %v", got)
	}
	for _, field := range []string{`"id"`, `"service_account_id"`, `"created_at": "2026-01-02T03:04:05.123456Z"`, `"key_algorithm": "RSA_2048"`, `"public_key"`, `"private_key"`} {
		if !strings.Contains(string(b), field) {
			t.Errorf("file lacks %s:\n%s", field, b)
		}
	}
}

func TestParseRoundTripAndCamelCase(t *testing.T) {
	resp, _ := createResponse(t)
	f, _ := FromCreateResponse(resp)
	b, _ := f.Marshal()
	back, err := Parse(b)
	if err != nil {
		t.Fatal(err)
	}
	if back.ID != f.ID || back.ServiceAccountID != f.ServiceAccountID || !back.CreatedAt.Equal(f.CreatedAt) ||
		back.KeyAlgorithm != f.KeyAlgorithm || back.PublicKey != f.PublicKey || back.PrivateKey.Reveal() != f.PrivateKey.Reveal() {
		t.Errorf("round trip changed the file: %+v", back)
	}
	// The REST answer of KeyService.Create, flattened, as some tools save it.
	camel := `{"id":"ajkvectorkey00000001","serviceAccountId":"ajevectoraccount0001","createdAt":"2026-01-02T03:04:05Z","keyAlgorithm":"RSA_2048",` +
		`"publicKey":"x","privateKey":` + quote(resp.PrivateKey) + `}`
	if _, err := Parse([]byte(camel)); err != nil {
		t.Errorf("camelCase: %v", err)
	}
}

func quote(s string) string { return `"` + strings.ReplaceAll(s, "\n", `\n`) + `"` }

func TestParseRejects(t *testing.T) {
	resp, _ := createResponse(t)
	pk := quote(resp.PrivateKey)
	for name, text := range map[string]string{
		"not JSON":       `nope`,
		"no id":          `{"service_account_id":"a","private_key":` + pk + `}`,
		"user account":   `{"id":"k","user_account_id":"u","private_key":` + pk + `}`,
		"no private key": `{"id":"k","service_account_id":"a"}`,
		"bad private":    `{"id":"k","service_account_id":"a","private_key":"-----BEGIN PRIVATE KEY-----\nAAAA\n-----END PRIVATE KEY-----\n"}`,
	} {
		if _, err := Parse([]byte(text)); err == nil {
			t.Errorf("%s: accepted", name)
		}
	}
}

func TestFromCreateResponseRejects(t *testing.T) {
	resp, _ := createResponse(t)
	resp.PrivateKey = ""
	if _, err := FromCreateResponse(resp); err == nil {
		t.Error("accepted a response without a private key")
	}
}

func TestSignedJWT(t *testing.T) {
	resp, priv := createResponse(t)
	resp.PrivateKey = "PLEASE DO NOT REMOVE THIS LINE! Yandex.Cloud SA Key ID <ajkvectorkey00000001>\n" + resp.PrivateKey
	f, _ := FromCreateResponse(resp)
	dir := t.TempDir()
	path := filepath.Join(dir, "key.json")
	if err := f.WriteFile(path); err != nil {
		t.Fatal(err)
	}
	if err := f.WriteFile(path); err == nil {
		t.Error("WriteFile overwrote an existing file")
	}
	if st, _ := os.Stat(path); st.Mode().Perm() != 0o600 {
		t.Errorf("mode %v, want 0600", st.Mode().Perm())
	}
	back, err := ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	now := time.Now()
	s, err := back.SignedJWT(rand.Reader, jwtauth.YandexAudience, now)
	if err != nil {
		t.Fatal(err)
	}
	tok, err := jwtauth.Parse(s)
	if err != nil {
		t.Fatal(err)
	}
	if err := tok.Verify(&priv.PublicKey); err != nil {
		t.Fatal(err)
	}
	if tok.Header.KeyID != f.ID || tok.Claims.Issuer != f.ServiceAccountID || tok.Claims.ExpiresAt.Sub(tok.Claims.IssuedAt) != time.Hour {
		t.Errorf("token %+v", tok)
	}
}
