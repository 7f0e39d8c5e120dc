package rqlitekv

import (
	"context"
	"fmt"
	"strings"
	"time"

	"github.com/rqlite/gorqlite"
)

// migration is one schema step. Its statements must be deterministic (they
// are replayed by every node of the cluster).
type migration struct {
	version int
	name    string
	stmts   []string
}

// migrations are the schema steps in increasing version order, from 1.
// The tables are the SQLite backend's (records, stream, leases,
// schema_migrations), plus guard, the table whose CHECK constraint turns a
// failed condition into an error that aborts a batch.
var migrations = []migration{
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
	// (see sqlClaim). They are the SQLite backend's indexes, by name and
	// definition.
	{version: 4, name: "0004_claim_indexes", stmts: []string{
		`CREATE INDEX IF NOT EXISTS tasks_pending ON tasks (priority DESC, scheduled_for, id) WHERE status = 'pending'`,
		`CREATE INDEX IF NOT EXISTS tasks_running ON tasks (locked_until) WHERE status = 'running'`,
		`DROP INDEX IF EXISTS tasks_claim`,
	}},
	// Claim with names seeks each name's due tasks in this index, so that a
	// backlog of other names' due tasks costs it nothing (tasks_pending
	// holds them among the names it asks for; see sqlClaim). It is the
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
	{version: 8, name: "0008_request_log", stmts: []string{
		`CREATE TABLE IF NOT EXISTS request_log (
    at INTEGER NOT NULL,
    id TEXT    NOT NULL,
    n  INTEGER NOT NULL,
    v  TEXT,
    PRIMARY KEY (at, id, n)
) WITHOUT ROWID`,
	}},
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
		// rqlite) has no guard table. Without it rqlite would report the
		// guard statements as unpreparable and still commit the rest of a
		// batch, so conditions would not hold: create it.
		err := db.retry(ctx, false, func() error {
			_, err := db.conn.WriteOneContext(ctx, createGuard)
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
