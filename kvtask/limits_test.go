package kvtask

import (
	"context"
	"errors"
	"fmt"
	"math"
	"strings"
	"testing"
	"time"

	"github.com/kvsuite/kv/kvtask/driver"
)

// callQueue answers Claim, Heartbeat and PutSchedule with nothing and
// counts the calls that reached it (a bad input must not reach it).
type callQueue struct {
	driver.Queue
	calls int
}

func (q *callQueue) Claim(context.Context, driver.Claim) ([]driver.Task, error) {
	q.calls++
	return nil, nil
}

func (q *callQueue) Heartbeat(context.Context, string, string, int64, time.Time, time.Duration) (bool, error) {
	q.calls++
	return false, nil
}

func (q *callQueue) PutSchedule(context.Context, driver.Schedule) error {
	q.calls++
	return nil
}

// bound is one bounded value: field is how an error names it, in a value
// at its limit and out one just past it, and limit how an error names the
// limit.
type bound struct {
	field   string
	in, out any
	limit   string
}

// TestLimits: every bounded count, duration and time that kvtask takes is
// accepted at its limit and refused one step past it, with an error
// wrapping ErrInvalidArgument that names the value and the limit; a
// refused call reaches no driver. Values that overflowed before (a retry
// count or timeout of MaxInt64, times past year 9999 or 292277) are
// refused too.
func TestLimits(t *testing.T) {
	maxTimeout := int(MaxTimeout / time.Second)
	// Task fields: ValidateTask, Enqueue and Schedule (the template).
	taskBounds := []struct {
		bound
		set func(*Task, any)
	}{
		{bound{"max retries", MaxRetriesLimit, MaxRetriesLimit + 1, "0 to 10000"}, func(t *Task, v any) { t.MaxRetries = v.(int) }},
		{bound{"max retries", 0, -1, "0 to 10000"}, func(t *Task, v any) { t.MaxRetries = v.(int) }},
		{bound{"max retries", 0, math.MaxInt, "0 to 10000"}, func(t *Task, v any) { t.MaxRetries = v.(int) }},
		{bound{"timeout seconds", maxTimeout, maxTimeout + 1, "0 to 604800"}, func(t *Task, v any) { t.TimeoutSeconds = v.(int) }},
		{bound{"timeout seconds", 0, -1, "0 to 604800"}, func(t *Task, v any) { t.TimeoutSeconds = v.(int) }},
		{bound{"timeout seconds", 0, math.MaxInt, "0 to 604800"}, func(t *Task, v any) { t.TimeoutSeconds = v.(int) }},
		{bound{"priority", MaxPriority, MaxPriority + 1, "-2147483648 to 2147483647"}, func(t *Task, v any) { t.Priority = v.(int) }},
		{bound{"priority", MinPriority, MinPriority - 1, "-2147483648 to 2147483647"}, func(t *Task, v any) { t.Priority = v.(int) }},
		{bound{"scheduled time", LatestTime, LatestTime.Add(time.Microsecond), "at most 9999-12-31T23:59:59.999999Z"},
			func(t *Task, v any) { t.ScheduledFor = v.(time.Time) }},
		{bound{"scheduled time", LatestTime, time.Date(294277, 1, 1, 0, 0, 0, 0, time.UTC), "at most 9999-12-31T23:59:59.999999Z"},
			func(t *Task, v any) { t.ScheduledFor = v.(time.Time) }},
		{bound{"scheduled time", EarliestTime.Add(time.Microsecond), EarliestTime, "after 1970-01-01T00:00:00Z"},
			func(t *Task, v any) { t.ScheduledFor = v.(time.Time) }},
		{bound{"at-most-once", false, true, "max retries 1, want 0"},
			func(t *Task, v any) { t.AtMostOnce, t.MaxRetries = v.(bool), 1 }},
	}
	ctx := context.Background()
	for _, b := range taskBounds {
		for _, v := range []any{b.in, b.out} {
			name := fmt.Sprintf("%s=%v", b.field, v)
			task := NewTask("job", nil)
			b.set(&task, v)
			q := &callQueue{}
			s, err := New(q)
			if err != nil {
				t.Fatal(err)
			}
			errs := map[string]error{"ValidateTask": ValidateTask(task), "Schedule": s.Schedule(ctx, "s", "@hourly", task)}
			for call, err := range errs {
				checkBound(t, name+" "+call, b.bound, v, err)
			}
			if want := map[bool]int{true: 1, false: 0}[v == b.in]; q.calls != want {
				t.Errorf("%s: %d driver calls, want %d", name, q.calls, want)
			}
		}
	}

	// Scheduler calls: Claim (lease and limit), Lock and Heartbeat (lease).
	callBounds := []struct {
		bound
		call func(*Scheduler, any) error
	}{
		{bound{"lock duration", MaxLease, MaxLease + time.Nanosecond, "1ms to 24h0m0s"}, func(s *Scheduler, v any) error {
			_, err := s.Claim(ctx, "r", v.(time.Duration), 1)
			return err
		}},
		{bound{"lock duration", MinLease, MinLease - time.Nanosecond, "1ms to 24h0m0s"}, func(s *Scheduler, v any) error {
			_, err := s.Claim(ctx, "r", v.(time.Duration), 1)
			return err
		}},
		{bound{"lock duration", MinLease, time.Duration(math.MinInt64), "1ms to 24h0m0s"}, func(s *Scheduler, v any) error {
			_, err := s.Claim(ctx, "r", v.(time.Duration), 1)
			return err
		}},
		{bound{"claim limit", MaxClaimLimit, MaxClaimLimit + 1, "1 to 10000"}, func(s *Scheduler, v any) error {
			_, err := s.Claim(ctx, "r", time.Minute, v.(int))
			return err
		}},
		{bound{"claim limit", 1, 0, "1 to 10000"}, func(s *Scheduler, v any) error {
			_, err := s.Claim(ctx, "r", time.Minute, v.(int))
			return err
		}},
		{bound{"lock duration", MaxLease, time.Duration(math.MaxInt64), "1ms to 24h0m0s"}, func(s *Scheduler, v any) error {
			_, _, err := s.Lock(ctx, "r", v.(time.Duration))
			return err
		}},
		{bound{"lock duration", MaxLease, MaxLease + time.Nanosecond, "1ms to 24h0m0s"}, func(s *Scheduler, v any) error {
			_, err := s.Heartbeat(ctx, Task{ID: "t"}, "r", v.(time.Duration))
			return err
		}},
		{bound{"lock duration", MinLease, time.Duration(0), "1ms to 24h0m0s"}, func(s *Scheduler, v any) error {
			_, err := s.Heartbeat(ctx, Task{ID: "t"}, "r", v.(time.Duration))
			return err
		}},
	}
	for i, b := range callBounds {
		for _, v := range []any{b.in, b.out} {
			q := &callQueue{}
			s, err := New(q)
			if err != nil {
				t.Fatal(err)
			}
			name := fmt.Sprintf("call %d: %s=%v", i, b.field, v)
			checkBound(t, name, b.bound, v, b.call(s, v))
			if want := map[bool]int{true: 1, false: 0}[v == b.in]; q.calls != want {
				t.Errorf("%s: %d driver calls, want %d", name, q.calls, want)
			}
		}
	}

	// Runner settings (0 takes the default).
	runnerBounds := []struct {
		bound
		set func(*Runner, any)
	}{
		{bound{"poll interval", MaxWait, MaxWait + time.Nanosecond, "1ns to 168h0m0s"}, func(r *Runner, v any) { r.PollInterval = v.(time.Duration) }},
		{bound{"poll interval", time.Nanosecond, -time.Nanosecond, "1ns to 168h0m0s"}, func(r *Runner, v any) { r.PollInterval = v.(time.Duration) }},
		{bound{"lock duration", MaxLease, MaxLease + time.Nanosecond, "3ms to 24h0m0s"}, func(r *Runner, v any) { r.LockDuration = v.(time.Duration) }},
		{bound{"lock duration", 3 * MinLease, 3*MinLease - time.Nanosecond, "3ms to 24h0m0s"}, func(r *Runner, v any) { r.LockDuration = v.(time.Duration) }},
		{bound{"retry base", MaxWait, MaxWait + time.Nanosecond, "1ns to 168h0m0s"}, func(r *Runner, v any) { r.RetryBase = v.(time.Duration) }},
		{bound{"retry max", MaxWait, time.Duration(math.MaxInt64), "1ns to 168h0m0s"}, func(r *Runner, v any) { r.RetryMax = v.(time.Duration) }},
		{bound{"retry max", time.Nanosecond, -time.Second, "1ns to 168h0m0s"}, func(r *Runner, v any) { r.RetryMax = v.(time.Duration) }},
		{bound{"shutdown grace", MaxWait, MaxWait + time.Nanosecond, "1ns to 168h0m0s"}, func(r *Runner, v any) { r.ShutdownGrace = v.(time.Duration) }},
		{bound{"max lost", MaxRetriesLimit, MaxRetriesLimit + 1, "0 to 10000"}, func(r *Runner, v any) { r.MaxLost = v.(int) }},
		{bound{"max lost", 1, -1, "0 to 10000"}, func(r *Runner, v any) { r.MaxLost = v.(int) }},
		{bound{"concurrency", MaxClaimLimit, MaxClaimLimit + 1, "0 to 10000"}, func(r *Runner, v any) { r.Concurrency = v.(int) }},
		{bound{"concurrency", 1, math.MinInt, "0 to 10000"}, func(r *Runner, v any) { r.Concurrency = v.(int) }},
	}
	for _, b := range runnerBounds {
		for _, v := range []any{b.in, b.out} {
			r := NewRunner(&Scheduler{}, "r")
			r.RegisterHandler("job", nil)
			b.set(r, v)
			_, _, err := r.config()
			checkBound(t, fmt.Sprintf("runner %s=%v", b.field, v), b.bound, v, err)
		}
	}
}

// checkBound checks the outcome err of value v of bound b: nil just inside
// the limit, else ErrInvalidArgument naming the field and the limit.
func checkBound(t *testing.T, name string, b bound, v any, err error) {
	t.Helper()
	if v == b.in {
		if err != nil {
			t.Errorf("%s (at the limit): %v", name, err)
		}
		return
	}
	if !errors.Is(err, ErrInvalidArgument) {
		t.Errorf("%s (past the limit): %v, want ErrInvalidArgument", name, err)
		return
	}
	if !strings.Contains(err.Error(), b.field) || !strings.Contains(err.Error(), b.limit) {
		t.Errorf("%s: %q, want the value (%q) and the limit (%q) named", name, err, b.field, b.limit)
	}
}
