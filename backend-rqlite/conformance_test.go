package rqlitekv

import (
	"testing"

	"github.com/kvsuite/kv/conformance"
	"github.com/kvsuite/kv/kvcore/driver"
)

// TestConformance runs the kvcore suite against the chosen rqlite server
// (see TestMain); each test gets an isolated, empty, initialised store.
func TestConformance(t *testing.T) {
	t.Logf("server: %s", serverKind)
	conformance.RunStore(t, func(t *testing.T) driver.Store {
		return openEmpty(t)
	})
}

// backend is the conformance Backend over one empty, initialised database.
func backend(t *testing.T) conformance.Backend {
	db := openEmpty(t)
	return conformance.Backend{Store: db, Locker: db, Stream: db, Queue: db}
}

// TestLockerConformance runs the kvlock suite against the chosen server.
func TestLockerConformance(t *testing.T) {
	t.Logf("server: %s", serverKind)
	conformance.RunLocker(t, backend)
}

// TestStreamConformance runs the kvstream suite against the chosen server.
// The driver has no Notifier: consumers poll (the suite's Run test polls
// every 50ms at most).
func TestStreamConformance(t *testing.T) {
	t.Logf("server: %s", serverKind)
	conformance.RunStream(t, backend)
}

// TestQueueConformance runs the kvtask suite against the chosen server.
// The driver has no Notifier: runners poll.
func TestQueueConformance(t *testing.T) {
	t.Logf("server: %s", serverKind)
	conformance.RunQueue(t, backend)
}
