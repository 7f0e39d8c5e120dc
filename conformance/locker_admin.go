package conformance

import (
	"context"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"github.com/kvsuite/kv/kvlock"
	lockdriver "github.com/kvsuite/kv/kvlock/driver"
)

// testLockList: Locker.Leases lists the leases held now, by name, under a
// prefix compared byte-wise; released and expired leases are left out.
func testLockList(t *testing.T, f BackendFactory) {
	ctx := context.Background()
	b := f(t)
	if _, ok := b.Locker.(lockdriver.LeaseLister); !ok {
		t.Skipf("SKIP: the locker (%T) does not implement the optional kvlock/driver.LeaseLister", b.Locker)
	}
	clock := NewClock(time.Time{})
	l, err := kvlock.New(b.Locker, kvlock.WithClock(clock.Now))
	require.NoError(t, err)
	list := func(prefix string) []kvlock.Lease {
		t.Helper()
		ls, err := l.Leases(ctx, prefix)
		require.NoError(t, err)
		return ls
	}
	require.Equal(t, []kvlock.Lease{}, list(""), "no leases yet")

	acquire := func(name, owner string, d time.Duration) kvlock.Lease {
		t.Helper()
		le, ok, err := l.Acquire(ctx, name, owner, d)
		require.NoError(t, err)
		require.True(t, ok)
		return le
	}
	jobB := acquire("job/b", "bob", 2*time.Minute)
	jobA := acquire("job/a", "alice", time.Minute)
	other := acquire("other", "carol", time.Minute)
	job0 := acquire("job0", "dan", time.Minute) // '0' sorts after '/': not under "job/"
	acc := acquire("job/\u00e9", "eve", time.Minute)
	acquire("job/released", "frank", time.Minute)
	ok, err := l.Release(ctx, "job/released", "frank")
	require.NoError(t, err)
	require.True(t, ok)
	acquire("job/short", "gina", time.Second)
	// The same owner extends: still one lease, token kept.
	jobA = acquire("job/a", "alice", 3*time.Minute)
	require.Equal(t, int64(1), jobA.Token)

	clock.Advance(2 * time.Second) // job/short expires
	require.Equal(t, []kvlock.Lease{jobA, jobB, acc, job0, other}, list(""))
	require.Equal(t, []kvlock.Lease{jobA, jobB, acc}, list("job/"))
	require.Equal(t, []kvlock.Lease{jobA}, list("job/a"))
	require.Equal(t, []kvlock.Lease{}, list("jobz"))
	require.Equal(t, []kvlock.Lease{}, list("job/short"), "an expired lease is not held")
	require.Equal(t, []kvlock.Lease{}, list("job/released"), "a released lease is not held")

	// A lease taken again after it expired is listed with its new owner.
	clock.Advance(90 * time.Second) // job/b (2m) still held; the 1m leases expire; job/a (3m) held
	again := acquire("other", "hank", time.Minute)
	require.Equal(t, int64(2), again.Token)
	require.Equal(t, []kvlock.Lease{jobA, jobB, again}, list(""))

	_, err = l.Leases(ctx, "bad\x00prefix")
	require.ErrorIs(t, err, kvlock.ErrInvalidArgument)
}
