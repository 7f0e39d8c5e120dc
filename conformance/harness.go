// Package conformance holds the suites that prove a backend implements kv's
// semantics: RunStore (kvcore), RunLocker (kvlock), RunStream (kvstream),
// RunQueue (kvtask), each in the files named after it (store*.go,
// locker*.go, stream*.go, queue*.go), and Run for all of them. Every
// backend's tests run them against a real server through one Harness; a
// third-party backend can run them the same way:
//
//	func TestConformance(t *testing.T) {
//		conformance.Run(t, conformance.Harness{
//			New: func(tb testing.TB) conformance.Backend {
//				db := openEmptyInitialisedDB(tb)
//				return conformance.Backend{Store: db, Locker: db, Stream: db, Queue: db}
//			},
//			Uninitialised: func(tb testing.TB) conformance.Backend { ... },
//		})
//	}
//
// RunBenchmarks holds the benchmarks every backend shares.
package conformance

import (
	"sync"
	"testing"
	"time"

	coredriver "github.com/kvsuite/kv/kvcore/driver"
	lockdriver "github.com/kvsuite/kv/kvlock/driver"
	streamdriver "github.com/kvsuite/kv/kvstream/driver"
	taskdriver "github.com/kvsuite/kv/kvtask/driver"
)

// Backend is one isolated, empty database seen through each SPI the
// backend implements (RunStore needs only Store; RunLocker Store and
// Locker; RunStream also Stream; RunQueue all four).
type Backend struct {
	Store  coredriver.Store
	Locker lockdriver.Locker
	Stream streamdriver.Stream
	Queue  taskdriver.Queue
}

// BackendFactory returns a fresh Backend for one test or benchmark. It is
// called once per test; the test registers nothing to close it, so the
// factory should use tb.Cleanup.
type BackendFactory func(tb testing.TB) Backend

// Harness is what the suites need of a backend.
type Harness struct {
	// New returns an isolated, empty database whose schema Init has
	// made. Required.
	New BackendFactory
	// Uninitialised returns an isolated, empty database on which Init has
	// not run, for the case that every call before Init fails with
	// ErrNotInitialized and Init then makes the schema. Without it that
	// case skips, saying so.
	Uninitialised BackendFactory
}

// Run runs every suite on h: RunStore, RunLocker, RunStream and RunQueue,
// each as a subtest named after its suite (Store, Locker, Stream, Queue).
func Run(t *testing.T, h Harness) {
	t.Run("Store", func(t *testing.T) { RunStore(t, h) })
	t.Run("Locker", func(t *testing.T) { RunLocker(t, h) })
	t.Run("Stream", func(t *testing.T) { RunStream(t, h) })
	t.Run("Queue", func(t *testing.T) { RunQueue(t, h) })
}

// Clock is a settable clock for tests. Its zero value starts at a fixed
// instant; it is safe for concurrent use.
type Clock struct {
	mu  sync.Mutex
	now time.Time
}

// NewClock returns a clock that reads t.
func NewClock(t time.Time) *Clock { return &Clock{now: t} }

// Now returns the clock's reading.
func (c *Clock) Now() time.Time {
	c.mu.Lock()
	defer c.mu.Unlock()
	if c.now.IsZero() {
		c.now = time.Date(2030, 1, 2, 3, 4, 5, 123456000, time.UTC)
	}
	return c.now
}

// Set sets the clock to t.
func (c *Clock) Set(t time.Time) {
	c.mu.Lock()
	c.now = t
	c.mu.Unlock()
}

// Advance moves the clock forward by d.
func (c *Clock) Advance(d time.Duration) {
	now := c.Now()
	c.mu.Lock()
	c.now = now.Add(d)
	c.mu.Unlock()
}
