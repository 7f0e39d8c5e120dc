package rqlitekv

import (
	"context"
	"fmt"
	"sync"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"github.com/kvsuite/kv/kvcore"
	taskdriver "github.com/kvsuite/kv/kvtask/driver"
)

// newTask is a pending task as the front prepares it, created at t0.
func newTask(id, name string) taskdriver.Task {
	return taskdriver.Task{ID: id, Name: name, Payload: []byte(`{"n":1}`), Status: taskdriver.Pending,
		Created: t0, ScheduledFor: t0, MaxRetries: 2, Timeout: 90 * time.Second}
}

// insertOne is InsertMany of one task.
func insertOne(ctx context.Context, db *DB, task taskdriver.Task) (taskdriver.Task, bool, error) {
	out, err := db.InsertMany(ctx, []taskdriver.Task{task})
	if err != nil {
		return taskdriver.Task{}, false, err
	}
	return out[0].Task, out[0].Added, nil
}

// TestOneRequestPerQueueOp checks that every Queue operation is exactly
// one HTTP request to rqlite: writes on /db/request (one transaction),
// reads on /db/query.
func TestOneRequestPerQueueOp(t *testing.T) {
	db, c := openCounted(t)
	ctx := context.Background()
	check := func(name string, want counts, call func() error) {
		t.Helper()
		before := c.get()
		require.NoError(t, call(), name)
		after := c.get()
		got := counts{after.request - before.request, after.query - before.query, after.execute - before.execute}
		require.Equal(t, want, got, name)
	}
	write, read := counts{request: 1}, counts{query: 1}
	a := newTask("a", "job")
	a.UniqueKey = "k"
	check("insert", write, func() error { _, _, err := insertOne(ctx, db, a); return err })
	check("duplicate insert", write, func() error {
		_, _, err := insertOne(ctx, db, func() taskdriver.Task { b := a; b.ID = "b"; return b }())
		return err
	})
	check("get", read, func() error { _, _, err := db.Get(ctx, "a"); return err })
	check("list", read, func() error {
		_, err := db.List(ctx, taskdriver.Filter{Status: taskdriver.Pending, Name: "job", Limit: 5})
		return err
	})
	var claimed []taskdriver.Task
	check("claim", write, func() error {
		var err error
		claimed, err = db.Claim(ctx, taskdriver.Claim{Runner: "r", Names: []string{"job"}, Now: t0, Lease: time.Minute, Limit: 2})
		return err
	})
	require.Len(t, claimed, 1)
	tok := claimed[0].Token
	check("heartbeat", write, func() error { _, err := db.Heartbeat(ctx, "a", "r", tok, t0, time.Minute); return err })
	check("cancel", write, func() error { _, _, err := db.Cancel(ctx, "a", t0); return err })
	check("insert many", write, func() error {
		_, err := db.InsertMany(ctx, []taskdriver.Task{newTask("m1", "job"), newTask("m2", "job"), newTask("m3", "job")})
		return err
	})
	check("finish", write, func() error {
		return taskdriver.FinishOne(ctx, db, "a", "r", tok, taskdriver.Outcome{Status: taskdriver.Cancelled}, t0)
	})
	s := taskdriver.Schedule{Name: "s", Spec: "* * * * *", Template: newTask("template", "report"), Next: t0}
	check("put schedule", write, func() error { return db.PutSchedule(ctx, s) })
	check("schedules", read, func() error { _, err := db.Schedules(ctx); return err })
	check("fire", write, func() error { _, err := db.Fire(ctx, "s", t0, t0.Add(time.Minute), newTask("f", "report")); return err })
	check("delete schedule", write, func() error { _, err := db.DeleteSchedule(ctx, "s"); return err })
}

// TestQueueBlobLookingText: text that rqlite would read as a BLOB literal
// (x'..') is stored and returned unchanged: ids, names, unique keys,
// payloads, runners, errors and schedule names.
func TestQueueBlobLookingText(t *testing.T) {
	db := openEmpty(t)
	ctx := context.Background()
	id, name, key, runner := "x'00'", "X'4142'", " x'ab' ", "x'6e6f'"
	task := newTask(id, name)
	task.UniqueKey = key
	task.Payload = []byte(`"x'41'"`)
	got, added, err := insertOne(ctx, db, task)
	require.NoError(t, err)
	require.True(t, added)
	require.Equal(t, id, got.ID)
	require.Equal(t, name, got.Name)
	require.Equal(t, key, got.UniqueKey)
	require.Equal(t, `"x'41'"`, string(got.Payload))

	dup := task
	dup.ID = "other"
	got, added, err = insertOne(ctx, db, dup)
	require.NoError(t, err)
	require.False(t, added, "the blob-looking key still dedupes")
	require.Equal(t, id, got.ID)

	ts, err := db.List(ctx, taskdriver.Filter{Name: name})
	require.NoError(t, err)
	require.Len(t, ts, 1)
	ts, err = db.Claim(ctx, taskdriver.Claim{Runner: runner, Names: []string{name}, Now: t0, Lease: time.Minute, Limit: 1})
	require.NoError(t, err)
	require.Len(t, ts, 1)
	require.Equal(t, runner, ts[0].LockedBy)
	_, err = db.Heartbeat(ctx, id, runner, ts[0].Token, t0, time.Minute)
	require.NoError(t, err)
	require.NoError(t, taskdriver.FinishOne(ctx, db, id, runner, ts[0].Token, taskdriver.Outcome{Status: taskdriver.Failed, LastError: "x'00ff'"}, t0))
	got, ok, err := db.Get(ctx, id)
	require.NoError(t, err)
	require.True(t, ok)
	require.Equal(t, "x'00ff'", got.LastError)
	require.Equal(t, taskdriver.Failed, got.Status)

	sname := "x'7373'"
	require.NoError(t, db.PutSchedule(ctx, taskdriver.Schedule{Name: sname, Spec: "x'00'", Template: task, Next: t0}))
	ss, err := db.Schedules(ctx)
	require.NoError(t, err)
	require.Len(t, ss, 1)
	require.Equal(t, sname, ss[0].Name)
	require.Equal(t, "x'00'", ss[0].Spec)
	require.Equal(t, key, ss[0].Template.UniqueKey)
	fired, err := db.Fire(ctx, sname, t0, t0.Add(time.Hour), newTask("fired", name))
	require.NoError(t, err)
	require.True(t, fired)
	removed, err := db.DeleteSchedule(ctx, sname)
	require.NoError(t, err)
	require.True(t, removed)
}

// TestQueueRoundTrip: every field of a task survives the store exactly,
// and the queue's edges behave as the SPI says.
func TestQueueRoundTrip(t *testing.T) {
	db := openEmpty(t)
	ctx := context.Background()
	task := newTask("t1", "job")
	task.Priority = -7
	task.ScheduledFor = t0.Add(time.Second)
	task.Payload = []byte(`{"big":123456789012345678901,"s":"é\u0000"}`)
	got, added, err := insertOne(ctx, db, task)
	require.NoError(t, err)
	require.True(t, added)
	require.Equal(t, task.Payload, got.Payload)
	require.Equal(t, -7, got.Priority)
	require.True(t, got.Created.Equal(t0))
	require.True(t, got.ScheduledFor.Equal(t0.Add(time.Second)))
	require.Equal(t, 90*time.Second, got.Timeout)
	require.Equal(t, 2, got.MaxRetries)
	require.True(t, got.Started.IsZero())
	require.True(t, got.LockedUntil.IsZero())

	// A duplicate id is refused with a clear error naming it, even after
	// other tasks of the batch, and nothing of the batch is stored; bad
	// text changes nothing.
	_, _, err = insertOne(ctx, db, task)
	require.ErrorIs(t, err, kvcore.ErrInvalidArgument)
	require.ErrorContains(t, err, `task id "t1" already exists`)
	_, err = db.InsertMany(ctx, []taskdriver.Task{newTask("n1", "job"), newTask("n2", "job"), task})
	require.ErrorIs(t, err, kvcore.ErrInvalidArgument)
	require.ErrorContains(t, err, `task id "t1" already exists`)
	bad := newTask("t2", "job")
	bad.Payload = []byte("\"\xff\"")
	_, _, err = insertOne(ctx, db, bad)
	require.ErrorIs(t, err, kvcore.ErrInvalidValue)
	_, _, err = insertOne(ctx, db, newTask("t\xff", "job"))
	require.ErrorIs(t, err, kvcore.ErrInvalidArgument)
	all, err := db.List(ctx, taskdriver.Filter{})
	require.NoError(t, err)
	require.Len(t, all, 1)

	// Not claimable before its time.
	ts, err := db.Claim(ctx, taskdriver.Claim{Runner: "r", Now: t0, Lease: time.Minute, Limit: 5})
	require.NoError(t, err)
	require.Empty(t, ts)
	now := t0.Add(time.Second)
	ts, err = db.Claim(ctx, taskdriver.Claim{Runner: "r", Now: now, Lease: time.Minute, Limit: 5})
	require.NoError(t, err)
	require.Len(t, ts, 1)
	c := ts[0]
	require.Equal(t, int64(1), c.Token)
	require.Equal(t, 1, c.Attempts)
	require.True(t, c.LockedUntil.Equal(now.Add(time.Minute)))

	// A wrong token or runner is lost and changes nothing.
	_, err = db.Heartbeat(ctx, "t1", "r", c.Token+1, now, time.Hour)
	require.ErrorIs(t, err, taskdriver.ErrLost)
	_, err = db.Heartbeat(ctx, "t1", "other", c.Token, now, time.Hour)
	require.ErrorIs(t, err, taskdriver.ErrLost)
	require.ErrorIs(t, taskdriver.FinishOne(ctx, db, "t1", "r", c.Token+1, taskdriver.Outcome{Status: taskdriver.Completed}, now), taskdriver.ErrLost)
	require.ErrorIs(t, taskdriver.FinishOne(ctx, db, "missing", "r", 1, taskdriver.Outcome{Status: taskdriver.Completed}, now), taskdriver.ErrLost)
	require.Error(t, taskdriver.FinishOne(ctx, db, "t1", "r", c.Token, taskdriver.Outcome{Status: "sleeping"}, now))
	got, _, err = db.Get(ctx, "t1")
	require.NoError(t, err)
	require.Equal(t, c, got)

	// Give the attempt back: pending, attempts back to 0, lock cleared.
	require.NoError(t, taskdriver.FinishOne(ctx, db, "t1", "r", c.Token, taskdriver.Outcome{Status: taskdriver.Pending, RetryAt: now.Add(time.Minute), GiveBack: true, LastError: "bye\x00\xff"}, now))
	got, _, err = db.Get(ctx, "t1")
	require.NoError(t, err)
	require.Equal(t, taskdriver.Pending, got.Status)
	require.Equal(t, 0, got.Attempts)
	require.Equal(t, "bye\uFFFD\uFFFD", got.LastError)
	require.Empty(t, got.LockedBy)
	require.True(t, got.LockedUntil.IsZero())
	require.True(t, got.ScheduledFor.Equal(now.Add(time.Minute)))
	require.True(t, got.Completed.IsZero())

	_, ok, err := db.Cancel(ctx, "missing", now)
	require.NoError(t, err)
	require.False(t, ok)
	got, ok, err = db.Cancel(ctx, "t1", now)
	require.NoError(t, err)
	require.True(t, ok)
	require.Equal(t, taskdriver.Cancelled, got.Status)
	require.True(t, got.Completed.Equal(now))
}

// TestFireRace: schedulers racing for one tick fire it once, and a task
// whose unique key is held is not inserted twice by Fire.
func TestFireRace(t *testing.T) {
	db := openEmpty(t)
	ctx := context.Background()
	tmpl := newTask("template", "report")
	tmpl.UniqueKey = "report"
	require.NoError(t, db.PutSchedule(ctx, taskdriver.Schedule{Name: "s", Spec: "@hourly", Template: tmpl, Next: t0}))
	var wg sync.WaitGroup
	var mu sync.Mutex
	fired := 0
	for i := 0; i < 8; i++ {
		wg.Add(1)
		go func() {
			defer wg.Done()
			task := newTask(fmt.Sprintf("f%d", i), "report")
			task.UniqueKey = "report"
			ok, err := db.Fire(ctx, "s", t0, t0.Add(time.Hour), task)
			if err != nil {
				t.Error(err)
				return
			}
			if ok {
				mu.Lock()
				fired++
				mu.Unlock()
			}
		}()
	}
	wg.Wait()
	require.Equal(t, 1, fired)
	ts, err := db.List(ctx, taskdriver.Filter{})
	require.NoError(t, err)
	require.Len(t, ts, 1)
	ss, err := db.Schedules(ctx)
	require.NoError(t, err)
	require.True(t, ss[0].Next.Equal(t0.Add(time.Hour)))
	require.Equal(t, "@hourly", ss[0].Spec)
	require.Equal(t, tmpl.Payload, ss[0].Template.Payload)
	require.Equal(t, tmpl.Timeout, ss[0].Template.Timeout)

	// The next tick fires, but the key is still held: no second task.
	task := newTask("g", "report")
	task.UniqueKey = "report"
	ok, err := db.Fire(ctx, "s", t0.Add(time.Hour), t0.Add(2*time.Hour), task)
	require.NoError(t, err)
	require.True(t, ok)
	ts, err = db.List(ctx, taskdriver.Filter{})
	require.NoError(t, err)
	require.Len(t, ts, 1)
	ok, err = db.Fire(ctx, "missing", t0, t0, newTask("h", "x"))
	require.NoError(t, err)
	require.False(t, ok)
}
