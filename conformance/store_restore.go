package conformance

import (
	"context"
	"encoding/json"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"github.com/kvsuite/kv/kvcore"
)

// testRestore: Restore writes records exactly as given (version, times,
// type, expiry), refuses a live key without changing anything, replaces an
// expired one, and later writes carry on from the restored version.
func testRestore(t *testing.T, f StoreFactory) {
	ctx := context.Background()
	s := newEnv(t, f)
	created := time.Date(2021, 3, 4, 5, 6, 7, 891011000, time.UTC)
	updated := created.Add(36 * time.Hour)
	expires := s.clock.Now().Add(time.Hour)
	in := []kvcore.Record{
		{Key: "a", Version: 7, Value: json.RawMessage(`{"n":1}`), Type: "T", Created: created, Updated: updated},
		{Key: "b", Version: 1, Value: json.RawMessage(`"x"`), Created: created, Updated: created, Expires: &expires},
	}
	require.NoError(t, s.Restore(ctx, in...))
	got, err := s.GetBatch(ctx, "a", "b")
	require.NoError(t, err)
	require.Equal(t, in, got, "records read back exactly as restored")

	require.NoError(t, s.Put(ctx, "a", 7, json.RawMessage(`2`)))
	r, err := s.GetRecord(ctx, "a")
	require.NoError(t, err)
	require.Equal(t, int64(8), r.Version, "writes carry on from the restored version")
	require.Equal(t, created, r.Created)

	// A live key fails the whole batch and changes nothing.
	err = s.Restore(ctx,
		kvcore.Record{Key: "c", Version: 3, Value: json.RawMessage(`1`), Created: created, Updated: created},
		kvcore.Record{Key: "a", Version: 1, Value: json.RawMessage(`1`), Created: created, Updated: created})
	require.ErrorIs(t, err, kvcore.ErrVersionMismatch)
	require.Contains(t, err.Error(), `"a"`)
	requireVisible(t, s.Store, "c", false)
	requireValue(t, s.Store, "a", `2`, 8)

	// An expired key is replaced; an already expired record is skipped.
	s.clock.Advance(2 * time.Hour)
	past := s.clock.Now().Add(-time.Minute)
	require.NoError(t, s.Restore(ctx,
		kvcore.Record{Key: "b", Version: 4, Value: json.RawMessage(`4`), Created: created, Updated: updated},
		kvcore.Record{Key: "gone", Version: 2, Value: json.RawMessage(`4`), Created: created, Updated: updated, Expires: &past}))
	requireValue(t, s.Store, "b", `4`, 4)
	requireVisible(t, s.Store, "gone", false)

	// Bad records are refused before anything is written.
	bad := []kvcore.Record{
		{Key: "", Version: 1, Value: json.RawMessage(`1`), Created: created, Updated: created},
		{Key: "v0", Version: 0, Value: json.RawMessage(`1`), Created: created, Updated: created},
		{Key: "badjson", Version: 1, Value: json.RawMessage(`{`), Created: created, Updated: created},
		{Key: "notimes", Version: 1, Value: json.RawMessage(`1`)},
		{Key: "backwards", Version: 1, Value: json.RawMessage(`1`), Created: updated, Updated: created},
	}
	for _, b := range bad {
		err := s.Restore(ctx, kvcore.Record{Key: "ok", Version: 1, Value: json.RawMessage(`1`), Created: created, Updated: created}, b)
		require.Error(t, err, "record %q", b.Key)
		requireVisible(t, s.Store, "ok", false)
	}
	err = s.Restore(ctx,
		kvcore.Record{Key: "d", Version: 1, Value: json.RawMessage(`1`), Created: created, Updated: created},
		kvcore.Record{Key: "d", Version: 2, Value: json.RawMessage(`1`), Created: created, Updated: created})
	require.ErrorIs(t, err, kvcore.ErrInvalidArgument)
}
