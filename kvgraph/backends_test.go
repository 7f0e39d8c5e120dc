package kvgraph_test

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/jackc/pgx/v5/pgxpool"

	postgreskv "github.com/kvsuite/kv/backend-postgres"
	rqlitekv "github.com/kvsuite/kv/backend-rqlite"
	"github.com/kvsuite/kv/backend-rqlite/rqlitetest"
	sqlitekv "github.com/kvsuite/kv/backend-sqlite"
	"github.com/kvsuite/kv/kvcore"
	"github.com/kvsuite/kv/kvgraph/kvgraphtest"
)

var (
	exitMu    sync.Mutex
	exitFuncs []func()
)

// atExit runs f when the test binary ends (last registered, first run).
func atExit(f func()) {
	exitMu.Lock()
	exitFuncs = append(exitFuncs, f)
	exitMu.Unlock()
}

func TestMain(m *testing.M) {
	// Say up front what will be skipped and why (the tests skip with the
	// same reason).
	if _, err := exec.LookPath("dot"); err != nil {
		fmt.Println("kvgraph tests: SKIP the Graphviz checks: `dot` is not installed (apt-get install graphviz)")
	}
	if _, err := os.Stat(filepath.Join("testdata", "mermaid-check", "node_modules", "mermaid")); err != nil {
		fmt.Println("kvgraph tests: SKIP the Mermaid parser check: run `npm ci` in testdata/mermaid-check (needs node)")
	}
	code := m.Run()
	exitMu.Lock()
	for i := len(exitFuncs) - 1; i >= 0; i-- {
		exitFuncs[i]()
	}
	exitMu.Unlock()
	os.Exit(code)
}

// sqliteStore returns a store on a fresh SQLite file in t's temp dir.
func sqliteStore(t testing.TB) *kvcore.Store {
	t.Helper()
	db, err := sqlitekv.Open("file:"+filepath.Join(t.TempDir(), "kv.db")+"?mode=rwc", sqlitekv.WithSynchronous(sqlitekv.Normal))
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = db.Close() })
	return initStore(t, db)
}

// backendDB is what initStore needs of a backend's DB.
type backendDB interface {
	Init(ctx context.Context) error
	Store(opts ...kvcore.Option) (*kvcore.Store, error)
}

// initStore creates db's tables and returns a store on it (no background
// sweeps), closed when t ends.
func initStore(t testing.TB, db backendDB) *kvcore.Store {
	t.Helper()
	if err := db.Init(context.Background()); err != nil {
		t.Fatal(err)
	}
	s, err := db.Store(kvcore.WithSweepInterval(0))
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = s.Close() })
	return s
}

func TestSQLite(t *testing.T) {
	kvgraphtest.Run(t, func(t *testing.T) *kvcore.Store { return sqliteStore(t) })
}

func TestSQLiteMemory(t *testing.T) {
	kvgraphtest.Run(t, func(t *testing.T) *kvcore.Store {
		db, err := sqlitekv.OpenMemory()
		if err != nil {
			t.Fatal(err)
		}
		t.Cleanup(func() { _ = db.Close() })
		return initStore(t, db)
	})
}

// The PostgreSQL server: KV_TEST_POSTGRES_URL, else a local server on
// 127.0.0.1:5432. Each store lives in its own schema, dropped at the end.
var pg struct {
	once   sync.Once
	pool   *pgxpool.Pool
	skip   string
	prefix string
	seq    atomic.Int64
}

const defaultPostgresURL = "postgres://postgres@127.0.0.1:5432/postgres?sslmode=disable"

func postgresPool(t testing.TB) *pgxpool.Pool {
	t.Helper()
	pg.once.Do(func() {
		url, source := os.Getenv("KV_TEST_POSTGRES_URL"), "KV_TEST_POSTGRES_URL"
		if url == "" {
			url, source = defaultPostgresURL, "the local default server 127.0.0.1:5432"
		}
		ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
		defer cancel()
		// postgreskv.Open's errors never contain the password.
		db, err := postgreskv.Open(ctx, url)
		if err != nil {
			pg.skip = fmt.Sprintf("no PostgreSQL server (%s: %v); set KV_TEST_POSTGRES_URL", source, err)
			return
		}
		pg.pool = db.Pool()
		b := make([]byte, 4)
		_, _ = rand.Read(b)
		pg.prefix = "kvgraph_test_" + hex.EncodeToString(b)
	})
	if pg.skip != "" {
		if os.Getenv("KV_REQUIRE_POSTGRES") == "1" {
			t.Fatalf("KV_REQUIRE_POSTGRES=1 but %s", pg.skip)
		}
		t.Skip("SKIP: " + pg.skip)
	}
	return pg.pool
}

// postgresStore returns a store in a fresh schema of the test server.
func postgresStore(t testing.TB) *kvcore.Store {
	t.Helper()
	pool := postgresPool(t)
	schema := fmt.Sprintf("%s_%d", pg.prefix, pg.seq.Add(1))
	t.Cleanup(func() {
		ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
		defer cancel()
		if _, err := pool.Exec(ctx, `DROP SCHEMA IF EXISTS "`+schema+`" CASCADE`); err != nil {
			t.Errorf("drop schema %s: %v", schema, err)
		}
	})
	return initStore(t, postgreskv.New(pool, postgreskv.WithSchema(schema)))
}

func TestPostgres(t *testing.T) {
	postgresPool(t)
	kvgraphtest.Run(t, func(t *testing.T) *kvcore.Store { return postgresStore(t) })
}

// TestRqlite runs the suite on rqlitetest, the rqlite backend's in-process
// STAND-IN for rqlite (its HTTP protocol over SQLite; not a real rqlite).
func TestRqlite(t *testing.T) {
	t.Log("rqlite: using rqlitetest, the in-process stand-in for an rqlite server")
	kvgraphtest.Run(t, func(t *testing.T) *kvcore.Store {
		srv := rqlitetest.Start(t)
		db, err := rqlitekv.Open(srv.URL, rqlitekv.WithTimeout(2*time.Minute))
		if err != nil {
			t.Fatal(err)
		}
		t.Cleanup(func() { _ = db.Close() })
		return initStore(t, db)
	})
}
