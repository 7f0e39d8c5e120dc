package kvtask

import (
	"fmt"
	"time"

	"github.com/kvsuite/kv/kvtask/driver"
)

// The defaults of the retry rules (a Runner's RetryBase, RetryMax and
// MaxLost when left 0; Scheduler.Release uses the first two).
const (
	DefaultRetryBase = time.Second
	DefaultRetryMax  = 10 * time.Minute
	DefaultMaxLost   = 5
)

// Backoff returns the wait before retry n (n >= 1) for a random factor f in
// [0, 1]: base * 2^(n-1), at most limit, scaled by 0.5 + f/2. It never
// overflows, whatever n.
func Backoff(n int, base, limit time.Duration, f float64) time.Duration {
	if base <= 0 || limit <= 0 {
		return 0
	}
	d := min(base, limit)
	for i := 1; i < n && d < limit; i++ {
		if d > limit/2 {
			d = limit
			break
		}
		d *= 2
	}
	f = min(max(f, 0), 1)
	half := d / 2
	return min(d, half+time.Duration(float64(d-half)*f))
}

// Outcome is how a claimed attempt ended, as Scheduler.Finish records it.
type Outcome struct {
	// Status is StatusCompleted, StatusFailed or StatusCancelled (the
	// task ends so), or StatusPending: the task runs again at RetryAt.
	Status Status
	// LastError is the attempt's error, kept as the task's LastError.
	LastError string
	// RetryAt is when a pending task may run again.
	RetryAt time.Time
	// GiveBack (with StatusPending) returns the attempt unused: the task's
	// Attempts goes back down by one (a runner shutting down gives its
	// claimed work back).
	GiveBack bool
}

// driver is o as the queue's driver records it.
func (o Outcome) driver() driver.Outcome {
	return driver.Outcome{Status: o.Status, LastError: o.LastError, RetryAt: o.RetryAt, GiveBack: o.GiveBack}
}

// FailureOutcome is the outcome that records a failed attempt of t, the
// attempt its caller holds (its handler returned an error, timed out or
// panicked; or its holder releases it as failed), at now with msg as its
// error. It is kvtask's one retry rule, which Runner and Scheduler.Release
// follow; a caller of Claim and Finish uses it too.
//
// Lost attempts use no retry, so t's failed attempts, this one included,
// are t.Attempts - t.Lost. While they are at most t.MaxRetries the task is
// pending again after Backoff(failed attempts, base, limit, f); after that
// it fails.
func FailureOutcome(t Task, msg string, now time.Time, base, limit time.Duration, f float64) Outcome {
	failed := t.Attempts - t.Lost
	if failed <= t.MaxRetries {
		return Outcome{Status: StatusPending, LastError: msg, RetryAt: now.Add(Backoff(failed, base, limit, f))}
	}
	return Outcome{Status: StatusFailed, LastError: msg}
}

// LostOutcome reports whether a claimed task t must not run because of its
// lost attempts (attempts whose runner crashed or stalled past its lease),
// and if so the outcome that fails it: t is at-most-once and an attempt of
// it was lost, or more than maxLost of its attempts were lost (a task
// whose handler kills its runner every time). Runner checks it before it
// runs a handler, with its MaxLost.
func LostOutcome(t Task, maxLost int) (Outcome, bool) {
	switch {
	case t.Lost > 0 && t.AtMostOnce:
		return Outcome{Status: StatusFailed, LastError: "runner lost during its only attempt; at-most-once"}, true
	case t.Lost > maxLost:
		msg := fmt.Sprintf("the runner was lost %d times (at most %d lost attempts)", t.Lost, maxLost)
		if t.LastError != "" {
			msg += "; last error: " + t.LastError
		}
		return Outcome{Status: StatusFailed, LastError: msg}, true
	}
	return Outcome{}, false
}
