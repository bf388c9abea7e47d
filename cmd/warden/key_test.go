package main

import (
	"context"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"
	"time"

	iampb "github.com/yandex-cloud/go-genproto/yandex/cloud/iam/v1"
	ycsdk "github.com/yandex-cloud/go-sdk/v2"
	"github.com/yandex-cloud/go-sdk/v2/credentials"
	"github.com/yandex-cloud/go-sdk/v2/pkg/endpoints"
	"github.com/yandex-cloud/go-sdk/v2/pkg/options"
	iamsdk "github.com/yandex-cloud/go-sdk/v2/services/iam/v1"
	"google.golang.org/grpc"
	"google.golang.org/grpc/credentials/insecure"

	"warden/keyfile"
	"warden/secret"
)

// keyWorld is a server with a service account "robot" that holds viewer on
// the default folder, and the admin's CLI.
type keyWorld struct {
	w             *wardend
	admin         *cli
	folder, robot string
}

func newKeyWorld(t *testing.T) *keyWorld {
	t.Helper()
	w := startServer(t)
	k := &keyWorld{w: w, admin: loggedIn(t, w)}
	var m map[string]any
	decode(t, "json", k.admin.ok("resource-manager", "folder", "get", "default", "--format", "json"), &m)
	k.folder = m["id"].(string)
	decode(t, "json", k.admin.ok("iam", "service-account", "create", "robot", "--format", "json"), &m)
	k.robot = m["id"].(string)
	k.admin.ok("resource-manager", "folder", "add-access-binding", "default", "--role", "viewer", "--service-account-name", "robot")
	return k
}

// createKey creates a key of robot with the CLI and returns the key as
// printed and the key file's path.
func (k *keyWorld) createKey(t *testing.T, args ...string) (map[string]any, string) {
	t.Helper()
	path := filepath.Join(t.TempDir(), "key.json")
	var key map[string]any
	out := k.admin.ok(append([]string{"iam", "key", "create", "--service-account-name", "robot", "--output", path, "--format", "json"}, args...)...)
	decode(t, "json", out, &key)
	if strings.Contains(out, "PRIVATE") || key["private_key"] != nil {
		t.Errorf("create printed the private key:\n%s", out)
	}
	return key, path
}

// robotCLI is a CLI pointed at the server with no credentials of its own.
func (k *keyWorld) robotCLI(t *testing.T) *cli {
	c := newCLI(t)
	c.ok("config", "set", "endpoint", k.w.addr)
	return c
}

// TestKeyFileForYandexSDK: the real Yandex Go SDK authenticates from a key
// file that the CLI wrote, and lists service accounts as the robot.
func TestKeyFileForYandexSDK(t *testing.T) {
	k := newKeyWorld(t)
	for _, alg := range []string{"", "rsa-4096"} {
		t.Run("algorithm "+alg, func(t *testing.T) {
			var args []string
			wantAlg := "RSA_2048"
			if alg != "" {
				args, wantAlg = []string{"--algorithm", alg}, "RSA_4096"
			}
			key, path := k.createKey(t, args...)
			if key["service_account_id"] != k.robot || key["key_algorithm"] != wantAlg || key["id"] == "" {
				t.Errorf("created key = %v", key)
			}
			fi, err := os.Stat(path)
			if err != nil {
				t.Fatal(err)
			}
			if fi.Mode().Perm() != 0o600 {
				t.Errorf("key file mode = %v, want 0600", fi.Mode().Perm())
			}

			creds, err := credentials.ServiceAccountKeyFile(path)
			if err != nil {
				t.Fatalf("the SDK rejects the key file: %v", err)
			}
			ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
			defer cancel()
			sdk, err := ycsdk.Build(ctx,
				options.WithCredentials(creds),
				options.WithEndpointsResolver(endpoints.NewSingleEndpointResolver(k.w.addr, grpc.WithTransportCredentials(insecure.NewCredentials()))),
				options.WithPlaintext(),
			)
			if err != nil {
				t.Fatalf("build SDK: %v", err)
			}
			defer sdk.Shutdown(context.Background())
			list, err := iamsdk.NewServiceAccountClient(sdk).List(ctx, &iampb.ListServiceAccountsRequest{FolderId: k.folder})
			if err != nil {
				t.Fatalf("list as the service account: %v", err)
			}
			if !slices.ContainsFunc(list.ServiceAccounts, func(sa *iampb.ServiceAccount) bool { return sa.Id == k.robot }) {
				t.Errorf("list = %v, want %s in it", list.ServiceAccounts, k.robot)
			}
		})
	}
}

func TestServiceAccountKeyCredentials(t *testing.T) {
	k := newKeyWorld(t)
	key, path := k.createKey(t)
	keyID := key["id"].(string)
	robot := k.robotCLI(t)
	listArgs := []string{"iam", "service-account", "list", "--folder-id", k.folder, "--format", "json"}
	listsRobot := func(t *testing.T, c *cli, args ...string) {
		t.Helper()
		var list []map[string]any
		decode(t, "json", c.ok(append(args, listArgs...)...), &list)
		if !contains(names(list), "robot") {
			t.Errorf("service accounts = %v, want robot", names(list))
		}
	}

	t.Run("flag", func(t *testing.T) { listsRobot(t, robot, "--service-account-key", path) })
	t.Run("env", func(t *testing.T) {
		robot.env["WARDEN_SERVICE_ACCOUNT_KEY"] = path
		defer delete(robot.env, "WARDEN_SERVICE_ACCOUNT_KEY")
		listsRobot(t, robot)
	})
	t.Run("profile", func(t *testing.T) {
		c := k.robotCLI(t)
		// A relative path is kept absolute, to work from any directory.
		t.Chdir(filepath.Dir(path))
		c.ok("config", "set", "service-account-key", filepath.Base(path))
		if got := strings.TrimSpace(c.ok("config", "get", "service-account-key")); got != path {
			t.Errorf("config get service-account-key = %q, want %q", got, path)
		}
		if got := c.ok("config", "list"); !strings.Contains(got, "service-account-key: "+path+"\n") {
			t.Errorf("config list = %q", got)
		}
		listsRobot(t, c)
		// The IAM token is the robot's: it may read the folder but not
		// change it.
		tok := strings.TrimSpace(c.ok("iam", "create-token"))
		if !strings.HasPrefix(tok, "t1.") {
			t.Errorf("create-token = %q", tok)
		}
		if msg := c.fail("iam", "service-account", "create", "other", "--folder-id", k.folder); !strings.Contains(strings.ToLower(msg), "permission") {
			t.Errorf("create as viewer: %q, want permission denied", msg)
		}
		c.ok("config", "unset", "service-account-key")
		if msg := c.fail(listArgs...); !strings.HasPrefix(msg, "not logged in") {
			t.Errorf("after unset: %q", msg)
		}
	})
	t.Run("precedence", func(t *testing.T) {
		// The flag wins over the admin's token in the profile...
		if msg := k.admin.fail("--service-account-key", path, "iam", "service-account", "create", "other", "--folder-id", k.folder); !strings.Contains(strings.ToLower(msg), "permission") {
			t.Errorf("create with the robot's key flag: %q, want permission denied", msg)
		}
		// ...and an IAM token wins over a key.
		adminIAM := strings.TrimSpace(k.admin.ok("iam", "create-token"))
		c := k.robotCLI(t)
		c.ok("config", "set", "service-account-key", path)
		c.ok("--iam-token", adminIAM, "iam", "service-account", "create", "made-by-admin", "--folder-id", k.folder)
		// A login replaces the key in the profile.
		if r := c.runIn(adminPassword+"\n", "login", "--password-stdin"); r.code != 0 {
			t.Fatalf("login: %s", r.stderr)
		}
		if msg := c.fail("config", "get", "service-account-key"); !strings.Contains(msg, "not set") {
			t.Errorf("service-account-key after login: %q", msg)
		}
	})

	// Once the key is deleted it no longer authenticates.
	if out := k.admin.ok("iam", "key", "delete", keyID); out != "" {
		t.Errorf("delete printed %q", out)
	}
	msg := robot.fail(append([]string{"--service-account-key", path}, listArgs...)...)
	if !strings.HasPrefix(msg, "the request is unauthenticated") {
		t.Errorf("with a deleted key: %q, want an authentication error", msg)
	}
}

func TestKeyListGetUpdate(t *testing.T) {
	k := newKeyWorld(t)
	key, _ := k.createKey(t, "--description", "ci")
	id := key["id"].(string)
	if key["description"] != "ci" || key["created_at"] == nil || !strings.Contains(key["public_key"].(string), "BEGIN PUBLIC KEY") {
		t.Errorf("created key = %v", key)
	}
	for _, format := range []string{"json", "yaml", "text"} {
		t.Run(format, func(t *testing.T) {
			listed := k.admin.ok("iam", "key", "list", "--service-account-name", "robot", "--format", format)
			if format == "text" {
				rows := parseTable(t, listed)
				if len(rows) != 1 || rows[0]["ID"] != id || rows[0]["IDENTITY"] != k.robot || rows[0]["ALGORITHM"] != "RSA_2048" ||
					rows[0]["DESCRIPTION"] == "" || !strings.HasPrefix(rows[0]["CREATED AT"], "20") {
					t.Errorf("table = %v", rows)
				}
			} else {
				var list []map[string]any
				decode(t, format, listed, &list)
				if len(list) != 1 || list[0]["id"] != id || list[0]["service_account_id"] != k.robot {
					t.Errorf("list = %v", list)
				}
			}
			for _, args := range [][]string{{id}, {"--id", id}} {
				var got map[string]any
				decode(t, format, k.admin.ok(append([]string{"iam", "key", "get", "--format", format}, args...)...), &got)
				if got["id"] != id || got["service_account_id"] != k.robot || got["key_algorithm"] != "RSA_2048" {
					t.Errorf("get %v = %v", args, got)
				}
			}
			var updated map[string]any
			decode(t, format, k.admin.ok("iam", "key", "update", id, "--description", "rotated-"+format, "--format", format), &updated)
			if updated["id"] != id || updated["description"] != "rotated-"+format {
				t.Errorf("updated = %v", updated)
			}
		})
	}
	var list []map[string]any
	decode(t, "json", k.admin.ok("iam", "key", "list", "--service-account-id", k.robot, "--format", "json"), &list)
	if len(list) != 1 || list[0]["description"] != "rotated-text" {
		t.Errorf("list by ID = %v", list)
	}
	k.admin.ok("iam", "key", "update", "--id", id, "--description", "")
	var got map[string]any
	decode(t, "json", k.admin.ok("iam", "key", "get", id, "--format", "json"), &got)
	if got["description"] != nil {
		t.Errorf("description after clearing = %v", got["description"])
	}
	k.admin.ok("iam", "key", "delete", "--id", id)
	if msg := k.admin.fail("iam", "key", "get", id); msg != "key "+id+" not found" {
		t.Errorf("get after delete: %q", msg)
	}
	if out := k.admin.ok("iam", "key", "list", "--service-account-name", "robot", "--format", "json"); strings.TrimSpace(out) != "[]" {
		t.Errorf("list after delete = %q", out)
	}
}

// TestKeyFromPublicKeyFile registers a public key made elsewhere; its
// private half, which never travelled, then authenticates.
func TestKeyFromPublicKeyFile(t *testing.T) {
	k := newKeyWorld(t)
	testdata, err := filepath.Abs(filepath.Join("..", "..", "jwtauth", "testdata"))
	if err != nil {
		t.Fatal(err)
	}
	dir := t.TempDir()
	t.Chdir(dir) // to see that no key file is written

	out := k.admin.ok("iam", "key", "create", "--service-account-name", "robot", "--public-key-file", filepath.Join(testdata, "rsa2048.pub"), "--description", "mine")
	var key map[string]any
	decode(t, "text", out, &key)
	pub, err := os.ReadFile(filepath.Join(testdata, "rsa2048.pub"))
	if err != nil {
		t.Fatal(err)
	}
	if key["key_algorithm"] != "RSA_2048" || key["service_account_id"] != k.robot || key["description"] != "mine" ||
		strings.TrimSpace(key["public_key"].(string)) != strings.TrimSpace(string(pub)) {
		t.Errorf("key = %v", key)
	}
	if entries, _ := os.ReadDir(dir); len(entries) != 0 {
		t.Errorf("files written: %v", entries)
	}

	// The key file assembled from the private key we kept works.
	priv, err := os.ReadFile(filepath.Join(testdata, "rsa2048.key"))
	if err != nil {
		t.Fatal(err)
	}
	f := &keyfile.File{ID: key["id"].(string), ServiceAccountID: k.robot, CreatedAt: time.Now(), KeyAlgorithm: "RSA_2048",
		PublicKey: string(pub), PrivateKey: secret.New(string(priv))}
	path := filepath.Join(t.TempDir(), "own.json")
	if err := f.WriteFile(path); err != nil {
		t.Fatal(err)
	}
	var list []map[string]any
	decode(t, "json", k.robotCLI(t).ok("--service-account-key", path, "iam", "service-account", "list", "--folder-id", k.folder, "--format", "json"), &list)
	if !contains(names(list), "robot") {
		t.Errorf("service accounts = %v, want robot", names(list))
	}

	for _, tc := range []struct {
		name string
		args []string
		want string
	}{
		{"private key", []string{"--public-key-file", filepath.Join(testdata, "rsa2048.key")}, "holds a private key: give its public key"},
		{"algorithm mismatch", []string{"--public-key-file", filepath.Join(testdata, "rsa4096.pub"), "--algorithm", "rsa-2048"}, "key_algorithm: RSA_2048 does not match the 4096-bit public key"},
		{"with output", []string{"--public-key-file", filepath.Join(testdata, "rsa4096.pub"), "--output", "k.json"}, "--output does not go with --public-key-file"},
		{"not a key", []string{"--public-key-file", filepath.Join(testdata, "README.md")}, "README.md: no PEM block found"},
		{"same key again", []string{"--public-key-file", filepath.Join(testdata, "rsa2048.pub")}, "already has a key with this public key"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			msg := k.admin.fail(append([]string{"iam", "key", "create", "--service-account-id", k.robot}, tc.args...)...)
			if !strings.Contains(msg, tc.want) {
				t.Errorf("error %q, want it to contain %q", msg, tc.want)
			}
		})
	}
	var keys []map[string]any
	decode(t, "json", k.admin.ok("iam", "key", "list", "--service-account-id", k.robot, "--format", "json"), &keys)
	if len(keys) != 1 {
		t.Errorf("%d keys after the failures, want 1: %v", len(keys), keys)
	}
}

func TestKeyErrors(t *testing.T) {
	k := newKeyWorld(t)
	_, path := k.createKey(t)
	before, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	missing := filepath.Join(t.TempDir(), "missing.json")
	for _, tc := range []struct {
		name   string
		args   []string
		prefix string
	}{
		{"existing output", []string{"iam", "key", "create", "--service-account-name", "robot", "--output", path}, path + " already exists: a key file is never overwritten"},
		{"output in a missing directory", []string{"iam", "key", "create", "--service-account-name", "robot", "--output", filepath.Join(missing, "key.json")}, "write the key file: keyfile: open "},
		{"unknown service account name", []string{"iam", "key", "create", "--service-account-name", "nope", "--output", missing}, `service account "nope" not found in folder ` + k.folder},
		{"unknown service account ID", []string{"iam", "key", "list", "--service-account-id", "ajenosuchaccount0000"}, "service account ajenosuchaccount0000 not found"},
		{"no service account", []string{"iam", "key", "create", "--output", missing}, "give the service account with --service-account-id or --service-account-name"},
		{"no service account to list", []string{"iam", "key", "list"}, "give the service account with --service-account-id or --service-account-name"},
		{"two service accounts", []string{"iam", "key", "list", "--service-account-id", k.robot, "--service-account-name", "robot"}, "give --service-account-id or --service-account-name, not both"},
		{"no output", []string{"iam", "key", "create", "--service-account-name", "robot"}, "give --output FILE for the key file"},
		{"bad algorithm", []string{"iam", "key", "create", "--service-account-name", "robot", "--output", missing, "--algorithm", "ed25519"}, `--algorithm must be rsa-2048 or rsa-4096, not "ed25519"`},
		{"unknown key", []string{"iam", "key", "get", "ajknosuchkey00000000"}, "key ajknosuchkey00000000 not found"},
		{"no key", []string{"iam", "key", "delete"}, "name the key: give its ID as an argument or with --id"},
		{"key twice", []string{"iam", "key", "get", "a", "--id", "b"}, "name the key once"},
		{"nothing to update", []string{"iam", "key", "update", "ajknosuchkey00000000"}, "nothing to update: give --description"},
		{"missing key file", []string{"--service-account-key", missing, "iam", "service-account", "list"}, "--service-account-key: keyfile: open " + missing},
		{"config set of a missing file", []string{"config", "set", "service-account-key", missing}, "service-account-key: keyfile: open " + missing},
	} {
		t.Run(tc.name, func(t *testing.T) {
			if msg := k.admin.fail(tc.args...); !strings.HasPrefix(msg, tc.prefix) {
				t.Errorf("error %q, want it to start with %q", msg, tc.prefix)
			}
		})
	}
	if after, _ := os.ReadFile(path); string(after) != string(before) {
		t.Errorf("the existing key file was changed")
	}
	// A key whose file could not be written is not left behind.
	var keys []map[string]any
	decode(t, "json", k.admin.ok("iam", "key", "list", "--service-account-name", "robot", "--format", "json"), &keys)
	if len(keys) != 1 {
		t.Errorf("%d keys, want only the first: %v", len(keys), keys)
	}
	t.Run("env of a bad key file", func(t *testing.T) {
		c := k.robotCLI(t)
		bad := filepath.Join(t.TempDir(), "bad.json")
		if err := os.WriteFile(bad, []byte(`{"id": "x"}`), 0o600); err != nil {
			t.Fatal(err)
		}
		c.env["WARDEN_SERVICE_ACCOUNT_KEY"] = bad
		if msg := c.fail("iam", "service-account", "list"); msg != "WARDEN_SERVICE_ACCOUNT_KEY: keyfile: the key file has no service_account_id" {
			t.Errorf("error %q", msg)
		}
	})
}
