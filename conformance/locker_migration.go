package conformance

import (
	"context"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	lockdriver "github.com/kvsuite/kv/kvlock/driver"
)

// RunLeaseAcquiredMigration checks a backend's migration that stores
// leases' acquisition times: a lease held before it keeps being held, its
// acquisition time unknown (zero) through extensions, until it changes
// hands. l is an empty, initialised backend; remigrate takes its schema
// back to before that migration (dropping what it added and its version
// record) and runs Init again.
func RunLeaseAcquiredMigration(t *testing.T, l lockdriver.Locker, remigrate func(t *testing.T)) {
	ctx := context.Background()
	t0 := time.Date(2030, 1, 1, 0, 0, 0, 0, time.UTC)
	_, ok, err := l.Acquire(ctx, "job", "alice", t0, time.Minute)
	require.NoError(t, err)
	require.True(t, ok)
	remigrate(t)

	le, ok, err := l.Lease(ctx, "job")
	require.NoError(t, err)
	require.True(t, ok)
	require.Equal(t, []any{"alice", int64(1), true}, []any{le.Owner, le.Token, le.Acquired.IsZero()}, "held, acquired unknown")
	le, ok, err = l.Acquire(ctx, "job", "alice", t0.Add(time.Second), time.Minute)
	require.NoError(t, err)
	require.True(t, ok)
	require.Equal(t, []any{int64(1), true}, []any{le.Token, le.Acquired.IsZero()}, "extended: still unknown")
	t1 := t0.Add(time.Hour)
	le, ok, err = l.Acquire(ctx, "job", "bob", t1, time.Minute)
	require.NoError(t, err)
	require.True(t, ok)
	require.Equal(t, int64(2), le.Token)
	require.True(t, le.Acquired.Equal(t1), "taken over: acquired %v", le.Acquired)
}
