package kvtask

import (
	"cmp"
	"context"
	"fmt"
	"slices"

	"github.com/kvsuite/kv/kvtask/driver"
)

// Retry enqueues a new task that runs a failed or cancelled task again as
// soon as possible: the same name, payload, priority, unique key, retries,
// timeout and at-most-once setting, with a new ID, no attempts and no last
// error. The old task stays as it ended (a terminal status never changes).
// As with Enqueue, if a pending or running task holds the unique key,
// nothing is added and Retry returns that task and false. A task that is
// not failed or cancelled is an error wrapping ErrInvalidArgument; a
// missing one is ErrTaskNotFound.
func (s *Scheduler) Retry(ctx context.Context, id string) (Task, bool, error) {
	old, ok, err := s.Get(ctx, id)
	if err != nil {
		return Task{}, false, err
	}
	if !ok {
		return Task{}, false, fmt.Errorf("kv task retry %q: %w", id, ErrTaskNotFound)
	}
	if old.Status != StatusFailed && old.Status != StatusCancelled {
		return Task{}, false, fmt.Errorf("%w: task %q is %s: only a failed or cancelled task can be retried", ErrInvalidArgument, id, old.Status)
	}
	t := NewTask(old.Name, old.Payload)
	t.Priority, t.UniqueKey, t.MaxRetries = old.Priority, old.UniqueKey, old.MaxRetries
	t.AtMostOnce, t.TimeoutSeconds = old.AtMostOnce, old.TimeoutSeconds
	return s.Enqueue(ctx, t)
}

// Count is how many tasks have one name and status.
type Count struct {
	Name   string `json:"name"`
	Status Status `json:"status"`
	Tasks  int    `json:"tasks"`
}

// countPage is how many tasks Counts lists per call without a
// driver.Counter.
const countPage = 1000

// Counts returns how many tasks there are of each name and status, ordered
// by name, then status in the order pending, running, completed, failed,
// cancelled; pairs with no task are left out. With a backend that
// implements driver.Counter (all of kv's do) it is one query; otherwise it
// lists every task, a page at a time.
func (s *Scheduler) Counts(ctx context.Context) ([]Count, error) {
	var counts []Count
	if c, ok := s.q.(driver.Counter); ok {
		dcs, err := c.CountTasks(ctx)
		if err != nil {
			return nil, fmt.Errorf("kv task count: %w", err)
		}
		for _, dc := range dcs {
			if dc.Tasks > 0 {
				counts = append(counts, Count{Name: dc.Name, Status: dc.Status, Tasks: int(dc.Tasks)})
			}
		}
	} else {
		by := map[[2]string]int{}
		for offset := 0; ; offset += countPage {
			ts, err := s.q.List(ctx, driver.Filter{Offset: offset, Limit: countPage})
			if err != nil {
				return nil, fmt.Errorf("kv task count: %w", err)
			}
			for _, t := range ts {
				by[[2]string{t.Name, string(t.Status)}]++
			}
			if len(ts) < countPage {
				break
			}
		}
		for k, n := range by {
			counts = append(counts, Count{Name: k[0], Status: Status(k[1]), Tasks: n})
		}
	}
	slices.SortFunc(counts, func(a, b Count) int {
		return cmp.Or(cmp.Compare(a.Name, b.Name), cmp.Compare(statusRank(a.Status), statusRank(b.Status)))
	})
	return counts, nil
}

// statuses are the task statuses in their order of life.
var statuses = []Status{StatusPending, StatusRunning, StatusCompleted, StatusFailed, StatusCancelled}

// Statuses returns the task statuses in their order of life: pending,
// running, completed, failed, cancelled.
func Statuses() []Status { return slices.Clone(statuses) }

// statusRank is s's place in Statuses (after them if it is none).
func statusRank(s Status) int {
	if i := slices.Index(statuses, s); i >= 0 {
		return i
	}
	return len(statuses)
}
