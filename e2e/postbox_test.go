package e2e

import (
	"bytes"
	"context"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"fmt"
	"io"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	v4 "github.com/aws/aws-sdk-go-v2/aws/signer/v4"
	"github.com/aws/aws-sdk-go-v2/service/sesv2"
	"github.com/aws/aws-sdk-go-v2/service/sesv2/types"

	"warden/postbox"
)

// postboxServer is a Postbox in this process, asking a wardend about every
// request.
type postboxServer struct {
	url, dataDir string
}

func startPostbox(t testing.TB, n *node, opts ...func(*postbox.Config)) *postboxServer {
	t.Helper()
	cfg := postbox.Config{DataDir: t.TempDir(), Warden: "http://" + n.addr, Logger: slog.New(slog.DiscardHandler)}
	for _, o := range opts {
		o(&cfg)
	}
	h, err := postbox.New(cfg)
	if err != nil {
		t.Fatal(err)
	}
	srv := httptest.NewServer(h)
	t.Cleanup(srv.Close)
	return &postboxServer{url: srv.URL, dataDir: cfg.DataDir}
}

// outbox returns the messages SendEmail stored in folder, by message id.
func (p *postboxServer) outbox(t *testing.T, folder string) map[string]map[string]any {
	t.Helper()
	files, _ := filepath.Glob(filepath.Join(p.dataDir, "folders", folder, "outbox", "*.json"))
	out := map[string]map[string]any{}
	for _, f := range files {
		b, err := os.ReadFile(f)
		if err != nil {
			t.Fatal(err)
		}
		var m map[string]any
		if err := json.Unmarshal(b, &m); err != nil {
			t.Fatalf("%s: %v", f, err)
		}
		out[str(m, "MessageID")] = m
	}
	return out
}

// pbAnswer is one answer of Postbox.
type pbAnswer struct {
	status int
	code   string // x-amzn-ErrorType
	body   map[string]any
	raw    string
}

// call sends one request with the given headers (a credential, a folder).
func (p *postboxServer) call(t *testing.T, method, path string, body any, headers ...string) pbAnswer {
	t.Helper()
	var rd io.Reader
	if body != nil {
		b, _ := json.Marshal(body)
		rd = bytes.NewReader(b)
	}
	req, _ := http.NewRequest(method, p.url+path, rd)
	req.Header.Set("Content-Type", "application/json")
	for i := 0; i+1 < len(headers); i += 2 {
		req.Header.Set(headers[i], headers[i+1])
	}
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatalf("%s %s: %v", method, path, err)
	}
	defer resp.Body.Close()
	raw, _ := io.ReadAll(resp.Body)
	a := pbAnswer{status: resp.StatusCode, code: resp.Header.Get("x-amzn-ErrorType"), raw: string(raw)}
	json.Unmarshal(raw, &a.body)
	return a
}

// postboxWorld is a wardend, the robot (a service account in folder B)
// holding roles on its own folder, its static access key, and Postbox.
type postboxWorld struct {
	n             *node
	w             *world
	pb            *postboxServer
	keyID, secret string
}

func newPostboxWorld(t *testing.T, roles ...string) *postboxWorld {
	t.Helper()
	n := start(t, t.TempDir(), "")
	w := newWorld(t, n)
	for _, role := range roles {
		w.bind(t, "/resource-manager/v1/folders/"+w.folderB, "ADD", role, "serviceAccount", w.robot)
	}
	r := n.rest("POST", "/iam/aws-compatibility/v1/accessKeys", w.admin, map[string]any{"serviceAccountId": w.robot})
	if r.status != 200 {
		t.Fatalf("create access key: %s", r.raw)
	}
	return &postboxWorld{n: n, w: w, pb: startPostbox(t, n), keyID: str(r.body, "accessKey", "keyId"), secret: str(r.body, "secret")}
}

// createSet creates a configuration set in folder as the admin, naming the
// folder as a user account must.
func (p *postboxWorld) createSet(t *testing.T, folder, name string) {
	t.Helper()
	a := p.pb.call(t, "POST", "/v2/email/configuration-sets", map[string]string{"ConfigurationSetName": name},
		"Authorization", "Bearer "+p.w.admin, postbox.FolderHeader, folder)
	if a.status != 200 {
		t.Fatalf("create configuration set %s: %d %s", name, a.status, a.raw)
	}
}

// seed000Token is the IAM-token request of seed 000, verbatim.
const seed000Token = `export IAM_TOKEN="<IAM-токен>" && \
curl \
   --request GET \
   --header "X-YaCloud-SubjectToken: ${IAM_TOKEN}" \
   --url 'https://postbox.cloud.yandex.net/v2/email/configuration-sets' \
   --verbose
`

// runSeed runs one of seed 000's commands through bash, the placeholders
// replaced by r; it returns the status, the AWS error code and the body.
func runSeed(t *testing.T, script string, r *strings.Replacer) (status, code, body string) {
	t.Helper()
	cmd := exec.Command("/bin/bash", "-c", r.Replace(script))
	cmd.Env = []string{"PATH=/usr/bin:/bin"}
	var stdout, stderr bytes.Buffer
	cmd.Stdout, cmd.Stderr = &stdout, &stderr
	if err := cmd.Run(); err != nil {
		t.Fatalf("curl: %v\n%s", err, stderr.String())
	}
	status, code = curlAnswer(stderr.String())
	return status, code, stdout.String()
}

// TestPostboxSeed000: both of seed 000's curl commands, verbatim with
// Postbox's endpoint, the key, the secret and the token filled in, list
// the configuration sets of the robot's folder through Postbox; a service
// account without postbox.viewer gets 403, a wrong secret and a revoked
// token 401.
func TestPostboxSeed000(t *testing.T) {
	if _, err := exec.LookPath("/usr/bin/curl"); err != nil {
		t.Skip("/usr/bin/curl is not installed")
	}
	if b, err := os.ReadFile(seed000Path); err == nil {
		if !strings.Contains(strings.ReplaceAll(string(b), "\n    ", "\n"), "\n"+seed000Token) {
			t.Fatalf("seed000Token is not seed 000's command any more: compare with %s", seed000Path)
		}
	}
	p := newPostboxWorld(t, "postbox.viewer")
	p.createSet(t, p.w.folderB, "seed-000")
	tokenFor := func(sa string) string {
		r := p.n.rest("POST", "/iam/v1/tokens:createForServiceAccount", p.w.admin, map[string]any{"serviceAccountId": sa})
		if r.status != 200 {
			t.Fatalf("token: %s", r.raw)
		}
		return str(r.body, "iamToken")
	}
	static := func(keyID, secret string) *strings.Replacer {
		return strings.NewReplacer("<идентификатор_статического_ключа>", keyID, "<секретный_ключ>", secret,
			"{{ region-id }}", "ru-central1", "{{ postbox-endpoint }}", p.pb.url)
	}
	token := func(tok string) *strings.Replacer {
		return strings.NewReplacer("<IAM-токен>", tok, "https://postbox.cloud.yandex.net", p.pb.url)
	}
	expect := func(what, script string, r *strings.Replacer, wantStatus, wantCode string) {
		t.Helper()
		status, code, body := runSeed(t, script, r)
		if status != wantStatus || code != wantCode || wantStatus == "200" && !strings.Contains(body, `"seed-000"`) {
			t.Errorf("%s: %s %q %s, want %s %q", what, status, code, body, wantStatus, wantCode)
		}
	}
	robotToken := tokenFor(p.w.robot)
	expect("static key", seed000, static(p.keyID, p.secret), "200", "")
	expect("IAM token", seed000Token, token(robotToken), "200", "")

	expect("wrong secret", seed000, static(p.keyID, strings.Repeat("x", 40)), "401", "SignatureDoesNotMatch")
	if r := p.n.rest("POST", "/iam/v1/tokens:revoke", "", map[string]string{"iamToken": robotToken}); r.status != 200 {
		t.Fatalf("revoke: %d %s", r.status, r.raw)
	}
	expect("revoked token", seed000Token, token(robotToken), "401", "UnrecognizedClientException")

	// A second account in the same folder, without postbox.viewer.
	sa := p.n.rest("POST", "/iam/v1/serviceAccounts", p.w.admin, map[string]any{"folderId": p.w.folderB, "name": "no-postbox"})
	other := str(sa.body, "response", "id")
	k := p.n.rest("POST", "/iam/aws-compatibility/v1/accessKeys", p.w.admin, map[string]any{"serviceAccountId": other})
	expect("static key without postbox.viewer", seed000, static(str(k.body, "accessKey", "keyId"), str(k.body, "secret")), "403", "AccessDeniedException")
	expect("IAM token without postbox.viewer", seed000Token, token(tokenFor(other)), "403", "AccessDeniedException")
}

// awsEnv is the environment of the AWS CLI and boto3 with a static key and
// no configuration files.
func (p *postboxWorld) awsEnv() []string {
	return append(os.Environ(), "AWS_ACCESS_KEY_ID="+p.keyID, "AWS_SECRET_ACCESS_KEY="+p.secret, "AWS_DEFAULT_REGION=ru-central1",
		"AWS_CONFIG_FILE=/dev/null", "AWS_SHARED_CREDENTIALS_FILE=/dev/null", "AWS_EC2_METADATA_DISABLED=true", "AWS_MAX_ATTEMPTS=1")
}

// TestPostboxAWSCLI: the Debian AWS CLI creates and lists configuration
// sets, creates an email identity and sends mail through Postbox; the
// message lands in the data dir; AWS error codes reach the user.
func TestPostboxAWSCLI(t *testing.T) {
	if _, err := os.Stat("/usr/bin/aws"); err != nil {
		t.Skip("/usr/bin/aws (Debian awscli) is not installed")
	}
	p := newPostboxWorld(t, "postbox.editor")
	aws := func(args ...string) (string, error) {
		cmd := exec.Command("/usr/bin/aws", append(append([]string{"sesv2"}, args...), "--endpoint-url", p.pb.url, "--output", "json")...)
		cmd.Env = p.awsEnv()
		out, err := cmd.CombinedOutput()
		return string(out), err
	}
	must := func(args ...string) string {
		t.Helper()
		out, err := aws(args...)
		if err != nil {
			t.Fatalf("aws sesv2 %s: %v\n%s", strings.Join(args, " "), err, out)
		}
		return out
	}
	must("create-configuration-set", "--configuration-set-name", "cli-set")
	if out := must("list-configuration-sets"); !strings.Contains(out, `"cli-set"`) {
		t.Errorf("list-configuration-sets: %s", out)
	}
	if out, err := aws("create-configuration-set", "--configuration-set-name", "cli-set"); err == nil || !strings.Contains(out, "AlreadyExistsException") {
		t.Errorf("create-configuration-set twice: %v %s", err, out)
	}
	must("create-email-identity", "--email-identity", "sender@example.com")
	out := must("send-email", "--from-email-address", "sender@example.com", "--destination", "ToAddresses=rcpt@example.org",
		"--content", "Simple={Subject={Data=Hello from the CLI},Body={Text={Data=It works}}}", "--configuration-set-name", "cli-set")
	var sent struct{ MessageId string }
	json.Unmarshal([]byte(out), &sent)
	msg, ok := p.pb.outbox(t, p.w.folderB)[sent.MessageId]
	if !ok || str(msg, "FromEmailAddress") != "sender@example.com" || str(msg, "SenderSubject") != p.w.robot || str(msg, "Credential") != "sigv4" ||
		!strings.Contains(str(msg, "Content", "Simple", "Subject", "Data"), "Hello from the CLI") {
		t.Errorf("send-email answered %s; the outbox holds %v", out, msg)
	}
	if out, err := aws("send-email", "--from-email-address", "stranger@example.net", "--destination", "ToAddresses=rcpt@example.org",
		"--content", "Simple={Subject={Data=x},Body={Text={Data=x}}}"); err == nil || !strings.Contains(out, "MessageRejected") {
		t.Errorf("send-email from an unverified address: %v %s", err, out)
	}
	must("delete-configuration-set", "--configuration-set-name", "cli-set")
	if out, err := aws("get-configuration-set", "--configuration-set-name", "cli-set"); err == nil || !strings.Contains(out, "NotFoundException") {
		t.Errorf("get-configuration-set after delete-configuration-set: %v %s", err, out)
	}
}

// TestPostboxBoto3: the same through boto3, with a static key and with an
// ephemeral key and its session token.
func TestPostboxBoto3(t *testing.T) {
	if _, err := exec.Command("/usr/bin/python3", "-c", "import boto3").CombinedOutput(); err != nil {
		t.Skip("/usr/bin/python3 has no boto3")
	}
	p := newPostboxWorld(t, "postbox.editor")
	script := `
import boto3, sys, botocore.exceptions
c = boto3.client("sesv2", endpoint_url=sys.argv[1], region_name="ru-central1")
name = sys.argv[2]
c.create_configuration_set(ConfigurationSetName=name)
assert name in c.list_configuration_sets()["ConfigurationSets"]
assert c.get_configuration_set(ConfigurationSetName=name)["ConfigurationSetName"] == name
try:
    c.create_configuration_set(ConfigurationSetName=name)
    sys.exit("created twice")
except botocore.exceptions.ClientError as e:
    assert e.response["Error"]["Code"] == "AlreadyExistsException", e.response
ident = name + ".example.com"
assert c.create_email_identity(EmailIdentity=ident)["IdentityType"] == "DOMAIN"
assert ident in [i["IdentityName"] for i in c.list_email_identities()["EmailIdentities"]]
out = c.send_email(FromEmailAddress="robot@" + ident, Destination={"ToAddresses": ["rcpt@example.org"]},
    Content={"Simple": {"Subject": {"Data": "Hello from boto3"}, "Body": {"Text": {"Data": "It works"}}}})
print(out["MessageId"])
`
	run := func(name string, env []string) string {
		t.Helper()
		cmd := exec.Command("/usr/bin/python3", "-c", script, p.pb.url, name)
		cmd.Env = env
		out, err := cmd.CombinedOutput()
		if err != nil {
			t.Fatalf("boto3 as %s: %v\n%s", name, err, out)
		}
		return strings.TrimSpace(string(out))
	}
	id := run("boto3-static", p.awsEnv())
	eph := p.n.rest("POST", "/iam/aws-compatibility/v1/ephemeralAccessKeys", p.w.admin, map[string]any{"subjectId": p.w.robot, "sessionName": "boto3"})
	ephID := run("boto3-ephemeral", append(p.awsEnv(), "AWS_ACCESS_KEY_ID="+str(eph.body, "accessKeyId"),
		"AWS_SECRET_ACCESS_KEY="+str(eph.body, "secret"), "AWS_SESSION_TOKEN="+str(eph.body, "sessionToken")))
	outbox := p.pb.outbox(t, p.w.folderB)
	for _, id := range []string{id, ephID} {
		if m, ok := outbox[id]; !ok || !strings.Contains(str(m, "Content", "Simple", "Subject", "Data"), "boto3") {
			t.Errorf("message %s is not in the outbox: %v", id, outbox)
		}
	}
}

// TestPostboxCredentials: every credential Warden knows reaches Postbox:
// Authorization: Bearer and X-YaCloud-SubjectToken with an IAM token, and
// Api-Key, whose scope yc.postbox.send sends mail and nothing else; the
// folder is the caller's service-account folder or the one in X-Folder-Id.
func TestPostboxCredentials(t *testing.T) {
	p := newPostboxWorld(t, "postbox.viewer", "postbox.sender")
	p.createSet(t, p.w.folderB, "in-b")
	p.createSet(t, p.w.folderA, "in-a")
	// The admin creates the sender's identity, in the robot's folder.
	if a := p.pb.call(t, "POST", "/v2/email/identities", map[string]string{"EmailIdentity": "example.com"},
		"Authorization", "Bearer "+p.w.admin, postbox.FolderHeader, p.w.folderB); a.status != 200 {
		t.Fatalf("create identity: %d %s", a.status, a.raw)
	}
	apiKey := func(body map[string]any) string {
		body["serviceAccountId"] = p.w.robot
		r := p.n.rest("POST", "/iam/v1/apiKeys", p.w.admin, body)
		if r.status != 200 {
			t.Fatalf("create API key: %d %s", r.status, r.raw)
		}
		return "Api-Key " + str(r.body, "secret")
	}
	scoped := apiKey(map[string]any{"scopes": []string{"yc.postbox.send"}})
	unscoped := apiKey(map[string]any{})
	otherScope := apiKey(map[string]any{"scopes": []string{"yc.monitoring.read"}})
	// Keys bound to products, as the Cloud.ru-style API creates them.
	productKey := func(product string) string {
		r := p.n.rest("POST", cloudKeys, p.w.admin, map[string]any{"name": product + "-key", "serviceAccountId": p.w.robot, "products": []string{product}})
		if r.status != 200 {
			t.Fatalf("create a %s API key: %d %s", product, r.status, r.raw)
		}
		return "Api-Key " + decodeCloudKey(t, r.raw).Secret
	}
	postboxKey, monitoringKey := productKey("postbox"), productKey("monaas")
	send := map[string]any{"FromEmailAddress": "robot@example.com", "Destination": map[string]any{"ToAddresses": []string{"rcpt@example.org"}},
		"Content": map[string]any{"Simple": map[string]any{"Subject": map[string]string{"Data": "hi"}, "Body": map[string]any{"Text": map[string]string{"Data": "hello"}}}}}
	list := func(headers ...string) pbAnswer {
		return p.pb.call(t, "GET", "/v2/email/configuration-sets", nil, headers...)
	}
	sendAs := func(headers ...string) pbAnswer {
		return p.pb.call(t, "POST", "/v2/email/outbound-emails", send, headers...)
	}
	for _, c := range []struct {
		what       string
		got        pbAnswer
		wantStatus int
		wantCode   string
		wantSet    string
	}{
		{"Bearer", list("Authorization", "Bearer "+p.w.robotToken), 200, "", "in-b"},
		{"X-YaCloud-SubjectToken", list("X-YaCloud-SubjectToken", p.w.robotToken), 200, "", "in-b"},
		{"Bearer, another folder without a role there", list("Authorization", "Bearer "+p.w.robotToken, postbox.FolderHeader, p.w.folderA), 403, "AccessDeniedException", ""},
		{"admin naming folder A", list("Authorization", "Bearer "+p.w.admin, postbox.FolderHeader, p.w.folderA), 200, "", "in-a"},
		{"admin naming no folder", list("Authorization", "Bearer "+p.w.admin), 400, "BadRequestException", ""},
		{"a malformed folder", list("Authorization", "Bearer "+p.w.admin, postbox.FolderHeader, "../a"), 400, "BadRequestException", ""},
		{"no credential", list(), 401, "UnrecognizedClientException", ""},
		{"a forged token", list("Authorization", "Bearer t1.forged.token"), 401, "UnrecognizedClientException", ""},
		{"an unscoped API key lists", list("Authorization", unscoped), 200, "", "in-b"},
		{"an API key scoped yc.postbox.send does not list", list("Authorization", scoped), 403, "AccessDeniedException", ""},
		{"an API key scoped yc.postbox.send sends", sendAs("Authorization", scoped), 200, "", ""},
		{"an unscoped API key sends", sendAs("Authorization", unscoped), 200, "", ""},
		{"an API key of another scope does not send", sendAs("Authorization", otherScope), 403, "AccessDeniedException", ""},
		{"an API key for product postbox sends", sendAs("Authorization", postboxKey), 200, "", ""},
		{"an API key for another product is refused", sendAs("Authorization", monitoringKey), 401, "UnrecognizedClientException", ""},
		{"an IAM token sends", sendAs("X-YaCloud-SubjectToken", p.w.robotToken), 200, "", ""},
	} {
		if c.got.status != c.wantStatus || c.got.code != c.wantCode || c.wantSet != "" && !strings.Contains(c.got.raw, `"`+c.wantSet+`"`) {
			t.Errorf("%s: %d %q %s, want %d %q", c.what, c.got.status, c.got.code, c.got.raw, c.wantStatus, c.wantCode)
		}
		if c.got.status != 200 && (c.got.body["__type"] != c.got.code || c.got.body["message"] == nil) {
			t.Errorf("%s: error body %s is not AWS's shape", c.what, c.got.raw)
		}
	}
	credentials := map[string]int{}
	for _, m := range p.pb.outbox(t, p.w.folderB) {
		credentials[str(m, "Credential")]++
	}
	if credentials["apiKey"] != 3 || credentials["iamToken"] != 1 {
		t.Errorf("the outbox holds messages sent with %v, want 3 by API key and 1 by IAM token", credentials)
	}
}

// TestPostboxFailsClosed: with Warden unreachable, Postbox refuses every
// request with 503 — the cache of positive decisions off or on.
func TestPostboxFailsClosed(t *testing.T) {
	p := newPostboxWorld(t, "postbox.viewer")
	cached := startPostbox(t, p.n, func(c *postbox.Config) { c.CacheTTL = time.Second })
	for _, pb := range []*postboxServer{p.pb, cached} {
		if a := pb.call(t, "GET", "/v2/email/configuration-sets", nil, "X-YaCloud-SubjectToken", p.w.robotToken); a.status != 200 {
			t.Fatalf("with Warden up: %d %s", a.status, a.raw)
		}
	}
	p.n.stop()
	for _, pb := range []*postboxServer{p.pb, cached} {
		// A credential the cache has not seen: Warden must be asked.
		if a := pb.call(t, "GET", "/v2/email/configuration-sets", nil, "Authorization", "Bearer "+p.w.admin, postbox.FolderHeader, p.w.folderB); a.status != 503 || a.code != "ServiceUnavailable" {
			t.Errorf("with Warden down: %d %q %s, want 503 ServiceUnavailable", a.status, a.code, a.raw)
		}
	}
}

// TestPostboxCacheRevocationBound: with a decision cache, a revoked IAM
// token is still let in until the cache's TTL runs out, not a moment
// longer; a deleted access key is refused at once (SigV4 is never cached).
func TestPostboxCacheRevocationBound(t *testing.T) {
	clk := &clock{t: time.Now()}
	p := newPostboxWorld(t, "postbox.viewer")
	pb := startPostbox(t, p.n, func(c *postbox.Config) { c.CacheTTL, c.Now = 5*time.Second, clk.now })
	tok := p.n.rest("POST", "/iam/v1/tokens:createForServiceAccount", p.w.admin, map[string]any{"serviceAccountId": p.w.robot})
	token := str(tok.body, "iamToken")
	list := func() int {
		return pb.call(t, "GET", "/v2/email/configuration-sets", nil, "X-YaCloud-SubjectToken", token).status
	}
	if st := list(); st != 200 {
		t.Fatalf("before revocation: %d", st)
	}
	p.n.rest("POST", "/iam/v1/tokens:revoke", "", map[string]string{"iamToken": token})
	if st := list(); st != 200 {
		t.Errorf("revoked, within the TTL: %d, want 200 from the cache", st)
	}
	clk.advance(5 * time.Second)
	if st := list(); st != 401 {
		t.Errorf("revoked, TTL over: %d, want 401", st)
	}
	if st := list(); st != 401 {
		t.Errorf("revoked, asked again: %d, want 401 (refusals are not cached)", st)
	}
}

// TestPostboxSDK: aws-sdk-go-v2's newest sesv2 (which lists with POST
// …/list-configuration-sets and …/list-identities) drives every operation
// of Postbox: create, get, list by pages and with a filter, delete, send
// simple and raw mail, and the AWS error codes of each failure.
func TestPostboxSDK(t *testing.T) {
	p := newPostboxWorld(t, "postbox.editor")
	ctx := context.Background()
	c := sesv2.New(sesv2.Options{Region: sesRegion, BaseEndpoint: aws.String(p.pb.url), Retryer: aws.NopRetryer{},
		Credentials: awsKey{id: p.keyID, secret: p.secret}.credentials()})
	code := func(err error) string { return apiCode(t, "sesv2", err) }

	for _, name := range []string{"set-c", "set-a", "other-b"} {
		if _, err := c.CreateConfigurationSet(ctx, &sesv2.CreateConfigurationSetInput{ConfigurationSetName: aws.String(name),
			SendingOptions: &types.SendingOptions{SendingEnabled: true}}); err != nil {
			t.Fatalf("CreateConfigurationSet %s: %v", name, err)
		}
	}
	_, err := c.CreateConfigurationSet(ctx, &sesv2.CreateConfigurationSetInput{ConfigurationSetName: aws.String("set-a")})
	if got := code(err); got != "AlreadyExistsException" {
		t.Errorf("CreateConfigurationSet twice: %q", got)
	}
	_, err = c.CreateConfigurationSet(ctx, &sesv2.CreateConfigurationSetInput{ConfigurationSetName: aws.String("no/slash")})
	if got := code(err); got != "BadRequestException" {
		t.Errorf("CreateConfigurationSet with a bad name: %q", got)
	}
	got, err := c.GetConfigurationSet(ctx, &sesv2.GetConfigurationSetInput{ConfigurationSetName: aws.String("set-a")})
	if err != nil || aws.ToString(got.ConfigurationSetName) != "set-a" || got.SendingOptions == nil || !got.SendingOptions.SendingEnabled {
		t.Errorf("GetConfigurationSet: %+v, %v", got, err)
	}
	// Pages of two, then a filter.
	var names []string
	in := &sesv2.ListConfigurationSetsInput{PageSize: aws.Int32(2)}
	for pages := 0; ; pages++ {
		out, err := c.ListConfigurationSets(ctx, in)
		if err != nil || pages > 3 {
			t.Fatalf("ListConfigurationSets page %d: %v", pages, err)
		}
		names = append(names, out.ConfigurationSets...)
		if out.NextToken == nil {
			break
		}
		in.NextToken = out.NextToken
	}
	if strings.Join(names, ",") != "other-b,set-a,set-c" {
		t.Errorf("ListConfigurationSets by pages of 2: %v", names)
	}
	filtered, err := c.ListConfigurationSets(ctx, &sesv2.ListConfigurationSetsInput{Filter: map[string]string{"CONFIGURATION_SET_NAME_CONTAINS": "set-"}})
	if err != nil || strings.Join(filtered.ConfigurationSets, ",") != "set-a,set-c" {
		t.Errorf("ListConfigurationSets with a filter: %+v, %v", filtered, err)
	}
	_, err = c.ListConfigurationSets(ctx, &sesv2.ListConfigurationSetsInput{Filter: map[string]string{"NO_SUCH_KEY": "x"}})
	if got := code(err); got != "BadRequestException" {
		t.Errorf("ListConfigurationSets with an unknown filter: %q", got)
	}
	if _, err := c.DeleteConfigurationSet(ctx, &sesv2.DeleteConfigurationSetInput{ConfigurationSetName: aws.String("other-b")}); err != nil {
		t.Errorf("DeleteConfigurationSet: %v", err)
	}
	for what, err := range map[string]error{
		"GetConfigurationSet of a deleted set": func() error {
			_, err := c.GetConfigurationSet(ctx, &sesv2.GetConfigurationSetInput{ConfigurationSetName: aws.String("other-b")})
			return err
		}(),
		"DeleteConfigurationSet twice": func() error {
			_, err := c.DeleteConfigurationSet(ctx, &sesv2.DeleteConfigurationSetInput{ConfigurationSetName: aws.String("other-b")})
			return err
		}(),
		"GetEmailIdentity of a missing one": func() error {
			_, err := c.GetEmailIdentity(ctx, &sesv2.GetEmailIdentityInput{EmailIdentity: aws.String("nobody@example.com")})
			return err
		}(),
	} {
		if got := code(err); got != "NotFoundException" {
			t.Errorf("%s: %q, want NotFoundException", what, got)
		}
	}

	for _, id := range []string{"sender@example.com", "example.org"} {
		if _, err := c.CreateEmailIdentity(ctx, &sesv2.CreateEmailIdentityInput{EmailIdentity: aws.String(id), ConfigurationSetName: aws.String("set-a")}); err != nil {
			t.Fatalf("CreateEmailIdentity %s: %v", id, err)
		}
	}
	_, err = c.CreateEmailIdentity(ctx, &sesv2.CreateEmailIdentityInput{EmailIdentity: aws.String("x@example.net"), ConfigurationSetName: aws.String("nope")})
	if got := code(err); got != "NotFoundException" {
		t.Errorf("CreateEmailIdentity with a missing configuration set: %q", got)
	}
	ident, err := c.GetEmailIdentity(ctx, &sesv2.GetEmailIdentityInput{EmailIdentity: aws.String("sender@example.com")})
	if err != nil || ident.IdentityType != types.IdentityTypeEmailAddress || !ident.VerifiedForSendingStatus || aws.ToString(ident.ConfigurationSetName) != "set-a" {
		t.Errorf("GetEmailIdentity: %+v, %v", ident, err)
	}
	ids, err := c.ListEmailIdentities(ctx, &sesv2.ListEmailIdentitiesInput{Filter: map[string]string{"IDENTITY_TYPE": "DOMAIN"}})
	if err != nil || len(ids.EmailIdentities) != 1 || aws.ToString(ids.EmailIdentities[0].IdentityName) != "example.org" {
		t.Errorf("ListEmailIdentities of domains: %+v, %v", ids, err)
	}

	simple, err := c.SendEmail(ctx, &sesv2.SendEmailInput{FromEmailAddress: aws.String("Sender <sender@example.com>"),
		Destination: &types.Destination{ToAddresses: []string{"a@example.net"}, BccAddresses: []string{"b@example.net"}},
		Content: &types.EmailContent{Simple: &types.Message{Subject: &types.Content{Data: aws.String("Simple")},
			Body: &types.Body{Text: &types.Content{Data: aws.String("hello")}}}}})
	if err != nil {
		t.Fatalf("SendEmail simple: %v", err)
	}
	raw, err := c.SendEmail(ctx, &sesv2.SendEmailInput{Content: &types.EmailContent{Raw: &types.RawMessage{
		Data: []byte("From: robot@example.org\r\nTo: c@example.net\r\nSubject: Raw\r\n\r\nraw body\r\n")}}})
	if err != nil {
		t.Fatalf("SendEmail raw: %v", err)
	}
	outbox := p.pb.outbox(t, p.w.folderB)
	if m := outbox[aws.ToString(simple.MessageId)]; fmt.Sprint(m["Recipients"]) != "[a@example.net b@example.net]" {
		t.Errorf("simple message: %v", m)
	}
	if m := outbox[aws.ToString(raw.MessageId)]; fmt.Sprint(m["Recipients"]) != "[c@example.net]" || str(m, "FromEmailAddress") != "robot@example.org" {
		t.Errorf("raw message: %v", m)
	}
	for what, in := range map[string]*sesv2.SendEmailInput{
		"no recipient":    {FromEmailAddress: aws.String("sender@example.com"), Content: &types.EmailContent{Raw: &types.RawMessage{Data: []byte("Subject: x\r\n\r\nx")}}},
		"a template":      {FromEmailAddress: aws.String("sender@example.com"), Destination: &types.Destination{ToAddresses: []string{"a@example.net"}}, Content: &types.EmailContent{Template: &types.Template{TemplateName: aws.String("t")}}},
		"a bad recipient": {FromEmailAddress: aws.String("sender@example.com"), Destination: &types.Destination{ToAddresses: []string{"not an address"}}, Content: &types.EmailContent{Raw: &types.RawMessage{Data: []byte("Subject: x\r\n\r\nx")}}},
	} {
		if _, err := c.SendEmail(ctx, in); code(err) != "BadRequestException" {
			t.Errorf("SendEmail with %s: %v, want BadRequestException", what, err)
		}
	}
	if len(p.pb.outbox(t, p.w.folderB)) != 2 {
		t.Errorf("refused messages reached the outbox: %v", p.pb.outbox(t, p.w.folderB))
	}
	if _, err := c.DeleteEmailIdentity(ctx, &sesv2.DeleteEmailIdentityInput{EmailIdentity: aws.String("sender@example.com")}); err != nil {
		t.Errorf("DeleteEmailIdentity: %v", err)
	}
	_, err = c.SendEmail(ctx, &sesv2.SendEmailInput{FromEmailAddress: aws.String("sender@example.com"),
		Destination: &types.Destination{ToAddresses: []string{"a@example.net"}}, Content: &types.EmailContent{Raw: &types.RawMessage{Data: []byte("Subject: x\r\n\r\nx")}}})
	if got := code(err); got != "MessageRejected" {
		t.Errorf("SendEmail from a deleted identity: %q", got)
	}
}

// TestAttackPostboxUnsignedFolder: a SigV4 request captured in flight
// (valid for 15 minutes) and replayed with an X-Folder-Id header its
// signature does not cover is refused, so the replay cannot be aimed at
// another folder its signer may use; a signed X-Folder-Id is honoured.
func TestAttackPostboxUnsignedFolder(t *testing.T) {
	p := newPostboxWorld(t, "postbox.viewer")
	p.w.bind(t, "/resource-manager/v1/folders/"+p.w.folderA, "ADD", "postbox.viewer", "serviceAccount", p.w.robot)
	p.createSet(t, p.w.folderA, "secret-set-in-a")
	sign := func(folder string, addAfter bool) *http.Request {
		req, _ := http.NewRequest("GET", p.pb.url+"/v2/email/configuration-sets", nil)
		if folder != "" && !addAfter {
			req.Header.Set(postbox.FolderHeader, folder)
		}
		sum := sha256.Sum256(nil)
		creds := aws.Credentials{AccessKeyID: p.keyID, SecretAccessKey: p.secret}
		if err := v4.NewSigner().SignHTTP(context.Background(), creds, req, hex.EncodeToString(sum[:]), sesService, sesRegion, time.Now()); err != nil {
			t.Fatal(err)
		}
		if addAfter {
			req.Header.Set(postbox.FolderHeader, folder)
		}
		return req
	}
	if st, code := do(t, sign(p.w.folderA, true)); st != 400 || code != "BadRequestException" {
		t.Errorf("replayed with an unsigned %s: %d %s, want 400 BadRequestException", postbox.FolderHeader, st, code)
	}
	if st, code := do(t, sign(p.w.folderA, false)); st != 200 {
		t.Errorf("a signed %s: %d %s", postbox.FolderHeader, st, code)
	}
	if st, code := do(t, sign("", false)); st != 200 {
		t.Errorf("no %s (the robot's folder): %d %s", postbox.FolderHeader, st, code)
	}
}
