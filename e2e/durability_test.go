package e2e

import (
	"testing"
	"time"
)

// TestRestartKeepsWrites: every acknowledged write, its operation and the
// IAM tokens issued before are still there after a restart.
func TestRestartKeepsWrites(t *testing.T) {
	for _, b := range backends(t) {
		t.Run(b.name, func(t *testing.T) {
			dir, db := t.TempDir(), b.database(t)
			n := start(t, dir, db)
			tok := n.iamToken()
			folder := n.defaultFolder(tok)
			op := n.rest("POST", "/iam/v1/serviceAccounts", tok, map[string]any{"folderId": folder, "name": "survivor"})
			if op.status != 200 {
				t.Fatalf("create: %s", op.raw)
			}
			n.stop()

			n2 := start(t, dir, db)
			if n2.m.Bootstrap() != nil {
				t.Error("restart bootstrapped again")
			}
			got := n2.rest("GET", "/operations/"+str(op.body, "id"), tok, nil)
			if got.status != 200 || str(got.body, "response", "name") != "survivor" {
				t.Errorf("operation after restart (old token): %d %s", got.status, got.raw)
			}
			sa := n2.rest("GET", "/iam/v1/serviceAccounts/"+str(op.body, "metadata", "serviceAccountId"), tok, nil)
			if sa.status != 200 {
				t.Errorf("service account after restart: %d %s", sa.status, sa.raw)
			}
		})
	}
}

// TestTwoNodesOnePostgres runs two wardend on one PostgreSQL: a write
// through one is read through the other, tokens issued by one are accepted
// by the other, and a revocation on one reaches the other within a second.
func TestTwoNodesOnePostgres(t *testing.T) {
	pg := postgresBackend(t)
	dir, db := t.TempDir(), pg.database(t)
	a := start(t, dir, db)
	b := start(t, dir, db) // same data dir: the same master key
	tok := a.iamToken()
	folder := b.defaultFolder(tok)
	op := a.rest("POST", "/iam/v1/serviceAccounts", tok, map[string]any{"folderId": folder, "name": "shared"})
	if op.status != 200 {
		t.Fatalf("create through a: %s", op.raw)
	}
	got := b.rest("GET", "/iam/v1/serviceAccounts/"+str(op.body, "metadata", "serviceAccountId"), tok, nil)
	if got.status != 200 || str(got.body, "name") != "shared" {
		t.Fatalf("read through b: %d %s", got.status, got.raw)
	}
	// Access changes made through one node are enforced by the other
	// within a second: a grant, a suspension, a revocation.
	w := newWorld(t, a)
	path := "/iam/v1/serviceAccounts?folderId=" + w.folderA
	w.bind(t, "/resource-manager/v1/folders/"+w.folderA, "ADD", "viewer", "serviceAccount", w.robot)
	within(t, "grant through a seen by b", func() bool { return b.rest("GET", path, w.robotToken, nil).status == 200 })
	a.rest("POST", "/iam/v1/serviceAccounts/"+w.robot+":suspend", w.admin, map[string]any{})
	within(t, "suspension through a seen by b", func() bool { return b.rest("GET", path, w.robotToken, nil).status == 401 })
	if r := b.rest("POST", "/iam/v1/tokens:revoke", "", map[string]string{"iamToken": tok}); r.status != 200 {
		t.Fatalf("revoke through b: %s", r.raw)
	}
	within(t, "revocation through b seen by a", func() bool {
		return a.rest("GET", "/iam/v1/serviceAccounts?folderId="+folder, tok, nil).status == 401
	})
}

// within fails the test unless cond becomes true within one second.
func within(t *testing.T, what string, cond func() bool) {
	t.Helper()
	deadline := time.Now().Add(time.Second)
	for !cond() {
		if time.Now().After(deadline) {
			t.Fatalf("%s: not within 1s", what)
		}
		time.Sleep(20 * time.Millisecond)
	}
}
