package sqlstore

import (
	"context"
	"database/sql"
	"sync"
)

// maxPrepared bounds the statement cache. Warden's SQL is a fixed set of
// texts (a few dozen); a text past the bound runs unprepared.
const maxPrepared = 256

// statements caches prepared statements by their SQL: database/sql
// prepares each on a connection the first time it runs there and keeps it,
// so that SQLite parses every statement once per connection instead of
// once per call.
type statements struct {
	db     *sql.DB
	mu     sync.RWMutex
	m      map[string]*sql.Stmt
	closed bool
	// background counts prepares started beside a transaction: close
	// waits for them, so that none opens a connection after the database
	// was closed.
	background sync.WaitGroup
}

// prepareLater prepares query in the background, unless closed.
func (c *statements) prepareLater(query string) {
	c.mu.Lock()
	defer c.mu.Unlock()
	if c.closed {
		return
	}
	c.background.Go(func() { c.prepare(context.Background(), query) })
}

// get returns the statement of query, nil when it is not prepared yet.
func (c *statements) get(query string) *sql.Stmt {
	c.mu.RLock()
	defer c.mu.RUnlock()
	return c.m[query]
}

// prepare prepares query on some connection of the pool. It must not be
// called while holding a connection in a transaction: with every other
// connection waiting for that transaction's lock, it would wait forever.
func (c *statements) prepare(ctx context.Context, query string) *sql.Stmt {
	if st := c.get(query); st != nil {
		return st
	}
	c.mu.RLock()
	full := len(c.m) >= maxPrepared
	c.mu.RUnlock()
	if full {
		return nil
	}
	// Prepared without the lock held: waiting for a connection while
	// holding it would stall every transaction that looks a statement up.
	st, err := c.db.PrepareContext(ctx, query)
	if err != nil {
		return nil // run unprepared: the error, if it is one, comes from there
	}
	c.mu.Lock()
	defer c.mu.Unlock()
	if had := c.m[query]; had != nil || c.closed {
		st.Close()
		return had
	}
	if c.m == nil {
		c.m = map[string]*sql.Stmt{}
	}
	c.m[query] = st
	return st
}

func (c *statements) close() {
	c.mu.Lock()
	c.closed = true
	c.mu.Unlock()
	c.background.Wait()
	c.mu.Lock()
	defer c.mu.Unlock()
	for _, st := range c.m {
		st.Close()
	}
	c.m = nil
}

// preparedQuerier runs queries through the cache, inside tx when it is set.
type preparedQuerier struct {
	c  *statements
	q  querier
	tx *sql.Tx
	// bound are the statements bound to tx, by their SQL: a group commit
	// runs the same few statements for each of its jobs, and binding one
	// to the transaction costs an allocation of its own each time.
	// database/sql closes them with the transaction.
	bound map[string]*sql.Stmt
}

// stmt returns the prepared statement of query, bound to the transaction
// (prepared on its connection when it is not yet), or nil: a query first
// seen inside a transaction runs unprepared once and is prepared beside it.
func (p preparedQuerier) stmt(ctx context.Context, query string) *sql.Stmt {
	st := p.c.get(query)
	switch {
	case st == nil && p.tx == nil:
		return p.c.prepare(ctx, query)
	case st == nil:
		p.c.prepareLater(query)
		return nil
	case p.tx != nil:
		if b := p.bound[query]; b != nil {
			return b
		}
		b := p.tx.StmtContext(ctx, st)
		p.bound[query] = b
		return b
	}
	return st
}

func (p preparedQuerier) ExecContext(ctx context.Context, query string, args ...any) (sql.Result, error) {
	if st := p.stmt(ctx, query); st != nil {
		return st.ExecContext(ctx, args...)
	}
	return p.q.ExecContext(ctx, query, args...)
}

func (p preparedQuerier) QueryContext(ctx context.Context, query string, args ...any) (*sql.Rows, error) {
	if st := p.stmt(ctx, query); st != nil {
		return st.QueryContext(ctx, args...)
	}
	return p.q.QueryContext(ctx, query, args...)
}

func (p preparedQuerier) QueryRowContext(ctx context.Context, query string, args ...any) *sql.Row {
	if st := p.stmt(ctx, query); st != nil {
		return st.QueryRowContext(ctx, args...)
	}
	return p.q.QueryRowContext(ctx, query, args...)
}
