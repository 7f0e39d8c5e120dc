package driver

import "context"

// Count is how many tasks have one name and status.
type Count struct {
	Name   string
	Status Status
	Tasks  int64
}

// Counter is implemented by a Queue that counts its tasks in one query.
// Without it, kvtask.Scheduler.Counts lists every task a page at a time.
type Counter interface {
	// CountTasks returns how many tasks there are of each name and status,
	// one Count per pair that has any task (Tasks > 0), in any order.
	CountTasks(ctx context.Context) ([]Count, error)
}
