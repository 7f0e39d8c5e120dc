package postgreskv

import (
	"context"
	"fmt"
	"strings"
	"time"

	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgxpool"
)

// migrations are the schema versions, in order; migration i+1 brings the
// schema from version i to i+1. Never edit a migration that has shipped:
// append a new one. {records}, {stream}, {leases}, {fail} and the other names in braces
// are replaced by the quoted, schema-qualified names (see expand).
var migrations = []string{
	// 1: records, the change stream, leases, and the error-raising helper.
	`
CREATE TABLE {records} (
	namespace text COLLATE "C" NOT NULL,
	key       text COLLATE "C" NOT NULL,
	version   bigint NOT NULL,
	value     bytea NOT NULL,
	type      text COLLATE "C" NOT NULL,
	created   timestamptz NOT NULL,
	updated   timestamptz NOT NULL,
	expires   timestamptz,
	PRIMARY KEY (namespace, key)
);
CREATE INDEX {records_type_idx} ON {records} (namespace, type, key);
CREATE INDEX {records_expires_idx} ON {records} (expires) WHERE expires IS NOT NULL;

CREATE TABLE {stream} (
	seq       bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
	xid       xid8 NOT NULL DEFAULT pg_current_xact_id(),
	namespace text COLLATE "C" NOT NULL,
	key       text COLLATE "C" NOT NULL,
	action    text NOT NULL,
	version   bigint NOT NULL,
	type      text COLLATE "C" NOT NULL,
	value     bytea,
	ts        timestamptz NOT NULL
);
CREATE INDEX {stream_xid_idx} ON {stream} (xid, seq);

-- Leases (kvlock): rows are never deleted, so a token only grows. A
-- released lease has owner '' and no expiry. Fenced writes check these rows.
CREATE TABLE {leases} (
	name    text COLLATE "C" PRIMARY KEY,
	owner   text NOT NULL DEFAULT '',
	token   bigint NOT NULL,
	expires timestamptz
);

CREATE FUNCTION {fail}(what text, op integer) RETURNS bigint
LANGUAGE plpgsql VOLATILE AS $$
BEGIN
	IF what = 'fenced' THEN
		RAISE EXCEPTION 'kv: fenced: lease not held with that token' USING ERRCODE = 'KVF01';
	END IF;
	RAISE EXCEPTION 'kv: version mismatch (op %)', op USING ERRCODE = 'KVV01';
END
$$;
`,
	// 2: the stream's sequencer (pos), its meta row, and consumers.
	`
-- pos is the stream position readers see, handed out by the sequencer
-- (kv_sequence) in commit order; NULL until then.
ALTER TABLE {stream} ADD COLUMN pos bigint;
CREATE UNIQUE INDEX {stream_pos_idx} ON {stream} (pos);
CREATE INDEX {stream_pending_idx} ON {stream} (seq) WHERE pos IS NULL;
DROP INDEX {stream_xid_idx_q};

-- One row: the highest position trimmed and the highest handed out.
CREATE TABLE {stream_meta} (
	id       boolean PRIMARY KEY DEFAULT true CHECK (id),
	trimmed  bigint NOT NULL DEFAULT 0,
	last_pos bigint NOT NULL DEFAULT 0
);
INSERT INTO {stream_meta} DEFAULT VALUES;

CREATE TABLE {consumers} (
	name     text COLLATE "C" PRIMARY KEY,
	position bigint NOT NULL,
	updated  timestamptz NOT NULL
);

-- One sequencer step: give every committed stream row that has no position
-- yet the next positions, in seq order, under the advisory lock lock_key.
-- Returns the highest position handed out so far. Each statement of a
-- VOLATILE function takes a fresh snapshot, so the update sees every step
-- that committed before the lock was granted.
CREATE FUNCTION {sequence}(lock_key bigint) RETURNS bigint
LANGUAGE plpgsql VOLATILE AS $$
DECLARE
	last bigint;
	n bigint;
BEGIN
	IF NOT EXISTS (SELECT 1 FROM {stream} WHERE pos IS NULL) THEN
		SELECT last_pos INTO last FROM {stream_meta};
		RETURN last;
	END IF;
	PERFORM pg_advisory_xact_lock(lock_key);
	SELECT last_pos INTO last FROM {stream_meta};
	UPDATE {stream} s SET pos = last + p.n
	FROM (SELECT seq, row_number() OVER (ORDER BY seq) AS n FROM {stream} WHERE pos IS NULL) p
	WHERE s.seq = p.seq;
	GET DIAGNOSTICS n = ROW_COUNT;
	IF n > 0 THEN
		UPDATE {stream_meta} SET last_pos = last + n;
	END IF;
	RETURN last + n;
END
$$;
`,
	// 3: kvtask's tasks and cron schedules.
	`
-- Times are the front's clock, never now(). unique_key is NULL when the
-- task has none; timeout_us is microseconds (0: no limit).
CREATE TABLE {tasks} (
	id               text COLLATE "C" PRIMARY KEY,
	name             text COLLATE "C" NOT NULL,
	payload          bytea NOT NULL,
	status           text NOT NULL CHECK (status IN ('pending', 'running', 'completed', 'failed', 'cancelled')),
	priority         bigint NOT NULL,
	unique_key       text COLLATE "C",
	created          timestamptz NOT NULL,
	scheduled_for    timestamptz NOT NULL,
	started          timestamptz,
	completed        timestamptz,
	attempts         bigint NOT NULL,
	max_retries      bigint NOT NULL,
	timeout_us       bigint NOT NULL,
	last_error       text NOT NULL,
	locked_by        text COLLATE "C" NOT NULL,
	locked_until     timestamptz,
	token            bigint NOT NULL,
	cancel_requested boolean NOT NULL
);
-- Claim walks this index in its order and stops after its limit.
CREATE INDEX {tasks_claim_idx} ON {tasks} (priority DESC, scheduled_for, id)
	WHERE status IN ('pending', 'running');
-- At most one pending or running task per unique key; Insert's arbiter.
CREATE UNIQUE INDEX {tasks_unique_idx} ON {tasks} (unique_key)
	WHERE status IN ('pending', 'running');
CREATE INDEX {tasks_created_idx} ON {tasks} (created, id);

CREATE TABLE {schedules} (
	name        text COLLATE "C" PRIMARY KEY,
	spec        text NOT NULL,
	next        timestamptz NOT NULL,
	task_name   text COLLATE "C" NOT NULL,
	payload     bytea NOT NULL,
	priority    bigint NOT NULL,
	unique_key  text COLLATE "C",
	max_retries bigint NOT NULL,
	timeout_us  bigint NOT NULL
);
`,
	// 4: kv_fail learns 'expired' (a put's single statement found an
	// expired record, whose removal it cannot record: see apply.go) and
	// 'again' (a statement's snapshot missed a row committed while it ran:
	// see InsertMany).
	`
CREATE OR REPLACE FUNCTION {fail}(what text, op integer) RETURNS bigint
LANGUAGE plpgsql VOLATILE AS $$
BEGIN
	IF what = 'fenced' THEN
		RAISE EXCEPTION 'kv: fenced: lease not held with that token' USING ERRCODE = 'KVF01';
	END IF;
	IF what = 'expired' THEN
		RAISE EXCEPTION 'kv: op % found an expired record', op USING ERRCODE = 'KVE01';
	END IF;
	IF what = 'again' THEN
		RAISE EXCEPTION 'kv: a row changed while the statement ran' USING ERRCODE = 'KVA01';
	END IF;
	RAISE EXCEPTION 'kv: version mismatch (op %)', op USING ERRCODE = 'KVV01';
END
$$;
`,
	// 5: Claim's indexes: one for the pending tasks and one for the running,
	// instead of one for both (see claimSQL), so that an idle claim does
	// not walk the tasks scheduled later.
	`
-- Claim finds each priority's due tasks at the front of its range.
CREATE INDEX {tasks_pending_idx} ON {tasks} (priority DESC, scheduled_for, id)
	WHERE status = 'pending';
-- Claim finds the running tasks whose lease expired.
CREATE INDEX {tasks_running_idx} ON {tasks} (locked_until) WHERE status = 'running';
DROP INDEX {tasks_claim_idx_q};
`,
	// 6: the stream's position index leaves out the rows not yet
	// sequenced. Every write inserts its stream rows without a position,
	// so indexing NULL cost each write an index entry that the sequencer's
	// update then superseded. Every query on pos (Read, Trim) implies
	// pos IS NOT NULL, so it still uses the index.
	`
CREATE UNIQUE INDEX {stream_pos_new_idx} ON {stream} (pos) WHERE pos IS NOT NULL;
DROP INDEX {stream_pos_idx_q};
ALTER INDEX {stream_pos_new_idx_q} RENAME TO {stream_pos_idx};
`,
	// 7: Claim with names seeks each name's due tasks in an index of its
	// own, so that other names' due tasks cost it nothing.
	`
CREATE INDEX {tasks_pending_name_idx} ON {tasks} (name, priority DESC, scheduled_for, id)
	WHERE status = 'pending';
`,
	// 8: the sequencer's plans do not depend on the stream's statistics.
	// PL/pgSQL caches a step's plans; planned while the table was small,
	// or with statistics taken while most rows were unsequenced, the
	// update joined the pending rows to a full scan of the stream by hash,
	// so every step cost as much as the whole table. A step only ever
	// touches the unsequenced rows: it walks the pending index (a plain
	// index scan, which marks the entries of rows sequenced before as dead
	// for the next step) and updates each row where that scan found it (by
	// ctid: no descent of the primary key; only this function, under its
	// lock, updates stream rows). JIT compilation only slows these short
	// statements down.
	`
CREATE OR REPLACE FUNCTION {sequence}(lock_key bigint) RETURNS bigint
LANGUAGE plpgsql VOLATILE
SET enable_seqscan = off SET enable_bitmapscan = off SET enable_hashjoin = off SET enable_mergejoin = off SET jit = off
AS $$
DECLARE
	last bigint;
	n bigint;
BEGIN
	IF NOT EXISTS (SELECT 1 FROM {stream} WHERE pos IS NULL) THEN
		SELECT last_pos INTO last FROM {stream_meta};
		RETURN last;
	END IF;
	PERFORM pg_advisory_xact_lock(lock_key);
	SELECT last_pos INTO last FROM {stream_meta};
	UPDATE {stream} s SET pos = last + p.n
	FROM (SELECT ctid, row_number() OVER (ORDER BY seq) AS n FROM {stream} WHERE pos IS NULL) p
	WHERE s.ctid = p.ctid;
	GET DIAGNOSTICS n = ROW_COUNT;
	IF n > 0 THEN
		UPDATE {stream_meta} SET last_pos = last + n;
	END IF;
	RETURN last + n;
END
$$;
`,
	// 9: lost counts a task's attempts whose runner was lost (the lease
	// expired before an outcome was recorded): Claim adds one for each
	// task it takes over from an expired lease. at_most_once makes kvtask
	// fail a task instead of running a lost attempt again; a schedule's
	// template keeps it too. Existing rows get 0 and false (a constant
	// default: no table rewrite).
	`
ALTER TABLE {tasks} ADD COLUMN lost bigint NOT NULL DEFAULT 0,
	ADD COLUMN at_most_once boolean NOT NULL DEFAULT false;
ALTER TABLE {schedules} ADD COLUMN at_most_once boolean NOT NULL DEFAULT false;
`,
	// 10: when each lease's current owner took it (set when the lease
	// changes hands, kept when its owner extends it, NULL once released;
	// leases granted before have NULL, unknown, until they next change
	// hands); kv_fail learns 'limit' (a put over a record at the highest
	// version, which cannot be given a higher one: see apply.go).
	`
ALTER TABLE {leases} ADD COLUMN acquired timestamptz;

CREATE OR REPLACE FUNCTION {fail}(what text, op integer) RETURNS bigint
LANGUAGE plpgsql VOLATILE AS $$
BEGIN
	IF what = 'fenced' THEN
		RAISE EXCEPTION 'kv: fenced: lease not held with that token' USING ERRCODE = 'KVF01';
	END IF;
	IF what = 'expired' THEN
		RAISE EXCEPTION 'kv: op % found an expired record', op USING ERRCODE = 'KVE01';
	END IF;
	IF what = 'again' THEN
		RAISE EXCEPTION 'kv: a row changed while the statement ran' USING ERRCODE = 'KVA01';
	END IF;
	IF what = 'limit' THEN
		RAISE EXCEPTION 'kv: op % would write over a record at the highest version', op USING ERRCODE = 'KVL01';
	END IF;
	RAISE EXCEPTION 'kv: version mismatch (op %)', op USING ERRCODE = 'KVV01';
END
$$;
`,
}

// SchemaVersion is the schema version this driver creates.
const SchemaVersion = 10

// Init creates the schema (and, with WithSchema, the PostgreSQL schema) or
// migrates it to the newest version. It is idempotent and safe to run from
// many processes at once: it holds a session advisory lock on one dedicated
// connection while it migrates, and each migration commits with its version
// row. On a schema that is already current it only reads the version, so a
// role without DDL privileges may call it. A database whose schema is newer
// than this driver's is left alone.
func (db *DB) Init(ctx context.Context) error {
	if err := db.check(); err != nil {
		return err
	}
	conn, err := db.pool.Acquire(ctx)
	if err != nil {
		return db.mapError(err)
	}
	// Fast path, without the lock: nothing to do.
	if v, err := db.schemaVersion(ctx, conn.Conn()); err == nil && v >= len(migrations) {
		conn.Release()
		return nil
	}
	if _, err := conn.Exec(ctx, "SELECT pg_advisory_lock($1)", db.lockKey); err != nil {
		// The lock may or may not be held: do not give this session back.
		discard(conn)
		return fmt.Errorf("postgreskv: init: take migration lock: %w", db.mapError(err))
	}
	merr := db.migrate(ctx, conn.Conn(), len(migrations))
	uctx, cancel := context.WithTimeout(context.WithoutCancel(ctx), 10*time.Second)
	defer cancel()
	var unlocked bool
	uerr := conn.QueryRow(uctx, "SELECT pg_advisory_unlock($1)", db.lockKey).Scan(&unlocked)
	if uerr != nil || !unlocked {
		discard(conn) // closing the session releases its locks
	} else {
		conn.Release()
	}
	if merr != nil {
		return merr
	}
	if uerr != nil {
		return fmt.Errorf("postgreskv: init: release migration lock: %w", db.mapError(uerr))
	}
	return nil
}

// rowQuerier runs a query that returns one row: a *pgx.Conn or the pool.
type rowQuerier interface {
	QueryRow(ctx context.Context, sql string, args ...any) pgx.Row
}

// schemaVersion returns the newest migration applied (0 if none).
func (db *DB) schemaVersion(ctx context.Context, conn rowQuerier) (int, error) {
	var exists bool
	if err := conn.QueryRow(ctx, "SELECT to_regclass($1) IS NOT NULL", db.migrations).Scan(&exists); err != nil {
		return 0, err
	}
	if !exists {
		return 0, nil
	}
	var v int
	err := conn.QueryRow(ctx, "SELECT coalesce(max(version), 0) FROM "+db.migrations).Scan(&v)
	return v, err
}

// discard closes a pooled connection instead of returning it to the pool.
func discard(c *pgxpool.Conn) {
	closeConn(c.Hijack(), 5*time.Second)
}

// migrate brings the schema up to version target.
func (db *DB) migrate(ctx context.Context, conn *pgx.Conn, target int) error {
	current, err := db.schemaVersion(ctx, conn)
	if err != nil {
		return fmt.Errorf("postgreskv: init: read schema version: %w", db.mapError(err))
	}
	if current >= target {
		return nil
	}
	if db.schema != "" {
		var exists bool
		if err := conn.QueryRow(ctx, "SELECT EXISTS (SELECT 1 FROM pg_namespace WHERE nspname = $1)", db.schema).Scan(&exists); err != nil {
			return fmt.Errorf("postgreskv: init: %w", db.mapError(err))
		}
		if !exists {
			if _, err := conn.Exec(ctx, "CREATE SCHEMA IF NOT EXISTS "+pgx.Identifier{db.schema}.Sanitize()); err != nil {
				return fmt.Errorf("postgreskv: init: create schema %q: %w", db.schema, db.mapError(err))
			}
		}
	}
	if _, err := conn.Exec(ctx, `CREATE TABLE IF NOT EXISTS `+db.migrations+` (
	version integer PRIMARY KEY,
	applied timestamptz NOT NULL DEFAULT now()
)`); err != nil {
		return fmt.Errorf("postgreskv: init: create migrations table: %w", db.mapError(err))
	}
	for v := current + 1; v <= target; v++ {
		err := pgx.BeginFunc(ctx, conn, func(tx pgx.Tx) error {
			if sql := migrations[v-1]; sql != "" { // "": a version without a step
				if _, err := tx.Exec(ctx, db.expand(sql)); err != nil {
					return err
				}
			}
			_, err := tx.Exec(ctx, "INSERT INTO "+db.migrations+" (version) VALUES ($1)", v)
			return err
		})
		if err != nil {
			return fmt.Errorf("postgreskv: init: migration %d: %w", v, db.mapError(err))
		}
	}
	return nil
}

// expand fills in a migration's table, index and function names.
func (db *DB) expand(sql string) string {
	// Index names live in the table's schema and must not be qualified.
	idx := func(name string) string { return pgx.Identifier{name}.Sanitize() }
	return strings.NewReplacer(
		"{records}", db.records,
		"{stream}", db.stream,
		"{leases}", db.leases,
		"{fail}", db.fail,
		"{stream_meta}", db.streamMeta,
		"{consumers}", db.consumers,
		"{sequence}", db.sequence,
		"{tasks}", db.tasks,
		"{schedules}", db.schedules,
		"{tasks_claim_idx}", idx("kv_tasks_claim_idx"),
		"{tasks_claim_idx_q}", db.q("kv_tasks_claim_idx"),
		"{tasks_pending_idx}", idx("kv_tasks_pending_idx"),
		"{tasks_running_idx}", idx("kv_tasks_running_idx"),
		"{tasks_pending_name_idx}", idx("kv_tasks_pending_name_idx"),
		"{tasks_unique_idx}", idx("kv_tasks_unique_idx"),
		"{tasks_created_idx}", idx("kv_tasks_created_idx"),
		"{stream_pos_idx}", idx("kv_stream_pos_idx"),
		"{stream_pos_idx_q}", db.q("kv_stream_pos_idx"),
		"{stream_pos_new_idx}", idx("kv_stream_pos_new_idx"),
		"{stream_pos_new_idx_q}", db.q("kv_stream_pos_new_idx"),
		"{stream_pending_idx}", idx("kv_stream_pending_idx"),
		"{records_type_idx}", idx("kv_records_type_idx"),
		"{records_expires_idx}", idx("kv_records_expires_idx"),
		"{stream_xid_idx}", idx("kv_stream_xid_idx"),
		"{stream_xid_idx_q}", db.q("kv_stream_xid_idx"),
	).Replace(sql)
}
