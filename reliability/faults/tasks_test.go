package faults_test

import (
	"context"
	"fmt"
	"sync"
	"time"

	"github.com/kvsuite/kv/kvtask"
	taskdriver "github.com/kvsuite/kv/kvtask/driver"
)

// faultTask is the name of the tasks the fault tests enqueue.
const faultTask = "fault-task"

// taskLog is what the enqueuer, the handler and the queue saw.
type taskLog struct {
	mu        sync.Mutex
	enqueued  []string       // task ids known to be stored, in order
	ambiguous int            // failed enqueues later found stored
	execs     map[string]int // task id -> handler runs
	completes map[string]int // task id -> completions the queue accepted
	finishErr int            // outcomes that failed to be recorded (the attempt's outcome was lost)
	errs      errorLog
}

func newTaskLog() *taskLog {
	return &taskLog{execs: map[string]int{}, completes: map[string]int{}}
}

func (l *taskLog) stored(id string, ambiguous bool) {
	l.mu.Lock()
	defer l.mu.Unlock()
	l.enqueued = append(l.enqueued, id)
	if ambiguous {
		l.ambiguous++
	}
}

// countingQueue counts the completions the backend accepted and the
// outcomes it failed to record; it passes the queue's notifications on.
type countingQueue struct {
	taskdriver.Queue
	n   taskdriver.Notifier
	log *taskLog
}

// FinishMany forwards to the backend and counts each item that was
// recorded or failed.
func (q countingQueue) FinishMany(ctx context.Context, cs []taskdriver.Completion, now time.Time) ([]error, error) {
	errs, err := q.Queue.FinishMany(ctx, cs, now)
	q.log.mu.Lock()
	defer q.log.mu.Unlock()
	for i, c := range cs {
		switch {
		case err != nil || errs[i] != nil:
			q.log.finishErr++
		case c.Outcome.Status == kvtask.StatusCompleted:
			q.log.completes[c.ID]++
		}
	}
	return errs, err
}

// SubscribeTasks passes on the queue's notifications.
func (q countingQueue) SubscribeTasks(ctx context.Context) (<-chan struct{}, error) {
	return q.n.SubscribeTasks(ctx)
}

// faultHandler records each run of a task and works a few milliseconds.
func faultHandler(log *taskLog) kvtask.Handler {
	return func(ctx context.Context, t kvtask.Task) error {
		log.mu.Lock()
		log.execs[t.ID]++
		log.mu.Unlock()
		select {
		case <-ctx.Done():
			return ctx.Err()
		case <-time.After(5 * time.Millisecond):
			return nil
		}
	}
}

// runEnqueuer adds a task every interval until stop closes, with the
// default settings (no retries: an attempt lost to a fault must not use
// one). A failed enqueue is resolved like a failed write: the task is
// looked up by id and enqueued again only if it is not stored.
func runEnqueuer(s *kvtask.Scheduler, log *taskLog, interval time.Duration, stop <-chan struct{}) error {
	for n := 0; ; n++ {
		select {
		case <-stop:
			return nil
		case <-time.After(interval):
		}
		id := fmt.Sprintf("fault-%06d", n)
		failed := false
		var firstFailure time.Time
		for {
			ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
			var err error
			stored := false
			if failed {
				_, stored, err = s.Get(ctx, id)
				if err != nil {
					log.errs.add("task get", err)
				}
			}
			if err == nil && !stored {
				_, _, err = s.Enqueue(ctx, kvtask.Task{ID: id, Name: faultTask})
				if err != nil {
					log.errs.add("task new", err)
				}
			}
			cancel()
			if err == nil {
				log.stored(id, stored)
				break
			}
			if !failed {
				failed, firstFailure = true, time.Now()
			} else if time.Since(firstFailure) > resolveWithin {
				return fmt.Errorf("enqueue %s still failing %v after its first failure: %w", id, resolveWithin, err)
			}
			time.Sleep(25 * time.Millisecond)
		}
	}
}
