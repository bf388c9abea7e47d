package main

import (
	"regexp"
	"strings"
	"testing"
)

func TestAccessKeyCommands(t *testing.T) {
	k := newKeyWorld(t)
	var created map[string]any
	out := k.admin.ok("iam", "access-key", "create", "--service-account-name", "robot", "--description", "postbox", "--format", "json")
	decode(t, "json", out, &created)
	key, _ := created["access_key"].(map[string]any)
	secret, _ := created["secret"].(string)
	keyID, _ := key["key_id"].(string)
	id, _ := key["id"].(string)
	if !regexp.MustCompile(`^WDNK[A-Z2-7]{16}$`).MatchString(keyID) || len(secret) != 40 || key["service_account_id"] != k.robot {
		t.Fatalf("create printed %s", out)
	}
	list := k.admin.ok("iam", "access-key", "list", "--service-account-name", "robot")
	if !strings.Contains(list, keyID) || !strings.Contains(list, "KEY ID") || strings.Contains(list, secret) {
		t.Errorf("list:\n%s", list)
	}
	get := k.admin.ok("iam", "access-key", "get", id, "--format", "yaml")
	if !strings.Contains(get, "key_id: "+keyID) || strings.Contains(get, secret) {
		t.Errorf("get:\n%s", get)
	}
	if upd := k.admin.ok("iam", "access-key", "update", id, "--description", "renamed", "--format", "json"); !strings.Contains(upd, "renamed") {
		t.Errorf("update:\n%s", upd)
	}
	var eph map[string]any
	decode(t, "json", k.admin.ok("iam", "access-key", "create-ephemeral", "--service-account-name", "robot", "--duration", "30m", "--format", "json"), &eph)
	if !strings.HasPrefix(eph["access_key_id"].(string), "WDNE") || !strings.HasPrefix(eph["session_token"].(string), "ws1.") {
		t.Errorf("create-ephemeral printed %v", eph)
	}
	if r := k.admin.run("iam", "access-key", "create-ephemeral", "--duration", "13h"); r.code == 0 || !strings.Contains(r.stderr, "duration") {
		t.Errorf("create-ephemeral --duration 13h: exit %d, %s", r.code, r.stderr)
	}
	k.admin.ok("iam", "access-key", "delete", id)
	if r := k.admin.run("iam", "access-key", "get", id); r.code == 0 || !strings.Contains(r.stderr, "not found") {
		t.Errorf("get after delete: exit %d, %s", r.code, r.stderr)
	}
}
