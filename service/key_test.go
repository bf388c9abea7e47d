package service

import (
	"context"
	"crypto"
	"crypto/hmac"
	"crypto/rand"
	"crypto/rsa"
	"crypto/sha256"
	"encoding/base64"
	"encoding/json"
	"strings"
	"sync"
	"testing"
	"time"

	iam "github.com/yandex-cloud/go-genproto/yandex/cloud/iam/v1"
	"google.golang.org/protobuf/proto"
	"google.golang.org/protobuf/types/known/emptypb"
	"google.golang.org/protobuf/types/known/fieldmaskpb"

	"warden"
	"warden/authn"
	"warden/jwtauth"
	"warden/storage/sqlite"
	"warden/token"
)

// testClock is a settable clock.
type testClock struct {
	mu sync.Mutex
	t  time.Time
}

func (c *testClock) now() time.Time {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.t
}

func (c *testClock) advance(d time.Duration) {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.t = c.t.Add(d)
}

// keyFixture is a started Service on SQLite with a service account "robot"
// holding one RSA-2048 key.
type keyFixture struct {
	t       testing.TB
	s       *Service
	clock   *testClock
	admin   context.Context
	folder  string
	robot   string
	keyID   string
	private *rsa.PrivateKey
}

const testAddress = "127.0.0.1:8080"

func newKeyFixture(t testing.TB) *keyFixture {
	t.Helper()
	store, err := sqlite.Open(context.Background(), t.TempDir()+"/w.db")
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { store.Close() })
	clk := &testClock{t: time.Now().UTC().Truncate(time.Second)}
	s, err := New(Config{Store: store, Sealer: mustSealer(t), Now: clk.now, PublicAddress: testAddress})
	if err != nil {
		t.Fatal(err)
	}
	boot, err := s.Start(context.Background())
	if err != nil {
		t.Fatal(err)
	}
	f := &keyFixture{t: t, s: s, clock: clk, folder: boot.FolderID,
		admin: WithSubject(context.Background(), SubjectOf(token.SubjectUserAccount, boot.AdminID))}
	f.robot = f.serviceAccount("robot")
	f.keyID, f.private = f.newKey(f.robot)
	return f
}

func (f *keyFixture) serviceAccount(name string) string {
	f.t.Helper()
	op, err := f.s.ServiceAccounts().Create(f.admin, &iam.CreateServiceAccountRequest{FolderId: f.folder, Name: name})
	if err != nil {
		f.t.Fatal(err)
	}
	md := &iam.CreateServiceAccountMetadata{}
	if err := op.Metadata.UnmarshalTo(md); err != nil {
		f.t.Fatal(err)
	}
	return md.ServiceAccountId
}

func (f *keyFixture) newKey(sa string) (string, *rsa.PrivateKey) {
	f.t.Helper()
	resp, err := f.s.Keys().Create(f.admin, &iam.CreateKeyRequest{ServiceAccountId: sa})
	if err != nil {
		f.t.Fatal(err)
	}
	priv, err := jwtauth.ParsePrivateKey(resp.PrivateKey)
	if err != nil {
		f.t.Fatal(err)
	}
	return resp.Key.Id, priv
}

// jwt signs claims for iss with priv under kid, issued now by the
// service's clock.
func (f *keyFixture) jwt(priv *rsa.PrivateKey, kid, iss string) string {
	f.t.Helper()
	s, err := jwtauth.Sign(rand.Reader, priv, kid, jwtauth.NewClaims(iss, jwtauth.YandexAudience, f.clock.now()))
	if err != nil {
		f.t.Fatal(err)
	}
	return s
}

func (f *keyFixture) exchange(jwt string) (*iam.CreateIamTokenResponse, error) {
	return f.s.IamTokens().Create(context.Background(), &iam.CreateIamTokenRequest{Identity: &iam.CreateIamTokenRequest_Jwt{Jwt: jwt}})
}

func TestJWTExchange(t *testing.T) {
	f := newKeyFixture(t)
	for name, aud := range map[string]any{
		"Yandex audience as a string (PyJWT)":   jwtauth.YandexAudience,
		"Yandex audience in an array (Go SDK)":  []string{jwtauth.YandexAudience},
		"the legacy Yandex token URL":           jwtauth.YandexLegacyAudience,
		"Warden's own token URL":                "http://" + testAddress + "/iam/v1/tokens",
		"Warden's own token URL over HTTPS":     "https://" + testAddress + "/iam/v1/tokens",
		"several audiences, one of them Warden": []string{"https://example.com", "https://" + testAddress + "/iam/v1/tokens"},
	} {
		t.Run(name, func(t *testing.T) {
			now := f.clock.now().Unix()
			jwt := signRaw(t, f.private, map[string]any{"typ": "JWT", "alg": "PS256", "kid": f.keyID},
				map[string]any{"iss": f.robot, "aud": aud, "iat": now, "exp": now + 3600})
			resp, err := f.exchange(jwt)
			if err != nil {
				t.Fatal(err)
			}
			sub, err := testPipeline(t, f.s).AuthenticateAs(context.Background(), authn.CredIAMToken, resp.IamToken)
			if err != nil || sub.ID != f.robot || sub.Type != token.SubjectServiceAccount {
				t.Fatalf("the IAM token authenticates %+v, %v; want service account %s", sub, err, f.robot)
			}
			if got, want := resp.ExpiresAt.AsTime(), f.clock.now().Add(token.MaxLifetime); got.After(want) || got.Before(want.Add(-time.Second)) {
				t.Errorf("expires at %s, want about %s", got, want)
			}
		})
	}
}

// signRaw signs arbitrary header and claims with PS256.
func signRaw(t testing.TB, priv *rsa.PrivateKey, header, claims map[string]any) string {
	t.Helper()
	si := b64JSON(t, header) + "." + b64JSON(t, claims)
	d := sha256.Sum256([]byte(si))
	sig, err := rsa.SignPSS(rand.Reader, priv, crypto.SHA256, d[:], &rsa.PSSOptions{SaltLength: rsa.PSSSaltLengthEqualsHash})
	if err != nil {
		t.Fatal(err)
	}
	return si + "." + base64.RawURLEncoding.EncodeToString(sig)
}

func b64JSON(t testing.TB, v any) string {
	b, err := json.Marshal(v)
	if err != nil {
		t.Fatal(err)
	}
	return base64.RawURLEncoding.EncodeToString(b)
}

// TestJWTRejections: every bad JWT is refused with the expected code and no
// token; every credential failure answers the same message.
func TestJWTRejections(t *testing.T) {
	f := newKeyFixture(t)
	now := f.clock.now().Unix()
	header := func() map[string]any { return map[string]any{"typ": "JWT", "alg": "PS256", "kid": f.keyID} }
	claims := func() map[string]any {
		return map[string]any{"iss": f.robot, "aud": jwtauth.YandexAudience, "iat": now, "exp": now + 3600}
	}
	with := func(m map[string]any, k string, v any) map[string]any {
		if v == nil {
			delete(m, k)
		} else {
			m[k] = v
		}
		return m
	}
	good := signRaw(t, f.private, header(), claims())

	stranger, err := rsa.GenerateKey(rand.Reader, 2048)
	if err != nil {
		t.Fatal(err)
	}
	other := f.serviceAccount("other")
	otherKey, otherPriv := f.newKey(other)

	deletedKey, deletedPriv := f.newKey(f.robot)
	if _, err := f.s.Keys().Delete(f.admin, &iam.DeleteKeyRequest{KeyId: deletedKey}); err != nil {
		t.Fatal(err)
	}
	suspended := f.serviceAccount("suspended")
	suspendedKey, suspendedPriv := f.newKey(suspended)
	if _, err := f.s.ServiceAccounts().Suspend(f.admin, &iam.SuspendServiceAccountRequest{ServiceAccountId: suspended}); err != nil {
		t.Fatal(err)
	}
	gone := f.serviceAccount("gone")
	goneKey, gonePriv := f.newKey(gone)
	if _, err := f.s.ServiceAccounts().Delete(f.admin, &iam.DeleteServiceAccountRequest{ServiceAccountId: gone}); err != nil {
		t.Fatal(err)
	}

	pubPEM, _, err := jwtauth.MarshalPublicKey(&f.private.PublicKey)
	if err != nil {
		t.Fatal(err)
	}
	hsInput := b64JSON(t, with(header(), "alg", "HS256")) + "." + b64JSON(t, claims())
	mac := hmac.New(sha256.New, []byte(pubPEM))
	mac.Write([]byte(hsInput))
	rsInput := b64JSON(t, with(header(), "alg", "RS256")) + "." + b64JSON(t, claims())
	rsDigest := sha256.Sum256([]byte(rsInput))
	rsSig, err := rsa.SignPKCS1v15(rand.Reader, f.private, crypto.SHA256, rsDigest[:])
	if err != nil {
		t.Fatal(err)
	}
	maxSaltDigest := sha256.Sum256([]byte(good[:strings.LastIndexByte(good, '.')]))
	maxSalt, err := rsa.SignPSS(rand.Reader, f.private, crypto.SHA256, maxSaltDigest[:], &rsa.PSSOptions{SaltLength: rsa.PSSSaltLengthAuto})
	if err != nil {
		t.Fatal(err)
	}
	b64 := base64.RawURLEncoding.EncodeToString

	const inv, unauth = warden.InvalidArgument, warden.Unauthenticated
	tests := []struct {
		name string
		jwt  string
		want warden.Code
	}{
		{"alg none", b64JSON(t, with(header(), "alg", "none")) + "." + b64JSON(t, claims()) + ".", inv},
		{"alg RS256 signed by the key", rsInput + "." + b64(rsSig), inv},
		{"alg HS256 keyed with the public key", hsInput + "." + b64(mac.Sum(nil)), inv},
		{"PSS with a salt longer than the hash", good[:strings.LastIndexByte(good, '.')+1] + b64(maxSalt), unauth},
		{"signed by a key nobody registered", signRaw(t, stranger, header(), claims()), unauth},
		{"another account's key, own iss", signRaw(t, otherPriv, with(header(), "kid", otherKey), claims()), unauth},
		{"own key, another account as iss", signRaw(t, f.private, header(), with(claims(), "iss", other)), unauth},
		{"a user account as iss", signRaw(t, f.private, header(), with(claims(), "iss", SubjectFrom(f.admin).ID)), unauth},
		{"deleted key", signRaw(t, deletedPriv, with(header(), "kid", deletedKey), claims()), unauth},
		{"suspended account", signRaw(t, suspendedPriv, with(header(), "kid", suspendedKey), with(claims(), "iss", suspended)), unauth},
		{"deleted account", signRaw(t, gonePriv, with(header(), "kid", goneKey), with(claims(), "iss", gone)), unauth},
		{"unknown kid", signRaw(t, f.private, with(header(), "kid", warden.NewID(warden.PrefixKey)), claims()), unauth},
		{"kid not a key ID", signRaw(t, f.private, with(header(), "kid", "../../etc/passwd"), claims()), unauth},
		{"tampered payload", good[:strings.IndexByte(good, '.')+1] + b64JSON(t, with(claims(), "exp", now+3000)) + good[strings.LastIndexByte(good, '.'):], unauth},
		{"missing kid", signRaw(t, f.private, with(header(), "kid", nil), claims()), inv},
		{"missing typ", signRaw(t, f.private, with(header(), "typ", nil), claims()), inv},
		{"missing iss", signRaw(t, f.private, header(), with(claims(), "iss", nil)), inv},
		{"missing iat", signRaw(t, f.private, header(), with(claims(), "iat", nil)), inv},
		{"missing exp", signRaw(t, f.private, header(), with(claims(), "exp", nil)), inv},
		{"bad aud", signRaw(t, f.private, header(), with(claims(), "aud", "https://iam.example.com/iam/v1/tokens")), inv},
		{"exp - iat > 3600", signRaw(t, f.private, header(), with(claims(), "exp", now+3601)), inv},
		{"expired", signRaw(t, f.private, header(), with(with(claims(), "iat", now-3600), "exp", now-1)), inv},
		{"iat in the future beyond the skew", signRaw(t, f.private, header(), with(with(claims(), "iat", now+400), "exp", now+1000)), inv},
		{"malformed base64", "%%%." + good[strings.IndexByte(good, '.')+1:], inv},
		{"malformed JSON header", b64([]byte(`{"alg":"PS256",`)) + good[strings.IndexByte(good, '.'):], inv},
		{"malformed JSON payload", good[:strings.IndexByte(good, '.')+1] + b64([]byte(`[1,2`)) + good[strings.LastIndexByte(good, '.'):], inv},
		{"not a JWT at all", "hello", inv},
		{"oversized", good + strings.Repeat("A", jwtauth.MaxLength), inv},
	}
	var message string
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			resp, err := f.exchange(tt.jwt)
			if resp != nil {
				t.Fatalf("a token was issued: %v", resp)
			}
			if got := warden.ErrorCode(err); got != tt.want {
				t.Fatalf("got %v, want code %s", err, tt.want)
			}
			if tt.want != unauth {
				if !strings.HasPrefix(warden.ErrorMessage(err), "jwt: ") {
					t.Errorf("message %q does not say what is wrong with the JWT", warden.ErrorMessage(err))
				}
				return
			}
			if message == "" {
				message = warden.ErrorMessage(err)
			}
			if got := warden.ErrorMessage(err); got != message || got != warden.ErrUnauthenticated.Message {
				t.Errorf("message %q: every credential failure must answer %q", got, warden.ErrUnauthenticated.Message)
			}
		})
	}
	if _, err := f.exchange(good); err != nil {
		t.Fatalf("the good JWT was refused after all that: %v", err)
	}
}

// TestDeletedKeyStopsAtOnce: a key deleted through this node is refused on
// the next exchange, although it sat in the cache.
func TestDeletedKeyStopsAtOnce(t *testing.T) {
	f := newKeyFixture(t)
	if _, err := f.exchange(f.jwt(f.private, f.keyID, f.robot)); err != nil {
		t.Fatal(err)
	}
	if _, err := f.s.Keys().Delete(f.admin, &iam.DeleteKeyRequest{KeyId: f.keyID}); err != nil {
		t.Fatal(err)
	}
	if _, err := f.exchange(f.jwt(f.private, f.keyID, f.robot)); !warden.IsCode(err, warden.Unauthenticated) {
		t.Fatalf("got %v, want Unauthenticated", err)
	}
}

// TestAccountStateStopsAtOnce: suspending or deleting the account through
// this node stops exchanges at once; reactivating restores them.
func TestAccountStateStopsAtOnce(t *testing.T) {
	f := newKeyFixture(t)
	jwt := f.jwt(f.private, f.keyID, f.robot)
	if _, err := f.exchange(jwt); err != nil {
		t.Fatal(err)
	}
	if _, err := f.s.ServiceAccounts().Suspend(f.admin, &iam.SuspendServiceAccountRequest{ServiceAccountId: f.robot}); err != nil {
		t.Fatal(err)
	}
	if _, err := f.exchange(jwt); !warden.IsCode(err, warden.Unauthenticated) {
		t.Fatalf("suspended: got %v, want Unauthenticated", err)
	}
	if _, err := f.s.ServiceAccounts().Reactivate(f.admin, &iam.ReactivateServiceAccountRequest{ServiceAccountId: f.robot}); err != nil {
		t.Fatal(err)
	}
	f.clock.advance(f.s.refresh) // the key cache entry said "suspended"
	if _, err := f.exchange(jwt); err != nil {
		t.Fatalf("reactivated: %v", err)
	}
	if _, err := f.s.ServiceAccounts().Delete(f.admin, &iam.DeleteServiceAccountRequest{ServiceAccountId: f.robot}); err != nil {
		t.Fatal(err)
	}
	if _, err := f.exchange(jwt); !warden.IsCode(err, warden.Unauthenticated) {
		t.Fatalf("deleted: got %v, want Unauthenticated", err)
	}
}

// TestKeyCacheStaleness: a change the cache cannot hear of (made by another
// wardend, here straight in the store) is seen once the entry is older than
// the refresh interval.
func TestKeyCacheStaleness(t *testing.T) {
	f := newKeyFixture(t)
	jwt := f.jwt(f.private, f.keyID, f.robot)
	if _, err := f.exchange(jwt); err != nil {
		t.Fatal(err)
	}
	ctx := context.Background()
	if err := f.s.store.Update(ctx, func(tx warden.Tx) error { return tx.DeleteCredential(ctx, f.keyID) }); err != nil {
		t.Fatal(err)
	}
	if _, err := f.exchange(jwt); err != nil {
		t.Fatalf("within the refresh interval the cached key still works: %v", err)
	}
	f.clock.advance(f.s.refresh)
	if _, err := f.exchange(jwt); !warden.IsCode(err, warden.Unauthenticated) {
		t.Fatalf("after the refresh interval: got %v, want Unauthenticated", err)
	}
}

// TestTokenReuse: exchanges within the refresh interval get the same token,
// unless it was revoked; later ones a new one.
func TestTokenReuse(t *testing.T) {
	f := newKeyFixture(t)
	jwt := f.jwt(f.private, f.keyID, f.robot)
	first, err := f.exchange(jwt)
	if err != nil {
		t.Fatal(err)
	}
	again, err := f.exchange(jwt)
	if err != nil || again.IamToken != first.IamToken {
		t.Fatalf("second exchange within the interval: %v, same token %v", err, again.GetIamToken() == first.IamToken)
	}
	if _, err := f.s.IamTokens().Revoke(context.Background(), &iam.RevokeIamTokenRequest{IamToken: first.IamToken}); err != nil {
		t.Fatal(err)
	}
	fresh, err := f.exchange(jwt)
	if err != nil || fresh.IamToken == first.IamToken {
		t.Fatalf("after revocation: %v, same token %v", err, fresh.GetIamToken() == first.IamToken)
	}
	f.clock.advance(f.s.refresh + time.Second)
	later, err := f.exchange(f.jwt(f.private, f.keyID, f.robot))
	if err != nil || later.IamToken == fresh.IamToken {
		t.Fatalf("after the interval: %v, same token %v", err, later.GetIamToken() == fresh.IamToken)
	}
}

// TestUsageFlush: uses reach last_used_at and last_authenticated_at in one
// batched write, not on the request path.
func TestUsageFlush(t *testing.T) {
	f := newKeyFixture(t)
	before, _ := f.s.Keys().Get(f.admin, &iam.GetKeyRequest{KeyId: f.keyID})
	if before.LastUsedAt != nil {
		t.Fatalf("a new key has last_used_at %v", before.LastUsedAt)
	}
	used := f.clock.now()
	if _, err := f.exchange(f.jwt(f.private, f.keyID, f.robot)); err != nil {
		t.Fatal(err)
	}
	if k, _ := f.s.Keys().Get(f.admin, &iam.GetKeyRequest{KeyId: f.keyID}); k.LastUsedAt != nil {
		t.Fatal("last_used_at was written on the request path")
	}
	f.s.keyState().flush()
	k, err := f.s.Keys().Get(f.admin, &iam.GetKeyRequest{KeyId: f.keyID})
	if err != nil || !k.LastUsedAt.AsTime().Equal(used) {
		t.Fatalf("last_used_at = %v (%v), want %s", k.GetLastUsedAt().AsTime(), err, used)
	}
	sa, err := f.s.ServiceAccounts().Get(f.admin, &iam.GetServiceAccountRequest{ServiceAccountId: f.robot})
	if err != nil || !sa.LastAuthenticatedAt.AsTime().Equal(used) {
		t.Fatalf("last_authenticated_at = %v (%v), want %s", sa.GetLastAuthenticatedAt().AsTime(), err, used)
	}
}

func TestKeyLifecycle(t *testing.T) {
	f := newKeyFixture(t)
	ctx := f.admin
	resp, err := f.s.Keys().Create(ctx, &iam.CreateKeyRequest{ServiceAccountId: f.robot, Description: "ci", KeyAlgorithm: iam.Key_RSA_4096})
	if err != nil {
		t.Fatal(err)
	}
	k := resp.Key
	if k.KeyAlgorithm != iam.Key_RSA_4096 || k.GetServiceAccountId() != f.robot || k.Description != "ci" || !strings.HasPrefix(k.Id, warden.PrefixKey) ||
		!strings.HasPrefix(k.PublicKey, "-----BEGIN PUBLIC KEY-----\n") || !strings.HasPrefix(resp.PrivateKey, "-----BEGIN PRIVATE KEY-----\n") {
		t.Fatalf("created %v", resp)
	}
	priv, err := jwtauth.ParsePrivateKey(resp.PrivateKey)
	if err != nil || priv.N.BitLen() != 4096 {
		t.Fatalf("private key: %v", err)
	}
	got, err := f.s.Keys().Get(ctx, &iam.GetKeyRequest{KeyId: k.Id})
	if err != nil || !proto.Equal(got, k) {
		t.Fatalf("Get = %v, %v; want %v", got, err, k)
	}
	list, err := f.s.Keys().List(ctx, &iam.ListKeysRequest{ServiceAccountId: f.robot, PageSize: 1})
	if err != nil || len(list.Keys) != 1 || list.NextPageToken == "" {
		t.Fatalf("List page 1 = %v, %v", list, err)
	}
	list2, err := f.s.Keys().List(ctx, &iam.ListKeysRequest{ServiceAccountId: f.robot, PageSize: 1, PageToken: list.NextPageToken})
	if err != nil || len(list2.Keys) != 1 || list2.Keys[0].Id == list.Keys[0].Id {
		t.Fatalf("List page 2 = %v, %v", list2, err)
	}

	op, err := f.s.Keys().Update(ctx, &iam.UpdateKeyRequest{KeyId: k.Id, Description: "renamed"})
	if err != nil || !op.Done {
		t.Fatalf("Update = %v, %v", op, err)
	}
	md, res := &iam.UpdateKeyMetadata{}, &iam.Key{}
	if err := op.Metadata.UnmarshalTo(md); err != nil || md.KeyId != k.Id {
		t.Fatalf("update metadata %v: %v", op.Metadata, err)
	}
	if err := op.GetResponse().UnmarshalTo(res); err != nil || res.Description != "renamed" {
		t.Fatalf("update response %v: %v", op.GetResponse(), err)
	}
	if _, err := f.s.Keys().Update(ctx, &iam.UpdateKeyRequest{KeyId: k.Id, UpdateMask: &fieldmaskpb.FieldMask{Paths: []string{"public_key"}}}); !warden.IsCode(err, warden.InvalidArgument) {
		t.Errorf("update of public_key: got %v, want InvalidArgument", err)
	}

	del, err := f.s.Keys().Delete(ctx, &iam.DeleteKeyRequest{KeyId: k.Id})
	if err != nil || !del.Done {
		t.Fatalf("Delete = %v, %v", del, err)
	}
	if err := del.Metadata.UnmarshalTo(&iam.DeleteKeyMetadata{}); err != nil {
		t.Errorf("delete metadata: %v", err)
	}
	if err := del.GetResponse().UnmarshalTo(&emptypb.Empty{}); err != nil {
		t.Errorf("delete response: %v", err)
	}
	for name, call := range map[string]func() error{
		"Get":    func() error { _, err := f.s.Keys().Get(ctx, &iam.GetKeyRequest{KeyId: k.Id}); return err },
		"Update": func() error { _, err := f.s.Keys().Update(ctx, &iam.UpdateKeyRequest{KeyId: k.Id}); return err },
		"Delete": func() error { _, err := f.s.Keys().Delete(ctx, &iam.DeleteKeyRequest{KeyId: k.Id}); return err },
		"ListOperations": func() error {
			_, err := f.s.Keys().ListOperations(ctx, &iam.ListKeyOperationsRequest{KeyId: k.Id})
			return err
		},
	} {
		if err := call(); !warden.IsCode(err, warden.NotFound) {
			t.Errorf("%s of a deleted key: got %v, want NotFound", name, err)
		}
	}
	ops, err := f.s.Keys().ListOperations(ctx, &iam.ListKeyOperationsRequest{KeyId: f.keyID})
	if err != nil || len(ops.Operations) != 0 {
		t.Errorf("ListOperations of an untouched key = %v, %v", ops, err)
	}
}

func TestKeyCreateRejects(t *testing.T) {
	f := newKeyFixture(t)
	small, err := rsa.GenerateKey(rand.Reader, 1024)
	if err != nil {
		t.Fatal(err)
	}
	_, smallDER, _ := jwtauth.MarshalPublicKey(&small.PublicKey)
	tests := []struct {
		name string
		ctx  context.Context
		req  *iam.CreateKeyRequest
		want warden.Code
	}{
		{"no account and a user caller", f.admin, &iam.CreateKeyRequest{}, warden.InvalidArgument},
		{"missing account", f.admin, &iam.CreateKeyRequest{ServiceAccountId: warden.NewID(warden.PrefixServiceAccount)}, warden.NotFound},
		{"a folder as the account", f.admin, &iam.CreateKeyRequest{ServiceAccountId: f.folder}, warden.NotFound},
		{"unknown algorithm", f.admin, &iam.CreateKeyRequest{ServiceAccountId: f.robot, KeyAlgorithm: 7}, warden.InvalidArgument},
		{"caller key too small", withPublicKey(f.admin, base64.StdEncoding.EncodeToString(smallDER)), &iam.CreateKeyRequest{ServiceAccountId: f.robot}, warden.InvalidArgument},
		{"caller key not base64", withPublicKey(f.admin, "-----BEGIN PUBLIC KEY-----"), &iam.CreateKeyRequest{ServiceAccountId: f.robot}, warden.InvalidArgument},
		{"caller key algorithm mismatch", withPublicKey(f.admin, pemBase64(t, f.private)), &iam.CreateKeyRequest{ServiceAccountId: f.robot, KeyAlgorithm: iam.Key_RSA_4096}, warden.InvalidArgument},
		{"caller key registered twice", withPublicKey(f.admin, pemBase64(t, f.private)), &iam.CreateKeyRequest{ServiceAccountId: f.robot}, warden.AlreadyExists},
		{"a stranger service account", WithSubject(context.Background(), SubjectOf(token.SubjectServiceAccount, f.robot)), &iam.CreateKeyRequest{}, warden.PermissionDenied},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			resp, err := f.s.Keys().Create(tt.ctx, tt.req)
			if got := warden.ErrorCode(err); got != tt.want {
				t.Fatalf("got %v (%v), want %s", err, resp, tt.want)
			}
		})
	}
}

func withPublicKey(ctx context.Context, v string) context.Context {
	return WithCallerPublicKey(ctx, v)
}

func pemBase64(t testing.TB, priv *rsa.PrivateKey) string {
	p, _, err := jwtauth.MarshalPublicKey(&priv.PublicKey)
	if err != nil {
		t.Fatal(err)
	}
	return base64.StdEncoding.EncodeToString([]byte(p))
}

// TestCallerSuppliedKey: a key pair made elsewhere is registered from its
// public half alone and works for the exchange; the same public key may
// serve another account too.
func TestCallerSuppliedKey(t *testing.T) {
	f := newKeyFixture(t)
	mine, err := rsa.GenerateKey(rand.Reader, 2048)
	if err != nil {
		t.Fatal(err)
	}
	_, der, _ := jwtauth.MarshalPublicKey(&mine.PublicKey)
	for name, v := range map[string]string{"PEM": pemBase64(t, mine), "DER": base64.RawURLEncoding.EncodeToString(der)} {
		t.Run(name, func(t *testing.T) {
			sa := f.serviceAccount("supplied-" + strings.ToLower(name))
			resp, err := f.s.Keys().Create(withPublicKey(f.admin, v), &iam.CreateKeyRequest{ServiceAccountId: sa})
			if err != nil {
				t.Fatal(err)
			}
			if resp.PrivateKey != "" || resp.Key.KeyAlgorithm != iam.Key_RSA_2048 {
				t.Fatalf("created %v", resp)
			}
			if _, err := f.exchange(f.jwt(mine, resp.Key.Id, sa)); err != nil {
				t.Fatal(err)
			}
		})
	}
}

// TestServiceAccountManagesOwnKeys: a service account with keyAdmin on
// itself creates and lists its keys without naming itself.
func TestServiceAccountManagesOwnKeys(t *testing.T) {
	f := newKeyFixture(t)
	ctx := context.Background()
	err := f.s.store.Update(ctx, func(tx warden.Tx) error {
		return tx.SetAccessBindings(ctx, f.robot, []warden.AccessBinding{{RoleID: "iam.serviceAccounts.keyAdmin", SubjectType: "serviceAccount", SubjectID: f.robot}})
	})
	if err != nil {
		t.Fatal(err)
	}
	f.s.reloadNow(ctx)
	resp, err := f.exchange(f.jwt(f.private, f.keyID, f.robot))
	if err != nil {
		t.Fatal(err)
	}
	sub, err := testPipeline(t, f.s).AuthenticateAs(context.Background(), authn.CredIAMToken, resp.IamToken)
	if err != nil {
		t.Fatal(err)
	}
	self := WithSubject(ctx, sub)
	created, err := f.s.Keys().Create(self, &iam.CreateKeyRequest{})
	if err != nil || created.Key.GetServiceAccountId() != f.robot {
		t.Fatalf("Create = %v, %v", created, err)
	}
	list, err := f.s.Keys().List(self, &iam.ListKeysRequest{})
	if err != nil || len(list.Keys) != 2 {
		t.Fatalf("List = %v, %v", list, err)
	}
	other := f.serviceAccount("other")
	if _, err := f.s.Keys().List(self, &iam.ListKeysRequest{ServiceAccountId: other}); !warden.IsCode(err, warden.PermissionDenied) {
		t.Errorf("listing another account's keys: got %v, want PermissionDenied", err)
	}
}

// BenchmarkExchangeJWT takes the in-process exchange apart on one core:
// the bare rsa.VerifyPSS, the exchange, and the exchange when every call
// signs a new IAM token (what token reuse saves). The clock is frozen, so
// the key cache never goes back to the store.
func BenchmarkExchangeJWT(b *testing.B) {
	f := newKeyFixture(b)
	// Without Run nothing reloads the access snapshot in the background;
	// wardend's loop would have within the refresh interval.
	f.s.reloadNow(context.Background())
	tokens := f.s.IamTokens()
	req := &iam.CreateIamTokenRequest{Identity: &iam.CreateIamTokenRequest_Jwt{Jwt: f.jwt(f.private, f.keyID, f.robot)}}
	jwt := req.GetJwt()
	digest := sha256.Sum256([]byte(jwt[:strings.LastIndexByte(jwt, '.')]))
	sig, _ := base64.RawURLEncoding.DecodeString(jwt[strings.LastIndexByte(jwt, '.')+1:])
	b.Run("rsa.VerifyPSS", func(b *testing.B) {
		b.ReportAllocs()
		for b.Loop() {
			if err := rsa.VerifyPSS(&f.private.PublicKey, crypto.SHA256, digest[:], sig, &rsa.PSSOptions{SaltLength: rsa.PSSSaltLengthEqualsHash}); err != nil {
				b.Fatal(err)
			}
		}
	})
	b.Run("Parse+Check", func(b *testing.B) {
		b.ReportAllocs()
		v := f.s.keyState().validator
		for b.Loop() {
			t, err := jwtauth.Parse(jwt)
			if err != nil || v.Check(&t.Claims, f.clock.now()) != nil {
				b.Fatal(err)
			}
		}
	})
	b.Run("Exchange", func(b *testing.B) {
		b.ReportAllocs()
		for b.Loop() {
			if _, err := tokens.Create(context.Background(), req); err != nil {
				b.Fatal(err)
			}
		}
	})
	b.Run("ExchangeNoTokenReuse", func(b *testing.B) {
		b.ReportAllocs()
		st := f.s.keyState()
		for b.Loop() {
			if v, ok := st.entries.Load(f.keyID); ok {
				v.(*cachedKey).token.Store(nil)
			}
			if _, err := tokens.Create(context.Background(), req); err != nil {
				b.Fatal(err)
			}
		}
	})
}
