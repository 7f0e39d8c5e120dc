package conformance

import (
	"context"
	"sync"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"github.com/kvsuite/kv/kvtask"
	taskdriver "github.com/kvsuite/kv/kvtask/driver"
)

// taskNotifier returns the queue's SubscribeTasks, or skips (saying why) if
// the backend has none and its runners poll.
func taskNotifier(t *testing.T, q taskdriver.Queue) taskdriver.Notifier {
	t.Helper()
	n, ok := q.(taskdriver.Notifier)
	if !ok {
		t.Skipf("SKIP: the queue (%T) does not implement the optional kvtask/driver.Notifier: runners poll", q)
	}
	return n
}

// signalled reports whether ch receives within d.
func signalled(ch <-chan struct{}, d time.Duration) bool {
	select {
	case <-ch:
		return true
	case <-time.After(d):
		return false
	}
}

// testTaskNotify: a task subscription is signalled after an insert, a batch
// insert, a retry and a fired schedule, and closed when its context ends.
// Signals may be coalesced or spurious, so only their arrival is asserted.
func testTaskNotify(t *testing.T, f BackendFactory) {
	ctx := context.Background()
	e := newTaskEnv(t, f)
	n := taskNotifier(t, e.q)
	sctx, cancel := context.WithCancel(ctx)
	defer cancel()
	ch, err := n.SubscribeTasks(sctx)
	require.NoError(t, err)
	// Drop signals sent before the test's writes (a listener may signal
	// once it listens).
	for signalled(ch, 300*time.Millisecond) {
	}

	task := kvtask.NewTask("job", nil)
	task.MaxRetries = 1
	require.NoError(t, e.s.New(ctx, task))
	require.True(t, signalled(ch, 5*time.Second), "an insert signals")
	for signalled(ch, 100*time.Millisecond) {
	}
	_, err = e.s.EnqueueMany(ctx, []kvtask.Task{kvtask.NewTask("batch", nil), kvtask.NewTask("batch", nil)})
	require.NoError(t, err)
	require.True(t, signalled(ch, 5*time.Second), "a batch insert signals")

	ts, err := e.s.Claim(ctx, "r", time.Minute, 1, "job")
	require.NoError(t, err)
	require.Len(t, ts, 1)
	for signalled(ch, 100*time.Millisecond) { // a claim may signal (spuriously)
	}
	require.NoError(t, e.s.Finish(ctx, ts[0], "r", kvtask.Outcome{Status: taskdriver.Pending, RetryAt: e.clock.Now()}))
	require.True(t, signalled(ch, 5*time.Second), "a retry signals")

	require.NoError(t, e.s.Schedule(ctx, "tick", "* * * * *", kvtask.NewTask("report", nil)))
	for signalled(ch, 100*time.Millisecond) {
	}
	e.clock.Advance(time.Minute)
	fired, err := e.s.FireDue(ctx)
	require.NoError(t, err)
	require.Equal(t, 1, fired)
	require.True(t, signalled(ch, 5*time.Second), "a fired schedule signals")

	cancel()
	require.Eventually(t, func() bool {
		select {
		case _, open := <-ch:
			return !open
		default:
			return false
		}
	}, 5*time.Second, time.Millisecond, "the subscription is closed when its context ends")
}

// testRunnerWakes: a runner waiting idle is woken by the backend's signal
// for a new task. Its poll interval is an hour, so only the signal can wake
// it in time.
func testRunnerWakes(t *testing.T, f BackendFactory) {
	ctx := context.Background()
	e := newTaskEnv(t, f)
	q := &claimWatch{Queue: e.q, Notifier: taskNotifier(t, e.q), idle: make(chan struct{})}
	s, err := kvtask.New(q) // the real clock: the runner waits in real time
	require.NoError(t, err)
	r := quietRunner(s, "sleeper")
	r.PollInterval = time.Hour
	ran := make(chan string, 1)
	r.RegisterHandler("wake", func(ctx context.Context, task kvtask.Task) error {
		ran <- task.ID
		return nil
	})
	rctx, stop := context.WithCancel(ctx)
	defer stop()
	runErr := make(chan error, 1)
	go func() { runErr <- r.Run(rctx) }()
	// Let it go idle (it found no task), so that it must be woken.
	waitIdle(t, q.idle, runErr, "runner")

	task := kvtask.NewTask("wake", nil)
	require.NoError(t, s.New(ctx, task))
	select {
	case id := <-ran:
		require.Equal(t, task.ID, id)
	case <-time.After(20 * time.Second):
		t.Fatal("the idle runner was not woken for a new task")
	}
	stop()
	require.NoError(t, <-runErr)
}

// claimWatch is a queue that closes idle once a Claim found no task: a
// runner that made it is idle, waiting for a signal or its poll interval.
type claimWatch struct {
	taskdriver.Queue
	taskdriver.Notifier
	once sync.Once
	idle chan struct{}
}

func (w *claimWatch) Claim(ctx context.Context, c taskdriver.Claim) ([]taskdriver.Task, error) {
	ts, err := w.Queue.Claim(ctx, c)
	if err == nil && len(ts) == 0 {
		w.once.Do(func() { close(w.idle) })
	}
	return ts, err
}
