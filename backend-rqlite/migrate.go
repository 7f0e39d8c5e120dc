package rqlitekv

import (
	"context"
	"fmt"
	"strings"
	"time"

	"github.com/rqlite/gorqlite"

	"github.com/kvsuite/kv/sqlitedialect"
)

// migration is one schema step. Its statements must be deterministic (they
// are replayed by every node of the cluster).
type migration struct {
	version int
	name    string
	stmts   []string
}

// migrations are the schema steps in increasing version order, from 1:
// this backend's own up to sqlitedialect.Converged (where its schema
// became the SQLite dialect's), then the dialect's later ones, recorded
// with the same versions and names as the SQLite backend records them.
var migrations = append(ownMigrations, dialectMigrations()...)

// dialectMigrations are the SQLite dialect's steps after
// sqlitedialect.Converged, as statements.
func dialectMigrations() []migration {
	var ms []migration
	for _, m := range sqlitedialect.Migrations() {
		if m.Version > sqlitedialect.Converged {
			ms = append(ms, migration{version: m.Version, name: m.Name, stmts: m.Statements()})
		}
	}
	return ms
}

// ownMigrations are this backend's steps up to sqlitedialect.Converged:
// the SQLite backend's tables (records, stream, leases, consumers, tasks,
// schema_migrations...) with some definitions of their own, plus guard,
// the table whose CHECK constraint turns a failed condition into an error
// that aborts a batch, and request_log; step 9 makes them the SQLite
// dialect's schema.
var ownMigrations = []migration{
	{version: 1, name: "0001_init", stmts: []string{
		`CREATE TABLE IF NOT EXISTS records (
    namespace TEXT    NOT NULL COLLATE BINARY,
    key       TEXT    NOT NULL COLLATE BINARY,
    version   INTEGER NOT NULL,
    type      TEXT    NOT NULL DEFAULT '' COLLATE BINARY,
    created   INTEGER NOT NULL,
    updated   INTEGER NOT NULL,
    expires   INTEGER,
    value     TEXT    NOT NULL,
    PRIMARY KEY (namespace, key)
)`,
		`CREATE INDEX IF NOT EXISTS records_by_type ON records (namespace, type, key)`,
		`CREATE INDEX IF NOT EXISTS records_by_expiry ON records (expires) WHERE expires IS NOT NULL`,
		`CREATE TABLE IF NOT EXISTS stream (
    seq       INTEGER PRIMARY KEY AUTOINCREMENT,
    namespace TEXT    NOT NULL,
    key       TEXT    NOT NULL,
    action    TEXT    NOT NULL,
    version   INTEGER NOT NULL,
    type      TEXT    NOT NULL DEFAULT '',
    value     TEXT,
    ts        INTEGER NOT NULL
)`,
		`CREATE INDEX IF NOT EXISTS stream_by_namespace ON stream (namespace, seq)`,
		`CREATE TABLE IF NOT EXISTS leases (
    name    TEXT    NOT NULL PRIMARY KEY COLLATE BINARY,
    owner   TEXT    NOT NULL,
    token   INTEGER NOT NULL,
    expires INTEGER NOT NULL
)`,
	}},
	// kvstream: the trim watermark (one row, id 1) and named consumers.
	// A released lease keeps its row with an empty owner and expires 0 (the
	// column is NOT NULL in 0001).
	{version: 2, name: "0002_stream_consumers", stmts: []string{
		`CREATE TABLE IF NOT EXISTS stream_meta (
    id      INTEGER PRIMARY KEY CHECK (id = 1),
    trimmed INTEGER NOT NULL DEFAULT 0
)`,
		`INSERT OR IGNORE INTO stream_meta (id, trimmed) VALUES (1, 0)`,
		`CREATE TABLE IF NOT EXISTS consumers (
    name     TEXT    NOT NULL PRIMARY KEY COLLATE BINARY,
    position INTEGER NOT NULL,
    updated  INTEGER NOT NULL
)`,
	}},
	// kvtask: tasks and cron schedules. Times are Unix microseconds (the
	// front's clock), a timeout is microseconds. The partial UNIQUE index
	// makes Insert's dedupe on unique_key atomic (only pending and running
	// tasks hold a key); tasks_claim served Claim in its order, over the
	// claimable statuses only (replaced in 0004).
	{version: 3, name: "0003_tasks", stmts: []string{
		`CREATE TABLE IF NOT EXISTS tasks (
    id               TEXT    NOT NULL PRIMARY KEY COLLATE BINARY,
    name             TEXT    NOT NULL COLLATE BINARY,
    payload          TEXT    NOT NULL,
    status           TEXT    NOT NULL CHECK (status IN ('pending', 'running', 'completed', 'failed', 'cancelled')),
    priority         INTEGER NOT NULL DEFAULT 0,
    unique_key       TEXT    COLLATE BINARY,
    created          INTEGER NOT NULL,
    scheduled_for    INTEGER NOT NULL,
    started          INTEGER,
    completed        INTEGER,
    attempts         INTEGER NOT NULL DEFAULT 0,
    max_retries      INTEGER NOT NULL DEFAULT 0,
    timeout          INTEGER NOT NULL DEFAULT 0,
    last_error       TEXT    NOT NULL DEFAULT '',
    locked_by        TEXT,
    locked_until     INTEGER,
    token            INTEGER NOT NULL DEFAULT 0,
    cancel_requested INTEGER NOT NULL DEFAULT 0
)`,
		`CREATE UNIQUE INDEX IF NOT EXISTS tasks_unique_key ON tasks (unique_key) WHERE status IN ('pending', 'running')`,
		`CREATE INDEX IF NOT EXISTS tasks_claim ON tasks (priority DESC, scheduled_for, id) WHERE status IN ('pending', 'running')`,
		`CREATE INDEX IF NOT EXISTS tasks_by_created ON tasks (created, id)`,
		`CREATE INDEX IF NOT EXISTS tasks_by_status ON tasks (status, created, id)`,
		`CREATE TABLE IF NOT EXISTS schedules (
    name      TEXT    NOT NULL PRIMARY KEY COLLATE BINARY,
    spec      TEXT    NOT NULL,
    template  TEXT    NOT NULL,
    next_tick INTEGER NOT NULL
)`,
	}},
	// Claim's indexes: one for the pending tasks, in claim order, and one
	// for the running ones, by lease expiry, instead of tasks_claim for
	// both, so that an idle claim does not walk the tasks scheduled later
	// (see sqlitedialect's Dialect.Claim). They are the SQLite backend's indexes, by name and
	// definition.
	{version: 4, name: "0004_claim_indexes", stmts: []string{
		`CREATE INDEX IF NOT EXISTS tasks_pending ON tasks (priority DESC, scheduled_for, id) WHERE status = 'pending'`,
		`CREATE INDEX IF NOT EXISTS tasks_running ON tasks (locked_until) WHERE status = 'running'`,
		`DROP INDEX IF EXISTS tasks_claim`,
	}},
	// Claim with names seeks each name's due tasks in this index, so that a
	// backlog of other names' due tasks costs it nothing (tasks_pending
	// holds them among the names it asks for; see sqlitedialect's Dialect.Claim). It is the
	// SQLite backend's index (its migration 0004_tasks_by_name), by name
	// and definition.
	{version: 5, name: "0005_tasks_by_name", stmts: []string{
		`CREATE INDEX IF NOT EXISTS tasks_pending_name ON tasks (name, priority DESC, scheduled_for, id) WHERE status = 'pending'`,
	}},
	// lost counts a task's attempts whose runner was lost (the lease
	// expired before an outcome was recorded): Claim adds one for each
	// task it takes over from an expired lease. at_most_once (0 or 1)
	// makes kvtask fail a task instead of running a lost attempt again.
	// Existing tasks get 0 and 0. The SQLite backend's columns (its
	// migration 0005_tasks_lost).
	{version: 6, name: "0006_tasks_lost", stmts: []string{
		`ALTER TABLE tasks ADD COLUMN lost INTEGER NOT NULL DEFAULT 0`,
		`ALTER TABLE tasks ADD COLUMN at_most_once INTEGER NOT NULL DEFAULT 0`,
	}},
	// When each lease's current owner took it (Unix microseconds): set when
	// the lease changes hands, kept when its owner extends it, NULL once
	// released. Leases granted before have NULL (unknown) until they next
	// change hands. It is the SQLite backend's column (its migration
	// 0006_lease_acquired).
	{version: 7, name: "0007_lease_acquired", stmts: []string{
		`ALTER TABLE leases ADD COLUMN acquired INTEGER`,
	}},
	// The log of recorded requests (recorded.go): a request's mark (n =
	// -1) and the results of its statements, so that a request sent again
	// is applied once and answered as the first time. rqlite only: a local
	// SQLite transaction is never sent twice.
	{version: 8, name: "0008_request_log", stmts: []string{createRequestLog}},
	// The SQLite backend's schema, which both backends share from here on
	// (tables, columns, indexes, by name and definition; guard and
	// request_log stay rqlite's own). Each table that differed is rebuilt
	// under its name, its rows copied: records, leases, consumers and
	// schedules become WITHOUT ROWID; tasks and stream_meta lose their
	// column defaults; schedules.next_tick becomes next; tasks_unique_key
	// becomes tasks_unique. Two conventions change with the columns: a
	// released lease has expires NULL (was 0), and a task that no runner
	// holds has locked_by '' (was NULL).
	{version: 9, name: "0009_one_schema", stmts: oneSchema},
}

// oneSchema is migration 9's statements: each table that differed is
// renamed aside, created again as the SQLite backend's, filled from the
// old one and the old one dropped (with its indexes, created again after).
var oneSchema = []string{
	`ALTER TABLE records RENAME TO records_0008`,
	`CREATE TABLE records (
    namespace TEXT    NOT NULL,
    key       TEXT    NOT NULL,
    version   INTEGER NOT NULL,
    type      TEXT    NOT NULL DEFAULT '',
    created   INTEGER NOT NULL,
    updated   INTEGER NOT NULL,
    expires   INTEGER,
    value     TEXT    NOT NULL,
    PRIMARY KEY (namespace, key)
) WITHOUT ROWID`,
	`INSERT INTO records (namespace, key, version, type, created, updated, expires, value)
SELECT namespace, key, version, type, created, updated, expires, value FROM records_0008`,
	`DROP TABLE records_0008`,
	`CREATE INDEX records_by_type ON records (namespace, type, key)`,
	`CREATE INDEX records_by_expiry ON records (expires) WHERE expires IS NOT NULL`,

	`ALTER TABLE leases RENAME TO leases_0008`,
	`CREATE TABLE leases (
    name     TEXT    NOT NULL PRIMARY KEY,
    owner    TEXT    NOT NULL,
    token    INTEGER NOT NULL,
    expires  INTEGER,
    acquired INTEGER
) WITHOUT ROWID`,
	`INSERT INTO leases (name, owner, token, expires, acquired)
SELECT name, owner, token, CASE WHEN owner = '' THEN NULL ELSE expires END, acquired FROM leases_0008`,
	`DROP TABLE leases_0008`,

	`ALTER TABLE stream_meta RENAME TO stream_meta_0008`,
	`CREATE TABLE stream_meta (
    id      INTEGER PRIMARY KEY CHECK (id = 1),
    trimmed INTEGER NOT NULL
)`,
	`INSERT INTO stream_meta (id, trimmed) SELECT id, trimmed FROM stream_meta_0008`,
	`DROP TABLE stream_meta_0008`,

	`ALTER TABLE consumers RENAME TO consumers_0008`,
	`CREATE TABLE consumers (
    name     TEXT    NOT NULL PRIMARY KEY,
    position INTEGER NOT NULL,
    updated  INTEGER NOT NULL
) WITHOUT ROWID`,
	`INSERT INTO consumers (name, position, updated) SELECT name, position, updated FROM consumers_0008`,
	`DROP TABLE consumers_0008`,

	`ALTER TABLE tasks RENAME TO tasks_0008`,
	`CREATE TABLE tasks (
    id               TEXT    NOT NULL PRIMARY KEY,
    name             TEXT    NOT NULL,
    payload          TEXT    NOT NULL,
    status           TEXT    NOT NULL CHECK (status IN ('pending', 'running', 'completed', 'failed', 'cancelled')),
    priority         INTEGER NOT NULL,
    unique_key       TEXT,
    created          INTEGER NOT NULL,
    scheduled_for    INTEGER NOT NULL,
    started          INTEGER,
    completed        INTEGER,
    attempts         INTEGER NOT NULL,
    max_retries      INTEGER NOT NULL,
    timeout          INTEGER NOT NULL,
    last_error       TEXT    NOT NULL,
    locked_by        TEXT    NOT NULL,
    locked_until     INTEGER,
    token            INTEGER NOT NULL,
    cancel_requested INTEGER NOT NULL,
    lost             INTEGER NOT NULL DEFAULT 0,
    at_most_once     INTEGER NOT NULL DEFAULT 0
)`,
	`INSERT INTO tasks (id, name, payload, status, priority, unique_key, created, scheduled_for, started, completed,
    attempts, max_retries, timeout, last_error, locked_by, locked_until, token, cancel_requested, lost, at_most_once)
SELECT id, name, payload, status, priority, unique_key, created, scheduled_for, started, completed,
    attempts, max_retries, timeout, last_error, coalesce(locked_by, ''), locked_until, token, cancel_requested, lost, at_most_once
FROM tasks_0008`,
	`DROP TABLE tasks_0008`,
	`CREATE INDEX tasks_pending ON tasks (priority DESC, scheduled_for, id) WHERE status = 'pending'`,
	`CREATE INDEX tasks_running ON tasks (locked_until) WHERE status = 'running'`,
	`CREATE UNIQUE INDEX tasks_unique ON tasks (unique_key) WHERE status IN ('pending', 'running')`,
	`CREATE INDEX tasks_by_created ON tasks (created, id)`,
	`CREATE INDEX tasks_by_status ON tasks (status, created, id)`,
	`CREATE INDEX tasks_pending_name ON tasks (name, priority DESC, scheduled_for, id) WHERE status = 'pending'`,

	`ALTER TABLE schedules RENAME TO schedules_0008`,
	`CREATE TABLE schedules (
    name     TEXT    NOT NULL PRIMARY KEY,
    spec     TEXT    NOT NULL,
    template TEXT    NOT NULL,
    next     INTEGER NOT NULL
) WITHOUT ROWID`,
	`INSERT INTO schedules (name, spec, template, next) SELECT name, spec, template, next_tick FROM schedules_0008`,
	`DROP TABLE schedules_0008`,
}

// latestVersion is the schema version this driver needs.
func latestVersion() int { return migrations[len(migrations)-1].version }

// The tables every migration request may need before its own statements:
// both are created idempotently.
const (
	createMigrations = `CREATE TABLE IF NOT EXISTS schema_migrations (
    version INTEGER PRIMARY KEY,
    name    TEXT    NOT NULL,
    applied INTEGER NOT NULL
)`
	createGuard = `CREATE TABLE IF NOT EXISTS guard (
    failed CONSTRAINT guard_refuses_every_row CHECK (failed IS NULL)
)`
	// createRequestLog is migration 8's table (see recorded.go), also
	// created by Init on a schema made elsewhere.
	createRequestLog = `CREATE TABLE IF NOT EXISTS request_log (
    at INTEGER NOT NULL,
    id TEXT    NOT NULL,
    n  INTEGER NOT NULL,
    v  TEXT,
    PRIMARY KEY (at, id, n)
) WITHOUT ROWID`
)

// Init creates or migrates the schema. Each missing migration is one
// request, one transaction: it first makes sure of the schema_migrations
// and guard tables, then aborts itself (through guard) if another process
// applied the same step first, then runs the step and records it. So Init
// is idempotent and safe to run from several processes at once.
func (db *DB) Init(ctx context.Context) error {
	if err := db.usable(ctx); err != nil {
		return err
	}
	cur, hasGuard, err := db.schemaVersion(ctx)
	if err != nil {
		return err
	}
	for _, m := range migrations {
		if m.version <= cur {
			continue
		}
		if err := db.migrate(ctx, m); err != nil {
			return err
		}
		hasGuard = true
	}
	if !hasGuard {
		// A schema made elsewhere (the SQLite backend's file loaded into
		// rqlite: the same schema from version 9 on) has no guard table.
		// Without it rqlite would report the guard statements as
		// unpreparable and still commit the rest of a batch, so conditions
		// would not hold: create it, and the request log with it.
		err := db.retry(ctx, false, func() error {
			_, err := db.conn.WriteContext(ctx, []string{createGuard, createRequestLog})
			return err
		})
		if err != nil {
			return db.ctxErr(ctx, "init", err)
		}
	}
	return nil
}

func (db *DB) migrate(ctx context.Context, m migration) error {
	stmts := []gorqlite.ParameterizedStatement{
		{Query: createMigrations},
		{Query: createGuard},
		{Query: "INSERT INTO guard (failed) SELECT 'migrated' WHERE EXISTS (SELECT 1 FROM schema_migrations WHERE version >= ?)", Arguments: []any{m.version}},
	}
	const guardIdx = 2
	for _, s := range m.stmts {
		stmts = append(stmts, gorqlite.ParameterizedStatement{Query: s})
	}
	stmts = append(stmts, gorqlite.ParameterizedStatement{
		Query:     "INSERT INTO schema_migrations (version, name, applied) VALUES (?, ?, ?)",
		Arguments: []any{m.version, m.name, time.Now().UnixMicro()},
	})
	var res []gorqlite.WriteResult
	err := db.retry(ctx, false, func() error {
		var err error
		res, err = db.conn.WriteParameterizedContext(ctx, stmts)
		return err
	})
	if err == nil {
		return nil
	}
	if !isStatementErrors(err) {
		return db.ctxErr(ctx, "init", err)
	}
	for j, r := range res {
		if r.Err == nil {
			continue
		}
		if j == guardIdx && strings.Contains(r.Err.Error(), "guard") {
			return nil // another process applied this step first
		}
		return fmt.Errorf("rqlitekv: init: migration %s: %s", m.name, db.scrub(r.Err.Error()))
	}
	return db.wrapErr("init", err)
}

// schemaVersion reads the applied schema version (0: no schema) and
// whether the guard table exists.
func (db *DB) schemaVersion(ctx context.Context) (int, bool, error) {
	qr, err := db.queryOne(ctx, "init", gorqlite.ParameterizedStatement{
		Query: "SELECT CAST(coalesce(max(version), 0) AS TEXT), " +
			"CAST((SELECT count(*) FROM sqlite_master WHERE type = 'table' AND name = 'guard') AS TEXT) FROM schema_migrations",
	})
	if err != nil {
		if strings.Contains(err.Error(), "no such table") {
			return 0, false, nil
		}
		return 0, false, err
	}
	type state struct {
		version int
		guard   bool
	}
	st, _, err := scanOne("init", qr, 2, func(row []any) (state, error) {
		v, err := intCol(row, 0)
		if err != nil {
			return state{}, fmt.Errorf("schema version: %w", err)
		}
		g, err := intCol(row, 1)
		if err != nil {
			return state{}, fmt.Errorf("guard table: %w", err)
		}
		return state{int(v), g > 0}, nil
	})
	return st.version, st.guard, err
}
