package sqlstore

import (
	"context"
	"database/sql"
	"path/filepath"
	"strings"
	"testing"
	"time"

	_ "modernc.org/sqlite"

	"warden"
)

// TestFeedKeyMigration: the migration that drops the key of the resource
// change feed keeps the entries written before it, and the feed is read
// as before.
func TestFeedKeyMigration(t *testing.T) {
	ctx := t.Context()
	db, err := sql.Open("sqlite", "file:"+filepath.Join(t.TempDir(), "w.db")+"?_txlock=immediate")
	if err != nil {
		t.Fatal(err)
	}
	defer db.Close()
	d := Dialect{Name: "sqlite", BytesType: "BLOB", SerialKey: "INTEGER PRIMARY KEY",
		LockMigrations:    func(context.Context, *sql.Tx) error { return nil },
		IsUniqueViolation: func(err error) bool { return strings.Contains(err.Error(), "UNIQUE constraint failed") },
		Now:               `CAST(ROUND(unixepoch('subsec') * 1000) AS INTEGER) * 1000`}
	// The schema as it was before that migration, with two entries.
	before := -1
	for i, m := range migrations {
		if strings.Contains(m, "resource_changes_v2") {
			before = i
		}
	}
	if before < 0 {
		t.Fatal("no migration rebuilds resource_changes")
	}
	all := migrations
	migrations = all[:before]
	s, err := New(ctx, db, d)
	migrations = all
	if err != nil {
		t.Fatal(err)
	}
	if _, err := db.ExecContext(ctx, `INSERT INTO resource_changes (id, resource_id, kind, at) VALUES ('chg1', 'aje1', 'resource', 1000), ('chg2', 'b1g1', 'bindings', 2000)`); err != nil {
		t.Fatal(err)
	}
	if _, err := New(ctx, db, d); err != nil {
		t.Fatalf("migrate: %v", err)
	}
	var got []string
	if err := s.View(ctx, func(tx warden.Tx) error {
		feed, err := tx.ResourceChanges(ctx, time.UnixMicro(0))
		for _, ch := range feed {
			got = append(got, ch.ID+" "+ch.ResourceID+" "+string(ch.Kind)+" "+ch.At.Format(time.StampMicro))
		}
		return err
	}); err != nil {
		t.Fatal(err)
	}
	want := []string{"chg1 aje1 resource " + time.UnixMicro(1000).UTC().Format(time.StampMicro), "chg2 b1g1 bindings " + time.UnixMicro(2000).UTC().Format(time.StampMicro)}
	if strings.Join(got, "; ") != strings.Join(want, "; ") {
		t.Errorf("feed after the migration = %v, want %v", got, want)
	}
	var indexes int
	if err := db.QueryRowContext(ctx, `SELECT COUNT(*) FROM pragma_index_list('resource_changes')`).Scan(&indexes); err != nil {
		t.Fatal(err)
	}
	if indexes != 1 {
		t.Errorf("resource_changes has %d indexes, want 1 (on the stamp)", indexes)
	}
}
