// Package conformance holds the suites that prove a backend implements kv's
// semantics. Every backend's tests run them against a real server; a
// third-party backend can run them the same way:
//
//	func TestConformance(t *testing.T) {
//		conformance.RunStore(t, func(t *testing.T) driver.Store {
//			return openEmptyInitialisedDriver(t)
//		})
//	}
package conformance

import (
	"sync"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"github.com/kvsuite/kv/kvcore"
	"github.com/kvsuite/kv/kvcore/driver"
)

// StoreFactory returns an isolated, empty driver whose schema is initialised.
// It is called once per test; the test registers nothing to close it, so the
// factory should use t.Cleanup.
type StoreFactory func(t *testing.T) driver.Store

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

// env is what each store test gets: the store over a fresh driver, its
// clock, and the driver itself.
type env struct {
	*kvcore.Store
	clock  *Clock
	driver driver.Store
}

func newEnv(t *testing.T, factory StoreFactory, opts ...kvcore.Option) env {
	t.Helper()
	d := factory(t)
	clock := NewClock(time.Time{})
	opts = append([]kvcore.Option{kvcore.WithClock(clock.Now), kvcore.WithSweepInterval(0)}, opts...)
	s, err := kvcore.New(d, opts...)
	require.NoError(t, err)
	t.Cleanup(func() { _ = s.Close() })
	return env{Store: s, clock: clock, driver: d}
}

// RunStore runs the kvcore suite: every rule the README states for keys, values,
// versions, reads, pagination, namespaces, expiry, time and concurrency.
func RunStore(t *testing.T, factory StoreFactory) {
	tests := []struct {
		name string
		run  func(t *testing.T, f StoreFactory)
	}{
		{"PutGet", testPutGet},
		{"Update", testUpdate},
		{"Versions", testVersions},
		{"Patch", testPatch},
		{"Precision", testPrecision},
		{"BadKeys", testBadKeys},
		{"BadValues", testBadValues},
		{"LargeValue", testLargeValue},
		{"Ordering", testOrdering},
		{"Prefix", testPrefix},
		{"Range", testRange},
		{"Pagination", testPagination},
		{"Iterators", testIterators},
		{"Types", testTypes},
		{"GetBatch", testGetBatch},
		{"Delete", testDelete},
		{"DeletePrefixRange", testDeletePrefixRange},
		{"MutateAll", testMutateAll},
		{"MutateAllLarge", testMutateAllLarge},
		{"Namespaces", testNamespaces},
		{"NamespaceList", testNamespaceList},
		{"SchemaVersion", testSchemaVersion},
		{"Snapshot", testSnapshot},
		{"Expiry", testExpiry},
		{"Sweep", testSweep},
		{"SweepBadLimit", testSweepBadLimit},
		{"Restore", testRestore},
		{"VersionLimit", testVersionLimit},
		{"TimeBounds", testTimeBounds},
		{"LiteralText", testLiteralText},
		{"TimeZones", testTimeZones},
		{"Fence", testFence},
		{"Typed", testTyped},
		{"Canceled", testCanceled},
		{"ConcurrentCAS", testConcurrentCAS},
		{"ConcurrentPatch", testConcurrentPatch},
		{"ConcurrentWriters", testConcurrentWriters},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) { tc.run(t, factory) })
	}
}
