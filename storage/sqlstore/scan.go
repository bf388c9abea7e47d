package sqlstore

import (
	"context"
	"database/sql"
	"errors"
	"math"
	"sync"

	"warden"
)

// scanCols are the columns of a credential that in-memory indexes need:
// a full load reads a million rows, and every column costs.
const scanCols = `id, subject_id, hash, data, expires_at`

// ScanCredentials implements warden.Store. On SQLite the parts are ranges
// of the rowid (the table's storage order), so that each query reads its
// own pages in order: reading by the (kind, hash) index, as a WHERE on
// kind alone does, costs a random lookup of the table per row, 10× the
// time. Rowids are stable (Warden never rewrites one; only a VACUUM
// concurrent with the scan could move rows between parts). Elsewhere the
// parts split on the ID.
func (s *Store) ScanCredentials(ctx context.Context, kind warden.CredentialKind, parts int, fn func(part int, c *warden.Credential) error) error {
	queries, err := s.scanQueries(ctx, kind, parts)
	if err != nil {
		return err
	}
	ctx, cancel := context.WithCancel(ctx)
	defer cancel()
	errs := make([]error, len(queries))
	var wg sync.WaitGroup
	for i, q := range queries {
		wg.Go(func() {
			if errs[i] = s.scanPart(ctx, q, kind, func(c *warden.Credential) error { return fn(i, c) }); errs[i] != nil {
				cancel()
			}
		})
	}
	wg.Wait()
	for _, err := range errs { // the first that is not the others' cancellation
		if err != nil && !errors.Is(err, context.Canceled) {
			return err
		}
	}
	return errors.Join(errs...)
}

// scanQuery is one part of a scan: a query and its arguments.
type scanQuery struct {
	sql  string
	args []any
}

func (s *Store) scanQueries(ctx context.Context, kind warden.CredentialKind, parts int) ([]scanQuery, error) {
	if parts < 1 {
		parts = 1
	}
	if !s.d.ScanByRowID {
		// Parts by the last character of the ID: random in Warden's IDs,
		// so the parts are even, and any ID is in exactly one. Each part
		// is a scan of the table on the server, which costs it little
		// beside what decoding the rows costs the client.
		const q = `SELECT ` + scanCols + ` FROM credentials WHERE kind = $1 AND mod(ascii(right(id, 1)), $2) = $3`
		out := make([]scanQuery, parts)
		for i := range out {
			out[i] = scanQuery{q, []any{string(kind), parts, i}}
		}
		return out, nil
	}
	var lo, hi sql.NullInt64
	if err := s.querier(nil).QueryRowContext(ctx, `SELECT MIN(rowid), MAX(rowid) FROM credentials`).Scan(&lo, &hi); err != nil {
		return nil, internal("scan credentials", err)
	}
	// NOT INDEXED: the rowid range, never the kind index. The outer
	// ranges are open, so that every row is in one part whatever its rowid.
	const q = `SELECT ` + scanCols + ` FROM credentials NOT INDEXED WHERE rowid >= $2 AND rowid < $3 AND kind = $1`
	span := hi.Int64 - lo.Int64 + 1
	if span < int64(parts) || span > math.MaxInt64/int64(parts) {
		parts = 1
	}
	out := make([]scanQuery, parts)
	from := int64(math.MinInt64)
	for i := range parts {
		to := int64(math.MaxInt64)
		if i < parts-1 {
			to = lo.Int64 + span*int64(i+1)/int64(parts)
		}
		out[i] = scanQuery{q, []any{string(kind), from, to}}
		from = to
	}
	return out, nil
}

// scanPart runs one part's query, passing each row in one reused
// Credential (its Hash and Data are the driver's buffers, valid until the
// next row).
func (s *Store) scanPart(ctx context.Context, q scanQuery, kind warden.CredentialKind, fn func(*warden.Credential) error) error {
	rows, err := s.querier(nil).QueryContext(ctx, q.sql, q.args...)
	if err != nil {
		return internal("scan credentials", err)
	}
	defer rows.Close()
	c := warden.Credential{Kind: kind}
	var hash, data sql.RawBytes
	var expires int64
	for rows.Next() {
		if err := rows.Scan(&c.ID, &c.SubjectID, &hash, &data, &expires); err != nil {
			return internal("scan credentials", err)
		}
		c.Hash, c.Data, c.ExpiresAt = hash, data, fromMicros(expires)
		if err := fn(&c); err != nil {
			return err
		}
	}
	if err := rows.Err(); err != nil {
		return internal("scan credentials", err)
	}
	return nil
}

// CountCredentials implements warden.Tx.
func (t *tx) CountCredentials(ctx context.Context, kind warden.CredentialKind) (int, error) {
	var n int
	if err := t.q.QueryRowContext(ctx, `SELECT COUNT(*) FROM credentials WHERE kind = $1`, string(kind)).Scan(&n); err != nil {
		return 0, internal("count credentials", err)
	}
	return n, nil
}
