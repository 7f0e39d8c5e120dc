package conformance

import (
	"context"
	"encoding/json"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"github.com/kvsuite/kv/kvcore"
	"github.com/kvsuite/kv/kvtask"
	taskdriver "github.com/kvsuite/kv/kvtask/driver"
)

// pendingTask is a new task as the front hands it to InsertMany.
func pendingTask(id, key string, now time.Time) taskdriver.Task {
	return taskdriver.Task{ID: id, Name: "job", Payload: []byte(`{"id":"` + id + `"}`), Status: taskdriver.Pending,
		UniqueKey: key, Created: now, ScheduledFor: now, MaxRetries: 1}
}

// storedIDs returns the IDs of every stored task, oldest first.
func storedIDs(t *testing.T, e taskEnv) []string {
	t.Helper()
	all, err := e.s.List(context.Background(), "", "", 0, 0)
	require.NoError(t, err)
	ids := []string{}
	for _, task := range all {
		ids = append(ids, task.ID)
	}
	return ids
}

// testTaskInsertMany: a batch is stored as given, results in input order;
// an empty batch does nothing; batch-inserted tasks are claimed in the
// usual order.
func testTaskInsertMany(t *testing.T, f BackendFactory) {
	ctx := context.Background()
	e := newTaskEnv(t, f)
	now := e.clock.Now()
	later := now.Add(time.Hour)
	in := []kvtask.Task{
		{ID: "b1", Name: "email", Payload: json.RawMessage(`{"to":"a@example.com"}`), Priority: 1, MaxRetries: 4, TimeoutSeconds: 9},
		{Name: "email"}, // gets an ID and a null payload
		{ID: "b3", Name: "report", ScheduledFor: later},
		{ID: "b4", Name: "email", Priority: 5},
	}
	rs, err := e.s.EnqueueMany(ctx, in)
	require.NoError(t, err)
	require.Len(t, rs, len(in))
	for i, r := range rs {
		require.True(t, r.Added, "task %d added", i)
		require.Equal(t, kvtask.StatusPending, r.Task.Status)
		require.True(t, r.Task.Created.Equal(now))
		require.Equal(t, in[i].Name, r.Task.Name)
		if in[i].ID != "" {
			require.Equal(t, in[i].ID, r.Task.ID, "results are in input order")
		}
		got := mustTask(t, e.s, r.Task.ID)
		require.Equal(t, r.Task.ID, got.ID)
		require.Equal(t, r.Task.Priority, got.Priority)
		require.True(t, got.ScheduledFor.Equal(r.Task.ScheduledFor))
	}
	require.NotEmpty(t, rs[1].Task.ID)
	require.Equal(t, "null", string(mustTask(t, e.s, rs[1].Task.ID).Payload))
	b1 := mustTask(t, e.s, "b1")
	require.Equal(t, `{"to":"a@example.com"}`, string(b1.Payload))
	require.Equal(t, 4, b1.MaxRetries)
	require.Equal(t, 9, b1.TimeoutSeconds)
	require.True(t, mustTask(t, e.s, "b3").ScheduledFor.Equal(later))
	require.True(t, rs[0].Task.ScheduledFor.Equal(now), "a zero ScheduledFor means now")

	ts, err := e.s.Claim(ctx, "r", time.Minute, 10)
	require.NoError(t, err)
	require.Len(t, ts, 3, "b3 is not due")
	require.Equal(t, []string{"b4", "b1", rs[1].Task.ID}, []string{ts[0].ID, ts[1].ID, ts[2].ID}, "priority order")

	// An empty batch does nothing, in the front and in the driver.
	before := storedIDs(t, e)
	rs, err = e.s.EnqueueMany(ctx, nil)
	require.NoError(t, err)
	require.Empty(t, rs)
	out, err := e.q.InsertMany(ctx, nil)
	require.NoError(t, err)
	require.Empty(t, out)
	require.Equal(t, before, storedIDs(t, e))
}

// testTaskInsertManyUnique: unique keys in a batch behave as Insert one
// after another: a key held by a stored pending or running task keeps its
// task out (the result is the holder), and so does a key an earlier task
// of the batch took; a key freed by a terminal task is free again.
func testTaskInsertManyUnique(t *testing.T, f BackendFactory) {
	ctx := context.Background()
	e := newTaskEnv(t, f)
	running := kvtask.Task{ID: "running", Name: "sync", UniqueKey: "k0"}
	require.NoError(t, e.s.New(ctx, running))
	ts, err := e.s.Claim(ctx, "r", time.Hour, 1)
	require.NoError(t, err)
	require.Len(t, ts, 1)
	require.NoError(t, e.s.New(ctx, kvtask.Task{ID: "held", Name: "sync", UniqueKey: "k1"})) // pending

	e.clock.Advance(time.Second)
	rs, err := e.s.EnqueueMany(ctx, []kvtask.Task{
		{ID: "u1", Name: "sync", UniqueKey: "k1"},
		{ID: "u2", Name: "sync", UniqueKey: "k2"},
		{ID: "u3", Name: "sync", UniqueKey: "k2"},
		{ID: "u4", Name: "sync"},
		{ID: "u5", Name: "sync", UniqueKey: "k0"},
		{ID: "u6", Name: "sync", UniqueKey: "k1"},
	})
	require.NoError(t, err)
	type outcome struct {
		ID    string
		Added bool
	}
	var got []outcome
	for _, r := range rs {
		got = append(got, outcome{r.Task.ID, r.Added})
	}
	require.Equal(t, []outcome{{"held", false}, {"u2", true}, {"u2", false}, {"u4", true}, {"running", false}, {"held", false}}, got)
	require.Equal(t, kvtask.StatusPending, rs[2].Task.Status, "a duplicate's result is the holder as stored")
	require.ElementsMatch(t, []string{"held", "running", "u2", "u4"}, storedIDs(t, e))

	// The driver alone: a key held by a stored task.
	now := e.clock.Now()
	out, err := e.q.InsertMany(ctx, []taskdriver.Task{pendingTask("d1", "k1", now), pendingTask("d2", "k3", now)})
	require.NoError(t, err)
	require.Len(t, out, 2)
	require.False(t, out[0].Added)
	require.Equal(t, "held", out[0].Task.ID)
	require.Equal(t, "k1", out[0].Task.UniqueKey)
	require.True(t, out[1].Added)
	require.Equal(t, "d2", out[1].Task.ID)
	_, ok, err := e.s.Get(ctx, "d1")
	require.NoError(t, err)
	require.False(t, ok, "a duplicate is not stored")

	// A key whose holder finished is free again.
	require.NoError(t, e.s.Finish(ctx, ts[0], "r", kvtask.Outcome{Status: kvtask.StatusCompleted}))
	rs, err = e.s.EnqueueMany(ctx, []kvtask.Task{{ID: "again", Name: "sync", UniqueKey: "k0"}})
	require.NoError(t, err)
	require.True(t, rs[0].Added)
	require.Equal(t, "again", rs[0].Task.ID)
}

// testTaskInsertManyAtomic: a batch that fails stores nothing: a bad task
// or an ID repeated in the batch (refused by the front before any write),
// or a task whose ID is stored (refused by the backend, inside the batch's
// one operation, after tasks before it were inserted).
func testTaskInsertManyAtomic(t *testing.T, f BackendFactory) {
	ctx := context.Background()
	e := newTaskEnv(t, f)
	require.NoError(t, e.s.New(ctx, kvtask.Task{ID: "old", Name: "job", UniqueKey: "k-old"}))
	before := storedIDs(t, e)

	_, err := e.s.EnqueueMany(ctx, []kvtask.Task{{ID: "n1", Name: "job"}, {ID: "n2", Name: "job"}, {ID: "n3", Name: ""}})
	require.ErrorIs(t, err, kvtask.ErrInvalidArgument)
	require.Contains(t, err.Error(), "task 2")
	_, err = e.s.EnqueueMany(ctx, []kvtask.Task{{ID: "n1", Name: "job", Payload: json.RawMessage(`{`)}, {ID: "n2", Name: "job"}})
	require.ErrorIs(t, err, kvcore.ErrInvalidValue)
	require.Contains(t, err.Error(), "task 0")
	_, err = e.s.EnqueueMany(ctx, []kvtask.Task{{ID: "n1", Name: "job"}, {ID: "n2", Name: "job"}, {ID: "n1", Name: "job"}})
	require.ErrorIs(t, err, kvtask.ErrInvalidArgument)
	require.Contains(t, err.Error(), "tasks 0 and 2")
	require.Equal(t, before, storedIDs(t, e), "a refused batch stored nothing")

	// An existing ID fails the batch in the backend: the tasks before it
	// (one added, one a duplicate of a stored key) are not stored either.
	_, err = e.s.EnqueueMany(ctx, []kvtask.Task{
		{ID: "n1", Name: "job", UniqueKey: "k-new"}, {ID: "n2", Name: "job", UniqueKey: "k-old"}, {ID: "old", Name: "job"}, {ID: "n4", Name: "job"},
	})
	require.ErrorIs(t, err, kvtask.ErrInvalidArgument)
	require.Equal(t, before, storedIDs(t, e), "a failed batch stored nothing")
	now := e.clock.Now()
	_, err = e.q.InsertMany(ctx, []taskdriver.Task{pendingTask("n1", "k-new", now), pendingTask("old", "", now), pendingTask("n3", "", now)})
	require.ErrorIs(t, err, kvcore.ErrInvalidArgument)
	require.Equal(t, before, storedIDs(t, e), "a failed driver batch stored nothing")

	// The key the failed batch would have taken is still free.
	rs, err := e.s.EnqueueMany(ctx, []kvtask.Task{{ID: "n1", Name: "job", UniqueKey: "k-new"}})
	require.NoError(t, err)
	require.True(t, rs[0].Added)
}
