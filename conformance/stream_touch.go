package conformance

import (
	"context"
	"fmt"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"github.com/kvsuite/kv/kvcore"
	"github.com/kvsuite/kv/kvstream"
)

// testStreamTouch: a Touch of a live record appends one touch entry (its
// namespace, key, type and unchanged version, no value, the time of the
// touch), in commit order with the other changes, and leaves the record's
// value and version alone; a Touch of a missing or expired key, or one
// whose version does not hold, appends nothing; a MutateAll appends one
// entry per touch of a live record, in op order.
func testStreamTouch(t *testing.T, f BackendFactory) {
	ctx := context.Background()
	e := newStreamEnv(t, f)
	other, err := e.store.Namespace("other")
	require.NoError(t, err)
	require.NoError(t, e.store.Put(ctx, "a", -1, 1, kvcore.WithType("T"), kvcore.WithTTL(time.Hour)))
	require.NoError(t, e.store.Put(ctx, "a", -1, 2, kvcore.WithType("T"), kvcore.WithTTL(time.Hour)))
	require.NoError(t, e.store.Put(ctx, "gone", -1, 0, kvcore.WithTTL(time.Second)))
	require.NoError(t, other.Put(ctx, "o", -1, 3, kvcore.WithType("O")))
	e.clock.Advance(time.Second) // "gone" has expired
	start := len(readAll(t, e.stream))

	touchedAt := e.clock.Now()
	require.NoError(t, e.store.Touch(ctx, "a", time.Minute))
	require.NoError(t, e.store.Put(ctx, "b", -1, 4))
	require.NoError(t, other.Touch(ctx, "o", time.Minute))
	require.NoError(t, e.store.Touch(ctx, "b", 0), "a touch that sets no expiry on a record without one")
	require.NoError(t, e.store.Touch(ctx, "a", 0), "a touch that clears the expiry")
	require.ErrorIs(t, e.store.Touch(ctx, "missing", time.Minute), kvcore.ErrNotFound)
	require.ErrorIs(t, e.store.Touch(ctx, "gone", time.Minute), kvcore.ErrNotFound, "an expired record counts as absent")
	_, err = e.store.MutateAll(ctx, kvcore.Touch("a", 9, time.Minute))
	require.ErrorIs(t, err, kvcore.ErrVersionMismatch)
	_, err = e.store.MutateAll(ctx, kvcore.Touch("b", 0, time.Minute))
	require.ErrorIs(t, err, kvcore.ErrVersionMismatch)

	rs := readAll(t, e.stream)[start:]
	require.Equal(t, []entry{
		{"touch", "a", 2, ``},
		{"create", "b", 1, `4`},
		{"touch", "o", 1, ``},
		{"touch", "b", 1, ``},
		{"touch", "a", 2, ``},
	}, entriesOf(rs), "one entry per touch of a live record, in commit order; none for misses and mismatches")
	first := rs[0]
	require.Equal(t, "", first.Namespace)
	require.Equal(t, "T", first.Type, "the entry carries the record's type")
	require.Nil(t, first.Value, "a touch entry has no value")
	require.True(t, first.Time.Equal(touchedAt), "the entry's time is the touch's: %v, want %v", first.Time, touchedAt)
	require.Equal(t, time.UTC, first.Time.Location())
	require.Equal(t, "other", rs[2].Namespace)
	require.Equal(t, "O", rs[2].Type)
	for i := 1; i < len(rs); i++ {
		require.Greater(t, rs[i].Seq, rs[i-1].Seq)
	}
	r, err := e.store.GetRecord(ctx, "a")
	require.NoError(t, err)
	require.Equal(t, int64(2), r.Version, "a touch keeps the version")
	require.JSONEq(t, `2`, string(r.Value), "a touch keeps the value")
	require.Nil(t, r.Expires, "the last touch cleared the expiry")

	// MutateAll: one entry per touch of a live record, in op order, among
	// the batch's other changes.
	mark := len(readAll(t, e.stream))
	n, err := e.store.MutateAll(ctx,
		kvcore.Touch("b", 1, time.Minute),
		kvcore.Put("c", -1, 5),
		kvcore.Touch("missing", -1, time.Minute),
		kvcore.Touch("a", -1, time.Minute),
		kvcore.Touch("c", 1, time.Minute))
	require.NoError(t, err)
	require.Equal(t, []int{1, 1, 0, 1, 1}, n)
	require.Equal(t, []entry{
		{"touch", "b", 1, ``},
		{"create", "c", 1, `5`},
		{"touch", "a", 2, ``},
		{"touch", "c", 1, ``},
	}, entriesOf(readAll(t, e.stream)[mark:]))

	// A record whose expiry a touch shortened is removed by the sweep at
	// that expiry, with its delete entry.
	mark = len(readAll(t, e.stream))
	require.NoError(t, e.store.Touch(ctx, "a", time.Second))
	e.clock.Advance(time.Second)
	_, err = e.store.GetRecord(ctx, "a")
	require.ErrorIs(t, err, kvcore.ErrNotFound)
	swept, err := e.store.Sweep(ctx)
	require.NoError(t, err)
	require.Equal(t, int64(2), swept, "gone and a")
	got := entriesOf(readAll(t, e.stream)[mark:])
	require.Len(t, got, 3)
	require.Equal(t, entry{"touch", "a", 2, ``}, got[0])
	require.ElementsMatch(t, []entry{{"delete", "gone", 1, ``}, {"delete", "a", 2, ``}}, got[1:], "the sweep's deletes, in any order")

}

// testStreamTouchFiltered: touch entries carry the record's type and
// namespace, so reads and consumers filtered by type or namespace see the
// touches of what they select, and only those.
func testStreamTouchFiltered(t *testing.T, f BackendFactory) {
	ctx := context.Background()
	e := newStreamEnv(t, f)
	other, err := e.store.Namespace("other")
	require.NoError(t, err)
	for i := range 3 {
		require.NoError(t, e.store.Put(ctx, fmt.Sprintf("w%d", i), -1, i, kvcore.WithType("Wanted")))
		require.NoError(t, e.store.Put(ctx, fmt.Sprintf("n%d", i), -1, i, kvcore.WithType("Noise")))
		require.NoError(t, other.Put(ctx, fmt.Sprintf("o%d", i), -1, i, kvcore.WithType("Wanted")))
	}
	for i := range 3 {
		require.NoError(t, e.store.Touch(ctx, fmt.Sprintf("n%d", i), time.Hour))
		require.NoError(t, e.store.Touch(ctx, fmt.Sprintf("w%d", i), time.Hour))
		require.NoError(t, other.Touch(ctx, fmt.Sprintf("o%d", i), time.Hour))
	}
	touches := func(rs []kvstream.Record) []string {
		var out []string
		for _, r := range rs {
			if r.Action == "touch" {
				out = append(out, r.Namespace+"/"+r.Key)
			}
		}
		return out
	}
	require.Equal(t, []string{"/w0", "other/o0", "/w1", "other/o1", "/w2", "other/o2"},
		touches(readAll(t, e.stream, kvstream.OfType("Wanted"))))
	require.Equal(t, []string{"/w0", "/w1", "/w2"},
		touches(readAll(t, e.stream, kvstream.OfType("Wanted"), kvstream.InNamespace(""))))
	require.Equal(t, []string{"other/o0", "other/o1", "other/o2"},
		touches(readAll(t, e.stream, kvstream.InNamespace("other"))))

	c, err := e.stream.Consumer("wanted-here", kvstream.Filters(kvstream.OfType("Wanted"), kvstream.InNamespace("")), kvstream.BatchSize(100))
	require.NoError(t, err)
	b, err := c.GetBatch(ctx)
	require.NoError(t, err)
	var got []string
	for _, r := range b.Records {
		got = append(got, r.Action+" "+r.Key)
	}
	require.Equal(t, []string{"create w0", "create w1", "create w2", "touch w0", "touch w1", "touch w2"}, got,
		"a filtered consumer delivers the touch entries it selects")
}
