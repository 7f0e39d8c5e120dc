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
func testRestore(t *testing.T, f BackendFactory) {
	ctx := context.Background()
	s := newEnv(t, f)
	created := time.Date(2021, 3, 4, 5, 6, 7, 891011000, time.UTC)
	updated := created.Add(36 * time.Hour)
	expires := s.clock.Now().Add(time.Hour)
	// rec is a plain record to restore: value 1, created and updated at
	// created.
	rec := func(key string, version int64) kvcore.Record {
		return kvcore.Record{Key: key, Version: version, Value: json.RawMessage(`1`), Created: created, Updated: created}
	}
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
	err = s.Restore(ctx, rec("c", 3), rec("a", 1))
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
	badJSON, noTimes, backwards := rec("badjson", 1), rec("notimes", 1), rec("backwards", 1)
	badJSON.Value = json.RawMessage(`{`)
	noTimes.Created, noTimes.Updated = time.Time{}, time.Time{}
	backwards.Created, backwards.Updated = updated, created
	for _, b := range []kvcore.Record{rec("", 1), rec("v0", 0), badJSON, noTimes, backwards} {
		err := s.Restore(ctx, rec("ok", 1), b)
		require.Error(t, err, "record %q", b.Key)
		requireVisible(t, s.Store, "ok", false)
	}
	err = s.Restore(ctx, rec("d", 1), rec("d", 2))
	require.ErrorIs(t, err, kvcore.ErrInvalidArgument)
}
