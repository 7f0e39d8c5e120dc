package postgreskv

import (
	"context"
	"errors"
	"slices"
	"strings"

	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgconn"
	"github.com/jackc/pgx/v5/pgxpool"
)

// runGroup commits group in one transaction, closes the done channel of
// each batch whose outcome is final, and returns the others (to run again).
// It calls executed (at most once) when only the COMMIT is left to run
// (never in an implicit transaction, which commits in the same round trip).
func (db *DB) runGroup(group []*applyReq, executed func()) []*applyReq {
	if len(group) == 1 {
		r := group[0]
		r.err = db.runAlone(r)
		close(r.done)
		return nil
	}
	slices.SortStableFunc(group, func(a, b *applyReq) int { return strings.Compare(a.lockKey, b.lockKey) })
	ctx, stop := groupContext(group)
	defer stop()
	t := &groupTx{db: db, ctx: ctx}
	conn, err := db.pool.Acquire(ctx)
	if err != nil {
		t.failAll(db.mapError(err), group)
		return nil
	}
	defer conn.Release() // the pool drops it if a failure left it in a transaction
	t.conn = conn
	// Without a batch that may fail by its condition there are no
	// savepoints to return to: the group runs as one implicit transaction,
	// in one round trip, which commits at its end (see Apply) or, at an
	// error, is rolled back by PostgreSQL itself.
	t.implicit = !slices.ContainsFunc(group, func(r *applyReq) bool { return r.mayFail })

	begin := true
	set, rest := splitPlainPuts(group)
	for {
		failed, op, err := t.send(begin, set, rest)
		if failed != setFailed {
			t.ok, set = append(t.ok, set...), nil // they ran (until the commit)
		}
		if err == nil && !t.implicit {
			executed()
			_, err = conn.Exec(ctx, "COMMIT", pgx.QueryExecModeSimpleProtocol)
		}
		if err == nil {
			t.committed(rest)
			return t.again
		}
		pe := t.aborted(err)
		switch {
		case retryable(err):
			t.retry(err, failed, set, rest)
			return t.again
		case failed == setFailed && pe != nil:
			t.rerunPlainPuts(set, rest)
			return t.again
		case failed < 0 || pe == nil:
			// Not one batch's failure (the BEGIN's or the commit's), or the
			// transaction is gone: every batch gets the error.
			t.failAll(db.mapError(err), append(set, rest...)) // set: if it failed
			return t.again
		}
		var more bool
		if rest, more = t.batchFailed(err, op, rest, failed); !more {
			return t.again
		}
		begin = false
	}
}

// groupTx is a group's transaction while runGroup runs it: where it runs
// and what it has decided about each batch so far.
type groupTx struct {
	db       *DB
	ctx      context.Context
	conn     *pgxpool.Conn
	implicit bool // one implicit transaction: no BEGIN, COMMIT or savepoints

	// ok ran (until the commit); again is to run again in a later group;
	// judged failed by its own condition. A judged batch gets its error
	// only once the group has committed: its condition was checked
	// against the group's earlier, uncommitted writes, so until they are
	// visible to everyone the verdict may not be told (a reader could
	// still see the state the verdict denies), and if they roll back the
	// verdict is void and the batch runs again.
	ok, again, judged []*applyReq
}

// send queues the statements of the group's batches (after the BEGIN and
// the plain puts' statement if begin) and reads their results (see
// readGroup).
func (t *groupTx) send(begin bool, set, rest []*applyReq) (failed, op int, err error) {
	batch := &pgx.Batch{}
	if begin {
		if !t.implicit {
			batch.Queue("BEGIN")
		}
		if set != nil {
			batch.Queue(t.db.putMany, plainPutArgs(set)...)
		}
	}
	for _, r := range rest {
		if r.mayFail {
			batch.Queue("SAVEPOINT kv_batch")
		}
		t.db.queue(batch, r)
		if r.mayFail {
			batch.Queue("RELEASE SAVEPOINT kv_batch")
		}
	}
	br := t.conn.SendBatch(t.ctx, batch)
	failed, op, err = readGroup(br, begin && !t.implicit, set, rest)
	if cerr := br.Close(); err == nil {
		err = cerr
	}
	return failed, op, err
}

// finish gives r its outcome.
func (t *groupTx) finish(r *applyReq, err error) {
	if err != nil {
		clear(r.results)
	}
	r.err = err
	close(r.done)
}

// committed answers every batch once the transaction has committed.
func (t *groupTx) committed(rest []*applyReq) {
	for _, r := range append(t.ok, rest...) {
		t.finish(r, nil)
	}
	for _, r := range t.judged {
		t.finish(r, r.err)
	}
}

// rerunJudged voids the verdicts of the judged batches: they run again.
func (t *groupTx) rerunJudged() {
	for _, r := range t.judged {
		r.err = nil
		clear(r.results)
		t.again = append(t.again, r)
	}
	t.judged = nil
}

// failAll gives err to the batches that ran and to rest, and voids the
// verdicts.
func (t *groupTx) failAll(err error, rest []*applyReq) {
	for _, r := range append(t.ok, rest...) {
		t.finish(r, err)
	}
	t.rerunJudged()
}

// aborted returns err's server error if err is a statement's error that
// left the transaction to roll back, else nil (a lost connection, say).
func (t *groupTx) aborted(err error) *pgconn.PgError {
	var pe *pgconn.PgError
	if !errors.As(err, &pe) {
		return nil
	}
	if t.implicit && t.conn.Conn().IsClosed() || !t.implicit && t.conn.Conn().PgConn().TxStatus() != 'E' {
		return nil
	}
	return pe
}

// rollback ends the failed transaction.
func (t *groupTx) rollback() error {
	if t.implicit {
		return nil // PostgreSQL has rolled it back
	}
	_, err := t.conn.Exec(t.ctx, "ROLLBACK", pgx.QueryExecModeSimpleProtocol)
	return err
}

// retry handles a serialization failure or a deadlock, at a statement or
// at the commit: the transaction is rolled back (or, under SERIALIZABLE,
// doomed, whatever savepoint it returns to). Every batch runs again in a
// later group; those it hit (all of them if it hit no batch of its own)
// use up an attempt.
func (t *groupTx) retry(err error, failed int, set, rest []*applyReq) {
	if rerr := t.rollback(); rerr != nil {
		t.failAll(t.db.mapError(rerr), append(set, rest...))
		return
	}
	var hit []*applyReq
	switch {
	case failed >= 0:
		hit = rest[failed : failed+1]
	case failed == setFailed:
		hit = set
	}
	for _, r := range slices.Concat(t.ok, set, rest) {
		clear(r.results)
		if hit == nil || slices.Contains(hit, r) {
			if r.retries++; r.retries >= txAttempts {
				t.finish(r, t.db.mapError(err))
				continue
			}
		}
		t.again = append(t.again, r)
	}
	t.rerunJudged()
}

// rerunPlainPuts handles a failure of the plain puts' statement: which put
// failed is not known, so it rolls back and runs every batch again, those
// puts with statements of their own.
func (t *groupTx) rerunPlainPuts(set, rest []*applyReq) {
	if err := t.rollback(); err != nil {
		t.failAll(t.db.mapError(err), append(set, rest...))
		return
	}
	for _, r := range set {
		clear(r.results)
		t.db.statements(r) // from now on with its own statement
		r.put = nil
	}
	t.again = append(append(t.again, set...), rest...)
}

// batchFailed handles the failure of rest[failed] (at its statement op):
// its caller gets the error (a condition's verdict once the group has
// committed). A batch in a savepoint is undone alone and the group goes on
// with the batches after it: batchFailed returns them and true. Otherwise
// the transaction is rolled back, the other batches run again later, and
// it returns false.
func (t *groupTx) batchFailed(err error, op int, rest []*applyReq, failed int) ([]*applyReq, bool) {
	r := rest[failed]
	if !r.mayFail {
		// Not a condition: its own error, whatever the others did. No
		// savepoint to return to: roll the whole transaction back and run
		// the other batches again.
		t.finish(r, t.db.applyError(err, op))
		if rerr := t.rollback(); rerr != nil {
			t.failAll(t.db.mapError(rerr), rest[failed+1:])
			return nil, false
		}
		for _, o := range append(t.ok, rest[:failed]...) {
			clear(o.results)
			t.again = append(t.again, o)
		}
		t.again = append(t.again, rest[failed+1:]...)
		t.rerunJudged()
		return nil, false
	}
	clear(r.results)
	r.err = t.db.applyError(err, op)
	t.judged = append(t.judged, r)
	t.ok = append(t.ok, rest[:failed]...)
	rest = rest[failed+1:]
	// On its own: until it runs, PostgreSQL refuses even to prepare the
	// statements that follow.
	if _, err := t.conn.Exec(t.ctx, "ROLLBACK TO SAVEPOINT kv_batch; RELEASE SAVEPOINT kv_batch", pgx.QueryExecModeSimpleProtocol); err != nil {
		t.failAll(t.db.mapError(err), rest)
		return nil, false
	}
	return rest, true
}
