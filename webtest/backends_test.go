package webtest

import (
	"context"
	"path/filepath"
	"testing"
	"time"

	postgreskv "github.com/kvsuite/kv/backend-postgres"
	"github.com/kvsuite/kv/backend-postgres/postgrestest"
	sqlitekv "github.com/kvsuite/kv/backend-sqlite"
	"github.com/kvsuite/kv/kvcore"
	"github.com/kvsuite/kv/kvgraph"
	"github.com/kvsuite/kv/kvlock"
	"github.com/kvsuite/kv/kvstream"
	streamdriver "github.com/kvsuite/kv/kvstream/driver"
	"github.com/kvsuite/kv/kvtask"
	taskdriver "github.com/kvsuite/kv/kvtask/driver"
	"github.com/kvsuite/kv/kvweb"
)

// db is what every backend's *DB offers.
type db interface {
	Init(ctx context.Context) error
	Store(opts ...kvcore.Option) (*kvcore.Store, error)
	Close() error
	streamdriver.Stream // and its leases
	taskdriver.Queue
}

// env is an open, initialised backend and every front over it.
type env struct {
	typ, conn string // kv's --type and --connection for it
	dir       string // the folder kv runs in (conn may be relative to it)
	db        db
	store     *kvcore.Store
	stream    *kvstream.Stream
	locker    *kvlock.Locker
	tasks     *kvtask.Scheduler
	graph     *kvgraph.Graph
}

// backend opens a fresh database of one kind.
type backend struct {
	name string
	open func(t testing.TB, opts ...kvcore.Option) *env
}

// backends are the backends the tests run on: SQLite always, PostgreSQL
// when a server answers (KV_REQUIRE_POSTGRES=1 makes its absence a
// failure).
var backends = []backend{{"sqlite", openSQLite}, {"postgres", openPostgres}}

// openSQLite opens a fresh SQLite database file.
func openSQLite(t testing.TB, opts ...kvcore.Option) *env {
	t.Helper()
	dir := t.TempDir()
	d, err := sqlitekv.Open("file:" + filepath.Join(dir, "data.db") + "?mode=rwc")
	if err != nil {
		t.Fatal(err)
	}
	e := newEnv(t, d, "sqlite", "file:data.db?mode=rwc", opts)
	e.dir = dir
	return e
}

// openPostgres opens a fresh database of the local PostgreSQL server
// (KV_TEST_POSTGRES_URL or 127.0.0.1:5432), dropped when the test ends, or
// skips the test (with the reason) if no server answers.
func openPostgres(t testing.TB, opts ...kvcore.Option) *env {
	t.Helper()
	conn := postgrestest.New(t, "kvweb_test").URL
	d, err := postgreskv.Open(context.Background(), conn)
	if err != nil {
		t.Fatal(err)
	}
	return newEnv(t, d, "postgres", conn, opts)
}

// newEnv initialises d and opens every front over it.
func newEnv(t testing.TB, d db, typ, conn string, opts []kvcore.Option) *env {
	t.Helper()
	t.Cleanup(func() { _ = d.Close() })
	ctx := context.Background()
	if err := d.Init(ctx); err != nil {
		t.Fatal(err)
	}
	e := &env{typ: typ, conn: conn, db: d}
	var err error
	if e.store, err = d.Store(append([]kvcore.Option{kvcore.WithSweepInterval(0)}, opts...)...); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = e.store.Close() })
	if e.stream, err = kvstream.New(d); err != nil {
		t.Fatal(err)
	}
	if e.locker, err = kvlock.New(d); err != nil {
		t.Fatal(err)
	}
	if e.tasks, err = kvtask.New(d); err != nil {
		t.Fatal(err)
	}
	if e.graph, err = kvgraph.New(e.store); err != nil {
		t.Fatal(err)
	}
	return e
}

// dashboard returns the dashboard of e.
func (e *env) dashboard(t testing.TB, writes bool) *kvweb.Handler {
	t.Helper()
	h, err := kvweb.New(kvweb.Config{Store: e.store, Stream: e.stream, Locker: e.locker, Tasks: e.tasks, Graph: e.graph,
		Backend: e.typ, Database: "test database", AllowWrites: writes, PollInterval: 20 * time.Millisecond})
	if err != nil {
		t.Fatal(err)
	}
	return h
}
