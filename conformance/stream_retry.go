package conformance

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"log/slog"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"github.com/kvsuite/kv/kvcore"
	coredriver "github.com/kvsuite/kv/kvcore/driver"
	"github.com/kvsuite/kv/kvlock"
	"github.com/kvsuite/kv/kvstream"
	streamdriver "github.com/kvsuite/kv/kvstream/driver"
)

// errFlaky is the transient error flakyStream injects (as a dropped
// connection would be).
var errFlaky = errors.New("flaky: connection reset by peer")

// flakyStream wraps a backend's stream driver: it fails the next reads and
// commits it is told to, with errFlaky or a chosen error, then passes calls
// through. It hides the backend's Notifier: consumers poll.
type flakyStream struct {
	streamdriver.Stream
	mu          sync.Mutex
	failReads   int   // how many more reads fail (-1: all)
	failCommits int   // how many more commits fail (-1: all)
	commitErr   error // what a failing commit returns (default errFlaky)
	reads       int   // reads that failed
	commits     int   // commits that failed
}

func (f *flakyStream) Read(ctx context.Context, q streamdriver.Query) ([]streamdriver.Record, int64, int64, error) {
	f.mu.Lock()
	if f.failReads != 0 {
		f.failReads--
		f.reads++
		f.mu.Unlock()
		return nil, 0, 0, fmt.Errorf("read: %w", errFlaky)
	}
	f.mu.Unlock()
	return f.Stream.Read(ctx, q)
}

func (f *flakyStream) Commit(ctx context.Context, name string, position int64, fence *coredriver.Fence, now time.Time) error {
	f.mu.Lock()
	if f.failCommits != 0 {
		f.failCommits--
		f.commits++
		err := f.commitErr
		f.mu.Unlock()
		if err == nil {
			err = errFlaky
		}
		return fmt.Errorf("commit: %w", err)
	}
	f.mu.Unlock()
	return f.Stream.Commit(ctx, name, position, fence, now)
}

func (f *flakyStream) failed() (reads, commits int) {
	f.mu.Lock()
	defer f.mu.Unlock()
	return f.reads, f.commits
}

// syncBuffer is a log destination safe for concurrent writes.
type syncBuffer struct {
	mu sync.Mutex
	b  bytes.Buffer
}

func (s *syncBuffer) Write(p []byte) (int, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.b.Write(p)
}

func (s *syncBuffer) String() string {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.b.String()
}

// retryEnv is a store, a stream over flaky, a consumer and a log.
type retryEnv struct {
	store  *kvcore.Store
	stream *kvstream.Stream
	flaky  *flakyStream
	clock  *Clock
	log    *syncBuffer
}

func newRetryEnv(t *testing.T, f BackendFactory, flaky *flakyStream) retryEnv {
	t.Helper()
	b := f(t)
	require.NotNil(t, b.Stream, "the backend has no Stream")
	flaky.Stream = b.Stream
	clock := NewClock(time.Time{})
	store, err := kvcore.New(b.Store, kvcore.WithClock(clock.Now), kvcore.WithSweepInterval(0))
	require.NoError(t, err)
	t.Cleanup(func() { _ = store.Close() })
	log := &syncBuffer{}
	st, err := kvstream.New(flaky, kvstream.WithClock(clock.Now), kvstream.WithMaxPoll(20*time.Millisecond),
		kvstream.WithRetryBackoff(5*time.Millisecond, 40*time.Millisecond),
		kvstream.WithLogger(slog.New(slog.NewTextHandler(log, &slog.HandlerOptions{Level: slog.LevelWarn}))))
	require.NoError(t, err)
	return retryEnv{store: store, stream: st, flaky: flaky, clock: clock, log: log}
}

// run starts c.Run, sending each record to the returned channel.
func run(ctx context.Context, c *kvstream.Consumer) (<-chan kvstream.Record, <-chan error) {
	got := make(chan kvstream.Record, 100)
	done := make(chan error, 1)
	go func() {
		done <- c.Run(ctx, func(ctx context.Context, r kvstream.Record) error {
			got <- r
			return nil
		})
	}()
	return got, done
}

func waitRun(t *testing.T, done <-chan error) error {
	t.Helper()
	select {
	case err := <-done:
		return err
	case <-time.After(20 * time.Second):
		t.Fatal("Run did not return")
		return nil
	}
}

// waitIdle waits until idle closes: a consumer or runner started with
// runErr went idle (what names it).
func waitIdle(t *testing.T, idle <-chan struct{}, runErr <-chan error, what string) {
	t.Helper()
	select {
	case <-idle:
	case err := <-runErr:
		t.Fatalf("Run returned before the %s went idle: %v", what, err)
	case <-time.After(20 * time.Second):
		t.Fatalf("the %s did not go idle", what)
	}
}

// testConsumerRunRetries: Run retries reads and commits that fail with a
// transient error (logging each at warn), delivers every record once, in
// order, and commits the last; it returns nil when ctx ends, even while
// retrying.
func testConsumerRunRetries(t *testing.T, f BackendFactory) {
	for _, mode := range []kvstream.CommitMode{kvstream.CommitBatch, kvstream.CommitAll} {
		t.Run(string(mode), func(t *testing.T) {
			e := newRetryEnv(t, f, &flakyStream{failReads: 3, failCommits: 2})
			ctx := context.Background()
			for i := range 5 {
				require.NoError(t, e.store.Put(ctx, fmt.Sprintf("k%d", i), -1, i))
			}
			c, err := e.stream.Consumer("flaky", kvstream.Commit(mode), kvstream.BatchSize(2), kvstream.LeaseDuration(5*time.Second))
			require.NoError(t, err)
			rctx, cancel := context.WithCancel(ctx)
			defer cancel()
			got, done := run(rctx, c)
			for i := range 5 {
				select {
				case r := <-got:
					require.Equal(t, fmt.Sprintf("k%d", i), r.Key, "records in order, none twice")
				case err := <-done:
					t.Fatalf("Run returned %v before record %d", err, i)
				case <-time.After(20 * time.Second):
					t.Fatalf("record %d not delivered", i)
				}
			}
			require.Eventually(t, func() bool {
				s, err := e.stream.ConsumerStatus(ctx, "flaky")
				return err == nil && s.Position == 5
			}, 20*time.Second, 5*time.Millisecond, "the last record is committed")
			reads, commits := e.flaky.failed()
			require.Equal(t, []int{3, 2}, []int{reads, commits})
			log := e.log.String()
			require.Equal(t, 3, strings.Count(log, `level=WARN msg="consumer read failed: retrying"`), log)
			require.Equal(t, 2, strings.Count(log, `level=WARN msg="consumer commit failed: retrying"`), log)
			require.NotContains(t, log, "level=ERROR")

			// Reads failing for good: Run keeps retrying until ctx ends,
			// then returns nil.
			e.flaky.mu.Lock()
			e.flaky.failReads = -1
			e.flaky.mu.Unlock()
			time.Sleep(100 * time.Millisecond)
			select {
			case err := <-done:
				t.Fatalf("Run stopped on transient errors: %v", err)
			default:
			}
			cancel()
			require.NoError(t, waitRun(t, done))
			select {
			case r := <-got:
				t.Fatalf("record %d delivered twice", r.Seq)
			default:
			}
		})
	}
}

// testConsumerRunStops: a fenced commit stops Run at once (no retry), and a
// lease lost while Run is retrying transient read errors stops it too. A
// Run whose context ends while a handler runs hands out no further record,
// still commits what was handled and returns nil.
func testConsumerRunStops(t *testing.T, f BackendFactory) {
	ctx := context.Background()
	for _, mode := range []kvstream.CommitMode{kvstream.CommitAll, kvstream.CommitBatch} {
		t.Run("Cancelled/"+string(mode), func(t *testing.T) {
			e := newRetryEnv(t, f, &flakyStream{})
			for i := range 5 {
				require.NoError(t, e.store.Put(ctx, fmt.Sprintf("k%d", i), -1, i))
			}
			c, err := e.stream.Consumer("stop", kvstream.Commit(mode), kvstream.BatchSize(10), kvstream.LeaseDuration(5*time.Second))
			require.NoError(t, err)
			// runFor runs c until it has handled n records, cancelling its
			// context (a shutdown) while the n-th is handled.
			runFor := func(n int) []string {
				rctx, cancel := context.WithCancel(ctx)
				defer cancel()
				var seen []string
				require.NoError(t, c.Run(rctx, func(_ context.Context, r kvstream.Record) error {
					if seen = append(seen, r.Key); len(seen) == n {
						cancel()
					}
					return nil
				}))
				return seen
			}
			require.Equal(t, []string{"k0", "k1", "k2"}, runFor(3), "no record after the context ended")
			st, err := e.stream.ConsumerStatus(ctx, "stop")
			require.NoError(t, err)
			require.Equal(t, int64(3), st.Position, "the records handled are committed")
			require.False(t, st.Held)
			require.NotContains(t, e.log.String(), "level=")
			// The next run starts after them.
			require.Equal(t, []string{"k3", "k4"}, runFor(2))
		})
	}
	t.Run("Fenced", func(t *testing.T) {
		e := newRetryEnv(t, f, &flakyStream{failCommits: -1, commitErr: kvstream.ErrFenced})
		require.NoError(t, e.store.Put(ctx, "k", -1, 1))
		c, err := e.stream.Consumer("fenced", kvstream.LeaseDuration(5*time.Second))
		require.NoError(t, err)
		_, done := run(ctx, c)
		err = waitRun(t, done)
		require.ErrorIs(t, err, kvstream.ErrFenced)
		_, commits := e.flaky.failed()
		require.Equal(t, 1, commits, "a fenced commit is not retried")
		require.NotContains(t, e.log.String(), "retrying")
		require.Contains(t, e.log.String(), `level=ERROR msg="consumer commit failed"`)
	})
	t.Run("LeaseLost", func(t *testing.T) {
		e := newRetryEnv(t, f, &flakyStream{failReads: -1})
		c, err := e.stream.Consumer("lost", kvstream.LeaseDuration(300*time.Millisecond))
		require.NoError(t, err)
		_, done := run(ctx, c)
		require.Eventually(t, func() bool {
			reads, _ := e.flaky.failed()
			return reads >= 2
		}, 20*time.Second, 5*time.Millisecond, "Run retries the failing reads")
		// The lease expires and another instance takes it over.
		takeOverExpired(t, e.clock, e.stream.Locker(), kvstream.LeasePrefix+"lost", "other-instance")
		err = waitRun(t, done)
		require.ErrorIs(t, err, kvlock.ErrLost)
		require.Contains(t, e.log.String(), `level=ERROR msg="consumer lost its lease"`)
	})
}
