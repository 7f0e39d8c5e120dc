package conformance

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"sync"
	"testing"

	"github.com/stretchr/testify/require"

	"github.com/kvsuite/kv/kvcore"
)

func testFence(t *testing.T, f BackendFactory) {
	ctx := context.Background()
	s := newEnv(t, f)
	require.NoError(t, s.Put(ctx, "k", -1, json.RawMessage(`1`)))
	fenced := s.WithFence("no-such-lease", 7)
	require.ErrorIs(t, fenced.Put(ctx, "k", -1, json.RawMessage(`2`)), kvcore.ErrFenced)
	require.ErrorIs(t, fenced.Patch(ctx, "k", -1, json.RawMessage(`{"a":1}`)), kvcore.ErrFenced)
	_, err := fenced.Delete(ctx, "k")
	require.ErrorIs(t, err, kvcore.ErrFenced)
	_, err = fenced.MutateAll(ctx, kvcore.Put("new", -1, json.RawMessage(`1`)), kvcore.DeleteAll())
	require.ErrorIs(t, err, kvcore.ErrFenced)
	requireValue(t, s.Store, "k", `1`, 1)
	requireCount(t, s.Store, 1)
}

func testTyped(t *testing.T, f BackendFactory) {
	ctx := context.Background()
	s := newEnv(t, f)
	people := kvcore.NewTyped[Person](s.Store)
	require.NoError(t, people.Put(ctx, "people/alice", 0, Person{Name: "Alice", Age: 30}))
	require.NoError(t, people.Put(ctx, "people/bob", 0, Person{Name: "Bob", Age: 25}))
	p, r, err := people.Get(ctx, "people/alice")
	require.NoError(t, err)
	require.Equal(t, Person{Name: "Alice", Age: 30}, p)
	require.Equal(t, "Person", r.Type)
	_, _, err = people.Get(ctx, "people/carol")
	require.ErrorIs(t, err, kvcore.ErrNotFound)
	require.NoError(t, people.Patch(ctx, "people/bob", 1, map[string]any{"age": 26}))

	var names []string
	for it, err := range people.AllPrefix(ctx, "people/", kvcore.PageSize(1)) {
		require.NoError(t, err)
		names = append(names, fmt.Sprintf("%s:%d", it.Value.Name, it.Value.Age))
	}
	require.Equal(t, []string{"Alice:30", "Bob:26"}, names)

	// A value that does not decode as T is an error from the iterator.
	require.NoError(t, s.Put(ctx, "people/zed", -1, json.RawMessage(`"not a person"`)))
	var errs int
	for _, err := range people.AllPrefix(ctx, "people/") {
		if err != nil {
			errs++
		}
	}
	require.Equal(t, 1, errs)
}

func testCanceled(t *testing.T, f BackendFactory) {
	s := newEnv(t, f)
	ctx, cancel := context.WithCancel(context.Background())
	cancel()
	err := s.Put(ctx, "k", -1, json.RawMessage(`1`))
	require.ErrorIs(t, err, context.Canceled)
	_, _, err = s.Get(ctx, "k", nil)
	require.ErrorIs(t, err, context.Canceled)
	_, err = s.MutateAll(ctx, kvcore.Put("a", -1, json.RawMessage(`1`)), kvcore.Put("b", -1, json.RawMessage(`1`)))
	require.ErrorIs(t, err, context.Canceled)
	requireCount(t, s.Store, 0)
}

// testConcurrentCAS: many goroutines increment one counter with
// compare-and-set; the total must be exact.
func testConcurrentCAS(t *testing.T, f BackendFactory) {
	ctx := context.Background()
	s := newEnv(t, f)
	require.NoError(t, s.Put(ctx, "counter", 0, 0))
	const workers, each = 8, 25
	var wg sync.WaitGroup
	errs := make(chan error, workers)
	for w := 0; w < workers; w++ {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for i := 0; i < each; {
				var n int
				r, _, err := s.Get(ctx, "counter", &n)
				if err != nil {
					errs <- err
					return
				}
				err = s.Put(ctx, "counter", r.Version, n+1)
				if errors.Is(err, kvcore.ErrVersionMismatch) {
					continue
				}
				if err != nil {
					errs <- err
					return
				}
				i++
			}
		}()
	}
	wg.Wait()
	close(errs)
	for err := range errs {
		require.NoError(t, err)
	}
	var n int
	r, _, err := s.Get(ctx, "counter", &n)
	require.NoError(t, err)
	require.Equal(t, workers*each, n)
	require.Equal(t, int64(workers*each+1), r.Version)
}

// testConcurrentPatch: concurrent patches of one key with version -1 all
// land: none overwrites another's member.
func testConcurrentPatch(t *testing.T, f BackendFactory) {
	ctx := context.Background()
	s := newEnv(t, f)
	const workers = 16
	var wg sync.WaitGroup
	errs := make(chan error, workers)
	for w := 0; w < workers; w++ {
		wg.Add(1)
		go func() {
			defer wg.Done()
			errs <- s.Patch(ctx, "doc", -1, json.RawMessage(fmt.Sprintf(`{"f%02d":%d}`, w, w)))
		}()
	}
	wg.Wait()
	close(errs)
	for err := range errs {
		require.NoError(t, err)
	}
	var m map[string]int
	r, _, err := s.Get(ctx, "doc", &m)
	require.NoError(t, err)
	require.Len(t, m, workers)
	require.Equal(t, int64(workers), r.Version)
}

// testConcurrentWriters: many writers at once lose nothing, and one
// writer's version mismatch does not fail its neighbours.
func testConcurrentWriters(t *testing.T, f BackendFactory) {
	ctx := context.Background()
	s := newEnv(t, f)
	require.NoError(t, s.Put(ctx, "taken", 0, 1))
	const workers, each = 16, 40
	var wg sync.WaitGroup
	var mu sync.Mutex
	var failures []error
	mismatches := 0
	for w := 0; w < workers; w++ {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for i := 0; i < each; i++ {
				if err := s.Put(ctx, fmt.Sprintf("w/%02d/%03d", w, i), 0, map[string]int{"w": w, "i": i}); err != nil {
					mu.Lock()
					failures = append(failures, err)
					mu.Unlock()
				}
				if i%10 == 0 {
					err := s.Put(ctx, "taken", 0, 2)
					mu.Lock()
					if errors.Is(err, kvcore.ErrVersionMismatch) {
						mismatches++
					} else {
						failures = append(failures, fmt.Errorf("want a mismatch, got %v", err))
					}
					mu.Unlock()
				}
			}
		}()
	}
	wg.Wait()
	require.Empty(t, failures)
	require.Equal(t, workers*each/10, mismatches)
	requireCount(t, s.Store, workers*each+1)
	for w := 0; w < workers; w++ {
		rs, err := s.GetPrefix(ctx, fmt.Sprintf("w/%02d/", w), 0, 0)
		require.NoError(t, err)
		require.Len(t, rs, each)
		for i, r := range rs {
			require.JSONEq(t, fmt.Sprintf(`{"w":%d,"i":%d}`, w, i), string(r.Value))
		}
	}
	requireValue(t, s.Store, "taken", `1`, 1)
}
