package conformance

import (
	"context"
	"encoding/json"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"github.com/kvsuite/kv/kvtask"
	taskdriver "github.com/kvsuite/kv/kvtask/driver"
)

// testTaskCounts: the backend counts tasks by name and status (it
// implements taskdriver.Counter), and the counts agree with what List
// returns, through every status.
func testTaskCounts(t *testing.T, f BackendFactory) {
	ctx := context.Background()
	e := newTaskEnv(t, f)
	_, ok := e.q.(taskdriver.Counter)
	require.True(t, ok, "the backend implements taskdriver.Counter")
	counts, err := e.s.Counts(ctx)
	require.NoError(t, err)
	require.Empty(t, counts)

	for i := range 7 {
		require.NoError(t, e.s.New(ctx, kvtask.NewTask([]string{"mail", "report"}[i%2], nil)))
	}
	require.NoError(t, e.s.New(ctx, kvtask.NewTask("odd 'name\"", nil)))
	claimed, err := e.s.Claim(ctx, "r", time.Minute, 4, "mail")
	require.NoError(t, err)
	require.Len(t, claimed, 4)
	require.NoError(t, e.s.Finish(ctx, claimed[0], "r", kvtask.Outcome{Status: kvtask.StatusCompleted}))
	require.NoError(t, e.s.Finish(ctx, claimed[1], "r", kvtask.Outcome{Status: kvtask.StatusFailed, LastError: "x"}))
	_, err = e.s.Cancel(ctx, claimed[2].ID)
	require.NoError(t, err)
	reports, err := e.s.List(ctx, kvtask.StatusPending, "report", 0, 1)
	require.NoError(t, err)
	_, err = e.s.Cancel(ctx, reports[0].ID)
	require.NoError(t, err)

	counts, err = e.s.Counts(ctx)
	require.NoError(t, err)
	want := []kvtask.Count{}
	for _, name := range []string{"mail", "odd 'name\"", "report"} {
		for _, st := range kvtask.Statuses() {
			ts, err := e.s.List(ctx, st, name, 0, 0)
			require.NoError(t, err)
			if len(ts) > 0 {
				want = append(want, kvtask.Count{Name: name, Status: st, Tasks: len(ts)})
			}
		}
	}
	require.Equal(t, want, counts)
	require.Equal(t, []kvtask.Count{
		{Name: "mail", Status: kvtask.StatusRunning, Tasks: 2}, // one with its cancellation requested
		{Name: "mail", Status: kvtask.StatusCompleted, Tasks: 1},
		{Name: "mail", Status: kvtask.StatusFailed, Tasks: 1},
		{Name: "odd 'name\"", Status: kvtask.StatusPending, Tasks: 1},
		{Name: "report", Status: kvtask.StatusPending, Tasks: 2},
		{Name: "report", Status: kvtask.StatusCancelled, Tasks: 1},
	}, counts)
}

// testTaskRetry: Retry adds a fresh pending copy of a failed task that a
// runner then claims, and leaves the failed task as it ended.
func testTaskRetry(t *testing.T, f BackendFactory) {
	ctx := context.Background()
	e := newTaskEnv(t, f)
	task := kvtask.NewTask("mail", json.RawMessage(`{"to":"ann"}`))
	task.Priority, task.MaxRetries, task.TimeoutSeconds, task.UniqueKey = 4, 1, 30, "welcome/ann"
	require.NoError(t, e.s.New(ctx, task))
	for range 2 {
		ts, err := e.s.Claim(ctx, "r", time.Minute, 1)
		require.NoError(t, err)
		require.Len(t, ts, 1)
		require.NoError(t, e.s.Finish(ctx, ts[0], "r", kvtask.FailureOutcome(ts[0], "boom", e.s.Now(), time.Millisecond, time.Millisecond, 0)))
		e.clock.Advance(time.Second)
	}
	failed := mustTask(t, e.s, task.ID)
	require.Equal(t, kvtask.StatusFailed, failed.Status)

	again, added, err := e.s.Retry(ctx, task.ID)
	require.NoError(t, err)
	require.True(t, added)
	require.NotEqual(t, task.ID, again.ID)
	stored := mustTask(t, e.s, again.ID)
	require.Equal(t, kvtask.StatusPending, stored.Status)
	require.JSONEq(t, `{"to":"ann"}`, string(stored.Payload))
	require.Equal(t, []any{4, 1, 30, "welcome/ann", 0, ""}, []any{stored.Priority, stored.MaxRetries, stored.TimeoutSeconds, stored.UniqueKey, stored.Attempts, stored.LastError})
	require.Equal(t, failed, mustTask(t, e.s, task.ID), "the failed task is left as it ended")

	// The copy holds the unique key: a second retry adds nothing.
	dup, added, err := e.s.Retry(ctx, task.ID)
	require.NoError(t, err)
	require.False(t, added)
	require.Equal(t, again.ID, dup.ID)

	ts, err := e.s.Claim(ctx, "r", time.Minute, 1)
	require.NoError(t, err)
	require.Len(t, ts, 1)
	require.Equal(t, again.ID, ts[0].ID)
	_, _, err = e.s.Retry(ctx, again.ID)
	require.ErrorIs(t, err, kvtask.ErrInvalidArgument, "a running task is not retried")
}
