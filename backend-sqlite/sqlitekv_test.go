package sqlitekv_test

import (
	"context"
	"database/sql"
	"encoding/json"
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/kvsuite/kv/kvcore"
	"github.com/kvsuite/kv/kvcore/driver"

	sqlitekv "github.com/kvsuite/kv/backend-sqlite"
)

// streamEntry is a row of the stream table, read with a plain connection.
type streamEntry struct {
	seq                  int64
	ns, key, action, typ string
	version              int64
	value                sql.NullString
	ts                   int64
}

func readStream(t *testing.T, path string) []streamEntry {
	t.Helper()
	raw, err := sql.Open("sqlite", "file:"+path+"?mode=ro")
	if err != nil {
		t.Fatal(err)
	}
	defer raw.Close()
	rows, err := raw.Query("SELECT seq, namespace, key, action, version, type, value, ts FROM stream ORDER BY seq")
	if err != nil {
		t.Fatal(err)
	}
	defer rows.Close()
	var out []streamEntry
	for rows.Next() {
		var e streamEntry
		if err := rows.Scan(&e.seq, &e.ns, &e.key, &e.action, &e.version, &e.typ, &e.value, &e.ts); err != nil {
			t.Fatal(err)
		}
		out = append(out, e)
	}
	if err := rows.Err(); err != nil {
		t.Fatal(err)
	}
	return out
}

func newStore(t *testing.T, db *sqlitekv.DB, opts ...kvcore.Option) *kvcore.Store {
	t.Helper()
	s, err := db.Store(append([]kvcore.Option{kvcore.WithSweepInterval(0)}, opts...)...)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = s.Close() })
	return s
}

// TestGroupCommitConcurrent: many goroutines write at once, some with
// versions that cannot hold. Each gets its own outcome, and the stream has
// exactly one entry per committed change, in commit order.
func TestGroupCommitConcurrent(t *testing.T) {
	path := filepath.Join(t.TempDir(), "kv.db")
	db := openInit(t, path, sqlitekv.WithMaxBatch(64))
	s := newStore(t, db)
	ctx := context.Background()
	const workers, perWorker = 24, 40
	var wg sync.WaitGroup
	errs := make(chan error, workers*perWorker)
	for w := 0; w < workers; w++ {
		wg.Add(1)
		go func(w int) {
			defer wg.Done()
			for i := 0; i < perWorker; i++ {
				key := fmt.Sprintf("w%02d/k%03d", w, i%10)
				version := int64(i / 10) // 0 creates; then 1, 2, 3 update in turn
				err := s.Put(ctx, key, version, map[string]int{"w": w, "i": i})
				if err != nil {
					errs <- fmt.Errorf("put %s v%d: %w", key, version, err)
				}
				// A put that must fail: the key is now at version+1.
				err = s.Put(ctx, key, version+5, "never")
				if !errors.Is(err, kvcore.ErrVersionMismatch) {
					errs <- fmt.Errorf("mismatching put %s: got %v", key, err)
				}
			}
		}(w)
	}
	wg.Wait()
	close(errs)
	for err := range errs {
		t.Error(err)
	}
	n, err := s.Count(ctx)
	if err != nil || n != workers*10 {
		t.Fatalf("count %d (%v), want %d", n, err, workers*10)
	}
	rs, err := s.List(ctx, 0, 0)
	if err != nil {
		t.Fatal(err)
	}
	for _, r := range rs {
		if r.Version != perWorker/10 {
			t.Errorf("%s at version %d, want %d", r.Key, r.Version, perWorker/10)
		}
	}
	st := readStream(t, path)
	if len(st) != workers*perWorker {
		t.Fatalf("stream has %d entries, want %d", len(st), workers*perWorker)
	}
	last := map[string]int64{}
	for i, e := range st {
		if i > 0 && e.seq <= st[i-1].seq {
			t.Fatalf("seq %d after %d", e.seq, st[i-1].seq)
		}
		want := last[e.key] + 1
		if e.version != want {
			t.Fatalf("stream %s: version %d after %d", e.key, e.version, last[e.key])
		}
		wantAction := driver.ActionUpdate
		if want == 1 {
			wantAction = driver.ActionCreate
		}
		if e.action != wantAction || !e.value.Valid || strings.Contains(e.value.String, "never") {
			t.Fatalf("stream entry %+v", e)
		}
		last[e.key] = e.version
	}
}

// TestStreamEntries: each kind of change appends what driver.Store says.
func TestStreamEntries(t *testing.T) {
	path := filepath.Join(t.TempDir(), "kv.db")
	db := openInit(t, path)
	now := time.Date(2031, 5, 6, 7, 8, 9, 0, time.UTC)
	clock := func() time.Time { return now }
	s := newStore(t, db, kvcore.WithClock(clock), kvcore.WithNamespace("ns"))
	ctx := context.Background()
	must := func(err error) {
		t.Helper()
		if err != nil {
			t.Fatal(err)
		}
	}
	must(s.Put(ctx, "a", 0, json.RawMessage(`{"x":1}`), kvcore.WithType("T")))
	must(s.Patch(ctx, "a", 1, json.RawMessage(`{"y":2}`)))
	must(s.Put(ctx, "b", -1, json.RawMessage(`2`), kvcore.WithTTL(time.Minute)))
	must(s.Touch(ctx, "b", time.Hour)) // a touch entry, no value
	must(s.Put(ctx, "c", -1, json.RawMessage(`3`), kvcore.WithTTL(time.Minute)))
	_, err := s.Delete(ctx, "a", "missing")
	must(err)
	now = now.Add(2 * time.Minute) // c expires; b was touched
	// A put over the expired c is a create.
	must(s.Put(ctx, "c", 0, json.RawMessage(`4`), kvcore.WithTTL(time.Minute)))
	now = now.Add(2 * time.Minute)
	swept, err := s.Sweep(ctx)
	must(err)
	if swept != 1 {
		t.Fatalf("swept %d, want 1", swept)
	}
	must(s.Put(ctx, "p/1", -1, 1))
	must(s.Put(ctx, "p/2", -1, 2))
	n, err := s.DeletePrefix(ctx, "p/", 0, 0)
	must(err)
	if n != 2 {
		t.Fatalf("deleted %d, want 2", n)
	}
	var got []string
	for _, e := range readStream(t, path) {
		v := "NULL"
		if e.value.Valid {
			v = e.value.String
		}
		if e.ns != "ns" {
			t.Errorf("entry %d namespace %q", e.seq, e.ns)
		}
		got = append(got, fmt.Sprintf("%d %s %s v%d %s %s @%d", e.seq, e.action, e.key, e.version, e.typ, v, time.UnixMicro(e.ts).UTC().Minute()))
	}
	want := []string{
		`1 create a v1 T {"x":1} @8`,
		`2 update a v2 T {"x":1,"y":2} @8`,
		`3 create b v1  2 @8`,
		`4 touch b v1  NULL @8`,
		`5 create c v1  3 @8`,
		`6 delete a v2 T NULL @8`,
		`7 delete c v1  NULL @10`, // the expired c, replaced
		`8 create c v1  4 @10`,
		`9 delete c v1  NULL @12`,
		`10 create p/1 v1 int 1 @12`,
		`11 create p/2 v1 int 2 @12`,
		`12 delete p/1 v1 int NULL @12`,
		`13 delete p/2 v1 int NULL @12`,
	}
	if strings.Join(got, "\n") != strings.Join(want, "\n") {
		t.Errorf("stream:\n%s\nwant:\n%s", strings.Join(got, "\n"), strings.Join(want, "\n"))
	}
	// b was touched to an hour: still live, unchanged version.
	r, err := s.GetRecord(ctx, "b")
	must(err)
	if r.Version != 1 || r.Expires == nil || !r.Expires.Equal(time.Date(2031, 5, 6, 8, 8, 9, 0, time.UTC)) {
		t.Errorf("b after touch: %+v", r)
	}
}

// TestOpenNewConcurrently: several DBs opening one new file at once all
// open it (and Init it). SQLite answers some of them SQLITE_BUSY without
// waiting while another switches the new file to WAL mode; Open retries
// those within the busy timeout (without the retry this test failed 5 runs in 5).
func TestOpenNewConcurrently(t *testing.T) {
	t.Parallel() // its own database files
	ctx := context.Background()
	dir := t.TempDir()
	for round := range 50 {
		path := filepath.Join(dir, fmt.Sprintf("kv%d.db", round))
		var wg sync.WaitGroup
		errs := make(chan error, 8)
		for range 8 {
			wg.Add(1)
			go func() {
				defer wg.Done()
				db, err := sqlitekv.Open(path)
				if err != nil {
					errs <- err
					return
				}
				if err := db.Init(ctx); err != nil {
					errs <- err
				}
				if err := db.Close(); err != nil {
					errs <- err
				}
			}()
		}
		wg.Wait()
		close(errs)
		for err := range errs {
			t.Fatalf("round %d: %v", round, err)
		}
	}
}

// TestInitIdempotent: Init runs again and from several handles (as from
// several processes) at once without error, and applies each step once.
func TestInitIdempotent(t *testing.T) {
	path := filepath.Join(t.TempDir(), "kv.db")
	ctx := context.Background()
	var wg sync.WaitGroup
	errs := make(chan error, 8)
	for i := 0; i < 4; i++ {
		wg.Add(1)
		go func() {
			defer wg.Done()
			db, err := sqlitekv.Open(path)
			if err != nil {
				errs <- err
				return
			}
			defer db.Close()
			for j := 0; j < 2; j++ {
				if err := db.Init(ctx); err != nil {
					errs <- err
				}
			}
		}()
	}
	wg.Wait()
	close(errs)
	for err := range errs {
		t.Fatal(err)
	}
	raw, err := sql.Open("sqlite", path)
	if err != nil {
		t.Fatal(err)
	}
	defer raw.Close()
	var n, maxV int
	if err := raw.QueryRow("SELECT count(*), max(version) FROM schema_migrations").Scan(&n, &maxV); err != nil {
		t.Fatal(err)
	}
	if n != sqlitekv.MigrationCount || n < 1 {
		t.Fatalf("schema_migrations has %d rows up to version %d, want one per migration (%d)", n, maxV, sqlitekv.MigrationCount)
	}
	db := openInit(t, path)
	s := newStore(t, db)
	if err := s.Put(ctx, "k", 0, 1); err != nil {
		t.Fatal(err)
	}
}

func TestReadOnly(t *testing.T) {
	dir := t.TempDir()
	missing := filepath.Join(dir, "missing.db")
	_, err := sqlitekv.Open("file:" + missing + "?mode=ro")
	if err == nil {
		t.Fatal("mode=ro opened a missing file")
	}
	if !errors.Is(err, fs.ErrNotExist) || !strings.Contains(err.Error(), missing) || strings.Contains(err.Error(), "(14)") {
		t.Errorf("error %q should name the file and wrap fs.ErrNotExist", err)
	}
	if _, err := os.Stat(missing); !errors.Is(err, fs.ErrNotExist) {
		t.Error("mode=ro created the file")
	}
	if _, err := sqlitekv.Open(filepath.Join(dir, "no", "such", "dir.db")); err == nil || !strings.Contains(err.Error(), "directory") {
		t.Errorf("missing directory: %v", err)
	}

	path := filepath.Join(dir, "kv.db")
	ctx := context.Background()
	// An uninitialised file: Init cannot migrate it read-only.
	{
		db, err := sqlitekv.Open(path)
		if err != nil {
			t.Fatal(err)
		}
		db.Close()
		ro, err := sqlitekv.Open("file:" + path + "?mode=ro")
		if err != nil {
			t.Fatal(err)
		}
		if err := ro.Init(ctx); !errors.Is(err, sqlitekv.ErrReadOnly) || !errors.Is(err, kvcore.ErrNotInitialized) {
			t.Errorf("Init read-only on an empty file: %v", err)
		}
		ro.Close()
	}
	rw := openInit(t, path)
	s := newStore(t, rw)
	if err := s.Put(ctx, "k", 0, "v"); err != nil {
		t.Fatal(err)
	}
	ro, err := sqlitekv.Open("file:" + path + "?mode=ro")
	if err != nil {
		t.Fatal(err)
	}
	defer ro.Close()
	if err := ro.Init(ctx); err != nil {
		t.Fatalf("Init read-only on a current schema: %v", err)
	}
	rs := newStore(t, ro)
	var v string
	if _, ok, err := rs.Get(ctx, "k", &v); err != nil || !ok || v != "v" {
		t.Fatalf("read-only Get: %q %v %v", v, ok, err)
	}
	if err := rs.Put(ctx, "k", -1, "w"); !errors.Is(err, sqlitekv.ErrReadOnly) {
		t.Errorf("read-only Put: %v", err)
	}
	if _, err := rs.Sweep(ctx); !errors.Is(err, sqlitekv.ErrReadOnly) {
		t.Errorf("read-only Sweep: %v", err)
	}
}

func TestMemory(t *testing.T) {
	ctx := context.Background()
	for _, open := range []func() (*sqlitekv.DB, error){
		func() (*sqlitekv.DB, error) { return sqlitekv.OpenMemory() },
		func() (*sqlitekv.DB, error) { return sqlitekv.Open(":memory:") },
		func() (*sqlitekv.DB, error) { return sqlitekv.Open("file::memory:") },
	} {
		a, err := open()
		if err != nil {
			t.Fatal(err)
		}
		b, err := open()
		if err != nil {
			t.Fatal(err)
		}
		for _, db := range []*sqlitekv.DB{a, b} {
			if err := db.Init(ctx); err != nil {
				t.Fatal(err)
			}
		}
		sa, sb := newStore(t, a), newStore(t, b)
		// Concurrent readers and writers on the one connection.
		var wg sync.WaitGroup
		for w := 0; w < 8; w++ {
			wg.Add(1)
			go func(w int) {
				defer wg.Done()
				for i := 0; i < 20; i++ {
					key := fmt.Sprintf("k%d-%d", w, i)
					if err := sa.Put(ctx, key, 0, i); err != nil {
						t.Error(err)
						return
					}
					if _, ok, err := sa.Get(ctx, key, nil); err != nil || !ok {
						t.Error("get", key, ok, err)
						return
					}
				}
			}(w)
		}
		wg.Wait()
		if n, err := sa.Count(ctx); err != nil || n != 160 {
			t.Errorf("count %d %v", n, err)
		}
		if n, err := sb.Count(ctx); err != nil || n != 0 {
			t.Errorf("a second in-memory database sees %d records (%v)", n, err)
		}
		a.Close()
		b.Close()
	}
}

func TestClosed(t *testing.T) {
	db := openInit(t, filepath.Join(t.TempDir(), "kv.db"))
	s := newStore(t, db)
	ctx := context.Background()
	if err := s.Put(ctx, "k", 0, 1); err != nil {
		t.Fatal(err)
	}
	if err := db.Close(); err != nil {
		t.Fatal(err)
	}
	if err := db.Close(); err != nil {
		t.Fatalf("second Close: %v", err)
	}
	if err := s.Put(ctx, "k", -1, 2); !errors.Is(err, kvcore.ErrClosed) {
		t.Errorf("Put after Close: %v", err)
	}
	if _, _, err := s.Get(ctx, "k", nil); !errors.Is(err, kvcore.ErrClosed) {
		t.Errorf("Get after Close: %v", err)
	}
	if err := db.Init(ctx); !errors.Is(err, kvcore.ErrClosed) {
		t.Errorf("Init after Close: %v", err)
	}
}

// TestCloseUnderLoad: closing while many goroutines write ends every call
// with its result or ErrClosed, never a hang or another error.
func TestCloseUnderLoad(t *testing.T) {
	db, err := sqlitekv.Open(filepath.Join(t.TempDir(), "kv.db"))
	if err != nil {
		t.Fatal(err)
	}
	ctx := context.Background()
	if err := db.Init(ctx); err != nil {
		t.Fatal(err)
	}
	s := newStore(t, db)
	var wg sync.WaitGroup
	for w := 0; w < 16; w++ {
		wg.Add(1)
		go func(w int) {
			defer wg.Done()
			for i := 0; ; i++ {
				err := s.Put(ctx, fmt.Sprintf("%d/%d", w, i), 0, i)
				if errors.Is(err, kvcore.ErrClosed) {
					return
				}
				if err != nil {
					t.Error(err)
					return
				}
			}
		}(w)
	}
	time.Sleep(50 * time.Millisecond)
	if err := db.Close(); err != nil {
		t.Fatal(err)
	}
	wg.Wait()
}

func TestCanceledContext(t *testing.T) {
	db := openInit(t, filepath.Join(t.TempDir(), "kv.db"))
	s := newStore(t, db)
	ctx, cancel := context.WithCancel(context.Background())
	cancel()
	if err := s.Put(ctx, "k", 0, 1); !errors.Is(err, context.Canceled) {
		t.Errorf("Put with a cancelled context: %v", err)
	}
	if n, err := s.Count(context.Background()); err != nil || n != 0 {
		t.Errorf("count %d %v", n, err)
	}
}

func TestOptionsValidated(t *testing.T) {
	bad := []sqlitekv.Option{
		sqlitekv.WithReaders(0), sqlitekv.WithReaders(-1), sqlitekv.WithMaxBatch(0),
		sqlitekv.WithBusyTimeout(-time.Second), sqlitekv.WithSynchronous(sqlitekv.Synchronous(9)), nil,
	}
	for i, o := range bad {
		if _, err := sqlitekv.OpenMemory(o); !errors.Is(err, kvcore.ErrInvalidArgument) {
			t.Errorf("option %d: %v", i, err)
		}
	}
}

// TestManyKeys: a GetBatch over more keys than SQLite takes parameters
// returns them in the caller's order.
func TestManyKeys(t *testing.T) {
	t.Parallel() // its own database files
	db := openInit(t, filepath.Join(t.TempDir(), "kv.db"))
	s := newStore(t, db)
	ctx := context.Background()
	const n = 40000
	ms := make([]kvcore.Mutation, 0, n)
	keys := make([]string, 0, n+1)
	for i := 0; i < n; i++ {
		k := fmt.Sprintf("k%06d", (i*7919)%n)
		ms = append(ms, kvcore.Put(k, -1, i))
		keys = append(keys, k)
	}
	if _, err := s.MutateAll(ctx, ms...); err != nil {
		t.Fatal(err)
	}
	keys = append(keys[:n/2], append([]string{"absent"}, keys[n/2:]...)...)
	rs, err := s.GetBatch(ctx, keys...)
	if err != nil {
		t.Fatal(err)
	}
	if len(rs) != n {
		t.Fatalf("%d records, want %d", len(rs), n)
	}
	j := 0
	for _, k := range keys {
		if k == "absent" {
			continue
		}
		if rs[j].Key != k {
			t.Fatalf("record %d is %s, want %s", j, rs[j].Key, k)
		}
		j++
	}
}

// TestSubscribe: a subscription is signalled after a commit and closed when
// its context ends or the DB closes.
func TestSubscribe(t *testing.T) {
	db := openInit(t, filepath.Join(t.TempDir(), "kv.db"))
	s := newStore(t, db)
	ctx, cancel := context.WithCancel(context.Background())
	ch, err := db.Subscribe(ctx)
	if err != nil {
		t.Fatal(err)
	}
	other, err := db.Subscribe(context.Background())
	if err != nil {
		t.Fatal(err)
	}
	if err := s.Put(context.Background(), "k", 0, 1); err != nil {
		t.Fatal(err)
	}
	select {
	case _, ok := <-ch:
		if !ok {
			t.Fatal("closed before its context ended")
		}
	case <-time.After(10 * time.Second):
		t.Fatal("no signal after a commit")
	}
	cancel()
	for range ch { // drains until closed; hangs (and times out) if never closed
	}
	if err := db.Close(); err != nil {
		t.Fatal(err)
	}
	for range other {
	}
	if _, err := db.Subscribe(context.Background()); !errors.Is(err, kvcore.ErrClosed) {
		t.Errorf("Subscribe after Close: %v", err)
	}
}

// TestOpenModes: ReadOnly and InMemory tell what each connection string
// form opened, and WithMustExist opens an existing file only: a missing
// one is an error wrapping fs.ErrNotExist and is not created, whatever
// the mode (rwc or none) says.
func TestOpenModes(t *testing.T) {
	dir := t.TempDir()
	path := filepath.Join(dir, "data.db")
	db, err := sqlitekv.Open(path)
	if err != nil {
		t.Fatal(err)
	}
	if err := db.Init(context.Background()); err != nil {
		t.Fatal(err)
	}
	db.Close()

	for _, c := range []struct {
		dsn                string
		readOnly, inMemory bool
	}{
		{path, false, false},
		{"file:" + path + "?mode=rwc", false, false},
		{"file:" + path + "?mode=rw", false, false},
		{"file:" + path + "?mode=ro", true, false},
		{"file:" + path + "?_pragma=cache_size(-2000)&mode=ro#fragment", true, false},
		{":memory:", false, true},
		{"file::memory:", false, true},
		{"file:x?mode=memory", false, true},
	} {
		for _, mustExist := range []bool{false, true} {
			var opts []sqlitekv.Option
			if mustExist {
				opts = append(opts, sqlitekv.WithMustExist())
			}
			db, err := sqlitekv.Open(c.dsn, opts...)
			if err != nil {
				t.Fatalf("Open(%q, must exist %v): %v", c.dsn, mustExist, err)
			}
			if db.ReadOnly() != c.readOnly || db.InMemory() != c.inMemory {
				t.Errorf("Open(%q): ReadOnly %v, InMemory %v; want %v, %v", c.dsn, db.ReadOnly(), db.InMemory(), c.readOnly, c.inMemory)
			}
			db.Close()
		}
	}

	missing := filepath.Join(dir, "missing.db")
	for _, dsn := range []string{missing, "file:" + missing + "?mode=rwc", "file:" + missing + "?mode=rw", "file:" + missing + "?mode=ro"} {
		_, err := sqlitekv.Open(dsn, sqlitekv.WithMustExist())
		if !errors.Is(err, fs.ErrNotExist) {
			t.Errorf("Open(%q, WithMustExist) = %v, want fs.ErrNotExist", dsn, err)
		}
		// ErrNotCreated says WithMustExist kept a file from being created.
		want := !strings.HasSuffix(dsn, "mode=rw") && !strings.HasSuffix(dsn, "mode=ro")
		if got := errors.Is(err, sqlitekv.ErrNotCreated); got != want {
			t.Errorf("Open(%q, WithMustExist) = %v: is ErrNotCreated %v, want %v", dsn, err, got, want)
		}
		if _, serr := os.Stat(missing); !errors.Is(serr, fs.ErrNotExist) {
			t.Fatalf("Open(%q, WithMustExist) created the file", dsn)
		}
	}
}
