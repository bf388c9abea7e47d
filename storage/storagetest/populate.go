package storagetest

import (
	"context"
	"database/sql"
	"fmt"
	"math/rand/v2"
	"strconv"
	"strings"
	"time"

	"warden"
)

// Population is what Populate stored.
type Population struct {
	Organization string
	Folders      []string
	Accounts     []string // service accounts, one per folder in turn
}

// Populate bulk-inserts into a migrated Warden database (either backend)
// an organization with one cloud per 20 folders, the folders, service
// accounts spread over them, and bindings of the accounts on the folders,
// many rows per statement: benchmarks load a large IAM in seconds. It
// writes no change feed entries: a process that is already running does
// not learn of the rows until it rebuilds its snapshot (start it after).
func Populate(ctx context.Context, db *sql.DB, folders, accounts, bindings int) (*Population, error) {
	p := &Population{Organization: warden.NewID(warden.PrefixOrganization)}
	now := time.Now().UnixMicro()
	var resources [][]any
	res := func(id string, typ warden.ResourceType, parent string) {
		resources = append(resources, []any{id, string(typ), parent, "bulk-" + id, "", "{}", warden.StatusActive, now, "{}"})
	}
	res(p.Organization, warden.TypeOrganization, "")
	clouds := max(1, folders/20)
	cloudIDs := make([]string, clouds)
	for i := range cloudIDs {
		cloudIDs[i] = warden.NewID(warden.PrefixCloud)
		res(cloudIDs[i], warden.TypeCloud, p.Organization)
	}
	for i := range folders {
		id := warden.NewID(warden.PrefixFolder)
		p.Folders = append(p.Folders, id)
		res(id, warden.TypeFolder, cloudIDs[i%clouds])
	}
	for i := range accounts {
		id := warden.NewID(warden.PrefixServiceAccount)
		p.Accounts = append(p.Accounts, id)
		res(id, warden.TypeServiceAccount, p.Folders[i%len(p.Folders)])
	}
	if err := insertRows(ctx, db, `INSERT INTO resources (id, type, parent_id, name, description, labels, status, created_at, attrs)`, resources); err != nil {
		return nil, fmt.Errorf("populate resources: %w", err)
	}
	roles := []string{"viewer", "editor", "iam.serviceAccounts.user", "resource-manager.viewer"}
	seen := map[[3]string]bool{}
	var rows [][]any
	r := rand.New(rand.NewPCG(1, 2))
	bindings = min(bindings, len(p.Folders)*len(roles)*len(p.Accounts)/2) // reachable by random draws
	for len(rows) < bindings {
		k := [3]string{p.Folders[r.IntN(len(p.Folders))], roles[r.IntN(len(roles))], p.Accounts[r.IntN(len(p.Accounts))]}
		if seen[k] {
			continue
		}
		seen[k] = true
		rows = append(rows, []any{k[0], k[1], "serviceAccount", k[2]})
	}
	if err := insertRows(ctx, db, `INSERT INTO access_bindings (resource_id, role_id, subject_type, subject_id)`, rows); err != nil {
		return nil, fmt.Errorf("populate bindings: %w", err)
	}
	return p, nil
}

// insertRows inserts rows with statement (an INSERT up to VALUES) in one
// transaction, many rows per statement: as many as 256 parameters hold
// (SQLite looks numbered parameters up by name, in time that grows with
// their number), one prepared statement for every full batch.
func insertRows(ctx context.Context, db *sql.DB, statement string, rows [][]any) error {
	if len(rows) == 0 {
		return nil
	}
	tx, err := db.BeginTx(ctx, nil)
	if err != nil {
		return err
	}
	defer tx.Rollback()
	per := max(1, 256/len(rows[0]))
	var full *sql.Stmt
	for len(rows) > 0 {
		batch := rows[:min(per, len(rows))]
		rows = rows[len(batch):]
		var args []any
		for _, row := range batch {
			args = append(args, row...)
		}
		if len(batch) < per {
			_, err = tx.ExecContext(ctx, valuesSQL(statement, len(batch), len(batch[0])), args...)
		} else {
			if full == nil {
				if full, err = tx.PrepareContext(ctx, valuesSQL(statement, per, len(batch[0]))); err != nil {
					return err
				}
			}
			_, err = full.ExecContext(ctx, args...)
		}
		if err != nil {
			return err
		}
	}
	return tx.Commit()
}

// valuesSQL is statement with rows tuples of cols numbered parameters.
func valuesSQL(statement string, rows, cols int) string {
	var q strings.Builder
	q.WriteString(statement + ` VALUES `)
	n := 0
	for i := range rows {
		if i > 0 {
			q.WriteString(", ")
		}
		q.WriteString("(")
		for j := range cols {
			if j > 0 {
				q.WriteString(", ")
			}
			n++
			q.WriteString("$" + strconv.Itoa(n))
		}
		q.WriteString(")")
	}
	return q.String()
}
