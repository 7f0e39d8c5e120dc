package sqlitedialect

import (
	"fmt"
	"strings"

	"github.com/kvsuite/kv/kvcore/driver"
)

// Dialect writes statements for one backend. The backends differ only in
// how values travel. The SQLite backend binds a Go string as TEXT and
// reads integers as int64. rqlite's JSON API turns a string shaped like a
// BLOB literal (x'..') into a BLOB, so the rqlite backend sends such a
// string hex-encoded in that form and writes every text parameter
// CAST(? AS TEXT), which turns it back into the same text; and it turns
// every number into a float64, so the rqlite backend reads integer columns
// as text to keep them exact.
type Dialect struct {
	// CastText writes each text parameter CAST(? AS TEXT) instead of ?.
	CastText bool
	// TextArg is the value sent for a text parameter (nil: the string).
	TextArg func(string) any
	// CastInt reads each integer column CAST(x AS TEXT) instead of x.
	CastInt bool
}

// SQLite is the dialect of the SQLite backend (database/sql).
var SQLite = Dialect{}

// Text is the placeholder of a text parameter.
func (d Dialect) Text() string {
	if d.CastText {
		return "CAST(? AS TEXT)"
	}
	return "?"
}

// TextN is the placeholder of the text parameter numbered n (from 1).
func (d Dialect) TextN(n int) string {
	if d.CastText {
		return fmt.Sprintf("CAST(?%d AS TEXT)", n)
	}
	return fmt.Sprintf("?%d", n)
}

// Int is the integer expression x as a statement's result column reads it.
func (d Dialect) Int(x string) string {
	if d.CastInt {
		return "CAST(" + x + " AS TEXT)"
	}
	return x
}

// Arg is the value to send for the text parameter s.
func (d Dialect) Arg(s string) any {
	if d.TextArg == nil {
		return s
	}
	return d.TextArg(s)
}

// Live is the condition of a record live at the time of its one parameter
// (Unix microseconds).
const Live = "(expires IS NULL OR expires > ?)"

// LimitArg is a limit as SQLite's LIMIT takes it: -1 (none) for 0 or less.
func LimitArg(limit int) int {
	if limit <= 0 {
		return -1
	}
	return limit
}

// SelectorWhere builds the WHERE clause of a range selector (sel.Keys is
// nil) and its parameters: the records of sel's namespace live at now,
// compared byte-wise on the primary key (or on the type index when
// sel.Type is set).
func (d Dialect) SelectorWhere(sel driver.Selector, now int64) (string, []any) {
	var b strings.Builder
	args := make([]any, 0, 6)
	b.WriteString("namespace = " + d.Text())
	args = append(args, d.Arg(sel.Namespace))
	if sel.Type != "" {
		b.WriteString(" AND type = " + d.Text())
		args = append(args, d.Arg(sel.Type))
	}
	// Only the tighter lower bound is written: given both key >= From and
	// key > After, SQLite seeks on one of them and filters the rest, so a
	// cursor deep in a prefix would step over every key before it.
	switch {
	case sel.HasAfter && sel.After >= sel.From:
		b.WriteString(" AND key > " + d.Text())
		args = append(args, d.Arg(sel.After))
	case sel.From != "":
		b.WriteString(" AND key >= " + d.Text())
		args = append(args, d.Arg(sel.From))
	}
	if sel.HasTo {
		b.WriteString(" AND key < " + d.Text())
		args = append(args, d.Arg(sel.To))
	}
	b.WriteString(" AND " + Live)
	args = append(args, now)
	return b.String(), args
}

// Namespaces lists the namespaces holding a record live at its one
// parameter (now), in byte order: a walk of the distinct namespaces of the
// primary key, one index probe each (a loose index scan as a recursive
// CTE), each kept if it holds a live record.
const Namespaces = `WITH RECURSIVE ns(n) AS (
    SELECT (SELECT namespace FROM records ORDER BY namespace LIMIT 1)
    UNION ALL
    SELECT (SELECT namespace FROM records WHERE namespace > ns.n ORDER BY namespace LIMIT 1) FROM ns WHERE ns.n IS NOT NULL
)
SELECT n FROM ns WHERE n IS NOT NULL
    AND EXISTS (SELECT 1 FROM records WHERE namespace = ns.n AND ` + Live + `)`

// The statements of a sweep, run in this order in one transaction: the
// delete entries of up to limit records expired at now, in expiry order,
// then their removal. SweepStream's parameters: now (the entries' time),
// now, limit; Sweep's: now, limit.
const (
	sweepExpired = " FROM records WHERE expires <= ? ORDER BY expires, namespace, key LIMIT ?"
	SweepStream  = "INSERT INTO stream (namespace, key, action, version, type, value, ts) " +
		"SELECT namespace, key, 'delete', version, type, NULL, ?" + sweepExpired
	Sweep = "DELETE FROM records WHERE (namespace, key) IN (SELECT namespace, key" + sweepExpired + ")"
)

// DeleteRange is the two statements, and their parameters, that delete
// the records a range selector selects live at now, in key order with its
// offset and limit; they run in this order in one transaction, and select
// the same rows: the delete entries appended to the stream (at now), then
// the deletion.
func (d Dialect) DeleteRange(sel driver.Selector, now int64) (stream string, streamArgs []any, del string, delArgs []any) {
	where, args := d.SelectorWhere(sel, now)
	page := " ORDER BY key LIMIT ? OFFSET ?"
	args = append(args, LimitArg(sel.Limit), sel.Offset)
	stream = "INSERT INTO stream (namespace, key, action, version, type, value, ts) " +
		"SELECT namespace, key, 'delete', version, type, NULL, ? FROM records WHERE " + where + page
	del = "DELETE FROM records WHERE namespace = " + d.Text() + " AND key IN (SELECT key FROM records WHERE " + where + page + ")"
	return stream, append([]any{now}, args...), del, append([]any{d.Arg(sel.Namespace)}, args...)
}
