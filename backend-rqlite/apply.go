package rqlitekv

import (
	"context"
	"encoding/hex"
	"errors"
	"fmt"
	"strconv"
	"strings"
	"time"

	"github.com/rqlite/gorqlite"

	"github.com/kvsuite/kv/kvcore"
	"github.com/kvsuite/kv/kvcore/driver"
	"github.com/kvsuite/kv/sqlitedialect"
)

// dialect writes the SQLite dialect's shared statements for rqlite: every
// text parameter goes through txt and is cast back to TEXT in the SQL, and
// integer columns are read as text (exact, unlike JSON numbers).
var dialect = sqlitedialect.Dialect{CastText: true, TextArg: txt, CastInt: true}

// textArg is a text parameter in SQL (see dialect).
const textArg = "CAST(? AS TEXT)"

// live is the condition for a record that has not expired; its one
// parameter is now.
const live = sqlitedialect.Live

// txt returns a text parameter as rqlite will store it unchanged. rqlite
// turns a string of the form x'0A1B' into a BLOB; such a string is sent
// hex-encoded in exactly that form, so that rqlite's BLOB holds the
// string's bytes and CAST(? AS TEXT) in the SQL turns it back into the same
// text.
func txt(s string) any {
	if looksLikeBlob(s) {
		return "x'" + hex.EncodeToString([]byte(s)) + "'"
	}
	return s
}

// looksLikeBlob reports whether rqlite would read s as a BLOB literal:
// after trimming space, an x or X, a quote, anything, a quote. (Sending a
// few strings hex-encoded that rqlite would not have converted is harmless.)
func looksLikeBlob(s string) bool {
	t := strings.TrimSpace(s)
	return len(t) >= 3 && (t[0] == 'x' || t[0] == 'X') && t[1] == '\'' && t[len(t)-1] == '\''
}

// micros is a time as stored: Unix microseconds, NULL for the zero time.
func micros(t time.Time) any {
	if t.IsZero() {
		return nil
	}
	return t.UnixMicro()
}

// role says what the driver needs from one statement's result.
type role int

const (
	roleOther role = iota
	roleFence      // inserts into guard if the fence is not held
	roleGuard      // inserts into guard if the op's version does not hold
	rolePut        // a put, which refuses a version mismatch or the version limit itself (see statementError)
	roleRows       // a write whose rows_affected is the op's Rows
)

// batch builds one request: statements with what each one is for.
type batch struct {
	stmts []gorqlite.ParameterizedStatement
	roles []role
	ops   []int // the op index of each statement (-1: none)
}

func (b *batch) add(r role, op int, sql string, args ...any) {
	b.stmts = append(b.stmts, gorqlite.ParameterizedStatement{Query: sql, Arguments: args})
	b.roles = append(b.roles, r)
	b.ops = append(b.ops, op)
}

// The statements of Apply and Sweep. Each text parameter is written textArg.
var (
	sqlFence = "INSERT INTO guard (failed) SELECT 'fenced' WHERE NOT EXISTS " +
		"(SELECT 1 FROM leases WHERE name = " + textArg + " AND token = ? AND expires > ?)"
	// The live record's version, or 0 if there is none, must be the
	// expected version (0: must not exist).
	sqlGuard = "INSERT INTO guard (failed) SELECT ? WHERE coalesce((SELECT version FROM records WHERE namespace = " + textArg +
		" AND key = " + textArg + " AND " + live + "), 0) <> ?"
	// A put is one statement: an insert into the view put_op, whose
	// trigger checks the expected version and the version limit, appends
	// the stream entries and writes the record (see the SQLite dialect's
	// migration 0010_put_op). It refuses with an error whose message names
	// the cause, 'kv: version mismatch' or 'kv: version limit' (see
	// statementError).
	sqlPut = "INSERT INTO put_op (namespace, key, version, expect, type, value, created, updated, expires, now) " +
		"VALUES (" + textArg + ", " + textArg + ", ?, ?, " + textArg + ", " + textArg + ", ?, ?, ?, ?)"
	sqlDelStream = "INSERT INTO stream (namespace, key, action, version, type, value, ts) " +
		"SELECT namespace, key, 'delete', version, type, NULL, ? FROM records WHERE namespace = " + textArg + " AND key = " + textArg + " AND " + live
	sqlDelete = "DELETE FROM records WHERE namespace = " + textArg + " AND key = " + textArg + " AND " + live
	sqlTouch  = "UPDATE records SET expires = ? WHERE namespace = " + textArg + " AND key = " + textArg + " AND " + live
	// The entry of a touch, appended before the touch (which may set an
	// expiry that has passed): the live record's version and type, no value.
	sqlTouchStream = "INSERT INTO stream (namespace, key, action, version, type, value, ts) " +
		"SELECT namespace, key, 'touch', version, type, NULL, ? FROM records WHERE namespace = " + textArg + " AND key = " + textArg + " AND " + live
)

// Apply runs b.Ops in one rqlite transaction: all of them or none (see
// driver.Store). Concurrent Applies share requests (see submit).
func (db *DB) Apply(ctx context.Context, b driver.Batch) ([]driver.Result, error) {
	if err := db.usable(ctx); err != nil {
		return nil, err
	}
	if len(b.Ops) == 0 {
		return []driver.Result{}, nil
	}
	q, err := applyBatch(b)
	if err != nil {
		return nil, err
	}
	var res []stmtResult
	if db.sendAlone {
		res, err = db.sendRecorded(ctx, "apply", q)
	} else {
		res, err = db.submit(ctx, q)
	}
	if err != nil {
		return nil, err
	}
	db.notify.Signal()
	return applyResults(b, q, res)
}

// applyBatch builds the statements of b.
func applyBatch(b driver.Batch) (*batch, error) {
	now := b.Now.UnixMicro()
	q := &batch{}
	if f := b.Fence; f != nil {
		q.add(roleFence, -1, sqlFence, txt(f.Name), f.Token, now)
	}
	for i, op := range b.Ops {
		if err := addOp(q, i, op, now); err != nil {
			return nil, &driver.OpError{Index: i, Err: err}
		}
	}
	return q, nil
}

// applyResults reads b's results from the results of q's statements (see
// recorded.go).
func applyResults(b driver.Batch, q *batch, res []stmtResult) ([]driver.Result, error) {
	out := make([]driver.Result, len(b.Ops))
	for j, r := range res {
		i := q.ops[j]
		if i < 0 || !r.ok {
			continue
		}
		if q.roles[j] == roleRows {
			out[i].Rows = r.v
		}
	}
	for i, op := range b.Ops {
		if op.Kind == driver.OpPut || op.Kind == driver.OpRestore {
			out[i].Rows = 1
		}
	}
	return out, nil
}

// addOp appends op's statements to q.
func addOp(q *batch, i int, op driver.Op, now int64) error {
	ns, key := txt(op.Namespace), txt(op.Key)
	guard := func() {
		if op.Version != -1 {
			q.add(roleGuard, i, sqlGuard, i, ns, key, now, op.Version)
		}
	}
	switch op.Kind {
	case driver.OpPut, driver.OpRestore:
		// The value is valid UTF-8: kvcore's front refuses anything else
		// (kvcore.ErrInvalidValue), which rqlite's JSON API could not carry.
		// A put creates version 1 at now; a restore (expected version 0:
		// it only creates) writes the version and times it was given.
		val, typ := txt(string(op.Value)), txt(op.Type)
		newVersion, created, updated := int64(1), now, now
		if op.Kind == driver.OpRestore {
			newVersion, created, updated = op.SetVersion, op.Created.UnixMicro(), op.Updated.UnixMicro()
		}
		q.add(rolePut, i, sqlPut, ns, key, newVersion, op.Version, typ, val, created, updated, micros(op.Expires), now)
	case driver.OpDelete:
		guard()
		q.add(roleOther, i, sqlDelStream, now, ns, key, now)
		q.add(roleRows, i, sqlDelete, ns, key, now)
	case driver.OpTouch:
		guard()
		q.add(roleOther, i, sqlTouchStream, now, ns, key, now)
		q.add(roleRows, i, sqlTouch, micros(op.Expires), ns, key, now)
	case driver.OpDeleteRange:
		sel := op.Sel
		sel.Keys = nil
		ins, insArgs, del, delArgs := dialect.DeleteRange(sel, now)
		q.add(roleOther, i, ins, insArgs...)
		q.add(roleRows, i, del, delArgs...)
	default:
		return fmt.Errorf("unknown op kind %v: %w", op.Kind, kvcore.ErrInvalidArgument)
	}
	return nil
}

// Sweep deletes up to limit expired records in every namespace, with a
// delete stream entry for each, in one request.
func (db *DB) Sweep(ctx context.Context, now time.Time, limit int) (int64, error) {
	if err := db.usable(ctx); err != nil {
		return 0, err
	}
	if limit <= 0 {
		return 0, invalidArg("sweep", "limit %d must be positive", limit)
	}
	n := now.UnixMicro()
	var q batch
	q.add(roleOther, -1, sqlitedialect.SweepStream, n, n, limit)
	q.add(roleRows, 0, sqlitedialect.Sweep, n, limit)
	res, err := db.sendRecorded(ctx, "sweep", &q)
	if err != nil {
		return 0, err
	}
	if res[1].v > 0 {
		db.notify.Signal()
	}
	return res[1].v, nil
}

// send runs q as one request in one transaction (rqlite's unified
// endpoint, so that reads inside the batch see its writes) and maps a
// failed statement back to the op it belongs to.
func (db *DB) send(ctx context.Context, op string, q *batch) ([]gorqlite.RequestResult, error) {
	res, failed, err := db.request(ctx, op, q.stmts)
	if failed >= 0 {
		return nil, db.statementError(op, q, res, failed)
	}
	return res, err
}

// request runs stmts as one request in one transaction. If rqlite reports
// a failed statement, it returns rqlite's results and that statement's
// index (and a nil error); otherwise failed is -1.
func (db *DB) request(ctx context.Context, op string, stmts []gorqlite.ParameterizedStatement) (res []gorqlite.RequestResult, failed int, err error) {
	err = db.retry(ctx, false, func() error {
		sctx, once := withSendOnce(ctx)
		var err error
		res, err = db.conn.RequestParameterizedContext(sctx, stmts)
		if err != nil && once.unknown.Load() && ctx.Err() == nil {
			return fmt.Errorf("rqlitekv: %s: %w; it was not sent again (%s)", op, ErrOutcomeUnknown, strings.TrimSpace(db.scrub(err.Error())))
		}
		return err
	})
	if errors.Is(err, ErrOutcomeUnknown) {
		return nil, -1, err
	}
	if err == nil {
		if len(res) != len(stmts) {
			return nil, -1, fmt.Errorf("rqlitekv: %s: rqlite answered %d results for %d statements", op, len(res), len(stmts))
		}
		return res, -1, nil
	}
	if !isStatementErrors(err) {
		return nil, -1, db.ctxErr(ctx, op, err)
	}
	for j, r := range res {
		if r.Err != nil {
			return res, j, nil
		}
	}
	return nil, -1, db.wrapErr(op, err)
}

// partlyApplied reports whether rqlite went on after the failed statement
// j: it could not be prepared, and rqlite does not abort a transaction for
// that. Only a damaged schema gets here.
func partlyApplied(res []gorqlite.RequestResult, j int) bool {
	return j+1 < len(res) && anySucceeded(res)
}

// statementError is the error for q's failed statement j (res holds
// rqlite's results): ErrFenced, an *driver.OpError for the op it belongs
// to, or ErrNotInitialized.
func (db *DB) statementError(op string, q *batch, res []gorqlite.RequestResult, j int) error {
	msg := db.scrub(res[j].Err.Error())
	if partlyApplied(res, j) {
		return fmt.Errorf("rqlitekv: %s: statement %d could not be prepared (%s) and rqlite went on: the batch may be partly applied: %w", op, j, msg, driver.ErrNotInitialized)
	}
	guardFailed := strings.Contains(msg, "guard")
	switch {
	case strings.Contains(msg, "no such table"): // the guard table's too
		return fmt.Errorf("rqlitekv: %s: %w (%s)", op, driver.ErrNotInitialized, msg)
	case j < len(q.roles) && q.roles[j] == roleFence && guardFailed:
		return fmt.Errorf("rqlitekv: %s: %w", op, driver.ErrFenced)
	case j < len(q.roles) && q.roles[j] == roleGuard && guardFailed:
		return &driver.OpError{Index: q.ops[j], Err: driver.ErrVersionMismatch}
	case j < len(q.roles) && q.roles[j] == rolePut && strings.Contains(msg, "kv: version mismatch"):
		return &driver.OpError{Index: q.ops[j], Err: driver.ErrVersionMismatch}
	case j < len(q.roles) && q.roles[j] == rolePut && strings.Contains(msg, "kv: version limit"):
		return &driver.OpError{Index: q.ops[j], Err: driver.ErrVersionLimit}
	case j < len(q.ops) && q.ops[j] >= 0 && op == "apply":
		return &driver.OpError{Index: q.ops[j], Err: errors.New("rqlitekv: " + msg)}
	default:
		return fmt.Errorf("rqlitekv: %s: statement %d: %s", op, j, msg)
	}
}

// anySucceeded reports whether any statement of a request succeeded.
func anySucceeded(res []gorqlite.RequestResult) bool {
	for _, r := range res {
		if r.Err == nil {
			return true
		}
	}
	return false
}

// intCol reads an integer column that the SQL returned as text (exact for
// every int64, unlike a JSON number that gorqlite decodes as float64).
func intCol(row []any, i int) (int64, error) {
	if i >= len(row) {
		return 0, fmt.Errorf("missing column %d", i)
	}
	switch v := row[i].(type) {
	case string:
		return strconv.ParseInt(v, 10, 64)
	case float64:
		return int64(v), nil
	case int64:
		return v, nil
	}
	return 0, fmt.Errorf("column %d: unexpected %T", i, row[i])
}
