package sqlstore

import (
	"context"
	"database/sql"
	"fmt"

	"warden"
)

// Group commit: SQLite has one writer at a time and makes every commit
// durable with an fsync, so transactions that each commit alone are as
// many fsyncs in a row. Instead one goroutine runs the Updates that are
// waiting, each in a savepoint of one transaction, and commits them
// together: one fsync for the group. Nothing is acknowledged before that
// commit has returned, so an acknowledged write survives a crash as
// before; an Update whose function fails is rolled back to its savepoint
// alone and returns its own error.

// maxGroup bounds the Updates committed together, so that the first of
// them does not wait behind an unbounded number of others.
const maxGroup = 64

// job is one Update waiting for the committer.
type job struct {
	ctx   context.Context
	fn    func(warden.Tx) error
	err   error
	panic any // a panic of fn, raised again in the caller's goroutine
	done  chan struct{}
}

// committer runs the Updates of a store in groups.
type committer struct {
	s     *Store
	queue chan *job
	stop  chan struct{}
	ended chan struct{}
	// conn is the connection every group runs on, held by the committer
	// (nil until the first group, and after a failure): a connection's
	// page cache is dropped whenever another one has written, so on a
	// connection of its own the writer finds the pages it wrote last in
	// memory, and its prepared statements with them.
	conn *sql.Conn
}

func newCommitter(s *Store) *committer {
	c := &committer{s: s, queue: make(chan *job, maxGroup), stop: make(chan struct{}), ended: make(chan struct{})}
	go c.run()
	return c
}

// update runs fn in the next group and returns when the group committed
// (or fn failed).
func (c *committer) update(ctx context.Context, fn func(warden.Tx) error) error {
	j := &job{ctx: ctx, fn: fn, done: make(chan struct{})}
	select {
	case c.queue <- j:
	case <-ctx.Done():
		return internal("begin", ctx.Err())
	case <-c.stop:
		return internal("begin", sql.ErrConnDone)
	}
	// Not on ctx: once queued, the write may commit, and its caller must
	// know. A committer that ended took every job it ran to the end, so a
	// job not done by then never ran.
	select {
	case <-j.done:
	case <-c.ended:
		select {
		case <-j.done:
		default:
			return internal("begin", sql.ErrConnDone)
		}
	}
	if j.panic != nil {
		panic(j.panic)
	}
	return j.err
}

func (c *committer) close() {
	close(c.stop)
	<-c.ended
	if c.conn != nil {
		c.conn.Close()
	}
}

// begin starts a group's transaction on the committer's connection.
func (c *committer) begin() (*sql.Tx, error) {
	ctx := context.Background()
	if c.conn == nil {
		conn, err := c.s.db.Conn(ctx)
		if err != nil {
			return nil, err
		}
		if c.s.d.WriterSetup != "" {
			if _, err := conn.ExecContext(ctx, c.s.d.WriterSetup); err != nil {
				conn.Close()
				return nil, err
			}
		}
		c.conn = conn
	}
	tx, err := c.conn.BeginTx(ctx, nil)
	if err != nil {
		// Another connection next time: this one may be broken.
		c.conn.Close()
		c.conn = nil
	}
	return tx, err
}

func (c *committer) run() {
	defer close(c.ended)
	for {
		var group []*job
		select {
		case j := <-c.queue:
			group = append(group, j)
		case <-c.stop:
			return
		}
	more:
		for len(group) < maxGroup {
			select {
			case j := <-c.queue:
				group = append(group, j)
			default:
				break more
			}
		}
		c.commit(group)
		for _, j := range group {
			close(j.done)
		}
	}
}

// commit runs a group in one transaction and sets each job's outcome.
func (c *committer) commit(group []*job) {
	fail := func(err error) {
		for _, j := range group {
			if j.err == nil && j.panic == nil {
				j.err = err
			}
		}
	}
	// The transaction belongs to no caller: one leaving must not roll
	// back the others' writes (statements run detached for the same
	// reason, see detached).
	sqlTx, err := c.begin()
	if err != nil {
		fail(internal("begin", err))
		return
	}
	// One querier for the group: its jobs run the same statements, bound
	// to the transaction once.
	q := detached{c.s.querier(sqlTx)}
	ok := 0
	var sealings []sealing
	for _, j := range group {
		if err := j.ctx.Err(); err != nil {
			j.err = internal("begin", err)
			continue
		}
		// Prepared, like the jobs' statements (q): SAVEPOINT and RELEASE
		// are two statements per job.
		if _, err := q.ExecContext(context.Background(), `SAVEPOINT w`); err != nil {
			sqlTx.Rollback()
			fail(internal("savepoint", err))
			return
		}
		t := c.runJob(j, q)
		var err error
		if j.err != nil || j.panic != nil {
			_, err = sqlTx.Exec(`ROLLBACK TO w; RELEASE w`)
		} else {
			ok++
			sealings = append(sealings, t.audit...)
			_, err = q.ExecContext(context.Background(), `RELEASE w`)
		}
		if err != nil {
			// SQLite rolls a whole transaction back on some errors
			// (a full disk, an I/O error): nothing of the group stands.
			sqlTx.Rollback()
			for _, j := range group {
				j.err = nil
			}
			fail(internal("savepoint", err))
			return
		}
	}
	if ok == 0 {
		sqlTx.Rollback()
		return
	}
	// The group's audit records, sealed in the order of their jobs: the
	// chain's head moves once per group, and nothing waits for it.
	if len(sealings) > 0 {
		t := &tx{q: q, d: &c.s.d}
		if err := t.sealGroup(context.Background(), sealings); err != nil {
			sqlTx.Rollback()
			for _, j := range group {
				j.err = nil
			}
			fail(err)
			return
		}
	}
	if err := sqlTx.Commit(); err != nil {
		for _, j := range group {
			if j.panic == nil {
				j.err = nil
			}
		}
		fail(internal("commit", err))
	}
}

// runJob runs one job's function, catching its panic for the caller, and
// returns its transaction (with the audit records it appended).
func (c *committer) runJob(j *job, q querier) (t *tx) {
	t = &tx{q: q, d: &c.s.d, sealAtCommit: true}
	defer func() {
		if p := recover(); p != nil {
			j.panic = fmt.Errorf("sqlstore: panic in Update: %v", p)
		}
	}()
	j.err = j.fn(t)
	return t
}

// detached runs statements without their context's cancellation: the
// driver interrupts a cancelled statement, and SQLite answers an
// interrupted write inside a transaction by rolling the whole transaction
// back — every write of the group. A job already running finishes.
type detached struct{ q querier }

func (d detached) ExecContext(ctx context.Context, query string, args ...any) (sql.Result, error) {
	return d.q.ExecContext(context.WithoutCancel(ctx), query, args...)
}

func (d detached) QueryContext(ctx context.Context, query string, args ...any) (*sql.Rows, error) {
	return d.q.QueryContext(context.WithoutCancel(ctx), query, args...)
}

func (d detached) QueryRowContext(ctx context.Context, query string, args ...any) *sql.Row {
	return d.q.QueryRowContext(context.WithoutCancel(ctx), query, args...)
}
