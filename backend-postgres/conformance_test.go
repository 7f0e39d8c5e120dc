package postgreskv_test

import (
	"testing"

	"github.com/jackc/pgx/v5/pgxpool"

	"github.com/kvsuite/kv/conformance"
	"github.com/kvsuite/kv/kvcore/driver"
)

// TestConformance runs kv's store suite; every call of the factory gets a
// fresh schema of the test database, dropped when its test ends.
func TestConformance(t *testing.T) {
	needServer(t)
	conformance.RunStore(t, func(t *testing.T) driver.Store { return newDB(t) })
}

// TestConformanceSimpleProtocol runs the suite on a pool that uses the
// simple query protocol (as behind PgBouncer in transaction mode), where a
// batch is one multi-statement query string: still one implicit transaction.
func TestConformanceSimpleProtocol(t *testing.T) {
	pool := newPool(t, simpleProtocol)
	conformance.RunStore(t, func(t *testing.T) driver.Store { return newDBOn(t, pool) })
}

// backend is the conformance factory over fresh schemas of the test
// database on the shared pool.
func backend(t *testing.T) conformance.Backend { return backendOn(testPool)(t) }

// backendOn is the conformance factory over fresh schemas of pool's
// database.
func backendOn(pool *pgxpool.Pool) conformance.BackendFactory {
	return func(t *testing.T) conformance.Backend {
		db := newDBOn(t, pool)
		return conformance.Backend{Store: db, Locker: db, Stream: db, Queue: db}
	}
}

// TestQueueConformance runs kvtask's suite (claims, leases, fencing,
// retries, unique keys, cron schedules, runners woken by notifications).
func TestQueueConformance(t *testing.T) {
	needServer(t)
	conformance.RunQueue(t, backend)
}

// TestConformanceLocker runs kvlock's suite (leases, tokens, fenced writes).
func TestConformanceLocker(t *testing.T) {
	needServer(t)
	conformance.RunLocker(t, backend)
}

// TestConformanceStream runs kvstream's suite (entries, trimming, consumers,
// gap-free reads under concurrent writers, notification).
func TestConformanceStream(t *testing.T) {
	needServer(t)
	conformance.RunStream(t, backend)
}

// TestConformanceSimpleProtocolStream runs the lock, stream and queue suites on a
// simple-protocol pool: the sequencer's batch is then one multi-statement
// query string.
func TestConformanceSimpleProtocolStream(t *testing.T) {
	f := backendOn(newPool(t, simpleProtocol))
	t.Run("Locker", func(t *testing.T) { conformance.RunLocker(t, f) })
	t.Run("Stream", func(t *testing.T) { conformance.RunStream(t, f) })
	t.Run("Queue", func(t *testing.T) { conformance.RunQueue(t, f) })
}
