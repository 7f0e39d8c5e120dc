package postgreskv_test

import (
	"testing"

	"github.com/jackc/pgx/v5/pgxpool"

	postgreskv "github.com/kvsuite/kv/backend-postgres"
	"github.com/kvsuite/kv/conformance"
)

// harnessOn is the conformance harness over fresh schemas of pool's
// database, each dropped when its test ends.
func harnessOn(pool *pgxpool.Pool) conformance.Harness {
	all := func(db *postgreskv.DB) conformance.Backend {
		return conformance.Backend{Store: db, Locker: db, Stream: db, Queue: db}
	}
	return conformance.Harness{
		New: func(t testing.TB) conformance.Backend { return all(newDBOn(t, pool)) },
		Uninitialised: func(t testing.TB) conformance.Backend {
			db := postgreskv.New(pool, postgreskv.WithSchema(newSchemaName(t)))
			t.Cleanup(func() { _ = db.Close() }) // its notifier's session
			return all(db)
		},
	}
}

// TestConformance runs every suite (store, leases, stream and consumers,
// tasks) on the shared pool. The conformance runs of this package run in
// parallel with each other: each has databases or schemas of its own.
func TestConformance(t *testing.T) {
	t.Parallel()
	needServer(t)
	conformance.Run(t, harnessOn(testPool))
}

// TestConformanceSimpleProtocol runs every suite on a pool that uses the
// simple query protocol (as behind PgBouncer in transaction mode), where a
// batch (the sequencer's too) is one multi-statement query string: still
// one implicit transaction.
func TestConformanceSimpleProtocol(t *testing.T) {
	t.Parallel()
	conformance.Run(t, harnessOn(newPool(t, simpleProtocol)))
}

// BenchmarkConformance runs the benchmarks every backend shares
// (conformance.RunBenchmarks) on the shared pool; bench_test.go has this
// backend's own, beside raw pgx baselines.
func BenchmarkConformance(b *testing.B) {
	needServer(b)
	conformance.RunBenchmarks(b, harnessOn(testPool))
}
