package conformance

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"github.com/kvsuite/kv/kvcore"
	"github.com/kvsuite/kv/kvcore/driver"
)

// snapshotSet is how many records one round of testSnapshot's writer
// overwrites, and how many it creates, in one MutateAll. Each write is one
// stream entry.
const snapshotSet = 8

// snapshotRounds is how many rounds testSnapshot's writer writes at most.
const snapshotRounds = 40

// testSnapshot: Store.Snapshot reads every namespace as of one moment.
// With no writer, it sees what was written and its stream position counts
// every change. With a writer that changes a set of keys and creates
// another in one MutateAll per round, every snapshot (paged in small
// pages, so that it spans many reads) sees whole rounds only, the same
// round in the set it overwrites as in the sets it created, and its stream
// position is exactly the changes of those rounds (or, if not exact, at
// most them). A backend that reports ErrSnapshotChanged (rqlite) must
// still give a good snapshot once the writer stops.
func testSnapshot(t *testing.T, f BackendFactory) {
	ctx := context.Background()
	s := newEnv(t, f)
	if _, ok := s.driver.(driver.Snapshotter); !ok {
		t.Skipf("SKIP: the driver (%T) does not implement the optional driver.Snapshotter", s.driver)
	}
	// An empty store.
	require.NoError(t, s.Snapshot(ctx, func(sn *kvcore.Snapshot) error {
		seq, exact := sn.StreamSeq()
		require.Equal(t, int64(0), seq)
		require.True(t, exact)
		ns, err := sn.Namespaces(ctx)
		require.NoError(t, err)
		require.Empty(t, ns)
		return nil
	}))
	other, err := s.Namespace("other")
	require.NoError(t, err)
	require.NoError(t, s.Put(ctx, "a", -1, 1))
	require.NoError(t, other.Put(ctx, "b", -1, 2))
	require.NoError(t, s.Put(ctx, "gone", -1, 3, kvcore.WithTTL(time.Minute)))
	s.clock.Advance(2 * time.Minute)
	var base int64
	require.NoError(t, s.Snapshot(ctx, func(sn *kvcore.Snapshot) error {
		var exact bool
		base, exact = sn.StreamSeq()
		require.Equal(t, int64(3), base, "three changes")
		require.True(t, exact)
		ns, err := sn.Namespaces(ctx)
		require.NoError(t, err)
		require.Equal(t, []string{"", "other"}, ns)
		require.Equal(t, []string{"a"}, snapshotKeys(ctx, t, sn, ""), "the expired record is not in it")
		require.Equal(t, []string{"b"}, snapshotKeys(ctx, t, sn, "other"))
		return nil
	}))
	// fn's error is Snapshot's, as fn returned it.
	sentinel := errors.New("stop")
	require.Equal(t, sentinel, s.Snapshot(ctx, func(*kvcore.Snapshot) error { return sentinel }))
	// A bad namespace is refused.
	require.NoError(t, s.Snapshot(ctx, func(sn *kvcore.Snapshot) error {
		for _, err := range sn.All(ctx, "a\x00b") {
			require.ErrorIs(t, err, kvcore.ErrInvalidArgument)
		}
		return nil
	}))

	// A writer, round after round.
	var (
		rounds atomic.Int64
		stop   = make(chan struct{})
		wg     sync.WaitGroup
		werr   error
	)
	wg.Go(func() {
		for r := int64(1); r <= snapshotRounds; r++ {
			select {
			case <-stop:
				return
			default:
			}
			var ms []kvcore.Mutation
			for i := range snapshotSet {
				ms = append(ms, kvcore.Put(fmt.Sprintf("set/%d", i), -1, r), kvcore.Put(fmt.Sprintf("round/%06d/%d", r, i), 0, r))
			}
			if _, err := s.MutateAll(ctx, ms...); err != nil {
				werr = err
				return
			}
			rounds.Store(r)
		}
	})
	good, changed, inexact := 0, 0, 0
	check := func() {
		t.Helper()
		// What a snapshot read; judged only if Snapshot says it is one
		// (rqlite checks after fn).
		var (
			seq     int64
			exact   bool
			sets    = map[string]json.RawMessage{}
			created = map[string]int{}
		)
		err := s.Snapshot(ctx, func(sn *kvcore.Snapshot) error {
			seq, exact = sn.StreamSeq()
			for r, err := range sn.All(ctx, "", kvcore.PageSize(16)) {
				if err != nil {
					return err
				}
				switch {
				case strings.HasPrefix(r.Key, "set/"):
					sets[r.Key] = r.Value
				case strings.HasPrefix(r.Key, "round/"):
					created[r.Key[:len("round/000000")]]++
				}
			}
			return nil
		})
		if errors.Is(err, kvcore.ErrSnapshotChanged) {
			changed++
			return
		}
		require.NoError(t, err)
		good++
		var round int64
		if len(sets) > 0 {
			require.Len(t, sets, snapshotSet, "the set is written whole")
			require.NoError(t, json.Unmarshal(sets["set/0"], &round))
			for k, v := range sets {
				require.JSONEq(t, string(sets["set/0"]), string(v), "%s is of another round than set/0", k)
			}
		}
		require.Len(t, created, int(round), "the created sets are those of rounds 1 to %d", round)
		for prefix, n := range created {
			require.Equal(t, snapshotSet, n, "%s is whole", prefix)
		}
		// Round 1 creates 2*snapshotSet records; each later round
		// updates snapshotSet and creates snapshotSet: 2*snapshotSet
		// entries a round.
		if exact {
			require.Equal(t, base+round*2*snapshotSet, seq, "the stream position is the rounds' changes")
		} else {
			require.LessOrEqual(t, seq, base+round*2*snapshotSet)
			inexact++
		}
	}
	for i := 0; i < 200 && rounds.Load() < snapshotRounds; i++ {
		check()
	}
	close(stop)
	wg.Wait()
	require.NoError(t, werr)
	check()
	require.NotZero(t, good, "no snapshot was read")
	t.Logf("%d snapshots during %d rounds of writes (%d refused as changed, %d with an inexact stream position)", good+changed, rounds.Load(), changed, inexact)

	// A Touch while a snapshot reads is not in it: the snapshot reads the
	// expiry it began with, or (rqlite) reports that it was not one, since
	// the touch appended a stream entry. The touch completes while the
	// snapshot is open (see testSnapshotWriteInside).
	expiryOfA := func(sn *kvcore.Snapshot) *time.Time {
		for r, err := range sn.All(ctx, "") {
			require.NoError(t, err)
			if r.Key == "a" {
				return r.Expires
			}
		}
		t.Fatal("the snapshot has no record a")
		return nil
	}
	var first, second *time.Time
	touched := make(chan error, 1)
	err = s.Snapshot(ctx, func(sn *kvcore.Snapshot) error {
		first = expiryOfA(sn)
		go func() { touched <- s.Touch(ctx, "a", time.Hour) }()
		select {
		case err := <-touched:
			require.NoError(t, err)
		case <-time.After(20 * time.Second):
			t.Fatal("a touch made while a snapshot reads did not complete")
		}
		second = expiryOfA(sn)
		return nil
	})
	if !errors.Is(err, kvcore.ErrSnapshotChanged) {
		require.NoError(t, err)
		require.Nil(t, first)
		require.Nil(t, second, "a touch made after the snapshot began is in it")
	}
}

// testSnapshotWriteInside: a write made inside a snapshot's callback, in
// the callback's own goroutine, completes (a backend must not hold writes
// back until the snapshot ends: that write would wait forever), and the
// snapshot, read again after it, does not see it (or, rqlite, Snapshot
// reports ErrSnapshotChanged). A write from another goroutine while the
// callback waits for it completes as well.
func testSnapshotWriteInside(t *testing.T, f BackendFactory) {
	ctx := context.Background()
	s := newEnv(t, f)
	if _, ok := s.driver.(driver.Snapshotter); !ok {
		t.Skipf("SKIP: the driver (%T) does not implement the optional driver.Snapshotter", s.driver)
	}
	require.NoError(t, s.Put(ctx, "before", -1, 1))
	var after []string
	err := s.Snapshot(ctx, func(sn *kvcore.Snapshot) error {
		require.Equal(t, []string{"before"}, snapshotKeys(ctx, t, sn, ""))
		wctx, cancel := context.WithTimeout(ctx, 20*time.Second)
		defer cancel()
		require.NoError(t, s.Put(wctx, "inside", -1, 2), "a write inside the snapshot's callback")
		done := make(chan error, 1)
		go func() { done <- s.Put(wctx, "beside", -1, 3) }()
		require.NoError(t, <-done, "a write from another goroutine while the callback waits for it")
		after = snapshotKeys(ctx, t, sn, "")
		return nil
	})
	if !errors.Is(err, kvcore.ErrSnapshotChanged) {
		require.NoError(t, err)
		require.Equal(t, []string{"before"}, after, "writes made after the snapshot began are in it")
	}
	for _, key := range []string{"inside", "beside"} {
		var v int
		_, ok, err := s.Get(ctx, key, &v)
		require.NoError(t, err)
		require.True(t, ok, "%s was written", key)
	}
}

// snapshotKeys returns the keys of namespace ns in sn.
func snapshotKeys(ctx context.Context, t *testing.T, sn *kvcore.Snapshot, ns string) []string {
	t.Helper()
	var keys []string
	for r, err := range sn.All(ctx, ns, kvcore.PageSize(1)) {
		require.NoError(t, err)
		keys = append(keys, r.Key)
	}
	return keys
}
