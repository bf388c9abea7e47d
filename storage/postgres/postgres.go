// Package postgres opens Warden's production store: PostgreSQL (or a
// wire-compatible database) through pgx, for several wardend processes on one
// database.
package postgres

import (
	"context"
	"database/sql"
	"errors"
	"fmt"

	"github.com/jackc/pgx/v5/pgconn"
	"github.com/jackc/pgx/v5/stdlib"

	"warden/storage/sqlstore"
)

// migrationLockID is the advisory lock key that serializes migrations of
// concurrently starting wardend processes.
const migrationLockID = 0x57415244454e // "WARDEN"

// Open connects to the database at dsn (a postgres:// URL) and migrates it.
func Open(ctx context.Context, dsn string) (*sqlstore.Store, error) {
	cfg, err := pgxConfig(dsn)
	if err != nil {
		return nil, err
	}
	db := stdlib.OpenDB(*cfg)
	db.SetMaxOpenConns(32)
	db.SetMaxIdleConns(16)
	if err := db.PingContext(ctx); err != nil {
		db.Close()
		return nil, fmt.Errorf("postgres: connect: %w", err)
	}
	s, err := sqlstore.New(ctx, db, Dialect)
	if err != nil {
		db.Close()
		return nil, err
	}
	return s, nil
}

// Dialect is PostgreSQL's sqlstore.Dialect.
var Dialect = sqlstore.Dialect{
	Name:      "postgres",
	BytesType: "BYTEA",
	LockMigrations: func(ctx context.Context, tx *sql.Tx) error {
		_, err := tx.ExecContext(ctx, `SELECT pg_advisory_xact_lock($1)`, int64(migrationLockID))
		return err
	},
	IsUniqueViolation: func(err error) bool {
		var pe *pgconn.PgError
		return errors.As(err, &pe) && pe.Code == "23505"
	},
	// FOR SHARE, not FOR KEY SHARE: deleting a resource takes the no-key
	// row lock (lockResource), which only FOR SHARE waits for.
	ShareLock: " FOR SHARE",
	// clock_timestamp, not now(): now() is the transaction's start, and a
	// feed entry should be stamped as close to its commit as it can be.
	Now: `CAST(floor(EXTRACT(EPOCH FROM clock_timestamp()) * 1000000) AS BIGINT)`,
}
