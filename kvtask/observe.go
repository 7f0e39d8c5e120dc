package kvtask

import (
	"time"
)

// AttemptOutcome says how an attempt that a Runner claimed ended.
type AttemptOutcome string

// The outcomes of an attempt.
const (
	// AttemptCompleted: the handler returned nil; the task is completed.
	AttemptCompleted AttemptOutcome = "completed"
	// AttemptRetried: the attempt failed and the task has retries left:
	// it is pending again, after a backoff.
	AttemptRetried AttemptOutcome = "retried"
	// AttemptFailed: the attempt failed and the task failed for good (no
	// retries left, no handler registered, or too many lost attempts).
	AttemptFailed AttemptOutcome = "failed"
	// AttemptCancelled: the task was cancelled before or while it ran.
	AttemptCancelled AttemptOutcome = "cancelled"
	// AttemptGivenBack: the runner stopped before the attempt ended; the
	// task is pending again at once, the attempt unused.
	AttemptGivenBack AttemptOutcome = "given_back"
	// AttemptLost: the runner lost the task's lease while its handler ran
	// (another runner may run it); the runner recorded nothing.
	AttemptLost AttemptOutcome = "lost"
)

// Attempt is one attempt a Runner claimed, as its Observer is told of it.
type Attempt struct {
	// Task is the task as it was claimed.
	Task    Task
	Outcome AttemptOutcome
	// Duration is how long the handler ran (0 if it did not run).
	Duration time.Duration
	// Err is the error recording the outcome failed with (the outcome was
	// then not stored; the task's lease expires and it is claimed again),
	// or nil.
	Err error
}

// outcomeOf is the AttemptOutcome of a recorded outcome.
func outcomeOf(o Outcome) AttemptOutcome {
	switch {
	case o.Status == StatusCompleted:
		return AttemptCompleted
	case o.Status == StatusCancelled:
		return AttemptCancelled
	case o.Status == StatusFailed:
		return AttemptFailed
	case o.GiveBack:
		return AttemptGivenBack
	default:
		return AttemptRetried
	}
}
