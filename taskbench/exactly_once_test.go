package taskbench

import (
	"fmt"
	"testing"
)

// TestExactlyOnce drains 100 tasks with 1 and 4 runners (8 handlers each)
// on every system the benchmark measures, and checks that every task was
// completed and its handler ran exactly once (no runner crashes here, so
// no task may run twice).
func TestExactlyOnce(t *testing.T) {
	const tasks = 100
	for _, sys := range systems() {
		for _, runners := range runnerCounts {
			t.Run(fmt.Sprintf("%s/runners=%d", sys.name, runners), func(t *testing.T) {
				ids, res, err := sys.drain(t, scenario{runners: runners, concurrency: 8, tasks: tasks})
				if err != nil {
					t.Fatal(err)
				}
				if len(ids) != tasks {
					t.Fatalf("%d tasks inserted, want %d", len(ids), tasks)
				}
				if err := res.calls.check(ids); err != nil {
					t.Fatal(err)
				}
				t.Logf("%d tasks in %v (%.0f tasks/s)", tasks, res.drain, rate(tasks, res.drain))
			})
		}
	}
}

// TestCallsCheck checks the exactly-once check itself: a missing, a
// repeated and an unexpected task are each reported.
func TestCallsCheck(t *testing.T) {
	want := []string{"a", "b"}
	for _, tc := range []struct {
		name string
		hits []string
		ok   bool
	}{
		{"each once", []string{"a", "b"}, true},
		{"one missing", []string{"a"}, false},
		{"one twice", []string{"a", "b", "b"}, false},
		{"an unexpected one", []string{"a", "c"}, false},
	} {
		c := newCalls(2)
		for _, id := range tc.hits {
			c.hit(id)
		}
		if err := c.check(want); (err == nil) != tc.ok {
			t.Errorf("%s: check = %v, want ok=%v", tc.name, err, tc.ok)
		}
	}
}
