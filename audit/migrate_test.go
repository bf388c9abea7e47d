package audit

import (
	"database/sql"
	"encoding/hex"
	"encoding/json"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"warden"
	"warden/storage/sqlite"
)

// TestVersion1EventsVerifyAfterMigration: events written before records
// were sealed after commit (their bodies hold their chain fields, their
// hash is version 1) keep verifying once the table is migrated, and new
// events chain on after them; altering an old one is still named.
func TestVersion1EventsVerifyAfterMigration(t *testing.T) {
	c, err := NewChain([]byte(strings.Repeat("k", 32)))
	if err != nil {
		t.Fatal(err)
	}
	path := filepath.Join(t.TempDir(), "old.db")
	db, err := sql.Open("sqlite", "file:"+path)
	if err != nil {
		t.Fatal(err)
	}
	// The audit tables as migration 4 made them and the resource feed as
	// migration 5 did (a later migration rebuilds it), marked as migrated
	// up to migration 5 (the other tables are not needed here).
	for _, stmt := range []string{
		`CREATE TABLE schema_migrations (version BIGINT PRIMARY KEY)`,
		`INSERT INTO schema_migrations (version) VALUES (1), (2), (3), (4), (5)`,
		`CREATE TABLE audit_events (seq BIGINT PRIMARY KEY, id TEXT NOT NULL, at BIGINT NOT NULL, type TEXT NOT NULL, class TEXT NOT NULL,
			subject_id TEXT NOT NULL, path TEXT NOT NULL, status TEXT NOT NULL, body BLOB NOT NULL, prev_hash BLOB NOT NULL, hash BLOB NOT NULL)`,
		`CREATE INDEX audit_events_at ON audit_events (at, seq)`,
		`CREATE INDEX audit_events_subject ON audit_events (subject_id, seq)`,
		`CREATE TABLE audit_head (id INTEGER PRIMARY KEY, seq BIGINT NOT NULL, hash BLOB NOT NULL, pruned_seq BIGINT NOT NULL, pruned_hash BLOB NOT NULL)`,
		`INSERT INTO audit_head (id, seq, hash, pruned_seq, pruned_hash) VALUES (1, 0, '', 0, '')`,
		`CREATE TABLE resource_changes (id TEXT PRIMARY KEY, resource_id TEXT NOT NULL, kind TEXT NOT NULL, at BIGINT NOT NULL)`,
	} {
		if _, err := db.Exec(stmt); err != nil {
			t.Fatal(err)
		}
	}
	prev := []byte{} // the head's hash before the first event
	var ids []string
	for seq := int64(1); seq <= 3; seq++ {
		e := &warden.AuditEvent{ID: warden.NewID("evt"), Source: Source, Type: "yandex.cloud.iam.v1.ServiceAccountService.Create", Class: warden.AuditManagement,
			Time: time.Now().UTC().Truncate(time.Microsecond), Status: warden.AuditDone, Seq: seq, PrevHash: hex.EncodeToString(prev),
			Authentication: warden.AuditAuthentication{Authenticated: true, SubjectID: "aju1"}}
		body, err := json.Marshal(e)
		if err != nil {
			t.Fatal(err)
		}
		hash := c.macV1(prev, body)
		if _, err := db.Exec(`INSERT INTO audit_events VALUES ($1, $2, $3, $4, $5, $6, '', $7, $8, $9, $10)`,
			seq, e.ID, e.Time.UnixMicro(), e.Type, e.Class, "aju1", e.Status, body, prev, hash); err != nil {
			t.Fatal(err)
		}
		if _, err := db.Exec(`UPDATE audit_head SET seq = $1, hash = $2`, seq, hash); err != nil {
			t.Fatal(err)
		}
		prev, ids = hash, append(ids, e.ID)
	}
	db.Close()

	s, err := sqlite.Open(t.Context(), path)
	if err != nil {
		t.Fatal(err)
	}
	defer s.Close()
	for range 2 {
		e := &warden.AuditEvent{ID: warden.NewID("evt"), Type: "test.New", Class: warden.AuditManagement, Time: time.Now(), Status: warden.AuditDone}
		if err := s.Update(t.Context(), func(tx warden.Tx) error { _, err := c.Append(t.Context(), tx, e); return err }); err != nil {
			t.Fatal(err)
		}
	}
	rep, err := c.Verify(t.Context(), s)
	if err != nil || rep.Break != nil || rep.Checked != 5 || rep.Last != 5 {
		t.Fatalf("after the migration: %+v %v", rep, err)
	}
	var listed []*warden.AuditRecord
	if err := s.View(t.Context(), func(tx warden.Tx) (err error) {
		listed, err = tx.ListAuditEvents(t.Context(), warden.AuditFilter{SubjectID: "aju1"}, 0, 10)
		return err
	}); err != nil {
		t.Fatal(err)
	}
	if len(listed) != 3 || listed[0].ID != ids[0] || listed[2].Seq != 3 {
		t.Fatalf("old events listed: %+v", listed)
	}
	evs, err := Decode(listed[1])
	if err != nil || evs[0].Seq != 2 || evs[0].Hash != hex.EncodeToString(listed[1].Hash) {
		t.Fatalf("an old event decoded: %+v %v", evs, err)
	}
	if _, err := s.DB().Exec(`UPDATE audit_events SET body = REPLACE(body, 'aju1', 'aju2') WHERE seq = 2`); err != nil {
		t.Fatal(err)
	}
	rep, err = c.Verify(t.Context(), s)
	if err != nil || rep.Break == nil || rep.Break.Seq != 2 || rep.Break.EventID != ids[1] {
		t.Fatalf("an old event altered: %+v %v", rep, err)
	}
}
