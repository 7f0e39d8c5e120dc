package rqlitekv

import (
	"context"
	"errors"
	"fmt"
	"sync"
	"testing"

	"github.com/stretchr/testify/require"

	"github.com/kvsuite/kv/kvcore"
	"github.com/kvsuite/kv/kvcore/driver"
)

// openGroup opens an empty, initialised store on the chosen server and
// returns a function that counts the write requests it sent (to the
// unified endpoint or the execute one).
func openGroup(t *testing.T) (*DB, func() int64) {
	t.Helper()
	db, c := openCounted(t)
	return db, func() int64 { n := c.get(); return n.request + n.execute }
}

// groupCall is one caller's Apply as the sender sees it.
type groupCall struct {
	b driver.Batch
	q *batch
	p *pending
}

func call(t *testing.T, ctx context.Context, fence *driver.Fence, ops ...driver.Op) *groupCall {
	t.Helper()
	b := driver.Batch{Now: t0, Ops: ops, Fence: fence}
	q, err := applyBatch(b)
	require.NoError(t, err)
	return &groupCall{b: b, q: q, p: &pending{ctx: ctx, q: q, done: make(chan outcome, 1)}}
}

func (c *groupCall) result(t *testing.T) ([]driver.Result, error) {
	t.Helper()
	o := <-c.p.done
	if o.err != nil {
		return nil, o.err
	}
	return applyResults(c.b, c.q, o.res)
}

// sendAsGroup hands the calls to the sender as one group, as if they had
// all been waiting, and returns how many requests that took.
func sendAsGroup(db *DB, count func() int64, calls ...*groupCall) int64 {
	before := count()
	group := make([]*pending, len(calls))
	for i, c := range calls {
		group[i] = c.p
	}
	db.sendGroup(group)
	return count() - before
}

func put(key string, version int64) driver.Op {
	return driver.Op{Kind: driver.OpPut, Namespace: "g", Key: key, Version: version, Value: []byte(`1`)}
}

func versionOf(t *testing.T, db *DB, key string) int64 {
	t.Helper()
	rs, err := db.Query(context.Background(), driver.Selector{Namespace: "g", Keys: []string{key}}, t0)
	require.NoError(t, err)
	if len(rs) == 0 {
		return 0
	}
	return rs[0].Version
}

// TestGroupSharesOneRequest: batches that all succeed go in one request.
func TestGroupSharesOneRequest(t *testing.T) {
	db, count := openGroup(t)
	ctx := context.Background()
	a, b, c := call(t, ctx, nil, put("a", -1)), call(t, ctx, nil, put("b", 0), put("a2", -1)), call(t, ctx, nil, put("c", -1))
	n := sendAsGroup(db, count, a, b, c)
	require.Equal(t, int64(1), n, "one request for three callers")
	for _, gc := range []*groupCall{a, b, c} {
		res, err := gc.result(t)
		require.NoError(t, err)
		for _, r := range res {
			require.Equal(t, driver.Result{Rows: 1}, r)
		}
	}
}

// TestGroupKeepsEachCallersResult: a caller whose batch fails gets its own
// error and changes nothing; its neighbours in the group are applied.
func TestGroupKeepsEachCallersResult(t *testing.T) {
	db, count := openGroup(t)
	ctx := context.Background()

	// A mismatch in the middle: the first and last callers still apply.
	a, b, c := call(t, ctx, nil, put("x1", -1)), call(t, ctx, nil, put("w", -1), put("x2", 5)), call(t, ctx, nil, put("x3", 0))
	n := sendAsGroup(db, count, a, b, c)
	_, err := a.result(t)
	require.NoError(t, err)
	_, err = b.result(t)
	var oe *driver.OpError
	require.ErrorAs(t, err, &oe)
	require.Equal(t, 1, oe.Index, "the op of b's own batch")
	require.ErrorIs(t, err, driver.ErrVersionMismatch)
	_, err = c.result(t)
	require.NoError(t, err)
	require.Equal(t, int64(1), versionOf(t, db, "x1"))
	require.Equal(t, int64(0), versionOf(t, db, "w"), "b's batch is all or nothing")
	require.Equal(t, int64(0), versionOf(t, db, "x2"))
	require.Equal(t, int64(1), versionOf(t, db, "x3"))
	// [a b c] fails in b; [a] alone; [b c] fails in b, now first; [c].
	require.Equal(t, int64(4), n)

	// Two creates of one key: the first wins, the second sees it committed.
	a, b = call(t, ctx, nil, put("y", 0)), call(t, ctx, nil, put("y", 0))
	sendAsGroup(db, count, a, b)
	res, err := a.result(t)
	require.NoError(t, err)
	require.Equal(t, []driver.Result{{Rows: 1}}, res)
	_, err = b.result(t)
	require.ErrorIs(t, err, driver.ErrVersionMismatch)
	require.Equal(t, int64(1), versionOf(t, db, "y"))

	// A fenced caller, a canceled caller and a good one.
	canceled, cancel := context.WithCancel(ctx)
	cancel()
	a = call(t, ctx, &driver.Fence{Name: "no-such-lease", Token: 1}, put("z1", -1))
	b = call(t, canceled, nil, put("z2", -1))
	c = call(t, ctx, nil, put("z3", -1))
	sendAsGroup(db, count, a, b, c)
	_, err = a.result(t)
	require.ErrorIs(t, err, driver.ErrFenced)
	_, err = b.result(t)
	require.ErrorIs(t, err, context.Canceled)
	_, err = c.result(t)
	require.NoError(t, err)
	require.Equal(t, int64(0), versionOf(t, db, "z1"))
	require.Equal(t, int64(0), versionOf(t, db, "z2"), "a caller that gave up before sending is never sent")
	require.Equal(t, int64(1), versionOf(t, db, "z3"))

	// Exactly one stream entry per applied change: the failed attempts
	// left nothing behind.
	var keys []string
	for _, e := range readStream(t, db) {
		keys = append(keys, e.key)
	}
	require.Equal(t, []string{"x1", "x3", "y", "z3"}, keys)
}

// TestConcurrentCompareAndSwap: 16 goroutines increment shared counters
// with read, then put-if-version; every increment that succeeded is in the
// final counts, so concurrent callers sharing requests never lose or
// double an update, and a mismatch only fails its own caller.
func TestConcurrentCompareAndSwap(t *testing.T) {
	s, _, _ := newStore(t)
	ctx := context.Background()
	const workers, perWorker, counters = 16, 5, 4
	var wg sync.WaitGroup
	errs := make(chan error, workers)
	for w := 0; w < workers; w++ {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for i := 0; i < perWorker; i++ {
				key := fmt.Sprintf("n%d", (w+i)%counters)
				for {
					var n int
					r, ok, err := s.Get(ctx, key, &n)
					if err != nil {
						errs <- err
						return
					}
					version := int64(0)
					if ok {
						version = r.Version
					}
					err = s.Put(ctx, key, version, n+1)
					if errors.Is(err, kvcore.ErrVersionMismatch) {
						continue
					}
					if err != nil {
						errs <- err
						return
					}
					break
				}
			}
		}()
	}
	wg.Wait()
	close(errs)
	for err := range errs {
		require.NoError(t, err)
	}
	total := 0
	for c := 0; c < counters; c++ {
		var n int
		r, ok, err := s.Get(ctx, fmt.Sprintf("n%d", c), &n)
		require.NoError(t, err)
		require.True(t, ok)
		require.Equal(t, int64(n), r.Version, "one version per increment")
		total += n
	}
	require.Equal(t, workers*perWorker, total)
}
