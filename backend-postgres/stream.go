package postgreskv

import (
	"context"
	"errors"
	"fmt"
	"time"

	"github.com/jackc/pgx/v5"

	"github.com/kvsuite/kv/kvcore"
	coredriver "github.com/kvsuite/kv/kvcore/driver"
	streamdriver "github.com/kvsuite/kv/kvstream/driver"
)

// The change stream, kv_stream, gets one row per change in the writing
// transaction, with a seq from a sequence. A sequence hands values out
// before commit, so seq is not commit order: a transaction that took seq 10
// can commit after one that took seq 11, and a reader that follows seq
// skips 10 for good. Transaction ids do not help either: reading only rows
// whose xid is below the snapshot's xmin, in (xid, seq) order, can deliver
// a key's version 6 before its version 5 (the writer of 6 took its xid
// first, then waited for the row lock of 5's writer), and even in seq order
// the set of rows below xmin is not closed under "committed with a lower
// seq" (a third, open transaction can hold xmin between the two).
//
// So the stream has a sequencer: kv_sequence (see the migrations) gives
// every committed row without a position the next positions (pos), in seq
// order, under an advisory lock. pos is what readers see (Record.Seq, every
// cursor, Trim, consumer positions). It is gap-free: a position is handed
// out only to a committed row, each step's positions follow the previous
// step's, so a row that commits later never gets a smaller position than
// one a reader has seen. It keeps each key's versions in order: a writer
// that changes a key holds its row lock until commit, so the next writer of
// that key draws its seq after that commit; whenever the later row is
// visible the earlier one is too, and the step orders them by seq.
//
// Read and Bounds run one step first (it only probes an index when nothing
// is new). A stream row is therefore written twice: inserted by the writer,
// given its position by the first reader after commit.

var (
	_ streamdriver.Stream   = (*DB)(nil)
	_ streamdriver.Notifier = (*DB)(nil)
)

// sequenceStatements queues one sequencer step on b, in a READ COMMITTED
// transaction of its own whatever the session's default (the step needs a
// fresh snapshot after the lock).
func (db *DB) sequenceStatements(b *pgx.Batch) {
	b.Queue("BEGIN ISOLATION LEVEL READ COMMITTED")
	b.Queue(db.stepSQL(), db.seqKey)
	b.Queue("COMMIT")
}

// stepResults reads the results of sequenceStatements from br.
func stepResults(br pgx.BatchResults) error {
	for range 3 {
		if _, err := br.Exec(); err != nil {
			return err
		}
	}
	return nil
}

// stepSQL is the statement of one sequencer step; its argument is
// db.seqKey.
func (db *DB) stepSQL() string { return "SELECT " + db.sequence + "($1)" }

// runSequenced runs sql (one statement) after a sequencer step that began
// after the call, and calls scan with its rows (again after a
// serialization failure or a deadlock: scan must start from scratch). If no step of db is in
// flight, it sends the step and sql as one round trip (sql runs after the
// step has committed, in its own snapshot); otherwise it waits for the
// next step, which it shares with the other reads that wait (steps.go),
// and then sends sql alone.
func (db *DB) runSequenced(ctx context.Context, sql string, args []any, scan func(pgx.Rows) error) error {
	return retryTx(ctx, func() error { return db.runSequencedOnce(ctx, sql, args, scan) })
}

// runSequencedOnce is runSequenced without retrying.
func (db *DB) runSequencedOnce(ctx context.Context, sql string, args []any, scan func(pgx.Rows) error) error {
	w, lead := db.steps.join()
	b := &pgx.Batch{}
	if lead {
		db.sequenceStatements(b)
	} else if err := db.steps.wait(ctx, w); err != nil {
		return db.mapError(err)
	}
	b.Queue(sql, args...)
	br := db.pool.SendBatch(ctx, b)
	if lead {
		err := stepResults(br)
		db.finishStep(w, err)
		if err != nil {
			_ = br.Close()
			return db.mapError(err)
		}
	}
	rows, err := br.Query()
	if err == nil {
		err = scan(rows)
		rows.Close()
		if err == nil {
			err = rows.Err()
		}
	}
	if cerr := br.Close(); err == nil {
		err = cerr
	}
	return db.mapError(err)
}

// Read returns up to q.Limit entries after q.After in position order, with
// the trim watermark and the last position handed out, all from one
// snapshot (see kvstream/driver.Stream).
func (db *DB) Read(ctx context.Context, q streamdriver.Query) ([]streamdriver.Record, int64, int64, error) {
	if err := db.check(); err != nil {
		return nil, 0, 0, err
	}
	if q.Limit <= 0 {
		return nil, 0, 0, fmt.Errorf("postgreskv: stream read limit %d must be positive: %w", q.Limit, kvcore.ErrInvalidArgument)
	}
	sql, a := db.readSQL(q)
	var out []streamdriver.Record
	var trimmed, last int64
	err := db.runSequenced(ctx, sql, a, func(rows pgx.Rows) error {
		out = out[:0]
		for rows.Next() {
			var pos, version *int64
			var ns, key, action, typ *string
			var value []byte
			var ts *time.Time
			if err := rows.Scan(&trimmed, &last, &pos, &ns, &key, &action, &version, &typ, &value, &ts); err != nil {
				return err
			}
			if pos == nil {
				continue // no entries: the row only carries the watermark
			}
			out = append(out, streamdriver.Record{Seq: *pos, Namespace: *ns, Key: *key, Action: *action,
				Version: *version, Type: *typ, Value: value, Time: ts.UTC()})
		}
		return nil
	})
	if err != nil {
		return nil, 0, 0, err
	}
	return out, trimmed, last, nil
}

// readSQL returns Read's statement for q and its arguments. The meta row
// is read as a subquery with LIMIT 1: the table is never analyzed (one row,
// seldom changed), and PostgreSQL's guess for a table without statistics
// (some thousand rows) made the whole statement look costly enough to be
// JIT-compiled, which took each read 100-250 ms.
func (db *DB) readSQL(q streamdriver.Query) (string, args) {
	var a args
	cond := "pos > " + a.add(q.After)
	if q.HasNamespace {
		cond += " AND namespace = " + a.add(q.Namespace)
	}
	if q.Type != "" {
		cond += " AND type = " + a.add(q.Type)
	}
	return `SELECT m.trimmed, m.last_pos, s.pos, s.namespace, s.key, s.action, s.version, s.type, s.value, s.ts
FROM (SELECT trimmed, last_pos FROM ` + db.streamMeta + ` LIMIT 1) m LEFT JOIN LATERAL (
	SELECT pos, namespace, key, action, version, type, value, ts FROM ` + db.stream + `
	WHERE ` + cond + ` ORDER BY pos LIMIT ` + a.add(int64(q.Limit)) + `) s ON true
ORDER BY s.pos`, a
}

// Bounds returns the trim watermark and the highest position handed out,
// counting every change committed before the call. When no committed
// stream row waits for its position it reads both in one statement,
// without a sequencer step (so without the sequencer's lock: a reader of
// the head never waits for a trim or a step in progress); otherwise it
// runs a step first, as Read does.
func (db *DB) Bounds(ctx context.Context) (trimmed, last int64, err error) {
	if err := db.check(); err != nil {
		return 0, 0, err
	}
	var pending bool
	err = retryTx(ctx, func() error {
		return db.pool.QueryRow(ctx, "SELECT trimmed, last_pos, EXISTS (SELECT 1 FROM "+db.stream+
			" WHERE pos IS NULL) FROM (SELECT trimmed, last_pos FROM "+db.streamMeta+" LIMIT 1) m").Scan(&trimmed, &last, &pending)
	})
	switch {
	case errors.Is(err, pgx.ErrNoRows):
		return 0, 0, fmt.Errorf("%w: no stream meta row", coredriver.ErrNotInitialized)
	case err != nil:
		return 0, 0, db.mapError(err)
	case !pending:
		// One snapshot: every row committed before it has its position,
		// all at or below last.
		return trimmed, last, nil
	}
	err = db.runSequenced(ctx, "SELECT trimmed, last_pos FROM "+db.streamMeta, nil, func(rows pgx.Rows) error {
		if !rows.Next() {
			return fmt.Errorf("%w: no stream meta row", coredriver.ErrNotInitialized)
		}
		return rows.Scan(&trimmed, &last)
	})
	return trimmed, last, err
}

// Trim removes the entries at or below upTo (with keepConsumers, none above
// the lowest consumer position; never above the last position handed out)
// and returns the watermark, which never decreases. It holds the
// sequencer's lock, so no step runs between its reading of the last
// position and its delete. A negative upTo is an error wrapping
// kvcore.ErrInvalidArgument.
func (db *DB) Trim(ctx context.Context, upTo int64, keepConsumers bool) (int64, error) {
	if err := db.check(); err != nil {
		return 0, err
	}
	if upTo < 0 {
		return 0, fmt.Errorf("postgreskv: stream trim: seq %d is negative: %w", upTo, kvcore.ErrInvalidArgument)
	}
	b := &pgx.Batch{}
	b.Queue("BEGIN ISOLATION LEVEL READ COMMITTED")
	b.Queue("SELECT pg_advisory_xact_lock($1)", db.seqKey)
	b.Queue(`WITH m AS (UPDATE `+db.streamMeta+` SET trimmed = greatest(trimmed, least($1::bigint, last_pos,
	CASE WHEN $2::boolean THEN (SELECT min(position) FROM `+db.consumers+`) END))
	RETURNING trimmed),
d AS (DELETE FROM `+db.stream+` WHERE pos <= (SELECT trimmed FROM m))
SELECT trimmed FROM m`, upTo, keepConsumers)
	b.Queue("COMMIT")
	var trimmed int64
	err := retryTx(ctx, func() error {
		br := db.pool.SendBatch(ctx, b)
		defer br.Close()
		for i := 0; i < 4; i++ {
			var err error
			if i == 2 {
				err = br.QueryRow().Scan(&trimmed)
			} else {
				_, err = br.Exec()
			}
			if err != nil {
				return err
			}
		}
		return br.Close()
	})
	if err != nil {
		return 0, db.mapError(err)
	}
	return trimmed, nil
}

// consumerColumns are the columns scanConsumer reads.
const consumerColumns = "name, position, updated"

// scanConsumer reads a row of consumerColumns.
func scanConsumer(row pgx.CollectableRow) (streamdriver.Consumer, error) {
	var c streamdriver.Consumer
	err := row.Scan(&c.Name, &c.Position, &c.Updated)
	c.Updated = c.Updated.UTC()
	return c, err
}

// Consumer returns a consumer's state and whether it exists.
func (db *DB) Consumer(ctx context.Context, name string) (streamdriver.Consumer, bool, error) {
	if err := db.check(); err != nil {
		return streamdriver.Consumer{}, false, err
	}
	return queryOne(ctx, db, scanConsumer, "SELECT "+consumerColumns+" FROM "+db.consumers+" WHERE name = $1", name)
}

// Consumers returns every consumer, ordered by name (byte order).
func (db *DB) Consumers(ctx context.Context) ([]streamdriver.Consumer, error) {
	if err := db.check(); err != nil {
		return nil, err
	}
	return queryRows(ctx, db, scanConsumer, "SELECT "+consumerColumns+" FROM "+db.consumers+" ORDER BY name")
}

// CreateConsumer creates name at position unless it exists, and returns the
// stored consumer either way. A new consumer never starts below the trim
// watermark: at position 0 (the start) it starts where the stream now
// starts. The conflict branch rewrites the row with its own values only so
// that RETURNING yields it.
func (db *DB) CreateConsumer(ctx context.Context, name string, position int64, now time.Time) (streamdriver.Consumer, error) {
	if err := db.check(); err != nil {
		return streamdriver.Consumer{}, err
	}
	var c streamdriver.Consumer
	err := retryTx(ctx, func() error {
		rows, err := db.pool.Query(ctx, `INSERT INTO `+db.consumers+` AS c (name, position, updated)
	VALUES ($1, greatest($2::bigint, (SELECT trimmed FROM `+db.streamMeta+`)), $3)
ON CONFLICT (name) DO UPDATE SET name = c.name RETURNING `+consumerColumns, name, position, utc(now))
		if err == nil {
			c, err = pgx.CollectExactlyOneRow(rows, scanConsumer)
		}
		return err
	})
	if err != nil {
		return streamdriver.Consumer{}, db.mapError(err)
	}
	return c, nil
}

// Commit sets an existing consumer's position. With a fence, the lease is
// checked (and locked FOR SHARE) in the same statement.
func (db *DB) Commit(ctx context.Context, name string, position int64, fence *coredriver.Fence, now time.Time) error {
	if err := db.check(); err != nil {
		return err
	}
	now = utc(now)
	if fence == nil {
		tag, err := db.exec(ctx, "UPDATE "+db.consumers+" SET position = $2, updated = $3 WHERE name = $1", name, position, now)
		if err != nil {
			return err
		}
		if tag.RowsAffected() == 0 {
			return streamdriver.ErrNoConsumer
		}
		return nil
	}
	var held, updated bool
	err := retryTx(ctx, func() error {
		return db.pool.QueryRow(ctx, `WITH f AS (SELECT 1 FROM `+db.leases+` WHERE name = $4 AND token = $5 AND expires > $3 FOR SHARE),
u AS (UPDATE `+db.consumers+` SET position = $2, updated = $3 WHERE name = $1 AND EXISTS (SELECT 1 FROM f) RETURNING 1)
SELECT EXISTS (SELECT 1 FROM f), EXISTS (SELECT 1 FROM u)`, name, position, now, fence.Name, fence.Token).Scan(&held, &updated)
	})
	switch {
	case err != nil:
		return db.mapError(err)
	case !held:
		return streamdriver.ErrFenced
	case !updated:
		return streamdriver.ErrNoConsumer
	}
	return nil
}

// DeleteConsumer deletes a consumer and reports whether it existed.
func (db *DB) DeleteConsumer(ctx context.Context, name string) (bool, error) {
	if err := db.check(); err != nil {
		return false, err
	}
	tag, err := db.exec(ctx, "DELETE FROM "+db.consumers+" WHERE name = $1", name)
	if err != nil {
		return false, err
	}
	return tag.RowsAffected() == 1, nil
}
