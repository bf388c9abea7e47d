package main

import (
	"context"
	"fmt"
	"path/filepath"
	"strings"
	"testing"

	"warden/storage/sqlite"
)

func TestAuditList(t *testing.T) {
	w := startServer(t)
	c := loggedIn(t, w)
	c.ok("iam", "service-account", "create", "--name", "audited-robot")
	c.fail("iam", "service-account", "create", "--name", "audited-robot") // AlreadyExists: a failed change

	var events []map[string]any
	decode(t, "json", c.ok("audit", "list", "--since", "1h", "--format", "json"), &events)
	var created, failed map[string]any
	for _, e := range events {
		if e["event_type"] == "yandex.cloud.iam.v1.ServiceAccountService.Create" {
			if e["event_status"] == "DONE" {
				created = e
			} else {
				failed = e
			}
		}
	}
	if created == nil || failed == nil {
		t.Fatalf("no create events in %v", events)
	}
	if auth := created["authentication"].(map[string]any); auth["subject_id"] != w.adminID || auth["credential_type"] != "iamToken" {
		t.Errorf("authentication = %v, want the admin through an IAM token", auth)
	}
	if path := created["resource_metadata"].(map[string]any)["path"].([]any); len(path) != 4 || path[3].(map[string]any)["resource_name"] != "audited-robot" {
		t.Errorf("path = %v, want organization, cloud, folder, service account", path)
	}
	if failed["error"].(map[string]any)["code"] != "already_exists" {
		t.Errorf("failed create: %v", failed)
	}

	var onlyErrors []map[string]any
	decode(t, "yaml", c.ok("audit", "list", "--since", "1h", "--outcome", "failure", "--subject", w.adminID, "--format", "yaml"), &onlyErrors)
	if len(onlyErrors) == 0 {
		t.Fatal("no failed events")
	}
	for _, e := range onlyErrors {
		if e["event_status"] != "ERROR" || e["authentication"].(map[string]any)["subject_id"] != w.adminID {
			t.Errorf("--outcome failure --subject admin listed %v", e)
		}
	}
	rows := parseTable(t, c.ok("audit", "list", "--type", "yandex.cloud.iam.v1.ServiceAccountService.Create"))
	if len(rows) != 2 || rows[0]["SUBJECT"] != w.adminID || rows[0]["STATUS"] != "DONE" || rows[1]["STATUS"] != "ERROR already_exists" {
		t.Errorf("text table: %v", rows)
	}
	if msg := c.fail("audit", "list", "--since", "yesterday"); !strings.Contains(msg, "--since") {
		t.Errorf("bad --since: %q", msg)
	}
}

// TestAuditVerifyNamesTheTamperedEvent alters, then deletes, one stored
// event behind wardend's back: warden audit verify fails naming it.
func TestAuditVerifyNamesTheTamperedEvent(t *testing.T) {
	w := startServer(t)
	c := loggedIn(t, w)
	for i := range 3 {
		c.ok("iam", "service-account", "create", "--name", fmt.Sprintf("robot-%d", i))
	}
	if out := c.ok("audit", "verify"); !strings.HasPrefix(out, "the audit chain holds") {
		t.Fatalf("verify on an intact chain: %q", out)
	}
	var events []map[string]any
	decode(t, "json", c.ok("audit", "list", "--type", "yandex.cloud.iam.v1.ServiceAccountService.Create", "--format", "json"), &events)
	victim := events[1]
	seq, id := int64(victim["sequence"].(float64)), victim["event_id"].(string)

	store, err := sqlite.Open(context.Background(), filepath.Join(w.dataDir, "warden.db"))
	if err != nil {
		t.Fatal(err)
	}
	defer store.Close()
	db := store.DB()
	var body []byte
	if err := db.QueryRow(`SELECT body FROM audit_events WHERE seq = $1`, seq).Scan(&body); err != nil {
		t.Fatal(err)
	}
	forged := strings.Replace(string(body), "robot-1", "robot-X", 1)
	if _, err := db.Exec(`UPDATE audit_events SET body = $1 WHERE seq = $2`, []byte(forged), seq); err != nil {
		t.Fatal(err)
	}
	msg := c.fail("audit", "verify")
	if want := fmt.Sprintf("the audit chain is broken at event %d (%s): its content does not match its hash (altered)", seq, id); msg != want {
		t.Errorf("altered: %q, want %q", msg, want)
	}

	if _, err := db.Exec(`UPDATE audit_events SET body = $1 WHERE seq = $2`, body, seq); err != nil {
		t.Fatal(err)
	}
	c.ok("audit", "verify")
	if _, err := db.Exec(`DELETE FROM audit_events WHERE seq = $1`, seq); err != nil {
		t.Fatal(err)
	}
	msg = c.fail("audit", "verify")
	if want := fmt.Sprintf("the audit chain is broken at event %d: missing", seq); !strings.HasPrefix(msg, want) {
		t.Errorf("deleted: %q, want it to start %q", msg, want)
	}
}
