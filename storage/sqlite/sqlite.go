// Package sqlite opens Warden's embedded default store: a SQLite file through
// the pure-Go modernc.org/sqlite driver, so wardend needs no C toolchain and no
// database server.
package sqlite

import (
	"context"
	"database/sql"
	"fmt"
	"net/url"
	"strings"

	_ "modernc.org/sqlite" // registers the "sqlite" driver

	"warden/storage/sqlstore"
)

// Open opens (creating if needed) the SQLite database at path and migrates it.
// WAL journaling with synchronous=FULL makes every acknowledged commit
// survive a crash; _txlock=immediate takes the write lock at BEGIN so that
// concurrent writers queue on busy_timeout instead of failing mid-transaction.
func Open(ctx context.Context, path string) (*sqlstore.Store, error) {
	q := url.Values{}
	for _, p := range []string{"busy_timeout(10000)", "journal_mode(WAL)", "synchronous(FULL)", "foreign_keys(ON)"} {
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
	s, err := sqlstore.New(ctx, db, Dialect)
	if err != nil {
		db.Close()
		return nil, err
	}
	return s, nil
}

// Dialect is SQLite's sqlstore.Dialect.
var Dialect = sqlstore.Dialect{
	Name:      "sqlite",
	BytesType: "BLOB",
	// _txlock=immediate already holds the database write lock for the
	// whole migration transaction.
	LockMigrations: func(context.Context, *sql.Tx) error { return nil },
	IsUniqueViolation: func(err error) bool {
		return strings.Contains(err.Error(), "UNIQUE constraint failed") || strings.Contains(err.Error(), "PRIMARY KEY constraint failed")
	},
	// The host's clock (SQLite is embedded), in milliseconds: SQLite's
	// 'now' has no finer resolution.
	Now: `CAST(ROUND(unixepoch('subsec') * 1000) AS INTEGER) * 1000`,
}
