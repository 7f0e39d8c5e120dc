package kvtask

import (
	"math"
	"strings"
	"testing"
	"time"
)

// TestFailureOutcome: a failed attempt is retried while the failed
// attempts (Attempts - Lost, this one included) are at most MaxRetries,
// after the backoff of the failed-attempt count; lost attempts use no
// retry; extreme counts do not overflow.
func TestFailureOutcome(t *testing.T) {
	now := time.Date(2030, 1, 1, 0, 0, 0, 0, time.UTC)
	base, limit := time.Second, time.Hour
	for _, tc := range []struct {
		attempts, lost, maxRetries int
		retry                      bool
		wait                       time.Duration // the backoff at f = 1
	}{
		{1, 0, 0, false, 0},
		{1, 0, 1, true, time.Second},
		{2, 0, 1, false, 0},
		{2, 1, 0, false, 0},              // one lost, one failed: no retries
		{2, 1, 1, true, time.Second},     // the first failed attempt after a lost one
		{6, 5, 0, false, 0},              // lost attempts do not stand in for failed ones
		{4, 1, 3, true, 4 * time.Second}, // the third failed attempt: 2^2 s
		{3, 0, 3, true, 4 * time.Second},
		{4, 0, 4, true, 8 * time.Second},
		{5, 0, 3, false, 0},
		{1, 0, math.MaxInt, true, time.Second},                   // stored before retries were bounded
		{math.MaxInt, 0, math.MaxInt, true, time.Hour},           // capped, no overflow
		{math.MaxInt, math.MaxInt - 3, 2, false, 0},              // three failed
		{math.MaxInt, math.MaxInt - 2, 2, true, 2 * time.Second}, // two failed
	} {
		task := Task{Attempts: tc.attempts, Lost: tc.lost, MaxRetries: tc.maxRetries}
		o := FailureOutcome(task, "boom", now, base, limit, 1)
		if o.LastError != "boom" || o.GiveBack {
			t.Errorf("%+v: outcome %+v", tc, o)
		}
		switch {
		case tc.retry && (o.Status != StatusPending || !o.RetryAt.Equal(now.Add(tc.wait))):
			t.Errorf("attempts %d lost %d max retries %d: %s at %v, want a retry at %v", tc.attempts, tc.lost, tc.maxRetries, o.Status, o.RetryAt, now.Add(tc.wait))
		case !tc.retry && (o.Status != StatusFailed || !o.RetryAt.IsZero()):
			t.Errorf("attempts %d lost %d max retries %d: %s, want failed", tc.attempts, tc.lost, tc.maxRetries, o.Status)
		}
	}
	// The random factor scales the wait into [wait/2, wait].
	o := FailureOutcome(Task{Attempts: 1, MaxRetries: 1}, "", now, base, limit, 0)
	if !o.RetryAt.Equal(now.Add(base / 2)) {
		t.Errorf("f = 0: retry at %v, want %v", o.RetryAt, now.Add(base/2))
	}
}

// TestBackoffNoOverflow: however large n and the durations, the backoff is
// within [0, limit].
func TestBackoffNoOverflow(t *testing.T) {
	for _, tc := range []struct {
		n           int
		base, limit time.Duration
	}{
		{math.MaxInt, time.Nanosecond, math.MaxInt64},
		{64, time.Nanosecond, math.MaxInt64},
		{63, 3, math.MaxInt64},
		{math.MaxInt, math.MaxInt64, math.MaxInt64},
		{2, math.MaxInt64/2 + 1, math.MaxInt64},
		{-5, time.Second, time.Minute},
		{3, -time.Second, time.Minute},
		{3, time.Second, -time.Minute},
	} {
		for _, f := range []float64{0, 0.5, 1, -1, 2} {
			d := Backoff(tc.n, tc.base, tc.limit, f)
			if d < 0 || (tc.limit > 0 && d > tc.limit) {
				t.Errorf("Backoff(%d, %v, %v, %v) = %v, want 0 to %v", tc.n, tc.base, tc.limit, f, d, tc.limit)
			}
		}
	}
}

// TestLostOutcome: a task runs again after lost attempts up to maxLost of
// them; past it, or after any lost attempt of an at-most-once task, it
// fails with a message that says why.
func TestLostOutcome(t *testing.T) {
	for _, tc := range []struct {
		task    Task
		maxLost int
		fail    string // "" runs
	}{
		{Task{}, 0, ""},
		{Task{Lost: 5}, 5, ""},
		{Task{Lost: 6, LastError: "boom"}, 5, "the runner was lost 6 times (at most 5 lost attempts); last error: boom"},
		{Task{Lost: 1}, 0, "the runner was lost 1 times (at most 0 lost attempts)"},
		{Task{AtMostOnce: true}, 5, ""},
		{Task{AtMostOnce: true, Lost: 1}, 5, "runner lost during its only attempt; at-most-once"},
		{Task{Lost: math.MaxInt}, MaxRetriesLimit, "the runner was lost"},
	} {
		o, stop := LostOutcome(tc.task, tc.maxLost)
		switch {
		case tc.fail == "" && stop:
			t.Errorf("%+v, max lost %d: stopped with %+v, want it run", tc.task, tc.maxLost, o)
		case tc.fail != "" && (!stop || o.Status != StatusFailed || !strings.HasPrefix(o.LastError, tc.fail)):
			t.Errorf("%+v, max lost %d: %v %+v, want failed with %q", tc.task, tc.maxLost, stop, o, tc.fail)
		}
	}
}
