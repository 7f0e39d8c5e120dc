package natspublish_test

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"fmt"
	"os"
	"path/filepath"
	"testing"
	"time"

	"github.com/jackc/pgx/v5"

	postgreskv "github.com/kvsuite/kv/backend-postgres"
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

// postgresURL is the server the PostgreSQL cases use.
func postgresURL() string {
	if u := os.Getenv("KV_TEST_POSTGRES_URL"); u != "" {
		return u
	}
	return "postgres://postgres@127.0.0.1:5432/postgres?sslmode=disable"
}

// openDB opens and initialises kind ("sqlite" or "postgres") at where: a
// SQLite file, or a schema of the PostgreSQL server.
func openDB(ctx context.Context, kind, where string) (backendDB, error) {
	var (
		db  backendDB
		err error
	)
	switch kind {
	case "sqlite":
		db, err = sqlitekv.Open(where)
	case "postgres":
		db, err = postgreskv.Open(ctx, postgresURL(), postgreskv.WithSchema(where))
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
// takes: a SQLite file in the subtest's temp directory, and a schema of
// its own on the PostgreSQL server (dropped at the end; the subtest skips,
// saying why, without a server, or fails if KV_REQUIRE_POSTGRES=1).
func forEachBackend(t *testing.T, test func(t *testing.T, kind, where string)) {
	t.Run("sqlite", func(t *testing.T) {
		test(t, "sqlite", newSQLite(t))
	})
	t.Run("postgres", func(t *testing.T) {
		test(t, "postgres", newSchema(t))
	})
}

// newSQLite returns a SQLite file name in t's temp directory.
func newSQLite(t testing.TB) string {
	return filepath.Join(t.TempDir(), "kv.db")
}

// newSchema returns the name of a PostgreSQL schema of t's own, dropped
// when t ends.
func newSchema(t testing.TB) string {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	conn, err := pgx.Connect(ctx, postgresURL())
	if err != nil {
		if os.Getenv("KV_REQUIRE_POSTGRES") == "1" {
			t.Fatalf("KV_REQUIRE_POSTGRES=1 but no PostgreSQL server: %v", err)
		}
		t.Skipf("no PostgreSQL server (set KV_TEST_POSTGRES_URL): %v", err)
	}
	conn.Close(ctx)
	b := make([]byte, 6)
	_, _ = rand.Read(b)
	schema := "natspublish_" + hex.EncodeToString(b)
	t.Cleanup(func() {
		ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
		defer cancel()
		conn, err := pgx.Connect(ctx, postgresURL())
		if err != nil {
			t.Errorf("drop schema %s: %v", schema, err)
			return
		}
		defer conn.Close(ctx)
		if _, err := conn.Exec(ctx, "DROP SCHEMA IF EXISTS "+pgx.Identifier{schema}.Sanitize()+" CASCADE"); err != nil {
			t.Errorf("drop schema %s: %v", schema, err)
		}
	})
	return schema
}
