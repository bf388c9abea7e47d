package sqlstore

import (
	"context"
	"database/sql"
	"errors"
	"strconv"
	"strings"
	"time"

	"warden"
)

// auditSchema is the audit trail: events keyed by their place in the chain,
// and one head row that every append locks (a no-op UPDATE takes PostgreSQL's
// row lock; SQLite's writers are serialized already), so appends from every
// process on the database form one chain.
const auditSchema = `CREATE TABLE audit_events (
		seq BIGINT PRIMARY KEY,
		id TEXT NOT NULL,
		at BIGINT NOT NULL,
		type TEXT NOT NULL,
		class TEXT NOT NULL,
		subject_id TEXT NOT NULL,
		path TEXT NOT NULL,
		status TEXT NOT NULL,
		body {{bytes}} NOT NULL,
		prev_hash {{bytes}} NOT NULL,
		hash {{bytes}} NOT NULL
	);
	CREATE INDEX audit_events_at ON audit_events (at, seq);
	CREATE INDEX audit_events_subject ON audit_events (subject_id, seq);
	CREATE TABLE audit_head (
		id INTEGER PRIMARY KEY,
		seq BIGINT NOT NULL,
		hash {{bytes}} NOT NULL,
		pruned_seq BIGINT NOT NULL,
		pruned_hash {{bytes}} NOT NULL
	);
	INSERT INTO audit_head (id, seq, hash, pruned_seq, pruned_hash) VALUES (1, 0, '', 0, '')`

const auditCols = `seq, id, at, type, class, subject_id, path, status, body, prev_hash, hash`

func scanAudit(row interface{ Scan(...any) error }) (*warden.AuditRecord, error) {
	r := &warden.AuditRecord{}
	var at int64
	if err := row.Scan(&r.Seq, &r.ID, &at, &r.Type, &r.Class, &r.SubjectID, &r.Path, &r.Status, &r.Body, &r.PrevHash, &r.Hash); err != nil {
		return nil, err
	}
	r.Time = fromMicros(at)
	return r, nil
}

// auditExec writes without marking the transaction as a change: an audit
// event alone leaves every in-memory state as it was.
func (t *tx) auditExec(ctx context.Context, what, query string, args ...any) (int64, error) {
	if t.readOnly {
		return 0, internal(what, errReadOnly)
	}
	res, err := t.q.ExecContext(ctx, query, args...)
	if err != nil {
		if t.d.IsUniqueViolation(err) {
			return 0, &warden.Error{Code: warden.FailedPrecondition, Message: what + ": the chain moved", Cause: err}
		}
		return 0, internal(what, err)
	}
	n, err := res.RowsAffected()
	if err != nil {
		return 0, internal(what, err)
	}
	return n, nil
}

func (t *tx) LockAuditHead(ctx context.Context) (warden.AuditHead, error) {
	var h warden.AuditHead
	if t.readOnly {
		return h, internal("lock audit head", errReadOnly)
	}
	err := t.q.QueryRowContext(ctx, `UPDATE audit_head SET seq = seq WHERE id = 1 RETURNING seq, hash, pruned_seq, pruned_hash`).Scan(&h.Seq, &h.Hash, &h.PrunedSeq, &h.PrunedHash)
	if err != nil {
		return h, internal("lock audit head", err)
	}
	return h, nil
}

func (t *tx) AuditHead(ctx context.Context) (warden.AuditHead, error) {
	var h warden.AuditHead
	err := t.q.QueryRowContext(ctx, `SELECT seq, hash, pruned_seq, pruned_hash FROM audit_head WHERE id = 1`).Scan(&h.Seq, &h.Hash, &h.PrunedSeq, &h.PrunedHash)
	if err != nil {
		return h, internal("audit head", err)
	}
	return h, nil
}

func (t *tx) AppendAuditEvent(ctx context.Context, r *warden.AuditRecord) error {
	n, err := t.auditExec(ctx, "append audit event", `UPDATE audit_head SET seq = $1, hash = $2 WHERE id = 1 AND seq = $3`, r.Seq, r.Hash, r.Seq-1)
	if err != nil {
		return err
	}
	if n != 1 {
		return &warden.Error{Code: warden.FailedPrecondition, Message: "append audit event: the event does not follow the head"}
	}
	_, err = t.auditExec(ctx, "append audit event", `INSERT INTO audit_events (`+auditCols+`) VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11)`,
		r.Seq, r.ID, toMicros(r.Time), r.Type, r.Class, r.SubjectID, r.Path, r.Status, r.Body, r.PrevHash, r.Hash)
	return err
}

func (t *tx) AppendAuditEvents(ctx context.Context, rs []*warden.AuditRecord) error {
	if len(rs) == 0 {
		return nil
	}
	for i := 1; i < len(rs); i++ {
		if rs[i].Seq != rs[i-1].Seq+1 {
			return &warden.Error{Code: warden.FailedPrecondition, Message: "append audit events: the events do not follow one another"}
		}
	}
	first, last := rs[0], rs[len(rs)-1]
	n, err := t.auditExec(ctx, "append audit events", `UPDATE audit_head SET seq = $1, hash = $2 WHERE id = 1 AND seq = $3`, last.Seq, last.Hash, first.Seq-1)
	if err != nil {
		return err
	}
	if n != 1 {
		return &warden.Error{Code: warden.FailedPrecondition, Message: "append audit events: the events do not follow the head"}
	}
	// Inserts of 16 rows and of one: SQLite looks each $N up by name, so a
	// statement's parse grows with the square of its parameters. Both
	// texts are fixed, so the store's statement cache prepares each once.
	const rows = 16
	for len(rs) > 0 {
		n := 1
		if len(rs) >= rows {
			n = rows
		}
		args := make([]any, 0, 11*n)
		for _, r := range rs[:n] {
			args = append(args, r.Seq, r.ID, toMicros(r.Time), r.Type, r.Class, r.SubjectID, r.Path, r.Status, r.Body, r.PrevHash, r.Hash)
		}
		rs = rs[n:]
		if _, err := t.q.ExecContext(ctx, auditInserts[n], args...); err != nil {
			if t.d.IsUniqueViolation(err) {
				return &warden.Error{Code: warden.FailedPrecondition, Message: "append audit events: the chain moved", Cause: err}
			}
			return internal("append audit events", err)
		}
	}
	return nil
}

// auditInserts are the two insert texts, by their number of rows.
var auditInserts = map[int]string{1: auditInsert(1), 16: auditInsert(16)}

// auditInsert is an INSERT of n audit events.
func auditInsert(n int) string {
	var q strings.Builder
	q.WriteString(`INSERT INTO audit_events (` + auditCols + `) VALUES `)
	for i := range n {
		if i > 0 {
			q.WriteByte(',')
		}
		q.WriteByte('(')
		for c := range 11 {
			if c > 0 {
				q.WriteByte(',')
			}
			q.WriteString("$" + strconv.Itoa(i*11+c+1))
		}
		q.WriteByte(')')
	}
	return q.String()
}

func (t *tx) ListAuditEvents(ctx context.Context, f warden.AuditFilter) ([]*warden.AuditRecord, string, error) {
	after, err := parsePageToken(f.Page.Token)
	if err != nil {
		return nil, "", err
	}
	var where []string
	var args []any
	add := func(cond string, v any) {
		args = append(args, v)
		where = append(where, strings.ReplaceAll(cond, "?", "$"+strconv.Itoa(len(args))))
	}
	if after != "" {
		seq, err := strconv.ParseInt(after, 10, 64)
		if err != nil {
			return nil, "", warden.Errorf(warden.InvalidArgument, "page_token: malformed page token")
		}
		add("seq > ?", seq)
	}
	if !f.Since.IsZero() {
		add("at >= ?", toMicros(f.Since))
	}
	if !f.Until.IsZero() {
		add("at < ?", toMicros(f.Until))
	}
	if f.SubjectID != "" {
		add("subject_id = ?", f.SubjectID)
	}
	if f.Scope != "" {
		add("(path = '' OR (' ' || path || ' ') LIKE ?)", "% "+f.Scope+" %")
	}
	if f.ResourceID != "" {
		add("(' ' || path || ' ') LIKE ?", "% "+f.ResourceID+" %")
	}
	for _, c := range []struct{ col, v string }{{"type", f.Type}, {"class", f.Class}, {"status", f.Status}} {
		if c.v != "" {
			add(c.col+" = ?", c.v)
		}
	}
	query := `SELECT ` + auditCols + ` FROM audit_events`
	if len(where) > 0 {
		query += ` WHERE ` + strings.Join(where, " AND ")
	}
	size := pageSize(f.Page)
	args = append(args, size+1)
	rows, err := t.q.QueryContext(ctx, query+` ORDER BY seq LIMIT $`+strconv.Itoa(len(args)), args...)
	if err != nil {
		return nil, "", internal("list audit events", err)
	}
	out, err := collect(rows, "list audit events", scanAudit)
	if err != nil {
		return nil, "", err
	}
	if len(out) > size {
		out = out[:size]
		return out, pageToken(strconv.FormatInt(out[size-1].Seq, 10)), nil
	}
	return out, "", nil
}

func (t *tx) AuditEventsFrom(ctx context.Context, from int64, limit int) ([]*warden.AuditRecord, error) {
	rows, err := t.q.QueryContext(ctx, `SELECT `+auditCols+` FROM audit_events WHERE seq >= $1 ORDER BY seq LIMIT $2`, from, limit)
	if err != nil {
		return nil, internal("audit events", err)
	}
	return collect(rows, "audit events", scanAudit)
}

func (t *tx) PruneAuditEvents(ctx context.Context, before time.Time) (int64, error) {
	head, err := t.LockAuditHead(ctx)
	if err != nil {
		return 0, err
	}
	var last *warden.AuditRecord
	row := t.q.QueryRowContext(ctx, `SELECT `+auditCols+` FROM audit_events WHERE at < $1 AND seq < $2 ORDER BY seq DESC LIMIT 1`, toMicros(before), head.Seq)
	last, err = scanAudit(row)
	if errors.Is(err, sql.ErrNoRows) {
		return 0, nil
	}
	if err != nil {
		return 0, internal("prune audit events", err)
	}
	n, err := t.auditExec(ctx, "prune audit events", `DELETE FROM audit_events WHERE seq <= $1`, last.Seq)
	if err != nil {
		return 0, err
	}
	_, err = t.auditExec(ctx, "prune audit events", `UPDATE audit_head SET pruned_seq = $1, pruned_hash = $2 WHERE id = 1`, last.Seq, last.Hash)
	return n, err
}
