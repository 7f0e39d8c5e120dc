package rqlitekv

import (
	"testing"

	"github.com/kvsuite/kv/conformance"
)

// TestConformance runs every suite (store, leases, stream and consumers,
// tasks) against the chosen rqlite server (see TestMain); each test gets
// an isolated, empty database.
func TestConformance(t *testing.T) {
	t.Logf("server: %s", serverKind)
	conformance.Run(t, harness)
}

// harness is the conformance harness over empty databases of the chosen
// server.
var harness = conformance.Harness{
	New:           func(t testing.TB) conformance.Backend { return all(openEmpty(t)) },
	Uninitialised: func(t testing.TB) conformance.Backend { return all(openUninitialised(t)) },
}

// all is db seen through every SPI.
func all(db *DB) conformance.Backend {
	return conformance.Backend{Store: db, Locker: db, Stream: db, Queue: db}
}

// BenchmarkConformance runs the benchmarks every backend shares
// (conformance.RunBenchmarks) on the chosen server; bench_test.go has this
// backend's own, beside raw gorqlite baselines.
func BenchmarkConformance(b *testing.B) {
	b.Logf("server: %s", serverKind)
	conformance.RunBenchmarks(b, harness)
}
