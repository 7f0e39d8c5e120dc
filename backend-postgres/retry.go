package postgreskv

import (
	"context"
	"errors"
	"math/rand/v2"
	"time"

	"github.com/jackc/pgx/v5/pgconn"
)

// Serialization failures and deadlocks.
//
// kv's statements are written for READ COMMITTED, PostgreSQL's default,
// where a write that meets a row changed by a concurrent transaction waits
// for it and goes on with the row's newest version. A server or database
// configured with default_transaction_isolation = 'repeatable read' or
// 'serializable' fails such a write instead (SQLSTATE 40001,
// serialization_failure), and under SERIALIZABLE also a transaction whose
// reads a concurrent one invalidated, at any statement or at its commit.
// Under any isolation, one of two transactions that wait for each other's
// locks fails (40P01, deadlock_detected). Either error rolls the whole
// transaction back, so every write path runs it again: up to txAttempts
// times in all, waiting before each new attempt a random time up to a
// ceiling that starts at txBackoffMin and doubles, to at most txBackoffMax
// ("full jitter", so that the writers that collided do not collide again).
// A batch of a group commit is queued again instead (see group.go), up to
// txAttempts times as well. So kv's writes behave the same whatever
// isolation the server is configured with: they fail only if one keeps
// losing after txAttempts attempts, with the server's error.
const (
	txAttempts   = 30
	txBackoffMin = 2 * time.Millisecond
	txBackoffMax = 500 * time.Millisecond
)

// retryable reports whether err is a serialization failure or a deadlock:
// the transaction was rolled back whole and can run again.
func retryable(err error) bool {
	var pe *pgconn.PgError
	return errors.As(err, &pe) && (pe.Code == "40001" || pe.Code == "40P01")
}

// retryTx runs op, which runs one transaction and returns its error, and
// runs it again while it fails with a serialization failure or a deadlock
// (see txAttempts). op must start from scratch each time: it may not keep
// anything of a failed attempt. If ctx ends while it waits, it returns the
// last error.
func retryTx(ctx context.Context, op func() error) error {
	for attempt := 1; ; attempt++ {
		err := op()
		if err == nil || !retryAgain(ctx, err, attempt) {
			return err
		}
	}
}

// retryAgain reports whether a transaction that failed with err at its
// attempt-th attempt (from 1) is to run again: err is a serialization
// failure or a deadlock and attempts are left. If so it first waits the
// attempt's backoff; it reports false if ctx ends meanwhile.
func retryAgain(ctx context.Context, err error, attempt int) bool {
	if attempt >= txAttempts || !retryable(err) {
		return false
	}
	t := time.NewTimer(txBackoff(attempt))
	defer t.Stop()
	select {
	case <-ctx.Done():
		return false
	case <-t.C:
		return true
	}
}

// txBackoff is the wait before attempt+1: random, up to a ceiling that
// doubles with each attempt from txBackoffMin to txBackoffMax.
func txBackoff(attempt int) time.Duration {
	ceiling := txBackoffMax
	if shift := attempt - 1; shift < 16 {
		ceiling = min(ceiling, txBackoffMin<<shift)
	}
	return rand.N(ceiling) + 1
}

// exec runs one statement on the pool in a transaction of its own (see
// retryTx) and maps its error.
func (db *DB) exec(ctx context.Context, sql string, args ...any) (pgconn.CommandTag, error) {
	var tag pgconn.CommandTag
	err := retryTx(ctx, func() (err error) {
		tag, err = db.pool.Exec(ctx, sql, args...)
		return err
	})
	return tag, db.mapError(err)
}
