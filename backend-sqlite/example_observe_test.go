package sqlitekv_test

// Runnable examples of the observer hooks (kvcore.WithObserver,
// kvtask.Runner.Observer) and of kvtask's Counts and Retry.

import (
	"context"
	"errors"
	"fmt"
	"log"
	"sort"
	"time"

	"github.com/kvsuite/kv/kvcore"
	"github.com/kvsuite/kv/kvtask"
)

// An Observer hears of every store operation: its name, how long it took
// and its error. kvweb/kvmetrics turns the calls into Prometheus metrics;
// here they are counted by hand.
func Example_observer() {
	ctx := context.Background()
	db, _ := openExample(ctx)
	defer db.Close()
	counts := map[string]int{}
	store, err := db.Store(kvcore.WithObserver(func(op string, d time.Duration, err error) {
		result := "ok"
		if errors.Is(err, kvcore.ErrVersionMismatch) {
			result = "conflict"
		}
		counts[op+" "+result]++ // one goroutine here: a real observer must be safe for concurrent use
	}))
	if err != nil {
		log.Fatal(err)
	}
	defer store.Close()
	_ = store.Put(ctx, "a", 0, 1)
	_ = store.Put(ctx, "a", 0, 2) // exists already: a version mismatch
	_, _, _ = store.Get(ctx, "a", nil)
	ops := make([]string, 0, len(counts))
	for op, n := range counts {
		ops = append(ops, fmt.Sprintf("%s: %d", op, n))
	}
	sort.Strings(ops)
	for _, op := range ops {
		fmt.Println(op)
	}
	// Output:
	// get ok: 1
	// put conflict: 1
	// put ok: 1
}

// A Runner's Observer hears how each attempt ended and how long its
// handler ran; Counts gives the tasks by name and status; Retry runs a
// failed task again as a new task.
func Example_taskObserverCountsRetry() {
	ctx := context.Background()
	db, sched := openScheduler(ctx)
	defer db.Close()
	failing, _, _ := sched.Enqueue(ctx, kvtask.NewTask("sync", nil))
	_, _, _ = sched.Enqueue(ctx, kvtask.NewTask("mail", nil))

	r := quietRunner(sched, "worker-1")
	r.Observer = func(a kvtask.Attempt) { fmt.Println(a.Task.Name, a.Outcome) }
	r.RegisterHandler("sync", func(context.Context, kvtask.Task) error { return errors.New("upstream down") })
	r.RegisterHandler("mail", func(context.Context, kvtask.Task) error { return nil })
	if err := r.RunUntilIdle(ctx); err != nil {
		log.Fatal(err)
	}
	again, _, err := sched.Retry(ctx, failing.ID) // a fresh pending copy
	if err != nil {
		log.Fatal(err)
	}
	fmt.Println("retry is a new task:", again.ID != failing.ID, again.Status)
	counts, _ := sched.Counts(ctx)
	for _, c := range counts {
		fmt.Println(c.Name, c.Status, c.Tasks)
	}
	// Unordered output:
	// sync failed
	// mail completed
	// retry is a new task: true pending
	// mail completed 1
	// sync pending 1
	// sync failed 1
}
