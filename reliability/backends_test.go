package reliability_test

import (
	"fmt"
	"path/filepath"
	"sync/atomic"
	"testing"

	"github.com/kvsuite/kv/backend-rqlite/rqlitetest"
)

// forEachBackend runs test once per backend, as a subtest named after it,
// with what openBackend (and a child process) takes: kind and where. The
// backends: a SQLite file name+".db" in the subtest's temp directory, the
// schema name<n> of this run's PostgreSQL database, n new for each run
// of the subtest (as with -count), so that no run finds another's data
// (skipped, saying why,
// without a server), and a real single-node rqlited ("rqlited"; when no
// rqlited binary is found, rqlitetest's in-process stand-in instead, as
// "rqlite-standin", saying why; KV_REQUIRE_RQLITED=1 makes that a
// failure). Both rqlites listen on loopback, so child processes share
// them. The subtests run in parallel: none shares a database with another.
func forEachBackend(t *testing.T, name string, test func(t *testing.T, kind, where string)) {
	t.Run("sqlite", func(t *testing.T) {
		t.Parallel()
		test(t, "sqlite", filepath.Join(t.TempDir(), name+".db"))
	})
	t.Run("postgres", func(t *testing.T) {
		t.Parallel()
		needPostgres(t)
		test(t, "postgres", fmt.Sprintf("%s%d", name, schemaRuns.Add(1)))
	})
	sub := "rqlited"
	if _, err := rqlitetest.RqlitedPath(); err != nil {
		sub = "rqlite-standin"
	}
	t.Run(sub, func(t *testing.T) {
		t.Parallel()
		test(t, "rqlite", rqlitetest.NewURL(t))
	})
}

// schemaRuns numbers the PostgreSQL schemas forEachBackend hands out.
var schemaRuns atomic.Int64
