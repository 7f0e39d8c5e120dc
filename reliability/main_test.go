package reliability_test

import (
	"context"
	"flag"
	"fmt"
	"os"
	"testing"
	"time"

	"github.com/kvsuite/kv/backend-postgres/postgrestest"
	"github.com/kvsuite/kv/reliability/internal/reltest"
)

// childEnv selects a helper mode: the test binary re-executes itself with
// it set to run a child process (a crashing writer, a lease contender, a
// task runner) instead of the tests.
const childEnv = "KV_RELIABILITY_CHILD"

var (
	// pgSkip is why the PostgreSQL parts skip ("" if a server answers).
	pgSkip string
	// pgURL names this run's own database, rel_<random>.
	pgURL string
)

func TestMain(m *testing.M) {
	if mode := os.Getenv(childEnv); mode != "" {
		os.Exit(runChild(mode))
	}
	flag.Parse()
	os.Exit(run(m))
}

// run creates this run's PostgreSQL database (if a server answers), runs
// the tests and drops the database.
func run(m *testing.M) int {
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	db, skip, err := postgrestest.ForRun(ctx, "rel")
	if err != nil {
		fmt.Fprintln(os.Stderr, "FAIL:", err)
		return 1
	}
	fmt.Printf("reliability: long form: %t\n", reltest.Long)
	if db == nil {
		pgSkip = skip
		return m.Run()
	}
	defer func() {
		ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
		defer cancel()
		if err := db.Drop(ctx); err != nil {
			fmt.Fprintln(os.Stderr, err)
		}
	}()
	pgURL = db.URL
	return m.Run()
}

// needPostgres skips t, saying why, when no server answers.
func needPostgres(t testing.TB) {
	t.Helper()
	if pgSkip != "" {
		t.Skip(pgSkip)
	}
}
