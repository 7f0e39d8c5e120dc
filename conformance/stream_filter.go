package conformance

import (
	"context"
	"fmt"
	"sync"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"github.com/kvsuite/kv/kvcore"
	"github.com/kvsuite/kv/kvstream"
)

// testConsumerFiltered: a consumer whose filters leave out most entries
// (other types, other namespaces) moves its position past the entries it
// skipped, not only past those it delivered: once it has read everything
// its position is the stream's last seq, its lag is 0 and a trim passes it,
// with Get and with Run, in commit modes batch and all; a peek (CommitNone)
// commits nothing.
func testConsumerFiltered(t *testing.T, f BackendFactory) {
	ctx := context.Background()
	e := newStreamEnv(t, f, kvstream.WithMaxPoll(50*time.Millisecond))
	other, err := e.store.Namespace("other")
	require.NoError(t, err)
	// 40 entries: every tenth is a Wanted in the default namespace, every
	// tenth another in "other"; the stream ends with noise.
	write := func(from, to int) {
		t.Helper()
		for i := from; i < to; i++ {
			switch i % 10 {
			case 3:
				require.NoError(t, e.store.Put(ctx, fmt.Sprintf("w%d", i), -1, i, kvcore.WithType("Wanted")))
			case 6:
				require.NoError(t, other.Put(ctx, fmt.Sprintf("o%d", i), -1, i, kvcore.WithType("Noise")))
			default:
				require.NoError(t, e.store.Put(ctx, fmt.Sprintf("n%d", i), -1, i, kvcore.WithType("Noise")))
			}
		}
	}
	write(0, 40)
	all := readAll(t, e.stream)
	require.Len(t, all, 40)
	last := all[39].Seq
	wanted := readAll(t, e.stream, kvstream.OfType("Wanted"))
	require.Len(t, wanted, 4)
	status := func(name string) kvstream.ConsumerStatus {
		t.Helper()
		st, err := e.stream.ConsumerStatus(ctx, name)
		require.NoError(t, err)
		return st
	}
	// at reports whether the consumer name exists at position seq (for
	// polling: it does not fail the test).
	at := func(name string, seq int64) func() bool {
		return func() bool {
			st, err := e.stream.ConsumerStatus(ctx, name)
			return err == nil && st.Position == seq
		}
	}
	keysOf := func(rs []kvstream.Record) []string {
		out := make([]string, len(rs))
		for i, r := range rs {
			out[i] = r.Key
		}
		return out
	}

	// Get, batch mode: a full batch covers up to its last record; the
	// last, short batch covers the rest of the stream.
	byType, err := e.stream.Consumer("by-type", kvstream.Filters(kvstream.OfType("Wanted")), kvstream.BatchSize(3))
	require.NoError(t, err)
	b, err := byType.GetBatch(ctx)
	require.NoError(t, err)
	require.Equal(t, keysOf(wanted[:3]), keysOf(b.Records))
	require.Equal(t, wanted[2].Seq, b.Through, "a full batch covers up to its last record")
	require.Equal(t, wanted[2].Seq, status("by-type").Position)
	b, err = byType.GetBatch(ctx)
	require.NoError(t, err)
	require.Equal(t, keysOf(wanted[3:]), keysOf(b.Records))
	require.Equal(t, last, b.Through, "a short batch covers the rest of the stream")
	st := status("by-type")
	require.Equal(t, last, st.Position, "the position moves past the skipped entries")
	require.Equal(t, int64(0), st.Lag)
	rs, err := byType.Get(ctx)
	require.NoError(t, err)
	require.Empty(t, rs)
	require.NoError(t, byType.Close(ctx))

	// A namespace filter that nothing after the position matches: no
	// records, and the position still moves to the end.
	byNS, err := e.stream.Consumer("by-namespace", kvstream.Filters(kvstream.InNamespace("nowhere")))
	require.NoError(t, err)
	rs, err = byNS.Get(ctx)
	require.NoError(t, err)
	require.Empty(t, rs)
	require.Equal(t, last, status("by-namespace").Position)
	require.NoError(t, byNS.Close(ctx))

	// Trimming is not held back by consumers that skipped entries.
	to, err := e.stream.Trim(ctx, last)
	require.NoError(t, err)
	require.Equal(t, last, to, "trim passes the filtered consumers")

	// Run, in modes all and batch, with a type and a namespace filter: the
	// consumer gets only its records, then commits the end of the stream,
	// also when only skipped entries follow.
	write(40, 80)
	all = readAll(t, e.stream)
	require.Len(t, all, 40)
	for _, c := range []*kvstream.Consumer{byType, byNS} {
		for {
			rs, err := c.Get(ctx)
			require.NoError(t, err)
			if len(rs) == 0 {
				break
			}
		}
		require.NoError(t, c.Close(ctx))
		require.Equal(t, all[len(all)-1].Seq, status(c.Name()).Position, c.Name())
	}
	for _, batch := range []bool{false, true} { // Run, RunBatch
		for _, mode := range []kvstream.CommitMode{kvstream.CommitAll, kvstream.CommitBatch} {
			for i, filter := range []kvstream.Filter{kvstream.OfType("Wanted"), kvstream.InNamespace("other")} {
				name := fmt.Sprintf("run-%s-%d-batch-%v", mode, i, batch)
				c, err := e.stream.Consumer(name, kvstream.Filters(filter), kvstream.Commit(mode), kvstream.BatchSize(3))
				require.NoError(t, err)
				want := keysOf(readAll(t, e.stream, filter))
				require.Len(t, want, 4)
				got := runUntil(t, c, batch, len(want), at(name, all[len(all)-1].Seq))
				require.Equal(t, want, got, "%s %s", mode, name)
				st := status(name)
				require.Equal(t, all[len(all)-1].Seq, st.Position, "%s: the position is the last seq scanned", name)
				require.Equal(t, int64(0), st.Lag, name)
				require.False(t, st.Held)
			}
		}
	}
	to, err = e.stream.Trim(ctx, all[len(all)-1].Seq)
	require.NoError(t, err)
	require.Equal(t, all[len(all)-1].Seq, to, "trim passes the consumers that ran")

	// A running filtered consumer commits past entries it skips while it
	// waits: only noise is written while it runs.
	live, err := e.stream.Consumer("live", kvstream.Filters(kvstream.OfType("Wanted")), kvstream.Commit(kvstream.CommitBatch))
	require.NoError(t, err)
	runCtx, cancel := context.WithCancel(ctx)
	defer cancel()
	recs, done := run(runCtx, live)
	require.Eventually(t, at("live", to), 20*time.Second, 10*time.Millisecond)
	for i := 80; i < 85; i++ {
		require.NoError(t, e.store.Put(ctx, fmt.Sprintf("n%d", i), -1, i, kvcore.WithType("Noise")))
	}
	end, err := e.stream.Seq(ctx)
	require.NoError(t, err)
	require.Eventually(t, at("live", end), 20*time.Second, 10*time.Millisecond,
		"the running consumer commits past the noise")
	cancel()
	require.NoError(t, waitRun(t, done))
	require.Empty(t, recs)

	// A peek commits nothing: not with Get, not with Run.
	peek, err := e.stream.Consumer("peek", kvstream.Filters(kvstream.OfType("Noise")), kvstream.Commit(kvstream.CommitNone), kvstream.BatchSize(2))
	require.NoError(t, err)
	for range 2 {
		b, err := peek.GetBatch(ctx)
		require.NoError(t, err)
		require.Len(t, b.Records, 2, "a peek reads the same batch again")
	}
	start := status("peek").Position
	require.Equal(t, to, start, "a new consumer starts where the stream does")
	require.NoError(t, peek.Close(ctx))
	n := 0
	_ = runUntil(t, peek, false, 5, func() bool { n++; return n > 3 })
	require.Equal(t, start, status("peek").Position, "a peek commits nothing")
}

// runUntil runs c (with RunBatch if batch, else Run) until it has handled
// n records and then done reports true (polled), and returns the keys of
// the records, in order.
func runUntil(t *testing.T, c *kvstream.Consumer, batch bool, n int, done func() bool) []string {
	t.Helper()
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	var mu sync.Mutex
	var keys []string
	count := func() int { mu.Lock(); defer mu.Unlock(); return len(keys) }
	runErr := make(chan error, 1)
	go func() {
		if batch {
			runErr <- c.RunBatch(ctx, func(ctx context.Context, rs []kvstream.Record) (int, error) {
				mu.Lock()
				defer mu.Unlock()
				for _, r := range rs {
					keys = append(keys, r.Key)
				}
				return len(rs), nil
			})
			return
		}
		runErr <- c.Run(ctx, func(ctx context.Context, r kvstream.Record) error {
			mu.Lock()
			keys = append(keys, r.Key)
			mu.Unlock()
			return nil
		})
	}()
	require.Eventually(t, func() bool {
		select {
		case err := <-runErr:
			t.Fatalf("Run returned: %v", err)
		default:
		}
		return count() >= n && done()
	}, 20*time.Second, 10*time.Millisecond)
	cancel()
	require.NoError(t, waitRun(t, runErr))
	mu.Lock()
	defer mu.Unlock()
	return keys
}
