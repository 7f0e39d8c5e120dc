package postgreskv_test

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"sort"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgconn"
	"github.com/jackc/pgx/v5/pgxpool"
	"github.com/stretchr/testify/require"

	postgreskv "github.com/kvsuite/kv/backend-postgres"
	"github.com/kvsuite/kv/kvcore"
	"github.com/kvsuite/kv/kvcore/driver"
)

// fixedClock is a settable clock.
type fixedClock struct {
	mu sync.Mutex
	t  time.Time
}

func (c *fixedClock) Now() time.Time { c.mu.Lock(); defer c.mu.Unlock(); return c.t }
func (c *fixedClock) Advance(d time.Duration) {
	c.mu.Lock()
	c.t = c.t.Add(d)
	c.mu.Unlock()
}

func newStore(t *testing.T, db *postgreskv.DB) (*kvcore.Store, *fixedClock) {
	t.Helper()
	clock := &fixedClock{t: time.Date(2030, 5, 6, 7, 8, 9, 123456000, time.UTC)}
	s, err := db.Store(kvcore.WithClock(clock.Now), kvcore.WithSweepInterval(0))
	require.NoError(t, err)
	t.Cleanup(func() { _ = s.Close() })
	return s, clock
}

// streamRow is one row of the change stream table.
type streamRow struct {
	Seq       int64
	Namespace string
	Key       string
	Action    string
	Version   int64
	Type      string
	Value     []byte
	TS        time.Time
}

func readStream(t *testing.T, db *postgreskv.DB) []streamRow {
	t.Helper()
	rows, err := testPool.Query(context.Background(), "SELECT seq, namespace, key, action, version, type, value, ts FROM "+
		pgx.Identifier{db.Schema(), "kv_stream"}.Sanitize()+" ORDER BY seq")
	require.NoError(t, err)
	out, err := pgx.CollectRows(rows, func(r pgx.CollectableRow) (streamRow, error) {
		var s streamRow
		err := r.Scan(&s.Seq, &s.Namespace, &s.Key, &s.Action, &s.Version, &s.Type, &s.Value, &s.TS)
		return s, err
	})
	require.NoError(t, err)
	return out
}

func TestPutGetStream(t *testing.T) {
	db := newDB(t)
	s, clock := newStore(t, db)
	ctx := context.Background()
	now := clock.Now()

	require.NoError(t, s.Put(ctx, "a", 0, json.RawMessage(`{"x":1}`), kvcore.WithType("T")))
	require.ErrorIs(t, s.Put(ctx, "a", 0, json.RawMessage(`2`)), kvcore.ErrVersionMismatch)
	require.ErrorIs(t, s.Put(ctx, "a", 7, json.RawMessage(`2`)), kvcore.ErrVersionMismatch)
	require.ErrorIs(t, s.Put(ctx, "missing", 1, json.RawMessage(`2`)), kvcore.ErrVersionMismatch)
	clock.Advance(time.Second)
	require.NoError(t, s.Put(ctx, "a", 1, json.RawMessage(`2`), kvcore.WithType("T")))
	r, err := s.GetRecord(ctx, "a")
	require.NoError(t, err)
	require.Equal(t, int64(2), r.Version)
	require.Equal(t, `2`, string(r.Value))
	require.Equal(t, now, r.Created)
	require.Equal(t, now.Add(time.Second), r.Updated)
	ok, err := s.DeleteVersion(ctx, "a", 2)
	require.NoError(t, err)
	require.True(t, ok)

	st := readStream(t, db)
	require.Len(t, st, 3)
	require.Equal(t, []string{"create", "update", "delete"}, []string{st[0].Action, st[1].Action, st[2].Action})
	require.Equal(t, []int64{1, 2, 2}, []int64{st[0].Version, st[1].Version, st[2].Version})
	require.Equal(t, `{"x":1}`, string(st[0].Value))
	require.Nil(t, st[2].Value)
	require.Equal(t, "T", st[2].Type)
	require.True(t, st[0].Seq < st[1].Seq && st[1].Seq < st[2].Seq)
	require.True(t, st[2].TS.Equal(now.Add(time.Second)))

	// Every stream row carries its writing transaction's id, an xid that
	// ended: below the snapshot's xmin once the transactions that other
	// sessions of the cluster had open have ended too.
	waitHorizonPassed(t)
	var missing int
	require.NoError(t, testPool.QueryRow(ctx, "SELECT count(*) FROM "+pgx.Identifier{db.Schema(), "kv_stream"}.Sanitize()+
		" WHERE xid IS NULL OR xid >= pg_snapshot_xmin(pg_current_snapshot())").Scan(&missing))
	require.Zero(t, missing)
}

// TestValueBytes checks that values come back byte for byte (bytea, not
// jsonb, which would reorder keys and normalise numbers and escapes).
func TestValueBytes(t *testing.T) {
	db := newDB(t)
	s, _ := newStore(t, db)
	ctx := context.Background()
	for i, v := range []string{
		`{"b":1,"a":2,"b":3}`,
		`{"n":1.000000000000000000000000001,"e":1E400,"big":123456789012345678901234567890}`,
		`"\u0000\u00e9\ud83d\ude00 é 😀"`,
		`[1,"\"",{}]`,
		`null`,
	} {
		key := fmt.Sprintf("v%d", i)
		require.NoError(t, s.Put(ctx, key, -1, json.RawMessage(v)))
		r, err := s.GetRecord(ctx, key)
		require.NoError(t, err)
		require.Equal(t, v, string(r.Value))
	}
}

// TestCollationOrder checks that ordering and ranges are Go's byte order
// (UTF-8 code point order) whatever the database's collation.
func TestCollationOrder(t *testing.T) {
	db := newDB(t)
	s, _ := newStore(t, db)
	ctx := context.Background()
	keys := []string{"b", "B", "a", "A", "ab", "aB", "Ab", "_a", "-a", " a", "a b", "é", "e", "E", "f", "É",
		"ü", "u", "z", "Z", "ß", "ss", "日本", "本", "😀", "\uffff", "\U0010ffff", "~", "a~", "a\u00e9", "ae"}
	var ms []kvcore.Mutation
	for _, k := range keys {
		ms = append(ms, kvcore.Put(k, 0, json.RawMessage(`1`)))
	}
	_, err := s.MutateAll(ctx, ms...)
	require.NoError(t, err)

	want := append([]string(nil), keys...)
	sort.Strings(want) // byte order
	got, err := s.List(ctx, 0, 0)
	require.NoError(t, err)
	require.Equal(t, want, recordKeys(got))

	var iterated []string
	for r, err := range s.All(ctx, kvcore.PageSize(4)) {
		require.NoError(t, err)
		iterated = append(iterated, r.Key)
	}
	require.Equal(t, want, iterated)

	// Ranges and prefixes are byte ranges: "a" <= k < "b" excludes "A", "B" and "é".
	got, err = s.GetRange(ctx, "a", "b", 0, 0)
	require.NoError(t, err)
	require.Equal(t, filter(want, func(k string) bool { return k >= "a" && k < "b" }), recordKeys(got))
	got, err = s.GetPrefix(ctx, "a", 0, 0)
	require.NoError(t, err)
	require.Equal(t, filter(want, func(k string) bool { return strings.HasPrefix(k, "a") }), recordKeys(got))
	got, err = s.GetRange(ctx, "Z", "é", 0, 0)
	require.NoError(t, err)
	require.Equal(t, filter(want, func(k string) bool { return k >= "Z" && k < "é" }), recordKeys(got))
}

func recordKeys(rs []kvcore.Record) []string {
	out := make([]string, len(rs))
	for i, r := range rs {
		out[i] = r.Key
	}
	return out
}

func filter(in []string, keep func(string) bool) []string {
	var out []string
	for _, s := range in {
		if keep(s) {
			out = append(out, s)
		}
	}
	return out
}

// TestExpiredIsAbsent checks that writes treat an expired record as absent.
func TestExpiredIsAbsent(t *testing.T) {
	db := newDB(t)
	s, clock := newStore(t, db)
	ctx := context.Background()
	require.NoError(t, s.Put(ctx, "k", -1, json.RawMessage(`1`), kvcore.WithTTL(time.Minute)))
	require.NoError(t, s.Put(ctx, "k", 1, json.RawMessage(`2`), kvcore.WithTTL(time.Minute)))
	clock.Advance(time.Minute) // expires == now: expired
	_, ok, err := s.Get(ctx, "k", nil)
	require.NoError(t, err)
	require.False(t, ok)
	require.ErrorIs(t, s.Put(ctx, "k", 2, json.RawMessage(`3`)), kvcore.ErrVersionMismatch)
	n, err := s.Delete(ctx, "k")
	require.NoError(t, err)
	require.Zero(t, n)
	require.ErrorIs(t, s.Touch(ctx, "k", time.Hour), kvcore.ErrNotFound)

	require.NoError(t, s.Put(ctx, "k", 0, json.RawMessage(`4`)))
	r, err := s.GetRecord(ctx, "k")
	require.NoError(t, err)
	require.Equal(t, int64(1), r.Version)
	require.Equal(t, clock.Now(), r.Created)
	require.Nil(t, r.Expires)
	st := readStream(t, db)
	require.Equal(t, []string{"create", "update", "delete", "create"}, []string{st[0].Action, st[1].Action, st[2].Action, st[3].Action},
		"the expired record's removal, then the new record")
	require.Equal(t, int64(2), st[2].Version)
	require.Nil(t, st[2].Value)
	require.Equal(t, int64(1), st[3].Version)

	// Sweep removes expired records in every namespace, with delete entries.
	other, err := s.Namespace("other")
	require.NoError(t, err)
	for i := 0; i < 5; i++ {
		require.NoError(t, other.Put(ctx, fmt.Sprint("o", i), -1, json.RawMessage(`1`), kvcore.WithTTL(time.Second)))
	}
	clock.Advance(time.Second)
	removed, err := db.Sweep(ctx, clock.Now(), 2)
	require.NoError(t, err)
	require.Equal(t, int64(2), removed)
	removed, err = s.Sweep(ctx)
	require.NoError(t, err)
	require.Equal(t, int64(3), removed)
	st = readStream(t, db)
	var deletes int
	for _, e := range st {
		if e.Action == "delete" && e.Namespace == "other" {
			deletes++
		}
	}
	require.Equal(t, 5, deletes)
}

// TestConcurrentInit runs Init on one new schema from many pools at once.
func TestConcurrentInit(t *testing.T) {
	schema := newSchemaName(t)
	ctx := context.Background()
	const n = 6
	dbs := make([]*postgreskv.DB, n)
	for i := range dbs {
		db, err := postgreskv.Open(ctx, testConnString(t), postgreskv.WithSchema(schema))
		require.NoError(t, err)
		t.Cleanup(func() { _ = db.Close() })
		dbs[i] = db
	}
	var wg sync.WaitGroup
	errs := make([]error, n*2)
	for i := 0; i < n*2; i++ {
		wg.Add(1)
		go func(i int) {
			defer wg.Done()
			errs[i] = dbs[i%n].Init(ctx)
		}(i)
	}
	wg.Wait()
	for _, err := range errs {
		require.NoError(t, err)
	}
	var versions []int32
	rows, err := testPool.Query(ctx, "SELECT version FROM "+pgx.Identifier{schema, "kv_schema_migrations"}.Sanitize()+" ORDER BY version")
	require.NoError(t, err)
	versions, err = pgx.CollectRows(rows, pgx.RowTo[int32])
	require.NoError(t, err)
	want := []int32{}
	for v := int32(1); v <= postgreskv.SchemaVersion; v++ {
		want = append(want, v)
	}
	require.Equal(t, want, versions)

	// Every session gave its advisory lock back.
	var locks int
	require.NoError(t, testPool.QueryRow(ctx, "SELECT count(*) FROM pg_locks WHERE locktype = 'advisory' AND database = (SELECT oid FROM pg_database WHERE datname = current_database())").Scan(&locks))
	require.Zero(t, locks)

	s, _ := newStore(t, dbs[0])
	require.NoError(t, s.Put(ctx, "k", 0, json.RawMessage(`1`)))
}

// TestNotInitializedErrors: the server's errors for a missing table,
// schema or kv function mean Init has not run; an undefined operator or
// another function does not (a bug in a statement, not a missing schema).
func TestNotInitializedErrors(t *testing.T) {
	ctx := context.Background()
	schema := newSchemaName(t)
	_, err := testPool.Exec(ctx, "CREATE SCHEMA "+pgx.Identifier{schema}.Sanitize())
	require.NoError(t, err)
	db := postgreskv.New(testPool, postgreskv.WithSchema(schema))
	for sql, missing := range map[string]bool{
		"SELECT * FROM " + pgx.Identifier{schema, "kv_records"}.Sanitize():           true,
		"SELECT * FROM " + pgx.Identifier{schema + "_none", "kv_records"}.Sanitize(): true,
		"SELECT " + pgx.Identifier{schema, "kv_sequence"}.Sanitize() + "(1)":         true,
		"SELECT " + pgx.Identifier{schema, "kv_fail"}.Sanitize() + "('x', 1)":        true,
		"SELECT 1 + 'a'::text":       false,
		"SELECT no_such_function(1)": false,
	} {
		_, err := testPool.Exec(ctx, sql)
		require.Error(t, err, sql)
		mapped := postgreskv.MapError(db, err)
		require.Equal(t, missing, errors.Is(mapped, kvcore.ErrNotInitialized), "%s: %v", sql, mapped)
	}
}

func TestBadOptions(t *testing.T) {
	needServer(t)
	for _, name := range []string{"", "1abc", "a-b", `a"b`, "a b", strings.Repeat("x", 64), "é"} {
		db := postgreskv.New(testPool, postgreskv.WithSchema(name))
		err := db.Init(context.Background())
		require.Error(t, err, "%q", name)
		require.Contains(t, err.Error(), "invalid schema name")
		_, err = postgreskv.Open(context.Background(), testConnString(t), postgreskv.WithSchema(name))
		require.Error(t, err)
	}
	db := postgreskv.New(nil)
	_, err := db.Query(context.Background(), driver.Selector{}, time.Now())
	require.ErrorContains(t, err, "nil pool")
}

func TestCloseAndOwnership(t *testing.T) {
	ctx := context.Background()
	// New does not close the caller's pool.
	pool, err := pgxpool.NewWithConfig(ctx, testBase.Copy())
	require.NoError(t, err)
	defer pool.Close()
	db := postgreskv.New(pool, postgreskv.WithSchema(newSchemaName(t)))
	require.NoError(t, db.Init(ctx))
	require.NoError(t, db.Close())
	require.NoError(t, db.Close())
	require.NoError(t, pool.Ping(ctx))
	_, err = db.Query(ctx, driver.Selector{Keys: []string{"k"}}, time.Now())
	require.ErrorIs(t, err, kvcore.ErrClosed)
	_, err = db.Apply(ctx, driver.Batch{Ops: []driver.Op{{Kind: driver.OpDelete, Key: "k", Version: -1}}, Now: time.Now()})
	require.ErrorIs(t, err, kvcore.ErrClosed)

	// Open's pool is closed by Close.
	db2, err := postgreskv.Open(ctx, testConnString(t))
	require.NoError(t, err)
	require.NoError(t, db2.Close())
	require.Error(t, db2.Pool().Ping(ctx))
	require.ErrorIs(t, db2.Init(ctx), kvcore.ErrClosed)
}

// TestOpenErrorsHidePassword checks that no error from Open shows the
// password, whatever form the connection string has.
func TestOpenErrorsHidePassword(t *testing.T) {
	ctx, cancel := context.WithTimeout(context.Background(), 20*time.Second)
	defer cancel()
	for _, cs := range []string{
		"postgres://user:s3cret@127.0.0.1:1/x?connect_timeout=2",
		"postgresql://user:s3cret@127.0.0.1:1/x?sslmode=disable",
		"postgres://user:s3cret@127.0.0.1:notaport/x",
		"postgres://user:s3cret@[::1/x",
		"postgres://user:s3cret@127.0.0.1:1/x?sslmode=bogus",
		"postgres://user:s3cret@127.0.0.1:1/x?pool_max_conns=nope",
		"postgres://us%20er:s3cret%21@127.0.0.1:1/x",
		"host=127.0.0.1 port=1 user=u password=s3cret dbname=x connect_timeout=2",
		"host=127.0.0.1 port=1 user=u password='s3cret' dbname=x sslmode=bogus",
		"host=127.0.0.1 port=notaport user=u password=s3cret",
		"host=127.0.0.1 port=1 user=u password='s3 cret",
		"user=u password=s3cret host=127.0.0.1 port=1 bogus",
		"postgres://u@127.0.0.1:1/x?password=s3cret&connect_timeout=2",
		"postgres://u@127.0.0.1:1/x?password=s3cret&sslmode=bogus",
		"postgres://u@127.0.0.1:notaport/x?password=s3cret",
	} {
		db, err := postgreskv.Open(ctx, cs)
		if db != nil {
			_ = db.Close()
		}
		require.Error(t, err, cs)
		msg := err.Error()
		for e := error(err); e != nil; e = errors.Unwrap(e) {
			msg += " | " + e.Error() + fmt.Sprintf(" %+v %#v", e, e)
		}
		require.NotContains(t, msg, "s3cret", cs)
		require.NotContains(t, msg, "cret", cs)
		require.Contains(t, err.Error(), "postgreskv", cs)
		t.Logf("%s\n\t-> %v", strings.ReplaceAll(cs, "s3cret", "..."), err)
	}
}

// TestOpenMissingDatabase checks the error for a database that does not exist.
func TestOpenMissingDatabase(t *testing.T) {
	needServer(t)
	cfg := testBase.ConnConfig
	cs := fmt.Sprintf("host=%s port=%d user=%s dbname=kv_no_such_db sslmode=disable password='s3cret'", cfg.Host, cfg.Port, cfg.User)
	_, err := postgreskv.Open(context.Background(), cs)
	require.Error(t, err)
	require.Contains(t, err.Error(), "kv_no_such_db")
	require.Contains(t, err.Error(), "does not exist")
	require.NotContains(t, err.Error(), "s3cret")
}

// putLease writes a lease row directly (the leases API is kvlock's).
func putLease(t *testing.T, db *postgreskv.DB, name string, token int64, expires time.Time) {
	t.Helper()
	_, err := testPool.Exec(context.Background(), "INSERT INTO "+pgx.Identifier{db.Schema(), "kv_leases"}.Sanitize()+
		" (name, owner, token, expires) VALUES ($1, 'me', $2, $3) ON CONFLICT (name) DO UPDATE SET token = $2, expires = $3",
		name, token, expires)
	require.NoError(t, err)
}

func TestFence(t *testing.T) {
	db := newDB(t)
	s, clock := newStore(t, db)
	ctx := context.Background()
	putLease(t, db, "L", 5, clock.Now().Add(time.Minute))

	require.NoError(t, s.WithFence("L", 5).Put(ctx, "k", 0, json.RawMessage(`1`)))
	require.ErrorIs(t, s.WithFence("L", 4).Put(ctx, "k", -1, json.RawMessage(`2`)), kvcore.ErrFenced)
	require.ErrorIs(t, s.WithFence("M", 5).Put(ctx, "k", -1, json.RawMessage(`2`)), kvcore.ErrFenced)
	_, err := s.WithFence("L", 4).MutateAll(ctx, kvcore.Put("x", -1, json.RawMessage(`1`)), kvcore.DeleteAll())
	require.ErrorIs(t, err, kvcore.ErrFenced)
	// The fence is checked before the versions.
	require.ErrorIs(t, s.WithFence("L", 4).Put(ctx, "k", 9, json.RawMessage(`2`)), kvcore.ErrFenced)

	clock.Advance(time.Minute) // the lease expires at now: not held
	require.ErrorIs(t, s.WithFence("L", 5).Put(ctx, "k", -1, json.RawMessage(`2`)), kvcore.ErrFenced)
	putLease(t, db, "L", 6, clock.Now().Add(time.Minute))
	require.ErrorIs(t, s.WithFence("L", 5).Put(ctx, "k", -1, json.RawMessage(`2`)), kvcore.ErrFenced)
	_, err = s.WithFence("L", 6).Delete(ctx, "k")
	require.NoError(t, err)
	require.Len(t, readStream(t, db), 2)
}

// countingTracer counts the batches and single queries sent.
type countingTracer struct {
	batches, queries atomic.Int64
}

func (c *countingTracer) TraceQueryStart(ctx context.Context, _ *pgx.Conn, _ pgx.TraceQueryStartData) context.Context {
	c.queries.Add(1)
	return ctx
}
func (c *countingTracer) TraceQueryEnd(context.Context, *pgx.Conn, pgx.TraceQueryEndData) {}
func (c *countingTracer) TraceBatchStart(ctx context.Context, _ *pgx.Conn, _ pgx.TraceBatchStartData) context.Context {
	c.batches.Add(1)
	return ctx
}
func (c *countingTracer) TraceBatchQuery(context.Context, *pgx.Conn, pgx.TraceBatchQueryData) {}
func (c *countingTracer) TraceBatchEnd(context.Context, *pgx.Conn, pgx.TraceBatchEndData)     {}

// TestMutateAllBatching checks that a MutateAll is sent as one batch (one
// pipeline, one implicit transaction) and is all or nothing.
func TestMutateAllBatching(t *testing.T) {
	ctx := context.Background()
	tracer := &countingTracer{}
	db := newDBOn(t, newPool(t, func(c *pgxpool.Config) {
		c.ConnConfig.Tracer = tracer
		c.MaxConns = 1 // one connection: statements are prepared once
	}))
	s, _ := newStore(t, db)

	muts := func(v int64) []kvcore.Mutation {
		var ms []kvcore.Mutation
		for i := 0; i < 20; i++ {
			ms = append(ms, kvcore.Put(fmt.Sprintf("k%02d", i), v, json.RawMessage(fmt.Sprint(i))))
		}
		return append(ms, kvcore.Delete("k00"), kvcore.Touch("k01", -1, time.Hour), kvcore.DeletePrefix("k1", 0, 3))
	}
	tracer.batches.Store(0)
	tracer.queries.Store(0)
	rows, err := s.MutateAll(ctx, muts(0)...)
	require.NoError(t, err)
	require.Equal(t, int64(1), tracer.batches.Load(), "batches")
	require.Equal(t, int64(0), tracer.queries.Load(), "single queries")
	require.Equal(t, []int{1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 3}, rows)
	n, err := s.Count(ctx)
	require.NoError(t, err)
	require.Equal(t, 16, n)
	before := readStream(t, db)
	require.Len(t, before, 25) // 20 creates, 1 delete, 1 touch, 3 range deletes

	// The same batch again fails on its first op (version 0) and changes nothing.
	ms := muts(1)
	ms[0] = kvcore.Put("k00", 0, json.RawMessage(`"new"`))
	ms[1] = kvcore.Put("k01", 1, json.RawMessage(`"new"`))
	ms[7] = kvcore.Put("k07", 2, json.RawMessage(`"bad"`)) // k07 is at version 1
	_, err = s.MutateAll(ctx, ms...)
	require.ErrorIs(t, err, kvcore.ErrVersionMismatch)
	require.Contains(t, err.Error(), "mutation 7")
	n, err = s.Count(ctx)
	require.NoError(t, err)
	require.Equal(t, 16, n)
	_, ok, err := s.Get(ctx, "k00", nil)
	require.NoError(t, err)
	require.False(t, ok)
	require.Equal(t, before, readStream(t, db))
	r, err := s.GetRecord(ctx, "k01")
	require.NoError(t, err)
	require.Equal(t, `1`, string(r.Value))
	require.NotNil(t, r.Expires)
}

// TestDriverEdgeCases calls the driver directly with shapes the front does
// not produce on its own.
func TestDriverEdgeCases(t *testing.T) {
	db := newDB(t)
	ctx := context.Background()
	now := time.Date(2030, 1, 1, 0, 0, 0, 0, time.UTC)
	res, err := db.Apply(ctx, driver.Batch{Now: now, Ops: []driver.Op{
		{Kind: driver.OpPut, Namespace: "n", Key: "a", Version: -1, Value: []byte(`1`), Type: "t"},
		{Kind: driver.OpPut, Namespace: "n", Key: "b", Version: -1, Value: []byte(`2`), Type: "u"},
		{Kind: driver.OpPut, Namespace: "n", Key: "c", Version: -1, Value: []byte(`3`), Type: "t"},
	}})
	require.NoError(t, err)
	require.Equal(t, []driver.Result{{Rows: 1}, {Rows: 1}, {Rows: 1}}, res)

	// Delete and touch with version 0: a live key is a mismatch; absent is 0 rows.
	_, err = db.Apply(ctx, driver.Batch{Now: now, Ops: []driver.Op{{Kind: driver.OpDelete, Namespace: "n", Key: "a", Version: 0}}})
	var oe *driver.OpError
	require.ErrorAs(t, err, &oe)
	require.Equal(t, 0, oe.Index)
	require.ErrorIs(t, err, driver.ErrVersionMismatch)
	res, err = db.Apply(ctx, driver.Batch{Now: now, Ops: []driver.Op{
		{Kind: driver.OpDelete, Namespace: "n", Key: "zz", Version: 0},
		{Kind: driver.OpTouch, Namespace: "n", Key: "zz", Version: 0},
		{Kind: driver.OpTouch, Namespace: "n", Key: "a", Version: 1, Expires: now.Add(time.Hour)},
		{Kind: driver.OpDelete, Namespace: "n", Key: "b", Version: 1},
	}})
	require.NoError(t, err)
	require.Equal(t, []driver.Result{{}, {}, {Rows: 1}, {Rows: 1}}, res)

	// Type selectors use the type index and honour After.
	recs, err := db.Query(ctx, driver.Selector{Namespace: "n", Type: "t", After: "a", HasAfter: true}, now)
	require.NoError(t, err)
	require.Len(t, recs, 1)
	require.Equal(t, "c", recs[0].Key)
	cnt, err := db.Count(ctx, driver.Selector{Namespace: "n", Type: "t"}, now)
	require.NoError(t, err)
	require.Equal(t, int64(2), cnt)
	cnt, err = db.Count(ctx, driver.Selector{Namespace: "n", Keys: []string{"a", "c", "a", "nope"}}, now)
	require.NoError(t, err)
	require.Equal(t, int64(2), cnt)
	recs, err = db.Query(ctx, driver.Selector{Namespace: "n", Keys: []string{"c", "nope", "a", "c"}}, now)
	require.NoError(t, err)
	require.Equal(t, []string{"c", "a"}, []string{recs[0].Key, recs[1].Key})
	require.Equal(t, now.Add(time.Hour), recs[1].Expires)

	_, err = db.Apply(ctx, driver.Batch{Now: now, Ops: []driver.Op{{Kind: driver.OpKind(99)}}})
	require.ErrorContains(t, err, "unknown op kind")
	_, err = db.Sweep(ctx, now, 0)
	require.Error(t, err)
}

// TestQueryPlans checks that range and type selectors are answered from
// the indexes, never by a sequential scan, also with generic plans (what a
// prepared statement gets after a few runs).
func TestQueryPlans(t *testing.T) {
	db := newDB(t)
	ctx := context.Background()
	tbl := pgx.Identifier{db.Schema(), "kv_records"}.Sanitize()
	_, err := testPool.Exec(ctx, "INSERT INTO "+tbl+` (namespace, key, version, value, type, created, updated)
		SELECT 'n' || (i % 10), 'key' || i, 1, '1', 't' || (i % 7), now(), now() FROM generate_series(1, 20000) i`)
	require.NoError(t, err)
	_, err = testPool.Exec(ctx, "ANALYZE "+tbl)
	require.NoError(t, err)
	inPlanModes(t, func(conn *pgxpool.Conn, mode string) {
		for i, q := range []struct{ sql, exec string }{
			{"SELECT key FROM " + tbl + " WHERE namespace = $1 AND key >= $2 AND key < $3 AND (expires IS NULL OR expires > $4) ORDER BY key LIMIT $5",
				"('n1', 'key1', 'key2', now(), 10)"},
			{"SELECT key FROM " + tbl + " WHERE namespace = $1 AND type = $2 AND key > $3 AND (expires IS NULL OR expires > $4) ORDER BY key LIMIT $5",
				"('n1', 't3', 'key5', now(), 10)"},
			{"SELECT count(*) FROM " + tbl + " WHERE namespace = $1 AND key >= $2 AND key < $3 AND (expires IS NULL OR expires > $4)",
				"('n1', 'key1', 'key11', now())"},
		} {
			plan := preparedPlan(t, conn, fmt.Sprintf("q%d", i), q.sql, q.exec)
			require.NotContains(t, plan, "Seq Scan", "%s: %s", mode, plan)
			require.Contains(t, plan, "Index", "%s: %s", mode, plan)
		}
	})
}

// inPlanModes calls fn on one connection of the test pool, once with
// custom plans forced and once with generic plans (what a prepared
// statement gets after a few runs), named by mode.
func inPlanModes(t *testing.T, fn func(conn *pgxpool.Conn, mode string)) {
	t.Helper()
	ctx := context.Background()
	conn, err := testPool.Acquire(ctx)
	require.NoError(t, err)
	defer conn.Release()
	for _, mode := range []string{"force_custom_plan", "force_generic_plan"} {
		_, err := conn.Exec(ctx, "SET plan_cache_mode = "+mode)
		require.NoError(t, err)
		fn(conn, mode)
	}
	_, err = conn.Exec(ctx, "RESET plan_cache_mode")
	require.NoError(t, err)
}

// preparedPlan returns EXPLAIN's plan of sql run as the prepared statement
// name with the arguments exec (a list of literals in parentheses), on conn
// (its plan_cache_mode applies). The statement is not run.
func preparedPlan(t *testing.T, conn *pgxpool.Conn, name, sql, exec string) string {
	t.Helper()
	ctx := context.Background()
	_, err := conn.Exec(ctx, "PREPARE "+name+" AS "+sql)
	require.NoError(t, err)
	rows, err := conn.Query(ctx, "EXPLAIN EXECUTE "+name+exec)
	require.NoError(t, err)
	lines, err := pgx.CollectRows(rows, pgx.RowTo[string])
	require.NoError(t, err)
	_, err = conn.Exec(ctx, "DEALLOCATE "+name)
	require.NoError(t, err)
	return strings.Join(lines, "\n")
}

// TestDefaultSchema checks that without WithSchema the tables go to the
// first schema of the connection's search_path.
func TestDefaultSchema(t *testing.T) {
	schema := newSchemaName(t)
	ctx := context.Background()
	_, err := testPool.Exec(ctx, "CREATE SCHEMA "+pgx.Identifier{schema}.Sanitize())
	require.NoError(t, err)
	db, err := postgreskv.Open(ctx, testConnString(t)+" search_path="+schema)
	require.NoError(t, err)
	defer db.Close()
	require.NoError(t, db.Init(ctx))
	s, _ := newStore(t, db)
	require.NoError(t, s.Put(ctx, "k", 0, json.RawMessage(`1`)))
	var n int
	require.NoError(t, testPool.QueryRow(ctx, "SELECT count(*) FROM "+pgx.Identifier{schema, "kv_records"}.Sanitize()).Scan(&n))
	require.Equal(t, 1, n)
}

// TestFenceReleasedLease checks that a released lease (no owner, no expiry)
// fences every token.
func TestFenceReleasedLease(t *testing.T) {
	db := newDB(t)
	s, _ := newStore(t, db)
	ctx := context.Background()
	_, err := testPool.Exec(ctx, "INSERT INTO "+pgx.Identifier{db.Schema(), "kv_leases"}.Sanitize()+
		" (name, token) VALUES ('L', 3)")
	require.NoError(t, err)
	require.ErrorIs(t, s.WithFence("L", 3).Put(ctx, "k", -1, json.RawMessage(`1`)), kvcore.ErrFenced)
	n, err := s.Count(ctx)
	require.NoError(t, err)
	require.Zero(t, n)
}

// TestFenceRacesTakeover checks that the fence check locks the lease row: a
// fenced write that waits on a takeover in progress fails once the takeover
// commits, and a takeover waits for a fenced write in progress.
func TestFenceRacesTakeover(t *testing.T) {
	db := newDB(t)
	s, clock := newStore(t, db)
	ctx := context.Background()
	leases := pgx.Identifier{db.Schema(), "kv_leases"}.Sanitize()
	putLease(t, db, "L", 1, clock.Now().Add(time.Hour))

	tx, err := testPool.Begin(ctx)
	require.NoError(t, err)
	defer tx.Rollback(ctx)
	_, err = tx.Exec(ctx, "UPDATE "+leases+" SET token = 2, owner = 'other' WHERE name = 'L'")
	require.NoError(t, err)
	done := make(chan error, 1)
	go func() { done <- s.WithFence("L", 1).Put(ctx, "k", -1, json.RawMessage(`1`)) }()
	select {
	case err := <-done:
		t.Fatalf("fenced write did not wait for the takeover: %v", err)
	case <-time.After(300 * time.Millisecond):
	}
	require.NoError(t, tx.Commit(ctx))
	require.ErrorIs(t, <-done, kvcore.ErrFenced)
	n, err := s.Count(ctx)
	require.NoError(t, err)
	require.Zero(t, n)
}

// TestSessionTimeZone checks that the server session's time zone changes
// no time.
func TestSessionTimeZone(t *testing.T) {
	ctx := context.Background()
	pool := newPool(t, func(c *pgxpool.Config) { c.ConnConfig.RuntimeParams["timezone"] = "Pacific/Chatham" })
	db := newDBOn(t, pool)
	s, clock := newStore(t, db)
	require.NoError(t, s.Put(ctx, "k", -1, json.RawMessage(`1`), kvcore.WithTTL(time.Hour)))
	r, err := s.GetRecord(ctx, "k")
	require.NoError(t, err)
	require.Equal(t, clock.Now(), r.Created)
	require.Equal(t, clock.Now().Add(time.Hour), *r.Expires)
	var text string
	require.NoError(t, pool.QueryRow(ctx, "SELECT created::text FROM "+
		pgx.Identifier{db.Schema(), "kv_records"}.Sanitize()).Scan(&text))
	require.Contains(t, text, "+12:45", "the session zone (Chatham standard time in May) is in effect")
}

// TestInitWithoutDDLPrivileges checks that Init on a current schema needs
// no privilege beyond using the tables, and that a role that may not create
// tables gets a clear error on a fresh schema.
func TestInitWithoutDDLPrivileges(t *testing.T) {
	db := newDB(t)
	ctx := context.Background()
	role := "kv_test_role_" + db.Schema() + "_" + strings.TrimPrefix(testBase.ConnConfig.Database, "kv_test_")
	q := func(sql string) {
		t.Helper()
		_, err := testPool.Exec(ctx, sql)
		require.NoError(t, err, sql)
	}
	r, sch := pgx.Identifier{role}.Sanitize(), pgx.Identifier{db.Schema()}.Sanitize()
	if _, err := testPool.Exec(ctx, "CREATE ROLE "+r+" LOGIN"); err != nil {
		var pe *pgconn.PgError
		if errors.As(err, &pe) && pe.Code == "42501" {
			t.Skipf("the test server's user may not create roles: %v", err)
		}
		require.NoError(t, err)
	}
	t.Cleanup(func() {
		_, _ = testPool.Exec(ctx, "DROP OWNED BY "+r)
		_, _ = testPool.Exec(ctx, "DROP ROLE "+r)
	})
	q("GRANT USAGE ON SCHEMA " + sch + " TO " + r)
	q("GRANT SELECT, INSERT, UPDATE, DELETE ON ALL TABLES IN SCHEMA " + sch + " TO " + r)
	q("REVOKE CREATE ON DATABASE " + pgx.Identifier{testBase.ConnConfig.Database}.Sanitize() + " FROM PUBLIC")
	q("REVOKE CREATE ON SCHEMA public FROM PUBLIC")

	cfg := testBase.Copy()
	cfg.ConnConfig.User = role
	pool, err := pgxpool.NewWithConfig(ctx, cfg)
	require.NoError(t, err)
	defer pool.Close()
	app := postgreskv.New(pool, postgreskv.WithSchema(db.Schema()))
	defer app.Close() // its notifier's session, before the role is dropped
	require.NoError(t, app.Init(ctx))
	s, _ := newStore(t, app)
	require.NoError(t, s.Put(ctx, "k", 0, json.RawMessage(`1`)))

	err = postgreskv.New(pool, postgreskv.WithSchema(newSchemaName(t))).Init(ctx)
	require.Error(t, err)
	require.Contains(t, err.Error(), "permission denied")
}
