package e2e

import (
	"os"
	"path/filepath"
	"regexp"
	"slices"
	"strings"
	"testing"
)

// TestAccessKeyServiceREST: seed 003's create request answers with seed
// 003's response shape; the key reads back without its secret; the
// escalation guard and the permission table apply; delete removes it.
func TestAccessKeyServiceREST(t *testing.T) {
	for _, be := range backends(t) {
		t.Run(be.name, func(t *testing.T) {
			n := start(t, t.TempDir(), be.database(t))
			w := newWorld(t, n)
			const path = "/iam/aws-compatibility/v1/accessKeys"
			r := n.rest("POST", path, w.admin, map[string]any{"serviceAccountId": w.robot, "description": "postbox sender"})
			if r.status != 200 {
				t.Fatalf("create: %d %s", r.status, r.raw)
			}
			key, _ := r.body["accessKey"].(map[string]any)
			var fields []string
			for k := range key {
				fields = append(fields, k)
			}
			slices.Sort(fields)
			if got, want := strings.Join(fields, ","), "createdAt,description,id,keyId,serviceAccountId"; got != want {
				t.Errorf("accessKey fields %s, want %s (lastUsedAt appears once used)", got, want)
			}
			secret := str(r.body, "secret")
			keyID, id := str(key, "keyId"), str(key, "id")
			if !regexp.MustCompile(`^WDNK[A-Z2-7]{16}$`).MatchString(keyID) || !regexp.MustCompile(`^[0-9A-Za-z]{40}$`).MatchString(secret) {
				t.Errorf("keyId %q, secret of %d characters: not AWS-shaped", keyID, len(secret))
			}
			if str(key, "serviceAccountId") != w.robot || str(key, "description") != "postbox sender" || !strings.HasPrefix(id, "ajs") {
				t.Errorf("accessKey = %v", key)
			}

			// At rest the secret is sealed: neither the database nor its
			// write-ahead log holds it in clear.
			if be.name == "sqlite" {
				for _, f := range []string{"warden.db", "warden.db-wal"} {
					b, _ := os.ReadFile(filepath.Join(n.dataDir, f))
					if strings.Contains(string(b), secret) {
						t.Errorf("%s holds the secret in clear", f)
					}
				}
			}

			got := n.rest("GET", path+"/"+id, w.admin, nil)
			list := n.rest("GET", path+"?serviceAccountId="+w.robot, w.admin, nil)
			for _, r := range []response{got, list} {
				if r.status != 200 || strings.Contains(r.raw, secret) || !strings.Contains(r.raw, keyID) {
					t.Errorf("read back: %d %s", r.status, r.raw)
				}
			}
			upd := n.rest("PATCH", path+"/"+id, w.admin, map[string]any{"updateMask": "description", "description": "renamed"})
			if upd.status != 200 || str(n.rest("GET", path+"/"+id, w.admin, nil).body, "description") != "renamed" {
				t.Errorf("update: %d %s", upd.status, upd.raw)
			}
			if r := n.rest("PATCH", path+"/"+id, w.admin, map[string]any{"updateMask": "keyId", "description": "x"}); r.status != 400 {
				t.Errorf("update of keyId: %d %s", r.status, r.raw)
			}
			// The robot holds nothing: it may neither list nor create keys.
			if r := n.rest("GET", path+"?serviceAccountId="+w.robot, w.robotToken, nil); r.status != 403 {
				t.Errorf("list by a role-less account: %d", r.status)
			}
			if r := n.rest("POST", path, w.robotToken, map[string]any{"serviceAccountId": w.robot}); r.status != 403 {
				t.Errorf("create by a role-less account: %d", r.status)
			}
			if r := n.rest("POST", path, w.admin, map[string]any{"serviceAccountId": w.robot, "description": strings.Repeat("x", 257)}); r.status != 400 {
				t.Errorf("a 257-character description: %d %s", r.status, r.raw)
			}
			if r := n.rest("DELETE", path+"/"+id, w.admin, nil); r.status != 200 {
				t.Fatalf("delete: %d %s", r.status, r.raw)
			}
			if r := n.rest("GET", path+"/"+id, w.admin, nil); r.status != 404 {
				t.Errorf("get after delete: %d", r.status)
			}
		})
	}
}
