package conformance

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"github.com/kvsuite/kv/kvcore"
	"github.com/kvsuite/kv/kvtask"
	taskdriver "github.com/kvsuite/kv/kvtask/driver"
)

type taskEnv struct {
	s     *kvtask.Scheduler
	clock *Clock
	q     taskdriver.Queue
}

func newTaskEnv(t *testing.T, f BackendFactory) taskEnv {
	t.Helper()
	b := f(t)
	require.NotNil(t, b.Queue, "the backend has no Queue")
	clock := NewClock(time.Time{})
	s, err := kvtask.New(b.Queue, kvtask.WithClock(clock.Now))
	require.NoError(t, err)
	return taskEnv{s: s, clock: clock, q: b.Queue}
}

// RunQueue runs the kvtask suite: adding (one at a time and in atomic
// batches), listing and cancelling tasks, atomic claims in priority order
// (and, over random queues, exactly the tasks a model computes; List agrees
// with the model),
// leases that expire and are reclaimed (counting the lost attempt), fenced
// heartbeats and outcomes (one at a time and in batches), retries (lost
// attempts use none; Release follows the same rule), at-most-once tasks,
// the bounds of every count and time (the extremes round-trip), unique
// keys, cron schedules that fire once per tick, runners that complete
// every task exactly once and run a task whose runner was lost again, and
// (with driver.Notifier) signals that wake idle runners, counts by name and
// status that agree with List (driver.Counter), and retries of failed tasks.
func RunQueue(t *testing.T, h Harness) {
	f := h.New
	t.Run("NewGetList", func(t *testing.T) { testTaskNewGetList(t, f) })
	t.Run("BadInput", func(t *testing.T) { testTaskBadInput(t, f) })
	t.Run("Unique", func(t *testing.T) { testTaskUnique(t, f) })
	t.Run("InsertMany", func(t *testing.T) { testTaskInsertMany(t, f) })
	t.Run("InsertManyUnique", func(t *testing.T) { testTaskInsertManyUnique(t, f) })
	t.Run("InsertManyAtomic", func(t *testing.T) { testTaskInsertManyAtomic(t, f) })
	t.Run("Restore", func(t *testing.T) { testTaskRestore(t, f) })
	t.Run("ClaimOrder", func(t *testing.T) { testTaskClaimOrder(t, f) })
	t.Run("ClaimMatchesModel", func(t *testing.T) { testTaskClaimModel(t, f) })
	t.Run("ClaimExclusive", func(t *testing.T) { testTaskClaimExclusive(t, f) })
	t.Run("Reclaim", func(t *testing.T) { testTaskReclaim(t, f) })
	t.Run("ClaimCountsLost", func(t *testing.T) { testTaskClaimCountsLost(t, f) })
	t.Run("ReleaseRetries", func(t *testing.T) { testTaskReleaseRetries(t, f) })
	t.Run("Limits", func(t *testing.T) { testTaskLimits(t, f) })
	t.Run("Outcomes", func(t *testing.T) { testTaskOutcomes(t, f) })
	t.Run("FinishMany", func(t *testing.T) { testTaskFinishMany(t, f) })
	t.Run("FinishManyBadInput", func(t *testing.T) { testTaskFinishManyBadInput(t, f) })
	t.Run("FinishManyRaces", func(t *testing.T) { testTaskFinishManyRaces(t, f) })
	t.Run("Cancel", func(t *testing.T) { testTaskCancel(t, f) })
	t.Run("Counts", func(t *testing.T) { testTaskCounts(t, f) })
	t.Run("Retry", func(t *testing.T) { testTaskRetry(t, f) })
	t.Run("Cron", func(t *testing.T) { testTaskCron(t, f) })
	t.Run("CronUniqueHeld", func(t *testing.T) { testTaskCronUniqueHeld(t, f) })
	t.Run("RunnerExactlyOnce", func(t *testing.T) { testRunnerExactlyOnce(t, f) })
	t.Run("RunnerRetries", func(t *testing.T) { testRunnerRetries(t, f) })
	t.Run("RunnerTimeoutCancelPanic", func(t *testing.T) { testRunnerTimeoutCancel(t, f) })
	t.Run("RunnerLostAttempt", func(t *testing.T) { testRunnerLostAttempt(t, f) })
	t.Run("RunnerMaxLost", func(t *testing.T) { testRunnerMaxLost(t, f) })
	t.Run("RunnerAtMostOnce", func(t *testing.T) { testRunnerAtMostOnce(t, f) })
	t.Run("RunnerStopsWhileClaiming", func(t *testing.T) { testRunnerStopsWhileClaiming(t, f) })
	t.Run("Notify", func(t *testing.T) { testTaskNotify(t, f) })
	t.Run("RunnerWakes", func(t *testing.T) { testRunnerWakes(t, f) })
}

func mustTask(t *testing.T, s *kvtask.Scheduler, id string) kvtask.Task {
	t.Helper()
	task, ok, err := s.Get(context.Background(), id)
	require.NoError(t, err)
	require.True(t, ok, "task %s exists", id)
	return task
}

func testTaskNewGetList(t *testing.T, f BackendFactory) {
	ctx := context.Background()
	e := newTaskEnv(t, f)
	now := e.clock.Now()
	a := kvtask.NewTask("email", json.RawMessage(`{"to":"a@example.com","n":123456789012345678901}`))
	a.MaxRetries, a.TimeoutSeconds, a.Priority = 3, 30, 5
	require.NoError(t, e.s.New(ctx, a))
	got := mustTask(t, e.s, a.ID)
	require.Equal(t, kvtask.StatusPending, got.Status)
	require.Equal(t, `{"to":"a@example.com","n":123456789012345678901}`, string(got.Payload))
	require.Equal(t, 3, got.MaxRetries)
	require.Equal(t, 30, got.TimeoutSeconds)
	require.Equal(t, 5, got.Priority)
	require.True(t, got.Created.Equal(now))
	require.True(t, got.ScheduledFor.Equal(now), "a zero ScheduledFor means now")
	require.Nil(t, got.Started)
	_, ok, err := e.s.Get(ctx, "missing")
	require.NoError(t, err)
	require.False(t, ok)

	e.clock.Advance(time.Second)
	b := kvtask.NewScheduledTask("report", nil, now.Add(time.Hour))
	require.NoError(t, e.s.New(ctx, b))
	require.Equal(t, "null", string(mustTask(t, e.s, b.ID).Payload))
	e.clock.Advance(time.Second)
	c := kvtask.NewTask("email", json.RawMessage(`1`))
	require.NoError(t, e.s.New(ctx, c))

	ids := func(ts []kvtask.Task) []string {
		out := []string{}
		for _, t := range ts {
			out = append(out, t.ID)
		}
		return out
	}
	all, err := e.s.List(ctx, "", "", 0, 0)
	require.NoError(t, err)
	require.Equal(t, []string{a.ID, b.ID, c.ID}, ids(all), "oldest first")
	emails, err := e.s.List(ctx, kvtask.StatusPending, "email", 0, 0)
	require.NoError(t, err)
	require.Equal(t, []string{a.ID, c.ID}, ids(emails))
	page, err := e.s.List(ctx, "", "", 1, 1)
	require.NoError(t, err)
	require.Equal(t, []string{b.ID}, ids(page))
	none, err := e.s.List(ctx, kvtask.StatusCompleted, "", 0, 0)
	require.NoError(t, err)
	require.Empty(t, none)
}

func testTaskBadInput(t *testing.T, f BackendFactory) {
	ctx := context.Background()
	e := newTaskEnv(t, f)
	for _, task := range []kvtask.Task{
		{Name: ""}, {Name: "x\x00"}, {Name: "x", Payload: json.RawMessage(`{`)},
		{Name: "x", MaxRetries: -1}, {Name: "x", TimeoutSeconds: -1}, {ID: "bad\xff", Name: "x"},
	} {
		err := e.s.New(ctx, task)
		require.True(t, errors.Is(err, kvtask.ErrInvalidArgument) || errors.Is(err, kvcore.ErrInvalidValue), "%+v: %v", task, err)
	}
	_, err := e.s.List(ctx, "sleeping", "", 0, 0)
	require.ErrorIs(t, err, kvtask.ErrInvalidArgument)
	_, err = e.s.List(ctx, "", "", -1, 0)
	require.ErrorIs(t, err, kvtask.ErrInvalidArgument)
	_, err = kvtask.ParseStatus("done")
	require.ErrorIs(t, err, kvtask.ErrInvalidArgument)
	_, err = e.s.Cancel(ctx, "missing")
	require.ErrorIs(t, err, kvtask.ErrNotFound)
	_, err = e.s.Claim(ctx, "r", 0, 1)
	require.ErrorIs(t, err, kvtask.ErrInvalidArgument)
	for _, c := range []struct {
		runner string
		limit  int
		names  []string
	}{
		{"", 1, nil}, {"bad\xff", 1, nil}, {"r", 0, nil}, {"r", kvtask.MaxClaimLimit + 1, nil},
		{"r", 1, []string{""}}, {"r", 1, []string{"x", "bad\xff"}}, {"r", 1, []string{"x\x00"}},
	} {
		_, err = e.s.Claim(ctx, c.runner, time.Minute, c.limit, c.names...)
		require.ErrorIs(t, err, kvtask.ErrInvalidArgument, "%+v", c)
	}
	require.ErrorIs(t, e.s.Schedule(ctx, "s", "every now and then", kvtask.NewTask("x", nil)), kvtask.ErrInvalidArgument)
	all, err := e.s.List(ctx, "", "", 0, 0)
	require.NoError(t, err)
	require.Empty(t, all, "bad input added nothing")
	ss, err := e.s.Schedules(ctx)
	require.NoError(t, err)
	require.Empty(t, ss)
}

func testTaskUnique(t *testing.T, f BackendFactory) {
	ctx := context.Background()
	e := newTaskEnv(t, f)
	a := kvtask.NewTask("sync", nil)
	a.UniqueKey = "sync/user-1"
	require.NoError(t, e.s.New(ctx, a))
	b := kvtask.NewTask("sync", nil)
	b.UniqueKey = "sync/user-1"
	require.ErrorIs(t, e.s.New(ctx, b), kvtask.ErrDuplicate)
	got, added, err := e.s.Enqueue(ctx, b)
	require.NoError(t, err)
	require.False(t, added)
	require.Equal(t, a.ID, got.ID, "Enqueue returns the task that holds the key")

	// Still held while running; free once the task is terminal.
	ts, err := e.s.Claim(ctx, "r1", time.Minute, 10)
	require.NoError(t, err)
	require.Len(t, ts, 1)
	require.ErrorIs(t, e.s.New(ctx, b), kvtask.ErrDuplicate)
	require.NoError(t, e.s.Finish(ctx, ts[0], "r1", kvtask.Outcome{Status: kvtask.StatusCompleted}))
	require.NoError(t, e.s.New(ctx, b))
	all, err := e.s.List(ctx, "", "", 0, 0)
	require.NoError(t, err)
	require.Len(t, all, 2)
}

func testTaskClaimOrder(t *testing.T, f BackendFactory) {
	ctx := context.Background()
	e := newTaskEnv(t, f)
	now := e.clock.Now()
	add := func(name string, prio int, at time.Time) string {
		task := kvtask.NewScheduledTask(name, nil, at)
		task.Priority = prio
		require.NoError(t, e.s.New(ctx, task))
		return task.ID
	}
	low := add("a", 0, now.Add(-time.Minute))
	high := add("a", 10, now)
	older := add("a", 10, now.Add(-time.Hour))
	later := add("a", 100, now.Add(time.Hour))
	other := add("b", 50, now)

	ts, err := e.s.Claim(ctx, "r", 3*time.Hour, 10, "a")
	require.NoError(t, err)
	var got []string
	for _, task := range ts {
		got = append(got, task.ID)
		require.Equal(t, kvtask.StatusRunning, task.Status)
		require.Equal(t, "r", task.LockedBy)
		require.Equal(t, 1, task.Attempts)
		require.True(t, task.LockedUntil.Equal(now.Add(3*time.Hour)))
		require.True(t, task.Started.Equal(now))
	}
	require.Equal(t, []string{older, high, low}, got, "priority, then scheduled time; future and other names wait")

	e.clock.Advance(time.Hour)
	ts, err = e.s.Claim(ctx, "r", 2*time.Hour, 10)
	require.NoError(t, err)
	require.Len(t, ts, 2)
	require.Equal(t, later, ts[0].ID)
	require.Equal(t, other, ts[1].ID)
}

// testTaskClaimExclusive: concurrent claims never hand one task out twice.
func testTaskClaimExclusive(t *testing.T, f BackendFactory) {
	ctx := context.Background()
	e := newTaskEnv(t, f)
	const n = 120
	for i := 0; i < n; i++ {
		require.NoError(t, e.s.New(ctx, kvtask.NewTask("job", json.RawMessage(fmt.Sprint(i)))))
	}
	var mu sync.Mutex
	seen := map[string]string{}
	var wg sync.WaitGroup
	errs := make(chan error, 8)
	for w := 0; w < 8; w++ {
		wg.Add(1)
		go func() {
			defer wg.Done()
			runner := fmt.Sprintf("r%d", w)
			for {
				ts, err := e.s.Claim(ctx, runner, time.Hour, 3)
				if err != nil {
					errs <- err
					return
				}
				if len(ts) == 0 {
					return
				}
				mu.Lock()
				for _, task := range ts {
					if prev, dup := seen[task.ID]; dup {
						errs <- fmt.Errorf("task %s claimed by %s and %s", task.ID, prev, runner)
					}
					seen[task.ID] = runner
				}
				mu.Unlock()
			}
		}()
	}
	wg.Wait()
	close(errs)
	for err := range errs {
		require.NoError(t, err)
	}
	require.Len(t, seen, n)
}

func testTaskReclaim(t *testing.T, f BackendFactory) {
	ctx := context.Background()
	e := newTaskEnv(t, f)
	task := kvtask.NewTask("job", nil)
	task.MaxRetries = 5
	require.NoError(t, e.s.New(ctx, task))
	ts, err := e.s.Claim(ctx, "r1", 10*time.Second, 1)
	require.NoError(t, err)
	first := ts[0]

	// A heartbeat extends the lease.
	e.clock.Advance(8 * time.Second)
	cancel, err := e.s.Heartbeat(ctx, first, "r1", 10*time.Second)
	require.NoError(t, err)
	require.False(t, cancel)
	e.clock.Advance(8 * time.Second)
	ts, err = e.s.Claim(ctx, "r2", 10*time.Second, 1)
	require.NoError(t, err)
	require.Empty(t, ts, "the lease was extended")

	// The runner stalls: its lease expires and another runner takes over.
	e.clock.Advance(3 * time.Second)
	ts, err = e.s.Claim(ctx, "r2", 10*time.Second, 1)
	require.NoError(t, err)
	require.Len(t, ts, 1)
	second := ts[0]
	require.Equal(t, first.ID, second.ID)
	require.Equal(t, "r2", second.LockedBy)
	require.Equal(t, 2, second.Attempts)
	require.Greater(t, second.Token, first.Token)

	// The stalled runner can neither heartbeat nor record an outcome.
	_, err = e.s.Heartbeat(ctx, first, "r1", 10*time.Second)
	require.ErrorIs(t, err, kvtask.ErrLost)
	require.ErrorIs(t, e.s.Finish(ctx, first, "r1", kvtask.Outcome{Status: kvtask.StatusCompleted}), kvtask.ErrLost)
	require.Equal(t, kvtask.StatusRunning, mustTask(t, e.s, task.ID).Status)
	require.NoError(t, e.s.Finish(ctx, second, "r2", kvtask.Outcome{Status: kvtask.StatusCompleted}))
	done := mustTask(t, e.s, task.ID)
	require.Equal(t, kvtask.StatusCompleted, done.Status)
	require.True(t, done.Completed.Equal(e.clock.Now()))
	require.Empty(t, done.LockedBy)
}

func testTaskOutcomes(t *testing.T, f BackendFactory) {
	ctx := context.Background()
	e := newTaskEnv(t, f)
	task := kvtask.NewTask("job", nil)
	task.MaxRetries = 2
	require.NoError(t, e.s.New(ctx, task))
	claim := func() kvtask.Task {
		ts, err := e.s.Claim(ctx, "r", time.Minute, 1)
		require.NoError(t, err)
		require.Len(t, ts, 1)
		return ts[0]
	}

	// A retry goes back to pending, not claimable before its time.
	c1 := claim()
	require.NoError(t, e.s.Finish(ctx, c1, "r", kvtask.Outcome{Status: kvtask.StatusPending, LastError: "boom", RetryAt: e.clock.Now().Add(30 * time.Second)}))
	got := mustTask(t, e.s, task.ID)
	require.Equal(t, kvtask.StatusPending, got.Status)
	require.Equal(t, "boom", got.LastError)
	require.Equal(t, 1, got.Attempts)
	ts, err := e.s.Claim(ctx, "r", time.Minute, 1)
	require.NoError(t, err)
	require.Empty(t, ts)
	e.clock.Advance(30 * time.Second)

	// Giving an attempt back does not count it.
	c2 := claim()
	require.Equal(t, 2, c2.Attempts)
	require.NoError(t, e.s.Finish(ctx, c2, "r", kvtask.Outcome{Status: kvtask.StatusPending, RetryAt: e.clock.Now(), GiveBack: true}))
	require.Equal(t, 1, mustTask(t, e.s, task.ID).Attempts)

	// Terminal states stay terminal.
	c3 := claim()
	require.NoError(t, e.s.Finish(ctx, c3, "r", kvtask.Outcome{Status: kvtask.StatusFailed, LastError: "final"}))
	got = mustTask(t, e.s, task.ID)
	require.Equal(t, kvtask.StatusFailed, got.Status)
	require.NotNil(t, got.Completed)
	require.ErrorIs(t, e.s.Finish(ctx, c3, "r", kvtask.Outcome{Status: kvtask.StatusCompleted}), kvtask.ErrLost)
	after, err := e.s.Cancel(ctx, task.ID)
	require.NoError(t, err)
	require.Equal(t, kvtask.StatusFailed, after.Status)
	e.clock.Advance(time.Hour)
	ts, err = e.s.Claim(ctx, "r", time.Minute, 1)
	require.NoError(t, err)
	require.Empty(t, ts)
	require.Equal(t, kvtask.StatusFailed, mustTask(t, e.s, task.ID).Status)
}

func testTaskCancel(t *testing.T, f BackendFactory) {
	ctx := context.Background()
	e := newTaskEnv(t, f)
	pending := kvtask.NewTask("job", nil)
	require.NoError(t, e.s.New(ctx, pending))
	got, err := e.s.Cancel(ctx, pending.ID)
	require.NoError(t, err)
	require.Equal(t, kvtask.StatusCancelled, got.Status, "a pending task is cancelled at once")
	require.NotNil(t, got.Completed)

	running := kvtask.NewTask("job", nil)
	require.NoError(t, e.s.New(ctx, running))
	ts, err := e.s.Claim(ctx, "r", time.Minute, 1)
	require.NoError(t, err)
	require.Len(t, ts, 1)
	got, err = e.s.Cancel(ctx, running.ID)
	require.NoError(t, err)
	require.Equal(t, kvtask.StatusRunning, got.Status)
	require.True(t, got.CancelRequested)
	want, err := e.s.Heartbeat(ctx, ts[0], "r", time.Minute)
	require.NoError(t, err)
	require.True(t, want, "the heartbeat carries the cancellation")
	require.NoError(t, e.s.Finish(ctx, ts[0], "r", kvtask.Outcome{Status: kvtask.StatusCancelled}))
	require.Equal(t, kvtask.StatusCancelled, mustTask(t, e.s, running.ID).Status)

	// A cancel-requested task whose runner died is claimed again so that it
	// can be recorded cancelled, never left running.
	stuck := kvtask.NewTask("job", nil)
	require.NoError(t, e.s.New(ctx, stuck))
	_, err = e.s.Claim(ctx, "dead", time.Second, 1)
	require.NoError(t, err)
	_, err = e.s.Cancel(ctx, stuck.ID)
	require.NoError(t, err)
	e.clock.Advance(2 * time.Second)
	ts, err = e.s.Claim(ctx, "r", time.Minute, 1)
	require.NoError(t, err)
	require.Len(t, ts, 1)
	require.True(t, ts[0].CancelRequested)
}

// testTaskCron: two schedulers firing the same schedule concurrently add
// one task per tick.
func testTaskCron(t *testing.T, f BackendFactory) {
	ctx := context.Background()
	e := newTaskEnv(t, f)
	start := time.Date(2030, 1, 1, 0, 0, 30, 0, time.UTC)
	e.clock = NewClock(start)
	s1, err := kvtask.New(e.q, kvtask.WithClock(e.clock.Now))
	require.NoError(t, err)
	s2, err := kvtask.New(e.q, kvtask.WithClock(e.clock.Now))
	require.NoError(t, err)
	tmpl := kvtask.NewTask("report", json.RawMessage(`{"kind":"daily"}`))
	require.NoError(t, s1.Schedule(ctx, "minutely", "* * * * *", tmpl))
	ss, err := s2.Schedules(ctx)
	require.NoError(t, err)
	require.Len(t, ss, 1)
	require.True(t, ss[0].Next.Equal(time.Date(2030, 1, 1, 0, 1, 0, 0, time.UTC)))

	fireAll := func() int {
		var wg sync.WaitGroup
		var fired atomic.Int64
		for i := 0; i < 6; i++ {
			wg.Add(1)
			go func() {
				defer wg.Done()
				s := s1
				if i%2 == 1 {
					s = s2
				}
				n, err := s.FireDue(ctx)
				require.NoError(t, err)
				fired.Add(int64(n))
			}()
		}
		wg.Wait()
		return int(fired.Load())
	}
	require.Equal(t, 0, fireAll(), "not due yet")
	for tick := 1; tick <= 3; tick++ {
		e.clock.Advance(time.Minute)
		require.Equal(t, 1, fireAll(), "tick %d fires once", tick)
	}
	// Ticks missed while nobody fired are fired once.
	e.clock.Advance(10 * time.Minute)
	require.Equal(t, 1, fireAll())
	tasks, err := s1.List(ctx, "", "report", 0, 0)
	require.NoError(t, err)
	require.Len(t, tasks, 4)
	for _, task := range tasks {
		require.Equal(t, `{"kind":"daily"}`, string(task.Payload))
	}
	ok, err := s1.Unschedule(ctx, "minutely")
	require.NoError(t, err)
	require.True(t, ok)
	e.clock.Advance(time.Hour)
	require.Equal(t, 0, fireAll())
}

// testTaskCronUniqueHeld: Fire at a tick whose template's unique key a
// pending or running task holds consumes the tick (reports it fired and
// moves the schedule on) but inserts no task and leaves the holder as it
// is; once the holder is terminal, the next tick inserts again.
func testTaskCronUniqueHeld(t *testing.T, f BackendFactory) {
	ctx := context.Background()
	e := newTaskEnv(t, f)
	now := e.clock.Now()
	const key = "cron/nightly"
	tick := func(i int) time.Time { return time.Date(2030, 1, 1, 0, i, 0, 0, time.UTC) }
	tmpl := taskdriver.Task{Name: "job", Payload: []byte(`{"cron":true}`), Status: taskdriver.Pending, UniqueKey: key, MaxRetries: 1}
	require.NoError(t, e.q.PutSchedule(ctx, taskdriver.Schedule{Name: "nightly", Spec: "* * * * *", Template: tmpl, Next: tick(1)}))
	out, err := e.q.InsertMany(ctx, []taskdriver.Task{pendingTask("holder", key, now)})
	require.NoError(t, err)
	require.True(t, out[0].Added)
	holder := out[0].Task

	fire := func(id string, at, next time.Time) bool {
		t.Helper()
		task := tmpl
		task.ID, task.Created, task.ScheduledFor = id, now, at
		fired, err := e.q.Fire(ctx, "nightly", at, next, task)
		require.NoError(t, err)
		return fired
	}
	requireNext := func(want time.Time) {
		t.Helper()
		ss, err := e.q.Schedules(ctx)
		require.NoError(t, err)
		require.Len(t, ss, 1)
		require.True(t, ss[0].Next.Equal(want), "next tick %v, want %v", ss[0].Next, want)
	}
	requireAbsent := func(id string) {
		t.Helper()
		_, ok, err := e.q.Get(ctx, id)
		require.NoError(t, err)
		require.False(t, ok, "task %q was inserted", id)
	}

	// A pending holder: the tick is consumed, no duplicate is inserted.
	require.True(t, fire("t1", tick(1), tick(2)), "the tick fires even though its task is not inserted")
	requireNext(tick(2))
	requireAbsent("t1")
	got, ok, err := e.q.Get(ctx, "holder")
	require.NoError(t, err)
	require.True(t, ok)
	require.Equal(t, holder, got, "the holder is unchanged")
	require.False(t, fire("t1b", tick(1), tick(2)), "a consumed tick does not fire again")
	requireAbsent("t1b")
	requireNext(tick(2))

	// A running holder: the same.
	claimed, err := e.q.Claim(ctx, taskdriver.Claim{Runner: "r1", Now: now, Lease: time.Minute, Limit: 1})
	require.NoError(t, err)
	require.Len(t, claimed, 1)
	require.Equal(t, "holder", claimed[0].ID)
	require.True(t, fire("t2", tick(2), tick(3)))
	requireNext(tick(3))
	requireAbsent("t2")
	require.Equal(t, []string{"holder"}, storedIDs(t, e))

	// Once the holder is terminal, the key is free: the next tick inserts.
	errs, err := e.q.FinishMany(ctx, []taskdriver.Completion{{ID: "holder", Runner: "r1", Token: claimed[0].Token,
		Outcome: taskdriver.Outcome{Status: taskdriver.Completed}}}, now)
	require.NoError(t, err)
	require.NoError(t, errs[0])
	require.True(t, fire("t3", tick(3), tick(4)))
	requireNext(tick(4))
	got, ok, err = e.q.Get(ctx, "t3")
	require.NoError(t, err)
	require.True(t, ok, "the tick's task was inserted")
	require.Equal(t, taskdriver.Pending, got.Status)
	require.Equal(t, key, got.UniqueKey)
	require.True(t, got.ScheduledFor.Equal(tick(3)))
	require.Equal(t, []string{"holder", "t3"}, storedIDs(t, e))
}

func quietRunner(s *kvtask.Scheduler, id string) *kvtask.Runner {
	r := kvtask.NewRunner(s, id)
	r.Logger = slog.New(slog.NewTextHandler(io.Discard, nil))
	r.PollInterval = 20 * time.Millisecond
	r.LockDuration = 3 * time.Second
	r.RetryBase, r.RetryMax = time.Millisecond, 5*time.Millisecond
	return r
}

// testRunnerExactlyOnce: several runners with concurrent handlers complete
// every task exactly once.
func testRunnerExactlyOnce(t *testing.T, f BackendFactory) {
	ctx := context.Background()
	b := f(t)
	s, err := kvtask.New(b.Queue)
	require.NoError(t, err)
	const n = 150
	for i := 0; i < n; i++ {
		require.NoError(t, s.New(ctx, kvtask.NewTask("work", json.RawMessage(fmt.Sprint(i)))))
	}
	var mu sync.Mutex
	runs := map[string]int{}
	var wg sync.WaitGroup
	for i := 0; i < 3; i++ {
		r := quietRunner(s, fmt.Sprintf("runner-%d", i))
		r.Concurrency = 4
		r.RegisterHandler("work", func(ctx context.Context, task kvtask.Task) error {
			mu.Lock()
			runs[task.ID]++
			mu.Unlock()
			return nil
		})
		wg.Add(1)
		go func() {
			defer wg.Done()
			require.NoError(t, r.RunUntilIdle(ctx))
		}()
	}
	wg.Wait()
	require.Len(t, runs, n)
	for id, c := range runs {
		require.Equal(t, 1, c, "task %s ran %d times", id, c)
	}
	done, err := s.List(ctx, kvtask.StatusCompleted, "", 0, 0)
	require.NoError(t, err)
	require.Len(t, done, n)
}

func testRunnerRetries(t *testing.T, f BackendFactory) {
	ctx := context.Background()
	b := f(t)
	s, err := kvtask.New(b.Queue)
	require.NoError(t, err)
	flaky := kvtask.NewTask("flaky", nil)
	flaky.MaxRetries = 3
	broken := kvtask.NewTask("broken", nil)
	broken.MaxRetries = 1
	require.NoError(t, s.New(ctx, flaky))
	require.NoError(t, s.New(ctx, broken))
	var calls atomic.Int32
	r := quietRunner(s, "r")
	r.RegisterHandler("flaky", func(ctx context.Context, task kvtask.Task) error {
		if calls.Add(1) < 3 {
			return errors.New("not yet")
		}
		return nil
	})
	r.RegisterHandler("broken", func(ctx context.Context, task kvtask.Task) error {
		return fmt.Errorf("attempt %d failed", task.Attempts)
	})
	require.NoError(t, r.RunUntilIdle(ctx))
	got := mustTask(t, s, flaky.ID)
	require.Equal(t, kvtask.StatusCompleted, got.Status)
	require.Equal(t, 3, got.Attempts)
	got = mustTask(t, s, broken.ID)
	require.Equal(t, kvtask.StatusFailed, got.Status)
	require.Equal(t, 2, got.Attempts, "MaxRetries 1: two attempts")
	require.Equal(t, "attempt 2 failed", got.LastError)
}

func testRunnerTimeoutCancel(t *testing.T, f BackendFactory) {
	ctx := context.Background()
	b := f(t)
	s, err := kvtask.New(b.Queue)
	require.NoError(t, err)
	slow := kvtask.NewTask("slow", nil)
	slow.TimeoutSeconds = 1
	panics := kvtask.NewTask("panics", nil)
	require.NoError(t, s.New(ctx, slow))
	require.NoError(t, s.New(ctx, panics))

	r := quietRunner(s, "r")
	r.Concurrency = 3
	// The cancellation reaches the handler with a heartbeat (every third of
	// quietRunner's 3s lease). Keep that lease: with a much shorter one a
	// loaded database (two heartbeats slower than a third of the lease) lets
	// it expire, and the runner claims its own tasks again and fails them as
	// "lease expired during the last attempt" instead of the outcome asserted
	// below.
	started := make(chan string, 3)
	block := func(ctx context.Context, task kvtask.Task) error {
		started <- task.ID
		<-ctx.Done()
		return ctx.Err()
	}
	r.RegisterHandler("slow", block)
	r.RegisterHandler("blocks", block)
	r.RegisterHandler("panics", func(ctx context.Context, task kvtask.Task) error { panic("oops") })
	runCtx, stop := context.WithCancel(ctx)
	defer stop()
	runErr := make(chan error, 1)
	go func() { runErr <- r.Run(runCtx) }()

	cancelled := kvtask.NewTask("blocks", nil)
	require.NoError(t, s.New(ctx, cancelled))
	for id := range 2 {
		select {
		case <-started:
		case <-time.After(20 * time.Second):
			t.Fatalf("handler %d did not start", id)
		}
	}
	_, err = s.Cancel(ctx, cancelled.ID)
	require.NoError(t, err)
	require.Eventually(t, func() bool {
		a, b, c := mustTask(t, s, slow.ID), mustTask(t, s, cancelled.ID), mustTask(t, s, panics.ID)
		return kvtask.Terminal(a.Status) && kvtask.Terminal(b.Status) && kvtask.Terminal(c.Status)
	}, 30*time.Second, 20*time.Millisecond)
	stop()
	require.NoError(t, <-runErr)

	got := mustTask(t, s, slow.ID)
	require.Equal(t, kvtask.StatusFailed, got.Status)
	require.Contains(t, got.LastError, "timed out")
	require.Equal(t, kvtask.StatusCancelled, mustTask(t, s, cancelled.ID).Status)
	got = mustTask(t, s, panics.ID)
	require.Equal(t, kvtask.StatusFailed, got.Status)
	require.Contains(t, got.LastError, "panicked")
}
