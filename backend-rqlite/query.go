package rqlitekv

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"time"

	"github.com/rqlite/gorqlite"

	"github.com/kvsuite/kv/kvcore/driver"
	"github.com/kvsuite/kv/sqlitedialect"
)

// recordCols are the columns Query reads; integers come back as text so
// that they are exact (gorqlite decodes JSON numbers as float64).
const recordCols = "key, CAST(version AS TEXT), value, type, CAST(created AS TEXT), CAST(updated AS TEXT), CAST(expires AS TEXT)"

// Query returns the live records sel selects (see driver.Store), in one
// request at the connection's read consistency.
func (db *DB) Query(ctx context.Context, sel driver.Selector, now time.Time) ([]driver.Record, error) {
	if err := db.usable(ctx); err != nil {
		return nil, err
	}
	n := now.UnixMicro()
	var stmt gorqlite.ParameterizedStatement
	switch {
	case sel.Keys != nil:
		if len(sel.Keys) == 0 {
			return []driver.Record{}, nil
		}
		if len(sel.Keys) == 1 {
			stmt = gorqlite.ParameterizedStatement{
				Query: "SELECT " + recordCols + " FROM records WHERE namespace = " + textArg +
					" AND key = " + textArg + " AND " + live,
				Arguments: []any{txt(sel.Namespace), txt(sel.Keys[0]), n},
			}
			break
		}
		keys, err := json.Marshal(sel.Keys)
		if err != nil {
			return nil, fmt.Errorf("rqlitekv: query: %w", err)
		}
		// One parameter for any number of keys: a JSON array, expanded by
		// json_each and looked up in the primary key.
		stmt = gorqlite.ParameterizedStatement{
			Query: "SELECT " + recordCols + " FROM records WHERE namespace = " + textArg +
				" AND key IN (SELECT value FROM json_each(?)) AND " + live,
			Arguments: []any{txt(sel.Namespace), string(keys), n},
		}
	default:
		where, args := dialect.SelectorWhere(sel, n)
		q := "SELECT " + recordCols + " FROM records WHERE " + where + " ORDER BY key"
		if sel.Limit > 0 || sel.Offset > 0 {
			q += " LIMIT ? OFFSET ?"
			args = append(args, sqlitedialect.LimitArg(sel.Limit), sel.Offset)
		}
		stmt = gorqlite.ParameterizedStatement{Query: q, Arguments: args}
	}
	qr, err := db.queryOne(ctx, "query", stmt)
	if err != nil {
		return nil, err
	}
	out, err := scanRows("query", qr, 7, func(row []any) (driver.Record, error) { return scanRecord(sel.Namespace, row) })
	if err != nil {
		return nil, err
	}
	if sel.Keys != nil {
		out = inKeyOrder(out, sel.Keys)
	}
	return out, nil
}

// Count returns how many live records sel selects.
func (db *DB) Count(ctx context.Context, sel driver.Selector, now time.Time) (int64, error) {
	if err := db.usable(ctx); err != nil {
		return 0, err
	}
	sel.After, sel.HasAfter, sel.Offset, sel.Limit = "", false, 0, 0
	var stmt gorqlite.ParameterizedStatement
	if sel.Keys != nil {
		keys, err := json.Marshal(sel.Keys)
		if err != nil {
			return 0, fmt.Errorf("rqlitekv: count: %w", err)
		}
		stmt = gorqlite.ParameterizedStatement{
			Query: "SELECT CAST(count(*) AS TEXT) FROM records WHERE namespace = " + textArg +
				" AND key IN (SELECT value FROM json_each(?)) AND " + live,
			Arguments: []any{txt(sel.Namespace), string(keys), now.UnixMicro()},
		}
	} else {
		where, args := dialect.SelectorWhere(sel, now.UnixMicro())
		stmt = gorqlite.ParameterizedStatement{Query: "SELECT CAST(count(*) AS TEXT) FROM records WHERE " + where, Arguments: args}
	}
	qr, err := db.queryOne(ctx, "count", stmt)
	if err != nil {
		return 0, err
	}
	c, ok, err := scanOne("count", qr, 1, firstInt)
	if err == nil && !ok {
		err = errors.New("rqlitekv: count: no row")
	}
	return c, err
}

// queryOne runs one read statement at the call's consistency level (see
// WithReadConsistency), else the connection's.
func (db *DB) queryOne(ctx context.Context, op string, stmt gorqlite.ParameterizedStatement) (*gorqlite.QueryResult, error) {
	if err := checkReadConsistency(ctx, op); err != nil {
		return nil, err
	}
	var res []gorqlite.QueryResult
	err := db.retry(ctx, true, func() error {
		var err error
		res, err = db.conn.QueryParameterizedContext(ctx, []gorqlite.ParameterizedStatement{stmt})
		return err
	})
	if err != nil {
		if isStatementErrors(err) && len(res) > 0 && res[0].Err != nil {
			return nil, db.wrapErr(op, res[0].Err)
		}
		return nil, db.ctxErr(ctx, op, err)
	}
	if len(res) != 1 {
		return nil, fmt.Errorf("rqlitekv: %s: rqlite answered %d results for 1 statement", op, len(res))
	}
	return &res[0], nil
}

// scanRows reads every row of qr (none for a nil result) with scan, after
// checking that it has cols columns. Its errors name op.
func scanRows[T any](op string, qr *gorqlite.QueryResult, cols int, scan func(row []any) (T, error)) ([]T, error) {
	if qr == nil {
		return []T{}, nil
	}
	out := make([]T, 0, qr.NumRows())
	for qr.Next() {
		v, err := scanRow(qr, cols, scan)
		if err != nil {
			return nil, fmt.Errorf("rqlitekv: %s: %w", op, err)
		}
		out = append(out, v)
	}
	return out, nil
}

// scanOne reads the first row of qr with scan, as scanRows does; ok is
// false if there is no row (or no result).
func scanOne[T any](op string, qr *gorqlite.QueryResult, cols int, scan func(row []any) (T, error)) (v T, ok bool, err error) {
	if qr == nil || !qr.Next() {
		return v, false, nil
	}
	if v, err = scanRow(qr, cols, scan); err != nil {
		var zero T
		return zero, false, fmt.Errorf("rqlitekv: %s: %w", op, err)
	}
	return v, true, nil
}

// scanRow reads qr's current row with scan.
func scanRow[T any](qr *gorqlite.QueryResult, cols int, scan func(row []any) (T, error)) (T, error) {
	var zero T
	row, err := qr.Slice()
	if err != nil {
		return zero, err
	}
	if len(row) != cols {
		return zero, fmt.Errorf("row has %d columns, want %d", len(row), cols)
	}
	return scan(row)
}

// firstInt reads a row's first column as intCol does.
func firstInt(row []any) (int64, error) { return intCol(row, 0) }

// scanRecord reads one row of recordCols.
func scanRecord(ns string, row []any) (driver.Record, error) {
	r := driver.Record{Namespace: ns}
	var ok bool
	if r.Key, ok = row[0].(string); !ok {
		return r, fmt.Errorf("key: unexpected %T", row[0])
	}
	var err error
	if r.Version, err = intCol(row, 1); err != nil {
		return r, fmt.Errorf("key %q: version: %w", r.Key, err)
	}
	v, ok := row[2].(string)
	if !ok {
		return r, fmt.Errorf("key %q: value: unexpected %T", r.Key, row[2])
	}
	r.Value = []byte(v)
	if r.Type, ok = row[3].(string); !ok && row[3] != nil {
		return r, fmt.Errorf("key %q: type: unexpected %T", r.Key, row[3])
	}
	c, err := intCol(row, 4)
	if err != nil {
		return r, fmt.Errorf("key %q: created: %w", r.Key, err)
	}
	u, err := intCol(row, 5)
	if err != nil {
		return r, fmt.Errorf("key %q: updated: %w", r.Key, err)
	}
	r.Created, r.Updated = time.UnixMicro(c).UTC(), time.UnixMicro(u).UTC()
	if row[6] != nil {
		e, err := intCol(row, 6)
		if err != nil {
			return r, fmt.Errorf("key %q: expires: %w", r.Key, err)
		}
		r.Expires = time.UnixMicro(e).UTC()
	}
	return r, nil
}

// inKeyOrder returns rs in the order of keys (each key once).
func inKeyOrder(rs []driver.Record, keys []string) []driver.Record {
	by := make(map[string]driver.Record, len(rs))
	for _, r := range rs {
		by[r.Key] = r
	}
	out := make([]driver.Record, 0, len(rs))
	for _, k := range keys {
		if r, ok := by[k]; ok {
			out = append(out, r)
			delete(by, k)
		}
	}
	return out
}
