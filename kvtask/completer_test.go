package kvtask

import (
	"context"
	"fmt"
	"io"
	"log/slog"
	"sync"
	"testing"
	"time"

	"github.com/kvsuite/kv/kvtask/driver"
)

// memQueue is the part of a queue a Runner uses (Claim, Heartbeat,
// FinishMany, Schedules), in memory; other methods are not implemented.
type memQueue struct {
	driver.Queue
	mu      sync.Mutex
	tasks   map[string]*driver.Task
	order   []string
	batches []int // FinishMany calls: outcomes in each
	slow    func(call int)
}

func newMemQueue(n int) *memQueue {
	q := &memQueue{tasks: map[string]*driver.Task{}}
	for i := range n {
		id := fmt.Sprintf("t%04d", i)
		q.tasks[id] = &driver.Task{ID: id, Name: "job", Status: driver.Pending}
		q.order = append(q.order, id)
	}
	return q
}

func (q *memQueue) Claim(_ context.Context, c driver.Claim) ([]driver.Task, error) {
	q.mu.Lock()
	defer q.mu.Unlock()
	var out []driver.Task
	for _, id := range q.order {
		t := q.tasks[id]
		if len(out) == c.Limit || t.Status != driver.Pending || t.ScheduledFor.After(c.Now) {
			continue
		}
		t.Status, t.LockedBy, t.Attempts, t.Token = driver.Running, c.Runner, t.Attempts+1, t.Token+1
		t.LockedUntil = c.Now.Add(c.Lease)
		out = append(out, *t)
	}
	return out, nil
}

func (q *memQueue) Heartbeat(context.Context, string, string, int64, time.Time, time.Duration) (bool, error) {
	return false, nil
}

func (q *memQueue) Schedules(context.Context) ([]driver.Schedule, error) { return nil, nil }

// finishLocked records one outcome.
func (q *memQueue) finishLocked(c driver.Completion, now time.Time) error {
	t, ok := q.tasks[c.ID]
	if !ok || t.Status != driver.Running || t.LockedBy != c.Runner || t.Token != c.Token {
		return driver.ErrLost
	}
	t.Status, t.LastError, t.LockedBy = c.Outcome.Status, c.Outcome.LastError, ""
	if c.Outcome.Status == driver.Pending {
		t.ScheduledFor = c.Outcome.RetryAt
	} else {
		t.Completed = now
	}
	return nil
}

func (q *memQueue) FinishMany(_ context.Context, cs []driver.Completion, now time.Time) ([]error, error) {
	if err := driver.CheckCompletions(cs); err != nil {
		return nil, err
	}
	q.mu.Lock()
	call := len(q.batches)
	q.batches = append(q.batches, len(cs))
	slow := q.slow
	q.mu.Unlock()
	if slow != nil {
		slow(call)
	}
	q.mu.Lock()
	defer q.mu.Unlock()
	errs := make([]error, len(cs))
	for i, c := range cs {
		errs[i] = q.finishLocked(c, now)
	}
	return errs, nil
}

// runAll runs one runner with concurrency handlers over q until idle and
// checks that every task completed after exactly one run.
func runAll(t *testing.T, q driver.Queue, m *memQueue, concurrency int, handler Handler) {
	t.Helper()
	s, err := New(q)
	if err != nil {
		t.Fatal(err)
	}
	r := NewRunner(s, "r")
	r.Concurrency = concurrency
	r.PollInterval = 10 * time.Millisecond
	r.Logger = slog.New(slog.NewTextHandler(io.Discard, nil))
	var mu sync.Mutex
	runs := map[string]int{}
	r.RegisterHandler("job", func(ctx context.Context, task Task) error {
		mu.Lock()
		runs[task.ID]++
		mu.Unlock()
		return handler(ctx, task)
	})
	ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
	defer cancel()
	if err := r.RunUntilIdle(ctx); err != nil {
		t.Fatal(err)
	}
	m.mu.Lock()
	defer m.mu.Unlock()
	for id, task := range m.tasks {
		if task.Status != driver.Completed || runs[id] != 1 {
			t.Errorf("task %s: status %s after %d runs", id, task.Status, runs[id])
		}
	}
}

// TestRunnerBatchesOutcomes: the runner records
// outcomes with FinishMany, several per call when handlers end together,
// and RunUntilIdle returns only after every outcome is stored.
func TestRunnerBatchesOutcomes(t *testing.T) {
	const n, conc = 200, 50
	q := newMemQueue(n)
	// The first call is slow, so that outcomes pile up behind it.
	q.slow = func(call int) {
		if call == 0 {
			time.Sleep(100 * time.Millisecond)
		}
	}
	runAll(t, q, q, conc, func(context.Context, Task) error { return nil })
	total, most := 0, 0
	for _, b := range q.batches {
		total += b
		most = max(most, b)
	}
	if total != n {
		t.Errorf("outcomes in FinishMany calls %d: want %d", total, n)
	}
	if most < 2 || most > conc {
		t.Errorf("largest FinishMany call recorded %d outcomes: want 2..%d (batches %v)", most, conc, q.batches)
	}
}
