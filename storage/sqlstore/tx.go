package sqlstore

import (
	"context"
	"database/sql"
	"encoding/base64"
	"encoding/json"
	"errors"
	"strconv"
	"strings"
	"time"

	"warden"
)

type querier interface {
	ExecContext(ctx context.Context, query string, args ...any) (sql.Result, error)
	QueryContext(ctx context.Context, query string, args ...any) (*sql.Rows, error)
	QueryRowContext(ctx context.Context, query string, args ...any) *sql.Row
}

type tx struct {
	q        querier
	d        *Dialect
	readOnly bool // a View: q is the database itself, so writes would commit
	// sealAtCommit: the group committer seals the audit records the
	// transaction appends (audit) when its group commits.
	sealAtCommit bool
	audit        []sealing
	// ops are operations not written yet, and flushErr the failure to
	// write them before a QueryRow (see deferred.go).
	ops      []*warden.Operation
	flushErr error
}

// errReadOnly is the cause of a write attempted inside View.
var errReadOnly = errors.New("write in a read-only transaction")

// Times are stored as microseconds since the epoch; 0 is the zero time.
func toMicros(t time.Time) int64 {
	if t.IsZero() {
		return 0
	}
	return t.UnixMicro()
}

func fromMicros(v int64) time.Time {
	if v == 0 {
		return time.Time{}
	}
	return time.UnixMicro(v).UTC()
}

func encodeMap(m map[string]string) string {
	if len(m) == 0 {
		return "{}"
	}
	b, _ := json.Marshal(m) // a map of strings always marshals
	return string(b)
}

func decodeMap(s string) (map[string]string, error) {
	m := map[string]string{}
	if err := json.Unmarshal([]byte(s), &m); err != nil {
		return nil, err
	}
	return m, nil
}

// exec runs every write, so it is where View's writes are refused; what
// names the record in its errors.
func (t *tx) exec(ctx context.Context, what, query string, args ...any) (int64, error) {
	n, err := t.execRaw(ctx, query, args...)
	if err != nil {
		return 0, t.writeError(what, err)
	}
	return n, nil
}

// execRaw is exec with its error as the database gave it (writeError
// turns it into exec's), for a caller that names the record only then.
func (t *tx) execRaw(ctx context.Context, query string, args ...any) (int64, error) {
	if t.readOnly {
		return 0, errReadOnly
	}
	res, err := t.q.ExecContext(ctx, query, args...)
	if err != nil {
		return 0, err
	}
	return res.RowsAffected()
}

// writeError is exec's error for err, a write's of the record what.
func (t *tx) writeError(what string, err error) error {
	if t.d.IsUniqueViolation(err) {
		return &warden.Error{Code: warden.AlreadyExists, Message: what + " already exists", Cause: err}
	}
	return internal(what, err)
}

func notFound(what, id string) error {
	return warden.Errorf(warden.NotFound, "%s %s not found", what, id)
}

// Page tokens are opaque to callers: base64 of the sort key of the last item.
func pageToken(key string) string { return base64.RawURLEncoding.EncodeToString([]byte(key)) }

func parsePageToken(tok string) (string, error) {
	b, err := base64.RawURLEncoding.DecodeString(tok)
	if err != nil {
		return "", warden.Errorf(warden.InvalidArgument, "page_token: malformed page token")
	}
	return string(b), nil
}

func pageSize(p warden.Page) int {
	if p.Size <= 0 {
		return 100
	}
	return p.Size
}

const resourceCols = `id, type, parent_id, name, description, labels, status, created_at, attrs`

func scanResource(row interface{ Scan(...any) error }) (*warden.Resource, error) {
	var r warden.Resource
	var labels, attrs string
	var created int64
	if err := row.Scan(&r.ID, &r.Type, &r.ParentID, &r.Name, &r.Description, &labels, &r.Status, &created, &attrs); err != nil {
		return nil, err
	}
	var err error
	if r.Labels, err = decodeMap(labels); err != nil {
		return nil, err
	}
	if r.Attrs, err = decodeMap(attrs); err != nil {
		return nil, err
	}
	r.CreatedAt = fromMicros(created)
	return &r, nil
}

func (t *tx) CreateResource(ctx context.Context, r *warden.Resource) error {
	if t.readOnly {
		return internal("create resource", errReadOnly)
	}
	query := t.d.createResource[r.ParentID != ""]
	n, err := t.execRaw(ctx, query,
		r.ID, string(r.Type), r.ParentID, r.Name, r.Description, encodeMap(r.Labels), r.Status, toMicros(r.CreatedAt), encodeMap(r.Attrs))
	if err != nil {
		return t.writeError(string(r.Type)+" "+strconv.Quote(r.Name), err)
	}
	if n == 0 {
		return notFound("resource", r.ParentID)
	}
	if t.d.WritableCTE {
		return nil // the statement wrote the feed entry too
	}
	// The feed entry's ID is the resource's (unique like it, and never one
	// of NewID("chg")): the creating node tells its own create by it.
	return t.feedEntry(ctx, r.ID, r.ID, warden.ResourceChanged)
}

// createResourceTexts are the dialect's inserts of a resource without a
// parent and with one (false, true).
func createResourceTexts(d *Dialect) map[bool]string {
	texts := map[bool]string{
		false: `INSERT INTO resources (` + resourceCols + `) VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9)`,
		// The parent is checked and held (shared, so that siblings are
		// created side by side) by the insert itself: one round trip.
		true: `INSERT INTO resources (` + resourceCols + `)
			SELECT $1, $2, $3, $4, $5, $6, $7, CAST($8 AS BIGINT), $9 WHERE EXISTS (SELECT 1 FROM resources WHERE id = $3` + d.ShareLock + `)`,
	}
	if d.WritableCTE {
		// The feed entry is written by the same statement, from the row
		// inserted (none when the parent is missing): one round trip.
		for k, q := range texts {
			texts[k] = `WITH r AS (` + q + ` RETURNING id)
			INSERT INTO resource_changes (id, resource_id, kind, at) SELECT id, id, '` + string(warden.ResourceChanged) + `', ` + d.Now + ` FROM r`
		}
	}
	return texts
}

// resourceChanged appends to the resource change feed, in the same
// transaction as the change itself, stamped by the database's clock.
func (t *tx) resourceChanged(ctx context.Context, id string, kind warden.ResourceChangeKind) error {
	return t.feedEntry(ctx, warden.NewID("chg"), id, kind)
}

// feedEntry appends the entry entryID to the resource change feed.
func (t *tx) feedEntry(ctx context.Context, entryID, id string, kind warden.ResourceChangeKind) error {
	_, err := t.exec(ctx, "resource change", `INSERT INTO resource_changes (id, resource_id, kind, at) VALUES ($1, $2, $3, `+t.d.Now+`)`,
		entryID, id, string(kind))
	return err
}

// lockResource holds the row of resource id until the transaction ends and
// reports whether it exists. PostgreSQL's READ COMMITTED otherwise lets two
// transactions read a resource, change it and write it back over each
// other, and lets a child be created under a parent being deleted. The
// no-op UPDATE is the portable SELECT ... FOR UPDATE: SQLite has no such
// clause (its write transactions already hold the whole database).
func (t *tx) lockResource(ctx context.Context, id string) (bool, error) {
	n, err := t.exec(ctx, "lock resource", `UPDATE resources SET id = id WHERE id = $1`, id)
	return n > 0, err
}

// GetResource locks the row inside Update (see lockResource), so that a
// read-modify-write of a resource, or of the bindings on it, that starts
// here is not lost to a concurrent one.
func (t *tx) GetResource(ctx context.Context, id string) (*warden.Resource, error) {
	if !t.readOnly {
		if ok, err := t.lockResource(ctx, id); err != nil || !ok {
			if err == nil {
				err = notFound("resource", id)
			}
			return nil, err
		}
	}
	r, err := scanResource(t.q.QueryRowContext(ctx, `SELECT `+resourceCols+` FROM resources WHERE id = $1`, id))
	if errors.Is(err, sql.ErrNoRows) {
		return nil, notFound("resource", id)
	}
	if err != nil {
		return nil, internal("get resource", err)
	}
	return r, nil
}

func (t *tx) GetResourceShared(ctx context.Context, id string) (*warden.Resource, error) {
	lock := ""
	if !t.readOnly {
		lock = t.d.ShareLock
	}
	r, err := scanResource(t.q.QueryRowContext(ctx, `SELECT `+resourceCols+` FROM resources WHERE id = $1`+lock, id))
	if errors.Is(err, sql.ErrNoRows) {
		return nil, notFound("resource", id)
	}
	if err != nil {
		return nil, internal("get resource", err)
	}
	return r, nil
}

func (t *tx) UpdateResource(ctx context.Context, r *warden.Resource) error {
	n, err := t.exec(ctx, string(r.Type)+" "+strconv.Quote(r.Name),
		`UPDATE resources SET name = $2, description = $3, labels = $4, status = $5, attrs = $6 WHERE id = $1`,
		r.ID, r.Name, r.Description, encodeMap(r.Labels), r.Status, encodeMap(r.Attrs))
	if err != nil {
		return err
	}
	if n == 0 {
		return notFound(string(r.Type), r.ID)
	}
	return t.resourceChanged(ctx, r.ID, warden.ResourceChanged)
}

func (t *tx) DeleteResource(ctx context.Context, id string) error {
	// Locked before counting: CreateResource holds the parent (shared),
	// which this lock waits for, so no child can appear between the count
	// and the delete.
	if ok, err := t.lockResource(ctx, id); err != nil || !ok {
		if err == nil {
			err = notFound("resource", id)
		}
		return err
	}
	var children int
	if err := t.q.QueryRowContext(ctx, `SELECT COUNT(*) FROM resources WHERE parent_id = $1`, id).Scan(&children); err != nil {
		return internal("count children", err)
	}
	if children > 0 {
		return warden.Errorf(warden.FailedPrecondition, "resource %s is not empty: delete its %d child resources first", id, children)
	}
	if _, err := t.exec(ctx, "delete resource", `DELETE FROM resources WHERE id = $1`, id); err != nil {
		return err
	}
	if err := t.resourceChanged(ctx, id, warden.ResourceChanged); err != nil {
		return err
	}
	// The bindings naming it as their subject go too: the resources they
	// were set on change, each named once in the feed.
	if _, err := t.exec(ctx, "delete resource", `INSERT INTO resource_changes (id, resource_id, kind, at)
		SELECT $2 || resource_id, resource_id, '`+string(warden.BindingsChanged)+`', `+t.d.Now+` FROM access_bindings WHERE subject_id = $1 GROUP BY resource_id`,
		id, warden.NewID("chg")); err != nil {
		return err
	}
	if _, err := t.exec(ctx, "delete resource", `DELETE FROM access_bindings WHERE resource_id = $1 OR subject_id = $1`, id); err != nil {
		return err
	}
	// So do its memberships: the groups it was in change (named in the
	// feed like the bindings above), and a deleted group's members rows
	// go with it (its own ResourceChanged entry says so).
	if _, err := t.exec(ctx, "delete resource", `INSERT INTO resource_changes (id, resource_id, kind, at)
		SELECT $2 || group_id, group_id, '`+string(warden.MembersChanged)+`', `+t.d.Now+` FROM group_members WHERE subject_id = $1`,
		id, warden.NewID("chg")); err != nil {
		return err
	}
	if _, err := t.exec(ctx, "delete resource", `DELETE FROM group_members WHERE group_id = $1 OR subject_id = $1`, id); err != nil {
		return err
	}
	// The subject's credentials go with it, each through the change feed
	// like any other credential delete (feed IDs: one fresh prefix plus the
	// credential ID, unique without a per-row generator).
	if _, err := t.exec(ctx, "delete resource", `INSERT INTO credential_changes (id, credential_id, at)
		SELECT $2 || id, id, `+t.d.Now+` FROM credentials WHERE subject_id = $1`, id, warden.NewID("chg")); err != nil {
		return err
	}
	_, err := t.exec(ctx, "delete resource", `DELETE FROM credentials WHERE subject_id = $1`, id)
	return err
}

func (t *tx) ListResources(ctx context.Context, f warden.ResourceFilter) ([]*warden.Resource, string, error) {
	after, err := parsePageToken(f.Page.Token)
	if err != nil {
		return nil, "", err
	}
	size := pageSize(f.Page)
	batch := size + 1
	if f.Keep != nil {
		batch = max(batch, 100) // fewer round trips when most rows are dropped
	}
	var out []*warden.Resource
	for {
		rs, err := t.listResourcesAfter(ctx, f, after, batch)
		if err != nil {
			return nil, "", err
		}
		for _, r := range rs {
			if f.Keep == nil || f.Keep(r) {
				out = append(out, r)
			}
			if len(out) > size {
				// One more than a page: there is a next page, and it starts
				// after the last resource of this one, which the caller sees.
				return out[:size], pageToken(out[size-1].ID), nil
			}
		}
		if len(rs) < batch {
			return out, "", nil
		}
		after = rs[len(rs)-1].ID
	}
}

// listResourcesAfter reads up to limit resources matching f (but for Keep)
// with IDs after after, in ID order.
func (t *tx) listResourcesAfter(ctx context.Context, f warden.ResourceFilter, after string, limit int) ([]*warden.Resource, error) {
	var where []string
	var args []any
	add := func(cond string, v any) {
		args = append(args, v)
		where = append(where, strings.Replace(cond, "?", "$"+strconv.Itoa(len(args)), 1))
	}
	add("type = ?", string(f.Type))
	if f.ParentID != "" {
		add("parent_id = ?", f.ParentID)
	}
	if f.Name != "" {
		add("name = ?", f.Name)
	}
	if after != "" {
		add("id > ?", after)
	}
	args = append(args, limit)
	rows, err := t.q.QueryContext(ctx, `SELECT `+resourceCols+` FROM resources WHERE `+strings.Join(where, " AND ")+
		` ORDER BY id LIMIT $`+strconv.Itoa(len(args)), args...)
	if err != nil {
		return nil, internal("list resources", err)
	}
	return collect(rows, "list resources", scanResource)
}

const operationCols = `id, resource_id, description, created_by, created_at, modified_at, done, metadata, response, error`

func scanOperation(row interface{ Scan(...any) error }) (*warden.Operation, error) {
	var op warden.Operation
	var created, modified int64
	if err := row.Scan(&op.ID, &op.ResourceID, &op.Description, &op.CreatedBy, &created, &modified, &op.Done, &op.Metadata, &op.Response, &op.Error); err != nil {
		return nil, err
	}
	op.CreatedAt, op.ModifiedAt = fromMicros(created), fromMicros(modified)
	return &op, nil
}

func (t *tx) CreateOperation(ctx context.Context, op *warden.Operation) error {
	if t.d.WritableCTE && !t.readOnly {
		t.deferOperation(op)
		return nil
	}
	_, err := t.exec(ctx, "operation "+op.ID, operationInsertOne, operationArgs(op)...)
	return err
}

func (t *tx) UpdateOperation(ctx context.Context, op *warden.Operation) error {
	n, err := t.exec(ctx, "update operation", `UPDATE operations SET modified_at = $2, done = $3, metadata = $4, response = $5, error = $6 WHERE id = $1`,
		op.ID, toMicros(op.ModifiedAt), op.Done, op.Metadata, op.Response, op.Error)
	if err != nil {
		return err
	}
	if n == 0 {
		return notFound("operation", op.ID)
	}
	return nil
}

func (t *tx) GetOperation(ctx context.Context, id string) (*warden.Operation, error) {
	op, err := scanOperation(t.q.QueryRowContext(ctx, `SELECT `+operationCols+` FROM operations WHERE id = $1`, id))
	if errors.Is(err, sql.ErrNoRows) {
		return nil, notFound("operation", id)
	}
	if err != nil {
		return nil, internal("get operation", err)
	}
	return op, nil
}

func (t *tx) ListOperations(ctx context.Context, resourceID string, p warden.Page) ([]*warden.Operation, string, error) {
	after, err := parsePageToken(p.Token)
	if err != nil {
		return nil, "", err
	}
	size := pageSize(p)
	query := `SELECT ` + operationCols + ` FROM operations WHERE resource_id = $1`
	args := []any{resourceID}
	if after != "" {
		created, id, ok := strings.Cut(after, "/")
		micros, perr := strconv.ParseInt(created, 10, 64)
		if !ok || perr != nil {
			return nil, "", warden.Errorf(warden.InvalidArgument, "page_token: malformed page token")
		}
		query += ` AND (created_at < $2 OR (created_at = $2 AND id < $3))`
		args = append(args, micros, id)
	}
	args = append(args, size+1)
	rows, err := t.q.QueryContext(ctx, query+` ORDER BY created_at DESC, id DESC LIMIT $`+strconv.Itoa(len(args)), args...)
	if err != nil {
		return nil, "", internal("list operations", err)
	}
	out, err := collect(rows, "list operations", scanOperation)
	if err != nil {
		return nil, "", err
	}
	if len(out) > size {
		out = out[:size]
		last := out[size-1]
		return out, pageToken(strconv.FormatInt(toMicros(last.CreatedAt), 10) + "/" + last.ID), nil
	}
	return out, "", nil
}

func (t *tx) AccessBindings(ctx context.Context, resourceID string) ([]warden.AccessBinding, error) {
	rows, err := t.q.QueryContext(ctx, `SELECT role_id, subject_type, subject_id FROM access_bindings WHERE resource_id = $1 ORDER BY role_id, subject_type, subject_id`, resourceID)
	if err != nil {
		return nil, internal("list access bindings", err)
	}
	defer rows.Close()
	var out []warden.AccessBinding
	for rows.Next() {
		var b warden.AccessBinding
		if err := rows.Scan(&b.RoleID, &b.SubjectType, &b.SubjectID); err != nil {
			return nil, internal("list access bindings", err)
		}
		out = append(out, b)
	}
	if err := rows.Err(); err != nil {
		return nil, internal("list access bindings", err)
	}
	return out, nil
}

func (t *tx) SetAccessBindings(ctx context.Context, resourceID string, bs []warden.AccessBinding) error {
	if _, err := t.exec(ctx, "set access bindings", `DELETE FROM access_bindings WHERE resource_id = $1`, resourceID); err != nil {
		return err
	}
	seen := make(map[warden.AccessBinding]bool, len(bs))
	for _, b := range bs {
		if seen[b] {
			continue
		}
		seen[b] = true
		if _, err := t.exec(ctx, "access binding", `INSERT INTO access_bindings (resource_id, role_id, subject_type, subject_id) VALUES ($1, $2, $3, $4)`,
			resourceID, b.RoleID, b.SubjectType, b.SubjectID); err != nil {
			return err
		}
	}
	return t.resourceChanged(ctx, resourceID, warden.BindingsChanged)
}

func (t *tx) GroupMembers(ctx context.Context, groupID string, p warden.Page) ([]warden.GroupMember, string, error) {
	after, err := parsePageToken(p.Token)
	if err != nil {
		return nil, "", err
	}
	size := pageSize(p)
	rows, err := t.q.QueryContext(ctx, `SELECT subject_id, subject_type FROM group_members WHERE group_id = $1 AND subject_id > $2 ORDER BY subject_id LIMIT $3`,
		groupID, after, size+1)
	if err != nil {
		return nil, "", internal("list group members", err)
	}
	out, err := collect(rows, "list group members", scanMember)
	if err != nil {
		return nil, "", err
	}
	if len(out) > size {
		out = out[:size]
		return out, pageToken(out[size-1].SubjectID), nil
	}
	return out, "", nil
}

func scanMember(row interface{ Scan(...any) error }) (warden.GroupMember, error) {
	var m warden.GroupMember
	err := row.Scan(&m.SubjectID, &m.SubjectType)
	return m, err
}

// UpdateGroupMembers inserts with ON CONFLICT DO NOTHING, as RevokeToken
// does: two nodes adding one member at once both succeed.
func (t *tx) UpdateGroupMembers(ctx context.Context, groupID string, add []warden.GroupMember, remove []string) error {
	for _, m := range add {
		if _, err := t.exec(ctx, "group member", `INSERT INTO group_members (group_id, subject_id, subject_type) VALUES ($1, $2, $3)
			ON CONFLICT (group_id, subject_id) DO NOTHING`, groupID, m.SubjectID, string(m.SubjectType)); err != nil {
			return err
		}
	}
	for _, id := range remove {
		if _, err := t.exec(ctx, "group member", `DELETE FROM group_members WHERE group_id = $1 AND subject_id = $2`, groupID, id); err != nil {
			return err
		}
	}
	return t.resourceChanged(ctx, groupID, warden.MembersChanged)
}

func (t *tx) GroupsOf(ctx context.Context, subjectID string) ([]string, error) {
	rows, err := t.q.QueryContext(ctx, `SELECT group_id FROM group_members WHERE subject_id = $1 ORDER BY group_id`, subjectID)
	if err != nil {
		return nil, internal("groups of a subject", err)
	}
	return collect(rows, "groups of a subject", func(row interface{ Scan(...any) error }) (string, error) {
		var id string
		err := row.Scan(&id)
		return id, err
	})
}

func (t *tx) AllGroupMembers(ctx context.Context) (map[string][]warden.GroupMember, error) {
	rows, err := t.q.QueryContext(ctx, `SELECT group_id, subject_id, subject_type FROM group_members`)
	if err != nil {
		return nil, internal("all group members", err)
	}
	defer rows.Close()
	out := map[string][]warden.GroupMember{}
	for rows.Next() {
		var group string
		var m warden.GroupMember
		if err := rows.Scan(&group, &m.SubjectID, &m.SubjectType); err != nil {
			return nil, internal("all group members", err)
		}
		out[group] = append(out[group], m)
	}
	if err := rows.Err(); err != nil {
		return nil, internal("all group members", err)
	}
	return out, nil
}

const credentialCols = `id, kind, subject_id, hash, data, description, created_at, expires_at, last_used_at`

func scanCredential(row interface{ Scan(...any) error }) (*warden.Credential, error) {
	var c warden.Credential
	var created, expires, used int64
	if err := row.Scan(&c.ID, &c.Kind, &c.SubjectID, &c.Hash, &c.Data, &c.Description, &created, &expires, &used); err != nil {
		return nil, err
	}
	c.CreatedAt, c.ExpiresAt, c.LastUsedAt = fromMicros(created), fromMicros(expires), fromMicros(used)
	return &c, nil
}

func (t *tx) CreateCredential(ctx context.Context, c *warden.Credential) error {
	data := c.Data
	if data == nil {
		data = []byte{}
	}
	_, err := t.exec(ctx, "credential", `INSERT INTO credentials (`+credentialCols+`) VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9)`,
		c.ID, string(c.Kind), c.SubjectID, c.Hash, data, c.Description, toMicros(c.CreatedAt), toMicros(c.ExpiresAt), toMicros(c.LastUsedAt))
	if err != nil {
		return err
	}
	return t.credentialChanged(ctx, c.ID)
}

// credentialChanged appends to the credential change feed, in the same
// transaction as the change itself, stamped by the database's clock.
func (t *tx) credentialChanged(ctx context.Context, id string) error {
	_, err := t.exec(ctx, "credential change", `INSERT INTO credential_changes (id, credential_id, at) VALUES ($1, $2, `+t.d.Now+`)`,
		warden.NewID("chg"), id)
	return err
}

func (t *tx) Clock(ctx context.Context) (time.Time, error) {
	var now int64
	if err := t.q.QueryRowContext(ctx, `SELECT `+t.d.Now).Scan(&now); err != nil {
		return time.Time{}, internal("database clock", err)
	}
	return fromMicros(now), nil
}

func (t *tx) CredentialChanges(ctx context.Context, since time.Time) ([]warden.CredentialChange, error) {
	rows, err := t.q.QueryContext(ctx, `SELECT id, credential_id, at FROM credential_changes WHERE at >= $1 ORDER BY at, id`, toMicros(since))
	if err != nil {
		return nil, internal("credential changes", err)
	}
	return collect(rows, "credential changes", func(row interface{ Scan(...any) error }) (warden.CredentialChange, error) {
		var c warden.CredentialChange
		var at int64
		err := row.Scan(&c.ID, &c.CredentialID, &at)
		c.At = fromMicros(at)
		return c, err
	})
}

func (t *tx) EachCredential(ctx context.Context, kind warden.CredentialKind, fn func(*warden.Credential) error) error {
	rows, err := t.q.QueryContext(ctx, `SELECT `+credentialCols+` FROM credentials WHERE kind = $1`, string(kind))
	if err != nil {
		return internal("all credentials", err)
	}
	defer rows.Close()
	for rows.Next() {
		c, err := scanCredential(rows)
		if err != nil {
			return internal("all credentials", err)
		}
		if err := fn(c); err != nil {
			return err
		}
	}
	if err := rows.Err(); err != nil {
		return internal("all credentials", err)
	}
	return nil
}

// TouchCredential bypasses exec: a use is not an edit (and a uniqueness
// violation cannot happen).
func (t *tx) TouchCredential(ctx context.Context, id string, at time.Time) error {
	if t.readOnly {
		return internal("touch credential", errReadOnly)
	}
	if _, err := t.q.ExecContext(ctx, `UPDATE credentials SET last_used_at = $2 WHERE id = $1 AND last_used_at < $2`, id, toMicros(at)); err != nil {
		return internal("touch credential", err)
	}
	return nil
}

func (t *tx) getCredential(ctx context.Context, what, where string, args ...any) (*warden.Credential, error) {
	c, err := scanCredential(t.q.QueryRowContext(ctx, `SELECT `+credentialCols+` FROM credentials WHERE `+where, args...))
	if errors.Is(err, sql.ErrNoRows) {
		return nil, warden.Errorf(warden.NotFound, "%s not found", what)
	}
	if err != nil {
		return nil, internal("get credential", err)
	}
	return c, nil
}

// GetCredential locks the row inside Update, as GetResource does, so that
// two read-modify-writes of one credential (an edit and a usage flush) do
// not overwrite each other.
func (t *tx) GetCredential(ctx context.Context, id string) (*warden.Credential, error) {
	if !t.readOnly {
		if _, err := t.exec(ctx, "lock credential", `UPDATE credentials SET id = id WHERE id = $1`, id); err != nil {
			return nil, err
		}
	}
	return t.getCredential(ctx, "credential "+id, `id = $1`, id)
}

func (t *tx) CredentialByHash(ctx context.Context, kind warden.CredentialKind, hash []byte) (*warden.Credential, error) {
	return t.getCredential(ctx, "credential", `kind = $1 AND hash = $2`, string(kind), hash)
}

func (t *tx) ListCredentials(ctx context.Context, subjectID string, kind warden.CredentialKind, p warden.Page) ([]*warden.Credential, string, error) {
	after, err := parsePageToken(p.Token)
	if err != nil {
		return nil, "", err
	}
	size := pageSize(p)
	rows, err := t.q.QueryContext(ctx, `SELECT `+credentialCols+` FROM credentials WHERE subject_id = $1 AND kind = $2 AND id > $3 ORDER BY id LIMIT $4`,
		subjectID, string(kind), after, size+1)
	if err != nil {
		return nil, "", internal("list credentials", err)
	}
	out, err := collect(rows, "list credentials", scanCredential)
	if err != nil {
		return nil, "", err
	}
	if len(out) > size {
		out = out[:size]
		return out, pageToken(out[size-1].ID), nil
	}
	return out, "", nil
}

func (t *tx) UpdateCredential(ctx context.Context, c *warden.Credential) error {
	data := c.Data
	if data == nil {
		data = []byte{} // the column is NOT NULL, as in CreateCredential
	}
	n, err := t.exec(ctx, "credential", `UPDATE credentials SET hash = $2, data = $3, description = $4, expires_at = $5, last_used_at = $6 WHERE id = $1`,
		c.ID, c.Hash, data, c.Description, toMicros(c.ExpiresAt), toMicros(c.LastUsedAt))
	if err != nil {
		return err
	}
	if n == 0 {
		return notFound("credential", c.ID)
	}
	return t.credentialChanged(ctx, c.ID)
}

func (t *tx) DeleteCredential(ctx context.Context, id string) error {
	n, err := t.exec(ctx, "delete credential", `DELETE FROM credentials WHERE id = $1`, id)
	if err != nil {
		return err
	}
	if n == 0 {
		return notFound("credential", id)
	}
	return t.credentialChanged(ctx, id)
}

func (t *tx) RevokeToken(ctx context.Context, r warden.RevokedToken) error {
	// ON CONFLICT rather than a lookup first: two servers revoking one token
	// at once must both succeed, and SQLite, PostgreSQL, CockroachDB and
	// YugabyteDB all speak this form.
	// revoked_at is the database's clock, not r.RevokedAt: readers find new
	// revocations by it, and a writer whose clock lags must not stamp its
	// revocation into the past they have already read.
	_, err := t.exec(ctx, "revoked token", `INSERT INTO revoked_tokens (token_id, subject_id, revoked_at, expires_at) VALUES ($1, $2, `+t.d.Now+`, $3)
		ON CONFLICT (token_id) DO NOTHING`,
		r.TokenID, r.SubjectID, toMicros(r.ExpiresAt))
	return err
}

func (t *tx) RevokedTokens(ctx context.Context, since, now time.Time) ([]warden.RevokedToken, error) {
	rows, err := t.q.QueryContext(ctx, `SELECT token_id, subject_id, revoked_at, expires_at FROM revoked_tokens WHERE revoked_at >= $1 AND expires_at > $2`,
		toMicros(since), toMicros(now))
	if err != nil {
		return nil, internal("list revoked tokens", err)
	}
	defer rows.Close()
	var out []warden.RevokedToken
	for rows.Next() {
		var r warden.RevokedToken
		var revoked, expires int64
		if err := rows.Scan(&r.TokenID, &r.SubjectID, &revoked, &expires); err != nil {
			return nil, internal("list revoked tokens", err)
		}
		r.RevokedAt, r.ExpiresAt = fromMicros(revoked), fromMicros(expires)
		out = append(out, r)
	}
	if err := rows.Err(); err != nil {
		return nil, internal("list revoked tokens", err)
	}
	return out, nil
}

func (t *tx) CreateSigningKey(ctx context.Context, k *warden.SigningKey) error {
	_, err := t.exec(ctx, "signing key", `INSERT INTO signing_keys (id, algorithm, private, public, created_at) VALUES ($1, $2, $3, $4, $5)`,
		k.ID, k.Algorithm, k.Private, k.Public, toMicros(k.CreatedAt))
	return err
}

func (t *tx) SigningKeys(ctx context.Context) ([]*warden.SigningKey, error) {
	rows, err := t.q.QueryContext(ctx, `SELECT id, algorithm, private, public, created_at FROM signing_keys ORDER BY created_at DESC, id`)
	if err != nil {
		return nil, internal("list signing keys", err)
	}
	defer rows.Close()
	var out []*warden.SigningKey
	for rows.Next() {
		var k warden.SigningKey
		var created int64
		if err := rows.Scan(&k.ID, &k.Algorithm, &k.Private, &k.Public, &created); err != nil {
			return nil, internal("list signing keys", err)
		}
		k.CreatedAt = fromMicros(created)
		out = append(out, &k)
	}
	if err := rows.Err(); err != nil {
		return nil, internal("list signing keys", err)
	}
	return out, nil
}

func (t *tx) InsertMeta(ctx context.Context, key, value string) error {
	_, err := t.exec(ctx, "meta "+key, `INSERT INTO meta (key, value) VALUES ($1, $2)`, key, value)
	return err
}

func (t *tx) Meta(ctx context.Context, key string) (string, error) {
	var v string
	err := t.q.QueryRowContext(ctx, `SELECT value FROM meta WHERE key = $1`, key).Scan(&v)
	if errors.Is(err, sql.ErrNoRows) {
		return "", notFound("meta", key)
	}
	if err != nil {
		return "", internal("get meta", err)
	}
	return v, nil
}

func (t *tx) ResourceChanges(ctx context.Context, since time.Time) ([]warden.ResourceChange, error) {
	// In the order of the stamps' index, without a sort: entries of one
	// tick come in any order, as their commits may.
	rows, err := t.q.QueryContext(ctx, `SELECT id, resource_id, kind, at FROM resource_changes WHERE at >= $1 ORDER BY at`, toMicros(since))
	if err != nil {
		return nil, internal("resource changes", err)
	}
	return collect(rows, "resource changes", func(row interface{ Scan(...any) error }) (warden.ResourceChange, error) {
		var c warden.ResourceChange
		var at int64
		err := row.Scan(&c.ID, &c.ResourceID, &c.Kind, &at)
		c.At = fromMicros(at)
		return c, err
	})
}

func (t *tx) CountResourceChanges(ctx context.Context, from, to time.Time) (int, error) {
	var n int
	if err := t.q.QueryRowContext(ctx, `SELECT COUNT(*) FROM resource_changes WHERE at >= $1 AND at < $2`, toMicros(from), toMicros(to)).Scan(&n); err != nil {
		return 0, internal("count resource changes", err)
	}
	return n, nil
}

func (t *tx) PruneChanges(ctx context.Context, before time.Time) error {
	// changes is no longer written; its last rows go here.
	for _, table := range []string{"changes", "resource_changes"} {
		if _, err := t.exec(ctx, "prune changes", `DELETE FROM `+table+` WHERE at < $1`, toMicros(before)); err != nil {
			return err
		}
	}
	_, err := t.exec(ctx, "prune credential changes", `DELETE FROM credential_changes WHERE at < $1`, toMicros(before))
	return err
}

func (t *tx) AllResources(ctx context.Context) ([]*warden.Resource, error) {
	rows, err := t.q.QueryContext(ctx, `SELECT `+resourceCols+` FROM resources`)
	if err != nil {
		return nil, internal("all resources", err)
	}
	out, err := collect(rows, "all resources", scanResource)
	if err != nil {
		return nil, err
	}
	return out, nil
}

func (t *tx) AllAccessBindings(ctx context.Context) (map[string][]warden.AccessBinding, error) {
	rows, err := t.q.QueryContext(ctx, `SELECT resource_id, role_id, subject_type, subject_id FROM access_bindings`)
	if err != nil {
		return nil, internal("all access bindings", err)
	}
	defer rows.Close()
	out := map[string][]warden.AccessBinding{}
	for rows.Next() {
		var id string
		var b warden.AccessBinding
		if err := rows.Scan(&id, &b.RoleID, &b.SubjectType, &b.SubjectID); err != nil {
			return nil, internal("all access bindings", err)
		}
		out[id] = append(out[id], b)
	}
	if err := rows.Err(); err != nil {
		return nil, internal("all access bindings", err)
	}
	return out, nil
}

// collect scans every row with scan and closes rows; what names the query
// in errors.
func collect[T any](rows *sql.Rows, what string, scan func(interface{ Scan(...any) error }) (T, error)) ([]T, error) {
	defer rows.Close()
	var out []T
	for rows.Next() {
		v, err := scan(rows)
		if err != nil {
			return nil, internal(what, err)
		}
		out = append(out, v)
	}
	if err := rows.Err(); err != nil {
		return nil, internal(what, err)
	}
	return out, nil
}
