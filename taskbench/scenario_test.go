package taskbench

import (
	"fmt"
	"sync"
	"testing"
	"time"
)

// scenario is one measured drain: tasks pre-inserted, then drained by
// runners, each running up to concurrency handlers at once.
type scenario struct {
	runners     int
	concurrency int
	tasks       int
}

// result is what one drain measured.
type result struct {
	insert time.Duration // inserting the tasks (not part of the drain)
	drain  time.Duration // from starting the runners until every task is completed
	calls  *calls        // every handler invocation
	// driverCalls counts kvtask's Claim, FinishMany, Heartbeat and Schedules
	// calls during the drain (kv backends only).
	driverCalls int64
}

// rate returns tasks per second over d.
func rate(tasks int, d time.Duration) float64 {
	if d <= 0 {
		return 0
	}
	return float64(tasks) / d.Seconds()
}

// calls counts handler invocations by task ID. The benchmark's handlers do
// nothing else, on every backend and on River alike.
type calls struct {
	mu sync.Mutex
	n  map[string]int
}

func newCalls(tasks int) *calls { return &calls{n: make(map[string]int, tasks)} }

// hit records one invocation for task id.
func (c *calls) hit(id string) {
	c.mu.Lock()
	c.n[id]++
	c.mu.Unlock()
}

// check reports an error unless exactly the IDs in want were each run once.
func (c *calls) check(want []string) error {
	c.mu.Lock()
	defer c.mu.Unlock()
	if len(c.n) != len(want) {
		return fmt.Errorf("%d distinct tasks ran, want %d", len(c.n), len(want))
	}
	for _, id := range want {
		if got := c.n[id]; got != 1 {
			return fmt.Errorf("task %s ran %d times, want exactly once", id, got)
		}
	}
	return nil
}

// drainer runs one scenario on one system, after it has been set up and
// before it is torn down (tb's cleanups). It returns the IDs of the tasks it
// inserted with the result, or an error if not every task completed.
type drainer func(tb testing.TB, sc scenario) ([]string, result, error)

// system is a task queue under test: a kv backend driven by kvtask, or River.
type system struct {
	name  string
	drain drainer
}

// systems returns River and the kv backends, River first (its rate is the
// baseline of the others).
func systems() []system {
	return []system{
		{"river", drainRiver},
		{"sqlite", kvDrainer(openSQLite)},
		{"postgres", kvDrainer(openPostgres)},
		{"rqlite", kvDrainer(openRqlite)},
	}
}
