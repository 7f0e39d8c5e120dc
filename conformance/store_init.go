package conformance

import (
	"context"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"github.com/kvsuite/kv/kvcore"
	coredriver "github.com/kvsuite/kv/kvcore/driver"
	streamdriver "github.com/kvsuite/kv/kvstream/driver"
)

// testNotInitialized: on a database whose schema Init has not made, every
// call of every SPI the backend implements fails with ErrNotInitialized
// (and writes nothing); Init then makes the schema, again without error,
// and the store works.
func testNotInitialized(t *testing.T, f BackendFactory) {
	if f == nil {
		t.Skip("SKIP: the harness has no Uninitialised factory")
	}
	ctx := context.Background()
	b := f(t)
	clock := NewClock(time.Time{})
	s, err := kvcore.New(b.Store, kvcore.WithClock(clock.Now), kvcore.WithSweepInterval(0))
	require.NoError(t, err)
	t.Cleanup(func() { _ = s.Close() })

	_, _, err = s.Get(ctx, "k", nil)
	require.ErrorIs(t, err, kvcore.ErrNotInitialized, "Get")
	require.ErrorIs(t, s.Put(ctx, "k", -1, 1), kvcore.ErrNotInitialized, "Put")
	_, err = s.Count(ctx)
	require.ErrorIs(t, err, kvcore.ErrNotInitialized, "Count")
	if b.Locker != nil {
		_, _, err := b.Locker.Acquire(ctx, "l", "me", clock.Now(), time.Minute)
		require.ErrorIs(t, err, coredriver.ErrNotInitialized, "Locker.Acquire")
	}
	if b.Stream != nil {
		_, _, _, err := b.Stream.Read(ctx, streamdriver.Query{Limit: 1})
		require.ErrorIs(t, err, coredriver.ErrNotInitialized, "Stream.Read")
		_, err = b.Stream.Consumers(ctx)
		require.ErrorIs(t, err, coredriver.ErrNotInitialized, "Stream.Consumers")
	}
	if b.Queue != nil {
		_, _, err := b.Queue.Get(ctx, "t")
		require.ErrorIs(t, err, coredriver.ErrNotInitialized, "Queue.Get")
		_, err = b.Queue.Schedules(ctx)
		require.ErrorIs(t, err, coredriver.ErrNotInitialized, "Queue.Schedules")
	}

	require.NoError(t, s.Init(ctx))
	require.NoError(t, s.Init(ctx), "Init is idempotent")
	_, ok, err := s.Get(ctx, "k", nil)
	require.NoError(t, err)
	require.False(t, ok, "the refused Put wrote nothing")
	require.NoError(t, s.Put(ctx, "k", -1, 1))
	var v int
	_, ok, err = s.Get(ctx, "k", &v)
	require.NoError(t, err)
	require.True(t, ok)
	require.Equal(t, 1, v)
}
