package conformance

import (
	"context"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"github.com/kvsuite/kv/kvtask"
)

// testTaskLimits: a task (and a schedule's template) with every bounded
// field at its extreme is stored and read back exactly: the largest
// retries and timeout, the highest and lowest priorities, the earliest and
// latest scheduled times; it is claimed (or not) by its time, and claims
// and heartbeats take the longest lease. One step outside each bound is
// refused and stores nothing.
func testTaskLimits(t *testing.T, f BackendFactory) {
	ctx := context.Background()
	e := newTaskEnv(t, f)
	latest := kvtask.NewScheduledTask("job", nil, kvtask.LatestTime)
	latest.MaxRetries = kvtask.MaxRetriesLimit
	latest.TimeoutSeconds = int(kvtask.MaxTimeout / time.Second)
	latest.Priority = kvtask.MaxPriority
	earliest := kvtask.NewScheduledTask("job", nil, kvtask.EarliestTime.Add(time.Microsecond))
	earliest.Priority = kvtask.MinPriority
	earliest.AtMostOnce = true
	for _, task := range []kvtask.Task{latest, earliest} {
		require.NoError(t, e.s.New(ctx, task))
		got := mustTask(t, e.s, task.ID)
		require.Equal(t,
			[]any{task.ScheduledFor.UTC(), task.MaxRetries, task.TimeoutSeconds, task.Priority, task.AtMostOnce},
			[]any{got.ScheduledFor, got.MaxRetries, got.TimeoutSeconds, got.Priority, got.AtMostOnce}, "task %s", task.ID)
	}
	all, err := e.s.List(ctx, "", "", 0, 0)
	require.NoError(t, err)
	require.Len(t, all, 2)

	ts, err := e.s.Claim(ctx, "r", kvtask.MaxLease, kvtask.MaxClaimLimit)
	require.NoError(t, err)
	require.Len(t, ts, 1, "the task of year 9999 is not due")
	require.Equal(t, earliest.ID, ts[0].ID)
	require.True(t, ts[0].LockedUntil.Equal(e.clock.Now().Add(kvtask.MaxLease)))
	_, err = e.s.Heartbeat(ctx, ts[0], "r", kvtask.MaxLease)
	require.NoError(t, err)

	tmpl := latest
	require.NoError(t, e.s.Schedule(ctx, "extremes", "@hourly", tmpl))
	ss, err := e.s.Schedules(ctx)
	require.NoError(t, err)
	require.Len(t, ss, 1)
	got := ss[0].Template
	require.Equal(t, []int{tmpl.MaxRetries, tmpl.TimeoutSeconds, tmpl.Priority}, []int{got.MaxRetries, got.TimeoutSeconds, got.Priority})

	for name, bad := range map[string]func(*kvtask.Task){
		"retries":  func(t *kvtask.Task) { t.MaxRetries = kvtask.MaxRetriesLimit + 1 },
		"timeout":  func(t *kvtask.Task) { t.TimeoutSeconds = int(kvtask.MaxTimeout/time.Second) + 1 },
		"priority": func(t *kvtask.Task) { t.Priority = kvtask.MaxPriority + 1 },
		"late":     func(t *kvtask.Task) { t.ScheduledFor = kvtask.LatestTime.Add(time.Microsecond) },
		"early":    func(t *kvtask.Task) { t.ScheduledFor = kvtask.EarliestTime },
	} {
		task := kvtask.NewTask("job", nil)
		bad(&task)
		require.ErrorIs(t, e.s.New(ctx, task), kvtask.ErrInvalidArgument, name)
		require.ErrorIs(t, e.s.Schedule(ctx, "bad-"+name, "@hourly", task), kvtask.ErrInvalidArgument, name)
	}
	_, err = e.s.Claim(ctx, "r", kvtask.MaxLease+time.Nanosecond, 1)
	require.ErrorIs(t, err, kvtask.ErrInvalidArgument)
	_, err = e.s.Claim(ctx, "r", time.Minute, kvtask.MaxClaimLimit+1)
	require.ErrorIs(t, err, kvtask.ErrInvalidArgument)
	all, err = e.s.List(ctx, "", "", 0, 0)
	require.NoError(t, err)
	require.Len(t, all, 2, "refused tasks stored nothing")
	ss, err = e.s.Schedules(ctx)
	require.NoError(t, err)
	require.Len(t, ss, 1, "refused schedules stored nothing")
}
