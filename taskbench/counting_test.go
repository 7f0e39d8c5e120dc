package taskbench

import (
	"context"
	"sync/atomic"
	"time"

	taskdriver "github.com/kvsuite/kv/kvtask/driver"
)

// countingQueue passes every call on to a backend's queue and counts the
// calls a runner makes while draining (Claim, FinishMany, Heartbeat and
// Schedules, the cron check): driver calls per task is a measure of kvtask's
// cost that the machine's load does not blur. Backend round trips per call
// differ (one statement on PostgreSQL, one request on rqlite, one write
// transaction share on SQLite).
type countingQueue struct {
	taskdriver.Queue
	calls atomic.Int64
}

// count returns how many counted calls were made.
func (q *countingQueue) count() int64 { return q.calls.Load() }

// Claim is counted.
func (q *countingQueue) Claim(ctx context.Context, c taskdriver.Claim) ([]taskdriver.Task, error) {
	q.calls.Add(1)
	return q.Queue.Claim(ctx, c)
}

// FinishMany is counted (one call however many outcomes it records).
func (q *countingQueue) FinishMany(ctx context.Context, cs []taskdriver.Completion, now time.Time) ([]error, error) {
	q.calls.Add(1)
	return q.Queue.FinishMany(ctx, cs, now)
}

// Heartbeat is counted.
func (q *countingQueue) Heartbeat(ctx context.Context, id, runner string, token int64, now time.Time, lease time.Duration) (bool, error) {
	q.calls.Add(1)
	return q.Queue.Heartbeat(ctx, id, runner, token, now, lease)
}

// Schedules is counted.
func (q *countingQueue) Schedules(ctx context.Context) ([]taskdriver.Schedule, error) {
	q.calls.Add(1)
	return q.Queue.Schedules(ctx)
}

// notifyingCountingQueue is a countingQueue over a queue that signals new
// tasks, so that runners keep the backend's wake-ups.
type notifyingCountingQueue struct {
	*countingQueue
	n taskdriver.Notifier
}

// SubscribeTasks is the backend's.
func (q notifyingCountingQueue) SubscribeTasks(ctx context.Context) (<-chan struct{}, error) {
	return q.n.SubscribeTasks(ctx)
}

// counted wraps q in a countingQueue, keeping its Notifier if it has one.
func counted(q taskdriver.Queue) (taskdriver.Queue, *countingQueue) {
	c := &countingQueue{Queue: q}
	if n, ok := q.(taskdriver.Notifier); ok {
		return notifyingCountingQueue{countingQueue: c, n: n}, c
	}
	return c, c
}
