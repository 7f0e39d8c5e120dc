package reliability_test

import (
	"path/filepath"
	"testing"

	"github.com/kvsuite/kv/backend-rqlite/rqlitetest"
)

// forEachBackend runs test once per backend, as a subtest named after it,
// with what openBackend (and a child process) takes: kind and where. The
// backends: a SQLite file name+".db" in the subtest's temp directory, the
// schema name of this run's PostgreSQL database (skipped, saying why, without
// a server), the rqlite stand-in and a real single-node rqlited (skipped,
// saying why, when none is found). Both rqlites listen on loopback, so child
// processes share them.
func forEachBackend(t *testing.T, name string, test func(t *testing.T, kind, where string)) {
	t.Run("sqlite", func(t *testing.T) {
		test(t, "sqlite", filepath.Join(t.TempDir(), name+".db"))
	})
	t.Run("postgres", func(t *testing.T) {
		needPostgres(t)
		test(t, "postgres", name)
	})
	t.Run("rqlite-standin", func(t *testing.T) {
		t.Log("rqlite: rqlitetest, the in-process STAND-IN for rqlite (not a real rqlite)")
		test(t, "rqlite", rqlitetest.Start(t).URL)
	})
	t.Run("rqlited", func(t *testing.T) {
		test(t, "rqlite", startRqlited(t))
	})
}

// startRqlited starts a single-node rqlited on loopback ports, stopped when
// t ends, and returns its URL. It skips t, saying why, when no rqlited
// binary is found.
func startRqlited(t testing.TB) string {
	t.Helper()
	bin, err := rqlitetest.RqlitedPath()
	if err != nil {
		t.Skip("no real rqlite: " + err.Error())
	}
	n, err := rqlitetest.StartNode(bin, t.TempDir(), "rel1", "")
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(n.Stop)
	t.Logf("rqlite: a real rqlited (%s) at %s", bin, n.URL())
	return n.URL()
}
