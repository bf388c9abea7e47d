package e2e

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/sesv2"
	"github.com/aws/smithy-go"

	"warden/accessclient"
	"warden/server"
)

// awsKey is what an AWS client is configured with: a static key has no
// session token.
type awsKey struct {
	name, id, secret, session string
}

func (k awsKey) withSecret(secret string) awsKey {
	k.name, k.secret = k.name+" with a wrong secret", secret
	return k
}

func (k awsKey) credentials() aws.CredentialsProvider {
	return aws.CredentialsProviderFunc(func(context.Context) (aws.Credentials, error) {
		return aws.Credentials{AccessKeyID: k.id, SecretAccessKey: k.secret, SessionToken: k.session}, nil
	})
}

// storageRoles is how an operator adds an S3-compatible service's roles.
const storageRoles = `{"roles": [
  {"id": "storage.viewer", "description": "Reads objects.", "permissions": ["storage.objects.get"]},
  {"id": "storage.uploader", "description": "Reads and writes objects.", "includes": ["storage.viewer"], "permissions": ["storage.objects.put"]}
]}`

// awsWorld is a wardend on a test clock, a service account holding
// postbox.editor on its folder (B) and storage.uploader on folder A, its
// static key, an ephemeral key, an ephemeral key that has expired, Postbox
// (with a configuration set "default" in folder B) and the S3 stub, both
// checking every request with the access service.
type awsWorld struct {
	n              *node
	w              *world
	clk            *clock
	ses            *postboxServer
	s3             *s3Stub
	keyResourceID  string
	static, eph    awsKey
	expired        awsKey
	wrongSecret    string
	wardenEndpoint string
}

func newAWSWorld(t *testing.T) *awsWorld {
	t.Helper()
	roles := filepath.Join(t.TempDir(), "roles.json")
	if err := os.WriteFile(roles, []byte(storageRoles), 0o600); err != nil {
		t.Fatal(err)
	}
	// The clients sign with the real time. The server starts 20 minutes
	// back to mint an ephemeral key that has expired by now, then is set
	// to now.
	clk := &clock{t: time.Now().Add(-20 * time.Minute)}
	n := start(t, t.TempDir(), "", withClock(clk), func(c *server.Config) { c.RolesFiles = []string{roles} })
	w := newWorld(t, n)
	w.bind(t, "/resource-manager/v1/folders/"+w.folderB, "ADD", "postbox.editor", "serviceAccount", w.robot)
	w.bind(t, "/resource-manager/v1/folders/"+w.folderA, "ADD", "storage.uploader", "serviceAccount", w.robot)
	a := &awsWorld{n: n, w: w, clk: clk, wrongSecret: strings.Repeat("W", 40), wardenEndpoint: "http://" + n.addr}
	r := n.rest("POST", "/iam/aws-compatibility/v1/accessKeys", w.admin, map[string]any{"serviceAccountId": w.robot, "description": "real clients"})
	if r.status != 200 {
		t.Fatalf("create access key: %s", r.raw)
	}
	a.keyResourceID = str(r.body, "accessKey", "id")
	a.static = awsKey{name: "static key", id: str(r.body, "accessKey", "keyId"), secret: str(r.body, "secret")}
	a.expired = a.ephemeral(t, "expired ephemeral key", "900s")
	clk.advance(time.Since(clk.now()))
	a.eph = a.ephemeral(t, "ephemeral key", "3600s")
	a.ses = startPostbox(t, n)
	(&postboxWorld{n: n, w: w, pb: a.ses}).createSet(t, w.folderB, "default")
	a.s3 = newS3Stub(t, a.wardenEndpoint, w.folderA)
	return a
}

// ephemeral creates an ephemeral key for the robot, as an operator would
// for a CI job.
func (a *awsWorld) ephemeral(t *testing.T, name, duration string) awsKey {
	t.Helper()
	r := a.n.rest("POST", "/iam/aws-compatibility/v1/ephemeralAccessKeys", a.w.admin,
		map[string]any{"subjectId": a.w.robot, "sessionName": "e2e-" + strings.ReplaceAll(name, " ", "-"), "duration": duration})
	if r.status != 200 {
		t.Fatalf("create %s: %d %s", name, r.status, r.raw)
	}
	return awsKey{name: name, id: str(r.body, "accessKeyId"), secret: str(r.body, "secret"), session: str(r.body, "sessionToken")}
}

// suspend suspends or reactivates the robot.
func (a *awsWorld) suspend(t *testing.T, suspended bool) {
	t.Helper()
	verb := ":reactivate"
	if suspended {
		verb = ":suspend"
	}
	if r := a.n.rest("POST", "/iam/v1/serviceAccounts/"+a.w.robot+verb, a.w.admin, map[string]any{}); r.status != 200 {
		t.Fatalf("%s: %d %s", verb, r.status, r.raw)
	}
}

// awsCall is one operation of a real AWS client with a key; it returns the
// AWS error code the client reports, "" on success. It fails the test on
// any other error (a transport failure, a wrong result).
type awsCall struct {
	name string
	call func(t *testing.T, k awsKey) string
}

// apiCode returns the AWS error code inside a client error; it fails the
// test for an error that carries none.
func apiCode(t *testing.T, what string, err error) string {
	t.Helper()
	if err == nil {
		return ""
	}
	var ae smithy.APIError
	if !errors.As(err, &ae) {
		t.Fatalf("%s: no AWS error code in %v", what, err)
	}
	return ae.ErrorCode()
}

// runRefusals drives every call through the refusals the issue lists,
// each with the static and the ephemeral key, in an order that leaves the
// world usable until the last step deletes the key and the account.
func (a *awsWorld) runRefusals(t *testing.T, calls []awsCall, presigned map[string]bool) {
	expect := func(step string, k awsKey, want string) {
		t.Helper()
		for _, c := range calls {
			if got := c.call(t, k); got != want {
				t.Errorf("%s, %s, %s: got %q, want %q", c.name, k.name, step, got, want)
			}
		}
	}
	// shifted moves the server clock by d and expects want of a
	// header-signed call, wantPresigned of a presigned URL.
	shifted := func(step string, d time.Duration, want, wantPresigned string) {
		t.Helper()
		a.clk.advance(d)
		defer a.clk.advance(-d)
		for _, k := range []awsKey{a.static, a.eph} {
			for _, c := range calls {
				w := want
				if presigned[c.name] {
					w = wantPresigned
				}
				if got := c.call(t, k); got != w {
					t.Errorf("%s, %s, %s: got %q, want %q", c.name, k.name, step, got, w)
				}
			}
		}
	}
	for _, k := range []awsKey{a.static, a.eph} {
		expect("signed", k, "")
		expect("signed", k.withSecret(a.wrongSecret), "SignatureDoesNotMatch")
	}
	// Presigned URLs are valid for a minute: two minutes on, they have
	// expired, while a request signed now is still in time. A presigned
	// URL's date is no request time: 16 minutes ahead it has expired, 16
	// minutes behind it is not valid yet (AccessDenied either way).
	shifted("2 minutes later", 2*time.Minute, "", "AccessDenied")
	shifted("server clock 16 minutes ahead", 16*time.Minute, "RequestTimeTooSkewed", "AccessDenied")
	shifted("server clock 16 minutes behind", -16*time.Minute, "RequestTimeTooSkewed", "AccessDenied")
	expect("after expiry", a.expired, "ExpiredToken")

	a.suspend(t, true)
	expect("account suspended", a.static, "InvalidAccessKeyId")
	expect("account suspended", a.eph, "InvalidAccessKeyId")
	a.suspend(t, false)
	expect("account reactivated", a.static, "")
	expect("account reactivated", a.eph, "")

	if r := a.n.rest("DELETE", "/iam/aws-compatibility/v1/accessKeys/"+a.keyResourceID, a.w.admin, nil); r.status != 200 {
		t.Fatalf("delete the access key: %s", r.raw)
	}
	expect("key deleted", a.static, "InvalidAccessKeyId")
	expect("another key deleted", a.eph, "")
	if r := a.n.rest("DELETE", "/iam/v1/serviceAccounts/"+a.w.robot, a.w.admin, nil); r.status != 200 {
		t.Fatalf("delete the account: %s", r.raw)
	}
	expect("account deleted", a.eph, "InvalidAccessKeyId")
}

// TestSigV4SDKClients: aws-sdk-go-v2's own sesv2 and s3 clients (not just
// its signer), pointed at Postbox and the S3 stub with BaseEndpoint, succeed with a
// static and an ephemeral key and print Warden's AWS error code for a
// wrong secret, a clock 16 minutes off either way, an expired ephemeral
// key, a suspended account, a deleted key and a deleted account. S3
// presigned GET and PUT URLs go through the same refusals, an expired URL
// included.
func TestSigV4SDKClients(t *testing.T) {
	a := newAWSWorld(t)
	ctx := context.Background()
	ses := func(k awsKey) *sesv2.Client {
		return sesv2.New(sesv2.Options{Region: sesRegion, BaseEndpoint: aws.String(a.ses.url), Credentials: k.credentials(), Retryer: aws.NopRetryer{}})
	}
	created := 0
	calls := []awsCall{
		{"sesv2 ListConfigurationSets", func(t *testing.T, k awsKey) string {
			out, err := ses(k).ListConfigurationSets(ctx, &sesv2.ListConfigurationSetsInput{})
			if err == nil && !slices.Contains(out.ConfigurationSets, "default") {
				t.Errorf("ListConfigurationSets: %v", out.ConfigurationSets)
			}
			return apiCode(t, "ListConfigurationSets", err)
		}},
		{"sesv2 CreateConfigurationSet", func(t *testing.T, k awsKey) string {
			name := fmt.Sprintf("created-%d", created)
			_, err := ses(k).CreateConfigurationSet(ctx, &sesv2.CreateConfigurationSetInput{ConfigurationSetName: aws.String(name)})
			if err == nil {
				created++
				if _, err := os.Stat(filepath.Join(a.ses.dataDir, "folders", a.w.folderB, "configuration-sets", name+".json")); err != nil {
					t.Errorf("CreateConfigurationSet succeeded but %q is not there", name)
				}
			}
			return apiCode(t, "CreateConfigurationSet", err)
		}},
	}
	calls = append(calls, a.s3.sdkCalls(ctx)...)
	presigned := map[string]bool{}
	for _, c := range a.s3.presignedCalls(ctx) {
		calls = append(calls, c)
		presigned[c.name] = true
	}
	a.runRefusals(t, calls, presigned)
	if created == 0 {
		t.Error("no configuration set was created")
	}
}

// admitted answers a refused or denied request with fail and reports
// whether the request may go on; a refusal carries Warden's AWS error code,
// a denial the service's own (denied).
func admitted(w http.ResponseWriter, d *accessclient.Decision, err error, fail func(http.ResponseWriter, int, string), denied string) bool {
	var e *accessclient.Error
	switch {
	case errors.As(err, &e) && e.Code == 16 && e.Reason != "":
		fail(w, awsStatus(e.Reason), e.Reason)
	case errors.As(err, &e) && e.Code == 16:
		fail(w, http.StatusForbidden, "InvalidClientTokenId")
	case err != nil:
		fail(w, http.StatusServiceUnavailable, "ServiceUnavailable")
	case len(d.Allowed) == 0 || !d.Allowed[0]:
		fail(w, http.StatusForbidden, denied)
	default:
		return true
	}
	return false
}

// awsStatus is the HTTP status AWS answers an error code with.
func awsStatus(code string) int {
	switch code {
	case "ExpiredToken", "InvalidToken", "InvalidRequest", "IncompleteBody", "AuthorizationHeaderMalformed",
		"AuthorizationQueryParametersError", "XAmzContentSHA256Mismatch":
		return http.StatusBadRequest
	}
	return http.StatusForbidden
}

// seed000 is the static-key request of seed 000 (Postbox's "API
// authentication" page), verbatim, placeholders included.
const seed000 = `export AWS_KEY_ID="<идентификатор_статического_ключа>" && \
export AWS_SECRET_KEY="<секретный_ключ>" && \
curl \
   --request GET \
   --user "${AWS_KEY_ID}:${AWS_SECRET_KEY}" \
   --aws-sigv4 "aws:amz:{{ region-id }}:ses" \
   --url '{{ postbox-endpoint }}/v2/email/configuration-sets' \
   --verbose
`

// seed000Path is where seed 000 lies: shared/ is beside the checkout.
const seed000Path = "../../shared/seeds/000_334187dc2d9267c4.txt"

// TestSigV4CurlSeed000: seed 000's curl command, run by /usr/bin/curl
// (--aws-sigv4, curl ≥ 7.75) through bash as a user pastes it, with the
// placeholders filled in: the static key lists configuration sets through
// Postbox, and curl shows the AWS error code (x-amzn-ErrorType) of
// every refusal. An ephemeral key needs one more line, which the seed
// does not have: --header "x-amz-security-token: …", for curl signs the
// x-amz-* headers it sends but has no option for a session token.
func TestSigV4CurlSeed000(t *testing.T) {
	out, err := exec.Command("/usr/bin/curl", "--version").Output()
	if err != nil {
		t.Skipf("/usr/bin/curl: %v", err)
	}
	var major, minor int
	if fmt.Sscanf(string(out), "curl %d.%d", &major, &minor); major < 7 || major == 7 && minor < 75 {
		t.Skipf("curl %d.%d has no --aws-sigv4 (7.75 and later have)", major, minor)
	}
	if b, err := os.ReadFile(seed000Path); err == nil {
		// The command as the seed prints it: a list item, indented four.
		if !strings.Contains(strings.ReplaceAll(string(b), "\n    ", "\n"), "\n"+seed000) {
			t.Fatalf("seed000 is not seed 000's command any more: compare with %s", seed000Path)
		}
	} else {
		t.Logf("seed 000 not found (%v): using the copy in this file", err)
	}
	a := newAWSWorld(t)
	curl := func(t *testing.T, k awsKey) string {
		t.Helper()
		script := strings.NewReplacer(
			"<идентификатор_статического_ключа>", k.id, "<секретный_ключ>", k.secret,
			"{{ region-id }}", sesRegion, "{{ postbox-endpoint }}", a.ses.url,
		).Replace(seed000)
		if k.session != "" {
			script = strings.Replace(script, "   --verbose\n", "   --header \"x-amz-security-token: ${AWS_SESSION_TOKEN}\" \\\n   --verbose\n", 1)
		}
		cmd := exec.Command("/bin/bash", "-c", script)
		cmd.Env = []string{"PATH=/usr/bin:/bin", "AWS_SESSION_TOKEN=" + k.session}
		var stdout, stderr bytes.Buffer
		cmd.Stdout, cmd.Stderr = &stdout, &stderr
		if err := cmd.Run(); err != nil {
			t.Fatalf("curl: %v\n%s", err, stderr.String())
		}
		status, code := curlAnswer(stderr.String())
		switch {
		case status == "200" && strings.Contains(stdout.String(), `"default"`):
			return ""
		case status != "200" && code != "":
			return code
		}
		t.Fatalf("curl: HTTP %s %q\n%s", status, stdout.String(), stderr.String())
		return ""
	}
	// Without the extra header an ephemeral key is refused, with the code
	// that says why.
	noToken := a.eph
	noToken.name, noToken.session = "ephemeral key without its session token", ""
	if got := curl(t, noToken); got != "InvalidToken" {
		t.Errorf("curl with an ephemeral key and no session token: %q, want InvalidToken", got)
	}
	a.runRefusals(t, []awsCall{{"curl (seed 000)", curl}}, nil)
}

// curlAnswer reads the status and x-amzn-ErrorType of the answer from
// curl --verbose's trace.
func curlAnswer(trace string) (status, code string) {
	for _, line := range strings.Split(trace, "\n") {
		line = strings.TrimSpace(line)
		if rest, ok := strings.CutPrefix(line, "< HTTP/"); ok {
			if _, s, ok := strings.Cut(rest, " "); ok {
				status, _, _ = strings.Cut(s, " ")
			}
		}
		if name, value, ok := strings.Cut(strings.TrimPrefix(line, "< "), ":"); ok && strings.HasPrefix(line, "< ") && strings.EqualFold(name, "x-amzn-ErrorType") {
			code = strings.TrimSpace(value)
		}
	}
	return status, code
}
