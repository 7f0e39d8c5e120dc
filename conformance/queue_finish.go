package conformance

import (
	"context"
	"fmt"
	"sync"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"github.com/kvsuite/kv/kvcore"
	"github.com/kvsuite/kv/kvtask"
	taskdriver "github.com/kvsuite/kv/kvtask/driver"
)

// addClaimed adds n tasks named name and claims them for runner with lease.
func addClaimed(t *testing.T, e taskEnv, name, runner string, n int, lease time.Duration) []kvtask.Task {
	t.Helper()
	ctx := context.Background()
	for i := 0; i < n; i++ {
		task := kvtask.NewTask(name, nil)
		task.MaxRetries = 3
		require.NoError(t, e.s.New(ctx, task))
	}
	ts, err := e.s.Claim(ctx, runner, lease, n, name)
	require.NoError(t, err)
	require.Len(t, ts, n)
	return ts
}

// completionOf is the completion of claimed task c by runner.
func completionOf(c kvtask.Task, runner string, o taskdriver.Outcome) taskdriver.Completion {
	return taskdriver.Completion{ID: c.ID, Runner: runner, Token: c.Token, Outcome: o}
}

// testTaskFinishMany: one call records different outcomes, each fenced on
// its own: a stale or finished item is ErrLost and the others are stored.
func testTaskFinishMany(t *testing.T, f BackendFactory) {
	ctx := context.Background()
	e := newTaskEnv(t, f)
	b := e.q

	// A task whose first runner stalled: r1's token is stale.
	stale := addClaimed(t, e, "stale", "r1", 1, time.Second)[0]
	e.clock.Advance(2 * time.Second)
	retaken := addClaimed(t, e, "stale", "r2", 1, time.Hour)
	require.Equal(t, stale.ID, retaken[0].ID)
	// A task already finished.
	done := addClaimed(t, e, "done", "r1", 1, time.Hour)[0]
	require.NoError(t, e.s.Finish(ctx, done, "r1", kvtask.Outcome{Status: kvtask.StatusCompleted}))

	ts := addClaimed(t, e, "mixed", "r1", 5, time.Hour)
	e.clock.Advance(time.Second)
	now := e.clock.Now()
	retryAt := now.Add(30 * time.Second)
	cs := []taskdriver.Completion{
		completionOf(ts[0], "r1", taskdriver.Outcome{Status: kvtask.StatusCompleted}),
		completionOf(stale, "r1", taskdriver.Outcome{Status: kvtask.StatusCompleted}),
		completionOf(ts[1], "r1", taskdriver.Outcome{Status: kvtask.StatusFailed, LastError: "final"}),
		completionOf(ts[2], "r1", taskdriver.Outcome{Status: kvtask.StatusPending, LastError: "boom", RetryAt: retryAt}),
		completionOf(done, "r1", taskdriver.Outcome{Status: kvtask.StatusFailed}),
		completionOf(ts[3], "r1", taskdriver.Outcome{Status: kvtask.StatusPending, RetryAt: now, LastError: "shut down", GiveBack: true}),
		completionOf(ts[4], "other-runner", taskdriver.Outcome{Status: kvtask.StatusCompleted}),
	}
	errs, err := b.FinishMany(ctx, cs, now)
	require.NoError(t, err)
	require.Len(t, errs, len(cs))
	for i, want := range []bool{true, false, true, true, false, true, false} {
		if want {
			require.NoError(t, errs[i], "item %d", i)
		} else {
			require.ErrorIs(t, errs[i], kvtask.ErrLost, "item %d", i)
		}
	}

	got := mustTask(t, e.s, ts[0].ID)
	require.Equal(t, kvtask.StatusCompleted, got.Status)
	require.True(t, got.Completed.Equal(now))
	require.Empty(t, got.LockedBy)
	require.Nil(t, got.LockedUntil)
	got = mustTask(t, e.s, ts[1].ID)
	require.Equal(t, kvtask.StatusFailed, got.Status)
	require.Equal(t, "final", got.LastError)
	require.True(t, got.Completed.Equal(now))
	got = mustTask(t, e.s, ts[2].ID)
	require.Equal(t, kvtask.StatusPending, got.Status)
	require.Equal(t, "boom", got.LastError)
	require.True(t, got.ScheduledFor.Equal(retryAt))
	require.Nil(t, got.Completed)
	require.Equal(t, 1, got.Attempts)
	got = mustTask(t, e.s, ts[3].ID)
	require.Equal(t, kvtask.StatusPending, got.Status)
	require.Equal(t, 0, got.Attempts, "the attempt was given back")
	got = mustTask(t, e.s, ts[4].ID)
	require.Equal(t, kvtask.StatusRunning, got.Status, "another runner's outcome is refused")
	require.Equal(t, "r1", got.LockedBy)
	got = mustTask(t, e.s, stale.ID)
	require.Equal(t, kvtask.StatusRunning, got.Status, "a stale token is refused")
	require.Equal(t, "r2", got.LockedBy)
	got = mustTask(t, e.s, done.ID)
	require.Equal(t, kvtask.StatusCompleted, got.Status, "a terminal task never changes")

	// Recorded attempts are no longer held: a second call is all ErrLost.
	errs, err = b.FinishMany(ctx, cs[:1], now)
	require.NoError(t, err)
	require.ErrorIs(t, errs[0], kvtask.ErrLost)
	_, err = e.s.Heartbeat(ctx, ts[0], "r1", time.Minute)
	require.ErrorIs(t, err, kvtask.ErrLost)

	// The retry is claimable at its time, not before; the given-back task now.
	ready, err := e.s.Claim(ctx, "r3", time.Minute, 10, "mixed")
	require.NoError(t, err)
	require.Len(t, ready, 1)
	require.Equal(t, ts[3].ID, ready[0].ID)
	require.Equal(t, 1, ready[0].Attempts)
	e.clock.Advance(30 * time.Second)
	ready, err = e.s.Claim(ctx, "r3", time.Minute, 10, "mixed")
	require.NoError(t, err)
	require.Len(t, ready, 1)
	require.Equal(t, ts[2].ID, ready[0].ID)
	require.Equal(t, 2, ready[0].Attempts)
}

// testTaskFinishManyBadInput: an invalid outcome or a task given twice
// fails the whole call and records nothing; an empty call does nothing.
func testTaskFinishManyBadInput(t *testing.T, f BackendFactory) {
	ctx := context.Background()
	e := newTaskEnv(t, f)
	b := e.q
	ts := addClaimed(t, e, "job", "r", 2, time.Hour)
	ok := completionOf(ts[0], "r", taskdriver.Outcome{Status: kvtask.StatusCompleted})
	for name, cs := range map[string][]taskdriver.Completion{
		"running status": {ok, completionOf(ts[1], "r", taskdriver.Outcome{Status: kvtask.StatusRunning})},
		"unknown status": {ok, completionOf(ts[1], "r", taskdriver.Outcome{Status: "done"})},
		"terminal give-back": {ok, completionOf(ts[1], "r",
			taskdriver.Outcome{Status: kvtask.StatusFailed, GiveBack: true})},
		"task twice": {ok, completionOf(ts[1], "r", taskdriver.Outcome{Status: kvtask.StatusFailed}),
			completionOf(ts[0], "r", taskdriver.Outcome{Status: kvtask.StatusFailed})},
	} {
		errs, err := b.FinishMany(ctx, cs, e.clock.Now())
		require.ErrorIs(t, err, kvcore.ErrInvalidArgument, name)
		require.Nil(t, errs, name)
		for _, task := range ts {
			require.Equal(t, kvtask.StatusRunning, mustTask(t, e.s, task.ID).Status, "%s changed nothing", name)
		}
	}
	errs, err := b.FinishMany(ctx, nil, e.clock.Now())
	require.NoError(t, err)
	require.Empty(t, errs)
}

// testTaskFinishManyRaces: outcomes recorded in batches race with Cancel
// and with a stalled runner's batch for the same tasks. A completion wins
// over a cancellation that came too late; a retry racing a cancellation
// is never run again (its next claim carries CancelRequested, or it was
// cancelled while pending); the stalled runner's items are all ErrLost and
// the two overlapping batches do not deadlock.
func testTaskFinishManyRaces(t *testing.T, f BackendFactory) {
	ctx := context.Background()
	e := newTaskEnv(t, f)
	b := e.q
	const n = 24
	run := func(fns ...func() error) {
		var wg sync.WaitGroup
		errs := make([]error, len(fns))
		for i, fn := range fns {
			wg.Go(func() { errs[i] = fn() })
		}
		wg.Wait()
		for _, err := range errs {
			require.NoError(t, err)
		}
	}
	finishAll := func(ts []kvtask.Task, runner string, o taskdriver.Outcome, wantLost bool) func() error {
		return func() error {
			cs := make([]taskdriver.Completion, len(ts))
			for i, task := range ts {
				cs[i] = completionOf(task, runner, o)
			}
			errs, err := b.FinishMany(ctx, cs, e.clock.Now())
			if err != nil {
				return err
			}
			for i, err := range errs {
				if lost := err != nil; lost != wantLost {
					return fmt.Errorf("%s item %d (task %s): %v", runner, i, cs[i].ID, err)
				}
			}
			return nil
		}
	}
	cancelAll := func(ts []kvtask.Task) func() error {
		return func() error {
			for _, task := range ts {
				if _, err := e.s.Cancel(ctx, task.ID); err != nil {
					return err
				}
			}
			return nil
		}
	}

	// Completions racing with Cancel: all completed.
	ts := addClaimed(t, e, "complete", "r", n, time.Hour)
	run(finishAll(ts, "r", taskdriver.Outcome{Status: kvtask.StatusCompleted}, false), cancelAll(ts))
	for _, task := range ts {
		require.Equal(t, kvtask.StatusCompleted, mustTask(t, e.s, task.ID).Status)
	}

	// Retries racing with Cancel: each ends cancelled, none runs again.
	ts = addClaimed(t, e, "retry", "r", n, time.Hour)
	run(finishAll(ts, "r", taskdriver.Outcome{Status: kvtask.StatusPending, RetryAt: e.clock.Now(), LastError: "again"}, false), cancelAll(ts))
	again, err := e.s.Claim(ctx, "r", time.Hour, 2*n, "retry")
	require.NoError(t, err)
	for _, task := range again {
		require.True(t, task.CancelRequested, "task %s was claimed again without its cancellation", task.ID)
		require.NoError(t, e.s.Finish(ctx, task, "r", kvtask.Outcome{Status: kvtask.StatusCancelled}))
	}
	for _, task := range ts {
		require.Equal(t, kvtask.StatusCancelled, mustTask(t, e.s, task.ID).Status)
	}

	// A stalled runner's batch against the new holder's, in opposite orders.
	old := addClaimed(t, e, "overlap", "stalled", n, time.Second)
	e.clock.Advance(2 * time.Second)
	cur, err := e.s.Claim(ctx, "holder", time.Hour, n, "overlap")
	require.NoError(t, err)
	require.Len(t, cur, n)
	reversed := make([]kvtask.Task, n)
	for i, task := range old {
		reversed[n-1-i] = task
	}
	run(finishAll(reversed, "stalled", taskdriver.Outcome{Status: kvtask.StatusFailed}, true),
		finishAll(cur, "holder", taskdriver.Outcome{Status: kvtask.StatusCompleted}, false))
	for _, task := range cur {
		got := mustTask(t, e.s, task.ID)
		require.Equal(t, kvtask.StatusCompleted, got.Status)
		require.Equal(t, 2, got.Attempts)
	}
}
