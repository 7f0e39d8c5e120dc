package conformance

import (
	"context"
	"encoding/json"
	"fmt"
	"sync"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"github.com/kvsuite/kv/kvcore"
	streamdriver "github.com/kvsuite/kv/kvstream/driver"
)

// testVersionLimit: versions never overflow. Restore refuses a version that
// could never be written again; a record restored at the highest version it
// accepts takes one more write (to kvcore.MaxVersion), after which every
// write (Put, Patch, MutateAll, with any expected version that holds) fails
// with kvcore.ErrVersionLimit - not a mismatch - and changes nothing, while
// mismatches are still reported as such, reads and the stream stay exact,
// Touch and Delete still work, and writes to other keys in the same or in
// concurrent batches are not disturbed.
func testVersionLimit(t *testing.T, f BackendFactory) {
	ctx := context.Background()
	s := newEnv(t, f)
	const top = kvcore.MaxVersion
	at := time.Date(2024, 5, 6, 7, 8, 9, 0, time.UTC)
	rec := func(key string, version int64) kvcore.Record {
		return kvcore.Record{Key: key, Version: version, Value: json.RawMessage(`{"n":0}`), Type: "T", Created: at, Updated: at}
	}
	stream, hasStream := s.driver.(streamdriver.Stream)
	if !hasStream {
		t.Logf("the driver (%T) has no stream: its entries are not checked", s.driver)
	}
	entries := func() []streamdriver.Record {
		t.Helper()
		if !hasStream {
			return nil
		}
		rs, _, _, err := stream.Read(ctx, streamdriver.Query{Limit: 1000})
		require.NoError(t, err)
		return rs
	}

	// Restore: the limit, and the versions around it.
	err := s.Restore(ctx, rec("ok", 1), rec("max", top))
	require.ErrorIs(t, err, kvcore.ErrInvalidArgument)
	require.Contains(t, err.Error(), fmt.Sprint(top-1), "the error says the highest version accepted")
	requireVisible(t, s.Store, "ok", false)
	requireVisible(t, s.Store, "max", false)
	require.Empty(t, entries(), "a refused restore appends nothing")
	require.NoError(t, s.Restore(ctx, rec("max", top-1), rec("near", top-2), rec("gone", top-1)))
	requireValue(t, s.Store, "max", `{"n":0}`, top-1)
	requireValue(t, s.Store, "near", `{"n":0}`, top-2)

	// One more write reaches the top, exactly.
	require.NoError(t, s.Put(ctx, "max", top-1, json.RawMessage(`{"n":1}`)))
	requireValue(t, s.Store, "max", `{"n":1}`, top)
	require.NoError(t, s.Patch(ctx, "near", -1, json.RawMessage(`{"n":2}`)))
	requireValue(t, s.Store, "near", `{"n":2}`, top-1)
	before := entries()
	if hasStream {
		last := before[len(before)-1]
		require.Equal(t, []any{"near", "update", top - 1}, []any{last.Key, last.Action, last.Version})
		prev := before[len(before)-2]
		require.Equal(t, []any{"max", "update", top}, []any{prev.Key, prev.Action, prev.Version})
	}

	// Every write that would pass the top is refused, whatever its
	// expected version, if that version holds.
	limited := map[string]func() error{
		"put any":           func() error { return s.Put(ctx, "max", -1, json.RawMessage(`{"n":9}`)) },
		"put at the top":    func() error { return s.Put(ctx, "max", top, json.RawMessage(`{"n":9}`)) },
		"put with a TTL":    func() error { return s.Put(ctx, "max", -1, json.RawMessage(`9`), kvcore.WithTTL(time.Hour)) },
		"patch any":         func() error { return s.Patch(ctx, "max", -1, json.RawMessage(`{"n":9}`)) },
		"patch at the top":  func() error { return s.Patch(ctx, "max", top, json.RawMessage(`{"n":9}`)) },
		"patch with a type": func() error { return s.Patch(ctx, "max", -1, json.RawMessage(`{}`), kvcore.WithType("U")) },
		"typed put": func() error {
			return kvcore.NewTyped[map[string]int](s.Store).Put(ctx, "max", -1, map[string]int{"n": 9})
		},
		"mutate: put": func() error {
			_, err := s.MutateAll(ctx, kvcore.Put("other", -1, 1), kvcore.Put("max", -1, 9))
			return err
		},
		"mutate: patch": func() error {
			_, err := s.MutateAll(ctx, kvcore.Put("other", -1, 1), kvcore.Patch("max", top, json.RawMessage(`{}`)))
			return err
		},
		"mutate: put, patch": func() error {
			_, err := s.MutateAll(ctx, kvcore.Put("max", -1, 9), kvcore.Patch("max", -1, json.RawMessage(`{}`)))
			return err
		},
	}
	for name, write := range limited {
		err := write()
		require.ErrorIs(t, err, kvcore.ErrVersionLimit, name)
		require.ErrorIs(t, err, kvcore.ErrInvalidArgument, name)
		require.NotErrorIs(t, err, kvcore.ErrVersionMismatch, "%s: a loop that retries on a mismatch must not spin", name)
		require.Contains(t, err.Error(), `"max"`, "%s: the error names the key", name)
	}
	// A mismatch is still a mismatch.
	for name, err := range map[string]error{
		"put, create only": s.Put(ctx, "max", 0, json.RawMessage(`9`)),
		"put, old version": s.Put(ctx, "max", top-1, json.RawMessage(`9`)),
		"patch, version 5": s.Patch(ctx, "max", 5, json.RawMessage(`{}`)),
	} {
		require.ErrorIs(t, err, kvcore.ErrVersionMismatch, name)
	}
	requireValue(t, s.Store, "max", `{"n":1}`, top)
	requireVisible(t, s.Store, "other", false)
	require.Equal(t, before, entries(), "refused writes append nothing")

	// Writes to other keys beside it, alone and concurrent, go through.
	var wg sync.WaitGroup
	errs := make([]error, 9)
	for i := range errs {
		wg.Add(1)
		go func() {
			defer wg.Done()
			if i == 0 {
				errs[i] = s.Put(ctx, "max", -1, json.RawMessage(`{"n":9}`))
				return
			}
			errs[i] = s.Put(ctx, fmt.Sprintf("beside/%d", i), -1, json.RawMessage(`1`))
		}()
	}
	wg.Wait()
	require.ErrorIs(t, errs[0], kvcore.ErrVersionLimit)
	for i, err := range errs[1:] {
		require.NoError(t, err, "put beside it %d", i+1)
	}
	n, err := s.CountPrefix(ctx, "beside/")
	require.NoError(t, err)
	require.Equal(t, 8, n)
	requireValue(t, s.Store, "max", `{"n":1}`, top)

	// Reads see the record exactly.
	all, err := s.List(ctx, 0, 0)
	require.NoError(t, err)
	versions := map[string]int64{}
	for _, r := range all {
		versions[r.Key] = r.Version
	}
	require.Equal(t, top, versions["max"])
	require.Equal(t, top-1, versions["near"])
	require.Equal(t, top-1, versions["gone"])

	// Touch keeps the version; Delete ends the record, and its key starts
	// again at version 1.
	require.NoError(t, s.Touch(ctx, "max", time.Hour))
	requireValue(t, s.Store, "max", `{"n":1}`, top)
	ok, err := s.DeleteVersion(ctx, "max", top)
	require.NoError(t, err)
	require.True(t, ok)
	requireVisible(t, s.Store, "max", false)
	n2, err := s.Delete(ctx, "gone")
	require.NoError(t, err)
	require.Equal(t, 1, n2)
	require.NoError(t, s.Put(ctx, "max", 0, json.RawMessage(`{"n":"again"}`)))
	requireValue(t, s.Store, "max", `{"n":"again"}`, 1)
	if hasStream {
		var got []string
		for _, e := range entries()[len(before):] {
			if e.Key == "max" || e.Key == "gone" {
				got = append(got, fmt.Sprintf("%s %s %d", e.Action, e.Key, e.Version))
			}
		}
		require.Equal(t, []string{
			fmt.Sprintf("touch max %d", top),
			fmt.Sprintf("delete max %d", top),
			fmt.Sprintf("delete gone %d", top-1),
			"create max 1",
		}, got, "the stream holds the exact versions")
	}
}
