package rqlitekv

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"net/http"
	"sort"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/rqlite/gorqlite"
	"github.com/stretchr/testify/require"

	"github.com/kvsuite/kv/kvcore"
	"github.com/kvsuite/kv/kvcore/driver"
)

var t0 = time.Date(2030, 1, 2, 3, 4, 5, 123456000, time.UTC)

// newStore returns a kvcore.Store over an empty database with a settable
// clock.
func newStore(t *testing.T) (*kvcore.Store, *DB, *time.Time) {
	t.Helper()
	db := openEmpty(t)
	now := t0
	var mu sync.Mutex
	s, err := db.Store(kvcore.WithClock(func() time.Time { mu.Lock(); defer mu.Unlock(); return now }), kvcore.WithSweepInterval(0))
	require.NoError(t, err)
	t.Cleanup(func() { s.Close() })
	return s, db, &now
}

func TestParseConnString(t *testing.T) {
	for _, tc := range []struct {
		in         string
		hosts      []string
		user, pass string
		level      Consistency
		discovery  bool
		timeout    time.Duration
		scheme     string
	}{
		{"http://localhost:4001", []string{"localhost:4001"}, "", "", ConsistencyWeak, true, 10 * time.Second, "http"},
		{"http://localhost:4001?user=admin&password=secret", []string{"localhost:4001"}, "admin", "secret", ConsistencyWeak, true, 10 * time.Second, "http"},
		{"https://admin:s%40cret@db.example.com?level=linearizable&timeout=5s", []string{"db.example.com:4001"}, "admin", "s@cret", ConsistencyLinearizable, true, 5 * time.Second, "https"},
		{"http://127.0.0.1:5000/?level=STRONG&disableClusterDiscovery=true&timeout=3", []string{"127.0.0.1:5000"}, "", "", ConsistencyStrong, false, 3 * time.Second, "http"},
		{"http://[::1]:4001?consistency=none", []string{"[::1]:4001"}, "", "", ConsistencyNone, true, 10 * time.Second, "http"},
		{"http://", []string{"localhost:4001"}, "", "", ConsistencyWeak, true, 10 * time.Second, "http"},
		// Several nodes: the same credentials and parameters for each.
		{"http://h1:4001,h2:4002,h3", []string{"h1:4001", "h2:4002", "h3:4001"}, "", "", ConsistencyWeak, true, 10 * time.Second, "http"},
		{"https://admin:secret@h1,[::1]:5000,10.0.0.3:4001/?level=none", []string{"h1:4001", "[::1]:5000", "10.0.0.3:4001"}, "admin", "secret", ConsistencyNone, true, 10 * time.Second, "https"},
		{"http://h1:4001,h2:4001?disableClusterDiscovery=true&user=u&password=secret", []string{"h1:4001", "h2:4001"}, "u", "secret", ConsistencyWeak, false, 10 * time.Second, "http"},
	} {
		cfg, err := parseConnString(tc.in)
		require.NoError(t, err, tc.in)
		require.Equal(t, tc.scheme, cfg.scheme, tc.in)
		require.Equal(t, tc.hosts, cfg.hosts, tc.in)
		require.Equal(t, tc.user, cfg.user, tc.in)
		require.Equal(t, tc.pass, cfg.password, tc.in)
		require.Equal(t, tc.level, cfg.level, tc.in)
		require.Equal(t, tc.discovery, cfg.discovery, tc.in)
		require.Equal(t, tc.timeout, cfg.timeout, tc.in)
		require.NotContains(t, cfg.redactedString(), "secret")
		require.NotContains(t, cfg.redactedString(), "cret")
	}
	for in, want := range map[string]time.Duration{"http://h": 15 * time.Second, "http://h?leaderWait=250ms": 250 * time.Millisecond, "http://h?leaderWait=0s": 0} {
		cfg, err := parseConnString(in)
		require.NoError(t, err, in)
		require.Equal(t, want, cfg.leaderWait, in)
	}
	for _, bad := range []string{
		"", "localhost:4001", "postgres://localhost", "http://h:4001/db", "http://h?level=eventual",
		"http://h?disableClusterDiscovery=maybe", "http://h?timeout=soon", "http://h?timeout=-1s",
		"http://h?leaderWait=-1s", "http://h?leaderWait=5", "http://h?leaderWait=long",
		"http://h?sslmode=disable", "http://h?password=secret", "http://u:secret@h?user=other",
		"http://u:secret@h:4001:99", "http://h?level=weak&level=strong", "http://u:secret@h/%zz",
		"http://h1,,h2", "http://h1,", "http://,h2", "http://u:secret@h1,h2:99999x", "http://h1,h2:4001:5",
		"http://h1:4001,h1", "http://h1,h2/db",
	} {
		_, err := Open(bad, WithClusterDiscovery(false))
		require.ErrorIs(t, err, ErrInvalidConnString, "%q", bad)
		require.ErrorIs(t, err, kvcore.ErrInvalidArgument, "%q", bad)
		require.NotContains(t, err.Error(), "secret", "%q", bad)
	}
}

func TestConsistencyOption(t *testing.T) {
	for _, s := range []string{"none", "weak", "linearizable", "strong", " Weak "} {
		c, err := ParseConsistency(s)
		require.NoError(t, err)
		require.Equal(t, Consistency(strings.ToLower(strings.TrimSpace(s))), c)
	}
	_, err := ParseConsistency("auto")
	require.ErrorIs(t, err, ErrInvalidConnString)

	// The level reaches rqlite on every read; the option wins over the URL.
	var mu sync.Mutex
	var levels []string
	front := front(t, serverURL(t), func(w http.ResponseWriter, r *http.Request, next http.Handler) {
		if strings.HasPrefix(r.URL.Path, "/db/query") {
			mu.Lock()
			levels = append(levels, r.URL.Query().Get("level"))
			mu.Unlock()
		}
		next.ServeHTTP(w, r)
	})
	for _, tc := range []struct {
		url  string
		opts []Option
		want string
	}{
		{front.URL + "?disableClusterDiscovery=true", nil, "weak"},
		{front.URL + "?disableClusterDiscovery=true&level=strong", nil, "strong"},
		{front.URL + "?disableClusterDiscovery=true&level=strong", []Option{WithConsistency(ConsistencyLinearizable)}, "linearizable"},
		{front.URL + "?disableClusterDiscovery=true", []Option{WithConsistency(ConsistencyNone)}, "none"},
	} {
		db, err := Open(tc.url, tc.opts...)
		require.NoError(t, err)
		require.Equal(t, Consistency(tc.want), db.Consistency())
		mu.Lock()
		levels = nil
		mu.Unlock()
		require.NoError(t, db.Init(context.Background()))
		_, err = db.Count(context.Background(), driver.Selector{}, t0)
		require.NoError(t, err)
		mu.Lock()
		require.NotEmpty(t, levels)
		for _, l := range levels {
			require.Equal(t, tc.want, l)
		}
		mu.Unlock()
		db.Close()
	}
	_, err = Open(front.URL, WithConsistency("eventual"))
	require.ErrorIs(t, err, ErrInvalidConnString)
}

func TestPasswordNeverInErrors(t *testing.T) {
	const pw = "s3cr3t-Pa55"
	srvURL := authServer(t, "admin", pw)
	host := strings.TrimPrefix(srvURL, "http://")

	// Right credentials, both forms.
	for _, u := range []string{srvURL + "?user=admin&password=" + pw, "http://admin:" + pw + "@" + host} {
		db, err := Open(u)
		require.NoError(t, err)
		require.NotContains(t, db.String(), pw)
		require.NoError(t, db.Init(context.Background()))
		db.Close()
	}
	// A wrong password (the server's 401), with and without discovery.
	for _, u := range []string{srvURL + "?user=admin&password=wrong-" + pw, srvURL + "?user=admin&password=wrong-" + pw + "&disableClusterDiscovery=true"} {
		db, err := Open(u, WithLeaderWait(0))
		if err == nil {
			err = db.Init(context.Background())
			db.Close()
		}
		require.Error(t, err)
		require.NotContains(t, err.Error(), pw)
	}
	// Nothing listening.
	_, err := Open("http://admin:"+pw+"@127.0.0.1:1?timeout=1s", WithLeaderWait(0))
	require.Error(t, err)
	require.NotContains(t, err.Error(), pw)
	db, err := Open("http://127.0.0.1:1?user=admin&disableClusterDiscovery=true&password="+pw, WithLeaderWait(0), WithTimeout(time.Second))
	require.NoError(t, err)
	_, err = db.Query(context.Background(), driver.Selector{Keys: []string{"k"}}, t0)
	require.Error(t, err)
	require.NotContains(t, err.Error(), pw)
	_, err = db.Apply(context.Background(), driver.Batch{Now: t0, Ops: []driver.Op{{Kind: driver.OpDelete, Key: "k", Version: -1}}})
	require.Error(t, err)
	require.NotContains(t, err.Error(), pw)
}

// TestOneRequestPerWrite checks the central promise: every write is one
// HTTP request (a patch adds one read first). A write whose results the
// driver needs not read (a create: its version is 1) goes to the execute
// endpoint, the others to the unified one.
func TestOneRequestPerWrite(t *testing.T) {
	db, c := openCounted(t)
	ctx := context.Background()
	s, err := db.Store(kvcore.WithSweepInterval(0))
	require.NoError(t, err)
	defer s.Close()

	before := c.get()
	require.NoError(t, s.Put(ctx, "a", 0, 1))
	var ms []kvcore.Mutation
	for i := 0; i < 200; i++ {
		ms = append(ms, kvcore.Put(fmt.Sprintf("k%03d", i), -1, i))
	}
	ms = append(ms, kvcore.DeletePrefix("k1", 0, 0), kvcore.Touch("a", 1, time.Hour))
	_, err = s.MutateAll(ctx, ms...)
	require.NoError(t, err)
	_, err = s.Sweep(ctx)
	require.NoError(t, err)
	after := c.get()
	require.Equal(t, counts{request: 2, execute: 1}, counts{after.request - before.request, after.query - before.query, after.execute - before.execute})

	before = after
	require.NoError(t, s.Patch(ctx, "a", -1, map[string]any{"x": 1}))
	after = c.get()
	require.Equal(t, counts{execute: 1, query: 1}, counts{after.request - before.request, after.query - before.query, after.execute - before.execute})
}

func TestBlobLookingTextIsExact(t *testing.T) {
	s, _, _ := newStore(t)
	ctx := context.Background()
	keys := []string{"x'00'", "X'4142'", " x'' ", "x''", "x'zz'", "x'", "X'00'z"}
	ns, err := s.Namespace("x'6e73'")
	require.NoError(t, err)
	for _, k := range keys {
		require.NoError(t, s.Put(ctx, k, 0, k, kvcore.WithType("x'7479'")))
		require.NoError(t, ns.Put(ctx, k, 0, json.RawMessage(`"x'00'"`)))
	}
	for _, k := range keys {
		var v string
		r, ok, err := s.Get(ctx, k, &v)
		require.NoError(t, err)
		require.True(t, ok, k)
		require.Equal(t, k, r.Key)
		require.Equal(t, k, v)
		require.Equal(t, "x'7479'", r.Type)
		r, ok, err = ns.Get(ctx, k, nil)
		require.NoError(t, err)
		require.True(t, ok, k)
		require.Equal(t, `"x'00'"`, string(r.Value))
	}
	got, err := s.GetPrefix(ctx, "x'", 0, 0)
	require.NoError(t, err)
	require.Equal(t, []string{"x'", "x''", "x'00'", "x'zz'"}, keysOf(got))
	got, err = s.GetType(ctx, "x'7479'", 0, 0)
	require.NoError(t, err)
	require.Len(t, got, len(keys))
	n, err := ns.Count(ctx)
	require.NoError(t, err)
	require.Equal(t, len(keys), n)
}

func keysOf(rs []kvcore.Record) []string {
	out := make([]string, len(rs))
	for i, r := range rs {
		out[i] = r.Key
	}
	return out
}

func TestTrickyKeysByteOrder(t *testing.T) {
	s, _, _ := newStore(t)
	ctx := context.Background()
	keys := []string{"a", "a%", "a_b", "A", "B", "b", "_", "%", "é", "e\u0301", "\uffff", "\U00010000", "😀", "\U0010FFFF", "\U0010FFFFa", "z", "~", "a\tb"}
	var ms []kvcore.Mutation
	for _, k := range keys {
		ms = append(ms, kvcore.Put(k, 0, k))
	}
	_, err := s.MutateAll(ctx, ms...)
	require.NoError(t, err)
	want := append([]string(nil), keys...)
	sort.Strings(want)
	all, err := s.List(ctx, 0, 0)
	require.NoError(t, err)
	require.Equal(t, want, keysOf(all))
	p, err := s.GetPrefix(ctx, "\U0010FFFF", 0, 0)
	require.NoError(t, err)
	require.Equal(t, []string{"\U0010FFFF", "\U0010FFFFa"}, keysOf(p))
	p, err = s.GetPrefix(ctx, "a%", 0, 0)
	require.NoError(t, err)
	require.Equal(t, []string{"a%"}, keysOf(p))
	recs, err := s.GetBatch(ctx, "z", "missing", "é", "a_b")
	require.NoError(t, err)
	require.Equal(t, []string{"z", "é", "a_b"}, keysOf(recs))
}

type streamRow struct {
	ns, key, action string
	version         int64
	typ             string
	value           *string
	ts              int64
}

func readStream(t *testing.T, db *DB) []streamRow {
	t.Helper()
	qr, err := db.conn.QueryOneContext(context.Background(),
		"SELECT namespace, key, action, CAST(version AS TEXT), type, value, CAST(ts AS TEXT) FROM stream ORDER BY seq")
	require.NoError(t, err)
	var out []streamRow
	for qr.Next() {
		row, err := qr.Slice()
		require.NoError(t, err)
		r := streamRow{ns: row[0].(string), key: row[1].(string), action: row[2].(string), typ: row[4].(string)}
		r.version, err = intCol(row, 3)
		require.NoError(t, err)
		r.ts, err = intCol(row, 6)
		require.NoError(t, err)
		if row[5] != nil {
			v := row[5].(string)
			r.value = &v
		}
		out = append(out, r)
	}
	return out
}

func TestStreamAndExpiry(t *testing.T) {
	s, db, now := newStore(t)
	ctx := context.Background()
	require.NoError(t, s.Put(ctx, "a", 0, json.RawMessage(`{"n":1}`), kvcore.WithType("T")))
	require.NoError(t, s.Put(ctx, "a", 1, json.RawMessage(`{"n":2}`)))
	require.NoError(t, s.Patch(ctx, "a", 2, json.RawMessage(`{"m":3}`)))
	require.NoError(t, s.Put(ctx, "b", -1, json.RawMessage(`1`), kvcore.WithTTL(time.Minute)))
	require.NoError(t, s.Touch(ctx, "a", time.Hour)) // a touch entry, no value
	n, err := s.Delete(ctx, "a", "missing")
	require.NoError(t, err)
	require.Equal(t, 1, n)

	// b expires: invisible, absent for writes (a put records its removal,
	// then re-creates it at 1).
	*now = now.Add(time.Minute)
	_, ok, err := s.Get(ctx, "b", nil)
	require.NoError(t, err)
	require.False(t, ok)
	require.ErrorIs(t, s.Put(ctx, "b", 1, json.RawMessage(`2`)), kvcore.ErrVersionMismatch)
	n, err = s.Delete(ctx, "b")
	require.NoError(t, err)
	require.Equal(t, 0, n)
	require.NoError(t, s.Put(ctx, "b", 0, json.RawMessage(`2`)))
	r, err := s.GetRecord(ctx, "b")
	require.NoError(t, err)
	require.Equal(t, int64(1), r.Version)
	require.True(t, r.Created.Equal(*now))

	// c expires and is swept: a delete entry.
	require.NoError(t, s.Put(ctx, "c", -1, json.RawMessage(`3`), kvcore.WithTTL(time.Second)))
	*now = now.Add(time.Second)
	swept, err := s.Sweep(ctx)
	require.NoError(t, err)
	require.Equal(t, int64(1), swept)

	str := func(s string) *string { return &s }
	t1 := t0.UnixMicro()
	t2 := t0.Add(time.Minute).UnixMicro()
	t3 := t0.Add(time.Minute + time.Second).UnixMicro()
	require.Equal(t, []streamRow{
		{"", "a", "create", 1, "T", str(`{"n":1}`), t1},
		{"", "a", "update", 2, "", str(`{"n":2}`), t1},
		{"", "a", "update", 3, "", str(`{"n":2,"m":3}`), t1},
		{"", "b", "create", 1, "", str(`1`), t1},
		{"", "a", "touch", 3, "", nil, t1},
		{"", "a", "delete", 3, "", nil, t1},
		{"", "b", "delete", 1, "", nil, t2}, // the expired b's removal, then the new b
		{"", "b", "create", 1, "", str(`2`), t2},
		{"", "c", "create", 1, "", str(`3`), t2},
		{"", "c", "delete", 1, "", nil, t3},
	}, readStream(t, db))
}

func TestSweepStream(t *testing.T) {
	s, db, now := newStore(t)
	ctx := context.Background()
	require.NoError(t, s.Put(ctx, "c", -1, json.RawMessage(`3`), kvcore.WithTTL(time.Second)))
	other, err := s.Namespace("other")
	require.NoError(t, err)
	require.NoError(t, other.Put(ctx, "d", -1, json.RawMessage(`4`), kvcore.WithTTL(time.Second)))
	require.NoError(t, s.Put(ctx, "e", -1, json.RawMessage(`5`), kvcore.WithTTL(time.Hour)))
	*now = now.Add(time.Second)
	swept, err := s.Sweep(ctx)
	require.NoError(t, err)
	require.Equal(t, int64(2), swept)
	st := readStream(t, db)
	require.Len(t, st, 5)
	ts := now.UnixMicro()
	require.Equal(t, streamRow{"", "c", "delete", 1, "", nil, ts}, st[3])
	require.Equal(t, streamRow{"other", "d", "delete", 1, "", nil, ts}, st[4])
	// Limit per call.
	require.NoError(t, s.Put(ctx, "f", -1, json.RawMessage(`6`), kvcore.WithTTL(time.Second)))
	require.NoError(t, s.Put(ctx, "g", -1, json.RawMessage(`7`), kvcore.WithTTL(time.Second)))
	*now = now.Add(time.Second)
	n, err := db.Sweep(ctx, *now, 1)
	require.NoError(t, err)
	require.Equal(t, int64(1), n)
	n, err = db.Sweep(ctx, *now, 5)
	require.NoError(t, err)
	require.Equal(t, int64(1), n)
	_, err = db.Sweep(ctx, *now, 0)
	require.Error(t, err)
}

// TestApplyResults checks the driver's results and the op index of a
// version mismatch, and that a failed batch changes nothing.
func TestApplyResults(t *testing.T) {
	db := openEmpty(t)
	ctx := context.Background()
	exp := t0.Add(time.Hour)
	res, err := db.Apply(ctx, driver.Batch{Now: t0, Ops: []driver.Op{
		{Kind: driver.OpPut, Key: "a", Version: 0, Value: []byte(`1`)},
		{Kind: driver.OpPut, Key: "a", Version: 1, Value: []byte(`2`)},
		{Kind: driver.OpPut, Key: "b", Version: -1, Value: []byte(`3`)},
		{Kind: driver.OpTouch, Key: "b", Version: 1, Expires: exp},
		{Kind: driver.OpTouch, Key: "nope", Version: -1, Expires: exp},
		{Kind: driver.OpDelete, Key: "a", Version: 2},
		{Kind: driver.OpDelete, Key: "a", Version: -1},
		{Kind: driver.OpDeleteRange, Sel: driver.Selector{From: "a", To: "z", HasTo: true}},
	}})
	require.NoError(t, err)
	require.Equal(t, []driver.Result{r(1), r(1), r(1), r(1), r(0), r(1), r(0), r(1)}, res)

	_, err = db.Apply(ctx, driver.Batch{Now: t0, Ops: []driver.Op{
		{Kind: driver.OpPut, Key: "x", Version: 0, Value: []byte(`1`)},
		{Kind: driver.OpPut, Key: "y", Version: -1, Value: []byte(`1`)},
		{Kind: driver.OpPut, Key: "x", Version: 0, Value: []byte(`1`)},
	}})
	var oe *driver.OpError
	require.ErrorAs(t, err, &oe)
	require.Equal(t, 2, oe.Index)
	require.ErrorIs(t, err, driver.ErrVersionMismatch)
	n, err := db.Count(ctx, driver.Selector{}, t0)
	require.NoError(t, err)
	require.Equal(t, int64(0), n)
	// a create, a update, b create, b touch, a delete, b delete (range);
	// nothing from the failed batch.
	require.Len(t, readStream(t, db), 6)
}

func TestFence(t *testing.T) {
	db := openEmpty(t)
	ctx := context.Background()
	_, err := db.conn.WriteOneParameterizedContext(ctx, paramStmt("INSERT INTO leases (name, owner, token, expires) VALUES (?, ?, ?, ?)",
		"x'6c'", "me", 7, t0.Add(time.Minute).UnixMicro()))
	require.NoError(t, err)
	put := func(name string, token int64, now time.Time) error {
		_, err := db.Apply(ctx, driver.Batch{Now: now, Fence: &driver.Fence{Name: name, Token: token},
			Ops: []driver.Op{{Kind: driver.OpPut, Key: "k", Version: -1, Value: []byte(`1`)}}})
		return err
	}
	// The lease row was written with rqlite's blob conversion, so its name
	// is the blob 0x6c: a text name never matches it.
	require.ErrorIs(t, put("x'6c'", 7, t0), driver.ErrFenced)
	_, err = db.conn.WriteOneParameterizedContext(ctx, paramStmt("INSERT INTO leases (name, owner, token, expires) VALUES (?, ?, ?, ?)",
		"lease", "me", 7, t0.Add(time.Minute).UnixMicro()))
	require.NoError(t, err)
	require.NoError(t, put("lease", 7, t0))
	require.ErrorIs(t, put("lease", 6, t0), driver.ErrFenced)
	require.ErrorIs(t, put("lease", 7, t0.Add(time.Minute)), driver.ErrFenced)
	require.ErrorIs(t, put("other", 7, t0), driver.ErrFenced)
	n, err := db.Count(ctx, driver.Selector{}, t0)
	require.NoError(t, err)
	require.Equal(t, int64(1), n)
}

func TestInitAndLifecycle(t *testing.T) {
	url := serverURL(t)
	db, err := Open(url)
	require.NoError(t, err)
	defer db.Close()
	ctx := context.Background()
	if serverKind != "rqlitetest" {
		dropAll(t, db)
	}
	// (Calls before Init: the conformance case NotInitialized.)
	// Several processes at once, then again: each step applies once.
	var wg sync.WaitGroup
	errs := make(chan error, 4)
	for i := 0; i < 4; i++ {
		wg.Add(1)
		go func() {
			defer wg.Done()
			d, err := Open(url)
			if err != nil {
				errs <- err
				return
			}
			defer d.Close()
			errs <- d.Init(ctx)
		}()
	}
	wg.Wait()
	close(errs)
	for err := range errs {
		require.NoError(t, err)
	}
	require.NoError(t, db.Init(ctx))
	qr, err := db.conn.QueryOneContext(ctx, "SELECT count(*) FROM schema_migrations")
	require.NoError(t, err)
	require.True(t, qr.Next())
	var n int64
	require.NoError(t, qr.Scan(&n))
	require.Equal(t, int64(len(migrations)), n, "each migration recorded once")

	require.NoError(t, db.Close())
	require.NoError(t, db.Close())
	_, err = db.Query(ctx, driver.Selector{Keys: []string{"k"}}, t0)
	require.ErrorIs(t, err, driver.ErrClosed)
	_, err = db.Apply(ctx, driver.Batch{Now: t0, Ops: []driver.Op{{Kind: driver.OpDelete, Key: "k", Version: -1}}})
	require.ErrorIs(t, err, driver.ErrClosed)
	require.ErrorIs(t, db.Init(ctx), driver.ErrClosed)
}

func TestValuesAndTimesExact(t *testing.T) {
	s, _, _ := newStore(t)
	ctx := context.Background()
	far := time.Date(9999, 12, 31, 23, 59, 59, 999999000, time.UTC)
	v := `{"big":123456789012345678901234567890,"f":0.1000000000000000055511151231257827,"s":"\u2028<&>\"\\","u":"é😀"}`
	require.NoError(t, s.Put(ctx, "k", -1, json.RawMessage(v), kvcore.WithExpiry(far)))
	r, err := s.GetRecord(ctx, "k")
	require.NoError(t, err)
	require.Equal(t, v, string(r.Value))
	require.NotNil(t, r.Expires)
	require.True(t, far.Equal(*r.Expires), "%v", r.Expires)
	require.True(t, t0.Equal(r.Created))

	err = s.Put(ctx, "bad", -1, json.RawMessage("\"\xff\""))
	require.ErrorIs(t, err, kvcore.ErrInvalidValue)
	_, ok, err := s.Get(ctx, "bad", nil)
	require.NoError(t, err)
	require.False(t, ok)
}

func TestCanceledContext(t *testing.T) {
	db := openEmpty(t)
	ctx, cancel := context.WithCancel(context.Background())
	cancel()
	_, err := db.Apply(ctx, driver.Batch{Now: t0, Ops: []driver.Op{{Kind: driver.OpPut, Key: "k", Version: -1, Value: []byte(`1`)}}})
	require.True(t, errors.Is(err, context.Canceled))
	_, err = db.Count(ctx, driver.Selector{}, t0)
	require.True(t, errors.Is(err, context.Canceled))
}

func paramStmt(q string, args ...any) gorqlite.ParameterizedStatement {
	return gorqlite.ParameterizedStatement{Query: q, Arguments: args}
}

func r(rows int64) driver.Result { return driver.Result{Rows: rows} }

func TestRetryable(t *testing.T) {
	peers := func(lines ...string) error {
		msg := "tried all peers unsuccessfully. here are the results:\n"
		for i, l := range lines {
			msg += fmt.Sprintf("   peer #%d: http://u:xxxxx@h%d/db/request failed due to %s\n", i, i, l)
		}
		return errors.New(msg)
	}
	refused := "dial tcp 127.0.0.1:1: connect: connection refused"
	noLeader := "got: 503 Service Unavailable, message: leader not found"
	timeout := `Post "http://h/db/request": context deadline exceeded (Client.Timeout exceeded while awaiting headers)`
	for _, tc := range []struct {
		err         error
		write, read bool
	}{
		{peers(refused), true, true},
		{peers(refused, noLeader, noLeader), true, true},
		{peers(refused, timeout), false, true},
		{peers(timeout), false, true},
		{peers("got: 401 Unauthorized, message: "), false, false},
		{peers("got: 502 Bad Gateway, message:"), false, true}, // a proxy in front of a node that died
		{peers("got: 504 Gateway Timeout, message:"), false, true},
		{errNoResults, false, true},
		{errors.New(refused), true, true}, // a follower could not reach the old leader
		{errors.New("UNIQUE constraint failed"), false, false},
		{peers(), false, false},
	} {
		require.Equal(t, tc.write, retryable(tc.err, false), "write: %v", tc.err)
		require.Equal(t, tc.read, retryable(tc.err, true), "read: %v", tc.err)
	}
}

// TestLeaderWait checks that a request to a cluster without a leader is
// retried until the leader wait is over, and then fails clearly.
func TestLeaderWait(t *testing.T) {
	var mu sync.Mutex
	n := 0
	front := front(t, serverURL(t), func(w http.ResponseWriter, r *http.Request, next http.Handler) {
		if strings.HasPrefix(r.URL.Path, "/db/") {
			mu.Lock()
			n++
			fail := n <= 3
			mu.Unlock()
			if fail {
				http.Error(w, "leader not found", http.StatusServiceUnavailable)
				return
			}
		}
		next.ServeHTTP(w, r)
	})
	// Without discovery: /nodes would name the server behind the front.
	db, err := Open(front.URL, WithLeaderWait(10*time.Second), WithClusterDiscovery(false))
	require.NoError(t, err)
	defer db.Close()
	require.NoError(t, db.Init(context.Background()), "retried through three 503s")
	mu.Lock()
	require.Greater(t, n, 3)
	n = -1000 // fail from now on
	mu.Unlock()
	db2, err := Open(front.URL, WithLeaderWait(300*time.Millisecond), WithClusterDiscovery(false))
	require.NoError(t, err)
	defer db2.Close()
	start := time.Now()
	_, err = db2.Count(context.Background(), driver.Selector{}, t0)
	require.Error(t, err)
	require.Contains(t, err.Error(), "leader not found")
	require.Less(t, time.Since(start), 5*time.Second)
}

// TestInitAddsMissingGuard: a schema made by another backend (no guard
// table) gets one from Init, and version conditions then hold.
func TestInitAddsMissingGuard(t *testing.T) {
	db := openEmpty(t)
	ctx := context.Background()
	_, err := db.conn.WriteOneContext(ctx, "DROP TABLE guard")
	require.NoError(t, err)
	require.NoError(t, db.Init(ctx))
	put := func(v int64) error {
		_, err := db.Apply(ctx, driver.Batch{Now: t0, Ops: []driver.Op{{Kind: driver.OpPut, Key: "k", Version: v, Value: []byte(`1`)}}})
		return err
	}
	require.NoError(t, put(0))
	require.ErrorIs(t, put(0), driver.ErrVersionMismatch)
	n, err := db.Count(ctx, driver.Selector{}, t0)
	require.NoError(t, err)
	require.Equal(t, int64(1), n)
}
