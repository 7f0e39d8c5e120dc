package conformance

import (
	"context"
	"encoding/json"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"github.com/kvsuite/kv/kvcore"
	"github.com/kvsuite/kv/kvlock"
)

// testTimeBounds: the backend stores the earliest and the latest times kv
// accepts (kvcore.MinTime, kvcore.MaxTime) exactly, as created, updated and
// expiry times and as the clock's reading; the front refuses times past
// them, and nothing is written.
func testTimeBounds(t *testing.T, f BackendFactory) {
	ctx := context.Background()
	s := newEnv(t, f)
	min, max := kvcore.MinTime, kvcore.MaxTime
	exp := max
	in := kvcore.Record{Key: "r", Version: 3, Value: json.RawMessage(`1`), Type: "T", Created: min, Updated: max, Expires: &exp}
	require.NoError(t, s.Restore(ctx, in))
	got, err := s.GetRecord(ctx, "r")
	require.NoError(t, err)
	require.Equal(t, in, got, "the bounds are stored exactly")

	require.NoError(t, s.Put(ctx, "p", -1, 1, kvcore.WithExpiry(max)))
	p, err := s.GetRecord(ctx, "p")
	require.NoError(t, err)
	require.Equal(t, max, *p.Expires)

	past := max.Add(time.Microsecond)
	require.ErrorIs(t, s.Put(ctx, "x", -1, 1, kvcore.WithExpiry(past)), kvcore.ErrInvalidArgument)
	require.ErrorIs(t, s.Put(ctx, "x", -1, 1, kvcore.WithExpiry(time.Date(294277, 1, 1, 0, 0, 0, 0, time.UTC))), kvcore.ErrInvalidArgument)
	bad := in
	bad.Key, bad.Updated = "x", past
	require.ErrorIs(t, s.Restore(ctx, bad), kvcore.ErrInvalidArgument)
	requireVisible(t, s.Store, "x", false)

	// A clock at the latest time writes, and the record lives until its
	// expiry at that very time.
	s.clock.Set(max.Add(-time.Hour))
	require.NoError(t, s.Put(ctx, "late", -1, 1, kvcore.WithTTL(time.Hour)))
	late, err := s.GetRecord(ctx, "late")
	require.NoError(t, err)
	require.Equal(t, max, *late.Expires)
	require.ErrorIs(t, s.Put(ctx, "x", -1, 1, kvcore.WithTTL(time.Hour+time.Microsecond)), kvcore.ErrInvalidArgument)
	s.clock.Advance(time.Hour)
	require.Equal(t, max, s.Now())
	require.NoError(t, s.Put(ctx, "last", -1, 1))
	last, err := s.GetRecord(ctx, "last")
	require.NoError(t, err)
	require.Equal(t, []time.Time{max, max}, []time.Time{last.Created, last.Updated})
	requireVisible(t, s.Store, "late", false)
	s.clock.Advance(time.Microsecond)
	require.ErrorIs(t, s.Put(ctx, "x", -1, 1), kvcore.ErrInvalidArgument, "a clock past the latest time writes nothing")
	requireVisible(t, s.Store, "x", false)
}

// testLockTimeBounds: a lease that ends at the latest time kv stores is
// stored exactly; one that would end later is refused.
func testLockTimeBounds(t *testing.T, f BackendFactory) {
	ctx := context.Background()
	e := newLockEnv(t, f)
	max := kvcore.MaxTime
	e.clock.Set(max.Add(-time.Hour))
	now := e.clock.Now()
	le, ok, err := e.locker.Acquire(ctx, "late", "alice", time.Hour)
	require.NoError(t, err)
	require.True(t, ok)
	require.Equal(t, kvlock.Lease{Name: "late", Owner: "alice", Token: 1, Expires: max, Acquired: now}, le)
	st, held, err := e.locker.Status(ctx, "late")
	require.NoError(t, err)
	require.True(t, held)
	require.Equal(t, le, st, "stored exactly")
	_, _, err = e.locker.Acquire(ctx, "later", "alice", time.Hour+time.Microsecond)
	require.ErrorIs(t, err, kvlock.ErrInvalidArgument)
	_, held, err = e.locker.Status(ctx, "later")
	require.NoError(t, err)
	require.False(t, held)
}
