// Package sqlite opens Warden's embedded default store: a SQLite file through
// the pure-Go modernc.org/sqlite driver, so wardend needs no C toolchain and no
// database server.
package sqlite

import (
	"bytes"
	"context"
	"database/sql"
	"encoding/binary"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"net/url"
	"os"
	"strings"

	_ "modernc.org/sqlite" // registers the "sqlite" driver

	"warden/storage/sqlstore"
)

// Open opens (creating if needed) the SQLite database at path and migrates it.
// WAL journaling with synchronous=FULL makes every acknowledged commit
// survive a crash; _txlock=immediate takes the write lock at BEGIN so that
// concurrent writers queue on busy_timeout instead of failing mid-transaction.
// temp_store=MEMORY keeps the savepoint journal of a group commit (see
// sqlstore's committer) in memory: it only serves a rollback to a
// savepoint within the open transaction, never recovery, and on disk it
// cost a file and a write(2) per page. wal_autocheckpoint=4000 (16 MiB of
// log, still one hash segment of the log's index) checkpoints a quarter as
// often as the default: each checkpoint copies every page changed since
// the last one and syncs the database twice, in the commit that triggers
// it, so under a steady stream of writes a page rewritten by many commits
// is copied once, and fewer commits wait for one.
// A caller that must not create or repair a database calls Inspect first.
func Open(ctx context.Context, path string) (*sqlstore.Store, error) {
	q := url.Values{}
	for _, p := range []string{"busy_timeout(10000)", "journal_mode(WAL)", "synchronous(FULL)", "foreign_keys(ON)", "temp_store(MEMORY)", "wal_autocheckpoint(4000)"} {
		q.Add("_pragma", p)
	}
	q.Set("_txlock", "immediate")
	db, err := sql.Open("sqlite", "file:"+path+"?"+q.Encode())
	if err != nil {
		return nil, fmt.Errorf("sqlite: open %s: %w", path, err)
	}
	db.SetMaxOpenConns(8)
	if err := db.PingContext(ctx); err != nil {
		db.Close()
		return nil, fmt.Errorf("sqlite: open %s: %w", path, err)
	}
	opened, err := os.Stat(path)
	if err != nil {
		db.Close()
		return nil, fmt.Errorf("sqlite: %w", err)
	}
	d := Dialect
	d.Ping = func(context.Context) error { return sameFile(path, opened) }
	s, err := sqlstore.New(ctx, db, d)
	if err != nil {
		db.Close()
		return nil, err
	}
	return s, nil
}

// sameFile reports an error unless path is still the readable file that was
// opened: the open descriptors keep answering queries after the file was
// removed or replaced, while every new process would see another database.
func sameFile(path string, opened fs.FileInfo) error {
	f, err := os.Open(path)
	if err != nil {
		return fmt.Errorf("sqlite: %w", err)
	}
	defer f.Close()
	now, err := f.Stat()
	if err != nil {
		return fmt.Errorf("sqlite: %w", err)
	}
	if !os.SameFile(opened, now) {
		return fmt.Errorf("sqlite: %s was replaced by another file since it was opened", path)
	}
	return nil
}

// Inspect opens the existing database at path read-only and checks that it
// is an intact Warden database, so that a caller can refuse a damaged one
// before anything is written. Nothing is written beside the file either (no
// lock, no WAL index) unless a write-ahead log left by a crash needs
// reading. The error wraps fs.ErrNotExist when there is no file at path, and
// names the problem for an empty file, another kind of file, a truncated or
// corrupt database, or a SQLite database that is not Warden's.
func Inspect(ctx context.Context, path string) (*sqlstore.Store, error) {
	fi, err := os.Stat(path)
	if errors.Is(err, fs.ErrNotExist) {
		if _, werr := os.Stat(path + "-wal"); werr == nil {
			return nil, fmt.Errorf("sqlite: %s is missing but its write-ahead log %s-wal is there: restore the database or remove the log", path, path)
		}
	}
	if err != nil {
		return nil, fmt.Errorf("sqlite: %w", err)
	}
	if err := checkHeader(path, fi); err != nil {
		return nil, err
	}
	// An immutable open takes no lock and makes no -shm file. A write-ahead
	// log or its index beside the file means that a process has it open or
	// crashed with transactions in the log: then a read-only open, which
	// locks and reads the log, sees what they committed.
	mode := "immutable=1"
	for _, f := range []string{path + "-wal", path + "-shm"} {
		if _, err := os.Stat(f); err == nil {
			mode = "mode=ro"
		}
	}
	db, err := sql.Open("sqlite", "file:"+path+"?"+mode)
	if err != nil {
		return nil, fmt.Errorf("sqlite: open %s: %w", path, err)
	}
	db.SetMaxOpenConns(1)
	if err := check(ctx, db); err != nil {
		db.Close()
		return nil, fmt.Errorf("sqlite: %s %w", path, err)
	}
	return sqlstore.ReadOnly(db, Dialect), nil
}

// hint tells an operator what to do with a file wardend refuses.
const hint = "move it away to start afresh, or restore a backup"

// checkHeader refuses, from the file's 100-byte header alone, an empty file,
// a file that is not SQLite, and a database cut short of the size its header
// records.
func checkHeader(path string, fi fs.FileInfo) error {
	if !fi.Mode().IsRegular() {
		return fmt.Errorf("sqlite: %s is not a regular file", path)
	}
	if fi.Size() == 0 {
		return fmt.Errorf("sqlite: %s is empty, not a Warden database: %s", path, hint)
	}
	f, err := os.Open(path)
	if err != nil {
		return fmt.Errorf("sqlite: %w", err)
	}
	defer f.Close()
	h := make([]byte, 100)
	if _, err := io.ReadFull(f, h); err != nil || !bytes.HasPrefix(h, []byte("SQLite format 3\x00")) {
		return fmt.Errorf("sqlite: %s is not a SQLite database: %s", path, hint)
	}
	pageSize := int64(binary.BigEndian.Uint16(h[16:18]))
	if pageSize == 1 {
		pageSize = 65536
	}
	if pageSize < 512 || pageSize&(pageSize-1) != 0 {
		return fmt.Errorf("sqlite: %s has a corrupt header: %s", path, hint)
	}
	// The in-header page count is valid when the change counter matches the
	// version-valid-for field (every SQLite since 3.7.0 keeps them so).
	pages := int64(binary.BigEndian.Uint32(h[28:32]))
	if bytes.Equal(h[24:28], h[92:96]) && fi.Size() < pages*pageSize || fi.Size()%pageSize != 0 {
		return fmt.Errorf("sqlite: %s is truncated (%d bytes; its header records %d pages of %d): %s", path, fi.Size(), pages, pageSize, hint)
	}
	return nil
}

// check runs SQLite's structural check and looks for Warden's schema.
func check(ctx context.Context, db *sql.DB) error {
	rows, err := db.QueryContext(ctx, `PRAGMA quick_check`)
	if err != nil {
		return fmt.Errorf("is corrupt (%v): %s", err, hint)
	}
	defer rows.Close()
	var problems []string
	for rows.Next() {
		var s string
		if err := rows.Scan(&s); err != nil {
			return fmt.Errorf("is corrupt (%v): %s", err, hint)
		}
		if s != "ok" {
			problems = append(problems, s)
		}
	}
	if err := rows.Err(); err != nil {
		return fmt.Errorf("is corrupt (%v): %s", err, hint)
	}
	if len(problems) > 0 {
		if len(problems) > 3 {
			problems = append(problems[:3], "…")
		}
		return fmt.Errorf("is corrupt (%s): %s", strings.Join(problems, "; "), hint)
	}
	var n int
	if err := db.QueryRowContext(ctx, `SELECT COUNT(*) FROM schema_migrations`).Scan(&n); err != nil {
		return fmt.Errorf("is not a Warden database (%v): %s", err, hint)
	}
	return nil
}

// Dialect is SQLite's sqlstore.Dialect.
var Dialect = sqlstore.Dialect{
	Name:      "sqlite",
	BytesType: "BLOB",
	// An alias of the rowid: the next is one more than the largest.
	SerialKey: "INTEGER PRIMARY KEY",
	// _txlock=immediate already holds the database write lock for the
	// whole migration transaction.
	LockMigrations: func(context.Context, *sql.Tx) error { return nil },
	// modernc.org/sqlite parses every statement it is given afresh.
	CacheStatements: true,
	// One writer at a time, each commit an fsync: writers share commits.
	GroupCommit: true,
	// The writer's connection keeps up to 32 MiB of pages (the default is
	// 2 MiB): writes land at random places of the ID indexes, which with
	// 100,000 resources are some 20 MiB, and a page not in memory is a
	// read from the file in the middle of the group's transaction.
	WriterSetup: `PRAGMA cache_size = -32768`,
	// Any number of readers at once: a load of every API key reads parts
	// of the table on several connections.
	ScanByRowID: true,
	IsUniqueViolation: func(err error) bool {
		return strings.Contains(err.Error(), "UNIQUE constraint failed") || strings.Contains(err.Error(), "PRIMARY KEY constraint failed")
	},
	// The host's clock (SQLite is embedded), in milliseconds: SQLite's
	// 'now' has no finer resolution.
	Now: `CAST(ROUND(unixepoch('subsec') * 1000) AS INTEGER) * 1000`,
}
