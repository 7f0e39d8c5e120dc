package rqlitekv

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"slices"
	"strings"
	"sync"
	"time"

	"github.com/rqlite/gorqlite"

	"github.com/kvsuite/kv/kvcore/driver"
)

// Recorded requests. A store write (Apply, alone or in a shared group
// request) and a sweep are sent as a recorded request, so that sending one
// again is harmless: gorqlite sends a request whose answer was lost to the
// next node, and the driver retries through elections, but rqlite applies
// a recorded request at most once and its results can be learnt again.
//
// The request carries an id (random) and the time it was first sent, and
// writes, in its own transaction:
//   - first, a mark row (n = -1) in request_log, whose primary key
//     (at, id, n) refuses a second one: a request that was already applied
//     fails there, before changing anything, and rolls back;
//   - for each statement whose result the caller reads, a write whose rows
//     affected count (roleRows: a delete or a touch) is the op's Rows, a
//     row holding that count (changes());
//   - last, it reads those rows back: the results of the request. A
//     request with no such statement (puts: their Rows is 1) reads
//     nothing, and goes to rqlite's execute endpoint (see writeOnly).
//
// A request that fails at its mark has been applied before (its answer was
// lost): the driver reads its rows (at strong consistency) and answers with
// them, as the first attempt would have. Rows are deleted by a later
// request of the same connection once the answer arrived, and in any case
// once older than logKeep (at most once a minute per connection).

// Bounds of re-sending and of the log.
const (
	// resendWindow: a recorded request is not sent again once it is this
	// old (its rows must still be there when it arrives).
	resendWindow = 2 * time.Minute
	// logKeep: rows older than this are deleted, whoever wrote them. It
	// leaves resendWindow plus a margin for clocks that disagree between
	// processes.
	logKeep = 10 * time.Minute
	// logForgetEvery: how often one connection deletes old rows.
	logForgetEvery = time.Minute
	// maxForget: answered requests whose rows one request deletes at most.
	maxForget = 64
)

// The statements of a recorded request. at and id are its first two
// parameters.
const (
	sqlLogMark = "INSERT INTO request_log (at, id, n, v) VALUES (?, ?, -1, NULL)"
	// The log table and the put view must exist: if one did not, rqlite
	// would report a statement using it as unpreparable and apply the rest
	// (see the README). A schema from before Init's latest steps fails here.
	sqlLogCheck = "INSERT INTO guard (failed) SELECT 'request_log or put_op missing' WHERE " +
		"(SELECT count(*) FROM sqlite_master WHERE (type = 'table' AND name = 'request_log') OR (type = 'view' AND name = 'put_op')) < 2"
	sqlLogRows = "INSERT INTO request_log (at, id, n, v) VALUES (?, ?, ?, changes())"
	sqlLogRead = "SELECT CAST(n AS TEXT), v FROM request_log WHERE at = ? AND id = ? AND n >= 0 ORDER BY n"
	// sqlLogFind reads a request's rows, its mark (n = -1) included.
	sqlLogFind   = "SELECT CAST(n AS TEXT), v FROM request_log WHERE at = ? AND id = ? ORDER BY n"
	sqlLogForget = "DELETE FROM request_log WHERE at BETWEEN ? AND ? AND id IN (SELECT value FROM json_each(?))"
	sqlLogExpire = "DELETE FROM request_log WHERE at < ?"
)

// stmtResult is what the driver reads of one statement of a recorded
// request: the value recorded for it (the rows a write changed), if any.
type stmtResult struct {
	v  int64
	ok bool
}

// reqID identifies one recorded request: when it was first sent (Unix
// microseconds, this process's clock) and a random id.
type reqID struct {
	at int64
	id string
}

// newReqID returns a new request id.
func newReqID() reqID {
	b := make([]byte, 16)
	_, _ = rand.Read(b) // never fails (crypto/rand)
	return reqID{at: time.Now().UnixMicro(), id: hex.EncodeToString(b)}
}

// requestLog is a connection's bookkeeping of its recorded requests.
type requestLog struct {
	mu      sync.Mutex
	checked bool      // the log table was seen to exist
	forget  []reqID   // answered requests whose rows may go
	expired time.Time // when old rows were last deleted
}

// recorded is a recorded request built from a batch.
type recorded struct {
	rid   reqID
	stmts []gorqlite.ParameterizedStatement
	orig  []int   // for each statement, the index of q's statement it is or records (-1: none)
	check int     // the index of the check that the log table exists (-1: none)
	mark  int     // the index of the mark
	read  int     // the index of the read of the results (-1: none, see writeOnly)
	drops []reqID // the answered requests whose rows it deletes
}

// record builds the recorded request for q.
func (db *DB) record(q *batch) *recorded {
	rec := &recorded{rid: newReqID(), check: -1}
	add := func(orig int, sql string, args ...any) {
		rec.stmts = append(rec.stmts, gorqlite.ParameterizedStatement{Query: sql, Arguments: args})
		rec.orig = append(rec.orig, orig)
	}
	at, id := rec.rid.at, rec.rid.id
	log := &db.log
	log.mu.Lock()
	checked := log.checked
	rec.drops = append(rec.drops, log.forget[:min(len(log.forget), maxForget)]...)
	expire := time.Since(log.expired) >= logForgetEvery
	if expire {
		log.expired = time.Now()
	}
	log.mu.Unlock()

	if !checked {
		rec.check = len(rec.stmts)
		add(-1, sqlLogCheck)
	}
	rec.mark = len(rec.stmts)
	add(-1, sqlLogMark, at, id)
	for j, s := range q.stmts {
		add(j, s.Query, s.Arguments...)
		if q.roles[j] == roleRows {
			add(j, sqlLogRows, at, id, j)
		}
	}
	if len(rec.drops) > 0 {
		lo, hi := rec.drops[0].at, rec.drops[0].at
		ids := make([]string, len(rec.drops))
		for i, d := range rec.drops {
			lo, hi, ids[i] = min(lo, d.at), max(hi, d.at), d.id
		}
		js, _ := json.Marshal(ids) // strings: cannot fail
		add(-1, sqlLogForget, lo, hi, string(js))
	}
	if expire {
		add(-1, sqlLogExpire, time.Now().Add(-logKeep).UnixMicro())
	}
	rec.read = -1
	if slices.Contains(q.roles, roleRows) {
		rec.read = len(rec.stmts)
		add(-1, sqlLogRead, at, id)
	}
	return rec
}

// errNoResults: rqlite answered a request with no results and gorqlite
// kept no error message (the execute endpoint's error for the whole
// request).
var errNoResults = errors.New("rqlite answered no results")

// writeOnly reports whether rec has no result to read: it is then sent to
// rqlite's execute endpoint, which (unlike the unified one) does not
// prepare every statement once more to learn whether it only reads.
func (rec *recorded) writeOnly() bool { return rec.read < 0 }

// requestResults returns the results of the execute endpoint in the form
// of the unified one's (errors only: a write-only request reads nothing).
func requestResults(wr []gorqlite.WriteResult) []gorqlite.RequestResult {
	res := make([]gorqlite.RequestResult, len(wr))
	for i := range wr {
		res[i] = gorqlite.RequestResult{Err: wr[i].Err, Write: &wr[i]}
	}
	return res
}

// answered notes that rec was answered: its rows may go (in a later
// request), and the rows it deleted are gone.
func (db *DB) answered(rec *recorded) {
	log := &db.log
	log.mu.Lock()
	defer log.mu.Unlock()
	log.checked = true
	if len(rec.drops) > 0 {
		gone := make(map[reqID]bool, len(rec.drops))
		for _, d := range rec.drops {
			gone[d] = true
		}
		kept := log.forget[:0]
		for _, f := range log.forget {
			if !gone[f] {
				kept = append(kept, f)
			}
		}
		log.forget = kept
	}
	if len(log.forget) < 4*maxForget { // beyond that, old rows expire
		log.forget = append(log.forget, rec.rid)
	}
}

// errReplayed: a recorded request's mark was already there: an earlier
// attempt was applied.
var errReplayed = errors.New("rqlitekv: request already applied")

// reply is the outcome of a recorded request that rqlite answered.
type reply struct {
	// vals holds one result per statement of the batch (on success).
	vals []stmtResult
	// failed is -1, or the index in the batch of the statement that
	// failed; then res holds the results up to it, the failed one with
	// rqlite's error.
	failed int
	res    []gorqlite.RequestResult
}

// requestRecorded sends q as one recorded request in one transaction,
// retrying through elections, lost answers and timeouts (a re-send is
// applied at most once) for up to the leader wait. If a statement of q
// fails, the reply says which.
func (db *DB) requestRecorded(ctx context.Context, op string, q *batch) (reply, error) {
	rec := db.record(q)
	var res []gorqlite.RequestResult
	sctx, once := withSendOnce(ctx)
	once.resend, once.since = true, time.UnixMicro(rec.rid.at)
	err := db.retry(ctx, true, func() error {
		var err error
		if rec.writeOnly() {
			var wr []gorqlite.WriteResult
			wr, err = db.conn.WriteParameterizedContext(sctx, rec.stmts)
			res = requestResults(wr)
			if err == nil && len(res) == 0 {
				// gorqlite drops the message of an error rqlite
				// answers for the whole request (such as a node
				// that lost its leader): sent again, it is applied
				// at most once.
				err = errNoResults
			}
		} else {
			res, err = db.conn.RequestParameterizedContext(sctx, rec.stmts)
		}
		return err
	})
	switch {
	case err == nil:
		if len(res) != len(rec.stmts) {
			return reply{}, fmt.Errorf("rqlitekv: %s: rqlite answered %d results for %d statements", op, len(res), len(rec.stmts))
		}
		if rec.writeOnly() {
			db.answered(rec)
			return reply{vals: make([]stmtResult, len(q.stmts)), failed: -1}, nil
		}
		return db.readReply(op, q, rec, res[rec.read].Query)
	case isStatementErrors(err):
		return db.statementFailed(ctx, op, q, rec, res, err)
	case ctx.Err() != nil:
		return reply{}, db.ctxErr(ctx, op, err)
	case once.unknown.Load():
		// An attempt may have been applied: look for it (one request's
		// time at most; the leader wait is over).
		fctx, cancel := context.WithTimeout(ctx, db.cfg.timeout)
		r, ferr := db.findRecorded(fctx, op, q, rec)
		cancel()
		if ferr == nil {
			return r, nil
		}
		return reply{}, fmt.Errorf("rqlitekv: %s: %w; it was not found applied (%s)", op, ErrOutcomeUnknown, strings.TrimSpace(db.scrub(err.Error())))
	}
	return reply{}, db.wrapErr(op, err)
}

// statementFailed handles a recorded request in which rqlite reports a
// failed statement: an earlier attempt already applied (its mark), a
// statement of q, or the request's own bookkeeping.
func (db *DB) statementFailed(ctx context.Context, op string, q *batch, rec *recorded, res []gorqlite.RequestResult, err error) (reply, error) {
	j := -1
	for i, r := range res {
		if r.Err != nil {
			j = i
			break
		}
	}
	if j < 0 {
		return reply{}, db.wrapErr(op, err)
	}
	msg := db.scrub(res[j].Err.Error())
	if partlyApplied(res, j) {
		return reply{}, fmt.Errorf("rqlitekv: %s: statement %d could not be prepared (%s) and rqlite went on: the batch may be partly applied: %w", op, j, msg, driver.ErrNotInitialized)
	}
	i := rec.orig[j]
	switch {
	case j == rec.mark && strings.Contains(msg, "UNIQUE") && strings.Contains(msg, "request_log"):
		return db.findRecorded(ctx, op, q, rec)
	case j == rec.check || (i < 0 && strings.Contains(msg, "no such table")):
		return reply{}, fmt.Errorf("rqlitekv: %s: %w (the schema lacks the request log or the put view: run Init; %s)", op, driver.ErrNotInitialized, msg)
	case i < 0:
		return reply{}, fmt.Errorf("rqlitekv: %s: statement %d: %s", op, j, msg)
	}
	// The caller's failure, at the index of q's statement.
	out := make([]gorqlite.RequestResult, i+1)
	out[i] = res[j]
	return reply{failed: i, res: out}, nil
}

// findRecorded reads the rows of rec, which an earlier attempt applied,
// and returns its results (an error if it is not there).
func (db *DB) findRecorded(ctx context.Context, op string, q *batch, rec *recorded) (reply, error) {
	qr, err := db.queryOne(WithReadConsistency(ctx, ConsistencyStrong), op,
		gorqlite.ParameterizedStatement{Query: sqlLogFind, Arguments: []any{rec.rid.at, rec.rid.id}})
	if err != nil {
		return reply{}, err
	}
	if !qr.Next() {
		return reply{}, fmt.Errorf("rqlitekv: %s: %w: an attempt was applied but its record is gone", op, ErrOutcomeUnknown)
	}
	if _, err := qr.Slice(); err != nil { // the mark (n = -1) comes first
		return reply{}, fmt.Errorf("rqlitekv: %s: %w", op, err)
	}
	return db.readReply(op, q, rec, qr)
}

// readReply reads q's results from qr, the rows of rec's read (what is
// left of them), and notes rec answered.
func (db *DB) readReply(op string, q *batch, rec *recorded, qr *gorqlite.QueryResult) (reply, error) {
	vals := make([]stmtResult, len(q.stmts))
	rows, err := scanRows(op, qr, 2, func(row []any) ([2]int64, error) {
		n, err := intCol(row, 0)
		if err != nil {
			return [2]int64{}, fmt.Errorf("request log: n: %w", err)
		}
		v, err := intCol(row, 1)
		if err != nil {
			return [2]int64{}, fmt.Errorf("request log: statement %d: %w", n, err)
		}
		return [2]int64{n, v}, nil
	})
	if err != nil {
		return reply{}, err
	}
	for _, r := range rows {
		if r[0] < 0 || r[0] >= int64(len(vals)) {
			return reply{}, fmt.Errorf("rqlitekv: %s: request log: statement %d of %d", op, r[0], len(vals))
		}
		vals[r[0]] = stmtResult{v: r[1], ok: true}
	}
	db.answered(rec)
	return reply{vals: vals, failed: -1}, nil
}

// sendRecorded runs q as one recorded request and maps a failed statement
// back to the op it belongs to (see statementError).
func (db *DB) sendRecorded(ctx context.Context, op string, q *batch) ([]stmtResult, error) {
	r, err := db.requestRecorded(ctx, op, q)
	if err != nil {
		return nil, err
	}
	if r.failed >= 0 {
		return nil, db.statementError(op, q, r.res, r.failed)
	}
	return r.vals, nil
}
