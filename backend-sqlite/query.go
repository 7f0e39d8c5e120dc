package sqlitekv

import (
	"context"
	"database/sql"
	"encoding/json"
	"time"

	"github.com/kvsuite/kv/kvcore/driver"
)

const recordColumns = "key, version, type, created, updated, expires, value"

const (
	qOneKey = "SELECT " + recordColumns + " FROM records WHERE namespace = ? AND key = ? AND (expires IS NULL OR expires > ?)"
	// qKeys reads a list of keys given as one JSON array, in the array's
	// order: one statement whatever the number of keys, each found by the
	// primary key.
	qKeys = "SELECT r.key, r.version, r.type, r.created, r.updated, r.expires, r.value FROM json_each(?) AS j CROSS JOIN records AS r" +
		" WHERE r.namespace = ? AND r.key = j.value AND (r.expires IS NULL OR r.expires > ?) ORDER BY j.key"
)

// Query returns the live records sel selects (see driver.Store): for
// sel.Keys in their order, otherwise in byte order of key.
func (db *DB) Query(ctx context.Context, sel driver.Selector, now time.Time) ([]driver.Record, error) {
	if err := db.usable(ctx); err != nil {
		return nil, err
	}
	nowU := now.UnixMicro()
	var q string
	var args []any
	switch {
	case sel.Keys != nil && len(sel.Keys) == 0:
		return []driver.Record{}, nil
	case len(sel.Keys) == 1:
		q, args = qOneKey, []any{sel.Namespace, sel.Keys[0], nowU}
	case sel.Keys != nil:
		keys, err := json.Marshal(sel.Keys)
		if err != nil {
			return nil, db.dbError("query", err)
		}
		q, args = qKeys, []any{string(keys), sel.Namespace, nowU}
	default:
		where, wargs := selectorWhere(sel, nowU)
		q = "SELECT " + recordColumns + " FROM records WHERE " + where + " ORDER BY key LIMIT ? OFFSET ?"
		args = append(wargs, limitArg(sel.Limit), sel.Offset)
	}
	stmt, err := db.readStmt(ctx, q)
	if err != nil {
		return nil, db.dbError("query", err)
	}
	rows, err := stmt.QueryContext(ctx, args...)
	if err != nil {
		return nil, db.dbError("query", err)
	}
	defer rows.Close()
	out := []driver.Record{}
	for rows.Next() {
		r := driver.Record{Namespace: sel.Namespace}
		var created, updated int64
		var expires sql.NullInt64
		if err := rows.Scan(&r.Key, &r.Version, &r.Type, &created, &updated, &expires, &r.Value); err != nil {
			return nil, db.dbError("query", err)
		}
		r.Created = time.UnixMicro(created).UTC()
		r.Updated = time.UnixMicro(updated).UTC()
		if expires.Valid {
			r.Expires = time.UnixMicro(expires.Int64).UTC()
		}
		out = append(out, r)
	}
	if err := rows.Err(); err != nil {
		return nil, db.dbError("query", err)
	}
	return out, nil
}

// Count returns how many live records sel selects.
func (db *DB) Count(ctx context.Context, sel driver.Selector, now time.Time) (int64, error) {
	if err := db.usable(ctx); err != nil {
		return 0, err
	}
	if sel.Keys != nil {
		recs, err := db.Query(ctx, driver.Selector{Namespace: sel.Namespace, Keys: sel.Keys}, now)
		return int64(len(recs)), err
	}
	sel.After, sel.HasAfter, sel.Offset, sel.Limit = "", false, 0, 0
	where, args := selectorWhere(sel, now.UnixMicro())
	stmt, err := db.readStmt(ctx, "SELECT count(*) FROM records WHERE "+where)
	if err != nil {
		return 0, db.dbError("count", err)
	}
	var n int64
	if err := stmt.QueryRowContext(ctx, args...).Scan(&n); err != nil {
		return 0, db.dbError("count", err)
	}
	return n, nil
}

// readStmt returns the reader pool's prepared statement for q, preparing it
// on first use. The set of queries is small and fixed (one per selector
// shape), so the cache stays small.
func (db *DB) readStmt(ctx context.Context, q string) (*sql.Stmt, error) {
	db.rmu.Lock()
	s := db.rstmts[q]
	db.rmu.Unlock()
	if s != nil {
		return s, nil
	}
	s, err := db.rdb.PrepareContext(ctx, q)
	if err != nil {
		return nil, err
	}
	db.rmu.Lock()
	defer db.rmu.Unlock()
	if old := db.rstmts[q]; old != nil {
		_ = s.Close()
		return old, nil
	}
	if db.closed.Load() {
		_ = s.Close()
		return nil, driver.ErrClosed
	}
	db.rstmts[q] = s
	return s, nil
}
