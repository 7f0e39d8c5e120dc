package conformance

import (
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"github.com/kvsuite/kv/kvcore"
	"github.com/kvsuite/kv/kvcore/driver"
)

// env is what each store test gets: the store over a fresh driver, its
// clock, and the driver itself.
type env struct {
	*kvcore.Store
	clock  *Clock
	driver driver.Store
}

func newEnv(t *testing.T, f BackendFactory, opts ...kvcore.Option) env {
	t.Helper()
	d := f(t).Store
	clock := NewClock(time.Time{})
	opts = append([]kvcore.Option{kvcore.WithClock(clock.Now), kvcore.WithSweepInterval(0)}, opts...)
	s, err := kvcore.New(d, opts...)
	require.NoError(t, err)
	t.Cleanup(func() { _ = s.Close() })
	return env{Store: s, clock: clock, driver: d}
}

// RunStore runs the kvcore suite: every rule the README states for keys, values,
// versions, reads, pagination, namespaces, expiry, time and concurrency.
func RunStore(t *testing.T, h Harness) {
	tests := []struct {
		name string
		run  func(t *testing.T, f BackendFactory)
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
		{"SnapshotWriteInside", testSnapshotWriteInside},
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
		t.Run(tc.name, func(t *testing.T) { tc.run(t, h.New) })
	}
	t.Run("NotInitialized", func(t *testing.T) { testNotInitialized(t, h.Uninitialised) })
}
