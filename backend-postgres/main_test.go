package postgreskv_test

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"flag"
	"fmt"
	"os"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgxpool"
	"github.com/stretchr/testify/require"

	postgreskv "github.com/kvsuite/kv/backend-postgres"
)

// defaultTestURL is the local server that the tests use when
// KV_TEST_POSTGRES_URL is not set.
const defaultTestURL = "postgres://postgres@127.0.0.1:5432/postgres?sslmode=disable"

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
	url, source := os.Getenv("KV_TEST_POSTGRES_URL"), "KV_TEST_POSTGRES_URL"
	if url == "" {
		url, source = defaultTestURL, "the local default server"
	}
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	// Open's errors never show the password.
	adminDB, err := postgreskv.Open(ctx, url)
	if err != nil {
		skipReason = fmt.Sprintf("no PostgreSQL server for the tests (%s: %v); set KV_TEST_POSTGRES_URL", source, err)
		if os.Getenv("KV_REQUIRE_POSTGRES") == "1" {
			fmt.Fprintln(os.Stderr, "FAIL: KV_REQUIRE_POSTGRES=1 but", skipReason)
			return 1
		}
		fmt.Println("SKIP:", skipReason)
		// Examples cannot skip themselves: leave them out of this run.
		if f := flag.Lookup("test.skip"); f != nil && f.Value.String() == "" {
			_ = f.Value.Set("^Example")
		}
		return m.Run()
	}
	defer adminDB.Close()
	admin := adminDB.Pool()

	b := make([]byte, 6)
	_, _ = rand.Read(b)
	dbName := "kv_test_" + hex.EncodeToString(b)
	if _, err := admin.Exec(ctx, "CREATE DATABASE "+pgx.Identifier{dbName}.Sanitize()); err != nil {
		fmt.Fprintln(os.Stderr, "FAIL: create test database:", err)
		return 1
	}
	defer func() {
		ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
		defer cancel()
		if testPool != nil {
			testPool.Close()
		}
		if _, err := admin.Exec(ctx, "DROP DATABASE "+pgx.Identifier{dbName}.Sanitize()+" WITH (FORCE)"); err != nil {
			fmt.Fprintln(os.Stderr, "drop test database:", err)
		}
	}()

	testBase, err = pgxpool.ParseConfig(url)
	if err != nil {
		fmt.Fprintln(os.Stderr, "FAIL: parse test URL:", err)
		return 1
	}
	testBase.ConnConfig.Database = dbName
	cc := testBase.ConnConfig
	var version string
	_ = admin.QueryRow(ctx, "SHOW server_version").Scan(&version)
	fmt.Printf("postgreskv tests: PostgreSQL %s at %s:%d as %q (from %s), database %s\n",
		version, cc.Host, cc.Port, cc.User, source, dbName)

	databaseURL = connString(testBase)
	testPool, err = pgxpool.NewWithConfig(ctx, testBase.Copy())
	if err != nil {
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

// connString returns a keyword/value connection string for c.
func connString(c *pgxpool.Config) string {
	cc := c.ConnConfig
	s := fmt.Sprintf("host=%s port=%d dbname=%s user=%s", cc.Host, cc.Port, cc.Database, cc.User)
	if cc.Password != "" {
		s += " password='" + strings.NewReplacer(`\`, `\\`, `'`, `\'`).Replace(cc.Password) + "'"
	}
	if cc.TLSConfig == nil {
		s += " sslmode=disable"
	}
	return s
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
