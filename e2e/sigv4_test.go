package e2e

import (
	"context"
	"crypto/sha256"
	"encoding/hex"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"os"
	"os/exec"
	"strings"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	v4 "github.com/aws/aws-sdk-go-v2/aws/signer/v4"

	"warden/postbox"
	"warden/server"
)

const (
	sesRegion  = "ru-central1"
	sesService = "ses"
)

// sesPostbox starts Postbox against warden with one configuration set,
// "warden-sigv4", in folder (created by admin, a user account, naming the
// folder). Postbox asks Warden about every request and answers refusals
// as AWS does (x-amzn-ErrorType and a JSON message): 401 with Warden's
// AWS error code for a refused credential, 403 AccessDeniedException for a
// missing permission.
func sesPostbox(t *testing.T, warden, admin, folder string) string {
	t.Helper()
	h, err := postbox.New(postbox.Config{DataDir: t.TempDir(), Warden: warden, SigningRegion: sesRegion, Logger: slog.New(slog.DiscardHandler)})
	if err != nil {
		t.Fatal(err)
	}
	srv := httptest.NewServer(h)
	t.Cleanup(srv.Close)
	req, _ := http.NewRequest("POST", srv.URL+"/v2/email/configuration-sets", strings.NewReader(`{"ConfigurationSetName": "warden-sigv4"}`))
	req.Header.Set("Authorization", "Bearer "+admin)
	req.Header.Set(postbox.FolderHeader, folder)
	if st, code := do(t, req); st != 200 {
		t.Fatalf("create configuration set: %d %s", st, code)
	}
	return srv.URL
}

// sigv4World is a wardend on a test clock, a service account with
// postbox.viewer on its folder (B) and a static access key, and Postbox.
type sigv4World struct {
	n             *node
	w             *world
	clk           *clock
	ses           string
	id            string // access key resource id
	keyID, secret string
}

func newSigV4World(t *testing.T) *sigv4World {
	clk := &clock{t: time.Now()}
	n := start(t, t.TempDir(), "", func(c *server.Config) { c.Now = clk.now })
	w := newWorld(t, n)
	w.bind(t, "/resource-manager/v1/folders/"+w.folderB, "ADD", "postbox.viewer", "serviceAccount", w.robot)
	r := n.rest("POST", "/iam/aws-compatibility/v1/accessKeys", w.admin, map[string]any{"serviceAccountId": w.robot})
	if r.status != 200 {
		t.Fatalf("create access key: %s", r.raw)
	}
	return &sigv4World{
		n: n, w: w, clk: clk, ses: sesPostbox(t, "http://"+n.addr, w.admin, w.folderB),
		id: str(r.body, "accessKey", "id"), keyID: str(r.body, "accessKey", "keyId"), secret: str(r.body, "secret"),
	}
}

// call signs a ListConfigurationSets request with aws-sdk-go-v2's signer at
// signedAt and returns the status and AWS error code.
func (s *sigv4World) call(t *testing.T, secret string, signedAt time.Time) (int, string) {
	t.Helper()
	req, _ := http.NewRequest("GET", s.ses+"/v2/email/configuration-sets", nil)
	sum := sha256.Sum256(nil)
	creds := aws.Credentials{AccessKeyID: s.keyID, SecretAccessKey: secret}
	if err := v4.NewSigner().SignHTTP(context.Background(), creds, req, hex.EncodeToString(sum[:]), sesService, sesRegion, signedAt); err != nil {
		t.Fatal(err)
	}
	return do(t, req)
}

func do(t *testing.T, req *http.Request) (int, string) {
	t.Helper()
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	return resp.StatusCode, resp.Header.Get("x-amzn-ErrorType")
}

// TestSigV4ThroughAccessService: requests signed by aws-sdk-go-v2 with a
// static access key reach Postbox, a resource service that checks each with
// Warden's access service; every refusal carries the AWS error code.
func TestSigV4ThroughAccessService(t *testing.T) {
	s := newSigV4World(t)
	refused := func(what string, wantCode string, status int, code string) {
		t.Helper()
		want := http.StatusUnauthorized
		if wantCode == "AccessDeniedException" {
			want = http.StatusForbidden
		}
		if status != want || code != wantCode {
			t.Errorf("%s: %d %s, want %d %s", what, status, code, want, wantCode)
		}
	}
	if st, code := s.call(t, s.secret, s.clk.now()); st != 200 {
		t.Fatalf("signed request: %d %s", st, code)
	}
	st, code := s.call(t, strings.Repeat("x", 40), s.clk.now())
	refused("wrong secret", "SignatureDoesNotMatch", st, code)
	st, code = s.call(t, s.secret, s.clk.now().Add(-16*time.Minute))
	refused("clock skewed 16 minutes", "RequestTimeTooSkewed", st, code)

	// Presigned URLs: valid, then expired.
	req, _ := http.NewRequest("GET", s.ses+"/v2/email/configuration-sets?X-Amz-Expires=60", nil)
	empty := sha256.Sum256(nil) // SES signs the body's hash, presigned or not
	url, _, err := v4.NewSigner().PresignHTTP(context.Background(), aws.Credentials{AccessKeyID: s.keyID, SecretAccessKey: s.secret},
		req, hex.EncodeToString(empty[:]), sesService, sesRegion, s.clk.now())
	if err != nil {
		t.Fatal(err)
	}
	pre, _ := http.NewRequest("GET", url, nil)
	if st, code := do(t, pre); st != 200 {
		t.Errorf("presigned URL: %d %s", st, code)
	}
	s.clk.advance(2 * time.Minute)
	pre, _ = http.NewRequest("GET", url, nil)
	st, code = do(t, pre)
	refused("expired presigned URL", "AccessDenied", st, code)

	// A role-less account: authenticated, then denied.
	s.w.bind(t, "/resource-manager/v1/folders/"+s.w.folderB, "REMOVE", "postbox.viewer", "serviceAccount", s.w.robot)
	st, code = s.call(t, s.secret, s.clk.now())
	refused("no postbox.viewer", "AccessDeniedException", st, code)
	s.w.bind(t, "/resource-manager/v1/folders/"+s.w.folderB, "ADD", "postbox.viewer", "serviceAccount", s.w.robot)

	// A suspended account's key is unknown, as AWS answers.
	s.n.rest("POST", "/iam/v1/serviceAccounts/"+s.w.robot+":suspend", s.w.admin, map[string]any{})
	st, code = s.call(t, s.secret, s.clk.now())
	refused("suspended account", "InvalidAccessKeyId", st, code)
	s.n.rest("POST", "/iam/v1/serviceAccounts/"+s.w.robot+":reactivate", s.w.admin, map[string]any{})
	if st, code := s.call(t, s.secret, s.clk.now()); st != 200 {
		t.Fatalf("after reactivation: %d %s", st, code)
	}

	// A deleted key, at once on the deleting node.
	if r := s.n.rest("DELETE", "/iam/aws-compatibility/v1/accessKeys/"+s.id, s.w.admin, nil); r.status != 200 {
		t.Fatalf("delete: %s", r.raw)
	}
	st, code = s.call(t, s.secret, s.clk.now())
	refused("deleted key", "InvalidAccessKeyId", st, code)
}

// TestSigV4AWSCLIAndBoto3: the AWS CLI and boto3, unchanged, list
// configuration sets through Postbox with a static access key.
func TestSigV4AWSCLIAndBoto3(t *testing.T) {
	if _, err := os.Stat("/usr/bin/aws"); err != nil {
		t.Skip("/usr/bin/aws (Debian awscli) is not installed")
	}
	s := newSigV4World(t)
	env := append(os.Environ(), "AWS_ACCESS_KEY_ID="+s.keyID, "AWS_SECRET_ACCESS_KEY="+s.secret, "AWS_DEFAULT_REGION="+sesRegion,
		"AWS_CONFIG_FILE=/dev/null", "AWS_SHARED_CREDENTIALS_FILE=/dev/null", "AWS_EC2_METADATA_DISABLED=true")
	cli := exec.Command("/usr/bin/aws", "sesv2", "list-configuration-sets", "--endpoint-url", s.ses, "--output", "json")
	cli.Env = env
	out, err := cli.CombinedOutput()
	if err != nil || !strings.Contains(string(out), "warden-sigv4") {
		t.Errorf("aws sesv2 list-configuration-sets: %v\n%s", err, out)
	}
	py := exec.Command("/usr/bin/python3", "-c", `
import boto3, sys
c = boto3.client("sesv2", endpoint_url=sys.argv[1], region_name="`+sesRegion+`")
print(c.list_configuration_sets()["ConfigurationSets"])
`, s.ses)
	py.Env = env
	out, err = py.CombinedOutput()
	if err != nil || !strings.Contains(string(out), "warden-sigv4") {
		t.Errorf("boto3 list_configuration_sets: %v\n%s", err, out)
	}
	// The same with an ephemeral key and its session token.
	eph := s.n.rest("POST", "/iam/aws-compatibility/v1/ephemeralAccessKeys", s.w.admin, map[string]any{"subjectId": s.w.robot, "sessionName": "cli"})
	ephEnv := append(env, "AWS_ACCESS_KEY_ID="+str(eph.body, "accessKeyId"), "AWS_SECRET_ACCESS_KEY="+str(eph.body, "secret"), "AWS_SESSION_TOKEN="+str(eph.body, "sessionToken"))
	for name, cmd := range map[string]*exec.Cmd{
		"aws":   exec.Command("/usr/bin/aws", "sesv2", "list-configuration-sets", "--endpoint-url", s.ses),
		"boto3": exec.Command("/usr/bin/python3", "-c", `import boto3, sys; print(boto3.client("sesv2", endpoint_url=sys.argv[1], region_name="`+sesRegion+`").list_configuration_sets())`, s.ses),
	} {
		cmd.Env = ephEnv
		if out, err := cmd.CombinedOutput(); err != nil || !strings.Contains(string(out), "warden-sigv4") {
			t.Errorf("%s with an ephemeral key: %v\n%s", name, err, out)
		}
	}
	bad := exec.Command("/usr/bin/aws", "sesv2", "list-configuration-sets", "--endpoint-url", s.ses)
	bad.Env = append(env, "AWS_SECRET_ACCESS_KEY="+strings.Repeat("y", 40))
	out, err = bad.CombinedOutput()
	if err == nil || !strings.Contains(string(out), "SignatureDoesNotMatch") {
		t.Errorf("aws with a wrong secret: %v\n%s", err, out)
	}
}

// TestSigV4EphemeralKeys: an ephemeral key (key id, secret and session
// token, no database row) signs like a static one, for its subject only,
// until it expires; refusals carry ExpiredToken or InvalidToken.
func TestSigV4EphemeralKeys(t *testing.T) {
	s := newSigV4World(t)
	create := func(tok string, body map[string]any) response {
		return s.n.rest("POST", "/iam/aws-compatibility/v1/ephemeralAccessKeys", tok, body)
	}
	r := create(s.w.admin, map[string]any{"subjectId": s.w.robot, "sessionName": "ci", "duration": "3600s"})
	if r.status != 200 {
		t.Fatalf("create ephemeral: %d %s", r.status, r.raw)
	}
	keyID, secret, session := str(r.body, "accessKeyId"), str(r.body, "secret"), str(r.body, "sessionToken")
	if !strings.HasPrefix(keyID, "WDNE") || len(secret) != 40 || !strings.HasPrefix(session, "ws1.") || str(r.body, "expiresAt") == "" {
		t.Fatalf("ephemeral key: %s", r.raw)
	}
	call := func(creds aws.Credentials) (int, string) {
		req, _ := http.NewRequest("GET", s.ses+"/v2/email/configuration-sets", nil)
		sum := sha256.Sum256(nil)
		if err := v4.NewSigner().SignHTTP(context.Background(), creds, req, hex.EncodeToString(sum[:]), sesService, sesRegion, s.clk.now()); err != nil {
			t.Fatal(err)
		}
		return do(t, req)
	}
	good := aws.Credentials{AccessKeyID: keyID, SecretAccessKey: secret, SessionToken: session}
	if st, code := call(good); st != 200 {
		t.Fatalf("signed with the ephemeral key: %d %s", st, code)
	}
	// The session token cannot be used as an IAM token.
	if st := s.n.rest("GET", "/resource-manager/v1/clouds", "t1."+strings.TrimPrefix(session, "ws1."), nil).status; st != 401 {
		t.Errorf("session token as an IAM token: %d", st)
	}
	for _, c := range []struct {
		what, code string
		creds      aws.Credentials
	}{
		{"no session token", "InvalidToken", aws.Credentials{AccessKeyID: keyID, SecretAccessKey: secret}},
		{"a tampered session token", "InvalidToken", aws.Credentials{AccessKeyID: keyID, SecretAccessKey: secret, SessionToken: tamper(session)}},
		{"another key's session token", "InvalidToken", aws.Credentials{AccessKeyID: "WDNEAAAAAAAAAAAAAAAA", SecretAccessKey: secret, SessionToken: session}},
		{"a wrong secret", "SignatureDoesNotMatch", aws.Credentials{AccessKeyID: keyID, SecretAccessKey: strings.Repeat("z", 40), SessionToken: session}},
	} {
		if st, code := call(c.creds); st != 401 || code != c.code {
			t.Errorf("%s: %d %s, want %s", c.what, st, code, c.code)
		}
	}
	// The role-less robot may not mint one for the admin, nor for an
	// account it cannot issue tokens for.
	if r := create(s.w.robotToken, map[string]any{"subjectId": s.w.robot, "sessionName": "self"}); r.status != 200 {
		t.Errorf("an account's own ephemeral key: %d %s", r.status, r.raw)
	}
	other := s.n.rest("POST", "/iam/v1/serviceAccounts", s.w.admin, map[string]any{"folderId": s.w.folderB, "name": "other"})
	if r := create(s.w.robotToken, map[string]any{"subjectId": str(other.body, "response", "id"), "sessionName": "x"}); r.status != 403 {
		t.Errorf("another account's ephemeral key: %d %s", r.status, r.raw)
	}
	for _, bad := range []map[string]any{{"sessionName": "x", "duration": "60s"}, {"sessionName": "x", "duration": "43201s"}} {
		if r := create(s.w.admin, bad); r.status != 400 {
			t.Errorf("duration %v: %d %s", bad["duration"], r.status, r.raw)
		}
	}
	// A session policy narrows the key below its subject's bindings (the
	// robot holds postbox.viewer on its folder, B), never beyond them.
	withPolicy := func(policy string) (int, string) {
		t.Helper()
		r := create(s.w.admin, map[string]any{"subjectId": s.w.robot, "sessionName": "narrow", "policy": policy})
		if r.status != 200 {
			t.Fatalf("create with policy %s: %d %s", policy, r.status, r.raw)
		}
		return call(aws.Credentials{AccessKeyID: str(r.body, "accessKeyId"), SecretAccessKey: str(r.body, "secret"), SessionToken: str(r.body, "sessionToken")})
	}
	for _, c := range []struct {
		policy string
		status int
	}{
		{`{"Statement": [{"Effect": "Allow", "Action": "postbox.configurationSets.*"}]}`, 200},
		{`{"Statement": [{"Effect": "Allow", "Action": ["postbox.configurationSets.list"], "Resource": ["` + s.w.folderB + `"]}]}`, 200},
		{`{"Statement": [{"Effect": "Allow", "Action": "postbox.emails.*"}]}`, 403},
		{`{"Statement": [{"Effect": "Allow", "Action": "*", "Resource": "` + s.w.folderA + `"}]}`, 403},
	} {
		if st, code := withPolicy(c.policy); st != c.status {
			t.Errorf("policy %s: %d %s, want %d", c.policy, st, code, c.status)
		}
	}
	for _, bad := range []string{`{"Statement": [{"Effect": "Deny", "Action": "*"}]}`, `{"Statement": []}`, `not json`, `{"Statement": [{"Effect": "Allow", "Action": "bad action"}]}`} {
		if r := create(s.w.admin, map[string]any{"subjectId": s.w.robot, "sessionName": "x", "policy": bad}); r.status != 400 || !strings.Contains(r.raw, "policy") {
			t.Errorf("policy %s: %d %s, want 400 naming the policy", bad, r.status, r.raw)
		}
	}

	// Suspension, then expiry.
	s.n.rest("POST", "/iam/v1/serviceAccounts/"+s.w.robot+":suspend", s.w.admin, map[string]any{})
	if st, code := call(good); st != 401 || code != "InvalidAccessKeyId" {
		t.Errorf("suspended subject: %d %s", st, code)
	}
	s.n.rest("POST", "/iam/v1/serviceAccounts/"+s.w.robot+":reactivate", s.w.admin, map[string]any{})
	s.clk.advance(time.Hour + time.Second)
	if st, code := call(good); st != 401 || code != "ExpiredToken" {
		t.Errorf("expired ephemeral key: %d %s", st, code)
	}
}

// TestSigV4KeyChangesAcrossNodes: an access key deleted, or its account
// suspended, through one wardend is refused by another within a second.
func TestSigV4KeyChangesAcrossNodes(t *testing.T) {
	pg := postgresBackend(t)
	dir, db := t.TempDir(), pg.database(t)
	a, b := start(t, dir, db), start(t, dir, db)
	w := newWorld(t, a)
	w.bind(t, "/resource-manager/v1/folders/"+w.folderB, "ADD", "postbox.viewer", "serviceAccount", w.robot)
	sesB := sesPostbox(t, "http://"+b.addr, w.admin, w.folderB)
	newKey := func() (string, string, string) {
		r := a.rest("POST", "/iam/aws-compatibility/v1/accessKeys", w.admin, map[string]any{"serviceAccountId": w.robot})
		return str(r.body, "accessKey", "id"), str(r.body, "accessKey", "keyId"), str(r.body, "secret")
	}
	call := func(keyID, secret string) int {
		req, _ := http.NewRequest("GET", sesB+"/v2/email/configuration-sets", nil)
		sum := sha256.Sum256(nil)
		v4.NewSigner().SignHTTP(context.Background(), aws.Credentials{AccessKeyID: keyID, SecretAccessKey: secret}, req, hex.EncodeToString(sum[:]), sesService, sesRegion, time.Now())
		st, _ := do(t, req)
		return st
	}
	id, keyID, secret := newKey()
	within(t, "a key created through a accepted by b", func() bool { return call(keyID, secret) == 200 })
	if r := a.rest("DELETE", "/iam/aws-compatibility/v1/accessKeys/"+id, w.admin, nil); r.status != 200 {
		t.Fatalf("delete through a: %s", r.raw)
	}
	within(t, "a key deleted through a refused by b", func() bool { return call(keyID, secret) == 401 })

	_, keyID, secret = newKey()
	within(t, "a second key accepted by b", func() bool { return call(keyID, secret) == 200 })
	a.rest("POST", "/iam/v1/serviceAccounts/"+w.robot+":suspend", w.admin, map[string]any{})
	within(t, "a suspension through a enforced by b", func() bool { return call(keyID, secret) == 401 })
}

// tamper changes one character in the middle of s, always to another one.
func tamper(s string) string {
	i := len(s) / 2
	c := byte('A')
	if s[i] == 'A' {
		c = 'B'
	}
	return s[:i] + string(c) + s[i+1:]
}
