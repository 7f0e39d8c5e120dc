package postgreskv_test

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgxpool"
	"github.com/stretchr/testify/require"

	postgreskv "github.com/kvsuite/kv/backend-postgres"
	"github.com/kvsuite/kv/kvcore"
	coredriver "github.com/kvsuite/kv/kvcore/driver"
	taskdriver "github.com/kvsuite/kv/kvtask/driver"
)

var taskNow = time.Date(2030, 1, 2, 3, 4, 5, 123456000, time.UTC)

func newTask(id string) taskdriver.Task {
	return taskdriver.Task{ID: id, Name: "job", Payload: []byte(`{"n":1}`), Created: taskNow, ScheduledFor: taskNow}
}

// received reports whether ch receives within d.
func received(ch <-chan struct{}, d time.Duration) bool {
	select {
	case <-ch:
		return true
	case <-time.After(d):
		return false
	}
}

// drainSignals empties ch of pending signals (the listener signals every
// subscriber once it listens).
func drainSignals(ch <-chan struct{}) {
	for received(ch, 300*time.Millisecond) {
	}
}

// TestSubscribeTasks: Insert, Fire and a retrying Finish wake task
// subscribers; a kv write wakes stream subscribers only, and a task insert
// wakes task subscribers only; WithoutTaskNotify sends nothing.
func TestSubscribeTasks(t *testing.T) {
	ctx := context.Background()
	db := newDB(t)
	require.NotEqual(t, postgreskv.Channel(db), postgreskv.TaskChannel(db))
	sctx, cancel := context.WithCancel(ctx)
	defer cancel()
	tasks, err := db.SubscribeTasks(sctx)
	require.NoError(t, err)
	stream, err := db.Subscribe(sctx)
	require.NoError(t, err)
	// The listener, started by the first subscriber, signals every
	// subscriber once it listens: wait for that, however slow the
	// connection, so that it is not taken for a notification below.
	require.True(t, received(tasks, 10*time.Second), "the listener signals once it listens")
	drainSignals(tasks)
	drainSignals(stream)

	_, added, err := insertOne(ctx, db, newTask("a"))
	require.NoError(t, err)
	require.True(t, added)
	require.True(t, received(tasks, 5*time.Second), "Insert notifies")
	held := newTask("held")
	held.UniqueKey = "k"
	_, added, err = insertOne(ctx, db, held)
	require.NoError(t, err)
	require.True(t, added)
	require.True(t, received(tasks, 5*time.Second))
	held.ID = "dup"
	_, added, err = insertOne(ctx, db, held)
	require.NoError(t, err)
	require.False(t, added)
	require.False(t, received(tasks, 300*time.Millisecond), "an insert that adds nothing does not notify")
	require.False(t, received(stream, 300*time.Millisecond), "a task insert does not wake stream subscribers")

	store, err := db.Store(kvcore.WithSweepInterval(0))
	require.NoError(t, err)
	t.Cleanup(func() { _ = store.Close() })
	require.NoError(t, store.Put(ctx, "k", 0, map[string]int{"a": 1}))
	require.True(t, received(stream, 5*time.Second))
	require.False(t, received(tasks, 300*time.Millisecond), "a kv write does not wake task subscribers")

	ts, err := db.Claim(ctx, taskdriver.Claim{Runner: "r", Names: []string{"job"}, Now: taskNow, Lease: time.Minute, Limit: 1})
	require.NoError(t, err)
	require.Len(t, ts, 1)
	require.Equal(t, "a", ts[0].ID)
	require.False(t, received(tasks, 300*time.Millisecond), "a claim does not notify")
	require.NoError(t, taskdriver.FinishOne(ctx, db, "a", "r", ts[0].Token, taskdriver.Outcome{Status: taskdriver.Pending, RetryAt: taskNow}, taskNow))
	require.True(t, received(tasks, 5*time.Second), "a retry notifies")
	ts, err = db.Claim(ctx, taskdriver.Claim{Runner: "r", Now: taskNow, Lease: time.Minute, Limit: 1})
	require.NoError(t, err)
	require.Len(t, ts, 1)
	require.NoError(t, taskdriver.FinishOne(ctx, db, "a", "r", ts[0].Token, taskdriver.Outcome{Status: taskdriver.Completed}, taskNow))
	require.False(t, received(tasks, 300*time.Millisecond), "completion does not notify")

	require.NoError(t, db.PutSchedule(ctx, taskdriver.Schedule{Name: "s", Spec: "* * * * *", Next: taskNow, Template: newTask("")}))
	fired, err := db.Fire(ctx, "s", taskNow.Add(time.Hour), taskNow.Add(2*time.Hour), newTask("f0"))
	require.NoError(t, err)
	require.False(t, fired)
	require.False(t, received(tasks, 300*time.Millisecond), "a Fire that did not fire does not notify")
	fired, err = db.Fire(ctx, "s", taskNow, taskNow.Add(time.Minute), newTask("f1"))
	require.NoError(t, err)
	require.True(t, fired)
	require.True(t, received(tasks, 5*time.Second), "Fire notifies")

	// A writer without task notifications, on the same schema.
	quiet := postgreskv.New(testPool, postgreskv.WithSchema(db.Schema()), postgreskv.WithoutTaskNotify())
	t.Cleanup(func() { _ = quiet.Close() })
	_, added, err = insertOne(ctx, quiet, newTask("b"))
	require.NoError(t, err)
	require.True(t, added)
	require.False(t, received(tasks, 500*time.Millisecond), "WithoutTaskNotify sends nothing")
}

// TestTaskInsertRace: concurrent inserts with one unique key add exactly
// one task, and every other insert returns that task.
func TestTaskInsertRace(t *testing.T) {
	ctx := context.Background()
	db := newDB(t)
	for round := 0; round < 5; round++ {
		key := fmt.Sprintf("key-%d", round)
		const n = 8
		var wg sync.WaitGroup
		ids := make([]string, n)
		addedBy := make([]bool, n)
		errs := make([]error, n)
		for i := range n {
			wg.Add(1)
			go func() {
				defer wg.Done()
				task := newTask(fmt.Sprintf("%s-%d", key, i))
				task.UniqueKey = key
				got, added, err := insertOne(ctx, db, task)
				ids[i], addedBy[i], errs[i] = got.ID, added, err
			}()
		}
		wg.Wait()
		winner := ""
		for i := range n {
			require.NoError(t, errs[i])
			if addedBy[i] {
				require.Empty(t, winner, "two inserts added a task with key %s", key)
				winner = ids[i]
			}
		}
		require.NotEmpty(t, winner)
		for i := range n {
			require.Equal(t, winner, ids[i])
		}
	}
	all, err := db.List(ctx, taskdriver.Filter{})
	require.NoError(t, err)
	require.Len(t, all, 5)
}

// TestTaskInsertManyRace: concurrent batches that share unique keys add
// exactly one task per key, and every batch's result for a key is that
// task (a holder committed while a batch's statement ran makes it run
// again).
func TestTaskInsertManyRace(t *testing.T) {
	ctx := context.Background()
	db := newDB(t)
	const batches, keys = 8, 20
	results := make([][]taskdriver.Inserted, batches)
	errs := make([]error, batches)
	var wg sync.WaitGroup
	for b := range batches {
		wg.Go(func() {
			ts := make([]taskdriver.Task, keys)
			for k := range ts {
				ts[k] = newTask(fmt.Sprintf("b%d-k%d", b, k))
				ts[k].UniqueKey = fmt.Sprintf("key-%d", (k+b)%keys) // each batch in its own order
			}
			results[b], errs[b] = db.InsertMany(ctx, ts)
		})
	}
	wg.Wait()
	winners := map[string]string{} // key -> the task added with it
	for b := range batches {
		require.NoError(t, errs[b])
		require.Len(t, results[b], keys)
		for _, r := range results[b] {
			if r.Added {
				require.Empty(t, winners[r.Task.UniqueKey], "two tasks added with key %s", r.Task.UniqueKey)
				winners[r.Task.UniqueKey] = r.Task.ID
			}
		}
	}
	require.Len(t, winners, keys)
	for b := range batches {
		for k, r := range results[b] {
			key := fmt.Sprintf("key-%d", (k+b)%keys)
			require.Equal(t, key, r.Task.UniqueKey)
			require.Equal(t, winners[key], r.Task.ID)
		}
	}
	all, err := db.List(ctx, taskdriver.Filter{})
	require.NoError(t, err)
	require.Len(t, all, keys)
}

// TestTaskBadInput: a duplicate id and a bad outcome are clear errors that
// change nothing; an error message with NUL bytes and invalid UTF-8 is
// stored cleaned rather than failing the outcome.
func TestTaskBadInput(t *testing.T) {
	ctx := context.Background()
	db := newDB(t)
	first := newTask("x")
	_, _, err := insertOne(ctx, db, first)
	require.NoError(t, err)
	dup := newTask("x")
	dup.Name = "other"
	_, _, err = insertOne(ctx, db, dup)
	require.ErrorIs(t, err, kvcore.ErrInvalidArgument)
	require.Contains(t, err.Error(), `(id)=(x)`)
	got, ok, err := db.Get(ctx, "x")
	require.NoError(t, err)
	require.True(t, ok)
	require.Equal(t, "job", got.Name)
	require.Equal(t, taskdriver.Pending, got.Status)
	require.Equal(t, 0, got.Attempts)
	require.True(t, got.Started.IsZero())

	ts, err := db.Claim(ctx, taskdriver.Claim{Runner: "r", Now: taskNow, Lease: time.Minute, Limit: 1})
	require.NoError(t, err)
	require.Len(t, ts, 1)
	require.ErrorIs(t, taskdriver.FinishOne(ctx, db, "x", "r", ts[0].Token, taskdriver.Outcome{Status: "done"}, taskNow), kvcore.ErrInvalidArgument)
	require.ErrorIs(t, taskdriver.FinishOne(ctx, db, "x", "r", ts[0].Token, taskdriver.Outcome{Status: taskdriver.Running}, taskNow), kvcore.ErrInvalidArgument)
	got, _, err = db.Get(ctx, "x")
	require.NoError(t, err)
	require.Equal(t, taskdriver.Running, got.Status)

	require.NoError(t, taskdriver.FinishOne(ctx, db, "x", "r", ts[0].Token, taskdriver.Outcome{Status: taskdriver.Failed, LastError: "bad\x00byte \xff"}, taskNow))
	got, _, err = db.Get(ctx, "x")
	require.NoError(t, err)
	require.Equal(t, taskdriver.Failed, got.Status)
	require.Equal(t, "bad\uFFFDbyte \uFFFD", got.LastError)
	require.True(t, got.Completed.Equal(taskNow))
}

// TestTaskRoundTrip: every field Insert stores comes back, in UTC, and
// Claim, Heartbeat, GiveBack and Cancel change exactly what they should.
func TestTaskRoundTrip(t *testing.T) {
	ctx := context.Background()
	db := newDB(t)
	in := newTask("t1")
	in.Priority, in.MaxRetries, in.Timeout, in.UniqueKey = -3, 4, 90*time.Second, "u"
	in.Created = taskNow.In(time.FixedZone("X", 3600))
	in.ScheduledFor = taskNow.Add(-time.Second)
	got, added, err := insertOne(ctx, db, in)
	require.NoError(t, err)
	require.True(t, added)
	want := in
	want.Status, want.Created = taskdriver.Pending, taskNow
	require.Equal(t, want, got)
	stored, ok, err := db.Get(ctx, "t1")
	require.NoError(t, err)
	require.True(t, ok)
	require.Equal(t, want, stored)

	ts, err := db.Claim(ctx, taskdriver.Claim{Runner: "r", Names: []string{"job"}, Now: taskNow, Lease: time.Minute, Limit: 5})
	require.NoError(t, err)
	require.Len(t, ts, 1)
	c := ts[0]
	require.Equal(t, int64(1), c.Token)
	require.True(t, c.LockedUntil.Equal(taskNow.Add(time.Minute)))
	_, err = db.Heartbeat(ctx, "t1", "r", 2, taskNow, time.Minute)
	require.ErrorIs(t, err, taskdriver.ErrLost)
	_, err = db.Heartbeat(ctx, "t1", "other", 1, taskNow, time.Minute)
	require.ErrorIs(t, err, taskdriver.ErrLost)
	cancel, err := db.Heartbeat(ctx, "t1", "r", 1, taskNow.Add(time.Second), time.Hour)
	require.NoError(t, err)
	require.False(t, cancel)
	stored, _, err = db.Get(ctx, "t1")
	require.NoError(t, err)
	require.True(t, stored.LockedUntil.Equal(taskNow.Add(time.Second+time.Hour)))

	require.NoError(t, taskdriver.FinishOne(ctx, db, "t1", "r", 1, taskdriver.Outcome{Status: taskdriver.Pending, GiveBack: true, RetryAt: taskNow.Add(time.Minute)}, taskNow))
	stored, _, err = db.Get(ctx, "t1")
	require.NoError(t, err)
	require.Equal(t, 0, stored.Attempts)
	require.Equal(t, taskdriver.Pending, stored.Status)
	require.Empty(t, stored.LockedBy)
	require.True(t, stored.LockedUntil.IsZero())
	require.True(t, stored.ScheduledFor.Equal(taskNow.Add(time.Minute)))
	require.Equal(t, int64(1), stored.Token, "the token only grows with claims")

	cancelled, ok, err := db.Cancel(ctx, "t1", taskNow)
	require.NoError(t, err)
	require.True(t, ok)
	require.Equal(t, taskdriver.Cancelled, cancelled.Status)
	require.True(t, cancelled.Completed.Equal(taskNow))
	again, ok, err := db.Cancel(ctx, "t1", taskNow.Add(time.Hour))
	require.NoError(t, err)
	require.True(t, ok)
	require.Equal(t, cancelled, again, "a terminal task stays as it is")
	_, ok, err = db.Cancel(ctx, "missing", taskNow)
	require.NoError(t, err)
	require.False(t, ok)

	// The unique key is free again.
	in.ID = "t2"
	_, added, err = insertOne(ctx, db, in)
	require.NoError(t, err)
	require.True(t, added)

	// Schedules keep their template.
	tmpl := taskdriver.Task{Name: "report", Payload: []byte(`[1]`), Priority: 2, UniqueKey: "rk", MaxRetries: 1, Timeout: time.Second}
	require.NoError(t, db.PutSchedule(ctx, taskdriver.Schedule{Name: "b", Spec: "@hourly", Next: taskNow, Template: tmpl}))
	require.NoError(t, db.PutSchedule(ctx, taskdriver.Schedule{Name: "a", Spec: "@daily", Next: taskNow, Template: tmpl}))
	require.NoError(t, db.PutSchedule(ctx, taskdriver.Schedule{Name: "b", Spec: "* * * * *", Next: taskNow.Add(time.Minute), Template: tmpl}))
	ss, err := db.Schedules(ctx)
	require.NoError(t, err)
	require.Equal(t, []taskdriver.Schedule{
		{Name: "a", Spec: "@daily", Next: taskNow, Template: tmpl},
		{Name: "b", Spec: "* * * * *", Next: taskNow.Add(time.Minute), Template: tmpl},
	}, ss)
	ok, err = db.DeleteSchedule(ctx, "a")
	require.NoError(t, err)
	require.True(t, ok)
	ok, err = db.DeleteSchedule(ctx, "a")
	require.NoError(t, err)
	require.False(t, ok)
}

// TestClaimPlan: with many tasks, Claim walks the partial pending and
// running indexes instead of scanning and sorting the table.
func TestClaimPlan(t *testing.T) {
	ctx := context.Background()
	db := newDB(t)
	insertTasks(t, testPool, db, `SELECT 't' || i, 'job', 'null', CASE WHEN i % 10 = 0 THEN 'pending' ELSE 'completed' END,
	i % 3, $1, $1, 0, 0, 0, '', '', NULL, 0, false FROM generate_series(1, 20000) i`, taskNow)
	sql, a := postgreskv.ClaimSQL(db, taskdriver.Claim{Runner: "r", Now: taskNow, Lease: time.Minute, Limit: 10})
	rows, err := testPool.Query(ctx, "EXPLAIN "+sql, a...)
	require.NoError(t, err)
	lines, err := pgx.CollectRows(rows, pgx.RowTo[string])
	require.NoError(t, err)
	plan := strings.Join(lines, "\n")
	require.Contains(t, plan, "kv_tasks_pending_idx", plan)
	require.Contains(t, plan, "kv_tasks_running_idx", plan)
	require.NotContains(t, plan, "Seq Scan", plan)

	got, err := db.Claim(ctx, taskdriver.Claim{Runner: "r", Now: taskNow, Lease: time.Minute, Limit: 10})
	require.NoError(t, err)
	require.Len(t, got, 10)
	for i, task := range got {
		require.Equal(t, 2, task.Priority, "task %d", i)
	}
}

// TestClaimIdle: an idle claim (nothing due) does not walk the tasks
// scheduled later or the running tasks whose lease has not expired: the
// rows and buffers its plan touches stay a few per priority, far below the
// task count, with or without names, with a custom or a generic plan.
// TestClaimGenericPlan checks that the generic plan is the one used.
func TestClaimIdle(t *testing.T) {
	ctx := context.Background()
	db := newDB(t)
	fillFutureTasks(t, testPool, db, 6000)

	for _, names := range [][]string{nil, {"job", "other"}} {
		for _, mode := range claimPlanModes {
			c := taskdriver.Claim{Runner: "r", Now: taskNow, Lease: time.Minute, Limit: 10, Names: names}
			rows, blocks, out := claimWork(t, db, c, mode)
			t.Logf("idle claim (names %v, %s): %.0f rows, %.0f buffers", names, mode, rows, blocks)
			require.Less(t, rows, 100.0, "rows read by an idle claim (names %v, %s): %s", names, mode, out)
			require.Less(t, blocks, 200.0, "buffers read by an idle claim (names %v, %s): %s", names, mode, out)
		}
	}
	got, err := db.Claim(ctx, taskdriver.Claim{Runner: "r", Now: taskNow, Lease: time.Minute, Limit: 10})
	require.NoError(t, err)
	require.Empty(t, got)
}

// TestClaimBusy: a claim on a busy queue (every task due) reads the few
// tasks it takes: with many priorities it stops walking them once it has
// its tasks (the highest priority's), and with few, large ones its update
// still finds the tasks by id rather than joining the whole table; with a
// custom or a generic plan.
func TestClaimBusy(t *testing.T) {
	ctx := context.Background()
	for _, prios := range []int{4, 1000} {
		db := newDB(t)
		insertTasks(t, testPool, db, `SELECT 't' || i, 'job', 'null', 'pending', i % $2::int, $1, $1, 0, 0, 0, '', '', NULL, 0, false
	FROM generate_series(1, 60000) i`, taskNow, prios)
		c := taskdriver.Claim{Runner: "r", Now: taskNow, Lease: time.Minute, Limit: 10}
		for _, mode := range claimPlanModes {
			rows, blocks, out := claimWork(t, db, c, mode)
			t.Logf("busy claim (%d priorities, %s): %.0f rows, %.0f buffers", prios, mode, rows, blocks)
			require.Less(t, rows, 400.0, "rows read by a busy claim (%d priorities, %s): %s", prios, mode, out)
		}
		got, err := db.Claim(ctx, c)
		require.NoError(t, err)
		require.Len(t, got, 10)
		for _, task := range got {
			require.Equal(t, prios-1, task.Priority)
		}
	}
}

// TestClaimOtherNames: a claim with names does not read the due tasks of
// other names (before the pending index by name it read and filtered out
// every one of them), with a custom or a generic plan, and takes its
// names' tasks in claim order.
func TestClaimOtherNames(t *testing.T) {
	ctx := context.Background()
	db := newDB(t)
	insertTasks(t, testPool, db, `SELECT 't' || lpad(i::text, 6, '0'),
	CASE WHEN i % 1000 = 0 THEN 'job' WHEN i % 1000 = 1 THEN 'mail' ELSE 'other' END, 'null', 'pending', i % 2,
	$1::timestamptz, $1::timestamptz - make_interval(secs => 30000 - i), 0, 0, 0, '', '', NULL, 0, false
FROM generate_series(1, 30000) i`, taskNow)
	c := taskdriver.Claim{Runner: "r", Now: taskNow, Lease: time.Minute, Limit: 5, Names: []string{"mail", "job", "job"}}
	for _, mode := range claimPlanModes {
		rows, blocks, out := claimWork(t, db, c, mode)
		t.Logf("claim beside 29,940 due tasks of another name (%s): %.0f rows, %.0f buffers", mode, rows, blocks)
		require.Less(t, rows, 300.0, "rows read (%s): %s", mode, out)
		require.Less(t, blocks, 300.0, "buffers read (%s): %s", mode, out)
	}
	got, err := db.Claim(ctx, c)
	require.NoError(t, err)
	var ids []string
	for _, task := range got {
		ids = append(ids, task.ID)
	}
	// Priority 1 first (the odd i: mail's), then priority 0 (job's), each
	// oldest first.
	require.Equal(t, []string{"t000001", "t001001", "t002001", "t003001", "t004001"}, ids)
}

// claimPlanModes are the plan_cache_mode values claimWork is run with.
var claimPlanModes = []string{"force_custom_plan", "force_generic_plan"}

// claimWork runs Claim's statement for c as a prepared statement whose
// plan is custom or generic as mode forces, under EXPLAIN ANALYZE in a
// transaction rolled back, and returns the rows and buffers its plan read
// (see planWork) and the plan.
func claimWork(t *testing.T, db *postgreskv.DB, c taskdriver.Claim, mode string) (rows, blocks float64, plan string) {
	t.Helper()
	ctx := context.Background()
	sql, a := postgreskv.ClaimSQL(db, c)
	err := pgx.BeginFunc(ctx, testPool, func(tx pgx.Tx) error {
		if _, err := tx.Exec(ctx, "SET LOCAL plan_cache_mode = "+mode); err != nil {
			return err
		}
		if _, err := tx.Exec(ctx, "PREPARE claim AS "+sql); err != nil {
			return err
		}
		if err := tx.QueryRow(ctx, "EXPLAIN (ANALYZE, BUFFERS, FORMAT JSON) EXECUTE claim("+literals(t, a)+")").Scan(&plan); err != nil {
			return err
		}
		// A prepared statement outlives the transaction.
		if _, err := tx.Exec(ctx, "DEALLOCATE claim"); err != nil {
			return err
		}
		return errRollback
	})
	require.ErrorIs(t, err, errRollback)
	var plans []struct{ Plan map[string]any }
	require.NoError(t, json.Unmarshal([]byte(plan), &plans), plan)
	require.Len(t, plans, 1)
	rows, blocks = planWork(plans[0].Plan)
	return rows, blocks, plan
}

// TestClaimGenericPlan: Claim's prepared statement runs on PostgreSQL's
// generic plan after its first runs, as a plan that does not depend on the
// argument values may, instead of being planned again for every call
// (which cost an idle claim 0.3 ms, more than running it): with many
// tasks scheduled later, a custom plan looks cheaper than the generic one
// whenever its values are visible to the planner.
func TestClaimGenericPlan(t *testing.T) {
	ctx := context.Background()
	db := newDB(t)
	fillFutureTasks(t, testPool, db, 6000)
	conn, err := testPool.Acquire(ctx)
	require.NoError(t, err)
	defer conn.Release()
	for _, names := range [][]string{nil, {"job", "other"}} {
		c := taskdriver.Claim{Runner: "r", Now: taskNow, Lease: time.Minute, Limit: 10, Names: names}
		sql, a := postgreskv.ClaimSQL(db, c)
		for i := 0; i < 10; i++ {
			rows, err := conn.Query(ctx, sql, a...)
			require.NoError(t, err)
			rows.Close()
			require.NoError(t, rows.Err())
		}
		var generic, custom int64
		require.NoError(t, conn.QueryRow(ctx, "SELECT generic_plans, custom_plans FROM pg_prepared_statements WHERE statement = $1", sql).
			Scan(&generic, &custom))
		t.Logf("names %v: %d generic plans, %d custom", names, generic, custom)
		require.Equal(t, int64(10), generic+custom)
		require.GreaterOrEqual(t, generic, int64(5), "names %v: %d generic plans, %d custom", names, generic, custom)
	}
}

// fillFutureTasks inserts n tasks of which none is claimable at taskNow:
// every tenth is running with a lease that ends an hour after taskNow, the
// others are pending over five priorities, scheduled then; and analyzes
// the table.
func fillFutureTasks(tb testing.TB, pool *pgxpool.Pool, db *postgreskv.DB, n int) {
	tb.Helper()
	insertTasks(tb, pool, db, `SELECT 't' || i, 'job', 'null', CASE WHEN i % 10 = 0 THEN 'running' ELSE 'pending' END,
	i % 5, $1, $2::timestamptz, 0, 0, 0, '', '', CASE WHEN i % 10 = 0 THEN $2::timestamptz END, 0, false
FROM generate_series(1, $3::int) i`, taskNow, taskNow.Add(time.Hour), n)
}

// insertTasks inserts the rows of sel into db's task table on pool and
// analyzes the table. sel is a SELECT of the columns id, name, payload,
// status, priority, created, scheduled_for, attempts, max_retries,
// timeout_us, last_error, locked_by, locked_until, token and
// cancel_requested, in that order, with args.
func insertTasks(tb testing.TB, pool *pgxpool.Pool, db *postgreskv.DB, sel string, args ...any) {
	tb.Helper()
	ctx := context.Background()
	tasks := pgx.Identifier{db.Schema(), "kv_tasks"}.Sanitize()
	_, err := pool.Exec(ctx, `INSERT INTO `+tasks+` (id, name, payload, status, priority, created, scheduled_for,
	attempts, max_retries, timeout_us, last_error, locked_by, locked_until, token, cancel_requested)
`+sel, args...)
	require.NoError(tb, err)
	_, err = pool.Exec(ctx, "ANALYZE "+tasks)
	require.NoError(tb, err)
}

// errRollback rolls back a pgx.BeginFunc that succeeded.
var errRollback = errors.New("roll back")

// literals returns args as SQL literals, for EXECUTE.
func literals(t *testing.T, args []any) string {
	quote := func(s string) string { return "'" + strings.ReplaceAll(s, "'", "''") + "'" }
	out := make([]string, len(args))
	for i, v := range args {
		switch v := v.(type) {
		case time.Time:
			out[i] = quote(v.Format(time.RFC3339Nano))
		case int64:
			out[i] = fmt.Sprint(v)
		case string:
			out[i] = quote(v)
		case []string:
			q := make([]string, len(v))
			for j, s := range v {
				q[j] = quote(s)
			}
			out[i] = "ARRAY[" + strings.Join(q, ", ") + "]"
		default:
			t.Fatalf("argument %d: %T", i, v)
		}
	}
	return strings.Join(out, ", ")
}

// planWork returns the rows every node of an EXPLAIN (ANALYZE, BUFFERS,
// FORMAT JSON) plan produced or filtered out over all its loops, and the
// shared buffers the whole plan read (its top node counts its children's).
func planWork(plan map[string]any) (rows, blocks float64) {
	num := func(m map[string]any, k string) float64 {
		f, _ := m[k].(float64)
		return f
	}
	var walk func(m map[string]any)
	walk = func(m map[string]any) {
		rows += (num(m, "Actual Rows") + num(m, "Rows Removed by Filter") + num(m, "Rows Removed by Index Recheck")) *
			num(m, "Actual Loops")
		children, _ := m["Plans"].([]any)
		for _, c := range children {
			if cm, ok := c.(map[string]any); ok {
				walk(cm)
			}
		}
	}
	walk(plan)
	return rows, num(plan, "Shared Hit Blocks") + num(plan, "Shared Read Blocks")
}

// TestTaskMigration: a schema at version 2 with data migrates to 3.
func TestTaskMigration(t *testing.T) {
	ctx := context.Background()
	db := postgreskv.New(testPool, postgreskv.WithSchema(newSchemaName(t)))
	t.Cleanup(func() { _ = db.Close() }) // its notifier's session
	require.NoError(t, postgreskv.InitVersion(ctx, db, 2))
	store, err := db.Store(kvcore.WithSweepInterval(0))
	require.NoError(t, err)
	t.Cleanup(func() { _ = store.Close() })
	require.NoError(t, store.Put(ctx, "k", 0, 1))
	_, _, err = insertOne(ctx, db, newTask("a"))
	require.ErrorIs(t, err, coredriver.ErrNotInitialized)
	require.NoError(t, db.Init(ctx))
	_, added, err := insertOne(ctx, db, newTask("a"))
	require.NoError(t, err)
	require.True(t, added)
	r, ok, err := store.Get(ctx, "k", nil)
	require.NoError(t, err)
	require.True(t, ok)
	require.Equal(t, int64(1), r.Version)
}

// insertOne inserts t alone: InsertMany of one.
func insertOne(ctx context.Context, db *postgreskv.DB, t taskdriver.Task) (taskdriver.Task, bool, error) {
	out, err := db.InsertMany(ctx, []taskdriver.Task{t})
	if err != nil {
		return taskdriver.Task{}, false, err
	}
	return out[0].Task, out[0].Added, nil
}

// TestTaskNewDefaults: InsertMany and Fire store a new task alike: with no
// payload it is JSON null, with no ScheduledFor it is due when created,
// with no unique key the column is NULL, and every other column starts as
// a new pending task's.
func TestTaskNewDefaults(t *testing.T) {
	ctx := context.Background()
	db := newDB(t)
	_, err := db.InsertMany(ctx, []taskdriver.Task{{ID: "a", Name: "job", Created: taskNow}})
	require.NoError(t, err)
	require.NoError(t, db.PutSchedule(ctx, taskdriver.Schedule{Name: "s", Spec: "@hourly", Next: taskNow, Template: taskdriver.Task{Name: "job"}}))
	fired, err := db.Fire(ctx, "s", taskNow, taskNow.Add(time.Hour), taskdriver.Task{ID: "b", Name: "job", Created: taskNow})
	require.NoError(t, err)
	require.True(t, fired)

	tasks := pgx.Identifier{db.Schema(), "kv_tasks"}.Sanitize()
	rows, err := testPool.Query(ctx, `SELECT (to_jsonb(t) - 'id')::text FROM `+tasks+` t ORDER BY id`)
	require.NoError(t, err)
	got, err := pgx.CollectRows(rows, pgx.RowTo[string])
	require.NoError(t, err)
	require.Len(t, got, 2)
	require.Equal(t, got[0], got[1], "InsertMany and Fire store a new task alike")
	var n int
	require.NoError(t, testPool.QueryRow(ctx, `SELECT count(*) FROM `+tasks+` WHERE payload = 'null'::bytea AND scheduled_for = created
	AND created = $1 AND unique_key IS NULL AND status = 'pending' AND started IS NULL AND completed IS NULL AND attempts = 0
	AND last_error = '' AND locked_by = '' AND locked_until IS NULL AND token = 0 AND NOT cancel_requested`, taskNow).Scan(&n))
	require.Equal(t, 2, n)
}
