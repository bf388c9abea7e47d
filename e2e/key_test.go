package e2e

import (
	"context"
	"crypto/rand"
	"crypto/rsa"
	_ "embed"
	"encoding/base64"
	"encoding/json"
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"testing"
	"time"

	iampb "github.com/yandex-cloud/go-genproto/yandex/cloud/iam/v1"
	"github.com/yandex-cloud/go-sdk/v2/credentials"
	iamsdk "github.com/yandex-cloud/go-sdk/v2/services/iam/v1"

	"warden/jwtauth"
	"warden/keyfile"
)

// seedScript is the PyJWT example of seed 002 ("Получить IAM-токен для
// сервисного аккаунта"), byte for byte.
//
//go:embed testdata/seed002_pyjwt.py
var seedScript string

const python = "/usr/bin/python3"

// needPyJWT skips the test unless Debian's PyJWT is installed.
func needPyJWT(t *testing.T) {
	t.Helper()
	if _, err := os.Stat(python); err != nil {
		t.Skipf("%s is missing: this test runs the seed's PyJWT example (apt-get install python3 python3-jwt python3-cryptography)", python)
	}
	if out, err := exec.Command(python, "-c", "import jwt, cryptography").CombinedOutput(); err != nil {
		t.Skipf("PyJWT is missing (apt-get install python3-jwt python3-cryptography): %s", out)
	}
}

// curl runs curl and returns the body and the HTTP status.
func curl(t testing.TB, args ...string) (string, int) {
	t.Helper()
	out, err := exec.Command("curl", append([]string{"-sS", "-w", "\n%{http_code}"}, args...)...).Output()
	if err != nil {
		t.Fatalf("curl %q: %v\n%s", args, err, out)
	}
	i := strings.LastIndexByte(string(out), '\n')
	status, err := strconv.Atoi(string(out[i+1:]))
	if i < 0 || err != nil {
		t.Fatalf("curl %q: no status in %q", args, out)
	}
	return string(out[:i]), status
}

// TestPyJWTSeedExample walks seed 002 end to end: create a key with curl,
// sign a JWT with the seed's PyJWT script (only the ids differ), exchange
// it with curl and use the IAM token for the API call of the seed's first
// step.
func TestPyJWTSeedExample(t *testing.T) {
	needPyJWT(t)
	if _, err := exec.LookPath("curl"); err != nil {
		t.Skip("curl is missing")
	}
	for _, b := range backends(t) {
		t.Run(b.name, func(t *testing.T) {
			n := start(t, t.TempDir(), b.database(t))
			w := newWorld(t, n)
			w.bind(t, "/resource-manager/v1/folders/"+w.folderB, "ADD", "viewer", "serviceAccount", w.robot)
			base := "http://" + n.addr

			// 2. Создайте ключи шифрования.
			body, status := curl(t, "-X", "POST", "-H", "Content-Type: application/json", "-H", "Authorization: Bearer "+w.admin,
				"-d", `{"serviceAccountId": "`+w.robot+`"}`, base+"/iam/v1/keys")
			var created struct {
				Key struct {
					ID               string `json:"id"`
					ServiceAccountID string `json:"serviceAccountId"`
					KeyAlgorithm     string `json:"keyAlgorithm"`
					CreatedAt        string `json:"createdAt"`
					PublicKey        string `json:"publicKey"`
				} `json:"key"`
				PrivateKey string `json:"privateKey"`
			}
			if err := json.Unmarshal([]byte(body), &created); status != 200 || err != nil {
				t.Fatalf("create key: %d %s", status, body)
			}
			if created.Key.ServiceAccountID != w.robot || created.Key.KeyAlgorithm != "RSA_2048" || created.Key.CreatedAt == "" ||
				!strings.HasPrefix(created.Key.PublicKey, "-----BEGIN PUBLIC KEY-----\n") || !strings.HasPrefix(created.PrivateKey, "-----BEGIN PRIVATE KEY-----\n") {
				t.Fatalf("create key answered %s", body)
			}

			// 3. Создайте подписанный JWT: the seed's script, verbatim but
			// for the two ids, run next to private.pem.
			dir := t.TempDir()
			if err := os.WriteFile(filepath.Join(dir, "private.pem"), []byte(created.PrivateKey), 0o600); err != nil {
				t.Fatal(err)
			}
			script := strings.NewReplacer(`"ajepg0mjt06siua65usm"`, strconv.Quote(w.robot), `"b1gvmob03goohplcf641"`, strconv.Quote(created.Key.ID)).Replace(seedScript)
			if strings.Contains(script, "ajepg0mjt06siua65usm") || strings.Contains(script, "b1gvmob03goohplcf641") {
				t.Fatal("the seed's ids were not replaced")
			}
			script += "\nprint(encoded_token)\n"
			if err := os.WriteFile(filepath.Join(dir, "jwt_example.py"), []byte(script), 0o600); err != nil {
				t.Fatal(err)
			}
			cmd := exec.Command(python, "jwt_example.py")
			cmd.Dir = dir
			out, err := cmd.CombinedOutput()
			if err != nil {
				t.Fatalf("the seed's script failed: %v\n%s", err, out)
			}
			signed := strings.TrimSpace(string(out))

			// 4. Обменяйте JWT на IAM-токен.
			body, status = curl(t, "-X", "POST", "-H", "Content-Type: application/json", "-d", `{"jwt": "`+signed+`"}`, base+"/iam/v1/tokens")
			var exchanged struct {
				IamToken  string `json:"iamToken"`
				ExpiresAt string `json:"expiresAt"`
			}
			if err := json.Unmarshal([]byte(body), &exchanged); status != 200 || err != nil || !strings.HasPrefix(exchanged.IamToken, "t1.") || exchanged.ExpiresAt == "" {
				t.Fatalf("exchange: %d %s", status, body)
			}

			// The token authorizes the API call of step 1.
			body, status = curl(t, "-H", "Authorization: Bearer "+exchanged.IamToken, base+"/iam/v1/serviceAccounts?folderId="+w.folderB)
			if status != 200 || !strings.Contains(body, `"id":"`+w.robot+`"`) && !strings.Contains(body, `"id": "`+w.robot+`"`) {
				t.Fatalf("list with the exchanged token: %d %s", status, body)
			}
		})
	}
}

// TestYandexSDKKeyFile: the Yandex Go SDK authenticates as a service
// account from a key file written by keyfile from a real KeyService.Create
// answer, using its own JWT code, and lists service accounts.
func TestYandexSDKKeyFile(t *testing.T) {
	for _, b := range backends(t) {
		t.Run(b.name, func(t *testing.T) {
			n := start(t, t.TempDir(), b.database(t))
			w := newWorld(t, n)
			w.bind(t, "/resource-manager/v1/folders/"+w.folderB, "ADD", "viewer", "serviceAccount", w.robot)
			for _, alg := range []iampb.Key_Algorithm{iampb.Key_ALGORITHM_UNSPECIFIED, iampb.Key_RSA_4096} {
				t.Run(alg.String(), func(t *testing.T) {
					ctx, cancel := context.WithTimeout(bearerCtx(w.admin), time.Minute)
					defer cancel()
					resp, err := iampb.NewKeyServiceClient(sdkConn(t, n.addr)).Create(ctx, &iampb.CreateKeyRequest{ServiceAccountId: w.robot, KeyAlgorithm: alg})
					if err != nil {
						t.Fatal(err)
					}
					f, err := keyfile.FromCreateResponse(resp)
					if err != nil {
						t.Fatal(err)
					}
					path := filepath.Join(t.TempDir(), "key.json")
					if err := f.WriteFile(path); err != nil {
						t.Fatal(err)
					}
					creds, err := credentials.ServiceAccountKeyFile(path)
					if err != nil {
						t.Fatalf("the SDK rejects the key file: %v", err)
					}
					sdk := newSDK(t, n.addr, creds)
					list, err := iamsdk.NewServiceAccountClient(sdk).List(context.Background(), &iampb.ListServiceAccountsRequest{FolderId: w.folderB})
					if err != nil {
						t.Fatalf("list as the service account: %v", err)
					}
					if !slices.ContainsFunc(list.ServiceAccounts, func(sa *iampb.ServiceAccount) bool { return sa.Id == w.robot }) {
						t.Fatalf("list = %v, want %s in it", list.ServiceAccounts, w.robot)
					}
				})
			}
		})
	}
}

// TestKeyServiceREST drives KeyService over REST on the Yandex paths, the
// exchange's error shapes, and the batched last_used_at.
func TestKeyServiceREST(t *testing.T) {
	for _, b := range backends(t) {
		t.Run(b.name, func(t *testing.T) {
			n := start(t, t.TempDir(), b.database(t))
			w := newWorld(t, n)
			created := n.rest("POST", "/iam/v1/keys", w.admin, map[string]any{"serviceAccountId": w.robot, "description": "ci"})
			if created.status != 200 {
				t.Fatalf("create: %d %s", created.status, created.raw)
			}
			id := str(created.body, "key", "id")
			priv, err := jwtauth.ParsePrivateKey(str(created.body, "privateKey"))
			if err != nil {
				t.Fatal(err)
			}
			if got := n.rest("GET", "/iam/v1/keys/"+id, w.admin, nil); got.status != 200 || str(got.body, "description") != "ci" || got.body["lastUsedAt"] != nil {
				t.Fatalf("get: %d %s", got.status, got.raw)
			}
			if got := n.rest("GET", "/iam/v1/keys?serviceAccountId="+w.robot, w.admin, nil); got.status != 200 || len(got.body["keys"].([]any)) != 1 {
				t.Fatalf("list: %d %s", got.status, got.raw)
			}
			upd := n.rest("PATCH", "/iam/v1/keys/"+id, w.admin, map[string]any{"description": "renamed", "updateMask": "description"})
			if upd.status != 200 || str(upd.body, "metadata", "@type") != "type.googleapis.com/yandex.cloud.iam.v1.UpdateKeyMetadata" ||
				str(upd.body, "response", "@type") != "type.googleapis.com/yandex.cloud.iam.v1.Key" || str(upd.body, "response", "description") != "renamed" {
				t.Fatalf("update: %d %s", upd.status, upd.raw)
			}
			if ops := n.rest("GET", "/iam/v1/keys/"+id+"/operations", w.admin, nil); ops.status != 200 || len(ops.body["operations"].([]any)) != 1 {
				t.Fatalf("operations: %d %s", ops.status, ops.raw)
			}

			// The exchange, its error shapes, and the key's use recorded.
			now := time.Now()
			jwt, _ := jwtauth.Sign(rand.Reader, priv, id, jwtauth.NewClaims(w.robot, "http://"+n.addr+"/iam/v1/tokens", now))
			if r := n.rest("POST", "/iam/v1/tokens", "", map[string]string{"jwt": jwt}); r.status != 200 || str(r.body, "iamToken") == "" || str(r.body, "expiresAt") == "" {
				t.Fatalf("exchange: %d %s", r.status, r.raw)
			}
			stranger, _ := rsa.GenerateKey(rand.Reader, 2048)
			forged, _ := jwtauth.Sign(rand.Reader, stranger, id, jwtauth.NewClaims(w.robot, jwtauth.YandexAudience, now))
			if r := n.rest("POST", "/iam/v1/tokens", "", map[string]string{"jwt": forged}); r.status != 401 || restCode(r) != 16 || r.body["iamToken"] != nil {
				t.Errorf("forged: %d %s", r.status, r.raw)
			}
			if r := n.rest("POST", "/iam/v1/tokens", "", map[string]string{"jwt": "a.b.c"}); r.status != 400 || restCode(r) != 3 {
				t.Errorf("malformed: %d %s", r.status, r.raw)
			}
			if r := n.rest("POST", "/iam/v1/tokens", "", map[string]string{"jwt": strings.Repeat("a", 8001)}); r.status != 400 || restCode(r) != 3 {
				t.Errorf("oversized: %d %s", r.status, r.raw)
			}
			deadline := time.Now().Add(10 * time.Second)
			for {
				k := n.rest("GET", "/iam/v1/keys/"+id, w.admin, nil)
				sa := n.rest("GET", "/iam/v1/serviceAccounts/"+w.robot, w.admin, nil)
				if str(k.body, "lastUsedAt") != "" && str(sa.body, "lastAuthenticatedAt") != "" {
					break
				}
				if time.Now().After(deadline) {
					t.Fatalf("last use not written within 10 s: %s %s", k.raw, sa.raw)
				}
				time.Sleep(100 * time.Millisecond)
			}

			// A key pair made by the caller: only the public half travels.
			mine, _ := rsa.GenerateKey(rand.Reader, 2048)
			pemText, _, _ := jwtauth.MarshalPublicKey(&mine.PublicKey)
			own := n.restHeader("POST", "/iam/v1/keys", w.admin, map[string]any{"serviceAccountId": w.robot},
				"X-Warden-Public-Key", base64.StdEncoding.EncodeToString([]byte(pemText)))
			if own.status != 200 || str(own.body, "privateKey") != "" || str(own.body, "key", "publicKey") != pemText {
				t.Fatalf("create with a public key: %d %s", own.status, own.raw)
			}
			ownJWT, _ := jwtauth.Sign(rand.Reader, mine, str(own.body, "key", "id"), jwtauth.NewClaims(w.robot, jwtauth.YandexAudience, now))
			if r := n.rest("POST", "/iam/v1/tokens", "", map[string]string{"jwt": ownJWT}); r.status != 200 {
				t.Fatalf("exchange with the caller's key: %d %s", r.status, r.raw)
			}

			del := n.rest("DELETE", "/iam/v1/keys/"+id, w.admin, nil)
			if del.status != 200 || str(del.body, "metadata", "@type") != "type.googleapis.com/yandex.cloud.iam.v1.DeleteKeyMetadata" ||
				str(del.body, "response", "@type") != "type.googleapis.com/google.protobuf.Empty" {
				t.Fatalf("delete: %d %s", del.status, del.raw)
			}
			if r := n.rest("POST", "/iam/v1/tokens", "", map[string]string{"jwt": jwt}); r.status != 401 {
				t.Errorf("exchange with the deleted key: %d %s", r.status, r.raw)
			}
			if r := n.rest("GET", "/iam/v1/keys/"+id, w.admin, nil); r.status != 404 {
				t.Errorf("get deleted: %d %s", r.status, r.raw)
			}
			// The robot holds no role: keys of others are closed to it.
			if r := n.rest("GET", "/iam/v1/keys?serviceAccountId="+w.robot, w.robotToken, nil); r.status != 403 {
				t.Errorf("list without keys.list: %d %s", r.status, r.raw)
			}
		})
	}
}

// restHeader is node.rest with one extra request header.
func (n *node) restHeader(method, path, token string, body any, key, value string) response {
	n.t.Helper()
	b, _ := json.Marshal(body)
	args := []string{"-X", method, "-H", "Content-Type: application/json", "-H", key + ": " + value, "-d", string(b)}
	if token != "" {
		args = append(args, "-H", "Authorization: Bearer "+token)
	}
	out, status := curl(n.t, append(args, "http://"+n.addr+path)...)
	r := response{status: status, raw: out}
	json.Unmarshal([]byte(out), &r.body)
	return r
}

// TestKeyChangesAcrossNodes: a key deleted, or an account suspended,
// through one wardend stops exchanges on another within a second.
func TestKeyChangesAcrossNodes(t *testing.T) {
	pg := postgresBackend(t)
	dir, db := t.TempDir(), pg.database(t)
	a := start(t, dir, db)
	b := start(t, dir, db)
	w := newWorld(t, a)
	exchange := func(n *node, priv *rsa.PrivateKey, kid string) int {
		jwt, _ := jwtauth.Sign(rand.Reader, priv, kid, jwtauth.NewClaims(w.robot, jwtauth.YandexAudience, time.Now()))
		return n.rest("POST", "/iam/v1/tokens", "", map[string]string{"jwt": jwt}).status
	}
	newKey := func() (*rsa.PrivateKey, string) {
		r := a.rest("POST", "/iam/v1/keys", w.admin, map[string]any{"serviceAccountId": w.robot})
		priv, err := jwtauth.ParsePrivateKey(str(r.body, "privateKey"))
		if err != nil {
			t.Fatalf("create key: %s", r.raw)
		}
		return priv, str(r.body, "key", "id")
	}
	priv, kid := newKey()
	if s := exchange(b, priv, kid); s != 200 {
		t.Fatalf("exchange through b: %d", s)
	}
	if r := a.rest("DELETE", "/iam/v1/keys/"+kid, w.admin, nil); r.status != 200 {
		t.Fatalf("delete through a: %s", r.raw)
	}
	within(t, "key deletion through a seen by b", func() bool { return exchange(b, priv, kid) == 401 })

	priv, kid = newKey()
	if s := exchange(b, priv, kid); s != 200 {
		t.Fatalf("exchange through b: %d", s)
	}
	a.rest("POST", "/iam/v1/serviceAccounts/"+w.robot+":suspend", w.admin, map[string]any{})
	within(t, "suspension through a seen by b", func() bool { return exchange(b, priv, kid) == 401 })
}
