package conformance

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"log/slog"
	"sync"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"github.com/kvsuite/kv/kvcore"
	"github.com/kvsuite/kv/kvlock"
	"github.com/kvsuite/kv/kvstream"
	streamdriver "github.com/kvsuite/kv/kvstream/driver"
)

type streamEnv struct {
	store  *kvcore.Store
	stream *kvstream.Stream
	clock  *Clock
	b      Backend
}

func newStreamEnv(t *testing.T, f BackendFactory, opts ...kvstream.Option) streamEnv {
	t.Helper()
	b := f(t)
	require.NotNil(t, b.Stream, "the backend has no Stream")
	clock := NewClock(time.Time{})
	s, err := kvcore.New(b.Store, kvcore.WithClock(clock.Now), kvcore.WithSweepInterval(0))
	require.NoError(t, err)
	t.Cleanup(func() { _ = s.Close() })
	st, err := kvstream.New(b.Stream, append([]kvstream.Option{kvstream.WithClock(clock.Now)}, opts...)...)
	require.NoError(t, err)
	return streamEnv{store: s, stream: st, clock: clock, b: b}
}

// RunStream runs the kvstream suite: one entry per change in the same
// transaction, reads and filters, trimming, consumers with every commit
// mode, fenced take-over, gap-free delivery under concurrent writers, and
// continuous consumption.
func RunStream(t *testing.T, h Harness) {
	f := h.New
	t.Run("Entries", func(t *testing.T) { testStreamEntries(t, f) })
	t.Run("ExpiredReplaced", func(t *testing.T) { testStreamExpiredReplaced(t, f) })
	t.Run("ExpiredReplacedInBatch", func(t *testing.T) { testStreamExpiredReplacedInBatch(t, f) })
	t.Run("Restore", func(t *testing.T) { testStreamRestore(t, f) })
	t.Run("Touch", func(t *testing.T) { testStreamTouch(t, f) })
	t.Run("TouchFiltered", func(t *testing.T) { testStreamTouchFiltered(t, f) })
	t.Run("ReadFilters", func(t *testing.T) { testStreamRead(t, f) })
	t.Run("Trim", func(t *testing.T) { testStreamTrim(t, f) })
	t.Run("BadInput", func(t *testing.T) { testStreamBadInput(t, f) })
	t.Run("DriverBadInput", func(t *testing.T) { testStreamDriverBadInput(t, f) })
	t.Run("CommitModes", func(t *testing.T) { testConsumerModes(t, f) })
	t.Run("Exclusive", func(t *testing.T) { testConsumerExclusive(t, f) })
	t.Run("TakeOver", func(t *testing.T) { testConsumerTakeOver(t, f) })
	t.Run("Status", func(t *testing.T) { testConsumerStatus(t, f) })
	t.Run("GapFree", func(t *testing.T) { testStreamGapFree(t, f) })
	t.Run("ReadYourWrites", func(t *testing.T) { testStreamReadYourWrites(t, f) })
	t.Run("Run", func(t *testing.T) { testConsumerRun(t, f) })
	t.Run("RunRetries", func(t *testing.T) { testConsumerRunRetries(t, f) })
	t.Run("RunStops", func(t *testing.T) { testConsumerRunStops(t, f) })
	t.Run("RunBatch", func(t *testing.T) { testConsumerRunBatch(t, f) })
	t.Run("Filtered", func(t *testing.T) { testConsumerFiltered(t, f) })
}

type entry struct {
	action, key string
	version     int64
	value       string
}

func entriesOf(rs []kvstream.Record) []entry {
	out := make([]entry, len(rs))
	for i, r := range rs {
		out[i] = entry{r.Action, r.Key, r.Version, string(r.Value)}
	}
	return out
}

func readAll(t *testing.T, s *kvstream.Stream, filters ...kvstream.Filter) []kvstream.Record {
	t.Helper()
	rs, err := s.Read(context.Background(), 0, 0, filters...)
	require.NoError(t, err)
	return rs
}

func testStreamEntries(t *testing.T, f BackendFactory) {
	ctx := context.Background()
	e := newStreamEnv(t, f)
	seq, err := e.stream.Seq(ctx)
	require.NoError(t, err)
	require.Equal(t, int64(0), seq)

	require.NoError(t, e.store.Put(ctx, "a", -1, json.RawMessage(`{"v":1}`), kvcore.WithType("T")))
	require.NoError(t, e.store.Patch(ctx, "a", -1, json.RawMessage(`{"w":2}`)))
	require.ErrorIs(t, e.store.Put(ctx, "a", 0, json.RawMessage(`1`)), kvcore.ErrVersionMismatch)
	require.NoError(t, e.store.Touch(ctx, "a", time.Hour))
	_, err = e.store.Delete(ctx, "a", "missing")
	require.NoError(t, err)
	_, err = e.store.MutateAll(ctx, kvcore.Put("b", -1, json.RawMessage(`2`)), kvcore.Put("c", -1, json.RawMessage(`3`)))
	require.NoError(t, err)
	_, err = e.store.MutateAll(ctx, kvcore.Put("d", -1, json.RawMessage(`4`)), kvcore.Put("b", 9, json.RawMessage(`0`)))
	require.ErrorIs(t, err, kvcore.ErrVersionMismatch)
	ns, err := e.store.Namespace("other")
	require.NoError(t, err)
	require.NoError(t, ns.Put(ctx, "b", -1, json.RawMessage(`"ns"`), kvcore.WithTTL(time.Minute)))
	_, err = e.store.DeletePrefix(ctx, "b", 0, 0)
	require.NoError(t, err)
	e.clock.Advance(2 * time.Minute)
	n, err := e.store.Sweep(ctx)
	require.NoError(t, err)
	require.Equal(t, int64(1), n)

	rs := readAll(t, e.stream)
	require.Equal(t, []entry{
		{"create", "a", 1, `{"v":1}`},
		{"update", "a", 2, `{"v":1,"w":2}`},
		{"touch", "a", 2, ``},
		{"delete", "a", 2, ``},
		{"create", "b", 1, `2`},
		{"create", "c", 1, `3`},
		{"create", "b", 1, `"ns"`},
		{"delete", "b", 1, ``},
		{"delete", "b", 1, ``},
	}, entriesOf(rs), "one entry per committed change (a touch too); none for misses and failed batches")
	for i, r := range rs {
		if i > 0 {
			require.Greater(t, r.Seq, rs[i-1].Seq)
		}
		require.Equal(t, time.UTC, r.Time.Location())
	}
	require.Equal(t, "T", rs[1].Type, "the entry carries the record's type")
	require.Equal(t, "T", rs[2].Type, "the touch entry carries the record's type")
	require.Equal(t, "other", rs[6].Namespace)
	require.Equal(t, "", rs[7].Namespace)
	require.Equal(t, "other", rs[8].Namespace, "the sweep's delete")
	seq, err = e.stream.Seq(ctx)
	require.NoError(t, err)
	require.Equal(t, rs[len(rs)-1].Seq, seq)
}

// testStreamExpiredReplaced: a put over an expired record records the
// expired record's removal before the new record's creation.
func testStreamExpiredReplaced(t *testing.T, f BackendFactory) {
	ctx := context.Background()
	e := newStreamEnv(t, f)
	require.NoError(t, e.store.Put(ctx, "k", -1, 1, kvcore.WithTTL(time.Second)))
	require.NoError(t, e.store.Put(ctx, "k", -1, 2, kvcore.WithTTL(time.Second)))
	e.clock.Advance(time.Second)
	require.NoError(t, e.store.Put(ctx, "k", -1, 3))
	n, err := e.store.Sweep(ctx)
	require.NoError(t, err)
	require.Equal(t, int64(0), n, "nothing left to sweep")
	require.Equal(t, []entry{
		{"create", "k", 1, `1`},
		{"update", "k", 2, `2`},
		{"delete", "k", 2, ``},
		{"create", "k", 1, `3`},
	}, entriesOf(readAll(t, e.stream)))
}

// testStreamExpiredReplacedInBatch: a create (version 0) over an expired
// record, and a batch whose later put meets one after an earlier op has
// written, record each change once, in order.
func testStreamExpiredReplacedInBatch(t *testing.T, f BackendFactory) {
	ctx := context.Background()
	e := newStreamEnv(t, f)
	require.NoError(t, e.store.Put(ctx, "c", -1, 1, kvcore.WithTTL(time.Second)))
	require.NoError(t, e.store.Put(ctx, "m", -1, 1, kvcore.WithTTL(time.Second)))
	e.clock.Advance(time.Second)
	require.NoError(t, e.store.Put(ctx, "c", 0, 2))
	_, err := e.store.MutateAll(ctx, kvcore.Put("a", -1, 1), kvcore.Put("m", 0, 2), kvcore.Put("z", -1, 3))
	require.NoError(t, err)
	require.Equal(t, []entry{
		{"create", "c", 1, `1`},
		{"create", "m", 1, `1`},
		{"delete", "c", 1, ``},
		{"create", "c", 1, `2`},
		{"create", "a", 1, `1`},
		{"delete", "m", 1, ``},
		{"create", "m", 1, `2`},
		{"create", "z", 1, `3`},
	}, entriesOf(readAll(t, e.stream)))
	for _, key := range []string{"a", "c", "m", "z"} {
		r, err := e.store.GetRecord(ctx, key)
		require.NoError(t, err)
		require.Equal(t, int64(1), r.Version, key)
	}
}

// testStreamRestore: a restored record appends a create entry with its own
// version (after a delete entry for an expired record it replaces).
func testStreamRestore(t *testing.T, f BackendFactory) {
	ctx := context.Background()
	e := newStreamEnv(t, f)
	require.NoError(t, e.store.Put(ctx, "k", -1, 1, kvcore.WithTTL(time.Second)))
	e.clock.Advance(time.Second)
	at := time.Date(2020, 1, 1, 0, 0, 0, 0, time.UTC)
	require.NoError(t, e.store.Restore(ctx,
		kvcore.Record{Key: "k", Version: 5, Value: json.RawMessage(`5`), Created: at, Updated: at},
		kvcore.Record{Key: "n", Version: 2, Value: json.RawMessage(`2`), Created: at, Updated: at}))
	require.Equal(t, []entry{
		{"create", "k", 1, `1`},
		{"delete", "k", 1, ``},
		{"create", "k", 5, `5`},
		{"create", "n", 2, `2`},
	}, entriesOf(readAll(t, e.stream)))
}

func testStreamRead(t *testing.T, f BackendFactory) {
	ctx := context.Background()
	e := newStreamEnv(t, f)
	other, err := e.store.Namespace("other")
	require.NoError(t, err)
	for i := 0; i < 10; i++ {
		typ := "Even"
		if i%2 == 1 {
			typ = "Odd"
		}
		require.NoError(t, e.store.Put(ctx, fmt.Sprintf("k%d", i), -1, i, kvcore.WithType(typ)))
		require.NoError(t, other.Put(ctx, fmt.Sprintf("k%d", i), -1, i, kvcore.WithType(typ)))
	}
	all := readAll(t, e.stream)
	require.Len(t, all, 20)

	rs, err := e.stream.Read(ctx, all[4].Seq, 3)
	require.NoError(t, err)
	require.Equal(t, all[4:7], rs, "from is inclusive")
	rs = readAll(t, e.stream, kvstream.OfType("Odd"))
	require.Len(t, rs, 10)
	for _, r := range rs {
		require.Equal(t, "Odd", r.Type)
	}
	rs = readAll(t, e.stream, kvstream.InNamespace("other"), kvstream.OfType("Even"))
	require.Len(t, rs, 5)
	for _, r := range rs {
		require.Equal(t, "other", r.Namespace)
	}
	rs, err = e.stream.Read(ctx, all[19].Seq+1, 10)
	require.NoError(t, err)
	require.Empty(t, rs)
}

func testStreamTrim(t *testing.T, f BackendFactory) {
	ctx := context.Background()
	e := newStreamEnv(t, f)
	for i := 0; i < 10; i++ {
		require.NoError(t, e.store.Put(ctx, fmt.Sprintf("k%d", i), -1, i))
	}
	all := readAll(t, e.stream)
	to, err := e.stream.Trim(ctx, all[3].Seq)
	require.NoError(t, err)
	require.Equal(t, all[3].Seq, to)

	_, err = e.stream.Read(ctx, all[2].Seq, 10)
	var te *kvstream.TrimmedError
	require.ErrorAs(t, err, &te)
	require.ErrorIs(t, err, kvstream.ErrTrimmed)
	require.Equal(t, all[4].Seq, te.Start, "the error says where the stream starts")
	rs := readAll(t, e.stream)
	require.Equal(t, all[4:], rs, "from 0 starts where the stream now starts")
	first, last, err := e.stream.Bounds(ctx)
	require.NoError(t, err)
	require.Equal(t, all[4].Seq, first)
	require.Equal(t, all[9].Seq, last)

	// A consumer that has not committed holds trimming back, unless forced.
	c, err := e.stream.Consumer("slow", kvstream.BatchSize(2))
	require.NoError(t, err)
	got, err := c.Get(ctx)
	require.NoError(t, err)
	require.Equal(t, all[4:6], got)
	to, err = e.stream.Trim(ctx, all[9].Seq)
	require.NoError(t, err)
	require.Equal(t, all[5].Seq, to, "trim stops at the slowest consumer")
	got, err = c.Get(ctx)
	require.NoError(t, err)
	require.Equal(t, all[6:8], got)

	to, err = e.stream.ForceTrim(ctx, all[8].Seq)
	require.NoError(t, err)
	require.Equal(t, all[8].Seq, to)
	_, err = c.Get(ctx)
	require.ErrorIs(t, err, kvstream.ErrTrimmed, "a forced trim past a consumer is an error for it, never a silent jump")

	// Trimming below the watermark changes nothing.
	to, err = e.stream.Trim(ctx, 1)
	require.NoError(t, err)
	require.Equal(t, all[8].Seq, to)
}

func testStreamBadInput(t *testing.T, f BackendFactory) {
	ctx := context.Background()
	e := newStreamEnv(t, f)
	_, err := e.stream.Read(ctx, -1, 10)
	require.ErrorIs(t, err, kvstream.ErrInvalidArgument)
	_, err = e.stream.Read(ctx, 0, -1)
	require.ErrorIs(t, err, kvstream.ErrInvalidArgument)
	_, err = e.stream.Trim(ctx, -5)
	require.ErrorIs(t, err, kvstream.ErrInvalidArgument)
	_, err = kvstream.ParseCommitMode("sometimes")
	require.ErrorIs(t, err, kvstream.ErrInvalidArgument)
	for _, opts := range [][]kvstream.ConsumerOption{
		{kvstream.Commit("sometimes")}, {kvstream.BatchSize(0)}, {kvstream.BatchSize(-1)},
		{kvstream.LeaseDuration(0)}, {kvstream.Owner("")},
	} {
		_, err = e.stream.Consumer("c", opts...)
		require.ErrorIs(t, err, kvstream.ErrInvalidArgument)
	}
	_, err = e.stream.Consumer("")
	require.ErrorIs(t, err, kvstream.ErrInvalidArgument)
	_, err = e.stream.ConsumerStatus(ctx, "missing")
	require.ErrorIs(t, err, kvstream.ErrNotFound)
	require.ErrorIs(t, e.stream.SetPosition(ctx, "c", -1), kvstream.ErrInvalidArgument)
	cs, err := e.stream.Consumers(ctx)
	require.NoError(t, err)
	require.Empty(t, cs, "bad input created nothing")
}

// testStreamDriverBadInput: the driver refuses a Read limit that is not
// positive and a negative Trim position with an error wrapping
// kvcore.ErrInvalidArgument, and trims nothing. (The front checks these
// itself; this speaks to the driver directly.)
func testStreamDriverBadInput(t *testing.T, f BackendFactory) {
	ctx := context.Background()
	e := newStreamEnv(t, f)
	for i := 0; i < 3; i++ {
		require.NoError(t, e.store.Put(ctx, fmt.Sprintf("k%d", i), -1, i))
	}
	all := readAll(t, e.stream)
	require.Len(t, all, 3)
	for _, limit := range []int{0, -1} {
		rs, _, _, err := e.b.Stream.Read(ctx, streamdriver.Query{Limit: limit})
		require.ErrorIs(t, err, kvcore.ErrInvalidArgument, "read limit %d", limit)
		require.Empty(t, rs, "read limit %d", limit)
	}
	for _, keep := range []bool{true, false} {
		_, err := e.b.Stream.Trim(ctx, -1, keep)
		require.ErrorIs(t, err, kvcore.ErrInvalidArgument, "trim -1, keepConsumers %v", keep)
	}
	trimmed, last, err := e.b.Stream.Bounds(ctx)
	require.NoError(t, err)
	require.Equal(t, int64(0), trimmed, "nothing was trimmed")
	require.Equal(t, all[2].Seq, last)
	require.Equal(t, all, readAll(t, e.stream))
}

func testConsumerModes(t *testing.T, f BackendFactory) {
	ctx := context.Background()
	e := newStreamEnv(t, f)
	for i := 0; i < 6; i++ {
		require.NoError(t, e.store.Put(ctx, fmt.Sprintf("k%d", i), -1, i))
	}
	all := readAll(t, e.stream)

	// none: a peek returns the same batch again and commits nothing.
	peek, err := e.stream.Consumer("peek", kvstream.Commit(kvstream.CommitNone), kvstream.BatchSize(4))
	require.NoError(t, err)
	for i := 0; i < 2; i++ {
		got, err := peek.Get(ctx)
		require.NoError(t, err)
		require.Equal(t, all[:4], got)
	}
	st, err := e.stream.ConsumerStatus(ctx, "peek")
	require.NoError(t, err)
	require.Equal(t, int64(0), st.Position)

	// batch: each Get commits its batch.
	batch, err := e.stream.Consumer("batch", kvstream.BatchSize(4))
	require.NoError(t, err)
	got, err := batch.Get(ctx)
	require.NoError(t, err)
	require.Equal(t, all[:4], got)
	got, err = batch.Get(ctx)
	require.NoError(t, err)
	require.Equal(t, all[4:], got)
	got, err = batch.Get(ctx)
	require.NoError(t, err)
	require.Empty(t, got)
	st, err = e.stream.ConsumerStatus(ctx, "batch")
	require.NoError(t, err)
	require.Equal(t, all[5].Seq, st.Position)

	// all: Run commits after each record; a failing handler leaves the
	// position after the last record it handled.
	each, err := e.stream.Consumer("each", kvstream.Commit(kvstream.CommitAll), kvstream.BatchSize(10))
	require.NoError(t, err)
	boom := errors.New("boom")
	var seen []int64
	err = each.Run(ctx, func(ctx context.Context, r kvstream.Record) error {
		if len(seen) == 3 {
			return boom
		}
		seen = append(seen, r.Seq)
		return nil
	})
	require.ErrorIs(t, err, boom)
	st, err = e.stream.ConsumerStatus(ctx, "each")
	require.NoError(t, err)
	require.Equal(t, all[2].Seq, st.Position)
	require.False(t, st.Held, "Run releases the lease when it returns")

	// batch mode in Run: a failure mid-batch commits nothing of that batch.
	mid, err := e.stream.Consumer("mid", kvstream.Commit(kvstream.CommitBatch), kvstream.BatchSize(10))
	require.NoError(t, err)
	calls := 0
	err = mid.Run(ctx, func(ctx context.Context, r kvstream.Record) error {
		calls++
		if calls == 3 {
			return boom
		}
		return nil
	})
	require.ErrorIs(t, err, boom)
	st, err = e.stream.ConsumerStatus(ctx, "mid")
	require.NoError(t, err)
	require.Equal(t, int64(0), st.Position)

	// Filters: a consumer gets only matching entries, batch after batch.
	other, err := e.store.Namespace("other")
	require.NoError(t, err)
	for i := 0; i < 3; i++ {
		require.NoError(t, other.Put(ctx, fmt.Sprintf("o%d", i), -1, i))
		require.NoError(t, e.store.Put(ctx, fmt.Sprintf("d%d", i), -1, i))
	}
	filtered, err := e.stream.Consumer("filtered", kvstream.Filters(kvstream.InNamespace("other")), kvstream.BatchSize(2))
	require.NoError(t, err)
	var keys []string
	for {
		got, err := filtered.Get(ctx)
		require.NoError(t, err)
		if len(got) == 0 {
			break
		}
		require.LessOrEqual(t, len(got), 2)
		for _, r := range got {
			keys = append(keys, r.Namespace+"/"+r.Key)
		}
	}
	require.Equal(t, []string{"other/o0", "other/o1", "other/o2"}, keys)
}

func testConsumerExclusive(t *testing.T, f BackendFactory) {
	ctx := context.Background()
	e := newStreamEnv(t, f)
	require.NoError(t, e.store.Put(ctx, "k", -1, 1))
	a, err := e.stream.Consumer("c", kvstream.Owner("a"))
	require.NoError(t, err)
	b, err := e.stream.Consumer("c", kvstream.Owner("b"))
	require.NoError(t, err)
	_, err = a.Get(ctx)
	require.NoError(t, err)
	_, err = b.Get(ctx)
	require.ErrorIs(t, err, kvlock.ErrHeld, "one instance of a consumer reads at a time")
	require.ErrorIs(t, b.Commit(ctx, 1), kvstream.ErrFenced, "an instance without the lease cannot commit")
	require.NoError(t, a.Close(ctx))
	_, err = b.Get(ctx)
	require.NoError(t, err, "after a releases, b reads")
}

// testConsumerTakeOver: instance a stalls mid-batch, its lease expires and b
// takes over; b reloads the committed position and gets every record a did
// not commit; a's late commit is refused.
func testConsumerTakeOver(t *testing.T, f BackendFactory) {
	ctx := context.Background()
	e := newStreamEnv(t, f)
	for i := 0; i < 9; i++ {
		require.NoError(t, e.store.Put(ctx, fmt.Sprintf("k%d", i), -1, i))
	}
	all := readAll(t, e.stream)
	opts := []kvstream.ConsumerOption{kvstream.BatchSize(3), kvstream.LeaseDuration(10 * time.Second), kvstream.Commit(kvstream.CommitNone)}
	a, err := e.stream.Consumer("c", append(opts, kvstream.Owner("a"))...)
	require.NoError(t, err)
	b, err := e.stream.Consumer("c", append(opts, kvstream.Owner("b"))...)
	require.NoError(t, err)

	got, err := a.Get(ctx)
	require.NoError(t, err)
	require.Equal(t, all[:3], got)
	require.NoError(t, a.Commit(ctx, got[2].Seq))
	got, err = a.Get(ctx)
	require.NoError(t, err)
	require.Equal(t, all[3:6], got)
	require.NoError(t, a.Commit(ctx, got[0].Seq)) // a handled one record of the batch, then stalls

	e.clock.Advance(11 * time.Second)
	got, err = b.Get(ctx)
	require.NoError(t, err)
	require.Equal(t, all[4:7], got, "b resumes right after a's last commit")
	require.ErrorIs(t, a.Commit(ctx, all[5].Seq), kvstream.ErrFenced, "the loser cannot commit")
	require.NoError(t, b.Commit(ctx, got[2].Seq))
	st, err := e.stream.ConsumerStatus(ctx, "c")
	require.NoError(t, err)
	require.Equal(t, all[6].Seq, st.Position)
	require.Equal(t, "b", st.Lease.Owner)

	// a cannot read while b holds the lease; when b's lease lapses, a takes
	// over again and reloads b's position.
	_, err = a.Get(ctx)
	require.ErrorIs(t, err, kvlock.ErrHeld)
	e.clock.Advance(11 * time.Second)
	got, err = a.Get(ctx)
	require.NoError(t, err)
	require.Equal(t, all[7:9], got)
}

func testConsumerStatus(t *testing.T, f BackendFactory) {
	ctx := context.Background()
	e := newStreamEnv(t, f)
	for i := 0; i < 5; i++ {
		require.NoError(t, e.store.Put(ctx, fmt.Sprintf("k%d", i), -1, i))
	}
	all := readAll(t, e.stream)
	c, err := e.stream.Consumer("one", kvstream.BatchSize(2), kvstream.Owner("me"))
	require.NoError(t, err)
	_, err = c.Get(ctx)
	require.NoError(t, err)
	st, err := e.stream.ConsumerStatus(ctx, "one")
	require.NoError(t, err)
	require.Equal(t, all[1].Seq, st.Position)
	require.Equal(t, int64(3), st.Lag)
	require.True(t, st.Held)
	require.Equal(t, "me", st.Lease.Owner)

	require.NoError(t, e.stream.SetPosition(ctx, "two", all[3].Seq))
	cs, err := e.stream.Consumers(ctx)
	require.NoError(t, err)
	require.Len(t, cs, 2)
	require.Equal(t, "one", cs[0].Name)
	require.Equal(t, "two", cs[1].Name)
	require.Equal(t, int64(1), cs[1].Lag)

	// A new consumer that starts at the end sees only what comes after.
	tail, err := e.stream.Consumer("tail", kvstream.StartAtEnd())
	require.NoError(t, err)
	got, err := tail.Get(ctx)
	require.NoError(t, err)
	require.Empty(t, got)
	require.NoError(t, e.store.Put(ctx, "new", -1, 1))
	got, err = tail.Get(ctx)
	require.NoError(t, err)
	require.Len(t, got, 1)
	require.Equal(t, "new", got[0].Key)

	ok, err := e.stream.DeleteConsumer(ctx, "two")
	require.NoError(t, err)
	require.True(t, ok)
	ok, err = e.stream.DeleteConsumer(ctx, "two")
	require.NoError(t, err)
	require.False(t, ok)
	_, err = e.stream.ConsumerStatus(ctx, "two")
	require.ErrorIs(t, err, kvstream.ErrNotFound)
}

// testStreamGapFree: writers commit overlapping multi-change transactions
// while a reader tails the stream. The reader must see every entry exactly
// once and in order: what it saw equals the final stream.
func testStreamGapFree(t *testing.T, f BackendFactory) {
	ctx := context.Background()
	e := newStreamEnv(t, f)
	const writers, txs, per = 8, 15, 3
	var wg sync.WaitGroup
	errs := make(chan error, writers+1)
	for w := 0; w < writers; w++ {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for i := 0; i < txs; i++ {
				ms := make([]kvcore.Mutation, per)
				for j := range ms {
					ms[j] = kvcore.Put(fmt.Sprintf("w%d/%d/%d", w, i, j), 0, j)
				}
				if _, err := e.store.MutateAll(ctx, ms...); err != nil {
					errs <- err
					return
				}
			}
		}()
	}
	done := make(chan struct{})
	writing := doneWriting(&wg)
	var seen []kvstream.Record
	go func() {
		defer close(done)
		var after int64
		for {
			finished := false
			select {
			case <-writing:
				finished = true
			default:
			}
			rs, err := e.stream.Read(ctx, after+1, 7)
			if err != nil {
				errs <- err
				return
			}
			seen = append(seen, rs...)
			if len(rs) > 0 {
				after = rs[len(rs)-1].Seq
			} else if finished {
				return
			}
		}
	}()
	wg.Wait()
	<-done
	close(errs)
	for err := range errs {
		require.NoError(t, err)
	}
	final := readAll(t, e.stream)
	require.Len(t, final, writers*txs*per)
	require.Equal(t, final, seen, "the tailing reader saw exactly the final stream")
	keys := map[string]bool{}
	for _, r := range seen {
		require.False(t, keys[r.Key], "key %s seen twice", r.Key)
		keys[r.Key] = true
	}
}

// testStreamReadYourWrites: many goroutines at once each write a key and
// then read on from where they were; each finds its own write, whatever
// the others' reads are doing (a backend may share work between concurrent
// reads, never so that a read misses a write that committed before it).
func testStreamReadYourWrites(t *testing.T, f BackendFactory) {
	ctx := context.Background()
	e := newStreamEnv(t, f)
	const workers, rounds = 8, 25
	var wg sync.WaitGroup
	errs := make(chan error, workers)
	for w := range workers {
		wg.Add(1)
		go func() {
			defer wg.Done()
			from := int64(1)
			for i := range rounds {
				key := fmt.Sprintf("w%d/%03d", w, i)
				if err := e.store.Put(ctx, key, -1, i); err != nil {
					errs <- err
					return
				}
				for found := false; !found; {
					rs, err := e.stream.Read(ctx, from, 1000)
					if err != nil {
						errs <- err
						return
					}
					if len(rs) == 0 {
						errs <- fmt.Errorf("%s: written, then not in the stream from %d on", key, from)
						return
					}
					for _, r := range rs {
						found = found || r.Key == key
					}
					from = rs[len(rs)-1].Seq + 1
				}
			}
		}()
	}
	wg.Wait()
	close(errs)
	for err := range errs {
		require.NoError(t, err)
	}
	require.Len(t, readAll(t, e.stream), workers*rounds)
}

// doneWriting returns a channel closed once wg is done.
func doneWriting(wg *sync.WaitGroup) <-chan struct{} {
	ch := make(chan struct{})
	go func() { wg.Wait(); close(ch) }()
	return ch
}

// testConsumerRun: a continuous consumer receives changes made while it
// runs. With a backend that notifies, the poll interval is an hour, so only
// the notification can wake it.
func testConsumerRun(t *testing.T, f BackendFactory) {
	b := f(t)
	_, notifies := b.Stream.(streamdriver.Notifier)
	poll := 50 * time.Millisecond
	if notifies {
		poll = time.Hour
	}
	store, err := kvcore.New(b.Store, kvcore.WithSweepInterval(0))
	require.NoError(t, err)
	t.Cleanup(func() { _ = store.Close() })
	// The consumer's idle waits double from 10ms up to poll.
	idle := &idleLog{atLeast: min(poll, 160*time.Millisecond), idle: make(chan struct{})}
	st, err := kvstream.New(b.Stream, kvstream.WithMaxPoll(poll), kvstream.WithLogger(slog.New(idle)))
	require.NoError(t, err)
	c, err := st.Consumer("live", kvstream.Commit(kvstream.CommitAll), kvstream.LeaseDuration(5*time.Second))
	require.NoError(t, err)

	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	got := make(chan kvstream.Record, 100)
	runErr := make(chan error, 1)
	go func() {
		runErr <- c.Run(ctx, func(ctx context.Context, r kvstream.Record) error {
			got <- r
			return nil
		})
	}()
	// Let the consumer go idle first (it found nothing to read, again and
	// again, and now waits long), so that it must be woken.
	waitIdle(t, idle.idle, runErr, "consumer")
	for i := 0; i < 5; i++ {
		require.NoError(t, store.Put(context.Background(), fmt.Sprintf("live/%d", i), -1, i))
		select {
		case r := <-got:
			require.Equal(t, fmt.Sprintf("live/%d", i), r.Key)
		case <-time.After(20 * time.Second):
			t.Fatalf("the consumer was not woken for change %d (notifies: %v)", i, notifies)
		}
	}
	// CommitAll commits each record after its handler returns.
	require.Eventually(t, func() bool {
		s, err := st.ConsumerStatus(context.Background(), "live")
		return err == nil && s.Lag == 0
	}, 20*time.Second, 10*time.Millisecond)
	cancel()
	require.NoError(t, <-runErr, "Run returns nil when its context ends")
	status, err := st.ConsumerStatus(context.Background(), "live")
	require.NoError(t, err)
	require.False(t, status.Held, "Run released the lease on shutdown")
}

// idleLog is a log handler that closes idle when a continuous consumer
// logs that it found nothing to read and waits atLeast or longer (kvstream
// logs this at debug level, with the wait, before each idle wait).
type idleLog struct {
	atLeast time.Duration
	once    sync.Once
	idle    chan struct{}
}

func (h *idleLog) Enabled(context.Context, slog.Level) bool { return true }

func (h *idleLog) Handle(_ context.Context, r slog.Record) error {
	if r.Message != "consumer idle: waiting" {
		return nil
	}
	r.Attrs(func(a slog.Attr) bool {
		if a.Key == "wait" && a.Value.Kind() == slog.KindDuration && a.Value.Duration() >= h.atLeast {
			h.once.Do(func() { close(h.idle) })
			return false
		}
		return true
	})
	return nil
}

func (h *idleLog) WithAttrs([]slog.Attr) slog.Handler { return h }
func (h *idleLog) WithGroup(string) slog.Handler      { return h }
