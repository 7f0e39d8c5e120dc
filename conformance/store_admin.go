package conformance

import (
	"context"
	"fmt"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"github.com/kvsuite/kv/kvcore"
	"github.com/kvsuite/kv/kvcore/driver"
)

// The optional interfaces are tested when the driver implements them and
// skipped (saying so) otherwise. kv's own backends assert at compile time
// that they implement each one, so for them these tests always run.

// testNamespaceList: Store.Namespaces lists the namespaces that hold a live
// record, in byte order, from the empty store on; expired and deleted
// records do not count.
func testNamespaceList(t *testing.T, f BackendFactory) {
	ctx := context.Background()
	s := newEnv(t, f)
	if _, ok := s.driver.(driver.NamespaceLister); !ok {
		t.Skipf("SKIP: the driver (%T) does not implement the optional driver.NamespaceLister", s.driver)
	}
	list := func() []string {
		t.Helper()
		ns, err := s.Namespaces(ctx)
		require.NoError(t, err)
		return ns
	}
	require.Equal(t, []string{}, list(), "an empty store")

	put := func(ns, key string, opts ...kvcore.WriteOption) {
		t.Helper()
		v, err := s.Namespace(ns)
		require.NoError(t, err)
		require.NoError(t, v.Put(ctx, key, -1, 1, opts...))
	}
	// Byte order, not a locale's: "" < "A" < "a" < "b" < "b\u00e9" < "\u00fc".
	for _, ns := range []string{"\u00fc", "b", "a", "", "A", "b\u00e9"} {
		put(ns, "k1")
		put(ns, "k2")
	}
	put("temp", "k", kvcore.WithTTL(time.Minute))
	put("mixed", "gone", kvcore.WithTTL(time.Minute))
	put("mixed", "stays")
	want := []string{"", "A", "a", "b", "b\u00e9", "mixed", "temp", "\u00fc"}
	require.Equal(t, want, list())

	// Expired (not yet swept) records do not count; a live one does.
	s.clock.Advance(2 * time.Minute)
	want = []string{"", "A", "a", "b", "b\u00e9", "mixed", "\u00fc"}
	require.Equal(t, want, list())

	// A namespace whose records are all deleted is gone.
	b, err := s.Namespace("b")
	require.NoError(t, err)
	_, err = b.DeleteAll(ctx)
	require.NoError(t, err)
	require.Equal(t, []string{"", "A", "a", "b\u00e9", "mixed", "\u00fc"}, list())

	// Many namespaces, some only expired: each live one exactly once.
	var many []string
	for i := range 40 {
		ns := fmt.Sprintf("n%02d", i)
		if i%3 == 0 {
			put(ns, "x", kvcore.WithTTL(time.Second))
			continue
		}
		put(ns, "x")
		put(ns, "y")
		many = append(many, ns)
	}
	s.clock.Advance(time.Minute)
	got := list()
	require.Equal(t, append([]string{"", "A", "a", "b\u00e9", "mixed"}, append(many, "\u00fc")...), got)
}

// testSchemaVersion: Store.SchemaVersion reports the applied version, which
// after Init is the version the driver needs, and Init again changes
// nothing.
func testSchemaVersion(t *testing.T, f BackendFactory) {
	ctx := context.Background()
	s := newEnv(t, f)
	if _, ok := s.driver.(driver.SchemaVersioner); !ok {
		t.Skipf("SKIP: the driver (%T) does not implement the optional driver.SchemaVersioner", s.driver)
	}
	applied, required, err := s.SchemaVersion(ctx)
	require.NoError(t, err)
	require.Positive(t, required, "the version the driver needs")
	require.Equal(t, required, applied, "an initialised store has the version the driver needs")
	require.NoError(t, s.Init(ctx))
	a2, r2, err := s.SchemaVersion(ctx)
	require.NoError(t, err)
	require.Equal(t, []int{applied, required}, []int{a2, r2}, "Init on a current schema changes nothing")
}
