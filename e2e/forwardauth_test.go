package e2e

import (
	"context"
	"errors"
	"net/http"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"encoding/json"
	"github.com/aws/aws-sdk-go-v2/aws"
	awshttp "github.com/aws/aws-sdk-go-v2/aws/transport/http"
	"github.com/aws/aws-sdk-go-v2/service/s3"

	"warden/api/forwardauth"
)

// TestForwardAuthNginx puts real nginx (auth_request, the README's server
// block) in front of a plain service.
func TestForwardAuthNginx(t *testing.T) {
	p := newProxyWorld(t)
	proxyCases(t, p, startNginx(t, p, ""))
}

// TestForwardAuthCaddy puts real Caddy (forward_auth, the README's site
// block) in front of a plain service.
func TestForwardAuthCaddy(t *testing.T) {
	p := newProxyWorld(t)
	proxyCases(t, p, startCaddy(t, p))
}

// TestAttackForwardAuthNginx replays, through nginx, what a client may try
// to get past forward auth.
func TestAttackForwardAuthNginx(t *testing.T) {
	p := newProxyWorld(t)
	proxyAttacks(t, p, startNginx(t, p, ""))
}

// TestAttackForwardAuthCaddy replays the same through Caddy.
func TestAttackForwardAuthCaddy(t *testing.T) {
	p := newProxyWorld(t)
	proxyAttacks(t, p, startCaddy(t, p))
}

// proxyCases are what every proxy in front of Warden must show: allowed and
// refused by credential and by route, the subject reaching the upstream.
func proxyCases(t *testing.T, p *proxyWorld, addr string) {
	base := "http://" + addr
	objA, objB := base+"/"+p.w.folderA+"/photos/cat.jpg", base+"/"+p.w.folderB+"/photos/cat.jpg"
	allowed, refused := proxyChecks(p)
	t.Run("IAM token in Authorization", func(t *testing.T) {
		allowed(t, send(t, "", "GET", objA, map[string]string{"Authorization": "Bearer " + p.w.robotToken}, ""), "iamToken")
	})
	t.Run("IAM token in X-YaCloud-SubjectToken", func(t *testing.T) {
		allowed(t, send(t, "", "GET", objA, map[string]string{"X-YaCloud-SubjectToken": p.w.robotToken}, ""), "iamToken")
		if r := send(t, "", "HEAD", objA, map[string]string{"X-YaCloud-SubjectToken": p.w.robotToken}, ""); r.status != 200 {
			t.Errorf("HEAD: %d", r.status)
		}
	})
	t.Run("API key", func(t *testing.T) {
		r := send(t, "", "PUT", objA, map[string]string{"Authorization": "Api-Key " + p.apiKey}, "meow")
		allowed(t, r, "apiKey")
		if r.upstream.Body != "meow" {
			t.Errorf("the upstream got body %q, want meow", r.upstream.Body)
		}
	})
	t.Run("no credential", func(t *testing.T) { refused(t, send(t, "", "GET", objA, nil, ""), 401) })
	t.Run("forged token", func(t *testing.T) {
		refused(t, send(t, "", "GET", objA, map[string]string{"Authorization": "Bearer t1.forged.token"}, ""), 401)
	})
	t.Run("wrong API key", func(t *testing.T) {
		refused(t, send(t, "", "GET", objA, map[string]string{"Authorization": "Api-Key " + p.apiKey + "x"}, ""), 401)
	})
	t.Run("folder without a binding", func(t *testing.T) {
		refused(t, send(t, "", "GET", objB, map[string]string{"Authorization": "Bearer " + p.w.robotToken}, ""), 403)
	})
	t.Run("no route", func(t *testing.T) {
		refused(t, send(t, "", "DELETE", objA, map[string]string{"Authorization": "Bearer " + p.w.robotToken}, ""), 403)
		refused(t, send(t, "", "GET", base+"/", map[string]string{"Authorization": "Bearer " + p.w.robotToken}, ""), 403)
	})
	t.Run("SigV4 over a body Warden does not see", func(t *testing.T) {
		mail := `{"Content": {"Simple": {"Subject": {"Data": "hi"}}}}`
		h := signed(t, p.s3Key, "ses", "POST", "/v2/email/outbound-emails", []byte(mail), http.Header{"X-Folder-Id": {p.w.folderA}})
		header := map[string]string{}
		for k, v := range h {
			header[k] = v[0]
		}
		r := send(t, "", "POST", base+"/v2/email/outbound-emails", header, mail)
		refused(t, r, 401)
		// nginx answers its own 401 page; Caddy passes Warden's answer on.
		if strings.Contains(r.body, `"code"`) && !strings.Contains(r.body, "x-amz-content-sha256") {
			t.Errorf("the refusal does not say why: %s", r.body)
		}
	})
	t.Run("SigV4 S3-style with aws-sdk-go-v2", func(t *testing.T) {
		ctx := context.Background()
		client := func(k awsKey) *s3.Client {
			return s3.New(s3.Options{
				Region: sesRegion, BaseEndpoint: aws.String(base), UsePathStyle: true, Credentials: k.credentials(), Retryer: aws.NopRetryer{},
			})
		}
		out, err := client(p.s3Key).GetObject(ctx, &s3.GetObjectInput{Bucket: aws.String(p.w.folderA), Key: aws.String("photos/cat.jpg")})
		if err != nil {
			t.Fatalf("GetObject: %v", err)
		}
		var e echo
		err = json.NewDecoder(out.Body).Decode(&e)
		out.Body.Close()
		if err != nil || e.Header.Get(forwardauth.HeaderSubjectID) != p.w.robot || e.Header.Get(forwardauth.HeaderCredential) != "sigv4" {
			t.Errorf("GetObject reached the upstream as %v (%v)", e.Header, err)
		}
		if _, err := client(p.s3Key).PutObject(ctx, &s3.PutObjectInput{
			Bucket: aws.String(p.w.folderA), Key: aws.String("photos/dog.jpg"), Body: strings.NewReader("woof"),
		}); err != nil {
			t.Errorf("PutObject: %v", err)
		}
		_, err = client(p.s3Key.withSecret(strings.Repeat("W", 40))).GetObject(ctx, &s3.GetObjectInput{Bucket: aws.String(p.w.folderA), Key: aws.String("photos/cat.jpg")})
		if got := httpStatus(err); got != 401 {
			t.Errorf("GetObject with a wrong secret: HTTP %d (%v), want 401", got, err)
		}
		_, err = client(p.s3Key).GetObject(ctx, &s3.GetObjectInput{Bucket: aws.String(p.w.folderB), Key: aws.String("photos/cat.jpg")})
		if got := httpStatus(err); got != 403 {
			t.Errorf("GetObject in folder B: HTTP %d (%v), want 403", got, err)
		}
	})
}

// proxyAttacks: a client that sends the subject headers itself, names an
// allowed path in the headers the proxy sets while asking for another, hides
// another folder behind dot segments, or claims another address in
// X-Forwarded-For.
func proxyAttacks(t *testing.T, p *proxyWorld, addr string) {
	base := "http://" + addr
	objA, objB := base+"/"+p.w.folderA+"/photos/cat.jpg", base+"/"+p.w.folderB+"/photos/cat.jpg"
	allowed, refused := proxyChecks(p)
	t.Run("subject headers sent by the client", func(t *testing.T) {
		forged := map[string]string{
			forwardauth.HeaderSubjectID: p.w.admin, forwardauth.HeaderSubjectType: "userAccount", forwardauth.HeaderCredential: "forged",
		}
		refused(t, send(t, "", "GET", objA, forged, ""), 401)
		forged["Authorization"] = "Bearer " + p.w.robotToken
		allowed(t, send(t, "", "GET", objA, forged, ""), "iamToken")
	})
	t.Run("original URI sent by the client", func(t *testing.T) {
		// The client names a path it may use in the headers a proxy
		// sets, while asking for one it may not.
		for _, h := range []string{"X-Original-URI", "X-Forwarded-Uri"} {
			r := send(t, "", "GET", objB, map[string]string{
				"Authorization": "Bearer " + p.w.robotToken, h: "/" + p.w.folderA + "/photos/cat.jpg",
				"X-Original-Method": "GET", "X-Forwarded-Method": "GET",
			}, "")
			refused(t, r, 403)
		}
	})
	t.Run("dot segments", func(t *testing.T) {
		// Checked as folder A, served as folder B by an upstream that
		// resolves dot segments.
		for _, path := range []string{"/" + p.w.folderA + "/../" + p.w.folderB + "/x", "/" + p.w.folderA + "/%2e%2e/" + p.w.folderB + "/x"} {
			r := send(t, "", "GET", base+path, map[string]string{"Authorization": "Bearer " + p.w.robotToken}, "")
			if r.upstream != nil && strings.Contains(r.upstream.URI, p.w.folderB) {
				t.Errorf("GET %s reached the upstream as %s", path, r.upstream.URI)
			}
		}
	})
	t.Run("spoofed X-Forwarded-For", func(t *testing.T) {
		// The key is valid from 127.0.0.2 only; a client at 127.0.0.3
		// claims to be there.
		key := map[string]string{"Authorization": "Api-Key " + p.ipKey}
		allowed(t, send(t, "127.0.0.2", "GET", objA, key, ""), "apiKey")
		key["X-Forwarded-For"], key["X-Real-IP"] = "127.0.0.2", "127.0.0.2"
		refused(t, send(t, "127.0.0.3", "GET", objA, key, ""), 401)
	})
}

// proxyChecks returns the assertions of an allowed request (the robot's,
// by credential, reaching the upstream) and of a refused one.
func proxyChecks(p *proxyWorld) (allowed func(*testing.T, proxied, string), refused func(*testing.T, proxied, int)) {
	allowed = func(t *testing.T, r proxied, credential string) {
		t.Helper()
		if r.status != 200 || r.upstream == nil {
			t.Fatalf("got %d %s, want 200 from the upstream", r.status, r.body)
		}
		h := r.upstream.Header
		if h.Get(forwardauth.HeaderSubjectID) != p.w.robot || h.Get(forwardauth.HeaderSubjectType) != "serviceAccount" || h.Get(forwardauth.HeaderCredential) != credential {
			t.Errorf("the upstream got subject %q %q by %q, want %s serviceAccount by %s",
				h.Values(forwardauth.HeaderSubjectID), h.Get(forwardauth.HeaderSubjectType), h.Get(forwardauth.HeaderCredential), p.w.robot, credential)
		}
	}
	refused = func(t *testing.T, r proxied, status int) {
		t.Helper()
		if r.status != status || r.upstream != nil {
			t.Fatalf("got %d (upstream reached: %v) %s, want %d", r.status, r.upstream != nil, r.body, status)
		}
		if status == 401 && !strings.HasPrefix(r.header.Get("WWW-Authenticate"), "Bearer") {
			t.Errorf("401 without WWW-Authenticate: %v", r.header)
		}
	}
	return allowed, refused
}

// httpStatus is the HTTP status of an AWS SDK error, 0 for none.
func httpStatus(err error) int {
	var re *awshttp.ResponseError
	if errors.As(err, &re) {
		return re.HTTPStatusCode()
	}
	return 0
}

// TestREADMEProxySnippets keeps the README's route file and proxy
// configurations the ones the tests above run.
func TestREADMEProxySnippets(t *testing.T) {
	readme, err := os.ReadFile("../README.md")
	if err != nil {
		t.Fatal(err)
	}
	for _, name := range []string{"routes.yaml", "nginx.conf", "Caddyfile"} {
		b, err := os.ReadFile(filepath.Join("testdata/forwardauth", name))
		if err != nil {
			t.Fatal(err)
		}
		if !strings.Contains(string(readme), "\n"+string(b)+"```\n") {
			t.Errorf("README.md does not show testdata/forwardauth/%s verbatim", name)
		}
	}
}
