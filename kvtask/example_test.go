package kvtask_test

// These examples need no database (EnqueueMany's runs on a toy in-memory
// driver). Examples of Scheduler and Runner (Enqueue, RegisterHandler,
// RunUntilIdle, unique keys, retries, cron schedules) run on a backend, so
// they live in the SQLite backend's module, which kvtask does not depend
// on: see the examples of github.com/kvsuite/kv/backend-sqlite
// (Example_tasks, Example_uniqueKey, Example_retry, Example_cron) and the
// worker program in examples/worker.

import (
	"context"
	"encoding/json"
	"fmt"
	"time"

	"github.com/kvsuite/kv/kvtask"
	"github.com/kvsuite/kv/kvtask/driver"
)

// memQueue is a toy in-memory driver with only InsertMany, so that the
// EnqueueMany example runs without a database. Real programs pass a backend
// (sqlitekv, postgreskv or rqlitekv).
type memQueue struct {
	driver.Queue
	held map[string]driver.Task // unique key -> pending task
}

func (q *memQueue) InsertMany(_ context.Context, ts []driver.Task) ([]driver.Inserted, error) {
	out := make([]driver.Inserted, len(ts))
	for i, t := range ts {
		if h, ok := q.held[t.UniqueKey]; ok {
			out[i] = driver.Inserted{Task: h}
			continue
		}
		if t.UniqueKey != "" {
			q.held[t.UniqueKey] = t
		}
		out[i] = driver.Inserted{Task: t, Added: true}
	}
	return out, nil
}

// EnqueueMany adds a batch in one driver call, all or nothing. A task
// whose unique key is held - by a stored task, or by an earlier task of the
// batch - is not added: its result is the task that holds the key.
func ExampleScheduler_EnqueueMany() {
	ctx := context.Background()
	s, err := kvtask.New(&memQueue{held: map[string]driver.Task{}})
	if err != nil {
		panic(err)
	}
	sync := func(id, user string) kvtask.Task {
		t := kvtask.NewTask("sync", json.RawMessage(fmt.Sprintf(`{"user":%q}`, user)))
		t.ID, t.UniqueKey = id, "sync/"+user
		return t
	}
	if _, _, err := s.Enqueue(ctx, sync("t0", "cy")); err != nil {
		panic(err)
	}
	results, err := s.EnqueueMany(ctx, []kvtask.Task{sync("t1", "ann"), sync("t2", "bob"), sync("t3", "ann"), sync("t4", "cy")})
	if err != nil {
		panic(err)
	}
	for i, r := range results {
		fmt.Println(i, r.Added, r.Task.ID)
	}
	// A bad task fails the whole batch before anything is written.
	_, err = s.EnqueueMany(ctx, []kvtask.Task{sync("t5", "dan"), kvtask.NewTask("", nil)})
	fmt.Println(err)
	// Output:
	// 0 true t1
	// 1 true t2
	// 2 false t1
	// 3 false t0
	// kv task enqueue: task 1 (""): invalid argument: task name is empty
}

// The wait before each retry doubles from the base up to the cap, and is
// scaled by a random factor (here fixed at its largest, 1).
func ExampleBackoff() {
	var waits []time.Duration
	for n := 1; n <= 6; n++ {
		waits = append(waits, kvtask.Backoff(n, time.Second, 10*time.Second, 1))
	}
	fmt.Println(waits)
	// Output: [1s 2s 4s 8s 10s 10s]
}

// A task for the handler "email" that runs no earlier than a given time, at
// most three times, with each attempt limited to a minute.
func ExampleNewScheduledTask() {
	at := time.Date(2026, 3, 1, 9, 0, 0, 0, time.UTC)
	t := kvtask.NewScheduledTask("email", json.RawMessage(`{"to":"ann@example.com"}`), at)
	t.MaxRetries, t.TimeoutSeconds = 2, 60
	t.UniqueKey = "newsletter/2026-03/ann"
	fmt.Println(t.Name, t.ScheduledFor.Format(time.RFC3339), t.MaxRetries, t.TimeoutSeconds, kvtask.Terminal(t.Status))
	// Output: email 2026-03-01T09:00:00Z 2 60 false
}

// FailureOutcome is kvtask's retry rule: a failed attempt is retried while
// the failed attempts (Attempts - Lost) are at most MaxRetries. An attempt
// whose runner was lost (a crash) uses no retry.
func ExampleFailureOutcome() {
	now := time.Date(2030, 1, 1, 0, 0, 0, 0, time.UTC)
	t := kvtask.Task{Name: "email", MaxRetries: 1}
	for _, c := range []struct{ attempts, lost int }{{1, 0}, {2, 0}, {2, 1}, {3, 2}} {
		t.Attempts, t.Lost = c.attempts, c.lost
		o := kvtask.FailureOutcome(t, "smtp: timeout", now, time.Second, time.Minute, 1)
		if o.Status == kvtask.StatusPending {
			fmt.Printf("attempt %d, %d lost: retry in %v\n", c.attempts, c.lost, o.RetryAt.Sub(now))
		} else {
			fmt.Printf("attempt %d, %d lost: %s: %s\n", c.attempts, c.lost, o.Status, o.LastError)
		}
	}
	// Output:
	// attempt 1, 0 lost: retry in 1s
	// attempt 2, 0 lost: failed: smtp: timeout
	// attempt 2, 1 lost: retry in 1s
	// attempt 3, 2 lost: retry in 1s
}

// LostOutcome says whether a claimed task must not run again because its
// runners were lost too often (a Runner passes its MaxLost), or because it
// is at-most-once and an attempt of it was lost.
func ExampleLostOutcome() {
	for _, t := range []kvtask.Task{
		{Name: "import", Attempts: 3, Lost: 2},
		{Name: "import", Attempts: 7, Lost: 6},
		{Name: "charge", Attempts: 2, Lost: 1, AtMostOnce: true},
	} {
		o, stop := kvtask.LostOutcome(t, kvtask.DefaultMaxLost)
		fmt.Printf("%s lost %d: stop %v %s %q\n", t.Name, t.Lost, stop, o.Status, o.LastError)
	}
	// Output:
	// import lost 2: stop false  ""
	// import lost 6: stop true failed "the runner was lost 6 times (at most 5 lost attempts)"
	// charge lost 1: stop true failed "runner lost during its only attempt; at-most-once"
}
