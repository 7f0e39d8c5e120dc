package postgreskv

import (
	"context"
	"errors"
	"strconv"
	"strings"
	"time"

	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgtype"

	"github.com/kvsuite/kv/kvcore/driver"
)

// recordColumns are the columns scanRecord reads, in order.
const recordColumns = "namespace, key, version, value, type, created, updated, expires"

// args collects SQL parameters and hands out their placeholders.
type args []any

// add appends v and returns its placeholder.
func (a *args) add(v any) string {
	*a = append(*a, v)
	return "$" + strconv.Itoa(len(*a))
}

// utc converts t to the form stored: UTC, microseconds.
func utc(t time.Time) time.Time { return t.UTC().Truncate(time.Microsecond) }

// expiry is the value stored for an expiry time: NULL for none.
func expiry(t time.Time) any {
	if t.IsZero() {
		return nil
	}
	return utc(t)
}

// where returns the conditions (joined with AND) that select the live
// records of a range selector at now. Every comparison is on the "C"
// collated key, so it is byte order and uses the primary key index (or the
// (namespace, type, key) index when sel.Type is set).
func where(sel driver.Selector, now time.Time, a *args) string {
	var b strings.Builder
	b.WriteString("namespace = " + a.add(sel.Namespace))
	if sel.Type != "" {
		b.WriteString(" AND type = " + a.add(sel.Type))
	}
	if sel.From != "" {
		b.WriteString(" AND key >= " + a.add(sel.From))
	}
	if sel.HasTo {
		b.WriteString(" AND key < " + a.add(sel.To))
	}
	if sel.HasAfter {
		b.WriteString(" AND key > " + a.add(sel.After))
	}
	b.WriteString(" AND " + live(a.add(utc(now))))
	return b.String()
}

// live is the condition that a record has not expired at the time in the
// placeholder now.
func live(now string) string {
	return "(expires IS NULL OR expires > " + now + ")"
}

// pageClause returns ORDER BY key with the selector's OFFSET and LIMIT.
func pageClause(sel driver.Selector, a *args) string {
	s := " ORDER BY key"
	if sel.Limit > 0 {
		s += " LIMIT " + a.add(int64(sel.Limit))
	}
	if sel.Offset > 0 {
		s += " OFFSET " + a.add(int64(sel.Offset))
	}
	return s
}

// Query returns the live records that sel selects (see driver.Store).
func (db *DB) Query(ctx context.Context, sel driver.Selector, now time.Time) ([]driver.Record, error) {
	if err := db.check(); err != nil {
		return nil, err
	}
	if sel.Keys != nil {
		return db.queryKeys(ctx, sel, now)
	}
	sql, a := db.rangeSQL(sel, now)
	return queryRows(ctx, db, scanRecord, sql, a...)
}

// rangeSQL returns the statement that reads the live records of a range
// selector at now, in key order, and its arguments.
func (db *DB) rangeSQL(sel driver.Selector, now time.Time) (string, args) {
	var a args
	return "SELECT " + recordColumns + " FROM " + db.records + " WHERE " + where(sel, now, &a) + pageClause(sel, &a), a
}

// queryKeys returns the live records of sel.Keys, in the order of the keys.
func (db *DB) queryKeys(ctx context.Context, sel driver.Selector, now time.Time) ([]driver.Record, error) {
	if len(sel.Keys) == 0 {
		return []driver.Record{}, nil
	}
	if len(sel.Keys) == 1 {
		return db.getOne(ctx, sel.Namespace, sel.Keys[0], now)
	}
	// A join with the unnested keys is planned as one index lookup per
	// key even before the table has statistics; key = ANY($2) was
	// planned as a sequential scan on a freshly loaded table.
	found, err := queryRows(ctx, db, scanRecord, "SELECT "+recordColumns+" FROM unnest($2::text[]) AS k(k) JOIN "+db.records+
		` ON namespace = $1 AND key = k.k COLLATE "C" WHERE `+live("$3"), sel.Namespace, sel.Keys, utc(now))
	if err != nil {
		return nil, err
	}
	byKey := make(map[string]int, len(found))
	for i, r := range found {
		byKey[r.Key] = i
	}
	out := make([]driver.Record, 0, len(found))
	for _, k := range sel.Keys {
		if i, ok := byKey[k]; ok {
			out = append(out, found[i])
			delete(byKey, k) // a repeated key is returned once
		}
	}
	return out, nil
}

// getOne returns the live record key of namespace ns (none or one). It is
// the path of every Get, so it allocates little: its statement (DB.get) is
// built once, and one allocation holds the result and every scan target.
func (db *DB) getOne(ctx context.Context, ns, key string, now time.Time) ([]driver.Record, error) {
	rows, err := db.pool.Query(ctx, db.get, ns, key, utc(now))
	if err != nil {
		return nil, db.mapError(err)
	}
	defer rows.Close()
	if !rows.Next() {
		if err := rows.Err(); err != nil {
			return nil, db.mapError(err)
		}
		return []driver.Record{}, nil
	}
	g := &struct {
		out [1]driver.Record
		t   recordTimes
	}{}
	r := &g.out[0]
	r.Namespace, r.Key = ns, key
	if err := rows.Scan(&r.Version, &r.Value, &r.Type, &g.t.created, &g.t.updated, &g.t.expires); err != nil {
		return nil, db.mapError(err)
	}
	g.t.set(r)
	rows.Close()
	if err := rows.Err(); err != nil {
		return nil, db.mapError(err)
	}
	return g.out[:], nil
}

// recordTimes are the scan targets of a record's times: pgtype values,
// since a *time.Time for the expiry would cost a scan plan and an
// allocation per row.
type recordTimes struct {
	created, updated, expires pgtype.Timestamptz
}

// set stores the scanned times in r, in UTC (no expiry: the zero time).
func (t *recordTimes) set(r *driver.Record) {
	r.Created, r.Updated = t.created.Time.UTC(), t.updated.Time.UTC()
	if t.expires.Valid {
		r.Expires = t.expires.Time.UTC()
	}
}

// scanRecord reads a row of recordColumns.
func scanRecord(row pgx.CollectableRow) (driver.Record, error) {
	var r driver.Record
	var t recordTimes
	if err := row.Scan(&r.Namespace, &r.Key, &r.Version, &r.Value, &r.Type, &t.created, &t.updated, &t.expires); err != nil {
		return r, err
	}
	t.set(&r)
	return r, nil
}

// queryRows runs sql on the pool and returns its rows, each read by scan.
func queryRows[T any](ctx context.Context, db *DB, scan pgx.RowToFunc[T], sql string, args ...any) ([]T, error) {
	return queryRowsOn(ctx, db, db.pool, scan, sql, args...)
}

// querier runs a query: the pool, or a transaction.
type querier interface {
	Query(ctx context.Context, sql string, args ...any) (pgx.Rows, error)
}

// queryRowsOn is queryRows on q.
func queryRowsOn[T any](ctx context.Context, db *DB, q querier, scan pgx.RowToFunc[T], sql string, args ...any) ([]T, error) {
	rows, err := q.Query(ctx, sql, args...)
	if err != nil {
		return nil, db.mapError(err)
	}
	out, err := pgx.CollectRows(rows, scan)
	if err != nil {
		return nil, db.mapError(err)
	}
	return out, nil
}

// queryOne runs sql on the pool and returns its one row, read by scan, and
// whether there was one.
func queryOne[T any](ctx context.Context, db *DB, scan pgx.RowToFunc[T], sql string, args ...any) (T, bool, error) {
	var zero T
	rows, err := db.pool.Query(ctx, sql, args...)
	if err != nil {
		return zero, false, db.mapError(err)
	}
	v, err := pgx.CollectExactlyOneRow(rows, scan)
	if errors.Is(err, pgx.ErrNoRows) {
		return zero, false, nil
	}
	if err != nil {
		return zero, false, db.mapError(err)
	}
	return v, true, nil
}

// Count returns how many live records sel selects (see driver.Store).
func (db *DB) Count(ctx context.Context, sel driver.Selector, now time.Time) (int64, error) {
	if err := db.check(); err != nil {
		return 0, err
	}
	var a args
	var sql string
	if sel.Keys != nil {
		if len(sel.Keys) == 0 {
			return 0, nil
		}
		sql = "SELECT count(DISTINCT key) FROM " + db.records + " WHERE namespace = " + a.add(sel.Namespace) +
			" AND key = ANY(" + a.add(sel.Keys) + ") AND " + live(a.add(utc(now)))
	} else {
		// Offset and Limit do not apply to a count.
		sel.Offset, sel.Limit = 0, 0
		sql = "SELECT count(*) FROM " + db.records + " WHERE " + where(sel, now, &a)
	}
	var n int64
	if err := db.pool.QueryRow(ctx, sql, a...).Scan(&n); err != nil {
		return 0, db.mapError(err)
	}
	return n, nil
}
