package taskbench

import (
	"context"
	"flag"
	"fmt"
	"os"
	"testing"
	"time"

	"github.com/jackc/pgx/v5/pgxpool"

	"github.com/kvsuite/kv/backend-postgres/postgrestest"
	"github.com/kvsuite/kv/backend-rqlite/rqlitetest"
)

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
)

func TestMain(m *testing.M) {
	flag.Parse()
	os.Exit(run(m))
}

func run(m *testing.M) int {
	if bin, err := rqlitetest.RqlitedPath(); err == nil {
		fmt.Printf("taskbench: rqlite scenarios use a real rqlited (%s)\n", bin)
	} else {
		fmt.Printf("taskbench: %v: rqlite scenarios use rqlitetest, the in-process STAND-IN (not a real rqlite)\n", err)
	}
	cleanup, skip, err := setupPostgres()
	defer cleanup()
	if err != nil {
		fmt.Fprintln(os.Stderr, "FAIL:", err)
		return 1
	}
	pgSkip = skip
	return m.Run()
}

// setupPostgres creates this run's two databases, opens their pools and
// migrates River's. The returned cleanup closes the pools and drops the
// databases; it is never nil. With no server it returns the reason to skip
// (and an error if KV_REQUIRE_POSTGRES=1).
func setupPostgres() (cleanup func(), skip string, err error) {
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	var dbs []*postgrestest.Database
	cleanup = func() {
		ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
		defer cancel()
		for _, p := range []*pgxpool.Pool{kvPool, riverPool} {
			if p != nil {
				p.Close()
			}
		}
		for _, db := range dbs {
			if err := db.Drop(ctx); err != nil {
				fmt.Fprintln(os.Stderr, "taskbench:", err)
			}
		}
	}
	kvDB, skip, err := postgrestest.ForRun(ctx, "taskbench")
	if kvDB == nil {
		return cleanup, skip, err
	}
	dbs = append(dbs, kvDB)
	riverDB, err := postgrestest.NewDatabase(ctx, kvDB.Name+"_river")
	if err != nil {
		return cleanup, "", err
	}
	dbs = append(dbs, riverDB)
	open := func(url string) (*pgxpool.Pool, error) {
		c, err := pgxpool.ParseConfig(url)
		if err != nil {
			return nil, err
		}
		c.MaxConns = poolMaxConns
		return pgxpool.NewWithConfig(ctx, c)
	}
	if kvPool, err = open(kvDB.URL); err != nil {
		return cleanup, "", fmt.Errorf("open kv pool: %w", err)
	}
	if riverPool, err = open(riverDB.URL); err != nil {
		return cleanup, "", fmt.Errorf("open River pool: %w", err)
	}
	if err := migrateRiver(ctx, riverPool); err != nil {
		return cleanup, "", fmt.Errorf("migrate River: %w", err)
	}
	fmt.Printf("taskbench: River's database %s\n", riverDB.Name)
	return cleanup, "", nil
}

// needPostgres skips tb if no PostgreSQL server answers.
func needPostgres(tb testing.TB) {
	tb.Helper()
	if pgSkip != "" {
		tb.Skip(pgSkip)
	}
}
