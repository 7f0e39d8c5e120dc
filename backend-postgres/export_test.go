package postgreskv

import (
	"context"

	streamdriver "github.com/kvsuite/kv/kvstream/driver"
	taskdriver "github.com/kvsuite/kv/kvtask/driver"
)

// Channel returns the NOTIFY channel of db's stream, for the tests.
func Channel(db *DB) string { return db.channel }

// InitVersion migrates db's schema up to version v only, for the tests.
func InitVersion(ctx context.Context, db *DB, v int) error {
	conn, err := db.pool.Acquire(ctx)
	if err != nil {
		return err
	}
	defer conn.Release()
	return db.migrate(ctx, conn.Conn(), v)
}

// TaskChannel returns the NOTIFY channel of db's task queue, for the tests.
func TaskChannel(db *DB) string { return db.taskChannel }

// ClaimSQL returns the statement and arguments Claim runs for c.
func ClaimSQL(db *DB, c taskdriver.Claim) (string, []any) {
	sql, a := db.claimSQL(c)
	return sql, a
}

// ReadSQL returns the statement and arguments Read runs for q.
func ReadSQL(db *DB, q streamdriver.Query) (string, []any) {
	sql, a := db.readSQL(q)
	return sql, a
}

// SequenceSQL returns the statement of one sequencer step (without its
// transaction) and its arguments.
func SequenceSQL(db *DB) (string, []any) {
	return db.stepSQL(), []any{db.seqKey}
}

// NotifyInterval is the least time between two sends of the notifier.
const NotifyInterval = notifyInterval

// NotifyStreamCommitted tells db's notifier that a stream write committed.
func NotifyStreamCommitted(db *DB) { db.notifyCommitted(notifyStream) }

// SetMaxCommitters sets how many groups db commits at once (0: no group
// commit), for the group commit tests. Call it while no Apply of db is
// starting (Apply reads it without a lock; the queue reads it under one).
func SetMaxCommitters(db *DB, n int) {
	db.group.mu.Lock()
	defer db.group.mu.Unlock()
	db.maxCommitters = n
}

// Queued returns how many batches wait in db's group commit queue.
func Queued(db *DB) int {
	db.group.mu.Lock()
	defer db.group.mu.Unlock()
	return len(db.group.queue)
}

// MapError maps err as db's operations do.
func MapError(db *DB, err error) error { return db.mapError(err) }

// WaitingReads returns how many reads of db wait for its next sequencer
// step (see steps.go).
func WaitingReads(db *DB) int { return db.steps.waitingReads() }

// PutManySQL returns the statement a group runs for its plain puts (see
// putManyStatement): five array parameters, namespaces, keys, values,
// types and times, one element per put.
func PutManySQL(db *DB) string { return db.putManyStatement() }

// SequencerLockKey returns the advisory lock key of db's sequencer.
func SequencerLockKey(db *DB) int64 { return db.seqKey }
