package e2e

import (
	"context"
	"fmt"
	"strconv"
	"strings"
	"testing"
	"time"

	iampb "github.com/yandex-cloud/go-genproto/yandex/cloud/iam/v1"
	"github.com/yandex-cloud/go-sdk/v2/credentials"
	iamsdk "github.com/yandex-cloud/go-sdk/v2/services/iam/v1"
	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/status"
	"google.golang.org/protobuf/types/known/timestamppb"
)

// TestAPIKeyValidation sends one bad value per rule through each API and
// expects InvalidArgument naming the field, and that nothing was created
// or changed.
func TestAPIKeyValidation(t *testing.T) {
	for _, be := range backends(t) {
		t.Run(be.name, func(t *testing.T) { apiKeyValidation(t, be) })
	}
}

// badKeyRequest is one request that must be refused as InvalidArgument.
type badKeyRequest struct {
	name, method, path string
	body               any
	// field is what the message must start with, followed by ":"; when
	// unknown is set, a JSON field the message must quote instead.
	field   string
	unknown bool
}

func apiKeyValidation(t *testing.T, be backend) {
	l := newKeyLab(t, be)
	n, w := l.n, l.w
	now := apiKeyBase

	// Bodies of Cloud.ru creates, valid but for one edit.
	cloud := func(edit func(b map[string]any)) map[string]any {
		b := cloudBody(w.robot, now.Add(30*24*time.Hour))
		edit(b)
		return b
	}
	set := func(field string, v any) map[string]any { return cloud(func(b map[string]any) { b[field] = v }) }
	ips := func(addrs ...string) map[string]any {
		return cloud(func(b map[string]any) {
			b["restrictions"].(map[string]any)["ipAddresses"] = map[string]any{"ipAddresses": addrs}
		})
	}
	timeRange := func(tz any, slots ...map[string]any) map[string]any {
		return cloud(func(b map[string]any) {
			b["restrictions"].(map[string]any)["timeRange"] = map[string]any{"timeSlots": slots, "timezone": tz}
		})
	}
	slot := func(start, end any) map[string]any { return map[string]any{"start": start, "end": end} }
	var manyAddrs []string
	for i := range 101 {
		manyAddrs = append(manyAddrs, fmt.Sprintf("10.0.%d.0/24", i))
	}
	var manySlots []map[string]any
	for h := range 25 {
		manySlots = append(manySlots, slot(h%24, h%24+1))
	}
	// Bodies of Yandex REST creates.
	yandex := func(over map[string]any) map[string]any {
		b := map[string]any{"serviceAccountId": w.robot, "description": "valid"}
		for k, v := range over {
			b[k] = v
		}
		return b
	}
	manyScopes := make([]string, 101)
	for i := range manyScopes {
		manyScopes[i] = "yc.postbox.send"
	}

	const ipField = "restrictions.ipAddresses.ipAddresses"
	const slotField = "restrictions.timeRange.timeSlots"
	const tzField = "restrictions.timeRange.timezone"
	tests := []badKeyRequest{
		{"CIDR prefix 33", "POST", cloudKeys, ips("10.0.0.0/33"), ipField + "[0]", false},
		{"not an IP", "POST", cloudKeys, ips("not-an-ip"), ipField + "[0]", false},
		{"subnet with host bits", "POST", cloudKeys, ips("10.1.2.3/8"), ipField + "[0]", false},
		{"IPv6 prefix 129 second", "POST", cloudKeys, ips("10.0.0.0/8", "2001:db8::/129"), ipField + "[1]", false},
		{"IPv6 with zone", "POST", cloudKeys, ips("fe80::1%eth0"), ipField + "[0]", false},
		{"101 addresses", "POST", cloudKeys, ips(manyAddrs...), ipField, false},
		{"slot start equals end", "POST", cloudKeys, timeRange(3, slot(18, 18)), slotField + "[0]", false},
		{"slot start after end", "POST", cloudKeys, timeRange(3, slot(19, 18)), slotField + "[0]", false},
		{"slot hour 25", "POST", cloudKeys, timeRange(3, slot(20, 25)), slotField + "[0]", false},
		{"slot hour negative", "POST", cloudKeys, timeRange(3, slot(-1, 5)), slotField + "[0]", false},
		{"slot hour 18.5", "POST", cloudKeys, timeRange(3, slot(18.5, 19)), slotField + "[0].start", false},
		{"slot end missing", "POST", cloudKeys, timeRange(3, map[string]any{"start": 1}), slotField + "[0].end", false},
		{"25 slots", "POST", cloudKeys, timeRange(3, manySlots...), slotField, false},
		{"timezone 13", "POST", cloudKeys, timeRange(13, slot(9, 18)), tzField, false},
		{"timezone -13", "POST", cloudKeys, timeRange(-13, slot(9, 18)), tzField, false},
		{"timezone 3.5", "POST", cloudKeys, timeRange(3.5, slot(9, 18)), tzField, false},
		{"expires in an hour", "POST", cloudKeys, set("expiresAt", now.Add(time.Hour).Format(time.RFC3339)), "expiresAt", false},
		{"expires in two years", "POST", cloudKeys, set("expiresAt", now.AddDate(2, 0, 0).Format(time.RFC3339)), "expiresAt", false},
		{"expired an hour ago", "POST", cloudKeys, set("expiresAt", now.Add(-time.Hour).Format(time.RFC3339)), "expiresAt", false},
		{"expiresAt not a time", "POST", cloudKeys, set("expiresAt", "next week"), "expiresAt", false},
		{"name with slash", "POST", cloudKeys, set("name", "api/key"), "name", false},
		{"name empty", "POST", cloudKeys, set("name", ""), "name", false},
		{"name 257 characters", "POST", cloudKeys, set("name", strings.Repeat("n", 257)), "name", false},
		{"name missing", "POST", cloudKeys, cloud(func(b map[string]any) { delete(b, "name") }), "name", false},
		{"unknown product", "POST", cloudKeys, set("products", []string{"nosuch"}), "products[0]", false},
		{"product twice", "POST", cloudKeys, set("products", []string{"monaas", "monaas"}), "products[1]", false},
		{"products not a list", "POST", cloudKeys, set("products", "monaas"), "products", false},
		{"description 257 characters", "POST", cloudKeys, set("description", strings.Repeat("d", 257)), "description", false},
		{"unknown scope over Cloud.ru", "POST", cloudKeys, set("scopes", []string{"yc.nosuch.read"}), "scopes[0]", false},
		{"a field given both ways", "POST", cloudKeys, set("service_account_id", w.robot), "serviceAccountId", false},
		{"unknown field", "POST", cloudKeys, set("color", "red"), "color", true},
		{"101 scopes", "POST", "/iam/v1/apiKeys", yandex(map[string]any{"scopes": manyScopes}), "scopes", false},
		{"scope twice", "POST", "/iam/v1/apiKeys", yandex(map[string]any{"scopes": []string{"yc.postbox.send", "yc.postbox.send"}}), "scopes[1]", false},
		{"unknown scope", "POST", "/iam/v1/apiKeys", yandex(map[string]any{"scopes": []string{"yc.nosuch.read"}}), "scopes[0]", false},
		{"scope 257 characters", "POST", "/iam/v1/apiKeys", yandex(map[string]any{"scopes": []string{strings.Repeat("s", 257)}}), "scopes[0]", false},
		{"expires_at in the past", "POST", "/iam/v1/apiKeys", yandex(map[string]any{"expiresAt": now.Add(-time.Hour).Format(time.RFC3339)}), "expires_at", false},
		{"expires_at now", "POST", "/iam/v1/apiKeys", yandex(map[string]any{"expiresAt": now.Format(time.RFC3339)}), "expires_at", false},
		{"Yandex description 257 characters", "POST", "/iam/v1/apiKeys", yandex(map[string]any{"description": strings.Repeat("d", 257)}), "description", false},
		{"Yandex unknown field", "POST", "/iam/v1/apiKeys", yandex(map[string]any{"products": []string{"monaas"}}), "products", true},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) { l.invalid(t, tt) })
	}

	t.Run("through the Yandex SDK", func(t *testing.T) {
		ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
		defer cancel()
		sdk := iamsdk.NewApiKeyClient(newSDK(t, n.addr, credentials.IAMToken(w.admin)))
		for _, tt := range []struct {
			name  string
			req   *iampb.CreateApiKeyRequest
			field string
		}{
			{"101 scopes", &iampb.CreateApiKeyRequest{ServiceAccountId: w.robot, Scopes: manyScopes}, "scopes"},
			{"scope twice", &iampb.CreateApiKeyRequest{ServiceAccountId: w.robot, Scopes: []string{"yc.logging.read", "yc.logging.read"}}, "scopes[1]"},
			{"unknown scope", &iampb.CreateApiKeyRequest{ServiceAccountId: w.robot, Scopes: []string{"yc.nosuch.read"}}, "scopes[0]"},
			{"expires_at in the past", &iampb.CreateApiKeyRequest{ServiceAccountId: w.robot, ExpiresAt: timestamppb.New(now.Add(-time.Minute))}, "expires_at"},
		} {
			t.Run(tt.name, func(t *testing.T) {
				_, err := sdk.Create(ctx, tt.req)
				if st, _ := status.FromError(err); st.Code() != codes.InvalidArgument || !strings.HasPrefix(st.Message(), tt.field+":") {
					t.Errorf("got %v, want InvalidArgument naming %q", err, tt.field)
				}
			})
		}
	})

	t.Run("nothing was created", func(t *testing.T) {
		if r := n.rest("GET", cloudKeys+"?serviceAccountId="+w.robot, w.admin, nil); r.status != 200 || !strings.Contains(r.raw, `"api_keys":[]`) {
			t.Errorf("Cloud.ru list: %d %s", r.status, redact(r.raw))
		}
		if r := n.rest("GET", "/iam/v1/apiKeys?serviceAccountId="+w.robot, w.admin, nil); r.status != 200 || r.body["apiKeys"] != nil {
			t.Errorf("Yandex list: %d %s", r.status, redact(r.raw))
		}
	})

	t.Run("updates", func(t *testing.T) {
		// A key of another service account, so the robot's list stays empty.
		sa := n.rest("POST", "/iam/v1/serviceAccounts", w.admin, map[string]any{"folderId": w.folderB, "name": "other"})
		other := str(sa.body, "response", "id")
		c := n.rest("POST", cloudKeys, w.admin, cloudBody(other, now.Add(30*24*time.Hour)))
		if c.status != 200 {
			t.Fatalf("create: %d %s", c.status, redact(c.raw))
		}
		id := str(c.body, "id")
		l.secrets = append(l.secrets, str(c.body, "secret"))
		before := n.rest("GET", cloudKeys+"/"+id, w.admin, nil).raw
		for _, tt := range []badKeyRequest{
			{"timezone 13", "PATCH", cloudKeys + "/" + id, map[string]any{"restrictions": map[string]any{"timeRange": map[string]any{"timeSlots": []any{slot(9, 18)}, "timezone": 13}}}, tzField, false},
			{"bad CIDR", "PATCH", cloudKeys + "/" + id, map[string]any{"restrictions": map[string]any{"ipAddresses": map[string]any{"ipAddresses": []string{"10.1.2.3/8"}}}}, ipField + "[0]", false},
			{"expires in an hour", "PATCH", cloudKeys + "/" + id, map[string]any{"expiresAt": now.Add(time.Hour).Format(time.RFC3339)}, "expiresAt", false},
			{"name with slash", "PATCH", cloudKeys + "/" + id, map[string]any{"name": "a/b"}, "name", false},
			{"another service account", "PATCH", cloudKeys + "/" + id, map[string]any{"serviceAccountId": w.robot}, "serviceAccountId", false},
			{"unknown field", "PATCH", cloudKeys + "/" + id, map[string]any{"expires_on": "x"}, "expiresOn", true},
			{"expires_at not a time", "PATCH", cloudKeys + "/" + id, map[string]any{"expires_at": "x"}, "expiresAt", false},
			{"Yandex unknown scope", "PATCH", "/iam/v1/apiKeys/" + id, map[string]any{"updateMask": "scopes", "scopes": []string{"yc.nosuch.read"}}, "scopes[0]", false},
			{"Yandex expires_at in the past", "PATCH", "/iam/v1/apiKeys/" + id, map[string]any{"updateMask": "expiresAt", "expiresAt": now.Add(-time.Hour).Format(time.RFC3339)}, "expires_at", false},
			{"Yandex immutable field", "PATCH", "/iam/v1/apiKeys/" + id, map[string]any{"updateMask": "serviceAccountId"}, "update_mask", false},
		} {
			t.Run(tt.name, func(t *testing.T) { l.invalid(t, tt) })
		}
		if after := n.rest("GET", cloudKeys+"/"+id, w.admin, nil).raw; after != before {
			t.Errorf("refused updates changed the key:\nbefore %s\nafter  %s", redact(before), redact(after))
		}
	})

	t.Run("expiry bounds", func(t *testing.T) {
		// Seed 001: from one day to one year ahead; a year when unset. On
		// another account, so the robot's list stays empty.
		sa := n.rest("POST", "/iam/v1/serviceAccounts", w.admin, map[string]any{"folderId": w.folderB, "name": "bounds"})
		owner := str(sa.body, "response", "id")
		for _, tt := range []struct {
			name    string
			expires string    // "": unset
			want    time.Time // zero: refused
		}{
			{"one day", now.Add(24 * time.Hour).Format(time.RFC3339), now.Add(24 * time.Hour)},
			{"one year", now.AddDate(1, 0, 0).Format(time.RFC3339), now.AddDate(1, 0, 0)},
			{"unset", "", now.AddDate(1, 0, 0)},
			{"a day less two minutes", now.Add(24*time.Hour - 2*time.Minute).Format(time.RFC3339), time.Time{}},
			{"a year and two minutes", now.AddDate(1, 0, 0).Add(2 * time.Minute).Format(time.RFC3339), time.Time{}},
		} {
			t.Run(tt.name, func(t *testing.T) {
				body := map[string]any{"name": "bounds", "serviceAccountId": owner}
				if tt.expires != "" {
					body["expiresAt"] = tt.expires
				}
				if tt.want.IsZero() {
					l.invalid(t, badKeyRequest{tt.name, "POST", cloudKeys, body, "expiresAt", false})
					return
				}
				r := n.rest("POST", cloudKeys, w.admin, body)
				if r.status != 200 {
					t.Fatalf("%d %s", r.status, redact(r.raw))
				}
				k := decodeCloudKey(t, r.raw)
				l.secrets = append(l.secrets, k.Secret)
				if got := parseKeyTime(t, "expires_at", k.ExpiresAt); !got.Equal(tt.want) {
					t.Errorf("expires_at = %v, want %v", got, tt.want)
				}
			})
		}
	})

	t.Run("no secret in logs or answers", func(t *testing.T) {
		l.checkNoLeak(t)
	})
}

// invalid sends a bad request as the admin and checks the InvalidArgument
// answer names the field.
func (l *keyLab) invalid(t *testing.T, tt badKeyRequest) {
	t.Helper()
	r := l.rest(tt.method, tt.path, l.w.admin, tt.body)
	if r.status != 400 || r.body["code"] != float64(codes.InvalidArgument) {
		t.Fatalf("got %d %s, want 400 InvalidArgument", r.status, redact(r.raw))
	}
	msg, _ := r.body["message"].(string)
	if tt.unknown && !strings.Contains(msg, strconv.Quote(tt.field)) || !tt.unknown && !strings.HasPrefix(msg, tt.field+":") {
		t.Errorf("message %q does not name field %q", msg, tt.field)
	}
}
