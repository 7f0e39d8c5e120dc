package sqlitekv

import (
	"context"
	"errors"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/kvsuite/kv/conformance"
	"github.com/kvsuite/kv/kvcore/driver"
	"github.com/kvsuite/kv/sqlitedialect"
)

func openTest(t *testing.T, opts ...Option) *DB {
	t.Helper()
	db, err := Open(filepath.Join(t.TempDir(), "kv.db"), opts...)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = db.Close() })
	if err := db.Init(context.Background()); err != nil {
		t.Fatal(err)
	}
	return db
}

func TestPragmas(t *testing.T) {
	ctx := context.Background()
	for _, tc := range []struct {
		opt  Synchronous
		want string
	}{{Full, "2"}, {Normal, "1"}} {
		db := openTest(t, WithSynchronous(tc.opt), WithBusyTimeout(1234*time.Millisecond), WithReaders(3))
		var jm, sync, busy string
		if err := db.wdb.QueryRowContext(ctx, "PRAGMA journal_mode").Scan(&jm); err != nil {
			t.Fatal(err)
		}
		if err := db.wdb.QueryRowContext(ctx, "PRAGMA synchronous").Scan(&sync); err != nil {
			t.Fatal(err)
		}
		if err := db.wdb.QueryRowContext(ctx, "PRAGMA busy_timeout").Scan(&busy); err != nil {
			t.Fatal(err)
		}
		if jm != "wal" || sync != tc.want || busy != "1234" {
			t.Errorf("%v: writer journal_mode=%s synchronous=%s busy_timeout=%s, want wal %s 1234", tc.opt, jm, sync, busy, tc.want)
		}
		var qo string
		if err := db.rdb.QueryRowContext(ctx, "PRAGMA query_only").Scan(&qo); err != nil {
			t.Fatal(err)
		}
		if qo != "1" {
			t.Errorf("reader query_only=%s, want 1", qo)
		}
		if _, err := db.rdb.ExecContext(ctx, "INSERT INTO leases (name, owner, token) VALUES ('x', 'y', 1)"); err == nil {
			t.Error("a reader connection accepted a write")
		}
		if got := db.rdb.Stats().MaxOpenConnections; got != 3 {
			t.Errorf("reader pool size %d, want 3", got)
		}
		if got := db.wdb.Stats().MaxOpenConnections; got != 1 {
			t.Errorf("writer pool size %d, want 1", got)
		}
	}
}

// TestQueryPlans checks that every selector shape is answered from an index
// (the primary key, or the type index), never by scanning the table.
func TestQueryPlans(t *testing.T) {
	db := openTest(t)
	ctx := context.Background()
	sels := []driver.Selector{
		{Namespace: "n"},
		{Namespace: "n", From: "a", To: "b", HasTo: true},
		{Namespace: "n", From: "a", After: "ab", HasAfter: true, Limit: 10, Offset: 2},
		{Namespace: "n", Type: "T"},
		{Namespace: "n", Type: "T", From: "a", To: "b", HasTo: true, After: "a1", HasAfter: true},
	}
	check := func(q string, args []any, sortOK bool) {
		t.Helper()
		rows, err := db.rdb.QueryContext(ctx, "EXPLAIN QUERY PLAN "+q, args...)
		if err != nil {
			t.Fatal(err)
		}
		defer rows.Close()
		var plan []string
		for rows.Next() {
			var id, parent, notused int
			var detail string
			if err := rows.Scan(&id, &parent, &notused, &detail); err != nil {
				t.Fatal(err)
			}
			plan = append(plan, detail)
		}
		p := strings.Join(plan, "; ")
		if strings.Contains(p, "SCAN r") || (!sortOK && strings.Contains(p, "TEMP B-TREE")) {
			t.Errorf("query %q: plan %q scans or sorts", q, p)
		}
		if !strings.Contains(p, "PRIMARY KEY") && !strings.Contains(p, "records_by_type") {
			t.Errorf("query %q: plan %q uses no index", q, p)
		}
	}
	for _, sel := range sels {
		where, args := sqlitedialect.SQLite.SelectorWhere(sel, 1)
		check("SELECT "+recordColumns+" FROM records WHERE "+where+" ORDER BY key LIMIT ? OFFSET ?", append(args, 10, 0), false)
		check("SELECT count(*) FROM records WHERE "+where, args, false)
	}
	check(qOneKey, []any{"n", "k", 1}, false)
	// A list of keys is looked up key by key, then put in the list's order.
	check(qKeys, []any{`["a","b"]`, "n", 1}, true)
	// The sweep finds expired records from the expiry index, in its order.
	rows, err := db.rdb.QueryContext(ctx, "EXPLAIN QUERY PLAN SELECT namespace, key FROM records WHERE expires <= ? ORDER BY expires, namespace, key LIMIT ?", 1, 10)
	if err != nil {
		t.Fatal(err)
	}
	defer rows.Close()
	for rows.Next() {
		var id, parent, notused int
		var detail string
		if err := rows.Scan(&id, &parent, &notused, &detail); err != nil {
			t.Fatal(err)
		}
		if !strings.Contains(detail, "records_by_expiry") || strings.Contains(detail, "TEMP B-TREE") {
			t.Errorf("sweep plan %q", detail)
		}
	}
}

func TestParseDSN(t *testing.T) {
	good := []struct {
		dsn, path, mode string
	}{
		{"data.db", "data.db", modeRWC},
		{"file:data.db?mode=rwc", "data.db", modeRWC},
		{"file:data.db?mode=ro", "data.db", modeRO},
		{"file:data.db?mode=rw", "data.db", modeRW},
		{"file:/tmp/x%20y.db", "/tmp/x y.db", modeRWC},
		{"file:///tmp/a.db?mode=ro", "/tmp/a.db", modeRO},
		{"file://localhost/tmp/a.db", "/tmp/a.db", modeRWC},
		{":memory:", "", modeMemory},
		{"file::memory:", "", modeMemory},
		{"file::memory:?_pragma=foreign_keys(1)", "", modeMemory},
		{"file:x?mode=memory", "", modeMemory},
		{"dir/data.db?_pragma=cache_size(-2000)", "dir/data.db", modeRWC},
	}
	for _, g := range good {
		tg, err := parseDSN(g.dsn)
		if err != nil {
			t.Errorf("parseDSN(%q): %v", g.dsn, err)
			continue
		}
		if tg.path != g.path || tg.mode != g.mode {
			t.Errorf("parseDSN(%q) = %q %q, want %q %q", g.dsn, tg.path, tg.mode, g.path, g.mode)
		}
	}
	bad := []string{"", "  ", "file:", "file:x.db?mode=wat", "file://example.com/x.db",
		"file:x.db?_txlock=deferred", "file:x.db?_synchronous=OFF", "x.db?cache=shared", "file:x%zz.db", "file:x.db?a=%zz"}
	for _, b := range bad {
		if _, err := parseDSN(b); err == nil {
			t.Errorf("parseDSN(%q) succeeded", b)
		}
	}
	// Errors do not repeat the parameters.
	_, err := parseDSN("file:x.db?_txlock=secretvalue")
	if err == nil || strings.Contains(err.Error(), "secretvalue") {
		t.Errorf("error %v repeats a parameter value", err)
	}
	for _, p := range []string{"/a/b c.db", "rel/x?y#z%.db"} {
		u := uri(p, modeRWC, nil)
		tg, err := parseDSN(u)
		if err != nil || tg.path != p {
			t.Errorf("uri(%q) = %q parses back to %q, %v", p, u, tg.path, err)
		}
	}
}

// startReq submits fn from a goroutine and returns the channel of its error.
func startReq(db *DB, ctx context.Context, fn func(*wtx) error) <-chan error {
	ch := make(chan error, 1)
	go func() { ch <- db.submit(ctx, fn) }()
	return ch
}

// TestCloseWhileBusy: a request waiting behind a running group gets
// ErrClosed; the running group finishes; Close is idempotent.
func TestCloseWhileBusy(t *testing.T) {
	db := openTest(t)
	ctx := context.Background()
	started, release := make(chan struct{}), make(chan struct{})
	first := startReq(db, ctx, func(w *wtx) error {
		close(started)
		<-release
		_, err := w.apply(driver.Batch{Now: time.Now(), Ops: []driver.Op{{Kind: driver.OpPut, Key: "a", Version: -1, Value: []byte("1")}}})
		return err
	})
	<-started
	ran := make(chan struct{}, 1)
	second := startReq(db, ctx, func(*wtx) error { ran <- struct{}{}; return nil })

	// A caller whose context ends while it waits returns at once.
	cctx, cancel := context.WithCancel(ctx)
	third := startReq(db, cctx, func(*wtx) error { ran <- struct{}{}; return nil })
	cancel()
	if err := <-third; !errors.Is(err, context.Canceled) {
		t.Fatalf("cancelled waiter: %v", err)
	}

	closed := make(chan error, 1)
	go func() { closed <- db.Close() }()
	if err := <-second; !errors.Is(err, driver.ErrClosed) {
		t.Fatalf("waiting request: %v, want ErrClosed", err)
	}
	close(release)
	if err := <-first; err != nil {
		t.Fatalf("running request: %v", err)
	}
	if err := <-closed; err != nil {
		t.Fatalf("Close: %v", err)
	}
	if len(ran) != 0 {
		t.Fatal("a request ran after it was abandoned or closed")
	}
	if err := db.Close(); err != nil {
		t.Fatalf("second Close: %v", err)
	}
}

// TestGroupIsolation runs one group directly: requests that fail (version
// mismatch after an earlier op of the same batch wrote, a panic, a
// cancelled context) change nothing, and their neighbours commit.
func TestGroupIsolation(t *testing.T) {
	db := openTest(t)
	db.stopWriter() // run the group by hand
	ctx := context.Background()
	now := time.Date(2030, 1, 1, 0, 0, 0, 0, time.UTC)
	put := func(key string, version int64) driver.Op {
		return driver.Op{Kind: driver.OpPut, Key: key, Version: version, Value: []byte(`"` + key + `"`)}
	}
	type out struct {
		res []driver.Result
	}
	mk := func(ctx context.Context, o *out, ops ...driver.Op) *request {
		return &request{ctx: ctx, done: make(chan error, 1), fn: func(w *wtx) error {
			r, err := w.apply(driver.Batch{Now: now, Ops: ops})
			o.res = r
			return err
		}}
	}
	cctx, cancel := context.WithCancel(ctx)
	cancel()
	var o [5]out
	group := []*request{
		mk(ctx, &o[0], put("a", 0)),
		mk(ctx, &o[1], put("b", 0), put("c", 7)), // b is written, then c mismatches: b is rolled back
		{ctx: ctx, done: make(chan error, 1), fn: func(*wtx) error { panic("boom") }},
		mk(cctx, &o[3], put("d", 0)),             // never runs
		mk(ctx, &o[4], put("e", 0), put("a", 0)), // a exists in this transaction: mismatch
	}
	db.runGroup(group)
	errs := make([]error, len(group))
	for i, r := range group {
		errs[i] = <-r.done
	}
	var oe *driver.OpError
	if errs[0] != nil || len(o[0].res) != 1 || o[0].res[0].Rows != 1 {
		t.Errorf("request 0: %v %+v", errs[0], o[0].res)
	}
	if !errors.As(errs[1], &oe) || oe.Index != 1 || !errors.Is(errs[1], driver.ErrVersionMismatch) {
		t.Errorf("request 1: %v, want OpError index 1 mismatch", errs[1])
	}
	if errs[2] == nil || !strings.Contains(errs[2].Error(), "boom") {
		t.Errorf("request 2: %v, want the panic as an error", errs[2])
	}
	if !errors.Is(errs[3], context.Canceled) {
		t.Errorf("request 3: %v, want context.Canceled", errs[3])
	}
	if !errors.As(errs[4], &oe) || oe.Index != 1 {
		t.Errorf("request 4: %v, want OpError index 1", errs[4])
	}
	recs, err := db.Query(ctx, driver.Selector{}, now)
	if err != nil {
		t.Fatal(err)
	}
	if len(recs) != 1 || recs[0].Key != "a" {
		t.Errorf("records after the group: %+v, want only a", recs)
	}
	var n int
	if err := db.rdb.QueryRowContext(ctx, "SELECT count(*) FROM stream").Scan(&n); err != nil || n != 1 {
		t.Errorf("stream has %d entries (%v), want 1", n, err)
	}
}

// TestMigrateFromOlder: a database at an older schema version is refused
// with ErrNotInitialized until Init brings it up to date, keeping its data.
func TestMigrateFromOlder(t *testing.T) {
	if latestVersion() < 2 {
		t.Skip("only one migration")
	}
	ctx := context.Background()
	path := filepath.Join(t.TempDir(), "kv.db")
	db, err := Open(path)
	if err != nil {
		t.Fatal(err)
	}
	if err := db.Init(ctx); err != nil {
		t.Fatal(err)
	}
	now := time.Now()
	if _, err := db.Apply(ctx, driver.Batch{Now: now, Ops: []driver.Op{{Kind: driver.OpPut, Key: "k", Version: 0, Value: []byte("1")}}}); err != nil {
		t.Fatal(err)
	}
	// Take the database back to schema version 1.
	if _, err := db.wdb.ExecContext(ctx, "DROP TABLE consumers; DROP TABLE stream_meta; DROP TABLE tasks; DROP TABLE schedules; ALTER TABLE leases DROP COLUMN acquired; DELETE FROM schema_migrations WHERE version > 1"); err != nil {
		t.Fatal(err)
	}
	db.Close()

	db, err = Open(path)
	if err != nil {
		t.Fatal(err)
	}
	defer db.Close()
	if _, err := db.Query(ctx, driver.Selector{Keys: []string{"k"}}, now); !errors.Is(err, driver.ErrNotInitialized) {
		t.Fatalf("query on an old schema: %v", err)
	}
	if err := db.Init(ctx); err != nil {
		t.Fatal(err)
	}
	recs, err := db.Query(ctx, driver.Selector{Keys: []string{"k"}}, now)
	if err != nil || len(recs) != 1 {
		t.Fatalf("after migrating: %v %v", recs, err)
	}
	if _, _, err := db.Bounds(ctx); err != nil {
		t.Fatalf("stream after migrating: %v", err)
	}
	if _, err := db.Schedules(ctx); err != nil {
		t.Fatalf("schedules after migrating: %v", err)
	}
	var versions int
	if err := db.rdb.QueryRowContext(ctx, "SELECT count(*) FROM schema_migrations").Scan(&versions); err != nil || versions != len(migrations) {
		t.Fatalf("%d migrations recorded (%v), want %d", versions, err, len(migrations))
	}
}

// TestLeaseAcquiredMigration: migration 0006_lease_acquired over a held
// lease; the database is closed and opened again in between. Init applies
// the migrations after the newest recorded, so the later ones' records go
// too (0009 changes nothing in a SQLite database).
func TestLeaseAcquiredMigration(t *testing.T) {
	ctx := context.Background()
	path := filepath.Join(t.TempDir(), "kv.db")
	db, err := Open(path)
	if err != nil {
		t.Fatal(err)
	}
	if err := db.Init(ctx); err != nil {
		t.Fatal(err)
	}
	locker := &reopened{db}
	defer func() { locker.Close() }()
	conformance.RunLeaseAcquiredMigration(t, locker, func(t *testing.T) {
		if _, err := locker.wdb.ExecContext(ctx, "ALTER TABLE leases DROP COLUMN acquired; DELETE FROM schema_migrations WHERE version >= 6"); err != nil {
			t.Fatal(err)
		}
		locker.Close()
		if locker.DB, err = Open(path); err != nil {
			t.Fatal(err)
		}
		if err := locker.Init(ctx); err != nil {
			t.Fatal(err)
		}
	})
}

// reopened is a DB that a test may replace by opening its file again.
type reopened struct{ *DB }

func TestMigrationsEmbedded(t *testing.T) {
	if len(migrations) == 0 {
		t.Fatal("no migrations embedded")
	}
	prev := 0
	for _, m := range migrations {
		if m.version <= prev {
			t.Fatalf("migration %s has version %d after %d (versions start at 1 and increase)", m.name, m.version, prev)
		}
		prev = m.version
	}
}
