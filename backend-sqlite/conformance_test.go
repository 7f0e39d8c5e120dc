package sqlitekv_test

import (
	"context"
	"path/filepath"
	"testing"

	"github.com/kvsuite/kv/conformance"

	sqlitekv "github.com/kvsuite/kv/backend-sqlite"
)

// openInit opens a fresh database with Open(dsn), runs Init and closes it
// at the end of the test.
func openInit(t testing.TB, dsn string, opts ...sqlitekv.Option) *sqlitekv.DB {
	t.Helper()
	db, err := sqlitekv.Open(dsn, opts...)
	if err != nil {
		t.Fatalf("Open: %v", err)
	}
	t.Cleanup(func() { _ = db.Close() })
	if err := db.Init(context.Background()); err != nil {
		t.Fatalf("Init: %v", err)
	}
	return db
}

// harness is the conformance harness over fresh databases at the DSN
// dsn returns for each test.
func harness(dsn func(t testing.TB) string) conformance.Harness {
	all := func(db *sqlitekv.DB) conformance.Backend {
		return conformance.Backend{Store: db, Locker: db, Stream: db, Queue: db}
	}
	return conformance.Harness{
		New: func(t testing.TB) conformance.Backend { return all(openInit(t, dsn(t))) },
		Uninitialised: func(t testing.TB) conformance.Backend {
			db, err := sqlitekv.Open(dsn(t))
			if err != nil {
				t.Fatalf("Open: %v", err)
			}
			t.Cleanup(func() { _ = db.Close() })
			return all(db)
		},
	}
}

// fileDSN is a new database file in t's temporary directory.
func fileDSN(t testing.TB) string { return "file:" + filepath.Join(t.TempDir(), "kv.db") + "?mode=rwc" }

// TestConformanceFile runs every suite on database files. It runs in
// parallel with TestConformanceMemory: each test has a database of its own.
func TestConformanceFile(t *testing.T) {
	t.Parallel()
	conformance.Run(t, harness(fileDSN))
}

// TestConformanceMemory runs every suite on in-memory databases.
func TestConformanceMemory(t *testing.T) {
	t.Parallel()
	conformance.Run(t, harness(func(testing.TB) string { return ":memory:" }))
}

// BenchmarkConformance runs the benchmarks every backend shares
// (conformance.RunBenchmarks) on database files; bench_test.go has this
// backend's own, beside raw SQLite baselines.
func BenchmarkConformance(b *testing.B) { conformance.RunBenchmarks(b, harness(fileDSN)) }
