package driver

import "context"

// Restorer is implemented by a Queue that can store tasks exactly as they
// were elsewhere, for moving tasks between stores (an import). It is
// optional: kvtask.Scheduler.Restore returns an error wrapping
// errors.ErrUnsupported when the driver lacks it. Every backend that ships
// with kv implements it.
type Restorer interface {
	// RestoreTasks stores ts exactly as given - every field, the status,
	// attempts, times, lease, token and last error included - in one
	// atomic operation (one statement, transaction or request): if it
	// returns an error, no task was stored. A task whose ID exists fails
	// the call, wrapping ErrInvalidArgument, and so does a pending
	// or running task whose unique key a pending or running task holds
	// already. The front sends valid tasks (see kvtask.ValidateRestore),
	// with distinct IDs and distinct unique keys among the pending and
	// running ones, times in UTC at microsecond precision. A Notifier
	// signals once per call that stored a pending or running task. An
	// empty ts does nothing.
	RestoreTasks(ctx context.Context, ts []Task) error
}
