package postgreskv_test

import (
	"context"
	"encoding/json"
	"testing"
	"time"

	"github.com/jackc/pgx/v5/pgxpool"
	"github.com/stretchr/testify/require"

	postgreskv "github.com/kvsuite/kv/backend-postgres"
	"github.com/kvsuite/kv/kvcore"
	streamdriver "github.com/kvsuite/kv/kvstream/driver"
)

// blockStep makes the next sequencer step of db wait, after it has taken
// its snapshot, until release is called: another session locks every
// stream row that has no position yet, which the step's update waits for.
func blockStep(t *testing.T, db *postgreskv.DB) (release func()) {
	t.Helper()
	ctx := context.Background()
	_, stream := streamTables(db)
	tx := begin(t)
	_, err := tx.Exec(ctx, "SELECT 1 FROM "+stream+" WHERE pos IS NULL FOR UPDATE")
	require.NoError(t, err)
	return func() { require.NoError(t, tx.Rollback(ctx)) }
}

// readKeys reads db's whole stream and returns its keys in order.
func readKeys(ctx context.Context, db *postgreskv.DB) ([]string, error) {
	rs, _, _, err := db.Read(ctx, streamdriver.Query{After: 0, Limit: 1000})
	keys := make([]string, len(rs))
	for i, r := range rs {
		keys[i] = r.Key
	}
	return keys, err
}

// readResult is what a read of the whole stream returned.
type readResult struct {
	keys []string
	err  error
}

// goRead reads db's whole stream in a goroutine.
func goRead(ctx context.Context, db *postgreskv.DB) <-chan readResult {
	ch := make(chan readResult, 1)
	go func() {
		keys, err := readKeys(ctx, db)
		ch <- readResult{keys, err}
	}()
	return ch
}

// stepInFlight returns a DB whose stream holds p1, with a read (a) whose
// step has taken its snapshot and waits, until release, for p1's row.
func stepInFlight(t *testing.T) (db *postgreskv.DB, s *kvcore.Store, a <-chan readResult, release func()) {
	t.Helper()
	pool := newPool(t, func(c *pgxpool.Config) { c.MaxConns = 8 })
	db = newDBOn(t, pool)
	s, _ = newStore(t, db)
	require.NoError(t, s.Put(context.Background(), "p1", -1, json.RawMessage(`1`)))
	release = blockStep(t, db)
	a = goRead(context.Background(), db)
	require.Eventually(t, func() bool { return lockWaiters(t) == 1 }, 10*time.Second, 5*time.Millisecond)
	return db, s, a, release
}

// TestReadsShareSteps: reads that start while a step of their DB is in
// flight wait for one next step together, instead of each queueing a step
// of its own on the sequencer's lock, and still see every write that
// committed before they were called.
func TestReadsShareSteps(t *testing.T) {
	ctx := context.Background()
	db, s, a, release := stepInFlight(t)

	// p2 commits while A's step waits: A's snapshot does not hold it, so
	// B, C and D, called after it, may not rely on A's step.
	require.NoError(t, s.Put(ctx, "p2", -1, json.RawMessage(`2`)))
	others := []<-chan readResult{goRead(ctx, db), goRead(ctx, db), goRead(ctx, db)}
	require.Eventually(t, func() bool { return postgreskv.WaitingReads(db) == 3 }, 10*time.Second, 5*time.Millisecond)
	require.Equal(t, 1, lockWaiters(t), "the three reads wait in the DB, not on the sequencer's lock")

	release()
	r := <-a
	require.NoError(t, r.err)
	require.Equal(t, []string{"p1"}, r.keys, "A's step did not see p2")
	for _, ch := range others {
		r := <-ch
		require.NoError(t, r.err)
		require.Equal(t, []string{"p1", "p2"}, r.keys, "each read sees what committed before it was called")
	}
	require.Zero(t, postgreskv.WaitingReads(db))
}

// TestReadsShareStepsGiveUp: a read that gives up while it waits for the
// next step returns its context's error; once every such read has given
// up, no step is left waiting to run, and later reads work.
func TestReadsShareStepsGiveUp(t *testing.T) {
	ctx := context.Background()
	db, _, a, release := stepInFlight(t)
	wctx, cancel := context.WithCancel(ctx)
	gaveUp := []<-chan readResult{goRead(wctx, db), goRead(wctx, db)}
	require.Eventually(t, func() bool { return postgreskv.WaitingReads(db) == 2 }, 10*time.Second, 5*time.Millisecond)
	cancel()
	for _, ch := range gaveUp {
		require.ErrorIs(t, (<-ch).err, context.Canceled)
	}
	require.Zero(t, postgreskv.WaitingReads(db))

	release()
	require.NoError(t, (<-a).err)
	keys, err := readKeys(ctx, db)
	require.NoError(t, err)
	require.Equal(t, []string{"p1"}, keys)
}
