package conformance

import (
	"cmp"
	"context"
	"fmt"
	"math/rand/v2"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	taskdriver "github.com/kvsuite/kv/kvtask/driver"
)

// testTaskClaimModel: over random queues (priorities from a small set or a
// wide one, due and future tasks, names (one or several, repeated, or
// naming no task), leases that expire, retries),
// every Claim takes exactly the tasks a model computes: the
// claimable ones (pending and due, or running with an expired lease) of
// the names asked, the first Limit in claim order (priority descending,
// scheduled_for, id). It guards the drivers' claim statements, which do
// not walk the tasks in claim order but seek each priority's due range
// (with names, each name's). The model follows inserts, claims and
// outcomes itself, and List must agree with it every few rounds and at the
// end, so the stored state of every claimed and finished task is checked
// too.
func testTaskClaimModel(t *testing.T, f BackendFactory) {
	ctx := context.Background()
	e := newTaskEnv(t, f)
	rng := rand.New(rand.NewPCG(1, 2))
	now := e.clock.Now()
	names := []string{"a", "b", "c"}
	var model []taskdriver.Task // in insertion order
	index := map[string]int{}   // task ID -> position in model
	next := 0
	const rounds, listEvery = 300, 25
	for round := range rounds {
		// A few new tasks, scheduled up to ten minutes either side of now.
		var ts []taskdriver.Task
		for range rng.IntN(6) {
			next++
			task := pendingTask(fmt.Sprintf("t%04d", next), "", now)
			task.Name = names[rng.IntN(len(names))]
			task.Priority = rng.IntN(4) - 1
			if rng.IntN(4) == 0 {
				task.Priority = rng.IntN(200) - 100
			}
			task.ScheduledFor = now.Add(time.Duration(rng.IntN(1200)-600) * time.Second)
			ts = append(ts, task)
		}
		if len(ts) > 0 {
			_, err := e.q.InsertMany(ctx, ts)
			require.NoError(t, err)
			for _, task := range ts {
				index[task.ID] = len(model)
				model = append(model, task)
			}
		}
		now = now.Add(time.Duration(rng.IntN(90)) * time.Second)

		c := taskdriver.Claim{Runner: "r", Now: now, Lease: time.Duration(1+rng.IntN(300)) * time.Second, Limit: 1 + rng.IntN(8)}
		switch rng.IntN(6) {
		case 0, 1:
			c.Names = names[:1+rng.IntN(2)]
		case 2:
			// A name twice and one no task has: each counts once.
			c.Names = []string{"c", "a", "c", "none"}
		}
		want := modelClaim(model, c)
		got, err := e.q.Claim(ctx, c)
		require.NoError(t, err)
		require.Equal(t, want, taskIDs(got), "round %d, claim %+v", round, c)
		requireClaimCounts(t, model, got)
		for _, task := range got {
			m := &model[index[task.ID]]
			if m.Status == taskdriver.Running {
				m.Lost++
			}
			m.Status, m.Attempts, m.LockedUntil = taskdriver.Running, m.Attempts+1, now.Add(c.Lease)
		}
		// Finish half of them: completed, or pending again for a retry.
		for _, task := range got {
			if rng.IntN(2) == 0 {
				continue
			}
			o := taskdriver.Outcome{Status: taskdriver.Completed}
			if rng.IntN(2) == 0 {
				o = taskdriver.Outcome{Status: taskdriver.Pending, RetryAt: now.Add(time.Duration(rng.IntN(300)) * time.Second)}
			}
			require.NoError(t, taskdriver.FinishOne(ctx, e.q, task.ID, task.LockedBy, task.Token, o, now))
			m := &model[index[task.ID]]
			m.Status = o.Status
			if o.Status == taskdriver.Pending {
				m.ScheduledFor = o.RetryAt
			}
		}
		if round%listEvery == listEvery-1 || round == rounds-1 {
			all, err := e.q.List(ctx, taskdriver.Filter{})
			require.NoError(t, err)
			require.Equal(t, claimState(model), claimState(all), "round %d: List against the model", round)
		}
	}
}

// claimState is, for each task in ID order, what decides whether and when a
// claim takes it and what a claim counts: its name, status, priority, due
// time (pending) or lease (running), attempts and lost attempts.
func claimState(ts []taskdriver.Task) []string {
	out := make([]string, len(ts))
	for i, task := range ts {
		due := ""
		switch task.Status {
		case taskdriver.Pending:
			due = "scheduled " + task.ScheduledFor.UTC().Format(time.RFC3339Nano)
		case taskdriver.Running:
			due = "locked until " + task.LockedUntil.UTC().Format(time.RFC3339Nano)
		}
		out[i] = fmt.Sprintf("%s %s %s priority %d %s attempts %d lost %d",
			task.ID, task.Name, task.Status, task.Priority, due, task.Attempts, task.Lost)
	}
	slices.Sort(out)
	return out
}

// modelClaim returns the IDs of the tasks c takes from all, in claim order.
func modelClaim(all []taskdriver.Task, c taskdriver.Claim) string {
	var ok []taskdriver.Task
	for _, task := range all {
		due := (task.Status == taskdriver.Pending && !task.ScheduledFor.After(c.Now)) ||
			(task.Status == taskdriver.Running && !task.LockedUntil.After(c.Now))
		if due && (len(c.Names) == 0 || slices.Contains(c.Names, task.Name)) {
			ok = append(ok, task)
		}
	}
	slices.SortFunc(ok, func(a, b taskdriver.Task) int {
		return cmp.Or(cmp.Compare(b.Priority, a.Priority), a.ScheduledFor.Compare(b.ScheduledFor), strings.Compare(a.ID, b.ID))
	})
	return taskIDs(ok[:min(len(ok), c.Limit)])
}

// requireClaimCounts checks the counts of each task a claim took (got)
// against the task before the claim (in before, the model): one more attempt, and one
// more lost attempt if the claim took it over from an expired lease.
func requireClaimCounts(t *testing.T, before, got []taskdriver.Task) {
	t.Helper()
	for _, g := range got {
		i := slices.IndexFunc(before, func(b taskdriver.Task) bool { return b.ID == g.ID })
		require.GreaterOrEqual(t, i, 0, "claimed task %s was not listed before the claim", g.ID)
		b := before[i]
		wantLost := b.Lost
		if b.Status == taskdriver.Running {
			wantLost++
		}
		require.Equal(t, []int{b.Attempts + 1, wantLost}, []int{g.Attempts, g.Lost},
			"task %s (%s before the claim): attempts and lost attempts after it", g.ID, b.Status)
	}
}

// taskIDs is the tasks' IDs, comma-separated.
func taskIDs(ts []taskdriver.Task) string {
	ids := make([]string, len(ts))
	for i, task := range ts {
		ids[i] = task.ID
	}
	return strings.Join(ids, ",")
}
