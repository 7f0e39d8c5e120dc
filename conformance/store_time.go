package conformance

import (
	"context"
	"encoding/json"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"github.com/kvsuite/kv/kvcore"
)

func testExpiry(t *testing.T, f BackendFactory) {
	ctx := context.Background()
	s := newEnv(t, f)
	t0 := s.clock.Now()
	require.NoError(t, s.Put(ctx, "ttl/a", -1, Person{Name: "a"}, kvcore.WithTTL(10*time.Second)))
	require.NoError(t, s.Put(ctx, "ttl/b", -1, Person{Name: "b"}))
	r, err := s.GetRecord(ctx, "ttl/a")
	require.NoError(t, err)
	require.NotNil(t, r.Expires)
	require.True(t, r.Expires.Equal(t0.Add(10*time.Second)), "expires %v", r.Expires)

	s.clock.Advance(9 * time.Second)
	requireVisible(t, s.Store, "ttl/a", true)

	s.clock.Advance(time.Second) // expiry is exclusive: at the instant it is gone
	requireVisible(t, s.Store, "ttl/a", false)
	rs, err := s.GetBatch(ctx, "ttl/a", "ttl/b")
	require.NoError(t, err)
	require.Equal(t, []string{"ttl/b"}, keysOf(rs))
	for name, read := range map[string]func() ([]kvcore.Record, error){
		"List":      func() ([]kvcore.Record, error) { return s.List(ctx, 0, 0) },
		"GetPrefix": func() ([]kvcore.Record, error) { return s.GetPrefix(ctx, "ttl/", 0, 0) },
		"GetRange":  func() ([]kvcore.Record, error) { return s.GetRange(ctx, "ttl/", "ttl0", 0, 0) },
		"GetType":   func() ([]kvcore.Record, error) { return s.GetType(ctx, "Person", 0, 0) },
	} {
		rs, err := read()
		require.NoError(t, err)
		require.Equal(t, []string{"ttl/b"}, keysOf(rs), name)
	}
	for r, err := range s.All(ctx) {
		require.NoError(t, err)
		require.Equal(t, "ttl/b", r.Key)
	}
	requireCount(t, s.Store, 1)
	n, err := s.CountPrefix(ctx, "ttl/")
	require.NoError(t, err)
	require.Equal(t, 1, n)

	// An expired record is absent for writes.
	n, err = s.Delete(ctx, "ttl/a")
	require.NoError(t, err)
	require.Equal(t, 0, n)
	require.ErrorIs(t, s.Put(ctx, "ttl/a", 1, json.RawMessage(`1`)), kvcore.ErrVersionMismatch)
	require.NoError(t, s.Put(ctx, "ttl/a", 0, json.RawMessage(`{"again":true}`)))
	r, err = s.GetRecord(ctx, "ttl/a")
	require.NoError(t, err)
	require.Equal(t, int64(1), r.Version)
	require.True(t, r.Created.Equal(s.clock.Now()), "a put over an expired record is a create")
	require.Nil(t, r.Expires)

	// Patch keeps the expiry unless given a TTL; Put without a TTL clears it.
	require.NoError(t, s.Put(ctx, "p", -1, json.RawMessage(`{"a":1}`), kvcore.WithTTL(time.Minute)))
	exp := s.clock.Now().Add(time.Minute)
	require.NoError(t, s.Patch(ctx, "p", -1, json.RawMessage(`{"b":1}`)))
	r, err = s.GetRecord(ctx, "p")
	require.NoError(t, err)
	require.True(t, r.Expires != nil && r.Expires.Equal(exp), "patch keeps expiry")
	require.NoError(t, s.Patch(ctx, "p", -1, json.RawMessage(`{"c":1}`), kvcore.WithTTL(time.Hour)))
	r, err = s.GetRecord(ctx, "p")
	require.NoError(t, err)
	require.True(t, r.Expires.Equal(s.clock.Now().Add(time.Hour)))
	require.NoError(t, s.Put(ctx, "p", -1, json.RawMessage(`{}`)))
	r, err = s.GetRecord(ctx, "p")
	require.NoError(t, err)
	require.Nil(t, r.Expires)

	// Touch extends without changing value or version; 0 removes the expiry.
	require.NoError(t, s.Put(ctx, "t", -1, json.RawMessage(`"v"`), kvcore.WithTTL(10*time.Second)))
	s.clock.Advance(5 * time.Second)
	require.NoError(t, s.Touch(ctx, "t", 20*time.Second))
	s.clock.Advance(15 * time.Second)
	requireVisible(t, s.Store, "t", true)
	requireValue(t, s.Store, "t", `"v"`, 1)
	require.NoError(t, s.Touch(ctx, "t", 0))
	s.clock.Advance(24 * time.Hour)
	requireVisible(t, s.Store, "t", true)
	require.ErrorIs(t, s.Touch(ctx, "missing", time.Second), kvcore.ErrNotFound)
	require.ErrorIs(t, s.Touch(ctx, "t", -time.Second), kvcore.ErrInvalidArgument)
	_, err = s.MutateAll(ctx, kvcore.Touch("t", 2, time.Second))
	require.ErrorIs(t, err, kvcore.ErrVersionMismatch)
}

func testSweep(t *testing.T, f BackendFactory) {
	ctx := context.Background()
	s := newEnv(t, f)
	other, err := s.Namespace("other")
	require.NoError(t, err)
	for i := 0; i < 30; i++ {
		require.NoError(t, s.Put(ctx, "s/"+string(rune('a'+i%26))+string(rune('0'+i/26)), -1, json.RawMessage(`1`), kvcore.WithTTL(time.Second)))
	}
	require.NoError(t, other.Put(ctx, "o", -1, json.RawMessage(`1`), kvcore.WithTTL(time.Second)))
	require.NoError(t, s.Put(ctx, "stays", -1, json.RawMessage(`1`)))
	require.NoError(t, s.Put(ctx, "later", -1, json.RawMessage(`1`), kvcore.WithTTL(time.Hour)))

	n, err := s.Sweep(ctx)
	require.NoError(t, err)
	require.Equal(t, int64(0), n, "nothing has expired yet")
	s.clock.Advance(2 * time.Second)
	n, err = s.Sweep(ctx)
	require.NoError(t, err)
	require.Equal(t, int64(31), n, "sweep covers every namespace")
	n, err = s.Sweep(ctx)
	require.NoError(t, err)
	require.Equal(t, int64(0), n)
	requireCount(t, s.Store, 2)
	requireCount(t, other, 0)
}

// testSweepBadLimit: the driver's Sweep refuses a limit that is not
// positive with an error wrapping kvcore.ErrInvalidArgument, and removes
// nothing (the front always passes a positive limit, so this speaks to the
// driver directly).
func testSweepBadLimit(t *testing.T, f BackendFactory) {
	ctx := context.Background()
	s := newEnv(t, f)
	require.NoError(t, s.Put(ctx, "gone", -1, json.RawMessage(`1`), kvcore.WithTTL(time.Second)))
	s.clock.Advance(2 * time.Second)
	for _, limit := range []int{0, -1} {
		n, err := s.driver.Sweep(ctx, s.clock.Now(), limit)
		require.ErrorIs(t, err, kvcore.ErrInvalidArgument, "limit %d", limit)
		require.Equal(t, int64(0), n, "limit %d", limit)
	}
	n, err := s.Sweep(ctx)
	require.NoError(t, err)
	require.Equal(t, int64(1), n, "the refused sweeps removed nothing")
}

// testTimeZones checks that no result depends on the zone of the times the
// clock gives (the process's own zone is varied by running the whole suite
// under a non-UTC TZ, as scripts/test does).
func testTimeZones(t *testing.T, f BackendFactory) {
	ctx := context.Background()
	base := time.Date(2031, 3, 30, 1, 30, 0, 0, time.UTC) // near DST changes
	for _, zone := range []*time.Location{time.UTC, time.FixedZone("UTC+13:45", 13*3600+45*60), time.FixedZone("UTC-11", -11*3600), time.Local} {
		s := newEnv(t, f)
		s.clock = NewClock(base.In(zone))
		s.SetNow(s.clock.Now)
		require.NoError(t, s.Put(ctx, "k", -1, json.RawMessage(`1`), kvcore.WithTTL(90*time.Minute)))
		r, err := s.GetRecord(ctx, "k")
		require.NoError(t, err)
		require.Equal(t, time.UTC, r.Created.Location(), zone.String())
		require.True(t, r.Created.Equal(base), "%s: created %v", zone, r.Created)
		require.Equal(t, base, r.Created, "%s", zone)
		require.Equal(t, base.Add(90*time.Minute), *r.Expires, "%s", zone)
		s.clock.Advance(89 * time.Minute)
		requireVisible(t, s.Store, "k", true)
		s.clock.Advance(time.Minute)
		requireVisible(t, s.Store, "k", false)
	}
}

func requireVisible(t *testing.T, s *kvcore.Store, key string, want bool) {
	t.Helper()
	_, ok, err := s.Get(context.Background(), key, nil)
	require.NoError(t, err)
	require.Equal(t, want, ok, "visibility of %q", key)
}
