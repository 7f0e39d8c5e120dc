package postgreskv

import (
	"context"
	"errors"
	"fmt"
	"strconv"
	"time"

	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgconn"

	"github.com/kvsuite/kv/kvcore"
	"github.com/kvsuite/kv/kvcore/driver"
)

// Apply runs b.Ops in one transaction (see driver.Store).
//
// Each op is one SQL statement that makes its own write conditional on its
// expected version, appends its stream entry (a data-modifying CTE) and, if
// the condition does not hold, raises an error (kv_fail) that aborts the
// batch. The fence check is one more statement in front.
//
// A put with version -1 or 0 may find an expired record that no sweep has
// removed yet. Its removal is a change of its own, recorded in the stream
// (a delete entry with the old version and type) before the create; but
// PostgreSQL's INSERT ... ON CONFLICT cannot return the row it replaced. So
// such a put is first sent as one statement that raises an error (kv_fail
// 'expired') if it meets an expired record; the batch then fails as a whole,
// having written nothing, and is sent again with a statement in front of
// each such put that removes the expired record and records its delete
// entry. Puts with an expiry of their own (a cache's writes, which are the
// ones likely to meet expired records) and restores get that statement from
// the start. A lone batch is sent as one pgx batch: one
// pipeline and one Sync, which PostgreSQL runs as a single implicit
// transaction, so it costs one round trip (once its statements are prepared
// on the connection) and commits all or nothing. Batches of concurrent
// callers share a transaction (group commit, see group.go). After the
// commit, the notifier announces the stream entries the batch may have
// appended (unless WithoutNotify).
func (db *DB) Apply(ctx context.Context, b driver.Batch) ([]driver.Result, error) {
	if err := db.check(); err != nil {
		return nil, err
	}
	if len(b.Ops) == 0 {
		return []driver.Result{}, nil
	}
	r, err := db.newApplyReq(ctx, b, false)
	if err != nil {
		return nil, err
	}
	results, err := db.commit(r)
	if errors.Is(err, errFoundExpired) {
		if r, err = db.newApplyReq(ctx, b, true); err != nil {
			return nil, err
		}
		results, err = db.commit(r)
	}
	if err != nil {
		return nil, err
	}
	if db.notify {
		db.notifyCommitted(notifyStream)
	}
	return results, nil
}

// commit runs r (in a group, unless WithoutGroupCommit) and returns its
// results.
func (db *DB) commit(r *applyReq) ([]driver.Result, error) {
	if db.maxCommitters > 0 {
		return db.commitGrouped(r)
	}
	err := db.runAlone(r)
	return r.results, err
}

// stmt is one statement of an Apply: its SQL, its arguments and the op
// whose result it returns (-1: none).
type stmt struct {
	sql  string
	args []any
	op   int
}

// newApplyReq turns b into its statements. With removeExpired, every put
// with version -1 or 0 is preceded by the statement that removes an expired
// record (see Apply). A plain put (version -1, no expiry, alone in its
// batch, without a fence) keeps its op: its statement is only made if it
// does not run in a group's statement of plain puts (see statements).
func (db *DB) newApplyReq(ctx context.Context, b driver.Batch, removeExpired bool) (*applyReq, error) {
	now := utc(b.Now)
	r := &applyReq{ctx: ctx, results: make([]driver.Result, len(b.Ops)), done: make(chan struct{})}
	first := b.Ops[0]
	r.lockKey = first.Namespace + "\x00" + first.Key
	if first.Kind == driver.OpDeleteRange {
		r.lockKey = first.Namespace + "\x00" + first.Sel.From
	}
	for i, op := range b.Ops {
		if i > 0 {
			r.keys = append(r.keys, op.Namespace+"\x00"+op.Key)
		}
		r.anyKey = r.anyKey || op.Kind == driver.OpDeleteRange
	}
	if len(b.Ops) == 1 && b.Fence == nil && first.Kind == driver.OpPut && first.Version < 0 &&
		first.Value != nil && first.Expires.IsZero() && !removeExpired {
		r.put, r.now = &b.Ops[0], now
		return r, nil
	}
	r.stmts = make([]stmt, 0, len(b.Ops)+1)
	if b.Fence != nil {
		r.stmts = append(r.stmts, stmt{`WITH l AS (SELECT token FROM ` + db.leases + ` WHERE name = $1 AND token = $2 AND expires > $3 FOR SHARE)
SELECT 0::bigint, coalesce((SELECT token FROM l), ` + db.fail + `('fenced', -1))`, []any{b.Fence.Name, b.Fence.Token, now}, -1})
	}
	for i, op := range b.Ops {
		remove := (op.Kind == driver.OpPut || op.Kind == driver.OpRestore) && op.Version <= 0 &&
			(removeExpired || op.Kind == driver.OpRestore || !op.Expires.IsZero())
		sql, a, err := db.opStatement(i, op, now, remove)
		if err != nil {
			return nil, err
		}
		if remove {
			// A put (or restore) over an expired record: the record's
			// removal is a change of its own, recorded before the create.
			r.stmts = append(r.stmts, stmt{`WITH w AS (DELETE FROM ` + db.records + ` WHERE namespace = $1 AND key = $2 AND expires <= $3
	RETURNING key, version, type),
` + db.deleteStreamInsert("$1", "$3") + `
SELECT 0::bigint, 0::bigint`, []any{op.Namespace, op.Key, now}, -1})
		}
		r.stmts = append(r.stmts, stmt{sql, a, i})
		r.mayFail = r.mayFail || (op.Version >= 0 && op.Kind != driver.OpDeleteRange)
	}
	r.mayFail = r.mayFail || b.Fence != nil
	return r, nil
}

// statements returns r's statements, making a plain put's on first use.
func (db *DB) statements(r *applyReq) []stmt {
	if r.stmts == nil {
		sql, a, _ := db.opStatement(0, *r.put, r.now, false) // a plain put is valid
		r.stmts = []stmt{{sql, a, 0}}
	}
	return r.stmts
}

// queue appends r's statements to batch.
func (db *DB) queue(batch *pgx.Batch, r *applyReq) {
	for _, s := range db.statements(r) {
		batch.Queue(s.sql, s.args...)
	}
}

// read reads the results of r's statements from br. On an error it returns
// the op of the statement that failed (-1: none) and the error.
func (r *applyReq) read(br pgx.BatchResults) (int, error) {
	var skip driver.Result
	// Each statement's second column is the version, which mustReturn
	// also uses to fail a statement whose condition does not hold; no
	// caller reads its value.
	var version int64
	for _, s := range r.stmts {
		dst := &skip
		if s.op >= 0 {
			dst = &r.results[s.op]
		}
		if err := br.QueryRow().Scan(&dst.Rows, &version); err != nil {
			return s.op, err
		}
	}
	return -1, nil
}

// putManyStatement is the statement that writes plain puts: one array
// parameter per field, one row per put, in order, with the same effect as
// each put's own statement (opStatement); it returns each put's namespace
// and key.
func (db *DB) putManyStatement() string {
	return `WITH w AS (INSERT INTO ` + db.records + ` AS r (namespace, key, version, value, type, created, updated)
	SELECT namespace, key, 1, value, type, now, now
	FROM unnest($1::text[], $2::text[], $3::bytea[], $4::text[], $5::timestamptz[]) WITH ORDINALITY AS i(namespace, key, value, type, now, n)
	ORDER BY n
	ON CONFLICT (namespace, key) DO UPDATE SET
	version = CASE WHEN r.expires <= EXCLUDED.updated THEN ` + db.fail + `('expired', 0) ` + db.nextVersion("r.version", "0") + ` END,
	value = EXCLUDED.value, type = EXCLUDED.type, updated = EXCLUDED.updated, expires = NULL
	RETURNING namespace, key, version, type, value, updated),
s AS (INSERT INTO ` + db.stream + ` (namespace, key, action, version, type, value, ts)
	SELECT namespace, key, CASE WHEN version = 1 THEN '` + driver.ActionCreate + `' ELSE '` + driver.ActionUpdate + `' END,
	version, type, value, updated FROM w)
SELECT namespace, key FROM w`
}

// splitPlainPuts returns the batches of group that one statement of plain
// puts writes (nil unless there are two or more, each of a different key)
// and the others, in group's order.
func splitPlainPuts(group []*applyReq) (set, rest []*applyReq) {
	seen := make(map[string]bool, len(group))
	for _, r := range group {
		if r.put != nil && !seen[r.lockKey] {
			seen[r.lockKey] = true
			set = append(set, r)
		} else {
			rest = append(rest, r)
		}
	}
	if len(set) < 2 {
		return nil, group
	}
	return set, rest
}

// plainPutArgs returns the arguments of putManyStatement for set.
func plainPutArgs(set []*applyReq) []any {
	ns, keys, values, types, nows := make([]string, len(set)), make([]string, len(set)),
		make([][]byte, len(set)), make([]string, len(set)), make([]time.Time, len(set))
	for i, r := range set {
		p := r.put
		ns[i], keys[i], values[i], types[i], nows[i] = p.Namespace, p.Key, p.Value, p.Type, r.now
	}
	return []any{ns, keys, values, types, nows}
}

// readPlainPuts reads the result of putManyStatement for set into each
// batch's result.
func readPlainPuts(br pgx.BatchResults, set []*applyReq) error {
	rows, err := br.Query()
	if err != nil {
		return err
	}
	byKey := make(map[string]*applyReq, len(set))
	for _, r := range set {
		byKey[r.lockKey] = r
	}
	n := 0
	var ns, key string
	_, err = pgx.ForEachRow(rows, []any{&ns, &key}, func() error {
		r := byKey[ns+"\x00"+key]
		if r == nil {
			return fmt.Errorf("postgreskv: plain puts: unexpected row for key %q", key)
		}
		r.results[0] = driver.Result{Rows: 1}
		n++
		return nil
	})
	if err == nil && n != len(set) {
		err = fmt.Errorf("postgreskv: plain puts: %d rows for %d puts", n, len(set))
	}
	return err
}

// runAlone runs r in an implicit transaction of its own, again after a
// serialization failure or a deadlock (see retryTx).
func (db *DB) runAlone(r *applyReq) error {
	return retryTx(r.ctx, func() error {
		clear(r.results)
		return db.runAloneOnce(r)
	})
}

// runAloneOnce runs r once in an implicit transaction of its own.
func (db *DB) runAloneOnce(r *applyReq) error {
	batch := &pgx.Batch{}
	db.queue(batch, r)
	br := db.pool.SendBatch(r.ctx, batch)
	if op, err := r.read(br); err != nil {
		_ = br.Close()
		return db.applyError(err, op)
	}
	if err := br.Close(); err != nil {
		return db.applyError(err, -1)
	}
	return nil
}

// applyError maps an error of statement index of a batch.
func (db *DB) applyError(err error, index int) error {
	var pe *pgconn.PgError
	if errors.As(err, &pe) && pe.Code == codeMismatch && index >= 0 {
		return &driver.OpError{Index: index, Err: driver.ErrVersionMismatch}
	}
	if errors.As(err, &pe) && pe.Code == codeLimit && index >= 0 {
		return &driver.OpError{Index: index, Err: driver.ErrVersionLimit}
	}
	if errors.As(err, &pe) && pe.Code == codeExpired {
		return errFoundExpired
	}
	return db.mapError(err)
}

// streamInsert is the CTE that appends a put's stream entry from w: a
// create if w wrote the version first (the version a new record gets, 1 for
// a put), else an update.
func (db *DB) streamInsert(ns, key, first, now string) string {
	return `s AS (INSERT INTO ` + db.stream + ` (namespace, key, action, version, type, value, ts)
	SELECT ` + ns + `, ` + key + `, CASE WHEN w.version = ` + first + ` THEN '` + driver.ActionCreate + `' ELSE '` + driver.ActionUpdate + `' END,
	w.version, w.type, w.value, ` + now + ` FROM w)`
}

// deleteStreamInsert is the CTE that appends delete stream entries from w.
func (db *DB) deleteStreamInsert(ns, now string) string {
	return `s AS (INSERT INTO ` + db.stream + ` (namespace, key, action, version, type, value, ts)
	SELECT ` + ns + `, w.key, '` + driver.ActionDelete + `', w.version, w.type, NULL, ` + now + ` FROM w ORDER BY w.key)`
}

// touchStreamInsert is the CTE that appends a touch stream entry from w
// (the touched record's version and type, no value).
func (db *DB) touchStreamInsert(ns, now string) string {
	return `s AS (INSERT INTO ` + db.stream + ` (namespace, key, action, version, type, value, ts)
	SELECT ` + ns + `, w.key, '` + driver.ActionTouch + `', w.version, w.type, NULL, ` + now + ` FROM w)`
}

// nextVersion is the end of a CASE expression (its last WHEN and its ELSE)
// that gives a live record at version col its next version, or fails op
// idx (kv_fail 'limit') if col is at MaxVersion: a version never
// overflows (PostgreSQL would fail the statement with a bare "bigint out
// of range").
func (db *DB) nextVersion(col, idx string) string {
	return "WHEN " + col + " >= " + strconv.FormatInt(driver.MaxVersion, 10) + " THEN " + db.fail + "('limit', " + idx + ") ELSE " + col + " + 1"
}

// mustReturn is the final SELECT of a conditional op: one row (1, version)
// if w wrote a row, else the op's version mismatch error.
func (db *DB) mustReturn(idx string) string {
	return "SELECT 1::bigint, coalesce((SELECT version FROM w), " + db.fail + "('mismatch', " + idx + "))"
}

// opStatement returns the SQL and arguments of op, the i-th op of a batch.
// Each statement returns one row: rows affected and version. A put with
// version -1 or 0 that is not preceded by the removal of an expired record
// (removed false) fails with kv_fail 'expired' if it meets one.
func (db *DB) opStatement(i int, op driver.Op, now time.Time, removed bool) (string, []any, error) {
	var a args
	switch op.Kind {
	case driver.OpPut, driver.OpRestore:
		ns, key, val, typ, nowP, exp := a.add(op.Namespace), a.add(op.Key), a.add(op.Value), a.add(op.Type), a.add(now), a.add(expiry(op.Expires))
		if op.Value == nil {
			return "", nil, fmt.Errorf("postgreskv: op %d: %v without a value", i, op.Kind)
		}
		// A new record's version and times: a put's are 1 and now; a
		// restore's are the ones it carries, and it only creates.
		first, created, updated := "1::bigint", nowP, nowP
		if op.Kind == driver.OpRestore {
			if op.Version != 0 || op.SetVersion < 1 || op.Created.IsZero() || op.Updated.IsZero() {
				return "", nil, fmt.Errorf("postgreskv: op %d: restore needs version 0, a positive version to set and both times", i)
			}
			first, created, updated = a.add(op.SetVersion), a.add(utc(op.Created)), a.add(utc(op.Updated))
		}
		if op.Version > 0 {
			ver := a.add(op.Version)
			return `WITH w AS (UPDATE ` + db.records + ` SET version = CASE ` + db.nextVersion("version", a.add(int32(i))) + ` END, value = ` + val + `, type = ` + typ +
				`, updated = ` + nowP + `, expires = ` + exp + `
	WHERE namespace = ` + ns + ` AND key = ` + key + ` AND version = ` + ver + ` AND ` + live(nowP) + `
	RETURNING version, type, value),
` + db.streamInsert(ns, key, "1", nowP) + `
` + db.mustReturn(a.add(int32(i))), a, nil
		}
		// An expired record is replaced, as if it were not there: a race
		// with a removal that has just run, or (unless removed) an error.
		idx := a.add(int32(i))
		setVersion, setCreated := "CASE WHEN r.expires <= "+nowP+" THEN EXCLUDED.version "+db.nextVersion("r.version", idx)+" END",
			"CASE WHEN r.expires <= "+nowP+" THEN EXCLUDED.created ELSE r.created END"
		if !removed {
			setVersion, setCreated = "CASE WHEN r.expires <= "+nowP+" THEN "+db.fail+"('expired', "+idx+") "+db.nextVersion("r.version", idx)+" END",
				"r.created"
		}
		cond, final := "", "SELECT 1::bigint, version FROM w"
		if op.Version == 0 {
			cond = "\n\tWHERE r.expires <= " + nowP
			final = db.mustReturn(idx)
		}
		return `WITH w AS (INSERT INTO ` + db.records + ` AS r (namespace, key, version, value, type, created, updated, expires)
	VALUES (` + ns + `, ` + key + `, ` + first + `, ` + val + `, ` + typ + `, ` + created + `, ` + updated + `, ` + exp + `)
	ON CONFLICT (namespace, key) DO UPDATE SET version = ` + setVersion + `, created = ` + setCreated + `,
	value = EXCLUDED.value, type = EXCLUDED.type, updated = EXCLUDED.updated, expires = EXCLUDED.expires` + cond + `
	RETURNING version, type, value),
` + db.streamInsert(ns, key, first, nowP) + `
` + final, a, nil

	case driver.OpDelete, driver.OpTouch:
		ns, key, nowP := a.add(op.Namespace), a.add(op.Key), a.add(now)
		if op.Version == 0 {
			// Only if the key does not exist: then there is nothing to do.
			return `SELECT 0::bigint, CASE WHEN EXISTS (SELECT 1 FROM ` + db.records + ` WHERE namespace = ` + ns +
				` AND key = ` + key + ` AND ` + live(nowP) + `) THEN ` + db.fail + `('mismatch', ` + a.add(int32(i)) + `) ELSE 0 END`, a, nil
		}
		var write string
		if op.Kind == driver.OpDelete {
			write = `DELETE FROM ` + db.records
		} else {
			write = `UPDATE ` + db.records + ` SET expires = ` + a.add(expiry(op.Expires))
		}
		write += ` WHERE namespace = ` + ns + ` AND key = ` + key + ` AND ` + live(nowP)
		final := "SELECT count(*), coalesce(max(version), 0) FROM w"
		if op.Version > 0 {
			write += ` AND version = ` + a.add(op.Version)
			final = db.mustReturn(a.add(int32(i)))
		}
		sql := `WITH w AS (` + write + ` RETURNING key, version, type),
`
		if op.Kind == driver.OpDelete {
			sql += db.deleteStreamInsert(ns, nowP)
		} else {
			sql += db.touchStreamInsert(ns, nowP)
		}
		return sql + "\n" + final, a, nil

	case driver.OpDeleteRange:
		sel := op.Sel
		if sel.Keys != nil {
			return "", nil, fmt.Errorf("postgreskv: op %d: a range delete cannot select keys", i)
		}
		cond := where(sel, now, &a)
		ns, nowP := "$1", a.add(now) // where adds the namespace first
		if sel.Offset > 0 || sel.Limit > 0 {
			cond = `namespace = ` + ns + ` AND ` + live(nowP) + ` AND key IN (SELECT key FROM ` + db.records +
				` WHERE ` + cond + pageClause(sel, &a) + `)`
		}
		return `WITH w AS (DELETE FROM ` + db.records + ` WHERE ` + cond + ` RETURNING key, version, type),
` + db.deleteStreamInsert(ns, nowP) + `
SELECT count(*), 0::bigint FROM w`, a, nil
	}
	return "", nil, fmt.Errorf("postgreskv: op %d: unknown op kind %v", i, op.Kind)
}

// Sweep deletes up to limit records (in every namespace) whose expiry is at
// or before now, appending a delete stream entry for each (see driver.Store).
// Rows that a concurrent sweep or write holds locked are skipped.
func (db *DB) Sweep(ctx context.Context, now time.Time, limit int) (int64, error) {
	if err := db.check(); err != nil {
		return 0, err
	}
	if limit <= 0 {
		return 0, fmt.Errorf("postgreskv: sweep limit %d must be positive: %w", limit, kvcore.ErrInvalidArgument)
	}
	sql := `WITH w AS (DELETE FROM ` + db.records + ` WHERE (namespace, key) IN (
	SELECT namespace, key FROM ` + db.records + ` WHERE expires <= $1 ORDER BY expires LIMIT $2 FOR UPDATE SKIP LOCKED)
	AND expires <= $1
	RETURNING namespace, key, version, type),
s AS (INSERT INTO ` + db.stream + ` (namespace, key, action, version, type, value, ts)
	SELECT namespace, key, '` + driver.ActionDelete + `', version, type, NULL, $1 FROM w ORDER BY namespace, key)
SELECT count(*) FROM w`
	var n int64
	err := retryTx(ctx, func() error { return db.pool.QueryRow(ctx, sql, utc(now), int64(limit)).Scan(&n) })
	if err != nil {
		return 0, db.mapError(err)
	}
	if n > 0 && db.notify {
		db.notifyCommitted(notifyStream)
	}
	return n, nil
}
