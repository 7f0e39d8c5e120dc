package taskbench

import (
	"context"
	"errors"
	"fmt"
	"sync"
	"testing"
	"time"

	"github.com/kvsuite/kv/kvtask"
	taskdriver "github.com/kvsuite/kv/kvtask/driver"
)

// taskName is the (River: kind) name of the benchmark's no-op tasks.
const taskName = "taskbench_noop"

// insertWorkers is how many goroutines insert a kv backend's tasks one per
// call in BenchmarkInsert's Enqueue lines.
const insertWorkers = 8

// drainTimeout bounds one drain, so a lost task fails the run instead of
// hanging it.
const drainTimeout = 10 * time.Minute

// payload is task i's JSON payload, the same on every system.
func payload(i int) []byte { return fmt.Appendf(nil, `{"n":%d}`, i) }

// kvDrainer returns the drainer of a kv backend: open gives a fresh, empty,
// initialised queue whose teardown is registered on tb.
func kvDrainer(open func(testing.TB) (taskdriver.Queue, error)) drainer {
	return func(tb testing.TB, sc scenario) ([]string, result, error) {
		q, err := open(tb)
		if err != nil {
			return nil, result{}, err
		}
		return drainKV(q, sc)
	}
}

// drainKV inserts sc.tasks tasks into q, then runs sc.runners kvtask
// runners with RunUntilIdle until the queue is empty, and checks that every
// task was completed.
func drainKV(q taskdriver.Queue, sc scenario) ([]string, result, error) {
	ctx, cancel := context.WithTimeout(context.Background(), drainTimeout)
	defer cancel()
	q, counter := counted(q)
	s, err := kvtask.New(q)
	if err != nil {
		return nil, result{}, err
	}
	ids, tasks := benchTasksOf(sc.tasks)
	res := result{calls: newCalls(sc.tasks)}
	start := time.Now()
	err = enqueueAll(ctx, s, tasks)
	res.insert = time.Since(start)
	if err != nil {
		return nil, res, fmt.Errorf("insert: %w", err)
	}

	runners := make([]*kvtask.Runner, sc.runners)
	for i := range runners {
		r := kvtask.NewRunner(s, fmt.Sprintf("runner-%d", i))
		r.Concurrency = sc.concurrency
		r.RegisterHandler(taskName, func(_ context.Context, t kvtask.Task) error {
			res.calls.hit(t.ID)
			return nil
		})
		runners[i] = r
	}
	errs := make([]error, len(runners))
	var wg sync.WaitGroup
	before := counter.count()
	start = time.Now()
	for i, r := range runners {
		wg.Go(func() { errs[i] = r.RunUntilIdle(ctx) })
	}
	wg.Wait()
	res.drain = time.Since(start)
	res.driverCalls = counter.count() - before
	if err := errors.Join(errs...); err != nil {
		return ids, res, fmt.Errorf("run: %w", err)
	}
	done, err := s.List(ctx, kvtask.StatusCompleted, taskName, 0, 0)
	if err != nil {
		return ids, res, fmt.Errorf("list completed: %w", err)
	}
	if len(done) != sc.tasks {
		return ids, res, fmt.Errorf("%d of %d tasks completed after the runners went idle", len(done), sc.tasks)
	}
	return ids, res, nil
}

// benchTasksOf returns n benchmark tasks and their IDs.
func benchTasksOf(n int) ([]string, []kvtask.Task) {
	ids := make([]string, n)
	tasks := make([]kvtask.Task, n)
	for i := range ids {
		ids[i] = fmt.Sprintf("t%07d", i)
		tasks[i] = kvtask.Task{ID: ids[i], Name: taskName, Payload: payload(i)}
	}
	return ids, tasks
}

// enqueueAll adds tasks with one EnqueueMany call (as River inserts its
// jobs with one InsertManyFast) and checks that each was added.
func enqueueAll(ctx context.Context, s *kvtask.Scheduler, tasks []kvtask.Task) error {
	rs, err := s.EnqueueMany(ctx, tasks)
	if err != nil {
		return err
	}
	for i, r := range rs {
		if !r.Added {
			return fmt.Errorf("task %d (%s) was not added", i, tasks[i].ID)
		}
	}
	return nil
}

// forEach calls f(i) for i in [0, n) from workers goroutines and returns
// the first error (the others then stop taking work).
func forEach(ctx context.Context, workers, n int, f func(i int) error) error {
	ctx, cancel := context.WithCancelCause(ctx)
	defer cancel(nil)
	next := make(chan int)
	var wg sync.WaitGroup
	for range workers {
		wg.Go(func() {
			for i := range next {
				if err := f(i); err != nil {
					cancel(err)
				}
			}
		})
	}
	for i := 0; i < n && ctx.Err() == nil; i++ {
		select {
		case next <- i:
		case <-ctx.Done():
		}
	}
	close(next)
	wg.Wait()
	return context.Cause(ctx)
}
