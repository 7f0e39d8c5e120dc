package taskbench

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"flag"
	"fmt"
	"os"
	"testing"
	"time"

	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgxpool"

	"github.com/kvsuite/kv/backend-rqlite/rqlitetest"
)

// defaultPostgresURL is the server used when KV_TEST_POSTGRES_URL is not set.
const defaultPostgresURL = "postgres://postgres@127.0.0.1:5432/postgres?sslmode=disable"

// poolMaxConns is the connection limit of both PostgreSQL pools (kv's and
// River's), so neither side is starved or favoured by its pool.
const poolMaxConns = 20

// The PostgreSQL side of the run, set up once by TestMain.
var (
	// pgSkip is why the PostgreSQL and River scenarios skip ("" if a server answers).
	pgSkip string
	// kvPool is a pool on this run's kv database (taskbench_<random>).
	kvPool *pgxpool.Pool
	// riverPool is a pool on this run's River database (taskbench_<random>_river),
	// migrated with rivermigrate.
	riverPool *pgxpool.Pool
	// rqlitedBin is a real rqlited to use instead of the stand-in ("" if none).
	rqlitedBin string
)

func TestMain(m *testing.M) {
	flag.Parse()
	os.Exit(run(m))
}

func run(m *testing.M) int {
	bin, err := rqlitetest.RqlitedPath()
	if err == nil {
		rqlitedBin = bin
		fmt.Printf("taskbench: rqlite scenarios use a real rqlited (%s)\n", rqlitedBin)
	} else {
		fmt.Printf("taskbench: %v: rqlite scenarios use rqlitetest, the in-process STAND-IN (not a real rqlite)\n", err)
	}
	cleanup, err := setupPostgres()
	defer cleanup()
	if err != nil {
		pgSkip = err.Error()
		if os.Getenv("KV_REQUIRE_POSTGRES") == "1" {
			fmt.Fprintln(os.Stderr, "FAIL: KV_REQUIRE_POSTGRES=1 but", pgSkip)
			return 1
		}
		fmt.Println("SKIP (PostgreSQL and River scenarios):", pgSkip)
	}
	return m.Run()
}

// setupPostgres creates this run's two databases, opens their pools and
// migrates River's. The returned cleanup closes the pools and drops the
// databases; it is never nil.
func setupPostgres() (cleanup func(), err error) {
	url, source := os.Getenv("KV_TEST_POSTGRES_URL"), "KV_TEST_POSTGRES_URL"
	if url == "" {
		url, source = defaultPostgresURL, "the local default server"
	}
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	base, err := pgxpool.ParseConfig(url)
	if err != nil {
		return func() {}, fmt.Errorf("no PostgreSQL server for taskbench (%s: %v); set KV_TEST_POSTGRES_URL", source, err)
	}
	admin, err := pgx.ConnectConfig(ctx, base.ConnConfig.Copy())
	if err != nil {
		return func() {}, fmt.Errorf("no PostgreSQL server for taskbench (%s: %v); set KV_TEST_POSTGRES_URL", source, err)
	}
	b := make([]byte, 6)
	_, _ = rand.Read(b)
	kvName := "taskbench_" + hex.EncodeToString(b)
	riverName := kvName + "_river"
	var created []string
	cleanup = func() {
		ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
		defer cancel()
		for _, p := range []*pgxpool.Pool{kvPool, riverPool} {
			if p != nil {
				p.Close()
			}
		}
		for _, name := range created {
			if _, err := admin.Exec(ctx, "DROP DATABASE "+pgx.Identifier{name}.Sanitize()+" WITH (FORCE)"); err != nil {
				fmt.Fprintln(os.Stderr, "taskbench: drop database:", err)
			}
		}
		admin.Close(ctx)
	}
	for _, name := range []string{kvName, riverName} {
		if _, err := admin.Exec(ctx, "CREATE DATABASE "+pgx.Identifier{name}.Sanitize()); err != nil {
			return cleanup, fmt.Errorf("create database %s: %w", name, err)
		}
		created = append(created, name)
	}
	open := func(name string) (*pgxpool.Pool, error) {
		c := base.Copy()
		c.ConnConfig.Database = name
		c.MaxConns = poolMaxConns
		return pgxpool.NewWithConfig(ctx, c)
	}
	if kvPool, err = open(kvName); err != nil {
		return cleanup, fmt.Errorf("open kv pool: %w", err)
	}
	if riverPool, err = open(riverName); err != nil {
		return cleanup, fmt.Errorf("open River pool: %w", err)
	}
	if err := migrateRiver(ctx, riverPool); err != nil {
		return cleanup, fmt.Errorf("migrate River: %w", err)
	}
	var version string
	_ = admin.QueryRow(ctx, "SHOW server_version").Scan(&version)
	cc := base.ConnConfig
	fmt.Printf("taskbench: PostgreSQL %s at %s:%d (from %s), databases %s (kv) and %s (River)\n",
		version, cc.Host, cc.Port, source, kvName, riverName)
	return cleanup, nil
}

// needPostgres skips tb if no PostgreSQL server answers.
func needPostgres(tb testing.TB) {
	tb.Helper()
	if pgSkip != "" {
		tb.Skip(pgSkip)
	}
}
