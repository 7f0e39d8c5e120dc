package postgreskv_test

import (
	"context"
	"encoding/json"
	"fmt"
	"regexp"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgxpool"
	"github.com/stretchr/testify/require"

	postgreskv "github.com/kvsuite/kv/backend-postgres"
	"github.com/kvsuite/kv/kvcore"
	coredriver "github.com/kvsuite/kv/kvcore/driver"
	streamdriver "github.com/kvsuite/kv/kvstream/driver"
)

// streamTables returns the quoted records and stream tables of db.
func streamTables(db *postgreskv.DB) (records, stream string) {
	return pgx.Identifier{db.Schema(), "kv_records"}.Sanitize(), pgx.Identifier{db.Schema(), "kv_stream"}.Sanitize()
}

// rawPut writes key in tx as Apply's put does: the upsert (which takes the
// record's row lock, waiting for any other writer of key) and its stream row
// in one statement. It returns the stream row's seq and the version.
func rawPut(ctx context.Context, db *postgreskv.DB, tx pgx.Tx, key string) (seq, version int64, err error) {
	records, stream := streamTables(db)
	err = tx.QueryRow(ctx, `WITH w AS (INSERT INTO `+records+` AS r (namespace, key, version, value, type, created, updated)
	VALUES ('', $1, 1, '1', '', now(), now())
	ON CONFLICT (namespace, key) DO UPDATE SET version = r.version + 1
	RETURNING version),
s AS (INSERT INTO `+stream+` (namespace, key, action, version, type, value, ts)
	SELECT '', $1, CASE WHEN version = 1 THEN 'create' ELSE 'update' END, version, '', '1', now() FROM w RETURNING seq, version)
SELECT seq, version FROM s`, key).Scan(&seq, &version)
	return seq, version, err
}

// xidOf returns tx's transaction id, assigning one if it has none.
func xidOf(t *testing.T, tx pgx.Tx) uint64 {
	t.Helper()
	var x uint64
	require.NoError(t, tx.QueryRow(context.Background(), "SELECT pg_current_xact_id()::text::bigint").Scan(&x))
	return x
}

// readAfter returns every entry after pos that Read hands out now.
func readAfter(t *testing.T, db *postgreskv.DB, after int64) []streamdriver.Record {
	t.Helper()
	rs, trimmed, _, err := db.Read(context.Background(), streamdriver.Query{After: after, Limit: 10000})
	require.NoError(t, err)
	require.LessOrEqual(t, trimmed, after)
	for i, r := range rs {
		require.Equal(t, after+int64(i)+1, r.Seq, "positions are dense")
	}
	return rs
}

type keyVersion struct {
	Key     string
	Version int64
}

func keyVersions(rs []streamdriver.Record) []keyVersion {
	out := make([]keyVersion, len(rs))
	for i, r := range rs {
		out[i] = keyVersion{r.Key, r.Version}
	}
	return out
}

// begin starts a transaction on a connection of its own.
func begin(t *testing.T) pgx.Tx {
	t.Helper()
	tx, err := testPool.Begin(context.Background())
	require.NoError(t, err)
	t.Cleanup(func() { _ = tx.Rollback(context.Background()) })
	return tx
}

// TestStreamSeqOrderSkip: a transaction that drew a smaller seq commits
// after one that drew a larger seq. A reader that follows seq skips the
// smaller one for good; Read hands it the next position once it commits.
func TestStreamSeqOrderSkip(t *testing.T) {
	db := newDB(t)
	ctx := context.Background()
	s, _ := newStore(t, db)
	_, stream := streamTables(db)
	require.NoError(t, s.Put(ctx, "first", -1, json.RawMessage(`1`)))
	got := readAfter(t, db, 0)
	require.Len(t, got, 1)
	pos := got[0].Seq

	// A takes its xid first, so that even the reader that stays below the
	// snapshot's xmin (B's xid) sees A's row.
	txB, txA := begin(t), begin(t)
	xidOf(t, txA)
	seqB, _, err := rawPut(ctx, db, txB, "b")
	require.NoError(t, err)
	seqA, _, err := rawPut(ctx, db, txA, "a")
	require.NoError(t, err)
	require.Less(t, seqB, seqA)
	require.NoError(t, txA.Commit(ctx))

	// A reader that follows seq (even below the snapshot's xmin) sees a:
	// its cursor moves past b's seq. Other transactions of the cluster (any
	// database's: an autovacuum's analyze, a notifier's pg_notify) may hold
	// xmin below a's xid for a moment.
	var naive []string
	require.Eventually(t, func() bool {
		rows, err := testPool.Query(ctx, "SELECT key FROM "+stream+" WHERE seq > $1 AND xid < pg_snapshot_xmin(pg_current_snapshot()) ORDER BY seq", seqB-1)
		require.NoError(t, err)
		naive, err = pgx.CollectRows(rows, pgx.RowTo[string])
		require.NoError(t, err)
		return len(naive) > 0
	}, 10*time.Second, 10*time.Millisecond, "a's xid falls below the snapshot's xmin")
	require.Equal(t, []string{"a"}, naive)

	got = readAfter(t, db, pos)
	require.Equal(t, []keyVersion{{"a", 1}}, keyVersions(got), "a committed: it gets the next position")
	pos = got[0].Seq

	require.NoError(t, txB.Commit(ctx))
	require.NoError(t, s.Put(ctx, "last", -1, json.RawMessage(`1`)))
	got = readAfter(t, db, pos)
	require.Equal(t, []keyVersion{{"b", 1}, {"last", 1}}, keyVersions(got), "b comes after a, not skipped")

	rows, err := testPool.Query(ctx, "SELECT key FROM "+stream+" WHERE seq > $1 ORDER BY seq", seqA)
	require.NoError(t, err)
	naive, err = pgx.CollectRows(rows, pgx.RowTo[string])
	require.NoError(t, err)
	require.Equal(t, []string{"last"}, naive, "the seq reader never sees b")
	require.Len(t, readAfter(t, db, 0), 4, "every change once")
}

// waitBlocked waits until the session pid waits for a lock.
func waitBlocked(t *testing.T, pid uint32) {
	t.Helper()
	require.Eventually(t, func() bool {
		var w *string
		err := testPool.QueryRow(context.Background(), "SELECT wait_event_type FROM pg_stat_activity WHERE pid = $1", pid).Scan(&w)
		return err == nil && w != nil && *w == "Lock"
	}, 10*time.Second, 5*time.Millisecond)
}

// TestStreamXidOrder: two writers of one key, whose transaction ids are in
// the opposite order of their commits (the second writer took its xid
// earlier, writing another key, then waited for the first writer's row
// lock). Ordering by (xid, seq) delivers version 3 before version 2; Read
// delivers them in order.
func TestStreamXidOrder(t *testing.T) {
	db := newDB(t)
	ctx := context.Background()
	s, _ := newStore(t, db)
	_, stream := streamTables(db)
	require.NoError(t, s.Put(ctx, "k", -1, json.RawMessage(`1`)))
	base := readAfter(t, db, 0)[0].Seq

	tx2, tx1 := begin(t), begin(t)
	_, _, err := rawPut(ctx, db, tx2, "j") // tx2 takes its xid first
	require.NoError(t, err)
	x2 := xidOf(t, tx2)
	_, v, err := rawPut(ctx, db, tx1, "k") // tx1 takes a later xid and k's row lock
	require.NoError(t, err)
	require.Equal(t, int64(2), v)
	x1 := xidOf(t, tx1)
	require.Less(t, x2, x1)

	var pid2 uint32
	require.NoError(t, tx2.QueryRow(ctx, "SELECT pg_backend_pid()").Scan(&pid2))
	type put struct{ seq, version int64 }
	done := make(chan put, 1)
	errc := make(chan error, 1)
	go func() {
		seq, v, err := rawPut(ctx, db, tx2, "k") // waits for tx1
		errc <- err
		done <- put{seq, v}
	}()
	waitBlocked(t, pid2)
	require.NoError(t, tx1.Commit(ctx))
	require.NoError(t, <-errc)
	p := <-done
	require.Equal(t, int64(3), p.version)
	require.NoError(t, tx2.Commit(ctx))

	// (xid, seq) order puts version 3 first.
	rows, err := testPool.Query(ctx, "SELECT version FROM "+stream+" WHERE key = 'k' AND version > 1 ORDER BY xid, seq")
	require.NoError(t, err)
	byXid, err := pgx.CollectRows(rows, pgx.RowTo[int64])
	require.NoError(t, err)
	require.Equal(t, []int64{3, 2}, byXid)

	got := readAfter(t, db, base)
	require.ElementsMatch(t, []keyVersion{{"j", 1}, {"k", 2}, {"k", 3}}, keyVersions(got))
	var ks []int64
	for _, r := range got {
		if r.Key == "k" {
			ks = append(ks, r.Version)
		}
	}
	require.Equal(t, []int64{2, 3}, ks, "k's versions in order")
}

// TestStreamXminWindow: the same two writers of k, with a third open
// transaction whose xid lies between theirs. Every row below the snapshot's
// xmin, in seq order, includes k's version 3 but not its version 2 (whose
// xid is above xmin though committed): a sequencer that waited for xmin
// would hand out 3 before 2. Read hands out both at once, in order, and an
// open transaction does not hold the stream back.
func TestStreamXminWindow(t *testing.T) {
	db := newDB(t)
	ctx := context.Background()
	s, _ := newStore(t, db)
	_, stream := streamTables(db)
	require.NoError(t, s.Put(ctx, "k", -1, json.RawMessage(`1`)))
	base := readAfter(t, db, 0)[0].Seq

	tx2, tx3, tx1 := begin(t), begin(t), begin(t)
	_, _, err := rawPut(ctx, db, tx2, "j")
	require.NoError(t, err)
	x2, x3 := xidOf(t, tx2), xidOf(t, tx3)
	_, _, err = rawPut(ctx, db, tx1, "k")
	require.NoError(t, err)
	x1 := xidOf(t, tx1)
	require.True(t, x2 < x3 && x3 < x1)
	require.NoError(t, tx1.Commit(ctx))
	_, v, err := rawPut(ctx, db, tx2, "k")
	require.NoError(t, err)
	require.Equal(t, int64(3), v)
	require.NoError(t, tx2.Commit(ctx))

	// Other sessions of the cluster may hold xmin lower for a moment.
	var belowXmin []string
	require.Eventually(t, func() bool {
		rows, err := testPool.Query(ctx, "SELECT key || version FROM "+stream+
			" WHERE key IN ('j', 'k') AND xid < pg_snapshot_xmin(pg_current_snapshot()) AND pos IS NULL ORDER BY seq")
		require.NoError(t, err)
		belowXmin, err = pgx.CollectRows(rows, pgx.RowTo[string])
		require.NoError(t, err)
		return len(belowXmin) == 2
	}, 10*time.Second, 10*time.Millisecond)
	require.Equal(t, []string{"j1", "k3"}, belowXmin, "below xmin: version 3 without version 2")

	got := readAfter(t, db, base)
	require.Equal(t, []keyVersion{{"j", 1}, {"k", 2}, {"k", 3}}, keyVersions(got), "seq order of the committed rows")
	require.NoError(t, tx3.Rollback(ctx))
}

// TestStreamConcurrentKeys: writers update a few shared keys while several
// readers tail the stream, each running sequencer steps. Every reader sees
// dense positions, each key's versions one by one in order, and the final
// stream.
func TestStreamConcurrentKeys(t *testing.T) {
	db := newDB(t)
	ctx := context.Background()
	s, _ := newStore(t, db)
	const writers, puts, keys, readers = 6, 25, 3, 3
	var wg sync.WaitGroup
	errs := make(chan error, writers+readers)
	for w := 0; w < writers; w++ {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for i := 0; i < puts; i++ {
				// Two keys, in key order (else writers deadlock).
				a, b := (w+i)%keys, (w+i+1)%keys
				ms := []kvcore.Mutation{
					kvcore.Put(fmt.Sprintf("k%d", min(a, b)), -1, i),
					kvcore.Put(fmt.Sprintf("k%d", max(a, b)), -1, i),
				}
				if _, err := s.MutateAll(ctx, ms...); err != nil {
					errs <- err
					return
				}
			}
		}()
	}
	writing := make(chan struct{})
	go func() { wg.Wait(); close(writing) }()
	seen := make([][]streamdriver.Record, readers)
	var rwg sync.WaitGroup
	for r := 0; r < readers; r++ {
		rwg.Add(1)
		go func() {
			defer rwg.Done()
			var after int64
			for {
				finished := false
				select {
				case <-writing:
					finished = true
				default:
				}
				rs, _, _, err := db.Read(ctx, streamdriver.Query{After: after, Limit: 5})
				if err != nil {
					errs <- err
					return
				}
				seen[r] = append(seen[r], rs...)
				if len(rs) > 0 {
					after = rs[len(rs)-1].Seq
				} else if finished {
					return
				}
			}
		}()
	}
	rwg.Wait()
	close(errs)
	for err := range errs {
		require.NoError(t, err)
	}
	final := readAfter(t, db, 0)
	require.Len(t, final, writers*puts*2)
	for r := 0; r < readers; r++ {
		require.Equal(t, final, seen[r], "reader %d", r)
	}
	last := map[string]int64{}
	for _, r := range final {
		require.Equal(t, last[r.Key]+1, r.Version, "key %s", r.Key)
		last[r.Key] = r.Version
	}
}

// TestStreamTrimAndConsumers covers the edges the conformance suite leaves
// out: the watermark stops at the last position, positions are never
// reused after a full trim, a new consumer starts at the watermark, and
// commits fail cleanly.
func TestStreamTrimAndConsumers(t *testing.T) {
	db := newDB(t)
	ctx := context.Background()
	s, clock := newStore(t, db)
	for i := 0; i < 3; i++ {
		require.NoError(t, s.Put(ctx, fmt.Sprintf("k%d", i), -1, i))
	}
	trimmed, last, err := db.Bounds(ctx)
	require.NoError(t, err)
	require.Equal(t, [2]int64{0, 3}, [2]int64{trimmed, last})

	c, err := db.CreateConsumer(ctx, "c", 2, clock.Now())
	require.NoError(t, err)
	require.Equal(t, int64(2), c.Position)
	c, err = db.CreateConsumer(ctx, "c", 0, clock.Now())
	require.NoError(t, err)
	require.Equal(t, int64(2), c.Position, "an existing consumer is returned as stored")

	to, err := db.Trim(ctx, 100, true)
	require.NoError(t, err)
	require.Equal(t, int64(2), to, "not above the lowest consumer")
	to, err = db.Trim(ctx, 100, false)
	require.NoError(t, err)
	require.Equal(t, int64(3), to, "not above the last position")
	to, err = db.Trim(ctx, 1, false)
	require.NoError(t, err)
	require.Equal(t, int64(3), to, "never lowered")

	require.NoError(t, s.Put(ctx, "after", -1, 1))
	rs, trimmed, _, err := db.Read(ctx, streamdriver.Query{Limit: 10})
	require.NoError(t, err)
	require.Equal(t, int64(3), trimmed)
	require.Len(t, rs, 1)
	require.Equal(t, int64(4), rs[0].Seq, "positions continue after a full trim")

	c, err = db.CreateConsumer(ctx, "new", 0, clock.Now())
	require.NoError(t, err)
	require.Equal(t, int64(3), c.Position, "a new consumer starts where the stream starts")

	require.ErrorIs(t, db.Commit(ctx, "missing", 1, nil, clock.Now()), streamdriver.ErrNoConsumer)
	fence := &coredriver.Fence{Name: "no-lease", Token: 1}
	require.ErrorIs(t, db.Commit(ctx, "c", 4, fence, clock.Now()), streamdriver.ErrFenced)
	le, ok, err := db.Acquire(ctx, "lease", "me", clock.Now(), time.Minute)
	require.NoError(t, err)
	require.True(t, ok)
	fence = &coredriver.Fence{Name: "lease", Token: le.Token}
	require.ErrorIs(t, db.Commit(ctx, "missing", 4, fence, clock.Now()), streamdriver.ErrNoConsumer)
	require.NoError(t, db.Commit(ctx, "c", 4, fence, clock.Now()))
	require.ErrorIs(t, db.Commit(ctx, "c", 4, fence, clock.Now().Add(time.Hour)), streamdriver.ErrFenced, "expired lease")
	c, ok, err = db.Consumer(ctx, "c")
	require.NoError(t, err)
	require.True(t, ok)
	require.Equal(t, int64(4), c.Position)
}

// wantSignal waits for a signal on ch.
func wantSignal(t *testing.T, ch <-chan struct{}, what string) {
	t.Helper()
	select {
	case _, ok := <-ch:
		require.True(t, ok, "%s: the channel was closed", what)
	case <-time.After(10 * time.Second):
		t.Fatalf("%s: no signal", what)
	}
}

// noSignal checks that ch stays quiet for a while.
func noSignal(t *testing.T, ch <-chan struct{}, what string) {
	t.Helper()
	select {
	case <-ch:
		t.Fatalf("%s: unexpected signal", what)
	case <-time.After(300 * time.Millisecond):
	}
}

// TestSubscribe: writes in the DB's schema wake every subscriber (once the
// transaction commits); another schema's do not; the listener reconnects
// after its session is killed; channels close with their context and with
// the DB.
func TestSubscribe(t *testing.T) {
	db := newDB(t)
	other := newDB(t)
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	s, _ := newStore(t, db)
	o, _ := newStore(t, other)

	a, err := db.Subscribe(ctx)
	require.NoError(t, err)
	wantSignal(t, a, "listening")
	bctx, bcancel := context.WithCancel(ctx)
	b, err := db.Subscribe(bctx)
	require.NoError(t, err)
	select { // b may get the post-LISTEN signal if it joined in time
	case <-b:
	case <-time.After(100 * time.Millisecond):
	}

	require.NoError(t, o.Put(ctx, "x", -1, 1))
	noSignal(t, a, "another schema's write")

	require.NoError(t, s.Put(ctx, "x", -1, 1))
	wantSignal(t, a, "put (a)")
	wantSignal(t, b, "put (b)")
	_, err = s.Delete(ctx, "x")
	require.NoError(t, err)
	wantSignal(t, a, "delete")

	// A failed batch rolls its notification back.
	_, err = s.MutateAll(ctx, kvcore.Put("y", -1, 1), kvcore.Put("x", 7, 1))
	require.ErrorIs(t, err, kvcore.ErrVersionMismatch)
	noSignal(t, a, "failed batch")

	bcancel()
	select {
	case _, ok := <-b:
		if ok {
			_, ok = <-b
		}
		require.False(t, ok, "closed with its context")
	case <-time.After(10 * time.Second):
		t.Fatal("b was not closed")
	}

	// Kill the listener's session: it reconnects and signals. Its last
	// statement LISTENed on the task queue's channel (after the stream's).
	var n int64
	require.NoError(t, testPool.QueryRow(ctx, `SELECT count(pg_terminate_backend(pid)) FROM pg_stat_activity
WHERE datname = current_database() AND query = $1`, "LISTEN "+pgx.Identifier{postgreskv.TaskChannel(db)}.Sanitize()).Scan(&n))
	require.Equal(t, int64(1), n, "one shared listener session")
	wantSignal(t, a, "after reconnecting")
	require.NoError(t, s.Put(ctx, "z", -1, 1))
	wantSignal(t, a, "put after reconnecting")

	require.NoError(t, db.Close())
	_, ok := <-a
	require.False(t, ok, "closed with the DB")
	_, err = db.Subscribe(ctx)
	require.ErrorIs(t, err, coredriver.ErrClosed)
}

// TestNoNotify: WithoutNotify leaves writes silent.
func TestNoNotify(t *testing.T) {
	db := newDB(t)
	quiet := postgreskv.New(testPool, postgreskv.WithSchema(db.Schema()), postgreskv.WithoutNotify())
	t.Cleanup(func() { _ = quiet.Close() })
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	ch, err := db.Subscribe(ctx)
	require.NoError(t, err)
	wantSignal(t, ch, "listening")
	s, _ := newStore(t, quiet)
	require.NoError(t, s.Put(ctx, "x", -1, 1))
	_, err = s.Sweep(ctx)
	require.NoError(t, err)
	noSignal(t, ch, "silent write")
	rs := readAfter(t, db, 0)
	require.Len(t, rs, 1, "the entry is there all the same")
}

// writtenAtVersion returns a DB in a fresh schema migrated only up to
// version v, and a store on it through which k0, k1 and k2 were put (the
// values 0, 1 and 2).
func writtenAtVersion(t *testing.T, v int) (*postgreskv.DB, *kvcore.Store) {
	t.Helper()
	ctx := context.Background()
	db := postgreskv.New(testPool, postgreskv.WithSchema(newSchemaName(t)))
	t.Cleanup(func() { _ = db.Close() }) // its notifier's session
	require.NoError(t, postgreskv.InitVersion(ctx, db, v))
	s, _ := newStore(t, db)
	for i := 0; i < 3; i++ {
		require.NoError(t, s.Put(ctx, fmt.Sprintf("k%d", i), -1, i))
	}
	return db, s
}

// TestStreamMigration: stream rows written under schema version 1 (no
// positions) get positions in seq order after the upgrade.
func TestStreamMigration(t *testing.T) {
	ctx := context.Background()
	db, s := writtenAtVersion(t, 1)
	_, _, _, err := db.Read(ctx, streamdriver.Query{Limit: 10})
	require.ErrorIs(t, err, coredriver.ErrNotInitialized)
	require.NoError(t, db.Init(ctx))
	require.Equal(t, []keyVersion{{"k0", 1}, {"k1", 1}, {"k2", 1}}, keyVersions(readAfter(t, db, 0)))
	require.NoError(t, s.Put(ctx, "k3", -1, 3))
	require.Equal(t, []keyVersion{{"k3", 1}}, keyVersions(readAfter(t, db, 3)))
}

// TestStreamRepeatableReadDefault: the sequencer runs in READ COMMITTED even
// when the session default is REPEATABLE READ (where a step that waited for
// the lock would still see the stream as it was before it: its update then
// fails with a serialization error).
func TestStreamRepeatableReadDefault(t *testing.T) {
	ctx := context.Background()
	db := newDBOn(t, newPool(t, func(c *pgxpool.Config) {
		c.ConnConfig.RuntimeParams["default_transaction_isolation"] = "repeatable read"
	}))
	s, _ := newStore(t, db)
	const writers, puts, readers = 4, 20, 4
	var wg sync.WaitGroup
	errs := make(chan error, writers+readers)
	for w := 0; w < writers; w++ {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for i := 0; i < puts; i++ {
				if err := s.Put(ctx, fmt.Sprintf("w%d/%d", w, i), -1, i); err != nil {
					errs <- err
					return
				}
			}
		}()
	}
	for r := 0; r < readers; r++ {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for i := 0; i < puts*2; i++ {
				if _, _, _, err := db.Read(ctx, streamdriver.Query{Limit: 1}); err != nil {
					errs <- err
					return
				}
			}
		}()
	}
	wg.Wait()
	close(errs)
	for err := range errs {
		require.NoError(t, err)
	}
	require.Len(t, readAfter(t, db, 0), writers*puts)
}

// TestStreamPositionIndex: migration 6 rebuilds the position index without
// the rows not yet sequenced, keeping the positions handed out, uniqueness
// and the index plans of the queries on pos (Read's, with and without
// filters, and Trim's delete), also as generic plans.
func TestStreamPositionIndex(t *testing.T) {
	ctx := context.Background()
	db, s := writtenAtVersion(t, 5)
	require.Len(t, readAfter(t, db, 0), 3)      // sequenced: positions 1-3
	require.NoError(t, s.Put(ctx, "k3", -1, 3)) // not sequenced yet
	require.NoError(t, db.Init(ctx))

	_, stream := streamTables(db)
	var def string
	require.NoError(t, testPool.QueryRow(ctx, "SELECT pg_get_indexdef(to_regclass($1))",
		pgx.Identifier{db.Schema(), "kv_stream_pos_idx"}.Sanitize()).Scan(&def))
	require.Contains(t, def, "UNIQUE")
	require.Contains(t, def, "WHERE (pos IS NOT NULL)")
	require.Equal(t, []keyVersion{{"k0", 1}, {"k1", 1}, {"k2", 1}, {"k3", 1}}, keyVersions(readAfter(t, db, 0)))
	_, err := testPool.Exec(ctx, "UPDATE "+stream+" SET pos = 1 WHERE pos = 2")
	require.ErrorContains(t, err, "kv_stream_pos_idx")

	fillStream(t, db, "CASE WHEN i % 100 = 0 THEN NULL ELSE i + 10 END")
	inPlanModes(t, func(conn *pgxpool.Conn, mode string) {
		for i, q := range []struct{ sql, exec string }{
			{"SELECT pos, key FROM " + stream + " WHERE pos > $1 ORDER BY pos LIMIT $2", "(100, 10)"},
			{"SELECT pos, key FROM " + stream + " WHERE pos > $1 AND namespace = $2 AND type = $3 ORDER BY pos LIMIT $4", "(100, 'n1', 't3', 10)"},
			{"DELETE FROM " + stream + " WHERE pos <= (SELECT $1::bigint)", "(50)"}, // explained, not run
		} {
			plan := preparedPlan(t, conn, fmt.Sprintf("s%d", i), q.sql, q.exec)
			require.NotContains(t, plan, "Seq Scan", "%s: %s", mode, plan)
			require.Contains(t, plan, "kv_stream_pos_idx", "%s: %s", mode, plan)
		}
	})
}

// fillStream adds 20,000 entries to db's stream (keys key1..., namespaces
// n0-n9, types t0-t6), each at the position the SQL expression pos gives
// for its number i (NULL: not sequenced), and analyzes the table.
func fillStream(t *testing.T, db *postgreskv.DB, pos string) {
	t.Helper()
	ctx := context.Background()
	_, stream := streamTables(db)
	_, err := testPool.Exec(ctx, "INSERT INTO "+stream+` (namespace, key, action, version, type, value, ts, pos)
		SELECT 'n' || (i % 10), 'key' || i, 'create', 1, 't' || (i % 7), '1', now(), `+pos+`
		FROM generate_series(1, 20000) i`)
	require.NoError(t, err)
	_, err = testPool.Exec(ctx, "ANALYZE "+stream)
	require.NoError(t, err)
}

// TestStreamReadCost: Read's statement is cheap in the planner's eyes too,
// on a schema as Init leaves it (the meta row's table never analyzed). The
// planner's guess for a table without statistics once made every read look
// costly enough to be JIT-compiled, which took each 100-250 ms.
func TestStreamReadCost(t *testing.T) {
	db := newDB(t)
	ctx := context.Background()
	fillStream(t, db, "i")
	var metaTuples float64
	require.NoError(t, testPool.QueryRow(ctx, "SELECT reltuples FROM pg_class WHERE oid = to_regclass($1)",
		pgx.Identifier{db.Schema(), "kv_stream_meta"}.Sanitize()).Scan(&metaTuples))
	require.Equal(t, -1.0, metaTuples, "the meta table has no statistics")

	inPlanModes(t, func(conn *pgxpool.Conn, mode string) {
		for i, q := range []streamdriver.Query{
			{After: 100, Limit: 1000},
			{After: 100, Limit: 1000, HasNamespace: true, Namespace: "n1"},
			{After: 100, Limit: 1000, Type: "t3"},
		} {
			sql, args := postgreskv.ReadSQL(db, q)
			plan := preparedPlan(t, conn, fmt.Sprintf("r%d", i), sql, sqlLiterals(args))
			require.Less(t, planCost(t, plan), 10000.0, "%s: %s", mode, plan)
			require.NotContains(t, plan, "JIT", "%s: %s", mode, plan)
		}
	})
}

// TestSequencerStepCost: a step reads only the rows it sequences, even when
// the stream's statistics were taken while every row was unsequenced (the
// planner then expects a step to sequence the whole table, and a step's
// plan, cached by PL/pgSQL, joined the pending rows to a full scan).
func TestSequencerStepCost(t *testing.T) {
	db := newDB(t)
	ctx := context.Background()
	_, stream := streamTables(db)
	insert := func(n int) {
		_, err := testPool.Exec(ctx, "INSERT INTO "+stream+` (namespace, key, action, version, type, value, ts)
			SELECT '', 'key' || i, 'create', 1, '', '"a value of some length"', now() FROM generate_series(1, $1) i`, n)
		require.NoError(t, err)
	}
	insert(20000)
	_, err := testPool.Exec(ctx, "ANALYZE "+stream)
	require.NoError(t, err)

	conn, err := testPool.Acquire(ctx)
	require.NoError(t, err)
	defer conn.Release()
	// step runs one sequencer step on conn, as Read does, and returns the
	// pages it read.
	step := func() int {
		sql, args := postgreskv.SequenceSQL(db)
		_, err := conn.Exec(ctx, "BEGIN ISOLATION LEVEL READ COMMITTED")
		require.NoError(t, err)
		var plan []struct{ Plan map[string]any }
		require.NoError(t, conn.QueryRow(ctx, "EXPLAIN (ANALYZE, BUFFERS, FORMAT JSON) "+sql, args...).Scan(&plan))
		_, err = conn.Exec(ctx, "COMMIT")
		require.NoError(t, err)
		top := plan[0].Plan
		return int(top["Shared Hit Blocks"].(float64) + top["Shared Read Blocks"].(float64))
	}
	step() // sequences the 20,000 rows
	// Their old row versions are dead, and a step marks their index entries
	// dead, only once no transaction or snapshot that may still see them is
	// left (an autovacuum's analyze, a transaction in another database).
	waitHorizonPassed(t)
	var tablePages int
	require.NoError(t, testPool.QueryRow(ctx, "SELECT pg_relation_size(to_regclass($1)) / 8192", stream).Scan(&tablePages))
	// The next step visits those rows once to find that their entries in
	// the pending index are dead, and marks them. Later steps still walk
	// the marked entries until a vacuum removes them (some 60 pages here),
	// but never the table.
	step()
	for i := 0; i < 6; i++ { // past PL/pgSQL's five custom plans
		insert(5)
		pages := step()
		require.Less(t, pages, tablePages/2, "step %d read %d pages; the table has %d", i, pages, tablePages)
	}
	pages := step()
	require.Less(t, pages, tablePages/4, "an idle step read %d pages; the table has %d", pages, tablePages)
	_, last, err := db.Bounds(ctx)
	require.NoError(t, err)
	require.Equal(t, int64(20030), last, "every row has its position")
}

// waitHorizonPassed waits until every transaction and snapshot older than
// the call has ended: no session of the cluster runs a transaction that
// began before it, and no other session of the test database holds an
// older snapshot. Row versions deleted or updated before the call are
// then dead to every transaction, and an index scan that meets their
// entries marks them dead.
func waitHorizonPassed(t *testing.T) {
	t.Helper()
	ctx := context.Background()
	var marker string
	require.NoError(t, testPool.QueryRow(ctx, "SELECT pg_current_xact_id()::text").Scan(&marker))
	require.Eventually(t, func() bool {
		var passed bool
		require.NoError(t, testPool.QueryRow(ctx, `SELECT pg_snapshot_xmin(pg_current_snapshot()) > $1::xid8
	AND NOT EXISTS (SELECT 1 FROM pg_stat_activity WHERE datname = current_database() AND pid <> pg_backend_pid()
		AND backend_xmin IS NOT NULL AND age(backend_xmin) >= age($1::xid8::xid))`, marker).Scan(&passed))
		return passed
	}, 10*time.Second, 10*time.Millisecond, "the transactions and snapshots older than xid %s end", marker)
}

// sqlLiterals returns args as the argument list of EXECUTE.
func sqlLiterals(args []any) string {
	lits := make([]string, len(args))
	for i, a := range args {
		switch a := a.(type) {
		case string:
			lits[i] = "'" + strings.ReplaceAll(a, "'", "''") + "'"
		default:
			lits[i] = fmt.Sprint(a)
		}
	}
	return "(" + strings.Join(lits, ", ") + ")"
}

// planCost returns the total cost of the top node of an EXPLAIN plan.
func planCost(t *testing.T, plan string) float64 {
	t.Helper()
	m := regexp.MustCompile(`cost=[0-9.]+\.\.([0-9.]+)`).FindStringSubmatch(plan)
	require.NotNil(t, m, plan)
	cost, err := strconv.ParseFloat(m[1], 64)
	require.NoError(t, err)
	return cost
}

// TestSequencerMigration: migration 8 replaces the sequencer over a stream
// with sequenced and pending rows; positions go on from where they were.
func TestSequencerMigration(t *testing.T) {
	ctx := context.Background()
	db, s := writtenAtVersion(t, 7)
	require.Len(t, readAfter(t, db, 0), 3) // positions 1-3
	require.NoError(t, s.Put(ctx, "k3", -1, 3))
	require.NoError(t, s.Put(ctx, "k1", -1, 4)) // not sequenced yet
	require.NoError(t, db.Init(ctx))

	var config []string
	require.NoError(t, testPool.QueryRow(ctx, "SELECT proconfig FROM pg_proc WHERE oid = to_regproc($1)",
		pgx.Identifier{db.Schema(), "kv_sequence"}.Sanitize()).Scan(&config))
	require.ElementsMatch(t, []string{"enable_seqscan=off", "enable_bitmapscan=off", "enable_hashjoin=off",
		"enable_mergejoin=off", "jit=off"}, config)
	require.Equal(t, []keyVersion{{"k0", 1}, {"k1", 1}, {"k2", 1}, {"k3", 1}, {"k1", 2}}, keyVersions(readAfter(t, db, 0)))
	require.NoError(t, s.Put(ctx, "k4", -1, 5))
	require.Equal(t, []keyVersion{{"k4", 1}}, keyVersions(readAfter(t, db, 5)))
}

// TestBoundsAfterCommit: Bounds counts every change committed before it,
// whether or not a sequencer step has given it its position yet, and on
// a stream where every committed row has its position it answers without
// the sequencer's lock (a step or a trim in progress does not hold it up).
func TestBoundsAfterCommit(t *testing.T) {
	db := newDB(t)
	ctx := context.Background()
	s, _ := newStore(t, db)
	require.NoError(t, s.Put(ctx, "a", -1, json.RawMessage(`1`)))
	_, last, err := db.Bounds(ctx)
	require.NoError(t, err)
	require.EqualValues(t, 1, last)

	// Another session holds the sequencer's lock, as a step or a trim in
	// progress would.
	holder, err := testPool.Acquire(ctx)
	require.NoError(t, err)
	defer holder.Release()
	_, err = holder.Exec(ctx, "SELECT pg_advisory_lock($1)", postgreskv.SequencerLockKey(db))
	require.NoError(t, err)
	unlocked := false
	unlock := func() {
		if !unlocked {
			unlocked = true
			_, err := holder.Exec(ctx, "SELECT pg_advisory_unlock($1)", postgreskv.SequencerLockKey(db))
			require.NoError(t, err)
		}
	}
	defer unlock()

	short, cancel := context.WithTimeout(ctx, 5*time.Second)
	defer cancel()
	_, last, err = db.Bounds(short)
	require.NoError(t, err, "an idle stream's bounds need no step")
	require.EqualValues(t, 1, last)

	// A change committed without its position (written as Apply writes,
	// the step left to the next reader): Bounds must count it, so it runs
	// a step, which waits for the lock.
	tx := begin(t)
	_, _, err = rawPut(ctx, db, tx, "b")
	require.NoError(t, err)
	require.NoError(t, tx.Commit(ctx))
	done := make(chan int64, 1)
	go func() {
		_, last, err := db.Bounds(ctx)
		if err != nil {
			last = -1
		}
		done <- last
	}()
	select {
	case got := <-done:
		t.Fatalf("Bounds returned %d while the sequencer's lock was held and a committed row had no position", got)
	case <-time.After(200 * time.Millisecond):
	}
	unlock()
	select {
	case got := <-done:
		require.EqualValues(t, 2, got, "the committed change is counted")
	case <-time.After(10 * time.Second):
		t.Fatal("Bounds did not return after the lock was released")
	}
}
