package postgreskv_test

import (
	"context"
	"encoding/json"
	"sync"
	"testing"
	"time"

	"github.com/jackc/pgx/v5"
	"github.com/stretchr/testify/require"

	postgreskv "github.com/kvsuite/kv/backend-postgres"
)

// openPeer opens a second DB on db's schema with a pool of its own, as
// another process would.
func openPeer(t *testing.T, db *postgreskv.DB, opts ...postgreskv.Option) *postgreskv.DB {
	t.Helper()
	peer, err := postgreskv.Open(context.Background(), testConnString(t), append([]postgreskv.Option{postgreskv.WithSchema(db.Schema())}, opts...)...)
	require.NoError(t, err)
	t.Cleanup(func() { _ = peer.Close() })
	return peer
}

// listenRaw LISTENs on channel on a connection of its own and returns it.
func listenRaw(t *testing.T, channel string) *pgx.Conn {
	t.Helper()
	conn, err := pgx.ConnectConfig(context.Background(), testBase.ConnConfig.Copy())
	require.NoError(t, err)
	t.Cleanup(func() { _ = conn.Close(context.Background()) })
	_, err = conn.Exec(context.Background(), "LISTEN "+pgx.Identifier{channel}.Sanitize())
	require.NoError(t, err)
	return conn
}

// countNotifications counts the notifications conn receives until none
// comes for quiet.
func countNotifications(t *testing.T, conn *pgx.Conn, quiet time.Duration) int {
	t.Helper()
	n := 0
	for {
		ctx, cancel := context.WithTimeout(context.Background(), quiet)
		_, err := conn.WaitForNotification(ctx)
		cancel()
		if err != nil {
			require.ErrorIs(t, err, context.DeadlineExceeded)
			return n
		}
		n++
	}
}

// TestNotifyAfterCommit: a subscriber of another DB (as in another
// process) wakes after a write commits, not while the write waits to
// commit, and what woke it is visible when it wakes.
func TestNotifyAfterCommit(t *testing.T) {
	ctx := context.Background()
	db := newDB(t)
	peer := openPeer(t, db)
	s, _ := newStore(t, db)
	ps, _ := newStore(t, peer)

	ch, err := peer.Subscribe(ctx)
	require.NoError(t, err)
	wantSignal(t, ch, "listening")
	require.NoError(t, s.Put(ctx, "x", -1, 1))
	wantSignal(t, ch, "first put")

	// Hold x's row lock: the next put of x waits before it can commit.
	tx, err := testPool.Begin(ctx)
	require.NoError(t, err)
	defer func() { _ = tx.Rollback(ctx) }()
	_, err = tx.Exec(ctx, "SELECT 1 FROM "+pgx.Identifier{db.Schema(), "kv_records"}.Sanitize()+" WHERE key = 'x' FOR UPDATE")
	require.NoError(t, err)
	done := make(chan error, 1)
	go func() { done <- s.Put(ctx, "x", -1, 2) }()
	noSignal(t, ch, "put waiting for its commit")
	r, err := ps.GetRecord(ctx, "x")
	require.NoError(t, err)
	require.Equal(t, int64(1), r.Version, "the waiting put has not committed")

	require.NoError(t, tx.Commit(ctx))
	wantSignal(t, ch, "put committed")
	r, err = ps.GetRecord(ctx, "x")
	require.NoError(t, err)
	require.Equal(t, int64(2), r.Version, "visible when the peer wakes")
	require.JSONEq(t, `2`, string(r.Value))
	require.NoError(t, <-done)
}

// TestNotifyCoalesced: however many commits mark the stream's channel, the
// notifier sends at most one notification per interval.
func TestNotifyCoalesced(t *testing.T) {
	db := newDB(t)
	conn := listenRaw(t, postgreskv.Channel(db))
	start := time.Now()
	var wg sync.WaitGroup
	for g := 0; g < 4; g++ {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for i := 0; i < 2000; i++ {
				postgreskv.NotifyStreamCommitted(db)
			}
		}()
	}
	wg.Wait()
	elapsed := time.Since(start)
	n := countNotifications(t, conn, 500*time.Millisecond)
	require.GreaterOrEqual(t, n, 1, "the commits are announced")
	// Sends start at least an interval apart, the last one at most an
	// interval after the last commit.
	require.LessOrEqual(t, n, int(elapsed/postgreskv.NotifyInterval)+2, "8000 commits in %v", elapsed)
}

// TestNotifyOnClose: a write that committed just before Close is still
// announced; after Close nothing more is sent and Close returns.
func TestNotifyOnClose(t *testing.T) {
	ctx := context.Background()
	db := newDB(t)
	writer := openPeer(t, db)
	conn := listenRaw(t, postgreskv.Channel(db))
	s, err := writer.Store()
	require.NoError(t, err)
	for i := 0; i < 3; i++ {
		require.NoError(t, s.Put(ctx, "k", -1, json.RawMessage(`1`)))
	}
	require.NoError(t, writer.Close())
	require.GreaterOrEqual(t, countNotifications(t, conn, 500*time.Millisecond), 1)
	postgreskv.NotifyStreamCommitted(writer)
	require.Equal(t, 0, countNotifications(t, conn, 300*time.Millisecond), "nothing after Close")
}

// TestNoNotifyPeer: with WithoutNotify a writer sends nothing, even to a
// listener in another process.
func TestNoNotifyPeer(t *testing.T) {
	ctx := context.Background()
	db := newDB(t)
	quiet := openPeer(t, db, postgreskv.WithoutNotify())
	conn := listenRaw(t, postgreskv.Channel(db))
	s, err := quiet.Store()
	require.NoError(t, err)
	require.NoError(t, s.Put(ctx, "k", -1, json.RawMessage(`1`)))
	require.Equal(t, 0, countNotifications(t, conn, 300*time.Millisecond))
}
