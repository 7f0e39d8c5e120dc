package postgreskv_test

import (
	"context"
	"flag"
	"fmt"
	"os"
	"sync/atomic"
	"testing"
	"time"

	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgxpool"
	"github.com/stretchr/testify/require"

	postgreskv "github.com/kvsuite/kv/backend-postgres"
	"github.com/kvsuite/kv/backend-postgres/postgrestest"
)

var (
	// skipReason is why the tests that need a server skip ("" if one answers).
	skipReason string
	// testBase is the parsed config of the test database (kv_test_<random>).
	testBase *pgxpool.Config
	// databaseURL is a connection string for the test database.
	databaseURL string
	// testPool is a pool on the test database, shared by the tests.
	testPool *pgxpool.Pool
	// schemaSeq names the per-test schemas.
	schemaSeq atomic.Int64
)

func TestMain(m *testing.M) {
	flag.Parse()
	os.Exit(run(m))
}

func run(m *testing.M) int {
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	pg, skip, err := postgrestest.ForRun(ctx, "kv_test")
	if err != nil {
		fmt.Fprintln(os.Stderr, "FAIL:", err)
		return 1
	}
	if pg == nil {
		skipReason = skip
		// Examples cannot skip themselves: leave them out of this run.
		if f := flag.Lookup("test.skip"); f != nil && f.Value.String() == "" {
			_ = f.Value.Set("^Example")
		}
		return m.Run()
	}
	defer func() {
		ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
		defer cancel()
		if testPool != nil {
			testPool.Close()
		}
		if err := pg.Drop(ctx); err != nil {
			fmt.Fprintln(os.Stderr, err)
		}
	}()
	databaseURL = pg.DSN
	if testBase, err = pgxpool.ParseConfig(pg.DSN); err != nil {
		fmt.Fprintln(os.Stderr, "FAIL: parse test URL:", err)
		return 1
	}
	if testPool, err = pgxpool.NewWithConfig(ctx, testBase.Copy()); err != nil {
		fmt.Fprintln(os.Stderr, "FAIL: open test pool:", err)
		return 1
	}
	return m.Run()
}

// needServer skips t if no server answers.
func needServer(t testing.TB) {
	t.Helper()
	if skipReason != "" {
		t.Skip(skipReason)
	}
}

// testConnString returns a connection string for the test database.
func testConnString(t testing.TB) string {
	t.Helper()
	needServer(t)
	return databaseURL
}

// newSchemaName returns a schema name no other test uses, and drops that
// schema when t ends.
func newSchemaName(t testing.TB) string {
	t.Helper()
	needServer(t)
	name := fmt.Sprintf("t%d", schemaSeq.Add(1))
	t.Cleanup(func() {
		ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
		defer cancel()
		_, err := testPool.Exec(ctx, "DROP SCHEMA IF EXISTS "+pgx.Identifier{name}.Sanitize()+" CASCADE")
		if err != nil {
			t.Errorf("drop schema %s: %v", name, err)
		}
	})
	return name
}

// newDB returns an empty, initialised DB in a fresh schema of the test
// database, on the shared pool.
func newDB(t testing.TB) *postgreskv.DB {
	t.Helper()
	return newDBOn(t, testPool)
}

// newDBOn returns an empty, initialised DB with opts in a fresh schema of
// the test database, on pool; it is closed when t ends.
func newDBOn(t testing.TB, pool *pgxpool.Pool, opts ...postgreskv.Option) *postgreskv.DB {
	t.Helper()
	db := postgreskv.New(pool, append([]postgreskv.Option{postgreskv.WithSchema(newSchemaName(t))}, opts...)...)
	require.NoError(t, db.Init(context.Background()))
	t.Cleanup(func() { _ = db.Close() })
	return db
}

// newPool returns a pool of its own on the test database, with the config
// that tune changes; it is closed when t ends.
func newPool(t testing.TB, tune func(*pgxpool.Config)) *pgxpool.Pool {
	t.Helper()
	needServer(t)
	cfg := testBase.Copy()
	tune(cfg)
	pool, err := pgxpool.NewWithConfig(context.Background(), cfg)
	require.NoError(t, err)
	t.Cleanup(pool.Close)
	return pool
}

// simpleProtocol sets a pool to the simple query protocol (as behind
// PgBouncer in transaction mode), where a batch is one multi-statement
// query string.
func simpleProtocol(c *pgxpool.Config) {
	c.ConnConfig.DefaultQueryExecMode = pgx.QueryExecModeSimpleProtocol
}
