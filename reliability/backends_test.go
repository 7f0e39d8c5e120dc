package reliability_test

import (
	"os"
	"path/filepath"
	"testing"

	"github.com/kvsuite/kv/backend-rqlite/rqlitetest"
)

// forEachBackend runs test once per backend, as a subtest named after it,
// with what openBackend (and a child process) takes: kind and where. The
// backends: a SQLite file name+".db" in the subtest's temp directory, the
// schema name of this run's PostgreSQL database (skipped, saying why,
// without a server), and a real single-node rqlited ("rqlited"; when no
// rqlited binary is found, rqlitetest's in-process stand-in instead, as
// "rqlite-standin", saying why; KV_REQUIRE_RQLITED=1 makes that a
// failure). Both rqlites listen on loopback, so child processes share
// them.
func forEachBackend(t *testing.T, name string, test func(t *testing.T, kind, where string)) {
	t.Run("sqlite", func(t *testing.T) {
		test(t, "sqlite", filepath.Join(t.TempDir(), name+".db"))
	})
	t.Run("postgres", func(t *testing.T) {
		needPostgres(t)
		test(t, "postgres", name)
	})
	if _, err := rqlitetest.RqlitedPath(); err != nil {
		t.Run("rqlite-standin", func(t *testing.T) {
			if os.Getenv("KV_REQUIRE_RQLITED") == "1" {
				t.Fatal("KV_REQUIRE_RQLITED=1 but " + err.Error())
			}
			t.Logf("rqlite: %v: rqlitetest, the in-process STAND-IN for rqlite (not a real rqlite)", err)
			test(t, "rqlite", rqlitetest.Start(t).URL)
		})
		return
	}
	t.Run("rqlited", func(t *testing.T) {
		test(t, "rqlite", startRqlited(t))
	})
}

// rqlitedBin returns the rqlited binary, or skips t saying why there is
// none (fails it under KV_REQUIRE_RQLITED=1).
func rqlitedBin(t testing.TB) string {
	t.Helper()
	bin, err := rqlitetest.RqlitedPath()
	if err != nil {
		if os.Getenv("KV_REQUIRE_RQLITED") == "1" {
			t.Fatal("KV_REQUIRE_RQLITED=1 but " + err.Error())
		}
		t.Skip("no real rqlite: " + err.Error())
	}
	return bin
}

// startRqlited starts a single-node rqlited on loopback ports, stopped when
// t ends, and returns its URL. It skips t, saying why, when no rqlited
// binary is found.
func startRqlited(t testing.TB) string {
	t.Helper()
	bin := rqlitedBin(t)
	n, err := rqlitetest.StartNode(bin, t.TempDir(), "rel1", "")
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(n.Stop)
	t.Logf("rqlite: a real rqlited (%s) at %s", bin, n.URL())
	return n.URL()
}

// startRqlitedCluster starts a three-node rqlited cluster on loopback
// ports, stopped when t ends, and returns it. It skips t, saying why, when
// no rqlited binary is found.
func startRqlitedCluster(t *testing.T) *rqlitetest.Cluster {
	t.Helper()
	bin := rqlitedBin(t)
	c, err := rqlitetest.StartCluster(bin, t.TempDir(), 3)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(c.Stop)
	t.Logf("rqlite: a real 3-node rqlited cluster (%s) at %s", bin, c.URL())
	return c
}
