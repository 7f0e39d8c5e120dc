package rqlitekv

import (
	"context"
	"fmt"
	"os"
	"os/exec"
	"testing"
	"time"

	"github.com/kvsuite/kv/backend-rqlite/rqlitetest"
)

// The rqlite the tests run against, chosen once per run (see TestMain):
//   - KV_TEST_RQLITE_URL, if set: a server someone runs (its tables are
//     dropped before each test that needs an empty store);
//   - else an rqlited found on PATH, started here on loopback as a single
//     node in a temporary directory;
//   - else rqlitetest, the project's stand-in, one new server per test.
var (
	serverKind string // "env", "rqlited" or "rqlitetest"
	sharedURL  string // for env and rqlited
	rqlitedBin string // rqlited's path, when found
)

func TestMain(m *testing.M) {
	os.Exit(runTests(m))
}

func runTests(m *testing.M) int {
	if u := os.Getenv("KV_TEST_RQLITE_URL"); u != "" {
		serverKind, sharedURL = "env", u
		cfg, err := parseConnString(u)
		if err != nil {
			fmt.Fprintln(os.Stderr, "rqlitekv tests: KV_TEST_RQLITE_URL:", err)
			return 2
		}
		fmt.Printf("rqlitekv tests: using the rqlite server of KV_TEST_RQLITE_URL (%s)\n", cfg.redactedString())
		return m.Run()
	}
	if p, err := exec.LookPath("rqlited"); err == nil {
		rqlitedBin = p
		dir, err := os.MkdirTemp("", "rqlitekv-test-")
		if err != nil {
			fmt.Fprintln(os.Stderr, "rqlitekv tests:", err)
			return 2
		}
		defer os.RemoveAll(dir)
		n, err := rqlitetest.StartNode(rqlitedBin, dir, "node1", "")
		if err != nil {
			fmt.Fprintln(os.Stderr, "rqlitekv tests: starting rqlited:", err)
			return 2
		}
		defer n.Stop()
		serverKind, sharedURL = "rqlited", n.URL()
		fmt.Printf("rqlitekv tests: using a real rqlited (%s) started at %s\n", p, n.URL())
		return m.Run()
	}
	serverKind = "rqlitetest"
	fmt.Println("rqlitekv tests: no KV_TEST_RQLITE_URL and no rqlited on PATH: using rqlitetest, the in-process STAND-IN for rqlite (not a real rqlite)")
	return m.Run()
}

// serverURL returns the URL of an rqlite whose database the caller may
// use: a fresh rqlitetest server, or the shared real server.
func serverURL(t testing.TB) string {
	t.Helper()
	if serverKind == "rqlitetest" {
		return rqlitetest.Start(t).URL
	}
	return sharedURL
}

// openEmpty opens a DB on an empty, initialised database: a new rqlitetest
// server, or the shared real server with every table of the schema dropped
// first.
func openEmpty(t testing.TB, opts ...Option) *DB {
	t.Helper()
	// Large batches under the race detector can take longer than the
	// default 10s per request.
	opts = append([]Option{WithTimeout(2 * time.Minute)}, opts...)
	db, err := Open(serverURL(t), opts...)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { db.Close() })
	ctx := context.Background()
	if serverKind != "rqlitetest" {
		dropAll(t, db)
	}
	if err := db.Init(ctx); err != nil {
		t.Fatal(err)
	}
	return db
}

// dropAll drops the schema's tables in one request.
func dropAll(t testing.TB, db *DB) {
	t.Helper()
	var stmts []string
	for _, tbl := range []string{"records", "stream", "leases", "stream_meta", "consumers", "tasks", "schedules", "schema_migrations", "guard", "raw_kv"} {
		stmts = append(stmts, "DROP TABLE IF EXISTS "+tbl)
	}
	if _, err := db.conn.WriteContext(context.Background(), stmts); err != nil {
		t.Fatalf("dropping tables: %v", err)
	}
}
