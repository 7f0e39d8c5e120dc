package sqlitekv

import (
	"bytes"
	"context"
	"database/sql"
	sqldriver "database/sql/driver"
	"encoding/json"
	"fmt"
	"io"
	"time"

	"github.com/kvsuite/kv/kvcore/driver"
	"github.com/kvsuite/kv/sqlitedialect"
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
		q, args = rangeQuery(sel, nowU)
	}
	out, err := db.queryRecords(ctx, sel.Namespace, q, args, len(sel.Keys) == 1)
	if err != nil {
		return nil, db.dbError("query", err)
	}
	return out, nil
}

// rangeQuery returns the statement and arguments that read the live
// records of a range selector at nowU, in key order.
func rangeQuery(sel driver.Selector, nowU int64) (string, []any) {
	where, args := sqlitedialect.SQLite.SelectorWhere(sel, nowU)
	return "SELECT " + recordColumns + " FROM records WHERE " + where + " ORDER BY key LIMIT ? OFFSET ?", append(args, sqlitedialect.LimitArg(sel.Limit), sel.Offset)
}

// queryRecords runs q, which selects recordColumns, on a reader connection
// through the driver directly: the connection's own prepared statement, the
// arguments and row buffers it keeps, and each row converted once. With one
// set (q selects by primary key), it reads the first row and stops, without
// stepping the statement to its end.
func (db *DB) queryRecords(ctx context.Context, ns, q string, args []any, one bool) ([]driver.Record, error) {
	c, err := db.rdb.Conn(ctx)
	if err != nil {
		return nil, err
	}
	defer c.Close()
	return queryRecordsOn(ctx, c, ns, q, args, one)
}

// queryRecordsOn is queryRecords on the reader connection c.
func queryRecordsOn(ctx context.Context, c *sql.Conn, ns, q string, args []any, one bool) ([]driver.Record, error) {
	out := []driver.Record{}
	err := c.Raw(func(dc any) error {
		rc, ok := dc.(*conn)
		if !ok {
			return fmt.Errorf("sqlitekv: reader connection is a %T", dc)
		}
		rows, err := rc.query(ctx, q, args)
		if err != nil {
			return err
		}
		defer rows.Close()
		dest := rc.dest[:]
		defer clear(dest)
		done := ctx.Done()
		for {
			select {
			case <-done: // as database/sql's Rows: a long read stops once ctx ends
				return ctx.Err()
			default:
			}
			if err := rows.Next(dest); err == io.EOF {
				return nil
			} else if err != nil {
				return err
			}
			r, err := recordFrom(ns, dest)
			if err != nil {
				return err
			}
			out = append(out, r)
			if one {
				return nil
			}
		}
	})
	if err != nil {
		return nil, err
	}
	return out, nil
}

// recordFields is the number of recordColumns.
const recordFields = 7

// recordFrom converts one row of recordColumns, as the driver returns it,
// to a record of namespace ns.
func recordFrom(ns string, v []sqldriver.Value) (driver.Record, error) {
	r := driver.Record{Namespace: ns}
	var ok [recordFields]bool
	r.Key, ok[0] = v[0].(string)
	r.Version, ok[1] = v[1].(int64)
	r.Type, ok[2] = v[2].(string)
	var created, updated int64
	created, ok[3] = v[3].(int64)
	updated, ok[4] = v[4].(int64)
	r.Created = time.UnixMicro(created).UTC()
	r.Updated = time.UnixMicro(updated).UTC()
	switch e := v[5].(type) {
	case nil:
		ok[5] = true
	case int64:
		r.Expires, ok[5] = time.UnixMicro(e).UTC(), true
	}
	switch val := v[6].(type) {
	case string:
		r.Value, ok[6] = []byte(val), true
	case []byte:
		r.Value, ok[6] = bytes.Clone(val), true
	}
	for i, good := range ok {
		if !good {
			return r, fmt.Errorf("sqlitekv: record column %d holds %T", i+1, v[i])
		}
	}
	return r, nil
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
	where, args := sqlitedialect.SQLite.SelectorWhere(sel, now.UnixMicro())
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
