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

// auditSchema is the audit trail as first written: events keyed by their
// place in the chain, and one head row that every append locked until its
// transaction ended. auditSchema2 replaces the events table.
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

// auditSchema2 keys records by their insertion order (pos) and gives them
// their place in the chain (seq) when they are sealed, which may be after
// their transaction committed: a writer inserts its record and takes no
// lock, and a sealer links committed records under a short lock of the
// head. at_last is the time of a batch's last event. The existing events
// keep their order and are sealed already.
const auditSchema2 = `CREATE TABLE audit_records (
		pos {{serial}},
		seq BIGINT,
		id TEXT NOT NULL,
		at BIGINT NOT NULL,
		at_last BIGINT NOT NULL,
		type TEXT NOT NULL,
		class TEXT NOT NULL,
		subject_id TEXT NOT NULL,
		path TEXT NOT NULL,
		status TEXT NOT NULL,
		body {{bytes}} NOT NULL,
		prev_hash {{bytes}},
		hash {{bytes}}
	);
	INSERT INTO audit_records (seq, id, at, at_last, type, class, subject_id, path, status, body, prev_hash, hash)
		SELECT seq, id, at, at, type, class, subject_id, path, status, body, prev_hash, hash FROM audit_events ORDER BY seq;
	DROP TABLE audit_events;
	ALTER TABLE audit_records RENAME TO audit_events;
	CREATE UNIQUE INDEX audit_events_seq ON audit_events (seq);
	CREATE INDEX audit_events_unsealed ON audit_events (pos) WHERE seq IS NULL;
	CREATE INDEX audit_events_batches ON audit_events (pos) WHERE type = '` + warden.AuditBatch + `';
	CREATE INDEX audit_events_at ON audit_events (at, pos);
	CREATE INDEX audit_events_subject ON audit_events (subject_id, pos)`

const auditCols = `pos, seq, id, at, at_last, type, class, subject_id, path, status, body, prev_hash, hash`

func scanAudit(row interface{ Scan(...any) error }) (*warden.AuditRecord, error) {
	r := &warden.AuditRecord{}
	var seq sql.NullInt64
	var at, last int64
	if err := row.Scan(&r.Pos, &seq, &r.ID, &at, &last, &r.Type, &r.Class, &r.SubjectID, &r.Path, &r.Status, &r.Body, &r.PrevHash, &r.Hash); err != nil {
		return nil, err
	}
	r.Seq, r.Time, r.Last = seq.Int64, fromMicros(at), fromMicros(last)
	return r, nil
}

// lockAuditHead returns the end of the chain and holds it until the
// transaction ends (a no-op UPDATE takes PostgreSQL's row lock; SQLite's
// writers are serialised already), so that sealers on one database form
// one chain.
func (t *tx) lockAuditHead(ctx context.Context) (warden.AuditHead, error) {
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
	if err := t.q.QueryRowContext(ctx, `SELECT COUNT(*) FROM audit_events WHERE seq IS NULL`).Scan(&h.Unsealed); err != nil {
		return h, internal("audit head", err)
	}
	return h, nil
}

// sealing is a record appended in a group-commit job, sealed when the
// group commits.
type sealing struct {
	s warden.AuditSealer
	r *warden.AuditRecord
}

func (t *tx) AppendAuditEvents(ctx context.Context, s warden.AuditSealer, rs ...*warden.AuditRecord) error {
	if t.readOnly {
		return internal("append audit events", errReadOnly)
	}
	if t.sealAtCommit {
		// The committer seals and inserts them with the group, after the
		// job, so that a job rolled back takes its records with it.
		for _, r := range rs {
			t.audit = append(t.audit, sealing{s: s, r: r})
		}
		return nil
	}
	return t.insertAudit(ctx, rs)
}

// sealGroup seals the records of a group's jobs after the chain's head and
// inserts them: one read of the head, a few inserts, one update of it.
func (t *tx) sealGroup(ctx context.Context, pending []sealing) error {
	head, err := t.lockAuditHead(ctx)
	if err != nil {
		return err
	}
	from := head.Seq
	rs := make([]*warden.AuditRecord, len(pending))
	for i, p := range pending {
		p.s.Seal(head, p.r)
		head.Seq, head.Hash, rs[i] = p.r.Seq, p.r.Hash, p.r
	}
	if err := t.insertAudit(ctx, rs); err != nil {
		return err
	}
	return t.moveAuditHead(ctx, from, head)
}

// moveAuditHead makes head the end of the chain, which was at from.
func (t *tx) moveAuditHead(ctx context.Context, from int64, head warden.AuditHead) error {
	res, err := t.q.ExecContext(ctx, `UPDATE audit_head SET seq = $1, hash = $2 WHERE id = 1 AND seq = $3`, head.Seq, head.Hash, from)
	if err != nil {
		return internal("move audit head", err)
	}
	if n, err := res.RowsAffected(); err != nil || n != 1 {
		return &warden.Error{Code: warden.FailedPrecondition, Message: "seal audit events: the chain moved", Cause: err}
	}
	return nil
}

// insertAudit inserts records, sealed or not (Seq 0: NULL), in statements
// of 16, 8, 4, 2 rows and of one (a group commit's seven records take three
// statements, not seven), never more: SQLite looks each $N up by name, so
// a statement's parse and binding grow with the square of its parameters.
// The texts are fixed, so the store's statement cache prepares each once.
func (t *tx) insertAudit(ctx context.Context, rs []*warden.AuditRecord) error {
	for len(rs) > 0 {
		n := 16
		for n > len(rs) {
			n /= 2
		}
		args := make([]any, 0, auditInsertCols*n)
		for _, r := range rs[:n] {
			var seq, prev, hash any
			if r.Seq != 0 {
				seq, prev, hash = r.Seq, r.PrevHash, r.Hash
			}
			last := r.Last
			if last.IsZero() {
				last = r.Time
			}
			args = append(args, seq, r.ID, toMicros(r.Time), toMicros(last), r.Type, r.Class, r.SubjectID, r.Path, r.Status, r.Body, prev, hash)
		}
		rs = rs[n:]
		query := auditInserts[n]
		if len(t.ops) > 0 { // the operation of the change goes with it (deferred.go)
			var ops []any
			query, ops = t.withOperations(query, len(args))
			args = append(args, ops...)
		}
		if _, err := t.q.ExecContext(ctx, query, args...); err != nil {
			if t.d.IsUniqueViolation(err) {
				return &warden.Error{Code: warden.FailedPrecondition, Message: "append audit events: the chain moved", Cause: err}
			}
			return internal("append audit events", err)
		}
	}
	return nil
}

const auditInsertCols = 12

// auditInserts are the insert texts, by their number of rows.
var auditInserts = map[int]string{1: auditInsert(1), 2: auditInsert(2), 4: auditInsert(4), 8: auditInsert(8), 16: auditInsert(16)}

// auditInsert is an INSERT of n audit records.
func auditInsert(n int) string {
	var q strings.Builder
	q.WriteString(`INSERT INTO audit_events (seq, id, at, at_last, type, class, subject_id, path, status, body, prev_hash, hash) VALUES `)
	writeRows(&q, n, auditInsertCols)
	return q.String()
}

// writeRows writes n parenthesised rows of cols parameters.
func writeRows(q *strings.Builder, n, cols int) { writeRowsFrom(q, 0, n, cols) }

// writeRowsFrom is writeRows numbering the parameters after the first
// offset.
func writeRowsFrom(q *strings.Builder, offset, n, cols int) {
	for i := range n {
		if i > 0 {
			q.WriteByte(',')
		}
		q.WriteByte('(')
		for c := range cols {
			if c > 0 {
				q.WriteByte(',')
			}
			q.WriteString("$" + strconv.Itoa(offset+i*cols+c+1))
		}
		q.WriteByte(')')
	}
}

func (t *tx) SealAuditEvents(ctx context.Context, limit int, s warden.AuditSealer) (int, error) {
	head, err := t.lockAuditHead(ctx)
	if err != nil {
		return 0, err
	}
	// The position and the body are all a seal covers besides the head.
	rows, err := t.q.QueryContext(ctx, `SELECT pos, body FROM audit_events WHERE seq IS NULL ORDER BY pos LIMIT $1`, limit)
	if err != nil {
		return 0, internal("seal audit events", err)
	}
	rs, err := collect(rows, "seal audit events", func(row interface{ Scan(...any) error }) (*warden.AuditRecord, error) {
		r := &warden.AuditRecord{}
		return r, row.Scan(&r.Pos, &r.Body)
	})
	if err != nil || len(rs) == 0 {
		return 0, err
	}
	from := head.Seq
	for _, r := range rs {
		s.Seal(head, r)
		head.Seq, head.Hash = r.Seq, r.Hash
	}
	if err := t.sealRows(ctx, t.d.sealUpdates, rs); err != nil {
		return 0, err
	}
	return len(rs), t.moveAuditHead(ctx, from, head)
}

// sealRows writes the chain fields of sealed records, 16 rows or one per
// statement.
func (t *tx) sealRows(ctx context.Context, updates map[int]string, rs []*warden.AuditRecord) error {
	const rows = 16
	for len(rs) > 0 {
		n := 1
		if len(rs) >= rows {
			n = rows
		}
		args := make([]any, 0, 4*n)
		for _, r := range rs[:n] {
			args = append(args, r.Pos, r.Seq, r.PrevHash, r.Hash)
		}
		res, err := t.q.ExecContext(ctx, updates[n], args...)
		if err != nil {
			if t.d.IsUniqueViolation(err) {
				return &warden.Error{Code: warden.FailedPrecondition, Message: "seal audit events: the chain moved", Cause: err}
			}
			return internal("seal audit events", err)
		}
		if got, err := res.RowsAffected(); err != nil || got != int64(n) {
			return &warden.Error{Code: warden.FailedPrecondition, Message: "seal audit events: a record was sealed twice", Cause: err}
		}
		rs = rs[n:]
	}
	return nil
}

// sealUpdate is the dialect's text that sets the chain fields of n
// records, by position: an UPDATE … FROM a derived table, which PostgreSQL
// and SQLite (3.33+) both run.
func sealUpdate(bytesType string, n int) string {
	var q strings.Builder
	q.WriteString(`UPDATE audit_events SET seq = v.seq, prev_hash = v.prev, hash = v.hash FROM (`)
	names := []string{"pos", "seq", "prev", "hash"}
	for i := range n {
		if i > 0 {
			q.WriteString(` UNION ALL `)
		}
		q.WriteString(`SELECT `)
		for c, name := range names {
			if c > 0 {
				q.WriteByte(',')
			}
			typ := "BIGINT"
			if c >= 2 {
				typ = bytesType
			}
			q.WriteString(`CAST($` + strconv.Itoa(i*4+c+1) + ` AS ` + typ + `) AS ` + name)
		}
	}
	q.WriteString(`) AS v WHERE audit_events.pos = v.pos AND audit_events.seq IS NULL`)
	return q.String()
}

func (t *tx) ListAuditEvents(ctx context.Context, f warden.AuditFilter, after int64, limit int) ([]*warden.AuditRecord, error) {
	var args []any
	param := func(v any) string {
		args = append(args, v)
		return "$" + strconv.Itoa(len(args))
	}
	// An event's own conditions, and a batch's: one that may hold events
	// of the time range and class.
	var event, batch []string
	if !f.Since.IsZero() {
		p := param(toMicros(f.Since))
		event = append(event, "at >= "+p)
		batch = append(batch, "at_last >= "+p)
	}
	if !f.Until.IsZero() {
		p := param(toMicros(f.Until))
		event = append(event, "at < "+p)
		batch = append(batch, "at < "+p)
	}
	if f.SubjectID != "" {
		event = append(event, "subject_id = "+param(f.SubjectID))
	}
	if f.Scope != "" {
		event = append(event, "(path = '' OR (' ' || path || ' ') LIKE "+param("% "+f.Scope+" %")+")")
	}
	if f.ResourceID != "" {
		event = append(event, "(' ' || path || ' ') LIKE "+param("% "+f.ResourceID+" %"))
	}
	if f.Type != "" {
		event = append(event, "type = "+param(f.Type))
	}
	if f.Class != "" {
		p := param(f.Class)
		event = append(event, "class = "+p)
		batch = append(batch, "class = "+p)
	}
	if f.Status != "" {
		event = append(event, "status = "+param(f.Status))
	}
	const isBatch = "type = '" + warden.AuditBatch + "'"
	event = append(event, "type <> '"+warden.AuditBatch+"'")
	batch = append([]string{isBatch}, batch...)
	query := `SELECT ` + auditCols + ` FROM audit_events WHERE pos > ` + param(after) +
		` AND ((` + strings.Join(event, " AND ") + `) OR (` + strings.Join(batch, " AND ") + `))` +
		` ORDER BY pos LIMIT ` + param(limit)
	rows, err := t.q.QueryContext(ctx, query, args...)
	if err != nil {
		return nil, internal("list audit events", err)
	}
	return collect(rows, "list audit events", scanAudit)
}

func (t *tx) AuditEventsFrom(ctx context.Context, from int64, limit int) ([]*warden.AuditRecord, error) {
	rows, err := t.q.QueryContext(ctx, `SELECT `+auditCols+` FROM audit_events WHERE seq >= $1 ORDER BY seq LIMIT $2`, from, limit)
	if err != nil {
		return nil, internal("audit events", err)
	}
	return collect(rows, "audit events", scanAudit)
}

func (t *tx) PruneAuditEvents(ctx context.Context, before time.Time) (int64, error) {
	head, err := t.lockAuditHead(ctx)
	if err != nil {
		return 0, err
	}
	row := t.q.QueryRowContext(ctx, `SELECT `+auditCols+` FROM audit_events WHERE at < $1 AND seq < $2 ORDER BY seq DESC LIMIT 1`, toMicros(before), head.Seq)
	last, err := scanAudit(row)
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

// auditExec writes without marking the transaction as a change: an audit
// record alone leaves every in-memory state as it was.
func (t *tx) auditExec(ctx context.Context, what, query string, args ...any) (int64, error) {
	if t.readOnly {
		return 0, internal(what, errReadOnly)
	}
	res, err := t.q.ExecContext(ctx, query, args...)
	if err != nil {
		return 0, internal(what, err)
	}
	n, err := res.RowsAffected()
	if err != nil {
		return 0, internal(what, err)
	}
	return n, nil
}
