package natspublish_test

import (
	"context"
	"fmt"
	"os"
	"path/filepath"
	"testing"

	postgreskv "github.com/kvsuite/kv/backend-postgres"
	"github.com/kvsuite/kv/backend-postgres/postgrestest"
	sqlitekv "github.com/kvsuite/kv/backend-sqlite"
	"github.com/kvsuite/kv/kvcore"
	streamdriver "github.com/kvsuite/kv/kvstream/driver"
)

// childEnv selects a helper mode: the test binary runs itself with it set
// to be a publisher process that the tests kill.
const childEnv = "KV_NATSPUBLISH_CHILD"

func TestMain(m *testing.M) {
	if os.Getenv(childEnv) != "" {
		os.Exit(runChild())
	}
	os.Exit(m.Run())
}

// backendDB is what the tests use of a backend's *DB.
type backendDB interface {
	streamdriver.Stream
	Init(context.Context) error
	Store(...kvcore.Option) (*kvcore.Store, error)
	Close() error
}

// openDB opens and initialises kind ("sqlite" or "postgres") at where: a
// SQLite file, or a PostgreSQL database's connection string.
func openDB(ctx context.Context, kind, where string) (backendDB, error) {
	var (
		db  backendDB
		err error
	)
	switch kind {
	case "sqlite":
		db, err = sqlitekv.Open(where)
	case "postgres":
		db, err = postgreskv.Open(ctx, where)
	default:
		err = fmt.Errorf("unknown backend %q", kind)
	}
	if err != nil {
		return nil, err
	}
	if err := db.Init(ctx); err != nil {
		db.Close()
		return nil, err
	}
	return db, nil
}

// mustOpen is openDB for a test, closed when it ends.
func mustOpen(t testing.TB, kind, where string) backendDB {
	t.Helper()
	db, err := openDB(context.Background(), kind, where)
	if err != nil {
		t.Fatalf("open %s %s: %v", kind, where, err)
	}
	t.Cleanup(func() { db.Close() })
	return db
}

// forEachBackend runs test as a subtest per backend with what openDB
// takes: a SQLite file in the subtest's temp directory, and a PostgreSQL
// database of its own (see newPostgres). The subtests run in parallel.
func forEachBackend(t *testing.T, test func(t *testing.T, kind, where string)) {
	t.Run("sqlite", func(t *testing.T) {
		t.Parallel()
		test(t, "sqlite", newSQLite(t))
	})
	t.Run("postgres", func(t *testing.T) {
		t.Parallel()
		test(t, "postgres", newPostgres(t))
	})
}

// newSQLite returns a SQLite file name in t's temp directory.
func newSQLite(t testing.TB) string {
	return filepath.Join(t.TempDir(), "kv.db")
}

// newPostgres returns the connection string of a PostgreSQL database of
// t's own, dropped when t ends (postgrestest.New: t skips, saying why,
// without a server, or fails if KV_REQUIRE_POSTGRES=1).
func newPostgres(t testing.TB) string {
	t.Helper()
	return postgrestest.New(t, "natspublish").URL
}
