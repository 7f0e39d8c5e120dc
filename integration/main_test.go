package integration_test

import (
	"context"
	"flag"
	"fmt"
	"os"
	"sync"
	"testing"
	"time"

	"github.com/kvsuite/kv/backend-postgres/postgrestest"
)

// childEnv selects a child mode: the test binary runs itself again with it
// set to be a writer process of a multi-process test instead of the tests.
const childEnv = "KV_INTEGRATION_CHILD"

var (
	// pgSkip is why the PostgreSQL parts skip ("" if a server answers).
	pgSkip string
	// pgURL names this run's own PostgreSQL database.
	pgURL string
)

func TestMain(m *testing.M) {
	if mode := os.Getenv(childEnv); mode != "" {
		os.Exit(runChild(mode))
	}
	flag.Parse()
	code := run(m)
	stopShared()
	os.Exit(code)
}

// run creates this run's PostgreSQL database (if a server answers), runs
// the tests and drops the database.
func run(m *testing.M) int {
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	db, skip, err := postgrestest.ForRun(ctx, "kvint")
	if err != nil {
		fmt.Fprintln(os.Stderr, "FAIL:", err)
		return 1
	}
	if db == nil {
		pgSkip = skip
		return runTests(m)
	}
	defer func() {
		ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
		defer cancel()
		if err := db.Drop(ctx); err != nil {
			fmt.Fprintln(os.Stderr, err)
		}
	}()
	pgURL = db.URL
	return runTests(m)
}

// runTests runs the tests, then what they left for the end of the run
// (atExit).
func runTests(m *testing.M) int {
	code := m.Run()
	exit.Lock()
	defer exit.Unlock()
	for i := len(exit.funcs) - 1; i >= 0; i-- {
		exit.funcs[i]()
	}
	return code
}

// exit holds what runs when the tests have ended, before the run's
// database is dropped: the closing of what several benchmarks share.
var exit struct {
	sync.Mutex
	funcs []func()
}

// atExit runs f when the tests have ended (last registered, first run).
func atExit(f func()) {
	exit.Lock()
	exit.funcs = append(exit.funcs, f)
	exit.Unlock()
}
