// Package sqlstore implements warden.Store on database/sql with portable SQL.
// The sqlite and postgres packages open a database and supply the Dialect;
// every query is shared, so both backends behave the same by construction.
package sqlstore

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"strings"

	"warden"
)

// Dialect is what differs between SQL backends.
type Dialect struct {
	// Name is used in errors and logs.
	Name string
	// BytesType is the column type of binary data.
	BytesType string
	// SerialKey is the column definition of an integer primary key that
	// the database numbers in insertion order when none is given.
	SerialKey string
	// LockMigrations takes a lock inside tx that serializes concurrent
	// migrations of several processes on one database.
	LockMigrations func(ctx context.Context, tx *sql.Tx) error
	// IsUniqueViolation reports whether err is a unique-constraint violation.
	IsUniqueViolation func(err error) bool
	// ShareLock is the clause that makes a SELECT hold the rows it reads
	// against change and deletion, but not against other holders of the
	// same lock, until the transaction ends; "" where a write transaction
	// holds the whole database anyway (SQLite).
	ShareLock string
	// Now is an SQL expression of the database's clock in microseconds
	// since the Unix epoch. Change feeds are stamped and read with it, so
	// that the clocks of the nodes sharing the database do not matter.
	Now string
	// CacheStatements prepares each statement once per connection through
	// database/sql. Off for a driver that caches prepared statements
	// itself (pgx).
	CacheStatements bool
	// WritableCTE: a statement may run an INSERT in its WITH clause
	// (PostgreSQL, CockroachDB), so that writes that go together take one
	// round trip (a resource and its feed entry).
	WritableCTE bool
	// GroupCommit runs concurrent Updates in one transaction, each in a
	// savepoint, with one commit (see committer). For a database with one
	// writer at a time (SQLite), whose commits would otherwise queue.
	GroupCommit bool
	// WriterSetup, when set, is run once on the connection that group
	// commits hold for their transactions (a larger page cache for it).
	WriterSetup string
	// ScanByRowID splits a scan of every credential (ScanCredentials) into
	// ranges of SQLite's rowid, read concurrently on several connections
	// (WAL readers do not block each other). Off: parts split on the ID.
	ScanByRowID bool
	// Ping, when set, is a backend's own liveness check that Store.Ping runs
	// before its query: SQLite's open file keeps answering after the file
	// was removed or replaced, which only a look at the path notices.
	Ping func(ctx context.Context) error

	// sealUpdates are the texts that seal 1 and 16 audit records, and
	// createResource the inserts of a resource (New fills them in).
	sealUpdates    map[int]string
	createResource map[bool]string
}

// Store is a warden.Store over a *sql.DB.
type Store struct {
	db    *sql.DB
	d     Dialect
	stmts *statements // nil unless the dialect caches statements
	group *committer  // nil unless the dialect commits in groups
}

// New returns a Store over db after applying pending migrations.
func New(ctx context.Context, db *sql.DB, d Dialect) (*Store, error) {
	if d.LockMigrations == nil || d.IsUniqueViolation == nil || d.BytesType == "" || d.SerialKey == "" || d.Now == "" {
		return nil, errors.New("sqlstore: incomplete dialect")
	}
	d.sealUpdates = map[int]string{1: sealUpdate(d.BytesType, 1), 16: sealUpdate(d.BytesType, 16)}
	d.createResource = createResourceTexts(&d)
	s := &Store{db: db, d: d}
	if err := s.migrate(ctx); err != nil {
		return nil, fmt.Errorf("sqlstore: migrate %s: %w", d.Name, err)
	}
	if d.CacheStatements {
		s.stmts = &statements{db: db} // after migrating: statements see the final schema
	}
	if d.GroupCommit {
		s.group = newCommitter(s)
	}
	return s, nil
}

func (s *Store) migrate(ctx context.Context) error {
	tx, err := s.db.BeginTx(ctx, nil)
	if err != nil {
		return err
	}
	defer tx.Rollback()
	if err := s.d.LockMigrations(ctx, tx); err != nil {
		return fmt.Errorf("lock: %w", err)
	}
	if _, err := tx.ExecContext(ctx, `CREATE TABLE IF NOT EXISTS schema_migrations (version BIGINT PRIMARY KEY)`); err != nil {
		return err
	}
	var applied int
	if err := tx.QueryRowContext(ctx, `SELECT COUNT(*) FROM schema_migrations`).Scan(&applied); err != nil {
		return err
	}
	for v := applied; v < len(migrations); v++ {
		for _, stmt := range strings.Split(strings.NewReplacer("{{bytes}}", s.d.BytesType, "{{serial}}", s.d.SerialKey).Replace(migrations[v]), ";") {
			if strings.TrimSpace(stmt) == "" {
				continue
			}
			if _, err := tx.ExecContext(ctx, stmt); err != nil {
				return fmt.Errorf("migration %d: %w", v+1, err)
			}
		}
		if _, err := tx.ExecContext(ctx, `INSERT INTO schema_migrations (version) VALUES ($1)`, v+1); err != nil {
			return err
		}
	}
	return tx.Commit()
}

// ReadOnly returns a Store over db without migrating it, for inspecting a
// database that must not be written (the caller opened db read-only).
func ReadOnly(db *sql.DB, d Dialect) *Store {
	d.createResource = createResourceTexts(&d)
	return &Store{db: db, d: d}
}

// DB returns the underlying database.
func (s *Store) DB() *sql.DB { return s.db }

// Ping implements warden.Store with a query on a pooled connection: a bare
// driver ping answers from memory for SQLite and from a connection that may
// outlive the server for PostgreSQL.
func (s *Store) Ping(ctx context.Context) error {
	if s.d.Ping != nil {
		if err := s.d.Ping(ctx); err != nil {
			return err
		}
	}
	var n int
	if err := s.db.QueryRowContext(ctx, `SELECT COUNT(*) FROM schema_migrations`).Scan(&n); err != nil {
		return fmt.Errorf("sqlstore: %s: %w", s.d.Name, err)
	}
	return nil
}

// Close implements warden.Store.
func (s *Store) Close() error {
	if s.group != nil {
		s.group.close()
	}
	if s.stmts != nil {
		s.stmts.close()
	}
	return s.db.Close()
}

// querier returns what runs the queries of a transaction (tx nil: of a
// read outside one).
func (s *Store) querier(tx *sql.Tx) querier {
	var q querier = s.db
	if tx != nil {
		q = tx
	}
	if s.stmts == nil {
		return q
	}
	p := preparedQuerier{c: s.stmts, q: q, tx: tx}
	if tx != nil {
		p.bound = map[string]*sql.Stmt{}
	}
	return p
}

// Update implements warden.Store.
func (s *Store) Update(ctx context.Context, fn func(warden.Tx) error) error {
	return s.run(ctx, false, fn)
}

// View implements warden.Store.
func (s *Store) View(ctx context.Context, fn func(warden.Tx) error) error {
	return s.run(ctx, true, fn)
}

func (s *Store) run(ctx context.Context, readOnly bool, fn func(warden.Tx) error) error {
	if readOnly {
		// A single read needs no transaction: skipping BEGIN keeps SQLite
		// readers off the write lock that _txlock=immediate takes.
		return fn(&tx{q: s.querier(nil), d: &s.d, readOnly: true})
	}
	if s.group != nil {
		return s.group.update(ctx, fn)
	}
	sqlTx, err := s.db.BeginTx(ctx, nil)
	if err != nil {
		return internal("begin", err)
	}
	q := s.querier(sqlTx)
	t := &tx{q: q, d: &s.d}
	if s.d.WritableCTE {
		t.q = flushing{t: t, q: q} // operations are written with the next statement
	}
	if err := fn(t); err != nil {
		sqlTx.Rollback()
		return err
	}
	err = t.flushErr
	if err == nil {
		err = t.flush(ctx, q)
	}
	if err != nil {
		sqlTx.Rollback()
		return err
	}
	if err := sqlTx.Commit(); err != nil {
		return internal("commit", err)
	}
	return nil
}

func internal(what string, err error) error {
	if errors.Is(err, context.Canceled) || errors.Is(err, context.DeadlineExceeded) {
		return &warden.Error{Code: warden.Unavailable, Message: "the request was cancelled", Cause: err}
	}
	return &warden.Error{Code: warden.Internal, Message: "internal error", Cause: fmt.Errorf("sqlstore: %s: %w", what, err)}
}
