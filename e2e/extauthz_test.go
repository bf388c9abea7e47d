package e2e

import (
	"context"
	"crypto/sha256"
	"encoding/hex"
	"io"
	"net/http"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	v4 "github.com/aws/aws-sdk-go-v2/aws/signer/v4"
	corev3 "github.com/envoyproxy/go-control-plane/envoy/config/core/v3"
	authv3 "github.com/envoyproxy/go-control-plane/envoy/service/auth/v3"

	"warden/api/forwardauth"
	"warden/sigv4"
)

// extRequest is the request an Envoy describes to ext_authz.
type extRequest struct {
	method, path string
	header       http.Header
	body         []byte // with_request_body; nil when Envoy does not buffer
	size         int64
	source       string // the downstream address Envoy saw
}

func (e extRequest) check() *authv3.CheckRequest {
	h := map[string]string{":method": e.method, ":path": e.path, ":authority": "storage.test:8000"}
	for k, v := range e.header {
		h[strings.ToLower(k)] = strings.Join(v, ",")
	}
	if e.source == "" {
		e.source = "192.0.2.10"
	}
	return &authv3.CheckRequest{Attributes: &authv3.AttributeContext{
		Source: &authv3.AttributeContext_Peer{Address: &corev3.Address{Address: &corev3.Address_SocketAddress{
			SocketAddress: &corev3.SocketAddress{Address: e.source, PortSpecifier: &corev3.SocketAddress_PortValue{PortValue: 40000}},
		}}},
		Request: &authv3.AttributeContext_Request{Http: &authv3.AttributeContext_HttpRequest{
			Method: e.method, Path: e.path, Host: "storage.test:8000", Headers: h, Protocol: "HTTP/1.1",
			RawBody: e.body, Size: e.size,
		}},
	}}
}

// signed returns the headers of a request signed with k: S3-style with
// payload "UNSIGNED-PAYLOAD" in x-amz-content-sha256, or, for another
// service, over the body's hash without that header (as SES clients do).
func signed(t *testing.T, k awsKey, service, method, path string, body []byte, extra http.Header) http.Header {
	t.Helper()
	req, err := http.NewRequest(method, "http://storage.test:8000"+path, nil)
	if err != nil {
		t.Fatal(err)
	}
	for name, v := range extra {
		req.Header[name] = v
	}
	payload := sigv4.UnsignedPayload
	if service == "s3" {
		req.Header.Set("X-Amz-Content-Sha256", payload)
	} else {
		sum := sha256.Sum256(body)
		payload = hex.EncodeToString(sum[:])
	}
	creds := aws.Credentials{AccessKeyID: k.id, SecretAccessKey: k.secret}
	if err := v4.NewSigner().SignHTTP(context.Background(), creds, req, payload, service, sesRegion, time.Now()); err != nil {
		t.Fatal(err)
	}
	return req.Header
}

// TestExtAuthz drives wardend's envoy.service.auth.v3.Authorization/Check
// with go-control-plane's client, as Envoy's ext_authz filter calls it.
func TestExtAuthz(t *testing.T) {
	p := newProxyWorld(t)
	c := authv3.NewAuthorizationClient(sdkConn(t, p.n.addr))
	ctx := context.Background()
	objA, objB := "/"+p.w.folderA+"/photos/cat.jpg?versionId=1", "/"+p.w.folderB+"/photos/cat.jpg"
	bearer := http.Header{"Authorization": {"Bearer " + p.w.robotToken}}
	mail := []byte(`{"Content": {"Simple": {"Subject": {"Data": "hi"}}}}`)
	mailHeaders := http.Header{"X-Folder-Id": {p.w.folderA}, "Content-Type": {"application/json"}}
	for _, tc := range []struct {
		name       string
		req        extRequest
		credential string // allowed with this credential; "" for denied
		status     int    // the denied answer's HTTP status
		message    string // in the denied answer's body
	}{
		{name: "IAM token", req: extRequest{method: "GET", path: objA, header: bearer}, credential: "iamToken"},
		{name: "API key", req: extRequest{method: "PUT", path: objA, header: http.Header{"Authorization": {"Api-Key " + p.apiKey}}}, credential: "apiKey"},
		{name: "SigV4 S3-style", req: extRequest{method: "GET", path: objA, header: signed(t, p.s3Key, "s3", "GET", objA, nil, nil)}, credential: "sigv4"},
		{name: "SigV4 over a buffered body", credential: "sigv4", req: extRequest{
			method: "POST", path: "/v2/email/outbound-emails", body: mail, size: int64(len(mail)),
			header: signed(t, p.s3Key, "ses", "POST", "/v2/email/outbound-emails", mail, mailHeaders),
		}},
		{name: "SigV4 over a body Envoy did not buffer", status: 401, message: "x-amz-content-sha256", req: extRequest{
			method: "POST", path: "/v2/email/outbound-emails", size: -1,
			header: signed(t, p.s3Key, "ses", "POST", "/v2/email/outbound-emails", mail, mailHeaders),
		}},
		{name: "SigV4 over another body", status: 401, req: extRequest{
			method: "POST", path: "/v2/email/outbound-emails", body: []byte(`{"tampered": true}`), size: 18,
			header: signed(t, p.s3Key, "ses", "POST", "/v2/email/outbound-emails", mail, mailHeaders),
		}},
		{name: "SigV4 with a wrong secret", status: 401, req: extRequest{method: "GET", path: objA, header: signed(t, p.s3Key.withSecret(strings.Repeat("W", 40)), "s3", "GET", objA, nil, nil)}},
		{name: "no credential", req: extRequest{method: "GET", path: objA}, status: 401},
		{name: "folder without a binding", req: extRequest{method: "GET", path: objB, header: bearer}, status: 403, message: "storage.objects.get"},
		{name: "no route", req: extRequest{method: "DELETE", path: objA, header: bearer}, status: 403, message: "no route"},
		{name: "address-bound key from its address", req: extRequest{method: "GET", path: objA, source: "127.0.0.2",
			header: http.Header{"Authorization": {"Api-Key " + p.ipKey}}}, credential: "apiKey"},
		{name: "address-bound key from elsewhere, claiming its address", status: 401, req: extRequest{method: "GET", path: objA, source: "127.0.0.3",
			header: http.Header{"Authorization": {"Api-Key " + p.ipKey}, "X-Forwarded-For": {"127.0.0.2"}, "X-Real-Ip": {"127.0.0.2"}}}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			resp, err := c.Check(ctx, tc.req.check())
			if err != nil {
				t.Fatalf("Check: %v", err)
			}
			if tc.credential != "" {
				ok := resp.GetOkResponse()
				if resp.GetStatus().GetCode() != 0 || ok == nil {
					t.Fatalf("Check = %v, want OK", resp)
				}
				got := map[string]string{}
				for _, h := range ok.Headers {
					if h.AppendAction != corev3.HeaderValueOption_OVERWRITE_IF_EXISTS_OR_ADD {
						t.Errorf("header %s is added with %v: a client's copy would stay", h.Header.Key, h.AppendAction)
					}
					got[h.Header.Key] = h.Header.Value
				}
				if got[forwardauth.HeaderSubjectID] != p.w.robot || got[forwardauth.HeaderSubjectType] != "serviceAccount" || got[forwardauth.HeaderCredential] != tc.credential {
					t.Errorf("headers for the upstream = %v, want the robot by %s", got, tc.credential)
				}
				return
			}
			d := resp.GetDeniedResponse()
			if d == nil || int(d.Status.GetCode()) != tc.status || resp.GetStatus().GetCode() == 0 {
				t.Fatalf("Check = %v, want denied with %d", resp, tc.status)
			}
			challenged := false
			for _, h := range d.Headers {
				challenged = challenged || h.Header.Key == "WWW-Authenticate"
			}
			if challenged != (tc.status == 401) {
				t.Errorf("WWW-Authenticate sent: %v, for %d", challenged, tc.status)
			}
			if !strings.Contains(d.Body, tc.message) {
				t.Errorf("denied body %s, want it to say %q", d.Body, tc.message)
			}
		})
	}
	if _, err := c.Check(ctx, &authv3.CheckRequest{}); err == nil {
		t.Error("Check without an HTTP request succeeded")
	}
}

// TestExtAuthzRunsThePipeline: a forwarded credential meets every check a
// call to Warden itself meets — an API key's products, the account's state
// — and its refusals are counted in warden_credential_refusals_total.
func TestExtAuthzRunsThePipeline(t *testing.T) {
	p := newProxyWorld(t)
	c := authv3.NewAuthorizationClient(sdkConn(t, p.n.addr))
	r := p.n.rest("POST", "/api/v1/service-accounts/credentials/api-keys", p.w.admin, map[string]any{
		"name": "postbox-only", "serviceAccountId": p.w.robot, "products": []string{"postbox"},
	})
	postboxKey := str(r.body, "secret")
	if postboxKey == "" {
		t.Fatalf("create a postbox key: %s", r.raw)
	}
	objA := "/" + p.w.folderA + "/photos/cat.jpg"
	status := func(header http.Header) int {
		t.Helper()
		resp, err := c.Check(context.Background(), extRequest{method: "GET", path: objA, header: header}.check())
		if err != nil {
			t.Fatal(err)
		}
		if resp.GetOkResponse() != nil {
			return 200
		}
		return int(resp.GetDeniedResponse().GetStatus().GetCode())
	}
	if got := status(http.Header{"Authorization": {"Api-Key " + postboxKey}}); got != 401 {
		t.Errorf("a key for postbox on a storage route: %d, want 401", got)
	}
	if got := refusalCount(t, p.n, "apiKey", "product"); got != 1 {
		t.Errorf(`warden_credential_refusals_total{credential="apiKey",reason="product"} = %v, want 1`, got)
	}
	bearer := http.Header{"Authorization": {"Bearer " + p.w.robotToken}}
	if got := status(bearer); got != 200 {
		t.Fatalf("the robot's token: %d", got)
	}
	if r := p.n.rest("POST", "/iam/v1/serviceAccounts/"+p.w.robot+":suspend", p.w.admin, map[string]any{}); r.status != 200 {
		t.Fatalf("suspend: %s", r.raw)
	}
	if got := status(bearer); got != 401 {
		t.Errorf("the token of a suspended account: %d, want 401", got)
	}
}

// refusalCount reads warden_credential_refusals_total for a credential type
// and reason from wardend's /metrics.
func refusalCount(t *testing.T, n *node, credential, reason string) float64 {
	t.Helper()
	resp, err := http.Get("http://" + n.addr + "/metrics")
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	b, _ := io.ReadAll(resp.Body)
	prefix := `warden_credential_refusals_total{credential="` + credential + `",reason="` + reason + `"} `
	for _, line := range strings.Split(string(b), "\n") {
		if v, ok := strings.CutPrefix(line, prefix); ok {
			f, _ := strconv.ParseFloat(v, 64)
			return f
		}
	}
	return 0
}
