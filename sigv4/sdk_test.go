package sigv4_test

import (
	"bytes"
	"context"
	"crypto/sha256"
	"encoding/hex"
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
	"net/url"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	v4 "github.com/aws/aws-sdk-go-v2/aws/signer/v4"

	"warden/sigv4"
)

// Real clients: requests signed by aws-sdk-go-v2's own signer, sent over
// HTTP to a net/http server that verifies them with FromHTTP and Verify, as
// a resource service does.

const (
	sdkKeyID  = "WDNEXAMPLEKEYID00001"
	sdkSecret = "sdkSecretAccessKey0123456789abcdefghijkl"
	sdkToken  = "session-token-of-an-ephemeral-key"
	sdkRegion = "ru-central1"
)

var sdkTime = time.Date(2026, 3, 14, 15, 9, 26, 0, time.UTC)

// sdkServer verifies every request it receives and answers the reason of a
// refusal (or "ok") in the body.
type sdkServer struct {
	*httptest.Server
	mu     sync.Mutex
	now    time.Time
	expect sigv4.Expect
	last   sigv4.Result
}

func newSDKServer(t *testing.T, expect sigv4.Expect) *sdkServer {
	t.Helper()
	s := &sdkServer{now: sdkTime, expect: expect}
	v, err := sigv4.New(sigv4.Config{
		Keys: sigv4.KeysFunc(func(c sigv4.Credential) (sigv4.SigningKey, error) {
			if c.AccessKeyID != sdkKeyID {
				return sigv4.SigningKey{}, sigv4.Refuse(sigv4.InvalidAccessKeyID, "unknown key")
			}
			if c.SessionToken != "" && c.SessionToken != sdkToken {
				return sigv4.SigningKey{}, sigv4.Refuse(sigv4.InvalidToken, "unknown token")
			}
			return sigv4.DeriveSigningKey([]byte(sdkSecret), c.Date, c.Region, c.Service), nil
		}),
		Now: func() time.Time { s.mu.Lock(); defer s.mu.Unlock(); return s.now },
	})
	if err != nil {
		t.Fatal(err)
	}
	s.Server = httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		body, err := io.ReadAll(r.Body)
		if err != nil {
			http.Error(w, err.Error(), http.StatusBadRequest)
			return
		}
		sum := sha256.Sum256(body)
		bodyHash := hex.EncodeToString(sum[:])
		if s.expect.Service == "s3" {
			// An S3 service streams bodies: it checks the body against
			// x-amz-content-sha256 afterwards rather than hashing first.
			bodyHash = ""
		}
		req := sigv4.FromHTTP(r, bodyHash)
		res, err := v.Verify(&req, s.expect)
		if reason, ok := sigv4.ReasonOf(err); ok {
			http.Error(w, reason.Code(), reason.HTTPStatus())
			return
		}
		if err != nil {
			http.Error(w, err.Error(), http.StatusInternalServerError)
			return
		}
		s.mu.Lock()
		s.last = res
		s.mu.Unlock()
		fmt.Fprint(w, "ok")
	}))
	t.Cleanup(s.Close)
	return s
}

func (s *sdkServer) setNow(now time.Time) {
	s.mu.Lock()
	s.now = now
	s.mu.Unlock()
}

func (s *sdkServer) do(t *testing.T, r *http.Request) string {
	t.Helper()
	resp, err := http.DefaultClient.Do(r)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	b, err := io.ReadAll(resp.Body)
	if err != nil {
		t.Fatal(err)
	}
	return strings.TrimSpace(string(b))
}

type sdkCase struct {
	name    string
	method  string
	path    string // escaped path and query, as the SDK's serializer writes them
	body    string
	headers map[string]string
}

var sdkCases = []sdkCase{
	{name: "get", method: "GET", path: "/v2/email/configuration-sets"},
	{name: "get with query", method: "GET", path: "/v2/email/configuration-sets?NextToken=a%2Fb%2Bc%3D&PageSize=10&empty="},
	{name: "post json", method: "POST", path: "/v2/email/outbound-emails", body: `{"Content":{"Simple":{"Subject":{"Data":"hi"}}}}`, headers: map[string]string{"Content-Type": "application/json"}},
	{name: "put with metadata", method: "PUT", path: "/bucket/dir/a%20key%2Bwith%24odd~chars", body: "hello, world", headers: map[string]string{"X-Amz-Meta-Owner": "  alice   and  bob ", "Content-Type": "text/plain"}},
	{name: "delete with query", method: "DELETE", path: "/bucket/key?versionId=3%2F4&x-id=DeleteObject"},
	{name: "utf-8 path", method: "GET", path: "/bucket/%D0%BF%D1%80%D0%B8%D0%B2%D0%B5%D1%82.txt"},
	{name: "repeated query key", method: "GET", path: "/bucket?tag=b&tag=a&list-type=2"},
}

// newSDKRequest builds the request the SDK would send for c to the server.
func newSDKRequest(t *testing.T, srv *sdkServer, c sdkCase) *http.Request {
	t.Helper()
	var body io.Reader
	if c.body != "" {
		body = strings.NewReader(c.body)
	}
	r, err := http.NewRequestWithContext(context.Background(), c.method, srv.URL+c.path, body)
	if err != nil {
		t.Fatal(err)
	}
	for k, v := range c.headers {
		r.Header.Set(k, v)
	}
	return r
}

func payloadOf(body string) string {
	sum := sha256.Sum256([]byte(body))
	return hex.EncodeToString(sum[:])
}

// sdkSign signs r in header form as the SDK's service clients do: S3
// sends x-amz-content-sha256 and keeps the path as is, other services
// (SES) send neither.
func sdkSign(t *testing.T, r *http.Request, service, body string, creds aws.Credentials) {
	t.Helper()
	payload := payloadOf(body)
	opts := func(o *v4.SignerOptions) {}
	if service == "s3" {
		r.Header.Set("X-Amz-Content-Sha256", payload)
		opts = func(o *v4.SignerOptions) { o.DisableURIPathEscaping = true }
	}
	if err := v4.NewSigner().SignHTTP(context.Background(), creds, r, payload, service, sdkRegion, sdkTime, opts); err != nil {
		t.Fatal(err)
	}
}

var (
	staticCreds    = aws.Credentials{AccessKeyID: sdkKeyID, SecretAccessKey: sdkSecret}
	ephemeralCreds = aws.Credentials{AccessKeyID: sdkKeyID, SecretAccessKey: sdkSecret, SessionToken: sdkToken}
)

// TestSDKHeaderSigned verifies requests signed in header form by
// aws-sdk-go-v2 for S3 and for SES (service "ses"), with and without a body
// (the SDK signs content-length when there is one), with a static and an
// ephemeral key.
func TestSDKHeaderSigned(t *testing.T) {
	for _, service := range []string{"s3", "ses"} {
		srv := newSDKServer(t, sigv4.Expect{Region: sdkRegion, Service: service})
		for _, creds := range []aws.Credentials{staticCreds, ephemeralCreds} {
			for _, c := range sdkCases {
				t.Run(fmt.Sprintf("%s/%s/token=%v", service, c.name, creds.SessionToken != ""), func(t *testing.T) {
					r := newSDKRequest(t, srv, c)
					sdkSign(t, r, service, c.body, creds)
					if got := srv.do(t, r); got != "ok" {
						t.Fatalf("verify: %s\nAuthorization: %s", got, r.Header.Get("Authorization"))
					}
					srv.mu.Lock()
					res := srv.last
					srv.mu.Unlock()
					if c.body != "" && !strings.Contains(res.SignedHeaders, "content-length") {
						t.Errorf("SignedHeaders %q: the SDK signs content-length", res.SignedHeaders)
					}
					if res.Credential.SessionToken != creds.SessionToken || res.PayloadHash != payloadOf(c.body) {
						t.Errorf("result = %+v", res)
					}
				})
			}
		}
	}
}

// TestSDKPresigned verifies URLs presigned by aws-sdk-go-v2: S3 GET and PUT
// (UNSIGNED-PAYLOAD, as the S3 presign client signs) and an SES-style GET,
// and refuses them once expired.
func TestSDKPresigned(t *testing.T) {
	for _, service := range []string{"s3", "ses"} {
		srv := newSDKServer(t, sigv4.Expect{Region: sdkRegion, Service: service})
		for _, creds := range []aws.Credentials{staticCreds, ephemeralCreds} {
			for _, c := range sdkCases {
				if service == "ses" && c.body != "" {
					continue
				}
				t.Run(fmt.Sprintf("%s/%s/token=%v", service, c.name, creds.SessionToken != ""), func(t *testing.T) {
					srv.setNow(sdkTime)
					u := sdkPresign(t, srv, c, service, creds, 15*time.Minute)
					if creds.SessionToken != "" && !strings.Contains(u, "X-Amz-Security-Token=") {
						t.Fatalf("presigned URL carries no token: %s", u)
					}
					if got := srv.do(t, presignedRequest(t, c, u)); got != "ok" {
						t.Fatalf("verify: %s\n%s", got, u)
					}
					srv.setNow(sdkTime.Add(15*time.Minute + time.Second))
					if got := srv.do(t, presignedRequest(t, c, u)); got != "AccessDenied" {
						t.Fatalf("expired URL: %s, want AccessDenied", got)
					}
				})
			}
		}
	}
}

func sdkPresign(t *testing.T, srv *sdkServer, c sdkCase, service string, creds aws.Credentials, expires time.Duration) string {
	t.Helper()
	r := newSDKRequest(t, srv, c)
	q := r.URL.Query()
	q.Set("X-Amz-Expires", fmt.Sprint(int(expires/time.Second)))
	r.URL.RawQuery = strings.ReplaceAll(q.Encode(), "+", "%20")
	payload := payloadOf("")
	opts := func(o *v4.SignerOptions) {}
	if service == "s3" {
		payload = sigv4.UnsignedPayload
		opts = func(o *v4.SignerOptions) { o.DisableURIPathEscaping = true }
	}
	u, _, err := v4.NewSigner().PresignHTTP(context.Background(), creds, r, payload, service, sdkRegion, sdkTime, opts)
	if err != nil {
		t.Fatal(err)
	}
	return u
}

// presignedRequest is what a browser or curl does with a presigned URL:
// the URL, the body, no SDK.
func presignedRequest(t *testing.T, c sdkCase, u string) *http.Request {
	t.Helper()
	r, err := http.NewRequestWithContext(context.Background(), c.method, u, bytes.NewReader([]byte(c.body)))
	if err != nil {
		t.Fatal(err)
	}
	if c.body == "" {
		r.Body, r.ContentLength = nil, 0
	}
	for k, v := range c.headers {
		r.Header.Set(k, v)
	}
	return r
}

// TestAttackSDKRequestTampering changes an SDK-signed request on the way —
// path, query, method, a signed header, the body, an added x-amz-* header,
// a stale or future clock, another region — and requires the refusal AWS
// would give.
func TestAttackSDKRequestTampering(t *testing.T) {
	put := sdkCase{method: "PUT", path: "/bucket/key?acl=private", body: "payload", headers: map[string]string{"X-Amz-Acl": "private"}}
	cases := []struct {
		name    string
		service string
		change  func(r *http.Request, s *sdkServer)
		want    string
	}{
		{"path", "s3", func(r *http.Request, _ *sdkServer) { r.URL.Path, r.URL.RawPath = "/bucket/other", "" }, "SignatureDoesNotMatch"},
		{"escaped path", "s3", func(r *http.Request, _ *sdkServer) { r.URL.Path, r.URL.RawPath = "/bucket/k y", "/bucket/k%20y" }, "SignatureDoesNotMatch"},
		// S3 decodes the path before it signs it again: the same key
		// escaped otherwise is the same request.
		{"same key escaped otherwise", "s3", func(r *http.Request, _ *sdkServer) { r.URL.RawPath = "/bucket/k%65y" }, "ok"},
		{"query", "s3", func(r *http.Request, _ *sdkServer) { r.URL.RawQuery = "acl=public-read" }, "SignatureDoesNotMatch"},
		{"query added", "s3", func(r *http.Request, _ *sdkServer) { r.URL.RawQuery += "&x=1" }, "SignatureDoesNotMatch"},
		{"method", "s3", func(r *http.Request, _ *sdkServer) { r.Method = "POST" }, "SignatureDoesNotMatch"},
		{"signed header", "s3", func(r *http.Request, _ *sdkServer) { r.Header.Set("X-Amz-Acl", "public-read") }, "SignatureDoesNotMatch"},
		{"signed header removed", "s3", func(r *http.Request, _ *sdkServer) { r.Header.Del("Content-Type") }, "SignatureDoesNotMatch"},
		{"unsigned x-amz header added", "s3", func(r *http.Request, _ *sdkServer) { r.Header.Set("X-Amz-Grant-Full-Control", "id=eve") }, "AccessDenied"},
		{"host", "s3", func(r *http.Request, _ *sdkServer) { r.Host = "elsewhere.example" }, "SignatureDoesNotMatch"},
		{"body (S3: against x-amz-content-sha256)", "s3", func(r *http.Request, _ *sdkServer) {
			r.Header.Set("X-Amz-Content-Sha256", payloadOf("PAYLOAD"))
			r.Body, r.ContentLength = io.NopCloser(strings.NewReader("PAYLOAD")), 7
		}, "SignatureDoesNotMatch"},
		{"body (SES: hashed by the service)", "ses", func(r *http.Request, _ *sdkServer) {
			r.Body, r.ContentLength = io.NopCloser(strings.NewReader("PAYLOAD")), 7
		}, "SignatureDoesNotMatch"},
		{"x-amz-content-sha256 added unsigned", "ses", func(r *http.Request, _ *sdkServer) {
			r.Header.Set("X-Amz-Content-Sha256", payloadOf("something else"))
		}, "AccessDenied"},
		{"clock 16 minutes ahead", "s3", func(_ *http.Request, s *sdkServer) { s.setNow(sdkTime.Add(16 * time.Minute)) }, "RequestTimeTooSkewed"},
		{"clock 16 minutes behind", "s3", func(_ *http.Request, s *sdkServer) { s.setNow(sdkTime.Add(-16 * time.Minute)) }, "RequestTimeTooSkewed"},
		{"clock 14 minutes ahead", "s3", func(_ *http.Request, s *sdkServer) { s.setNow(sdkTime.Add(14 * time.Minute)) }, "ok"},
		{"another region", "s3", func(_ *http.Request, s *sdkServer) { s.expect.Region = "us-east-1" }, "AuthorizationHeaderMalformed"},
		{"another service", "s3", func(_ *http.Request, s *sdkServer) { s.expect.Service = "ses" }, "AuthorizationHeaderMalformed"},
		{"unchanged", "s3", func(*http.Request, *sdkServer) {}, "ok"},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			srv := newSDKServer(t, sigv4.Expect{Region: sdkRegion, Service: c.service})
			r := newSDKRequest(t, srv, put)
			r.Header.Set("Content-Type", "text/plain")
			sdkSign(t, r, c.service, put.body, staticCreds)
			c.change(r, srv)
			if got := srv.do(t, r); got != c.want {
				t.Fatalf("got %s, want %s", got, c.want)
			}
		})
	}
}

// TestAttackContentSHA256Mismatch: a client that signs one body hash and
// sends another body is refused with the code S3 uses, even when the
// signature over the claimed hash is right.
func TestAttackContentSHA256Mismatch(t *testing.T) {
	srv := newSDKServer(t, sigv4.Expect{Region: sdkRegion, Service: "ses"})
	r := newSDKRequest(t, srv, sdkCase{method: "POST", path: "/v2/email/outbound-emails", body: "the real body"})
	claimed := payloadOf("another body")
	r.Header.Set("X-Amz-Content-Sha256", claimed)
	if err := v4.NewSigner().SignHTTP(context.Background(), staticCreds, r, claimed, "ses", sdkRegion, sdkTime); err != nil {
		t.Fatal(err)
	}
	if got := srv.do(t, r); got != "XAmzContentSHA256Mismatch" {
		t.Fatalf("got %s, want XAmzContentSHA256Mismatch", got)
	}
}

// TestAttackPresignedURLTampering: a presigned URL whose query was changed,
// which is used after it expired or before it is valid, or which asks for
// more than seven days, is refused.
func TestAttackPresignedURLTampering(t *testing.T) {
	get := sdkCase{method: "GET", path: "/bucket/key"}
	srv := newSDKServer(t, sigv4.Expect{Region: sdkRegion, Service: "s3"})
	good := sdkPresign(t, srv, get, "s3", staticCreds, time.Hour)
	cases := []struct {
		name string
		url  string
		now  time.Time
		want string
	}{
		{"unchanged", good, sdkTime, "ok"},
		{"longer expiry", strings.Replace(good, "X-Amz-Expires=3600", "X-Amz-Expires=7200", 1), sdkTime, "SignatureDoesNotMatch"},
		{"other object", strings.Replace(good, "/bucket/key", "/bucket/kez", 1), sdkTime, "SignatureDoesNotMatch"},
		{"parameter added", good + "&response-content-type=text%2Fhtml", sdkTime, "SignatureDoesNotMatch"},
		{"signature repeated", good + "&X-Amz-Signature=" + strings.Repeat("0", 64), sdkTime, "AuthorizationQueryParametersError"},
		{"expired", good, sdkTime.Add(time.Hour + time.Second), "AccessDenied"},
		{"too early", good, sdkTime.Add(-16 * time.Minute), "AccessDenied"},
		{"early within the skew", good, sdkTime.Add(-14 * time.Minute), "ok"},
		{"eight days", sdkPresign(t, srv, get, "s3", staticCreds, 8*24*time.Hour), sdkTime, "AuthorizationQueryParametersError"},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			srv.setNow(c.now)
			if got := srv.do(t, presignedRequest(t, get, c.url)); got != c.want {
				t.Fatalf("got %s, want %s\n%s", got, c.want, c.url)
			}
		})
	}
	// The header and query forms at once are refused, as AWS refuses them.
	srv.setNow(sdkTime)
	r := presignedRequest(t, get, good)
	sdkSign(t, r, "s3", "", staticCreds)
	if got := srv.do(t, r); got != "InvalidRequest" {
		t.Fatalf("both forms: %s, want InvalidRequest", got)
	}
	if _, err := url.Parse(good); err != nil {
		t.Fatal(err)
	}
}
