package kvtask_test

// These examples need no database. Examples of Scheduler and Runner
// (Enqueue, RegisterHandler, RunUntilIdle, unique keys, retries, cron
// schedules) run on a backend, so they live in the SQLite backend's module,
// which kvtask does not depend on: see the examples of
// github.com/kvsuite/kv/backend-sqlite (Example_tasks, Example_uniqueKey,
// Example_retry, Example_cron) and the worker program in examples/worker.

import (
	"encoding/json"
	"fmt"
	"time"

	"github.com/kvsuite/kv/kvtask"
)

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
