package conformance

import (
	"context"
	"encoding/json"
	"fmt"
	"maps"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"github.com/kvsuite/kv/kvtask"
	taskdriver "github.com/kvsuite/kv/kvtask/driver"
)

// loseAttempt claims the task id for a runner that then dies: the claim's
// lease (a second) expires without an outcome.
func loseAttempt(t *testing.T, e taskEnv, id string) {
	t.Helper()
	ts, err := e.s.Claim(context.Background(), "dead", time.Second, 1)
	require.NoError(t, err)
	require.Len(t, ts, 1)
	require.Equal(t, id, ts[0].ID)
	e.clock.Advance(2 * time.Second)
}

// runCounting runs a runner on e's clock until it is idle, with a handler
// for "job" that counts its runs and succeeds; maxLost is the runner's
// MaxLost (0: the default). It returns the runs of each task.
func runCounting(t *testing.T, e taskEnv, maxLost int) map[string]int {
	t.Helper()
	var mu sync.Mutex
	runs := map[string]int{}
	r := quietRunner(e.s, "live")
	r.MaxLost = maxLost
	r.RegisterHandler("job", func(ctx context.Context, task kvtask.Task) error {
		mu.Lock()
		defer mu.Unlock()
		runs[task.ID]++
		return nil
	})
	require.NoError(t, r.RunUntilIdle(context.Background()))
	mu.Lock()
	defer mu.Unlock()
	return maps.Clone(runs)
}

// requireEnded checks that task id ended with status and lastError after
// attempts attempts, lost of them lost.
func requireEnded(t *testing.T, e taskEnv, id string, status kvtask.Status, lastError string, attempts, lost int) {
	t.Helper()
	got := mustTask(t, e.s, id)
	require.Equal(t, []any{status, lastError, attempts, lost}, []any{got.Status, got.LastError, got.Attempts, got.Lost},
		"task %s: status, last error, attempts, lost attempts", id)
	require.NotNil(t, got.Completed, "task %s has its completion time", id)
}

// testTaskClaimCountsLost: a claim that takes a task over from an expired
// lease counts the lost attempt (Lost + 1, with Attempts + 1); a claim of
// a pending task, a heartbeat and a give-back do not change Lost.
func testTaskClaimCountsLost(t *testing.T, f BackendFactory) {
	ctx := context.Background()
	e := newTaskEnv(t, f)
	a, b := kvtask.NewTask("job", nil), kvtask.NewTask("job", nil)
	a.Priority = 1 // claimed first
	require.NoError(t, e.s.New(ctx, a))
	require.NoError(t, e.s.New(ctx, b))
	got := mustTask(t, e.s, a.ID)
	require.Equal(t, []int{0, 0}, []int{got.Attempts, got.Lost}, "a new task")

	first, err := e.s.Claim(ctx, "r1", time.Second, 1)
	require.NoError(t, err)
	require.Len(t, first, 1)
	require.Equal(t, a.ID, first[0].ID)
	require.Equal(t, []int{1, 0}, []int{first[0].Attempts, first[0].Lost}, "a pending task claimed: no attempt lost")

	// r1 dies. One claim takes a over from its expired lease and b from pending.
	e.clock.Advance(2 * time.Second)
	both, err := e.s.Claim(ctx, "r2", time.Minute, 2)
	require.NoError(t, err)
	require.Len(t, both, 2)
	require.Equal(t, a.ID, both[0].ID)
	require.Equal(t, []int{2, 1}, []int{both[0].Attempts, both[0].Lost}, "taken over from an expired lease: one attempt lost")
	require.Equal(t, []int{1, 0}, []int{both[1].Attempts, both[1].Lost}, "claimed from pending in the same claim")
	stored := mustTask(t, e.s, a.ID)
	require.Equal(t, []int{2, 1}, []int{stored.Attempts, stored.Lost}, "as stored")

	// A heartbeat keeps a's lease: the next claim takes only b, whose
	// lease expired.
	e.clock.Advance(50 * time.Second)
	_, err = e.s.Heartbeat(ctx, both[0], "r2", time.Minute)
	require.NoError(t, err)
	e.clock.Advance(30 * time.Second)
	onlyB, err := e.s.Claim(ctx, "r3", time.Minute, 2, "job")
	require.NoError(t, err)
	require.Len(t, onlyB, 1)
	require.Equal(t, b.ID, onlyB[0].ID, "a's lease was extended; b's expired")
	require.Equal(t, []int{2, 1}, []int{onlyB[0].Attempts, onlyB[0].Lost})
	stored = mustTask(t, e.s, a.ID)
	require.Equal(t, []int{2, 1}, []int{stored.Attempts, stored.Lost}, "a heartbeat loses nothing")

	// A give-back returns the attempt unused and keeps Lost.
	require.NoError(t, e.s.Finish(ctx, both[0], "r2", kvtask.Outcome{Status: kvtask.StatusPending, GiveBack: true}))
	stored = mustTask(t, e.s, a.ID)
	require.Equal(t, []int{1, 1}, []int{stored.Attempts, stored.Lost}, "after a give-back")
	again, err := e.s.Claim(ctx, "r3", time.Minute, 1)
	require.NoError(t, err)
	require.Len(t, again, 1)
	require.Equal(t, a.ID, again[0].ID)
	require.Equal(t, []int{2, 1}, []int{again[0].Attempts, again[0].Lost}, "claimed from pending after the give-back")
	require.NoError(t, e.s.Finish(ctx, again[0], "r3", kvtask.Outcome{Status: kvtask.StatusCompleted}))
	done := mustTask(t, e.s, a.ID)
	require.Equal(t, kvtask.StatusCompleted, done.Status)
	require.Equal(t, []int{2, 1}, []int{done.Attempts, done.Lost}, "a completion keeps the counts")
}

// testRunnerLostAttempt: a runner that dies between its claim and its
// handler costs the task nothing: with the default MaxRetries 0 the next
// runner runs it, once, and it completes; the lost attempt is counted.
func testRunnerLostAttempt(t *testing.T, f BackendFactory) {
	ctx := context.Background()
	e := newTaskEnv(t, f)
	task := kvtask.NewTask("job", json.RawMessage(`{"n":1}`))
	require.NoError(t, e.s.New(ctx, task))
	loseAttempt(t, e, task.ID)

	runs := runCounting(t, e, 0)
	require.Equal(t, map[string]int{task.ID: 1}, runs, "the handler runs exactly once")
	requireEnded(t, e, task.ID, kvtask.StatusCompleted, "", 2, 1)

	// A failed attempt after lost ones still fails a task without
	// retries: lost attempts do not stand in for failed ones either.
	failing := kvtask.NewTask("fails", nil)
	require.NoError(t, e.s.New(ctx, failing))
	loseAttempt(t, e, failing.ID)
	loseAttempt(t, e, failing.ID)
	var calls atomic.Int32
	r := quietRunner(e.s, "live")
	r.RegisterHandler("fails", func(ctx context.Context, task kvtask.Task) error {
		calls.Add(1)
		return fmt.Errorf("attempt %d failed", task.Attempts)
	})
	require.NoError(t, r.RunUntilIdle(ctx))
	require.EqualValues(t, 1, calls.Load())
	requireEnded(t, e, failing.ID, kvtask.StatusFailed, "attempt 3 failed", 3, 2)
}

// testRunnerMaxLost: a task survives MaxLost lost attempts (default 5) and
// runs; one more fails it without running, saying how often its runner
// was lost.
func testRunnerMaxLost(t *testing.T, f BackendFactory) {
	ctx := context.Background()
	for _, tc := range []struct {
		name    string
		maxLost int // the runner's setting
		limit   int // the lost attempts it allows
	}{{"default", 0, kvtask.DefaultMaxLost}, {"set", 2, 2}} {
		t.Run(tc.name, func(t *testing.T) {
			e := newTaskEnv(t, f)
			survives := kvtask.NewTask("job", nil)
			require.NoError(t, e.s.New(ctx, survives))
			for range tc.limit {
				loseAttempt(t, e, survives.ID)
			}
			runs := runCounting(t, e, tc.maxLost)
			require.Equal(t, map[string]int{survives.ID: 1}, runs, "a task lost as often as the runner allows runs")
			requireEnded(t, e, survives.ID, kvtask.StatusCompleted, "", tc.limit+1, tc.limit)

			// A task lost one time more than the runner allows.
			over := kvtask.NewTask("job", nil)
			require.NoError(t, e.s.New(ctx, over))
			for range tc.limit + 1 {
				loseAttempt(t, e, over.ID)
			}
			runs = runCounting(t, e, tc.maxLost)
			require.Empty(t, runs, "the handler of a task lost too often does not run")
			requireEnded(t, e, over.ID, kvtask.StatusFailed,
				fmt.Sprintf("the runner was lost %d times (at most %d lost attempts)", tc.limit+1, tc.limit), tc.limit+2, tc.limit+1)
		})
	}
}

// testRunnerAtMostOnce: an at-most-once task is stored as such (also in a
// schedule's template) and runs once; after a lost attempt it fails
// without running again; a give-back is not a lost attempt; and it cannot
// have retries.
func testRunnerAtMostOnce(t *testing.T, f BackendFactory) {
	ctx := context.Background()
	e := newTaskEnv(t, f)
	once := kvtask.NewTask("job", nil)
	once.AtMostOnce = true
	require.NoError(t, e.s.New(ctx, once))
	require.True(t, mustTask(t, e.s, once.ID).AtMostOnce, "stored")
	bad := kvtask.NewTask("job", nil)
	bad.AtMostOnce, bad.MaxRetries = true, 1
	_, _, err := e.s.Enqueue(ctx, bad)
	require.ErrorIs(t, err, kvtask.ErrInvalidArgument)
	require.ErrorContains(t, err, "at-most-once")
	require.NoError(t, e.s.Schedule(ctx, "once", "@hourly", once))
	ss, err := e.s.Schedules(ctx)
	require.NoError(t, err)
	require.Len(t, ss, 1)
	require.True(t, ss[0].Template.AtMostOnce, "a schedule's template keeps AtMostOnce")
	_, err = e.s.Unschedule(ctx, "once")
	require.NoError(t, err)

	// Given back by a runner that stops: not lost, it runs.
	ts, err := e.s.Claim(ctx, "stopping", time.Minute, 1)
	require.NoError(t, err)
	require.Len(t, ts, 1)
	require.NoError(t, e.s.Finish(ctx, ts[0], "stopping", kvtask.Outcome{Status: kvtask.StatusPending, GiveBack: true}))
	runs := runCounting(t, e, 0)
	require.Equal(t, map[string]int{once.ID: 1}, runs)
	requireEnded(t, e, once.ID, kvtask.StatusCompleted, "", 1, 0)

	// Lost: it fails without running again.
	lost := kvtask.NewTask("job", nil)
	lost.AtMostOnce = true
	require.NoError(t, e.s.New(ctx, lost))
	loseAttempt(t, e, lost.ID)
	runs = runCounting(t, e, 0)
	require.Empty(t, runs, "an at-most-once task is not run after a lost attempt")
	requireEnded(t, e, lost.ID, kvtask.StatusFailed, "runner lost during its only attempt; at-most-once", 2, 1)
}

// testTaskReleaseRetries: Release with status failed follows the retry
// rule: while the task has retries left it is pending again after the
// backoff (lost attempts use none), and only its last attempt fails it.
func testTaskReleaseRetries(t *testing.T, f BackendFactory) {
	ctx := context.Background()
	e := newTaskEnv(t, f)
	task := kvtask.NewTask("job", nil)
	task.MaxRetries = 2
	require.NoError(t, e.s.New(ctx, task))
	loseAttempt(t, e, task.ID) // uses no retry

	for failed := 1; failed <= 3; failed++ {
		ts, err := e.s.Claim(ctx, "r", time.Minute, 1)
		require.NoError(t, err)
		require.Len(t, ts, 1, "failed attempt %d", failed)
		now := e.clock.Now()
		msg := fmt.Sprintf("failure %d", failed)
		require.NoError(t, e.s.Release(ctx, task.ID, "r", kvtask.StatusFailed, msg))
		got := mustTask(t, e.s, task.ID)
		require.Equal(t, msg, got.LastError)
		require.Equal(t, failed+1, got.Attempts)
		require.Equal(t, 1, got.Lost)
		if failed == 3 {
			require.Equal(t, kvtask.StatusFailed, got.Status, "the last attempt fails the task")
			require.NotNil(t, got.Completed)
			break
		}
		require.Equal(t, kvtask.StatusPending, got.Status, "failed attempt %d of 3 is retried", failed)
		// The backoff before retry n: DefaultRetryBase * 2^(n-1), scaled by [0.5, 1].
		full := kvtask.DefaultRetryBase << (failed - 1)
		wait := got.ScheduledFor.Sub(now)
		require.True(t, wait >= full/2 && wait <= full, "retry %d after %v, want %v to %v", failed, wait, full/2, full)
		none, err := e.s.Claim(ctx, "r", time.Minute, 1)
		require.NoError(t, err)
		require.Empty(t, none, "not claimable before its backoff")
		e.clock.Advance(wait)
	}

	// Completed and cancelled end the task at once.
	for _, st := range []kvtask.Status{kvtask.StatusCompleted, kvtask.StatusCancelled} {
		other := kvtask.NewTask("job", nil)
		other.MaxRetries = 5
		require.NoError(t, e.s.New(ctx, other))
		_, err := e.s.Claim(ctx, "r", time.Minute, 1)
		require.NoError(t, err)
		require.NoError(t, e.s.Release(ctx, other.ID, "r", st, ""))
		require.Equal(t, st, mustTask(t, e.s, other.ID).Status)
	}
	err := e.s.Release(ctx, "missing", "r", kvtask.StatusFailed, "x")
	require.ErrorIs(t, err, kvtask.ErrNotFound)
	require.ErrorIs(t, err, kvtask.ErrTaskNotFound)
	require.ErrorContains(t, err, "task not found")
	require.ErrorIs(t, e.s.Release(ctx, task.ID, "r", kvtask.StatusFailed, "x"), kvtask.ErrLost, "a terminal task")
}

// CheckTaskMigrated checks, for a backend's migration test, a task stored
// before the backend's schema counted lost attempts: id is a running task
// with one attempt whose lease ended at expired. After migrating, it reads
// back with no lost attempt and not at-most-once, and a claim after its
// lease takes it over and counts the lost attempt.
func CheckTaskMigrated(t *testing.T, q taskdriver.Queue, id string, expired time.Time) {
	t.Helper()
	ctx := context.Background()
	got, ok, err := q.Get(ctx, id)
	require.NoError(t, err)
	require.True(t, ok, "task %s after migrating", id)
	require.Equal(t, []any{1, 0, false}, []any{got.Attempts, got.Lost, got.AtMostOnce}, "attempts, lost, at most once after migrating")
	ts, err := q.Claim(ctx, taskdriver.Claim{Runner: "live", Now: expired.Add(time.Second), Lease: time.Minute, Limit: 1})
	require.NoError(t, err)
	require.Len(t, ts, 1)
	require.Equal(t, id, ts[0].ID)
	require.Equal(t, []int{2, 1}, []int{ts[0].Attempts, ts[0].Lost}, "claimed from an expired lease")
}
