package conformance

import (
	"context"
	"errors"
	"fmt"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"github.com/kvsuite/kv/kvlock"
	"github.com/kvsuite/kv/kvstream"
)

// testConsumerRunBatch: RunBatch hands out whole batches in order and
// commits what the handler reports handled, also when it fails part-way;
// an impossible count commits nothing; the handler's context ends when the
// lease is lost; a shutdown commits what was handled; CommitNone never
// commits.
func testConsumerRunBatch(t *testing.T, f BackendFactory) {
	ctx := context.Background()
	// batches runs c.RunBatch with handle and returns the seqs of each
	// batch it received and Run's error.
	batches := func(c *kvstream.Consumer, handle func(ctx context.Context, recs []kvstream.Record) (int, error)) ([][]int64, error) {
		var got [][]int64
		err := c.RunBatch(ctx, func(ctx context.Context, recs []kvstream.Record) (int, error) {
			var seqs []int64
			for _, r := range recs {
				seqs = append(seqs, r.Seq)
			}
			got = append(got, seqs)
			return handle(ctx, recs)
		})
		return got, err
	}
	position := func(e retryEnv, name string) int64 {
		st, err := e.stream.ConsumerStatus(ctx, name)
		require.NoError(t, err)
		return st.Position
	}
	errPlanned := errors.New("planned failure")
	// consumer puts n keys in a fresh environment and returns a consumer
	// of them with opts.
	consumer := func(t *testing.T, n int, name string, opts ...kvstream.ConsumerOption) (retryEnv, *kvstream.Consumer) {
		e := newRetryEnv(t, f, &flakyStream{})
		for i := range n {
			require.NoError(t, e.store.Put(ctx, fmt.Sprintf("k%d", i), -1, i))
		}
		c, err := e.stream.Consumer(name, append(opts, kvstream.LeaseDuration(5*time.Second))...)
		require.NoError(t, err)
		return e, c
	}

	t.Run("Partial", func(t *testing.T) {
		e, c := consumer(t, 7, "batch", kvstream.BatchSize(3))
		// The second batch fails after its first record.
		got, err := batches(c, func(_ context.Context, recs []kvstream.Record) (int, error) {
			if recs[0].Seq == 4 {
				return 1, errPlanned
			}
			return len(recs), nil
		})
		require.ErrorIs(t, err, errPlanned)
		require.ErrorContains(t, err, "record 5", "the error names the first record not handled")
		require.Equal(t, [][]int64{{1, 2, 3}, {4, 5, 6}}, got)
		require.Equal(t, int64(4), position(e, "batch"), "the records handled are committed")

		// The next run starts after them; a count above the batch's size
		// stops it and commits nothing.
		got, err = batches(c, func(_ context.Context, recs []kvstream.Record) (int, error) {
			return len(recs) + 1, nil
		})
		require.ErrorIs(t, err, kvstream.ErrInvalidArgument)
		require.Equal(t, [][]int64{{5, 6, 7}}, got)
		require.Equal(t, int64(4), position(e, "batch"))

		// A shutdown while a batch is handled still commits it.
		rctx, cancel := context.WithCancel(ctx)
		defer cancel()
		var seen [][]int64
		require.NoError(t, c.RunBatch(rctx, func(hctx context.Context, recs []kvstream.Record) (int, error) {
			seen = append(seen, []int64{recs[0].Seq, recs[len(recs)-1].Seq})
			cancel()
			<-hctx.Done()
			return len(recs), nil
		}))
		require.Equal(t, [][]int64{{5, 7}}, seen)
		require.Equal(t, int64(7), position(e, "batch"))
		require.NotContains(t, e.log.String(), "level=ERROR")
	})

	t.Run("None", func(t *testing.T) {
		e, c := consumer(t, 4, "peek", kvstream.BatchSize(2), kvstream.Commit(kvstream.CommitNone))
		got, err := batches(c, func(_ context.Context, recs []kvstream.Record) (int, error) {
			if recs[0].Seq == 3 {
				return 0, errPlanned
			}
			return len(recs), nil
		})
		require.ErrorIs(t, err, errPlanned)
		require.Equal(t, [][]int64{{1, 2}, {3, 4}}, got, "the position moves on in memory")
		require.Equal(t, int64(0), position(e, "peek"), "nothing committed")
	})

	t.Run("LeaseLost", func(t *testing.T) {
		e := newRetryEnv(t, f, &flakyStream{})
		require.NoError(t, e.store.Put(ctx, "k", -1, 1))
		c, err := e.stream.Consumer("lost", kvstream.LeaseDuration(300*time.Millisecond))
		require.NoError(t, err)
		started := make(chan struct{})
		cause := make(chan error, 1)
		done := make(chan error, 1)
		go func() {
			done <- c.RunBatch(ctx, func(hctx context.Context, recs []kvstream.Record) (int, error) {
				close(started)
				<-hctx.Done() // a handler retrying until it may not
				cause <- context.Cause(hctx)
				return 0, context.Cause(hctx)
			})
		}()
		select {
		case <-started:
		case err := <-done:
			t.Fatalf("RunBatch returned before handling: %v", err)
		case <-time.After(20 * time.Second):
			t.Fatal("the batch was not handed out")
		}
		takeOverExpired(t, e.clock, e.stream.Locker(), kvstream.LeasePrefix+"lost", "other-instance")
		err = waitRun(t, done)
		require.ErrorIs(t, err, kvlock.ErrLost)
		require.ErrorIs(t, <-cause, kvlock.ErrLost, "the handler's context ends with the lost lease")
		require.Equal(t, int64(0), position(e, "lost"))
	})
}
