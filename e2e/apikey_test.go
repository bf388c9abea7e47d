package e2e

import (
	"context"
	"encoding/json"
	"fmt"
	"regexp"
	"strconv"
	"strings"
	"testing"
	"time"

	iampb "github.com/yandex-cloud/go-genproto/yandex/cloud/iam/v1"
	"github.com/yandex-cloud/go-sdk/v2/credentials"
	iamsdk "github.com/yandex-cloud/go-sdk/v2/services/iam/v1"
	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/status"
	"google.golang.org/protobuf/encoding/protojson"
	"google.golang.org/protobuf/types/known/fieldmaskpb"
	"google.golang.org/protobuf/types/known/structpb"
	"google.golang.org/protobuf/types/known/timestamppb"

	"warden/api/accesspb"
	"warden/apikey"
	"warden/server"
)

// apiKeyBase is when the API key tests start on wardend's clock: 10:00
// UTC, inside the daily window of the lifecycle key (09–18 at UTC+3).
var apiKeyBase = time.Date(2027, 3, 1, 10, 0, 0, 0, time.UTC)

const cloudKeys = "/api/v1/service-accounts/credentials/api-keys"

// Timing of newKeyLab's wardend: it refreshes every keyRefresh and writes
// last_used_at every 25 refreshes.
const (
	keyRefresh    = 20 * time.Millisecond
	lastUsedFlush = 25 * keyRefresh
)

var secretPattern = regexp.MustCompile(`warden_ak_[0-9a-z]{20}_[0-9A-Za-z]+`)

// redact hides API key secrets in what a failing test prints: test output
// is a log too.
func redact(s string) string { return secretPattern.ReplaceAllString(s, "warden_ak_<redacted>") }

// setClock moves a test clock (token_test.go) to t, back or forth.
func setClock(c *clock, t time.Time) {
	c.mu.Lock()
	c.t = t
	c.mu.Unlock()
}

// keyLab is a wardend on a hand-set clock with a world around it, and
// what a test learns about the API keys it makes there.
type keyLab struct {
	n      *node
	w      *world
	clk    *clock
	access accesspb.AccessServiceClient
	// secrets is every secret created, for the final leak check.
	secrets []string
	// seen is every answer that must not hold a secret.
	seen []string
}

// newKeyLab starts wardend on be with the clock at apiKeyBase and a
// refresh interval short enough that last_used_at is written within half a
// second.
func newKeyLab(t *testing.T, be backend) *keyLab {
	clk := &clock{t: apiKeyBase}
	n := start(t, t.TempDir(), be.database(t), withClock(clk), func(c *server.Config) {
		c.RefreshInterval = keyRefresh
	})
	return &keyLab{n: n, w: newWorld(t, n), clk: clk, access: accesspb.NewAccessServiceClient(sdkConn(t, n.addr))}
}

// rest calls the REST API and remembers the answer as one that must not
// hold a secret.
func (l *keyLab) rest(method, path, token string, body any) response {
	l.n.t.Helper()
	r := l.n.rest(method, path, token, body)
	l.seen = append(l.seen, r.raw)
	return r
}

// cloudKey is a key as the Cloud.ru-style API answers it, snake_case field
// for field; decodeCloudKey refuses any other field.
type cloudKey struct {
	ID               string   `json:"id"`
	Name             string   `json:"name"`
	Description      string   `json:"description"`
	ServiceAccountID string   `json:"service_account_id"`
	Products         []string `json:"products"`
	Scopes           []string `json:"scopes"`
	Secret           string   `json:"secret"`
	Restrictions     struct {
		IPAddresses struct {
			IPAddresses []string `json:"ip_addresses"`
		} `json:"ip_addresses"`
		TimeRange struct {
			TimeSlots []struct {
				Start int `json:"start"`
				End   int `json:"end"`
			} `json:"time_slots"`
			Timezone int `json:"timezone"`
		} `json:"time_range"`
	} `json:"restrictions"`
	Enabled      bool    `json:"enabled"`
	MaskedSecret string  `json:"masked_secret"`
	CreatedAt    string  `json:"created_at"`
	UpdatedAt    string  `json:"updated_at"`
	ExpiresAt    *string `json:"expires_at"`
	LastUsedAt   *string `json:"last_used_at"`
}

func decodeCloudKey(t *testing.T, raw string) cloudKey {
	t.Helper()
	var k cloudKey
	dec := json.NewDecoder(strings.NewReader(raw))
	dec.DisallowUnknownFields()
	if err := dec.Decode(&k); err != nil {
		t.Fatalf("Cloud.ru key %s: %v", redact(raw), err)
	}
	return k
}

// parseKeyTime parses an RFC 3339 time from an answer.
func parseKeyTime(t *testing.T, field string, s *string) time.Time {
	t.Helper()
	if s == nil {
		t.Fatalf("%s is null", field)
	}
	v, err := time.Parse(time.RFC3339Nano, *s)
	if err != nil {
		t.Fatalf("%s: %v", field, err)
	}
	return v
}

// maskedSecret is the masked_secret every read-back of a key must show.
func maskedSecret(secret string) string { return "****" + secret[len(secret)-6:] }

// checkSecret checks the shape of a secret: warden_ak_<key ID>_<random>.
func checkSecret(t *testing.T, id, secret string) {
	t.Helper()
	if !strings.HasPrefix(secret, "warden_ak_"+id+"_") || len(secret) != len("warden_ak_")+len(id)+1+43+6 {
		t.Errorf("secret of %s is %d characters and does not read warden_ak_%s_…", id, len(secret), id)
	}
}

// keyCall is a request a resource service presents to the access service.
type keyCall struct{ client, service, scope string }

// accessAnswer is one reply of the access service to a call.
type accessAnswer struct {
	way      string // "REST Authenticate", "gRPC Authorize", …
	httpCode int    // REST only
	code     codes.Code
	message  string
	subject  string
	folder   string
	cred     string
	allowed  bool // Authorize: iam.serviceAccounts.list on the robot's folder
}

// ask presents a call carrying secret as an Api-Key four ways:
// Authenticate and Authorize, over REST and over gRPC. Authorize checks
// iam.serviceAccounts.list on the robot's folder, where the robot is
// viewer.
func (l *keyLab) ask(t *testing.T, secret string, c keyCall) []accessAnswer {
	t.Helper()
	req := map[string]any{"method": "GET", "path": "/v1/things", "headers": map[string][]string{"Authorization": {"Api-Key " + secret}},
		"clientAddress": c.client, "service": c.service, "scope": c.scope}
	check := map[string]any{"permission": "iam.serviceAccounts.list", "resource": map[string]string{"type": "resource-manager.folder", "id": l.w.folderB}}
	out := []accessAnswer{
		restAccessAnswer("REST Authenticate", l.rest("POST", "/access/v1:authenticate", "", map[string]any{"request": req})),
		restAccessAnswer("REST Authorize", l.rest("POST", "/access/v1:authorize", "", map[string]any{"request": req, "checks": []any{check}})),
	}
	hv, _ := structpb.NewList([]any{"Api-Key " + secret})
	preq := &accesspb.Request{Method: "GET", Path: "/v1/things", Headers: map[string]*structpb.ListValue{"Authorization": hv},
		ClientAddress: c.client, Service: c.service, Scope: c.scope}
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	an, err := l.access.Authenticate(ctx, &accesspb.AuthenticateRequest{Request: preq})
	out = append(out, l.grpcAnswer("gRPC Authenticate", an.GetSubject(), an.GetCredentialType(), false, err))
	az, err := l.access.Authorize(ctx, &accesspb.AuthorizeRequest{Request: preq, Checks: []*accesspb.Check{
		{Permission: "iam.serviceAccounts.list", Resource: &accesspb.Resource{Type: "resource-manager.folder", Id: l.w.folderB}},
	}})
	allowed := len(az.GetResults()) == 1 && az.GetResults()[0].GetAllowed()
	out = append(out, l.grpcAnswer("gRPC Authorize", az.GetSubject(), az.GetCredentialType(), allowed, err))
	return out
}

func restAccessAnswer(way string, r response) accessAnswer {
	a := accessAnswer{way: way, httpCode: r.status, code: restCode(r), message: str(r.body, "message"),
		subject: str(r.body, "subject", "id"), folder: str(r.body, "subject", "folderId"), cred: str(r.body, "credentialType")}
	if res, _ := r.body["results"].([]any); len(res) == 1 {
		a.allowed, _ = res[0].(map[string]any)["allowed"].(bool)
	}
	return a
}

func (l *keyLab) grpcAnswer(way string, sub *accesspb.Subject, cred string, allowed bool, err error) accessAnswer {
	if err != nil {
		l.seen = append(l.seen, err.Error())
	}
	st, _ := status.FromError(err)
	return accessAnswer{way: way, code: st.Code(), message: st.Message(), subject: sub.GetId(), folder: sub.GetFolderId(), cred: cred, allowed: allowed}
}

// accepted asserts that every way accepts the call as the robot, and that
// Authorize allows the robot's folder.
func (l *keyLab) accepted(t *testing.T, secret string, c keyCall) {
	t.Helper()
	for _, a := range l.ask(t, secret, c) {
		if a.code != codes.OK || a.subject != l.w.robot || a.folder != l.w.folderB || a.cred != "apiKey" {
			t.Errorf("%+v: %s = %v %q (subject %q in %q, credential %q), want the robot by apiKey", c, a.way, a.code, redact(a.message), a.subject, a.folder, a.cred)
		}
		if strings.HasSuffix(a.way, "Authorize") && !a.allowed {
			t.Errorf("%+v: %s does not allow the robot's folder", c, a.way)
		}
	}
}

// refused asserts that every way refuses the call with Unauthenticated
// (HTTP 401) and one message, and that the refusal was counted under
// reason (the metric is the only place the reason shows). It returns the
// message.
func (l *keyLab) refused(t *testing.T, secret string, c keyCall, reason string) string {
	t.Helper()
	return l.rejected(t, secret, c, reason, codes.Unauthenticated, 401)
}

// denied is refused for a key used for a scope it lacks: PermissionDenied.
func (l *keyLab) denied(t *testing.T, secret string, c keyCall) string {
	t.Helper()
	return l.rejected(t, secret, c, "scope", codes.PermissionDenied, 403)
}

// An empty reason skips the metric check.
func (l *keyLab) rejected(t *testing.T, secret string, c keyCall, reason string, want codes.Code, wantHTTP int) string {
	t.Helper()
	before := l.refusals(t, reason)
	answers := l.ask(t, secret, c)
	for _, a := range answers {
		if a.code != want || a.httpCode != 0 && a.httpCode != wantHTTP {
			t.Errorf("%+v: %s = %v (HTTP %d) %q, want %v (HTTP %d)", c, a.way, a.code, a.httpCode, redact(a.message), want, wantHTTP)
		}
		if a.message != answers[0].message {
			t.Errorf("%+v: %s says %q, %s says %q", c, a.way, redact(a.message), answers[0].way, redact(answers[0].message))
		}
	}
	if got := l.refusals(t, reason) - before; reason != "" && got != float64(len(answers)) {
		t.Errorf("%+v: warden_credential_refusals_total{reason=%q} rose by %v, want %d", c, reason, got, len(answers))
	}
	return answers[0].message
}

// refusals reads warden_credential_refusals_total for an API key reason.
func (l *keyLab) refusals(t *testing.T, reason string) float64 {
	t.Helper()
	r := l.n.rest("GET", "/metrics", "", nil)
	prefix := `warden_credential_refusals_total{credential="apiKey",reason="` + reason + `"} `
	for line := range strings.SplitSeq(r.raw, "\n") {
		if v, ok := strings.CutPrefix(line, prefix); ok {
			f, err := strconv.ParseFloat(v, 64)
			if err != nil {
				t.Fatalf("metric %q: %v", line, err)
			}
			return f
		}
	}
	return 0
}

// cloudBody is the body of seed 001's create request, field for field,
// with the values of a key for the robot.
func cloudBody(sa string, expires time.Time) map[string]any {
	return map[string]any{
		"name":             "api-key-test",
		"description":      "тестовый api-key",
		"serviceAccountId": sa,
		"products":         []string{"monaas"},
		"restrictions": map[string]any{
			"ipAddresses": map[string]any{"ipAddresses": []string{"10.0.0.0/8", "2001:db8::/32", "192.0.2.7"}},
			"timeRange": map[string]any{
				"timeSlots": []map[string]any{{"start": 9, "end": 18}},
				"timezone":  3,
			},
		},
		"enabled":   true,
		"expiresAt": expires.Format("2006-01-02T15:04:05.000Z07:00"),
	}
}

// TestAPIKeyLifecycle creates a key through each API, uses it through the
// access service, reads it back, refuses it for every reason in turn and
// finally looks for its secret everywhere it must not be.
func TestAPIKeyLifecycle(t *testing.T) {
	for _, be := range backends(t) {
		t.Run(be.name, func(t *testing.T) { apiKeyLifecycle(t, be) })
	}
}

func apiKeyLifecycle(t *testing.T, be backend) {
	l := newKeyLab(t, be)
	n, w := l.n, l.w
	w.bind(t, "/resource-manager/v1/folders/"+w.folderB, "ADD", "viewer", "serviceAccount", w.robot)
	ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
	defer cancel()
	sdk := iamsdk.NewApiKeyClient(newSDK(t, n.addr, credentials.IAMToken(w.admin)))

	// (a) The Yandex ApiKeyService, through the Yandex Go SDK and over REST.
	sdkExpires := apiKeyBase.Add(30 * 24 * time.Hour)
	made, err := sdk.Create(ctx, &iampb.CreateApiKeyRequest{ServiceAccountId: w.robot, Description: "by the Yandex SDK",
		Scopes: []string{"yc.postbox.send"}, ExpiresAt: timestamppb.New(sdkExpires)})
	if err != nil {
		t.Fatalf("SDK create: %v", err)
	}
	sdkKey, sdkSecret := made.GetApiKey(), made.GetSecret()
	l.secrets = append(l.secrets, sdkSecret)
	checkSecret(t, sdkKey.GetId(), sdkSecret)
	if sdkKey.GetServiceAccountId() != w.robot || sdkKey.GetDescription() != "by the Yandex SDK" || !sdkKey.GetCreatedAt().AsTime().Equal(apiKeyBase) ||
		!sdkKey.GetExpiresAt().AsTime().Equal(sdkExpires) || len(sdkKey.GetScopes()) != 1 || sdkKey.GetScopes()[0] != "yc.postbox.send" ||
		sdkKey.GetMaskedSecret() != maskedSecret(sdkSecret) || sdkKey.GetLastUsedAt() != nil {
		t.Errorf("SDK create answered %v", sdkKey)
	}

	r := n.rest("POST", "/iam/v1/apiKeys", w.admin, map[string]any{"serviceAccountId": w.robot, "description": "over REST"})
	restID, restSecret := str(r.body, "apiKey", "id"), str(r.body, "secret")
	if r.status != 200 || restID == "" {
		t.Fatalf("POST /iam/v1/apiKeys: %d %s", r.status, redact(r.raw))
	}
	l.secrets = append(l.secrets, restSecret)
	checkSecret(t, restID, restSecret)
	if str(r.body, "apiKey", "serviceAccountId") != w.robot || str(r.body, "apiKey", "maskedSecret") != maskedSecret(restSecret) ||
		str(r.body, "apiKey", "expiresAt") != "" || str(r.body, "apiKey", "lastUsedAt") != "" {
		t.Errorf("POST /iam/v1/apiKeys answered %s", redact(r.raw))
	}

	// (b) The Cloud.ru-style API, with seed 001's body.
	cloudExpires := apiKeyBase.Add(48 * time.Hour)
	r = n.rest("POST", cloudKeys, w.admin, cloudBody(w.robot, cloudExpires))
	if r.status != 200 {
		t.Fatalf("POST %s: %d %s", cloudKeys, r.status, redact(r.raw))
	}
	ck := decodeCloudKey(t, r.raw)
	cloudID, cloudSecret := ck.ID, ck.Secret
	l.secrets = append(l.secrets, cloudSecret)
	checkSecret(t, cloudID, cloudSecret)
	checkCloudKey(t, ck, w.robot, cloudExpires)
	if ck.MaskedSecret != maskedSecret(cloudSecret) || ck.LastUsedAt != nil || !parseKeyTime(t, "created_at", &ck.CreatedAt).Equal(apiKeyBase) {
		t.Errorf("Cloud.ru create answered %s", redact(r.raw))
	}

	sdkCall := keyCall{client: "198.51.100.1:40000", service: "postbox", scope: "yc.postbox.send"}
	restCall := keyCall{client: "198.51.100.2", service: "logaas", scope: "yc.logging.read"}
	cloudCall := keyCall{client: "10.1.2.3:5555", service: "monaas"}
	messages := map[string]string{} // refusal → its message

	t.Run("authenticate and authorize", func(t *testing.T) {
		l.accepted(t, sdkSecret, sdkCall)
		l.accepted(t, restSecret, restCall)
		l.accepted(t, restSecret, keyCall{}) // no scopes, no products: anything
		l.accepted(t, cloudSecret, cloudCall)
		// Authorize answers for the key's service account, nothing more.
		req := map[string]any{"headers": map[string][]string{"Authorization": {"Api-Key " + cloudSecret}}, "clientAddress": cloudCall.client, "service": "monaas"}
		z := l.rest("POST", "/access/v1:authorize", "", map[string]any{"request": req, "checks": []any{
			map[string]any{"permission": "iam.serviceAccounts.list", "resource": map[string]string{"type": "resource-manager.folder", "id": w.folderA}},
			map[string]any{"permission": "iam.serviceAccounts.create", "resource": map[string]string{"type": "resource-manager.folder", "id": w.folderB}},
		}})
		res, _ := z.body["results"].([]any)
		if z.status != 200 || len(res) != 2 || res[0].(map[string]any)["allowed"] == true || res[1].(map[string]any)["allowed"] == true {
			t.Errorf("authorize beyond the robot's viewer role: %d %s", z.status, redact(z.raw))
		}
	})

	t.Run("read back without the secret", func(t *testing.T) {
		for id, secret := range map[string]string{sdkKey.GetId(): sdkSecret, restID: restSecret, cloudID: cloudSecret} {
			g := l.rest("GET", "/iam/v1/apiKeys/"+id, w.admin, nil)
			if _, has := g.body["secret"]; g.status != 200 || has || str(g.body, "maskedSecret") != maskedSecret(secret) || str(g.body, "serviceAccountId") != w.robot {
				t.Errorf("Yandex REST get %s: %d %s", id, g.status, redact(g.raw))
			}
			got, err := sdk.Get(ctx, &iampb.GetApiKeyRequest{ApiKeyId: id})
			l.seen = append(l.seen, protojson.Format(got))
			if err != nil || got.GetMaskedSecret() != maskedSecret(secret) {
				t.Errorf("SDK get %s = %v, %v", id, got, err)
			}
			g = l.rest("GET", cloudKeys+"/"+id, w.admin, nil)
			if g.status != 200 {
				t.Fatalf("Cloud.ru get %s: %d %s", id, g.status, redact(g.raw))
			}
			if k := decodeCloudKey(t, g.raw); k.Secret != "" || k.MaskedSecret != maskedSecret(secret) || k.ID != id {
				t.Errorf("Cloud.ru get %s: %s", id, redact(g.raw))
			}
		}
		g := l.rest("GET", cloudKeys+"/"+cloudID, w.admin, nil)
		checkCloudKey(t, decodeCloudKey(t, g.raw), w.robot, cloudExpires)

		want := map[string]string{sdkKey.GetId(): maskedSecret(sdkSecret), restID: maskedSecret(restSecret), cloudID: maskedSecret(cloudSecret)}
		ls := l.rest("GET", "/iam/v1/apiKeys?serviceAccountId="+w.robot, w.admin, nil)
		keys, _ := ls.body["apiKeys"].([]any)
		got := map[string]string{}
		for _, k := range keys {
			if _, has := k.(map[string]any)["secret"]; has {
				t.Errorf("Yandex REST list shows a secret: %s", redact(ls.raw))
			}
			got[str(k, "id")] = str(k, "maskedSecret")
		}
		if fmt.Sprint(got) != fmt.Sprint(want) {
			t.Errorf("Yandex REST list: %d %s, want masked secrets %v", ls.status, redact(ls.raw), want)
		}
		sl, err := sdk.List(ctx, &iampb.ListApiKeysRequest{ServiceAccountId: w.robot})
		l.seen = append(l.seen, protojson.Format(sl))
		got = map[string]string{}
		for _, k := range sl.GetApiKeys() {
			got[k.GetId()] = k.GetMaskedSecret()
		}
		if err != nil || fmt.Sprint(got) != fmt.Sprint(want) {
			t.Errorf("SDK list = %v, %v; want masked secrets %v", sl, err, want)
		}
		cl := l.rest("GET", cloudKeys+"?serviceAccountId="+w.robot, w.admin, nil)
		var page struct {
			APIKeys       []json.RawMessage `json:"api_keys"`
			NextPageToken *string           `json:"next_page_token"`
		}
		if err := json.Unmarshal([]byte(cl.raw), &page); cl.status != 200 || err != nil || page.NextPageToken == nil {
			t.Fatalf("Cloud.ru list: %d %s", cl.status, redact(cl.raw))
		}
		got = map[string]string{}
		for _, raw := range page.APIKeys {
			k := decodeCloudKey(t, string(raw))
			if k.Secret != "" {
				t.Errorf("Cloud.ru list shows secret %q", k.Secret)
			}
			got[k.ID] = k.MaskedSecret
		}
		if fmt.Sprint(got) != fmt.Sprint(want) {
			t.Errorf("Cloud.ru list: %s, want masked secrets %v", redact(cl.raw), want)
		}
	})

	t.Run("last_used_at is set after use", func(t *testing.T) {
		// The keys were used above, at apiKeyBase on wardend's clock.
		for _, id := range []string{sdkKey.GetId(), restID, cloudID} {
			l.waitLastUsed(t, id, apiKeyBase)
			y := l.rest("GET", "/iam/v1/apiKeys/"+id, w.admin, nil)
			if got := str(y.body, "lastUsedAt"); got != apiKeyBase.Format(time.RFC3339) {
				t.Errorf("Yandex lastUsedAt of %s = %q, want %s", id, got, apiKeyBase.Format(time.RFC3339))
			}
		}
	})

	t.Run("refused with a guessed secret", func(t *testing.T) {
		// Well-formed, checksum and all, for the live key's ID.
		messages["guessed"] = l.refused(t, apikey.NewSecret(cloudID), cloudCall, "wrong_secret")
		l.accepted(t, cloudSecret, cloudCall)
	})

	t.Run("refused when disabled", func(t *testing.T) {
		p := l.rest("PATCH", cloudKeys+"/"+cloudID, w.admin, map[string]any{"enabled": false})
		if p.status != 200 || decodeCloudKey(t, p.raw).Enabled {
			t.Fatalf("disable: %d %s", p.status, redact(p.raw))
		}
		messages["disabled"] = l.refused(t, cloudSecret, cloudCall, "disabled")
		p = l.rest("PATCH", cloudKeys+"/"+cloudID, w.admin, map[string]any{"enabled": true})
		if p.status != 200 || !decodeCloudKey(t, p.raw).Enabled {
			t.Fatalf("enable: %d %s", p.status, redact(p.raw))
		}
		l.accepted(t, cloudSecret, cloudCall)
	})

	t.Run("refused from outside IPv4 addresses", func(t *testing.T) {
		for _, addr := range []string{"10.1.2.3", "10.1.2.3:5555", "10.255.255.255:1", "192.0.2.7", "192.0.2.7:443", "[::ffff:10.1.2.3]:80"} {
			l.accepted(t, cloudSecret, keyCall{client: addr, service: "monaas"})
		}
		for i, addr := range []string{"11.0.0.1", "11.0.0.1:5555", "192.0.2.8", "192.0.2.6:443", "9.255.255.255", ""} {
			messages[fmt.Sprintf("IPv4 %d", i)] = l.refused(t, cloudSecret, keyCall{client: addr, service: "monaas"}, "address")
		}
	})

	t.Run("refused from outside IPv6 addresses", func(t *testing.T) {
		for _, addr := range []string{"2001:db8::1", "[2001:db8::1]:443", "[2001:db8:ffff:ffff::9]:1"} {
			l.accepted(t, cloudSecret, keyCall{client: addr, service: "monaas"})
		}
		for i, addr := range []string{"2001:db9::1", "[2001:db9::1]:443", "::1", "[2001:db7:ffff::1]:80"} {
			messages[fmt.Sprintf("IPv6 %d", i)] = l.refused(t, cloudSecret, keyCall{client: addr, service: "monaas"}, "address")
		}
	})

	t.Run("refused outside the time window", func(t *testing.T) {
		// 09–18 at UTC+3 is 06:00–14:59 UTC.
		day := apiKeyBase.Truncate(24 * time.Hour)
		defer setClock(l.clk, apiKeyBase)
		for _, at := range []time.Duration{6 * time.Hour, 14*time.Hour + 59*time.Minute + 59*time.Second} {
			setClock(l.clk, day.Add(at))
			l.accepted(t, cloudSecret, cloudCall)
		}
		for _, at := range []time.Duration{6*time.Hour - time.Second, 15 * time.Hour} {
			setClock(l.clk, day.Add(at))
			messages["time "+at.String()] = l.refused(t, cloudSecret, cloudCall, "time_window")
		}
		// A refused use is no use: last_used_at stays at the last accepted
		// one, also after the next flushes.
		lastAccepted := day.Add(14*time.Hour + 59*time.Minute + 59*time.Second)
		l.waitLastUsed(t, cloudID, lastAccepted)
		time.Sleep(2 * lastUsedFlush)
		l.waitLastUsed(t, cloudID, lastAccepted)
	})

	t.Run("refused for a product it lacks", func(t *testing.T) {
		messages["product postbox"] = l.refused(t, cloudSecret, keyCall{client: cloudCall.client, service: "postbox"}, "product")
		messages["no product"] = l.refused(t, cloudSecret, keyCall{client: cloudCall.client}, "product")
	})

	t.Run("denied for a scope it lacks", func(t *testing.T) {
		m := l.denied(t, sdkSecret, keyCall{client: sdkCall.client, service: "postbox", scope: "yc.monitoring.read"})
		if m2 := l.denied(t, sdkSecret, keyCall{client: sdkCall.client, service: "postbox"}); m2 != m {
			t.Errorf("no scope says %q, another scope %q", m2, m)
		}
		l.accepted(t, sdkSecret, sdkCall)
	})

	t.Run("refused while the service account is suspended", func(t *testing.T) {
		if s := l.rest("POST", "/iam/v1/serviceAccounts/"+w.robot+":suspend", w.admin, map[string]any{}); s.status != 200 {
			t.Fatalf("suspend: %d %s", s.status, redact(s.raw))
		}
		messages["suspended"] = l.refused(t, cloudSecret, cloudCall, "subject_inactive")
		l.refused(t, sdkSecret, sdkCall, "subject_inactive")
		l.refused(t, restSecret, restCall, "subject_inactive")
		if s := l.rest("POST", "/iam/v1/serviceAccounts/"+w.robot+":reactivate", w.admin, map[string]any{}); s.status != 200 {
			t.Fatalf("reactivate: %d %s", s.status, redact(s.raw))
		}
		l.accepted(t, cloudSecret, cloudCall)
		l.accepted(t, sdkSecret, sdkCall)
		l.accepted(t, restSecret, restCall)
	})

	t.Run("updates and their operations", func(t *testing.T) {
		op, err := sdk.Update(ctx, &iampb.UpdateApiKeyRequest{ApiKeyId: sdkKey.GetId(), UpdateMask: &fieldmaskpb.FieldMask{Paths: []string{"description"}}, Description: "renamed by the SDK"})
		if err != nil {
			t.Fatalf("SDK update: %v", err)
		}
		l.seen = append(l.seen, protojson.Format(op.Proto()))
		updated, err := op.Wait(ctx)
		if err != nil || updated.GetDescription() != "renamed by the SDK" || updated.GetMaskedSecret() != maskedSecret(sdkSecret) {
			t.Errorf("SDK update = %v, %v", updated, err)
		}
		l.seen = append(l.seen, protojson.Format(updated))
		u := l.rest("PATCH", "/iam/v1/apiKeys/"+restID, w.admin, map[string]any{"updateMask": "description", "description": "renamed over REST"})
		if u.status != 200 || str(u.body, "response", "description") != "renamed over REST" {
			t.Errorf("REST update: %d %s", u.status, redact(u.raw))
		}
		for _, id := range []string{op.ID(), str(u.body, "id")} {
			if g := l.rest("GET", "/operations/"+id, w.admin, nil); g.status != 200 || g.body["done"] != true {
				t.Errorf("GET /operations/%s: %d %s", id, g.status, redact(g.raw))
			}
		}
		for _, id := range []string{sdkKey.GetId(), restID} {
			if g := l.rest("GET", "/iam/v1/apiKeys/"+id+"/operations", w.admin, nil); g.status != 200 {
				t.Errorf("list operations of %s: %d %s", id, g.status, redact(g.raw))
			}
		}
		// The edits leave the keys working.
		l.accepted(t, sdkSecret, sdkCall)
		l.accepted(t, restSecret, restCall)
	})

	t.Run("refused once expired", func(t *testing.T) {
		// expires_at is 10:00 UTC two days on: inside the window.
		setClock(l.clk, cloudExpires.Add(-time.Second))
		l.accepted(t, cloudSecret, cloudCall)
		setClock(l.clk, cloudExpires)
		messages["expired"] = l.refused(t, cloudSecret, cloudCall, "expired")
		setClock(l.clk, cloudExpires.Add(time.Hour))
		messages["expired an hour ago"] = l.refused(t, cloudSecret, cloudCall, "expired")
		// Keys without expiry or with a later one still work.
		l.accepted(t, restSecret, restCall)
		l.accepted(t, sdkSecret, sdkCall)
		// A new expiry brings the key back.
		w.admin = n.iamToken()
		renewed := l.clk.now().Add(7 * 24 * time.Hour)
		p := l.rest("PATCH", cloudKeys+"/"+cloudID, w.admin, map[string]any{"expiresAt": renewed.Format(time.RFC3339)})
		if p.status != 200 || !parseKeyTime(t, "expires_at", decodeCloudKey(t, p.raw).ExpiresAt).Equal(renewed) {
			t.Fatalf("renew: %d %s", p.status, redact(p.raw))
		}
		l.accepted(t, cloudSecret, cloudCall)
	})

	t.Run("refused after delete", func(t *testing.T) {
		w.admin = n.iamToken()
		sdk := iamsdk.NewApiKeyClient(newSDK(t, n.addr, credentials.IAMToken(w.admin)))
		op, err := sdk.Delete(ctx, &iampb.DeleteApiKeyRequest{ApiKeyId: sdkKey.GetId()})
		if err != nil {
			t.Fatalf("SDK delete: %v", err)
		}
		if _, err := op.Wait(ctx); err != nil {
			t.Fatalf("SDK delete wait: %v", err)
		}
		d := l.rest("DELETE", "/iam/v1/apiKeys/"+restID, w.admin, nil)
		if d.status != 200 {
			t.Fatalf("REST delete: %d %s", d.status, redact(d.raw))
		}
		for _, id := range []string{op.ID(), str(d.body, "id")} {
			if g := l.rest("GET", "/operations/"+id, w.admin, nil); g.status != 200 || g.body["done"] != true {
				t.Errorf("GET /operations/%s: %d %s", id, g.status, redact(g.raw))
			}
		}
		if d := l.rest("DELETE", cloudKeys+"/"+cloudID, w.admin, nil); d.status != 200 {
			t.Fatalf("Cloud.ru delete: %d %s", d.status, redact(d.raw))
		}
		messages["deleted"] = l.refused(t, cloudSecret, cloudCall, "unknown_key")
		l.refused(t, sdkSecret, sdkCall, "unknown_key")
		l.refused(t, restSecret, restCall, "unknown_key")
		for _, id := range []string{sdkKey.GetId(), restID, cloudID} {
			if g := l.rest("GET", "/iam/v1/apiKeys/"+id, w.admin, nil); g.status != 404 {
				t.Errorf("Yandex get of deleted %s: %d %s", id, g.status, redact(g.raw))
			}
			if g := l.rest("GET", cloudKeys+"/"+id, w.admin, nil); g.status != 404 {
				t.Errorf("Cloud.ru get of deleted %s: %d %s", id, g.status, redact(g.raw))
			}
		}
		if ls := l.rest("GET", cloudKeys+"?serviceAccountId="+w.robot, w.admin, nil); !strings.Contains(ls.raw, `"api_keys":[]`) {
			t.Errorf("Cloud.ru list after delete: %s", redact(ls.raw))
		}
	})

	t.Run("every refusal reads the same", func(t *testing.T) {
		// A malformed secret and a well-formed one of no key are refused
		// alike too.
		messages["malformed"] = l.refused(t, "warden_ak_nonsense", cloudCall, "malformed")
		forged := []byte(cloudSecret)
		forged[len("warden_ak_")+3] ^= 1 // another key ID: the checksum breaks
		messages["forged"] = l.refused(t, string(forged), cloudCall, "malformed")
		// A well-formed secret of a key that never was.
		messages["never was"] = l.refused(t, apikey.NewSecret("akaaaaaaaaaaaaaaaaaa"), cloudCall, "unknown_key")
		want := messages["disabled"]
		if want == "" {
			t.Fatal("no refusal message recorded")
		}
		for reason, got := range messages {
			if got != want {
				t.Errorf("refusal %q says %q; disabled says %q", reason, got, want)
			}
		}
	})

	t.Run("no secret in logs or answers", func(t *testing.T) {
		// The refusals above are logged, with the key ID: the log is
		// where a secret would show.
		if !strings.Contains(n.logs.String(), "API key "+cloudID+" refused") {
			t.Error("the log has no refusal of the Cloud.ru key")
		}
		l.checkNoLeak(t)
	})
}

// waitLastUsed waits until the Cloud.ru API shows want as the key's
// last_used_at.
func (l *keyLab) waitLastUsed(t *testing.T, id string, want time.Time) {
	t.Helper()
	deadline := time.Now().Add(10 * time.Second)
	for {
		g := l.rest("GET", cloudKeys+"/"+id, l.w.admin, nil)
		k := decodeCloudKey(t, g.raw)
		if k.LastUsedAt != nil && parseKeyTime(t, "last_used_at", k.LastUsedAt).Equal(want) {
			return
		}
		if time.Now().After(deadline) {
			t.Fatalf("last_used_at of %s is not %v 10 s on: %s", id, want, redact(g.raw))
		}
		time.Sleep(50 * time.Millisecond)
	}
}

// checkCloudKey checks the fields of the lifecycle key that read back as
// they were sent.
func checkCloudKey(t *testing.T, k cloudKey, sa string, expires time.Time) {
	t.Helper()
	r := k.Restrictions
	if k.Name != "api-key-test" || k.Description != "тестовый api-key" || k.ServiceAccountID != sa || !k.Enabled ||
		fmt.Sprint(k.Products) != "[monaas]" || fmt.Sprint(r.IPAddresses.IPAddresses) != "[10.0.0.0/8 2001:db8::/32 192.0.2.7]" ||
		len(r.TimeRange.TimeSlots) != 1 || r.TimeRange.TimeSlots[0].Start != 9 || r.TimeRange.TimeSlots[0].End != 18 || r.TimeRange.Timezone != 3 {
		t.Errorf("Cloud.ru key reads back as %+v", k)
	}
	if got := parseKeyTime(t, "expires_at", k.ExpiresAt); !got.Equal(expires) {
		t.Errorf("expires_at = %v, want %v", got, expires)
	}
	if _, err := time.Parse(time.RFC3339Nano, k.UpdatedAt); err != nil {
		t.Errorf("updated_at: %v", err)
	}
}

// checkNoLeak fails if a secret made in the test, or its random part,
// shows in the node's log or in any answer but its creation.
func (l *keyLab) checkNoLeak(t *testing.T) {
	t.Helper()
	logs := l.n.logs.String()
	if len(logs) == 0 {
		t.Fatal("the node logged nothing: the check would prove nothing")
	}
	for _, s := range l.secrets {
		random := s[len("warden_ak_")+20+1:]
		for what, needle := range map[string]string{"secret": s, "random part": random[:43], "random part and checksum": random} {
			if strings.Contains(logs, needle) {
				t.Errorf("the log holds a %s of %s", what, s[:len("warden_ak_")+20])
			}
			for _, a := range l.seen {
				if strings.Contains(a, needle) {
					// Redacted: test output is a log too.
					t.Errorf("an answer holds a %s of %s: %s", what, s[:len("warden_ak_")+20], strings.ReplaceAll(a, needle, "<"+what+">"))
				}
			}
		}
	}
}

// TestAPIKeyTimeWindow checks daily windows in several timezones on
// wardend's clock: each key is accepted at the first and last second of its
// window, in UTC, and refused the second before and the second after.
func TestAPIKeyTimeWindow(t *testing.T) {
	for _, be := range backends(t) {
		t.Run(be.name, func(t *testing.T) { apiKeyTimeWindow(t, be) })
	}
}

func apiKeyTimeWindow(t *testing.T, be backend) {
	l := newKeyLab(t, be)
	l.w.bind(t, "/resource-manager/v1/folders/"+l.w.folderB, "ADD", "viewer", "serviceAccount", l.w.robot)
	tests := []struct {
		name    string
		slots   [][2]int // local hours [start, end)
		tz      int
		inside  []string // UTC times of the day after the key was made
		outside []string
	}{
		{"UTC-12 09-17 runs past midnight UTC", [][2]int{{9, 17}}, -12, []string{"21:00:00", "23:59:59", "00:00:00", "04:59:59"}, []string{"20:59:59", "05:00:00", "12:00:00"}},
		{"UTC-12 00-24 is all day", [][2]int{{0, 24}}, -12, []string{"00:00:00", "11:59:59", "12:00:00", "23:59:59"}, nil},
		{"UTC 09-17", [][2]int{{9, 17}}, 0, []string{"09:00:00", "16:59:59"}, []string{"08:59:59", "17:00:00"}},
		{"UTC 00-01 and 23-24", [][2]int{{0, 1}, {23, 24}}, 0, []string{"00:00:00", "00:59:59", "23:00:00", "23:59:59"}, []string{"01:00:00", "22:59:59"}},
		{"UTC+3 22-24 ends at midnight", [][2]int{{22, 24}}, 3, []string{"19:00:00", "20:59:59"}, []string{"18:59:59", "21:00:00"}},
		{"UTC+3 18-19 of the seed", [][2]int{{18, 19}}, 3, []string{"15:00:00", "15:59:59"}, []string{"14:59:59", "16:00:00"}},
		{"UTC+12 00-06 is the UTC afternoon", [][2]int{{0, 6}}, 12, []string{"12:00:00", "17:59:59"}, []string{"11:59:59", "18:00:00"}},
		{"UTC+12 22-24", [][2]int{{22, 24}}, 12, []string{"10:00:00", "11:59:59"}, []string{"09:59:59", "12:00:00"}},
	}
	day := apiKeyBase.Truncate(24 * time.Hour).Add(24 * time.Hour)
	at := func(t *testing.T, hms string) time.Time {
		t.Helper()
		c, err := time.Parse("15:04:05", hms)
		if err != nil {
			t.Fatal(err)
		}
		return day.Add(time.Duration(c.Hour())*time.Hour + time.Duration(c.Minute())*time.Minute + time.Duration(c.Second())*time.Second)
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			setClock(l.clk, apiKeyBase)
			var slots []map[string]int
			for _, s := range tt.slots {
				slots = append(slots, map[string]int{"start": s[0], "end": s[1]})
			}
			r := l.n.rest("POST", cloudKeys, l.w.admin, map[string]any{"name": "window", "serviceAccountId": l.w.robot, "products": []string{"monaas"},
				"restrictions": map[string]any{"timeRange": map[string]any{"timeSlots": slots, "timezone": tt.tz}}})
			if r.status != 200 {
				t.Fatalf("create: %d %s", r.status, redact(r.raw))
			}
			k := decodeCloudKey(t, r.raw)
			l.secrets = append(l.secrets, k.Secret)
			if k.Restrictions.TimeRange.Timezone != tt.tz || len(k.Restrictions.TimeRange.TimeSlots) != len(tt.slots) {
				t.Errorf("created %s", redact(r.raw))
			}
			for _, hms := range tt.inside {
				setClock(l.clk, at(t, hms))
				l.accepted(t, k.Secret, keyCall{service: "monaas"})
			}
			for _, hms := range tt.outside {
				setClock(l.clk, at(t, hms))
				l.refused(t, k.Secret, keyCall{service: "monaas"}, "time_window")
			}
		})
	}
}

// TestAPIKeyManagementPermissions: managing a service account's keys takes
// iam.serviceAccounts.apiKeys.* on it, through every API; without it the
// answer is PermissionDenied, for a key that exists and for one that does
// not alike.
func TestAPIKeyManagementPermissions(t *testing.T) {
	for _, be := range backends(t) {
		t.Run(be.name, func(t *testing.T) { apiKeyManagementPermissions(t, be) })
	}
}

func apiKeyManagementPermissions(t *testing.T, be backend) {
	l := newKeyLab(t, be)
	n, w := l.n, l.w
	sa := n.rest("POST", "/iam/v1/serviceAccounts", w.admin, map[string]any{"folderId": w.folderA, "name": "target"})
	target := str(sa.body, "response", "id")
	made := n.rest("POST", cloudKeys, w.admin, cloudBody(target, apiKeyBase.Add(30*24*time.Hour)))
	if made.status != 200 || target == "" {
		t.Fatalf("create key of target: %d %s", made.status, redact(made.raw))
	}
	key := str(made.body, "id")
	l.secrets = append(l.secrets, str(made.body, "secret"))
	// The robot may read service accounts in the target's folder, which
	// grants nothing on their keys.
	w.bind(t, "/resource-manager/v1/folders/"+w.folderA, "ADD", "iam.serviceAccounts.user", "serviceAccount", w.robot)
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	sdk := iamsdk.NewApiKeyClient(newSDK(t, n.addr, credentials.IAMToken(w.robotToken)))

	// each runs every management call as the robot; want is the code.
	each := func(t *testing.T, key string, want codes.Code) {
		t.Helper()
		steps := []struct {
			name string
			do   func() codes.Code
		}{
			{"Yandex REST create", func() codes.Code {
				return restCode(l.rest("POST", "/iam/v1/apiKeys", w.robotToken, map[string]any{"serviceAccountId": target}))
			}},
			{"Cloud.ru create", func() codes.Code {
				return restCode(l.rest("POST", cloudKeys, w.robotToken, map[string]any{"name": "by-robot", "serviceAccountId": target}))
			}},
			{"SDK create", func() codes.Code {
				_, err := sdk.Create(ctx, &iampb.CreateApiKeyRequest{ServiceAccountId: target})
				return status.Code(err)
			}},
			{"Yandex REST get", func() codes.Code { return restCode(l.rest("GET", "/iam/v1/apiKeys/"+key, w.robotToken, nil)) }},
			{"Cloud.ru get", func() codes.Code { return restCode(l.rest("GET", cloudKeys+"/"+key, w.robotToken, nil)) }},
			{"SDK get", func() codes.Code {
				_, err := sdk.Get(ctx, &iampb.GetApiKeyRequest{ApiKeyId: key})
				return status.Code(err)
			}},
			{"Yandex REST list", func() codes.Code {
				return restCode(l.rest("GET", "/iam/v1/apiKeys?serviceAccountId="+target, w.robotToken, nil))
			}},
			{"Cloud.ru list", func() codes.Code {
				return restCode(l.rest("GET", cloudKeys+"?serviceAccountId="+target, w.robotToken, nil))
			}},
			{"SDK list", func() codes.Code {
				_, err := sdk.List(ctx, &iampb.ListApiKeysRequest{ServiceAccountId: target})
				return status.Code(err)
			}},
			{"Cloud.ru update", func() codes.Code {
				return restCode(l.rest("PATCH", cloudKeys+"/"+key, w.robotToken, map[string]any{"enabled": true}))
			}},
			{"Yandex REST update", func() codes.Code {
				return restCode(l.rest("PATCH", "/iam/v1/apiKeys/"+key, w.robotToken, map[string]any{"updateMask": "description", "description": "x"}))
			}},
			{"Yandex REST delete", func() codes.Code { return restCode(l.rest("DELETE", "/iam/v1/apiKeys/"+key, w.robotToken, nil)) }},
			{"Cloud.ru delete", func() codes.Code { return restCode(l.rest("DELETE", cloudKeys+"/"+key, w.robotToken, nil)) }},
			{"SDK delete", func() codes.Code {
				_, err := sdk.Delete(ctx, &iampb.DeleteApiKeyRequest{ApiKeyId: key})
				return status.Code(err)
			}},
		}
		for _, s := range steps {
			if got := s.do(); got != want {
				t.Errorf("%s: %v, want %v", s.name, got, want)
			}
		}
	}

	t.Run("without the permission", func(t *testing.T) {
		each(t, key, codes.PermissionDenied)
	})
	t.Run("a key that does not exist", func(t *testing.T) {
		each(t, "akaaaaaaaaaaaaaaaaaa", codes.PermissionDenied)
	})
	t.Run("nothing changed", func(t *testing.T) {
		ls := n.rest("GET", cloudKeys+"?serviceAccountId="+target, w.admin, nil)
		if got := strings.Count(ls.raw, `"id":`); ls.status != 200 || got != 1 || !strings.Contains(ls.raw, key) {
			t.Errorf("target's keys: %d %s", ls.status, redact(ls.raw))
		}
	})
	t.Run("with iam.serviceAccounts.apiKeyAdmin on the account", func(t *testing.T) {
		w.bind(t, "/iam/v1/serviceAccounts/"+target, "ADD", "iam.serviceAccounts.apiKeyAdmin", "serviceAccount", w.robot)
		c := l.n.rest("POST", cloudKeys, w.robotToken, map[string]any{"name": "by-robot", "serviceAccountId": target})
		if c.status != 200 {
			t.Fatalf("create: %d %s", c.status, redact(c.raw))
		}
		l.secrets = append(l.secrets, str(c.body, "secret"))
		mine := str(c.body, "id")
		for _, r := range []response{
			l.rest("GET", cloudKeys+"/"+key, w.robotToken, nil),
			l.rest("GET", "/iam/v1/apiKeys?serviceAccountId="+target, w.robotToken, nil),
			l.rest("PATCH", cloudKeys+"/"+key, w.robotToken, map[string]any{"description": "seen by the robot"}),
			l.rest("DELETE", "/iam/v1/apiKeys/"+mine, w.robotToken, nil),
			l.rest("DELETE", cloudKeys+"/"+key, w.robotToken, nil),
		} {
			if r.status != 200 {
				t.Errorf("%d %s", r.status, redact(r.raw))
			}
		}
		// The role is on the target alone: the robot's own keys stay out
		// of reach.
		if r := l.rest("GET", "/iam/v1/apiKeys?serviceAccountId="+w.robot, w.robotToken, nil); r.status != 403 {
			t.Errorf("robot lists its own keys: %d %s", r.status, redact(r.raw))
		}
	})
	t.Run("no secret in logs or answers", func(t *testing.T) {
		l.checkNoLeak(t)
	})
}

// TestAPIKeyProducts lists the products keys can be bound to, in seed
// 001's shape.
func TestAPIKeyProducts(t *testing.T) {
	n := start(t, t.TempDir(), "")
	w := newWorld(t, n)
	if r := n.rest("GET", "/api/v1/products", "", nil); r.status != 401 {
		t.Errorf("without a credential: %d %s", r.status, redact(r.raw))
	}
	r := n.rest("GET", "/api/v1/products", w.robotToken, nil)
	var got struct {
		Products []struct {
			ID          string   `json:"id"`
			Name        string   `json:"name"`
			Description string   `json:"description"`
			Endpoints   []string `json:"endpoints"`
			Scopes      []string `json:"scopes"`
			CreatedAt   string   `json:"created_at"`
			UpdatedAt   string   `json:"updated_at"`
		} `json:"products"`
	}
	dec := json.NewDecoder(strings.NewReader(r.raw))
	dec.DisallowUnknownFields()
	if err := dec.Decode(&got); r.status != 200 || err != nil {
		t.Fatalf("GET /api/v1/products: %d %s (%v)", r.status, redact(r.raw), err)
	}
	byName := map[string]bool{}
	ids := map[string]bool{}
	for _, p := range got.Products {
		byName[p.Name] = true
		if p.ID == "" || ids[p.ID] || p.Description == "" || len(p.Endpoints) == 0 {
			t.Errorf("product %+v", p)
		}
		ids[p.ID] = true
		for _, ts := range []string{p.CreatedAt, p.UpdatedAt} {
			if _, err := time.Parse(time.RFC3339Nano, ts); err != nil {
				t.Errorf("product %s: %v", p.Name, err)
			}
		}
	}
	for _, name := range []string{"postbox", "monaas", "logaas"} {
		if !byName[name] {
			t.Errorf("no product %q in %s", name, redact(r.raw))
		}
	}
}

// TestAPIKeyServiceAccountDeleted: deleting a service account deletes its
// keys, and the access service forgets them like keys deleted one by one.
func TestAPIKeyServiceAccountDeleted(t *testing.T) {
	for _, be := range backends(t) {
		t.Run(be.name, func(t *testing.T) { apiKeyServiceAccountDeleted(t, be) })
	}
}

func apiKeyServiceAccountDeleted(t *testing.T, be backend) {
	l := newKeyLab(t, be)
	n, w := l.n, l.w
	loaded := l.keysLoaded(t)
	sa := n.rest("POST", "/iam/v1/serviceAccounts", w.admin, map[string]any{"folderId": w.folderB, "name": "doomed"})
	doomed := str(sa.body, "response", "id")
	r := n.rest("POST", cloudKeys, w.admin, map[string]any{"name": "doomed-key", "serviceAccountId": doomed})
	if r.status != 200 || doomed == "" {
		t.Fatalf("create: %d %s", r.status, redact(r.raw))
	}
	id, secret := str(r.body, "id"), str(r.body, "secret")
	l.secrets = append(l.secrets, secret)
	for _, a := range l.ask(t, secret, keyCall{}) {
		if a.code != codes.OK || a.subject != doomed {
			t.Fatalf("%s before the delete: %v %q", a.way, a.code, a.message)
		}
	}
	if got := l.keysLoaded(t); got != loaded+1 {
		t.Errorf("warden_api_keys_loaded = %v with the key, want %v", got, loaded+1)
	}
	if d := n.rest("DELETE", "/iam/v1/serviceAccounts/"+doomed, w.admin, nil); d.status != 200 {
		t.Fatalf("delete the service account: %d %s", d.status, redact(d.raw))
	}

	t.Run("refused", func(t *testing.T) {
		if m, want := l.refused(t, secret, keyCall{}, ""), l.refused(t, "warden_ak_nonsense", keyCall{}, "malformed"); m != want {
			t.Errorf("refusal says %q, a malformed secret %q", m, want)
		}
		for _, path := range []string{cloudKeys + "/" + id, "/iam/v1/apiKeys/" + id} {
			if g := l.rest("GET", path, w.admin, nil); g.status != 404 {
				t.Errorf("GET %s: %d %s, want 404", path, g.status, redact(g.raw))
			}
		}
	})
	t.Run("forgotten", func(t *testing.T) {
		deadline := time.Now().Add(5 * time.Second)
		for l.keysLoaded(t) != loaded {
			if time.Now().After(deadline) {
				t.Fatalf("warden_api_keys_loaded = %v 5 s after the delete, want %v", l.keysLoaded(t), loaded)
			}
			time.Sleep(50 * time.Millisecond)
		}
		l.refused(t, secret, keyCall{}, "unknown_key")
	})
	t.Run("no secret in logs or answers", func(t *testing.T) {
		l.checkNoLeak(t)
	})
}

// keysLoaded reads the warden_api_keys_loaded gauge.
func (l *keyLab) keysLoaded(t *testing.T) float64 {
	t.Helper()
	r := l.n.rest("GET", "/metrics", "", nil)
	for line := range strings.SplitSeq(r.raw, "\n") {
		if v, ok := strings.CutPrefix(line, "warden_api_keys_loaded "); ok {
			f, err := strconv.ParseFloat(v, 64)
			if err != nil {
				t.Fatalf("metric %q: %v", line, err)
			}
			return f
		}
	}
	t.Fatal("no warden_api_keys_loaded metric")
	return 0
}

// TestAPIKeySecretNotEchoed: a secret pasted where a key or service
// account ID belongs (revoking a leaked key by its secret is the likely
// slip) is refused without the secret in the answer or the log.
func TestAPIKeySecretNotEchoed(t *testing.T) {
	l := newKeyLab(t, backends(t)[0])
	n, w := l.n, l.w
	r := n.rest("POST", cloudKeys, w.admin, cloudBody(w.robot, apiKeyBase.Add(48*time.Hour)))
	id, secret := str(r.body, "id"), str(r.body, "secret")
	if r.status != 200 {
		t.Fatalf("create: %d %s", r.status, redact(r.raw))
	}
	l.secrets = append(l.secrets, secret)
	pasted := func(t *testing.T, reqs [][3]string) {
		t.Helper()
		for _, q := range reqs {
			var body any
			if q[2] != "" {
				body = q[2]
			}
			if a := l.rest(q[0], q[1], w.admin, body); a.status < 400 || a.status > 499 {
				t.Errorf("%s %s: %d, want a 4xx", q[0], strings.ReplaceAll(q[1], secret, "<secret>"), a.status)
			}
		}
		l.checkNoLeak(t)
		if g := n.rest("GET", cloudKeys+"/"+id, w.admin, nil); g.status != 200 {
			t.Errorf("the key is gone: %d %s", g.status, redact(g.raw))
		}
	}
	t.Run("Yandex API", func(t *testing.T) {
		pasted(t, [][3]string{
			{"GET", "/iam/v1/apiKeys/" + secret, ""},
			{"PATCH", "/iam/v1/apiKeys/" + secret, `{"updateMask": "description", "description": "x"}`},
			{"DELETE", "/iam/v1/apiKeys/" + secret, ""},
			{"GET", "/iam/v1/apiKeys?serviceAccountId=" + secret, ""},
			{"POST", "/iam/v1/apiKeys", `{"serviceAccountId": "` + secret + `"}`},
		})
		ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
		defer cancel()
		sdk := iamsdk.NewApiKeyClient(newSDK(t, n.addr, credentials.IAMToken(w.admin)))
		_, err := sdk.Get(ctx, &iampb.GetApiKeyRequest{ApiKeyId: secret})
		if err == nil || strings.Contains(err.Error(), secret[len("warden_ak_")+21:]) {
			t.Errorf("SDK get by the secret: %v", strings.ReplaceAll(fmt.Sprint(err), secret, "<secret>"))
		}
	})
	t.Run("Cloud.ru API", func(t *testing.T) {
		pasted(t, [][3]string{
			{"GET", cloudKeys + "/" + secret, ""},
			{"PATCH", cloudKeys + "/" + secret, `{"enabled": false}`},
			{"DELETE", cloudKeys + "/" + secret, ""},
			{"GET", cloudKeys + "?serviceAccountId=" + secret, ""},
			{"POST", cloudKeys, `{"name": "x", "serviceAccountId": "` + secret + `"}`},
		})
	})
}
