package conformance

import (
	"context"
	"sync"
	"testing"

	"github.com/stretchr/testify/require"

	"github.com/kvsuite/kv/kvtask"
	taskdriver "github.com/kvsuite/kv/kvtask/driver"
)

// testRunnerStopsWhileClaiming: a runner told to stop while its claim
// commits gives the tasks it claimed back, unrun and with their attempt
// unused, instead of leaving them running under it until their leases
// expire. The queue stops the runner once its claim has committed and then
// answers as a driver whose context ended during the write does (with the
// context's error, the write committed all the same).
func testRunnerStopsWhileClaiming(t *testing.T, f BackendFactory) {
	ctx := context.Background()
	e := newTaskEnv(t, f)
	rctx, stop := context.WithCancel(ctx)
	defer stop()
	q := &stopOnClaim{Queue: e.q, stop: stop}
	s, err := kvtask.New(q, kvtask.WithClock(e.clock.Now))
	require.NoError(t, err)
	task := kvtask.NewTask("job", nil)
	require.NoError(t, s.New(ctx, task))

	r := quietRunner(s, "stopping")
	ran := false
	r.RegisterHandler("job", func(context.Context, kvtask.Task) error { ran = true; return nil })
	require.NoError(t, r.Run(rctx))
	require.True(t, q.claimed, "the runner claimed the task")
	require.False(t, ran, "no handler starts once the runner was told to stop")
	got, ok, err := e.s.Get(ctx, task.ID)
	require.NoError(t, err)
	require.True(t, ok)
	require.Equal(t, kvtask.StatusPending, got.Status, "the claimed task was given back")
	require.Equal(t, 0, got.Attempts, "its attempt was not used")

	// Another runner runs it at once, without waiting for a lease.
	r2 := quietRunner(e.s, "next")
	done := make(chan string, 1)
	r2.RegisterHandler("job", func(_ context.Context, t kvtask.Task) error { done <- t.ID; return nil })
	require.NoError(t, r2.RunUntilIdle(ctx))
	require.Equal(t, task.ID, <-done)
}

// stopOnClaim is a queue that calls stop once a claim has taken a task,
// then returns as a driver does whose context ended while its write ran:
// ctx's error, though the claim committed.
type stopOnClaim struct {
	taskdriver.Queue
	stop    context.CancelFunc
	once    sync.Once
	claimed bool
}

func (q *stopOnClaim) Claim(ctx context.Context, c taskdriver.Claim) ([]taskdriver.Task, error) {
	ts, err := q.Queue.Claim(ctx, c)
	if err == nil && len(ts) > 0 {
		q.once.Do(func() { q.claimed = true; q.stop() })
	}
	if ctx.Err() != nil {
		return nil, ctx.Err()
	}
	return ts, err
}
