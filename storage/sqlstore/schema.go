package sqlstore

// migrations are applied in order, each once, inside one transaction with
// the dialect's migration lock held. {{bytes}} is the dialect's binary type.
// The SQL stays portable (no dialect functions, times as BIGINT microseconds)
// so that PostgreSQL-compatible databases (CockroachDB, YugabyteDB) run it too.
var migrations = []string{
	`CREATE TABLE resources (
		id TEXT PRIMARY KEY,
		type TEXT NOT NULL,
		parent_id TEXT NOT NULL,
		name TEXT NOT NULL,
		description TEXT NOT NULL,
		labels TEXT NOT NULL,
		status TEXT NOT NULL,
		created_at BIGINT NOT NULL,
		attrs TEXT NOT NULL
	);
	CREATE UNIQUE INDEX resources_name ON resources (type, parent_id, name);
	CREATE INDEX resources_parent ON resources (parent_id, type, id);
	CREATE TABLE operations (
		id TEXT PRIMARY KEY,
		resource_id TEXT NOT NULL,
		description TEXT NOT NULL,
		created_by TEXT NOT NULL,
		created_at BIGINT NOT NULL,
		modified_at BIGINT NOT NULL,
		done BOOLEAN NOT NULL,
		metadata {{bytes}},
		response {{bytes}},
		error {{bytes}}
	);
	CREATE INDEX operations_resource ON operations (resource_id, created_at, id);
	CREATE TABLE access_bindings (
		resource_id TEXT NOT NULL,
		role_id TEXT NOT NULL,
		subject_type TEXT NOT NULL,
		subject_id TEXT NOT NULL,
		PRIMARY KEY (resource_id, role_id, subject_type, subject_id)
	);
	CREATE INDEX access_bindings_subject ON access_bindings (subject_id);
	CREATE TABLE credentials (
		id TEXT PRIMARY KEY,
		kind TEXT NOT NULL,
		subject_id TEXT NOT NULL,
		hash {{bytes}} NOT NULL,
		data {{bytes}} NOT NULL,
		description TEXT NOT NULL,
		created_at BIGINT NOT NULL,
		expires_at BIGINT NOT NULL,
		last_used_at BIGINT NOT NULL
	);
	CREATE UNIQUE INDEX credentials_hash ON credentials (kind, hash);
	CREATE INDEX credentials_subject ON credentials (subject_id, kind, id);
	CREATE TABLE revoked_tokens (
		token_id TEXT PRIMARY KEY,
		subject_id TEXT NOT NULL,
		revoked_at BIGINT NOT NULL,
		expires_at BIGINT NOT NULL
	);
	CREATE INDEX revoked_tokens_at ON revoked_tokens (revoked_at);
	CREATE TABLE signing_keys (
		id TEXT PRIMARY KEY,
		algorithm TEXT NOT NULL,
		private {{bytes}} NOT NULL,
		public {{bytes}} NOT NULL,
		created_at BIGINT NOT NULL
	);
	CREATE TABLE meta (
		key TEXT PRIMARY KEY,
		value TEXT NOT NULL
	);`,
	// Every read-write transaction adds a row; wardend processes poll
	// COUNT and MAX to learn that their in-memory snapshot is stale. Rows
	// are inserted, never updated, so writers do not contend on them.
	`CREATE TABLE changes (
		id TEXT PRIMARY KEY,
		at BIGINT NOT NULL
	);
	CREATE INDEX changes_at ON changes (at);`,
	// The credential change feed: one row per credential created, changed
	// or deleted, so that wardend processes keep their in-memory index of
	// API keys current by reading what changed instead of every key.
	`CREATE TABLE credential_changes (
		id TEXT PRIMARY KEY,
		credential_id TEXT NOT NULL,
		at BIGINT NOT NULL
	);
	CREATE INDEX credential_changes_at ON credential_changes (at);`,
	// The audit trail (audit.go).
	auditSchema,
	// The resource change feed: one row per resource created, changed or
	// deleted, or whose access bindings changed, so that wardend processes
	// keep their authorization snapshot current by applying what changed
	// instead of rebuilding it. (It replaces the changes table, which is
	// left in place but no longer written.)
	`CREATE TABLE resource_changes (
		id TEXT PRIMARY KEY,
		resource_id TEXT NOT NULL,
		kind TEXT NOT NULL,
		at BIGINT NOT NULL
	);
	CREATE INDEX resource_changes_at ON resource_changes (at);`,
	// Group membership: one row per direct member of a group (users and
	// service accounts; groups hold no groups), read whole into the
	// authorization snapshot and kept current through the resource feed.
	`CREATE TABLE group_members (
		group_id TEXT NOT NULL,
		subject_id TEXT NOT NULL,
		subject_type TEXT NOT NULL,
		PRIMARY KEY (group_id, subject_id)
	);
	CREATE INDEX group_members_subject ON group_members (subject_id);`,
	// The audit trail sealed after commit (audit.go).
	auditSchema2,
	// The resource change feed without a key on its entries' IDs: entries
	// are read by their stamp only, and the key cost every write an insert
	// at a random place of one more B-tree (a page written per entry).
	// Rebuilt rather than altered: SQLite cannot drop a primary key.
	`CREATE TABLE resource_changes_v2 (
		id TEXT NOT NULL,
		resource_id TEXT NOT NULL,
		kind TEXT NOT NULL,
		at BIGINT NOT NULL
	);
	INSERT INTO resource_changes_v2 (id, resource_id, kind, at) SELECT id, resource_id, kind, at FROM resource_changes;
	DROP TABLE resource_changes;
	ALTER TABLE resource_changes_v2 RENAME TO resource_changes;
	CREATE INDEX resource_changes_at ON resource_changes (at)`,
}
