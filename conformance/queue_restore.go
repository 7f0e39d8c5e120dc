package conformance

import (
	"context"
	"encoding/json"
	"errors"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"github.com/kvsuite/kv/kvcore"
	"github.com/kvsuite/kv/kvtask"
)

// restoreSet is a task in each status, as another store held it: times in
// the past, attempts made, a lease held by a runner of that store.
func restoreSet(now time.Time) []kvtask.Task {
	at := func(d time.Duration) *time.Time { t := now.Add(d); return &t }
	base := func(id, status string) kvtask.Task {
		return kvtask.Task{ID: id, Name: "job", Payload: json.RawMessage(`{"id":"` + id + `","n":12345678901234567890}`),
			Status: kvtask.Status(status), Created: now.Add(-time.Hour), ScheduledFor: now.Add(-30 * time.Minute),
			MaxRetries: 2, TimeoutSeconds: 30}
	}
	due := base("r-pending-due", "pending")
	due.Attempts, due.LastError, due.Priority, due.UniqueKey = 2, "boom", 3, "k1"
	later := base("r-pending-later", "pending")
	later.ScheduledFor = now.Add(time.Hour)
	running := base("r-running-expired", "running")
	running.Attempts, running.Started, running.LockedBy, running.LockedUntil, running.Token = 1, at(-20*time.Minute), "old-runner", at(-time.Minute), 7
	running.Attempts, running.Lost = 2, 1
	held := base("r-running-held", "running")
	held.Attempts, held.Started, held.LockedBy, held.LockedUntil = 1, at(-time.Minute), "old-runner", at(time.Hour)
	completed := base("r-completed", "completed")
	completed.Attempts, completed.Started, completed.Completed = 1, at(-40*time.Minute), at(-39*time.Minute)
	failed := base("r-failed", "failed")
	failed.Attempts, failed.Completed, failed.LastError, failed.UniqueKey = 3, at(-10*time.Minute), "gave up", "k1"
	completed.AtMostOnce, completed.MaxRetries = true, 0
	cancelled := base("r-cancelled", "cancelled") // no completed time: it may be unknown
	return []kvtask.Task{due, later, running, held, completed, failed, cancelled}
}

// testTaskRestore: Restore stores tasks in every status exactly as given;
// claims then take the due pending task and the running one whose lease
// expired (its attempts go on from where they were), never a terminal one
// nor one whose lease is held; a task whose ID exists, or a pending task
// whose unique key is held, fails the whole call, and bad input stores
// nothing.
func testTaskRestore(t *testing.T, f BackendFactory) {
	ctx := context.Background()
	e := newTaskEnv(t, f)
	now := e.clock.Now()
	in := restoreSet(now)
	require.NoError(t, e.s.Restore(ctx, in...))
	for _, want := range in {
		got := mustTask(t, e.s, want.ID)
		require.Equal(t, want.Status, got.Status, want.ID)
		require.JSONEq(t, string(want.Payload), string(got.Payload), want.ID)
		require.True(t, got.Created.Equal(want.Created) && got.ScheduledFor.Equal(want.ScheduledFor), "%s times: %+v", want.ID, got)
		require.Equal(t, want.Attempts, got.Attempts, want.ID)
		require.Equal(t, want.MaxRetries, got.MaxRetries, want.ID)
		require.Equal(t, want.TimeoutSeconds, got.TimeoutSeconds, want.ID)
		require.Equal(t, want.Priority, got.Priority, want.ID)
		require.Equal(t, want.UniqueKey, got.UniqueKey, want.ID)
		require.Equal(t, want.LastError, got.LastError, want.ID)
		require.Equal(t, want.LockedBy, got.LockedBy, want.ID)
		require.Equal(t, want.Token, got.Token, want.ID)
		require.Equal(t, want.Lost, got.Lost, want.ID)
		require.Equal(t, want.AtMostOnce, got.AtMostOnce, want.ID)
		for _, p := range []struct {
			name      string
			want, got *time.Time
		}{{"started", want.Started, got.Started}, {"completed", want.Completed, got.Completed}, {"locked_until", want.LockedUntil, got.LockedUntil}} {
			require.Equal(t, p.want == nil, p.got == nil, "%s %s", want.ID, p.name)
			if p.want != nil {
				require.True(t, p.want.Equal(*p.got), "%s %s: %v, want %v", want.ID, p.name, *p.got, *p.want)
			}
		}
	}
	for status, n := range map[kvtask.Status]int{kvtask.StatusPending: 2, kvtask.StatusRunning: 2, kvtask.StatusCompleted: 1, kvtask.StatusFailed: 1, kvtask.StatusCancelled: 1} {
		got, err := e.s.List(ctx, status, "", 0, 0)
		require.NoError(t, err)
		require.Len(t, got, n, "tasks %s", status)
	}

	// Claims: the due pending task first (priority 3), then the running
	// task whose lease expired; nothing else.
	claimed, err := e.s.Claim(ctx, "new-runner", time.Minute, 10)
	require.NoError(t, err)
	require.Len(t, claimed, 2, "claimed %+v", claimed)
	require.Equal(t, "r-pending-due", claimed[0].ID)
	require.Equal(t, 3, claimed[0].Attempts, "attempts go on from the restored count")
	require.Equal(t, "r-running-expired", claimed[1].ID)
	require.Equal(t, 3, claimed[1].Attempts)
	require.Equal(t, 2, claimed[1].Lost, "its expired lease is one more lost attempt")
	require.Equal(t, int64(8), claimed[1].Token, "the token grows from the restored one")
	require.Equal(t, "new-runner", claimed[1].LockedBy)

	// An existing ID fails the whole call: the new task beside it is not
	// stored either.
	fresh := kvtask.Task{ID: "r-fresh", Name: "job", Status: kvtask.StatusPending, Created: now, ScheduledFor: now}
	dup := in[4]
	err = e.s.Restore(ctx, fresh, dup)
	require.ErrorIs(t, err, kvtask.ErrInvalidArgument)
	_, ok, err := e.s.Get(ctx, "r-fresh")
	require.NoError(t, err)
	require.False(t, ok, "a failed restore stored a task")

	// A pending task whose unique key a running task holds (r-pending-due,
	// now running, holds k1) fails the whole call too.
	keyed := fresh
	keyed.ID, keyed.UniqueKey = "r-keyed", "k1"
	err = e.s.Restore(ctx, fresh, keyed)
	require.ErrorIs(t, err, kvtask.ErrInvalidArgument)
	_, ok, err = e.s.Get(ctx, "r-fresh")
	require.NoError(t, err)
	require.False(t, ok, "a failed restore stored a task")

	// Bad input stores nothing: each case beside a good task.
	lease := now.Add(time.Minute)
	for name, bad := range map[string]kvtask.Task{
		"no id":                  {Name: "job", Status: kvtask.StatusPending, Created: now, ScheduledFor: now},
		"unknown status":         {ID: "x", Name: "job", Status: "paused", Created: now, ScheduledFor: now},
		"no created time":        {ID: "x", Name: "job", Status: kvtask.StatusPending, ScheduledFor: now},
		"running without lease":  {ID: "x", Name: "job", Status: kvtask.StatusRunning, Created: now, ScheduledFor: now},
		"pending with a lease":   {ID: "x", Name: "job", Status: kvtask.StatusPending, Created: now, ScheduledFor: now, LockedBy: "r", LockedUntil: &lease},
		"pending completed":      {ID: "x", Name: "job", Status: kvtask.StatusPending, Created: now, ScheduledFor: now, Completed: &lease},
		"negative attempts":      {ID: "x", Name: "job", Status: kvtask.StatusFailed, Created: now, ScheduledFor: now, Attempts: -1},
		"negative lost":          {ID: "x", Name: "job", Status: kvtask.StatusFailed, Created: now, ScheduledFor: now, Attempts: 1, Lost: -1},
		"more lost than tried":   {ID: "x", Name: "job", Status: kvtask.StatusFailed, Created: now, ScheduledFor: now, Attempts: 1, Lost: 2},
		"payload not JSON":       {ID: "x", Name: "job", Payload: json.RawMessage(`{`), Status: kvtask.StatusPending, Created: now, ScheduledFor: now},
		"last error with NUL":    {ID: "x", Name: "job", Status: kvtask.StatusFailed, Created: now, ScheduledFor: now, LastError: "a\x00b"},
		"same id twice in batch": fresh,
		"two holders of one key": {ID: "x", Name: "job", Status: kvtask.StatusPending, Created: now, ScheduledFor: now, UniqueKey: "k2"},
	} {
		first := fresh
		if name == "two holders of one key" {
			first.UniqueKey = "k2"
		}
		err := e.s.Restore(ctx, first, bad)
		require.Error(t, err, name)
		require.True(t, errors.Is(err, kvtask.ErrInvalidArgument) || errors.Is(err, kvcore.ErrInvalidValue), "%s: %v", name, err)
		_, ok, err := e.s.Get(ctx, "r-fresh")
		require.NoError(t, err)
		require.False(t, ok, "%s: a refused restore stored a task", name)
	}
	require.NoError(t, e.s.Restore(ctx)) // nothing to do
}
