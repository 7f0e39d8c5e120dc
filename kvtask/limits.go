package kvtask

import (
	"fmt"
	"math"
	"time"
)

// The bounds of every count, duration and time kvtask takes. They keep the
// arithmetic on attempts, leases and retry times clear of overflow, and
// every value within what each backend stores and reads back exactly (and
// what an export prints). A value outside them is an error wrapping
// ErrInvalidArgument that names the value and the limit, and changes
// nothing.
const (
	// MaxRetriesLimit is the largest Task.MaxRetries and the largest
	// Runner.MaxLost.
	MaxRetriesLimit = 10_000
	// MaxTimeout is the longest per-attempt timeout (Task.TimeoutSeconds).
	MaxTimeout = 7 * 24 * time.Hour
	// MinPriority and MaxPriority bound Task.Priority (32 bits).
	MinPriority = math.MinInt32
	MaxPriority = math.MaxInt32
	// MinLease and MaxLease bound the lease on a claimed task: the lease
	// of Scheduler.Claim, Lock and Heartbeat. Runner.LockDuration is at
	// least 3*MinLease (a heartbeat every third of it) and at most MaxLease.
	MinLease = time.Millisecond
	MaxLease = 24 * time.Hour
	// MaxClaimLimit is the most tasks one claim takes: the limit of
	// Scheduler.Claim, and the largest Runner.Concurrency.
	MaxClaimLimit = 10_000
	// MaxWait bounds a runner's waits: PollInterval, RetryBase, RetryMax
	// and ShutdownGrace.
	MaxWait = 7 * 24 * time.Hour
)

// EarliestTime and LatestTime bound Task.ScheduledFor when it is set (the
// zero time means now): after the Unix epoch, and at the latest the last
// microsecond of year 9999 (RFC 3339, and so JSON and kv's exports, have
// four-digit years).
var (
	EarliestTime = time.Unix(0, 0).UTC()
	LatestTime   = time.Date(9999, 12, 31, 23, 59, 59, 999_999_000, time.UTC)
)

// checkCount reports whether n, named what, is in [min, max].
func checkCount(what string, n, min, max int) error {
	if n < min || n > max {
		return fmt.Errorf("%w: %s %d is out of range: want %d to %d", ErrInvalidArgument, what, n, min, max)
	}
	return nil
}

// checkDuration reports whether d, named what, is in [min, max].
func checkDuration(what string, d, min, max time.Duration) error {
	if d < min || d > max {
		return fmt.Errorf("%w: %s %v is out of range: want %v to %v", ErrInvalidArgument, what, d, min, max)
	}
	return nil
}

// checkTime reports whether t, named what, is after EarliestTime and not
// after LatestTime.
func checkTime(what string, t time.Time) error {
	if !t.After(EarliestTime) || t.After(LatestTime) {
		return fmt.Errorf("%w: %s %s is out of range: want after %s and at most %s", ErrInvalidArgument, what,
			t.UTC().Format(time.RFC3339Nano), EarliestTime.Format(time.RFC3339), LatestTime.Format(time.RFC3339Nano))
	}
	return nil
}
