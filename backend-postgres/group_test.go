package postgreskv_test

import (
	"context"
	"crypto/rand"
	"encoding/base64"
	"encoding/json"
	"errors"
	"fmt"
	mrand "math/rand/v2"
	"sync"
	"testing"
	"time"

	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgxpool"
	"github.com/stretchr/testify/require"

	postgreskv "github.com/kvsuite/kv/backend-postgres"
	"github.com/kvsuite/kv/kvcore/driver"
	streamdriver "github.com/kvsuite/kv/kvstream/driver"
)

// applied is the outcome of one Apply.
type applied struct {
	results []driver.Result
	err     error
}

// TestGroupCommit: batches queued behind a committer run as one group, each
// with its own outcome: a version mismatch or a failed fence undoes only
// its own batch's ops, a caller that gives up while queued gets its
// context's error and writes nothing, and the stream numbers the committed
// entries densely, in order.
func TestGroupCommit(t *testing.T) {
	ctx := context.Background()
	db := newDB(t)
	now := time.Date(2030, 1, 1, 0, 0, 0, 0, time.UTC)
	put := func(key string, version int64, value string) driver.Op {
		return driver.Op{Kind: driver.OpPut, Key: key, Version: version, Value: []byte(value)}
	}
	apply := func(ctx context.Context, b driver.Batch) applied {
		b.Now = now
		rs, err := db.Apply(ctx, b)
		return applied{rs, err}
	}
	for _, k := range []string{"cas", "hold"} {
		require.NoError(t, apply(ctx, driver.Batch{Ops: []driver.Op{put(k, -1, `1`)}}).err)
	}
	lease, ok, err := db.Acquire(ctx, "L", "me", now, time.Hour)
	require.NoError(t, err)
	require.True(t, ok)

	q := holdCommitter(t, db, "hold", driver.Batch{Ops: []driver.Op{put("hold", -1, `2`)}, Now: now})
	enqueue := func(ctx context.Context, b driver.Batch) chan applied {
		b.Now = now
		return q.enqueue(ctx, b)
	}
	created := enqueue(ctx, driver.Batch{Ops: []driver.Op{put("a", 0, `"a"`)}})
	casOK := enqueue(ctx, driver.Batch{Ops: []driver.Op{put("cas", 1, `2`)}})
	casLost := enqueue(ctx, driver.Batch{Ops: []driver.Op{put("cas", 1, `3`)}})
	partial := enqueue(ctx, driver.Batch{Ops: []driver.Op{put("b", -1, `"b"`), put("cas", 7, `4`)}})
	fenced := enqueue(ctx, driver.Batch{Ops: []driver.Op{put("f", -1, `"f"`)}, Fence: &driver.Fence{Name: "L", Token: lease.Token + 1}})
	inFence := enqueue(ctx, driver.Batch{Ops: []driver.Op{put("g", -1, `"g"`)}, Fence: &driver.Fence{Name: "L", Token: lease.Token}})
	plain := enqueue(ctx, driver.Batch{Ops: []driver.Op{put("p", -1, `"p"`)}})
	restored := enqueue(ctx, driver.Batch{Ops: []driver.Op{{Kind: driver.OpRestore, Key: "r", Value: []byte(`5`),
		SetVersion: 5, Created: now.Add(-time.Hour), Updated: now.Add(-time.Minute)}}})
	cctx, cancel := context.WithCancel(ctx)
	gaveUp := enqueue(cctx, driver.Batch{Ops: []driver.Op{put("h", -1, `"h"`)}})
	cancel()
	require.ErrorIs(t, (<-gaveUp).err, context.Canceled)
	q.queued--
	require.Equal(t, q.queued, postgreskv.Queued(db))

	require.NoError(t, q.release())
	got := <-created
	require.NoError(t, got.err)
	require.Equal(t, []driver.Result{{Rows: 1}}, got.results)
	got = <-casOK
	require.NoError(t, got.err)
	require.Equal(t, []driver.Result{{Rows: 1}}, got.results)
	var oe *driver.OpError
	got = <-casLost
	require.ErrorAs(t, got.err, &oe)
	require.Equal(t, 0, oe.Index)
	require.ErrorIs(t, got.err, driver.ErrVersionMismatch)
	got = <-partial
	require.ErrorAs(t, got.err, &oe)
	require.Equal(t, 1, oe.Index)
	require.ErrorIs(t, (<-fenced).err, driver.ErrFenced)
	require.NoError(t, (<-inFence).err)
	require.NoError(t, (<-plain).err)
	got = <-restored
	require.NoError(t, got.err)
	require.Equal(t, []driver.Result{{Rows: 1}}, got.results)
	require.Equal(t, 0, postgreskv.Queued(db))

	recs, err := db.Query(ctx, driver.Selector{Keys: []string{"a", "b", "cas", "f", "g", "h", "hold", "p", "r"}}, now)
	require.NoError(t, err)
	versions := map[string]int64{}
	for _, r := range recs {
		versions[r.Key] = r.Version
	}
	require.Equal(t, map[string]int64{"a": 1, "cas": 2, "g": 1, "hold": 2, "p": 1, "r": 5}, versions)

	rs, _, _, err := db.Read(ctx, streamdriver.Query{Limit: 100})
	require.NoError(t, err)
	type entry struct {
		key     string
		version int64
	}
	var entries []entry
	for i, r := range rs {
		require.Equal(t, int64(i+1), r.Seq, "dense positions")
		entries = append(entries, entry{r.Key, r.Version})
	}
	// The setup's two puts, the committer's, then the group in key order.
	require.Equal(t, []entry{{"cas", 1}, {"hold", 1}, {"hold", 2}, {"a", 1}, {"cas", 2}, {"g", 1}, {"p", 1}, {"r", 5}}, entries)
}

// committerHeld is a DB whose only committer waits for a row lock that the
// test holds, so that the batches it enqueues form the next group.
type committerHeld struct {
	t      *testing.T
	db     *postgreskv.DB
	tx     pgx.Tx
	leader chan applied
	queued int
}

// holdCommitter sets db to one committer, locks key's row and starts
// first (which must write key): the committer then waits for the lock.
func holdCommitter(t *testing.T, db *postgreskv.DB, key string, first driver.Batch) *committerHeld {
	t.Helper()
	ctx := context.Background()
	postgreskv.SetMaxCommitters(db, 1)
	tx, err := testPool.Begin(ctx)
	require.NoError(t, err)
	t.Cleanup(func() { _ = tx.Rollback(ctx) })
	_, err = tx.Exec(ctx, "SELECT 1 FROM "+pgx.Identifier{db.Schema(), "kv_records"}.Sanitize()+" WHERE key = $1 FOR UPDATE", key)
	require.NoError(t, err)
	h := &committerHeld{t: t, db: db, tx: tx}
	h.leader = h.start(ctx, first)
	require.Eventually(t, func() bool { return lockWaiters(t) > 0 },
		10*time.Second, 10*time.Millisecond, "the committer waits for the row lock")
	return h
}

// lockWaiters returns how many sessions of the test database wait for a lock.
func lockWaiters(t *testing.T) int {
	var n int
	require.NoError(t, testPool.QueryRow(context.Background(), `SELECT count(*) FROM pg_stat_activity
WHERE datname = current_database() AND wait_event_type = 'Lock'`).Scan(&n))
	return n
}

// start runs b in a goroutine.
func (h *committerHeld) start(ctx context.Context, b driver.Batch) chan applied {
	ch := make(chan applied, 1)
	go func() {
		rs, err := h.db.Apply(ctx, b)
		ch <- applied{rs, err}
	}()
	return ch
}

// enqueue starts b and waits until it is queued.
func (h *committerHeld) enqueue(ctx context.Context, b driver.Batch) chan applied {
	ch := h.start(ctx, b)
	h.queued++
	require.Eventually(h.t, func() bool { return postgreskv.Queued(h.db) == h.queued }, 10*time.Second, time.Millisecond)
	return ch
}

// release lets the committer go and returns its batch's error.
func (h *committerHeld) release() error {
	require.NoError(h.t, h.tx.Commit(context.Background()))
	return (<-h.leader).err
}

// TestGroupCommitUnexpectedFailure: a batch without a savepoint (puts
// with version -1) that fails all the same gets its error and writes
// nothing; the batches grouped with it are run again and commit, each
// change recorded once. The bad batch is a lone plain put (written with the
// other plain puts in one statement) or a batch of two ops; the group has a
// batch that may fail by its condition (an explicit transaction with
// savepoints) or none (an implicit transaction).
func TestGroupCommitUnexpectedFailure(t *testing.T) {
	ctx := context.Background()
	now := time.Date(2030, 1, 1, 0, 0, 0, 0, time.UTC)
	put := func(key string, version int64) driver.Op {
		return driver.Op{Kind: driver.OpPut, Key: key, Version: version, Value: []byte(`1`)}
	}
	batch := func(ops ...driver.Op) driver.Batch { return driver.Batch{Ops: ops, Now: now} }
	// A key too large for the primary key's index: PostgreSQL refuses it.
	huge := make([]byte, 12000)
	_, _ = rand.Read(huge)
	bad := put(base64.StdEncoding.EncodeToString(huge), -1)
	for _, c := range []struct {
		name     string
		badBatch driver.Batch
		withCAS  bool
	}{
		{"plain put, savepoints", batch(bad), true},
		{"plain put, implicit", batch(bad), false},
		{"two ops, savepoints", batch(put("z", -1), bad), true},
		{"two ops, implicit", batch(put("z", -1), bad), false},
	} {
		t.Run(c.name, func(t *testing.T) {
			db := newDB(t)
			for _, k := range []string{"cas", "hold"} {
				_, err := db.Apply(ctx, batch(put(k, -1)))
				require.NoError(t, err)
			}
			q := holdCommitter(t, db, "hold", batch(put("hold", -1)))
			good := []chan applied{q.enqueue(ctx, batch(put("x", -1)))}
			failed := q.enqueue(ctx, c.badBatch)
			if c.withCAS {
				good = append(good, q.enqueue(ctx, batch(put("cas", 1))))
			}
			good = append(good, q.enqueue(ctx, batch(put("y", -1))))
			require.NoError(t, q.release())
			got := <-failed
			require.Error(t, got.err)
			require.NotErrorIs(t, got.err, driver.ErrVersionMismatch)
			for _, ch := range good {
				got := <-ch
				require.NoError(t, got.err)
				require.Len(t, got.results, 1)
			}
			recs, err := db.Query(ctx, driver.Selector{Keys: []string{"cas", "x", "y", "z"}}, now)
			require.NoError(t, err)
			require.Len(t, recs, 3, "the failed batch wrote nothing")
			wantCAS := int64(1)
			if c.withCAS {
				wantCAS = 2
			}
			require.Equal(t, wantCAS, recs[0].Version)
			rs, _, _, err := db.Read(ctx, streamdriver.Query{Limit: 100})
			require.NoError(t, err)
			var entries []string
			for _, r := range rs {
				entries = append(entries, r.Key+" "+r.Action)
			}
			want := []string{"cas create", "hold create", "hold update", "x create", "y create"}
			if c.withCAS {
				want = append(want, "cas update")
			}
			require.ElementsMatch(t, want, entries)
		})
	}
}

// TestGroupCommitConnectionLost: a group whose connection is lost while
// its plain puts run (here: its server process is terminated while it waits
// for a row lock) hands every batch the error; none is left waiting. With a
// batch that may fail by its condition (savepoints) and without (an
// implicit transaction).
func TestGroupCommitConnectionLost(t *testing.T) {
	ctx := context.Background()
	now := time.Date(2030, 1, 1, 0, 0, 0, 0, time.UTC)
	put := func(key string, version int64) driver.Batch {
		return driver.Batch{Ops: []driver.Op{{Kind: driver.OpPut, Key: key, Version: version, Value: []byte(`1`)}}, Now: now}
	}
	for _, withCAS := range []bool{true, false} {
		t.Run(fmt.Sprintf("withCAS=%v", withCAS), func(t *testing.T) {
			db := newDB(t)
			for _, k := range []string{"cas", "hold", "locked"} {
				_, err := db.Apply(ctx, put(k, -1))
				require.NoError(t, err)
			}
			q := holdCommitter(t, db, "hold", put("hold", -1))
			chans := []chan applied{q.enqueue(ctx, put("x", -1)), q.enqueue(ctx, put("locked", -1))}
			if withCAS {
				chans = append(chans, q.enqueue(ctx, put("cas", 1)))
			}
			// Lock a row the group writes, then let the group start.
			tx, err := testPool.Begin(ctx)
			require.NoError(t, err)
			defer func() { _ = tx.Rollback(ctx) }()
			_, err = tx.Exec(ctx, "SELECT 1 FROM "+pgx.Identifier{db.Schema(), "kv_records"}.Sanitize()+" WHERE key = 'locked' FOR UPDATE")
			require.NoError(t, err)
			require.NoError(t, q.release())
			var pid int32
			require.Eventually(t, func() bool {
				err := testPool.QueryRow(ctx, `SELECT pid FROM pg_stat_activity
WHERE datname = current_database() AND wait_event_type = 'Lock'`).Scan(&pid)
				return err == nil
			}, 10*time.Second, 10*time.Millisecond, "the group waits for the row lock")
			_, err = testPool.Exec(ctx, "SELECT pg_terminate_backend($1)", pid)
			require.NoError(t, err)
			for i, ch := range chans {
				select {
				case got := <-ch:
					require.Error(t, got.err, "batch %d", i)
				case <-time.After(10 * time.Second):
					t.Fatalf("batch %d: no outcome 10 s after its group's connection was lost", i)
				}
			}
		})
	}
}

// TestGroupCommitOff: WithoutGroupCommit still applies batches, each in its
// own transaction.
func TestGroupCommitOff(t *testing.T) {
	ctx := context.Background()
	db := newDBOn(t, testPool, postgreskv.WithoutGroupCommit())
	s, _ := newStore(t, db)
	require.NoError(t, s.Put(ctx, "k", -1, json.RawMessage(`1`)))
	require.ErrorIs(t, s.Put(ctx, "k", 5, json.RawMessage(`2`)), driver.ErrVersionMismatch)
	r, err := s.GetRecord(ctx, "k")
	require.NoError(t, err)
	require.Equal(t, int64(1), r.Version)
}

// TestGroupCommitStall: groups stuck (here on row locks held elsewhere)
// do not hold up every writer. Two groups are in flight, both stuck, so a
// new Apply may start a group only because the newest has run for longer
// than groupStall; it does, and commits while they wait.
func TestGroupCommitStall(t *testing.T) {
	ctx := context.Background()
	// A pool of its own: three groups in flight need a connection each.
	db := newDBOn(t, newPool(t, func(c *pgxpool.Config) { c.MaxConns = 8 }))
	put := func(key string) driver.Batch {
		return driver.Batch{Ops: []driver.Op{{Kind: driver.OpPut, Key: key, Version: -1, Value: []byte(`1`)}}, Now: time.Now()}
	}
	for _, k := range []string{"hold", "hold2"} {
		_, err := db.Apply(ctx, put(k))
		require.NoError(t, err)
	}
	q := holdCommitter(t, db, "hold", put("hold"))
	tx, err := testPool.Begin(ctx)
	require.NoError(t, err)
	defer func() { _ = tx.Rollback(ctx) }()
	_, err = tx.Exec(ctx, "SELECT 1 FROM "+pgx.Identifier{db.Schema(), "kv_records"}.Sanitize()+" WHERE key = 'hold2' FOR UPDATE")
	require.NoError(t, err)
	second := q.enqueue(ctx, put("hold2"))
	// The queued batch starts a group beside the stuck one (as many wait as
	// it holds, and it writes another key) and gets stuck on its own row.
	postgreskv.SetMaxCommitters(db, 3)
	require.Eventually(t, func() bool { return postgreskv.Queued(db) == 0 && lockWaiters(t) == 2 },
		10*time.Second, 10*time.Millisecond, "the second group waits for its row lock")

	fctx, cancel := context.WithTimeout(ctx, 10*time.Second)
	defer cancel()
	_, err = db.Apply(fctx, put("free"))
	require.NoError(t, err, "a writer waits for stuck groups")
	select {
	case a := <-q.leader:
		t.Fatalf("the stuck group finished while its row was locked: %v", a.err)
	case a := <-second:
		t.Fatalf("the second stuck group finished while its row was locked: %v", a.err)
	default:
	}
	require.NoError(t, q.release())
	require.NoError(t, tx.Commit(ctx))
	require.NoError(t, (<-second).err)
}

// TestGroupCommitNoDeadlock: under contention (16 writers over 40 keys:
// plain puts, puts with an expected version, batches of two puts in either
// order) groups that execute side by side never deadlock: a batch runs
// beside an executing group only if it writes none of that group's keys.
// (Before that rule, each run saw 20-30 deadlocks, each found only after
// deadlock_timeout.) Deadlocks are counted by the server, read once every
// session of the run has ended and so reported its statistics. The run's
// sessions (its pool's and its notifier's) are told apart by their
// application_name: sessions that other tests leave open do not count.
func TestGroupCommitNoDeadlock(t *testing.T) {
	ctx := context.Background()
	const appName = "kv-test-no-deadlock"
	pool := newPool(t, func(c *pgxpool.Config) {
		c.MaxConns = 20
		c.ConnConfig.RuntimeParams["application_name"] = appName
	})
	db := newDBOn(t, pool)
	deadlocks := func() int64 {
		var n int64
		require.NoError(t, testPool.QueryRow(ctx, "SELECT deadlocks FROM pg_stat_database WHERE datname = current_database()").Scan(&n))
		return n
	}
	before := deadlocks()
	var wg sync.WaitGroup
	errs := make(chan error, 16)
	for g := 0; g < 16; g++ {
		wg.Add(1)
		go func(g int) {
			defer wg.Done()
			rnd := mrand.New(mrand.NewPCG(uint64(g), 1))
			key := func() string { return fmt.Sprintf("k%02d", rnd.IntN(40)) }
			put := func(version int64) driver.Op {
				return driver.Op{Kind: driver.OpPut, Key: key(), Version: version, Value: []byte(`1`)}
			}
			for i := 0; i < 300; i++ {
				b := driver.Batch{Now: time.Now()}
				switch rnd.IntN(4) {
				case 0, 1:
					b.Ops = []driver.Op{put(-1)}
				case 2:
					b.Ops = []driver.Op{put(int64(1 + rnd.IntN(3)))}
				default:
					b.Ops = []driver.Op{put(-1), put(-1)}
				}
				if _, err := db.Apply(ctx, b); err != nil && !errors.Is(err, driver.ErrVersionMismatch) {
					errs <- err
					return
				}
			}
		}(g)
	}
	wg.Wait()
	close(errs)
	for err := range errs {
		require.NoError(t, err)
	}
	require.NoError(t, db.Close())
	pool.Close()
	require.Eventually(t, func() bool {
		var n int
		require.NoError(t, testPool.QueryRow(ctx, `SELECT count(*) FROM pg_stat_activity
WHERE datname = current_database() AND application_name = $1`, appName).Scan(&n))
		return n == 0
	}, 10*time.Second, 10*time.Millisecond, "the run's sessions end")
	require.Zero(t, deadlocks()-before, "deadlocks during the run")
}

// TestGroupCommitExpiredRecord: a put that meets an expired record in a
// group (one that may fail by its condition and one that may not) is run
// again with the removal in front; the batches grouped with it commit once,
// and the stream records each change once, in order.
func TestGroupCommitExpiredRecord(t *testing.T) {
	ctx := context.Background()
	db := newDB(t)
	now := time.Date(2030, 1, 1, 0, 0, 0, 0, time.UTC)
	put := func(key string, version int64, expires time.Time) driver.Batch {
		return driver.Batch{Ops: []driver.Op{{Kind: driver.OpPut, Key: key, Version: version, Value: []byte(`1`), Expires: expires}}, Now: now}
	}
	for _, k := range []string{"cas", "hold", "old", "old0"} {
		var exp time.Time
		if k == "old" || k == "old0" {
			exp = now.Add(-time.Second)
		}
		_, err := db.Apply(ctx, put(k, -1, exp))
		require.NoError(t, err)
	}
	q := holdCommitter(t, db, "hold", put("hold", -1, time.Time{}))
	x := q.enqueue(ctx, put("x", -1, time.Time{}))
	old := q.enqueue(ctx, put("old", -1, time.Time{}))
	cas := q.enqueue(ctx, put("cas", 1, time.Time{}))
	old0 := q.enqueue(ctx, put("old0", 0, time.Time{}))
	y := q.enqueue(ctx, put("y", -1, time.Time{}))
	require.NoError(t, q.release())
	for _, ch := range []chan applied{x, old, cas, old0, y} {
		got := <-ch
		require.NoError(t, got.err)
		require.Len(t, got.results, 1)
	}
	rs, _, _, err := db.Read(ctx, streamdriver.Query{Limit: 100})
	require.NoError(t, err)
	actions := map[string][]string{}
	for i, r := range rs {
		require.Equal(t, int64(i+1), r.Seq, "dense positions")
		actions[r.Key] = append(actions[r.Key], r.Action)
	}
	// The setup's puts, the committer's, then each grouped change once: the
	// expired records' removal before their new creation.
	require.Equal(t, map[string][]string{
		"cas": {"create", "update"}, "hold": {"create", "update"}, "x": {"create"}, "y": {"create"},
		"old": {"create", "delete", "create"}, "old0": {"create", "delete", "create"},
	}, actions)
	recs, err := db.Query(ctx, driver.Selector{Keys: []string{"cas", "old", "old0"}}, now)
	require.NoError(t, err)
	versions := map[string]int64{}
	for _, r := range recs {
		versions[r.Key] = r.Version
	}
	require.Equal(t, map[string]int64{"cas": 2, "old": 1, "old0": 1}, versions)
}

// TestGroupCommitPlainPuts: puts with version -1 and no expiry, grouped,
// are written by one statement (the first of each key; a second put of a
// key runs after it): each gets its own version, and the stream records
// each change once.
func TestGroupCommitPlainPuts(t *testing.T) {
	ctx := context.Background()
	db := newDB(t)
	now := time.Date(2030, 1, 1, 0, 0, 0, 0, time.UTC)
	put := func(key, value string) driver.Batch {
		return driver.Batch{Ops: []driver.Op{{Kind: driver.OpPut, Key: key, Version: -1, Value: []byte(value), Type: "T" + value}}, Now: now}
	}
	for _, k := range []string{"c", "hold"} {
		_, err := db.Apply(ctx, put(k, `0`))
		require.NoError(t, err)
	}
	q := holdCommitter(t, db, "hold", put("hold", `1`))
	a1 := q.enqueue(ctx, put("a", `1`))
	b := q.enqueue(ctx, put("b", `1`))
	a2 := q.enqueue(ctx, put("a", `2`))
	c := q.enqueue(ctx, put("c", `1`))
	require.NoError(t, q.release())
	for _, ch := range []chan applied{a1, b, a2, c} {
		got := <-ch
		require.NoError(t, got.err)
		require.Equal(t, []driver.Result{{Rows: 1}}, got.results)
	}
	recs, err := db.Query(ctx, driver.Selector{Keys: []string{"a", "b", "c"}}, now)
	require.NoError(t, err)
	require.Len(t, recs, 3)
	for _, r := range recs {
		want := map[string]string{"a": `2`, "b": `1`, "c": `1`}[r.Key]
		require.Equal(t, want, string(r.Value), r.Key)
		require.Equal(t, "T"+want, r.Type, r.Key)
		require.Equal(t, now, r.Updated.UTC(), r.Key)
	}
	rs, _, _, err := db.Read(ctx, streamdriver.Query{Limit: 100})
	require.NoError(t, err)
	var entries []string
	for _, r := range rs {
		entries = append(entries, fmt.Sprintf("%s %s %d %s", r.Key, r.Action, r.Version, r.Value))
	}
	require.Equal(t, []string{"c create 1 0", "hold create 1 0", "hold update 2 1",
		"a create 1 1", "b create 1 1", "c update 2 1", "a update 2 2"}, entries)
}
