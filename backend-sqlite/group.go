package sqlitekv

import (
	"context"
	"database/sql"
	"fmt"
	"runtime"
	"sync/atomic"
	"time"

	"github.com/kvsuite/kv/kvcore/driver"
)

// request is one caller's unit of work for the writer.
type request struct {
	ctx   context.Context
	fn    func(*wtx) error
	plain bool         // fn writes only through wtx.exec and may run again (see runTx)
	state atomic.Int32 // reqQueued, then reqRunning (by the writer) or reqAbandoned (by the caller)
	done  chan error   // buffered: the writer never blocks on a caller
}

const (
	reqQueued int32 = iota
	reqRunning
	reqAbandoned
)

// submit hands fn to the writer and waits for its result. fn runs in the
// writer's transaction inside its own savepoint; if it returns an error, its
// changes are rolled back and nobody else's are. If ctx ends before fn
// starts, fn never runs; if it ends while fn runs, submit returns ctx.Err()
// at once and the write may still commit.
func (db *DB) submit(ctx context.Context, fn func(*wtx) error) error {
	return db.submitPlain(ctx, false, fn)
}

// submitPlain is submit for a fn that, if plain, writes only through
// wtx.exec and can run again after a rollback with the same effect, so that
// it can share a transaction without a savepoint (see runTx).
func (db *DB) submitPlain(ctx context.Context, plain bool, fn func(*wtx) error) error {
	if db.closed.Load() {
		return driver.ErrClosed
	}
	if err := ctx.Err(); err != nil {
		return err
	}
	r := &request{ctx: ctx, fn: fn, plain: plain, done: make(chan error, 1)}
	select {
	case db.reqs <- r:
	case <-db.closing:
		return driver.ErrClosed
	case <-ctx.Done():
		return ctx.Err()
	}
	select {
	case err := <-r.done:
		return err
	case <-ctx.Done():
		r.state.CompareAndSwap(reqQueued, reqAbandoned)
		return ctx.Err()
	}
}

// writeLoop is the single writer: it takes a request, gathers the requests
// that arrive with it (up to MaxBatch) and commits them together.
func (db *DB) writeLoop() {
	defer db.writerWG.Done()
	group := make([]*request, 0, db.opts.maxBatch)
	var last groupStats
	for {
		select {
		case <-db.closing:
			return
		default:
		}
		select {
		case r := <-db.reqs:
			group = append(group[:0], r)
		case <-db.closing:
			return
		}
		group = db.gather(group, last)
		db.groups.Add(1)
		db.grouped.Add(int64(len(group)))
		start := time.Now()
		db.runGroup(group)
		last = groupStats{size: len(group), took: time.Since(start)}
		clear(group)
	}
}

// groupStats describes the writer's previous group.
type groupStats struct {
	size int           // requests in it
	took time.Duration // how long it ran, commit included
}

// Bounds of gather's waiting.
const (
	maxYields = 8                    // times gather yields to the callers
	maxLinger = 2 * time.Millisecond // longest wait for a group to fill
	lingerDiv = 4                    // wait at most 1/lingerDiv of the last group's time
)

// gather adds to group the requests already waiting, up to MaxBatch, and
// when the previous group showed concurrency (more than one request) it
// waits a little for more: the callers that the previous commit answered
// are about to submit again, and taking them now lets one commit (one
// fsync) serve them all instead of splitting them into alternating smaller
// groups. It first yields the processor while that brings requests, then,
// if the group is still smaller than the previous one, waits for up to a
// quarter of the previous group's time (at most maxLinger). A lone caller
// never waits.
func (db *DB) gather(group []*request, last groupStats) []*request {
	limit := db.opts.maxBatch
	group = db.drain(group)
	if last.size <= 1 {
		return group
	}
	for yields := 0; len(group) < limit && yields < maxYields; yields++ {
		n := len(group)
		runtime.Gosched()
		if group = db.drain(group); len(group) == n {
			break // nobody came
		}
	}
	if len(group) >= min(last.size, limit) {
		return group
	}
	linger := min(last.took/lingerDiv, maxLinger)
	if linger <= 0 {
		return group
	}
	timer := time.NewTimer(linger)
	defer timer.Stop()
	for len(group) < min(last.size, limit) {
		select {
		case r := <-db.reqs:
			group = db.drain(append(group, r))
		case <-timer.C:
			return group
		case <-db.closing:
			return group
		}
	}
	return group
}

// drain adds the requests already waiting to group, up to MaxBatch.
func (db *DB) drain(group []*request) []*request {
	for len(group) < db.opts.maxBatch {
		select {
		case r := <-db.reqs:
			group = append(group, r)
		default:
			return group
		}
	}
	return group
}

// runGroup runs a group of requests in one transaction.
func (db *DB) runGroup(group []*request) {
	live := make([]*request, 0, len(group))
	plain := true
	for _, r := range group {
		if err := r.ctx.Err(); err != nil || !r.state.CompareAndSwap(reqQueued, reqRunning) {
			if err == nil {
				err = context.Canceled
			}
			r.done <- err
			continue
		}
		live = append(live, r)
		plain = plain && r.plain
	}
	if len(live) == 0 {
		return
	}
	if !db.runTx(live, len(live) > 1 && !plain) {
		db.runTx(live, true)
	}
}

// runTx runs live in one transaction and answers them, each request in its
// own savepoint if savepoints is set. Without savepoints (a group of plain
// requests) a request that fails before writing anything needs no undoing;
// one that fails after writing makes runTx roll everything back, answer
// nobody and return false: the caller runs the group again with savepoints.
func (db *DB) runTx(live []*request, savepoints bool) bool {
	ctx := context.Background() // a caller's cancellation must not interrupt the shared transaction
	fail := func(err error) bool {
		for _, r := range live {
			r.done <- err
		}
		return true
	}
	c, err := db.wdb.Conn(ctx)
	if err != nil {
		return fail(db.dbError("begin", err))
	}
	defer c.Close()
	tx, err := c.BeginTx(ctx, nil)
	if err != nil {
		return fail(db.dbError("begin", err))
	}
	w := &wtx{ctx: ctx, conn: c, tx: tx}
	errs := make([]error, len(live))
	switch {
	case len(live) == 1:
		// No neighbours to protect: no savepoint needed.
		if errs[0] = w.run(live[0]); errs[0] != nil {
			_ = tx.Rollback()
			live[0].done <- errs[0]
			return true
		}
	case !savepoints:
		for i, r := range live {
			w.wrote = false
			if errs[i] = w.run(r); errs[i] != nil && w.wrote {
				_ = tx.Rollback()
				return false
			}
		}
	default:
		for i, r := range live {
			if _, err := w.exec(sSavepoint); err != nil {
				return db.abortGroup(tx, live, errs, err)
			}
			errs[i] = w.run(r)
			if errs[i] != nil {
				if _, err := w.exec(sRollbackTo); err != nil {
					return db.abortGroup(tx, live, errs, err)
				}
			}
			if _, err := w.exec(sRelease); err != nil {
				return db.abortGroup(tx, live, errs, err)
			}
		}
	}
	if err := tx.Commit(); err != nil {
		err = db.dbError("commit", err)
		for i := range errs {
			if errs[i] == nil {
				errs[i] = err
			}
		}
	} else {
		db.notify.Signal()
		if w.tasks {
			db.taskNotify.Signal()
		}
	}
	for i, r := range live {
		r.done <- errs[i]
	}
	return true
}

// abortGroup rolls back a transaction that can no longer be used (SQLite
// rolls back on some errors by itself) and fails every request that has not
// failed already: none of their changes were committed.
func (db *DB) abortGroup(tx *sql.Tx, live []*request, errs []error, cause error) bool {
	_ = tx.Rollback()
	err := db.dbError("group transaction aborted", cause)
	for i, r := range live {
		if errs[i] == nil {
			errs[i] = err
		}
		r.done <- errs[i]
	}
	return true
}

// run calls a request's function, turning a panic into an error so that
// the writer survives.
func (w *wtx) run(r *request) (err error) {
	defer func() {
		if p := recover(); p != nil {
			err = fmt.Errorf("sqlitekv: internal error in writer: %v", p)
		}
	}()
	return r.fn(w)
}

// Statements the writer runs for every request, prepared once on the writer
// connection.
const (
	sState = iota
	sUpsert
	sDelete
	sTouch
	sStream
	sFence
	sFinish
	sHolder
	sInsertTask
	sSavepoint
	sRelease
	sRollbackTo
	nStmts
)

var writerSQL = [nStmts]string{
	sState: `SELECT version, type, created, expires FROM records WHERE namespace = ? AND key = ?`,
	sUpsert: `INSERT INTO records (namespace, key, version, type, created, updated, expires, value)
VALUES (?, ?, ?, ?, ?, ?, ?, ?)
ON CONFLICT (namespace, key) DO UPDATE SET version = excluded.version, type = excluded.type,
created = excluded.created, updated = excluded.updated, expires = excluded.expires, value = excluded.value`,
	sDelete:     `DELETE FROM records WHERE namespace = ? AND key = ?`,
	sTouch:      `UPDATE records SET expires = ? WHERE namespace = ? AND key = ?`,
	sStream:     `INSERT INTO stream (namespace, key, action, version, type, value, ts) VALUES (?, ?, ?, ?, ?, ?, ?)`,
	sFence:      `SELECT count(*) FROM leases WHERE name = ? AND token = ? AND expires > ?`,
	sFinish:     sqlFinish,
	sHolder:     sqlHolder,
	sInsertTask: sqlInsertTask,
	sSavepoint:  `SAVEPOINT kv_request`,
	sRelease:    `RELEASE kv_request`,
	sRollbackTo: `ROLLBACK TO kv_request`,
}
