package sqlstore

import (
	"context"
	"database/sql"
	"strconv"
	"strings"
	"sync"

	"warden"
)

// A write whose outcome its caller does not wait for — an operation's row,
// with an ID no other row has — need not be a round trip of its own. Where
// the dialect runs INSERTs in WITH clauses (WritableCTE), CreateOperation
// keeps the operation, and the transaction writes it with its next audit
// record, in one statement; any other statement, or the commit, writes it
// first on its own. A create on PostgreSQL so takes four round trips: BEGIN,
// the resource with its feed entry, the audit record with the operation,
// COMMIT.

// deferOperation keeps op for the transaction's next statement.
func (t *tx) deferOperation(op *warden.Operation) {
	t.ops = append(t.ops, op)
}

// operationArgs are the values of an operation's row, in operationCols
// order.
func operationArgs(op *warden.Operation) []any {
	return []any{op.ID, op.ResourceID, op.Description, op.CreatedBy, toMicros(op.CreatedAt), toMicros(op.ModifiedAt), op.Done, op.Metadata, op.Response, op.Error}
}

const operationInsert = `INSERT INTO operations (` + operationCols + `) VALUES `

// withOperations prefixes query (whose parameters are the first n) with
// the insert of the operations kept, numbered after them, and returns it
// and those operations' values; the operations are no longer kept.
func (t *tx) withOperations(query string, n int) (string, []any) {
	var args []any
	for _, op := range t.ops {
		args = append(args, operationArgs(op)...)
	}
	k := withKey{query: query, params: n, ops: len(t.ops)}
	t.ops = nil
	if q, ok := withTexts.Load(k); ok {
		return q.(string), args
	}
	var q strings.Builder
	q.WriteString("WITH ")
	for i := range k.ops {
		if i > 0 {
			q.WriteString(", ")
		}
		q.WriteString("w" + strconv.Itoa(i) + " AS (" + operationInsert)
		writeRowsFrom(&q, n+i*10, 1, 10)
		q.WriteString(")")
	}
	q.WriteString(" ")
	q.WriteString(query)
	withTexts.Store(k, q.String())
	return q.String(), args
}

// withTexts are the texts withOperations made, by what they are made of:
// a few, one per statement that carries operations and their number.
var withTexts sync.Map // withKey → string

type withKey struct {
	query       string
	params, ops int
}

// operationInsertOne inserts one operation.
const operationInsertOne = operationInsert + `($1, $2, $3, $4, $5, $6, $7, $8, $9, $10)`

// flush writes the operations kept.
func (t *tx) flush(ctx context.Context, q querier) error {
	for len(t.ops) > 0 {
		op := t.ops[0]
		t.ops = t.ops[1:]
		if _, err := q.ExecContext(ctx, operationInsertOne, operationArgs(op)...); err != nil {
			t.ops = nil
			if t.d.IsUniqueViolation(err) {
				return &warden.Error{Code: warden.AlreadyExists, Message: "operation " + op.ID + " already exists", Cause: err}
			}
			return internal("operation "+op.ID, err)
		}
	}
	return nil
}

// flushing runs every statement of a transaction after writing what it
// kept, so that a statement (a read of the operations too) sees it.
type flushing struct {
	t *tx
	q querier
}

func (f flushing) ExecContext(ctx context.Context, query string, args ...any) (sql.Result, error) {
	if err := f.t.flush(ctx, f.q); err != nil {
		return nil, err
	}
	return f.q.ExecContext(ctx, query, args...)
}

func (f flushing) QueryContext(ctx context.Context, query string, args ...any) (*sql.Rows, error) {
	if err := f.t.flush(ctx, f.q); err != nil {
		return nil, err
	}
	return f.q.QueryContext(ctx, query, args...)
}

// QueryRowContext cannot return an error of its own: a failed write is
// answered by the query's (the transaction is aborted, so the query
// fails), and by the commit.
func (f flushing) QueryRowContext(ctx context.Context, query string, args ...any) *sql.Row {
	f.t.flushErr = f.t.flush(ctx, f.q)
	return f.q.QueryRowContext(ctx, query, args...)
}
