package rqlitekv

import (
	"context"
	"encoding/json"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"github.com/kvsuite/kv/kvcore"
	"github.com/kvsuite/kv/kvcore/driver"
	lockdriver "github.com/kvsuite/kv/kvlock/driver"
	streamdriver "github.com/kvsuite/kv/kvstream/driver"
	"github.com/kvsuite/kv/sqlitedialect"
)

// TestOneRequestPerLeaseAndStreamOp checks that every Locker and Stream
// operation is exactly one HTTP request to rqlite: writes on /db/request
// (one transaction), reads on /db/query.
func TestOneRequestPerLeaseAndStreamOp(t *testing.T) {
	db, c := openCounted(t)
	ctx := context.Background()
	_, err := db.Apply(ctx, driver.Batch{Now: t0, Ops: []driver.Op{
		{Kind: driver.OpPut, Key: "a", Version: -1, Value: []byte(`1`)},
		{Kind: driver.OpPut, Key: "b", Version: -1, Value: []byte(`2`)},
	}})
	require.NoError(t, err)

	check := func(name string, want counts, call func() error) {
		t.Helper()
		before := c.get()
		require.NoError(t, call(), name)
		after := c.get()
		got := counts{after.request - before.request, after.query - before.query, after.execute - before.execute}
		require.Equal(t, want, got, name)
	}
	write, read := counts{request: 1}, counts{query: 1}
	var le lockdriver.Lease
	check("acquire", write, func() error { le, _, err = db.Acquire(ctx, "l", "me", t0, time.Minute); return err })
	check("refused acquire", write, func() error { _, _, err := db.Acquire(ctx, "l", "you", t0, time.Minute); return err })
	check("lease", read, func() error { _, _, err := db.Lease(ctx, "l"); return err })
	check("create consumer", write, func() error { _, err := db.CreateConsumer(ctx, "c", 0, t0); return err })
	check("consumer", read, func() error { _, _, err := db.Consumer(ctx, "c"); return err })
	check("consumers", read, func() error { _, err := db.Consumers(ctx); return err })
	check("read", read, func() error {
		_, _, _, err := db.Read(ctx, streamdriver.Query{Limit: 10, HasNamespace: true, Type: ""})
		return err
	})
	check("bounds", read, func() error { _, _, err := db.Bounds(ctx); return err })
	check("fenced commit", write, func() error {
		return db.Commit(ctx, "c", 1, &driver.Fence{Name: "l", Token: le.Token}, t0)
	})
	check("trim", write, func() error { _, err := db.Trim(ctx, 5, true); return err })
	check("delete consumer", write, func() error { _, err := db.DeleteConsumer(ctx, "c"); return err })
	check("release", write, func() error { _, err := db.Release(ctx, "l", "me", t0); return err })
}

// TestAcquireRefusedReturnsHolder: a refused Acquire returns the holder's
// lease as stored and changes nothing; tokens grow at every hand-over.
func TestAcquireRefusedReturnsHolder(t *testing.T) {
	db := openEmpty(t)
	ctx := context.Background()
	// Names and owners shaped like rqlite's BLOB literals stay text.
	name, alice, bob := "x'6c'", "x'61'", "X'62'"
	le, ok, err := db.Acquire(ctx, name, alice, t0, time.Minute)
	require.NoError(t, err)
	require.True(t, ok)
	want := lockdriver.Lease{Name: name, Owner: alice, Token: 1, Expires: t0.Add(time.Minute), Acquired: t0}
	require.Equal(t, want, le)

	le, ok, err = db.Acquire(ctx, name, bob, t0.Add(time.Second), time.Hour)
	require.NoError(t, err)
	require.False(t, ok)
	require.Equal(t, want, le, "the holder's lease")
	st, found, err := db.Lease(ctx, name)
	require.NoError(t, err)
	require.True(t, found)
	require.Equal(t, want, st, "a refused acquire changes nothing")

	// An extension keeps the token and the acquisition time; a take-over
	// after expiry grows the token and sets the time anew.
	le, ok, err = db.Acquire(ctx, name, alice, t0.Add(30*time.Second), time.Minute)
	require.NoError(t, err)
	require.True(t, ok)
	require.Equal(t, lockdriver.Lease{Name: name, Owner: alice, Token: 1, Expires: t0.Add(90 * time.Second), Acquired: t0}, le)
	later := t0.Add(90 * time.Second) // alice's expiry: no longer held
	le, ok, err = db.Acquire(ctx, name, bob, later, time.Minute)
	require.NoError(t, err)
	require.True(t, ok)
	require.Equal(t, int64(2), le.Token)
	require.Equal(t, later, le.Acquired)

	// Release: only the holder; the row and token stay, owner and expiry
	// are cleared.
	ok, err = db.Release(ctx, name, alice, later)
	require.NoError(t, err)
	require.False(t, ok)
	ok, err = db.Release(ctx, name, bob, later)
	require.NoError(t, err)
	require.True(t, ok)
	st, found, err = db.Lease(ctx, name)
	require.NoError(t, err)
	require.True(t, found)
	require.Equal(t, lockdriver.Lease{Name: name, Token: 2}, st)
	le, ok, err = db.Acquire(ctx, name, bob, later, time.Minute)
	require.NoError(t, err)
	require.True(t, ok)
	require.Equal(t, int64(3), le.Token)

	_, found, err = db.Lease(ctx, "never")
	require.NoError(t, err)
	require.False(t, found)
}

// TestCommitFenceAndMissing: Commit needs an existing consumer and, with
// a fence, the lease held with that token at now; a refused commit changes
// nothing.
func TestCommitFenceAndMissing(t *testing.T) {
	db := openEmpty(t)
	ctx := context.Background()
	require.ErrorIs(t, db.Commit(ctx, "c", 3, nil, t0), streamdriver.ErrNoConsumer)
	le, ok, err := db.Acquire(ctx, "lease", "me", t0, time.Minute)
	require.NoError(t, err)
	require.True(t, ok)
	fence := &driver.Fence{Name: "lease", Token: le.Token}
	require.ErrorIs(t, db.Commit(ctx, "c", 3, fence, t0), streamdriver.ErrNoConsumer)

	c, err := db.CreateConsumer(ctx, "c", 2, t0)
	require.NoError(t, err)
	require.Equal(t, streamdriver.Consumer{Name: "c", Position: 2, Updated: t0}, c)
	c, err = db.CreateConsumer(ctx, "c", 9, t0.Add(time.Second))
	require.NoError(t, err)
	require.Equal(t, streamdriver.Consumer{Name: "c", Position: 2, Updated: t0}, c, "an existing consumer is returned as stored")

	require.NoError(t, db.Commit(ctx, "c", 5, fence, t0.Add(time.Second)))
	require.ErrorIs(t, db.Commit(ctx, "c", 6, &driver.Fence{Name: "lease", Token: le.Token + 1}, t0), driver.ErrFenced)
	require.ErrorIs(t, db.Commit(ctx, "c", 6, fence, t0.Add(time.Minute)), driver.ErrFenced, "expired")
	require.ErrorIs(t, db.Commit(ctx, "c", 6, &driver.Fence{Name: "other", Token: 1}, t0), driver.ErrFenced)
	c, ok, err = db.Consumer(ctx, "c")
	require.NoError(t, err)
	require.True(t, ok)
	require.Equal(t, streamdriver.Consumer{Name: "c", Position: 5, Updated: t0.Add(time.Second)}, c)

	// Unfenced commits may move the position anywhere (an administrator).
	require.NoError(t, db.Commit(ctx, "c", 1, nil, t0))
	ok, err = db.DeleteConsumer(ctx, "c")
	require.NoError(t, err)
	require.True(t, ok)
	ok, err = db.DeleteConsumer(ctx, "c")
	require.NoError(t, err)
	require.False(t, ok)
	_, ok, err = db.Consumer(ctx, "c")
	require.NoError(t, err)
	require.False(t, ok)
}

// TestReadAndTrim: Read returns the watermark with its entries (also when
// there are none), filters by namespace and type, and Trim never covers
// entries not yet written, never lowers the watermark and respects the
// slowest consumer unless forced.
func TestReadAndTrim(t *testing.T) {
	s, db, now := newStore(t)
	ctx := context.Background()
	other, err := s.Namespace("x'6e73'")
	require.NoError(t, err)
	for i := 0; i < 4; i++ {
		require.NoError(t, s.Put(ctx, "k", -1, i, kvcore.WithType("x'74'")))
		require.NoError(t, other.Put(ctx, "k", -1, json.RawMessage(`null`)))
	}
	rs, trimmed, _, err := db.Read(ctx, streamdriver.Query{Limit: 100})
	require.NoError(t, err)
	require.Equal(t, int64(0), trimmed)
	require.Len(t, rs, 8)
	for i, r := range rs {
		require.Equal(t, int64(i+1), r.Seq)
		require.True(t, r.Time.Equal(*now))
	}
	require.Equal(t, streamdriver.Record{Seq: 1, Key: "k", Action: "create", Version: 1, Type: "x'74'", Value: []byte(`0`), Time: t0}, rs[0])
	rs, _, _, err = db.Read(ctx, streamdriver.Query{Limit: 100, Namespace: "x'6e73'", HasNamespace: true})
	require.NoError(t, err)
	require.Len(t, rs, 4)
	require.Equal(t, "x'6e73'", rs[0].Namespace)
	rs, _, _, err = db.Read(ctx, streamdriver.Query{After: 2, Limit: 2, Type: "x'74'"})
	require.NoError(t, err)
	require.Equal(t, []int64{3, 5}, seqs(rs))

	// A trim past the end stops at the last entry written.
	w, err := db.Trim(ctx, 1000, false)
	require.NoError(t, err)
	require.Equal(t, int64(8), w)
	rs, trimmed, _, err = db.Read(ctx, streamdriver.Query{After: 3, Limit: 10})
	require.NoError(t, err)
	require.Empty(t, rs)
	require.Equal(t, int64(8), trimmed, "the watermark comes with an empty read")
	first, last, err := db.Bounds(ctx)
	require.NoError(t, err)
	require.Equal(t, [2]int64{8, 8}, [2]int64{first, last}, "an empty trimmed stream ends at its watermark")

	require.NoError(t, s.Put(ctx, "k", -1, 9))
	rs, trimmed, _, err = db.Read(ctx, streamdriver.Query{After: 8, Limit: 10})
	require.NoError(t, err)
	require.Equal(t, []int64{9}, seqs(rs), "later entries are not covered by an earlier trim")
	require.Equal(t, int64(8), trimmed)

	// A new consumer starts at the watermark at least; trimming keeps its
	// entries unless forced; the watermark never decreases.
	c, err := db.CreateConsumer(ctx, "slow", 0, *now)
	require.NoError(t, err)
	require.Equal(t, int64(8), c.Position)
	require.NoError(t, s.Put(ctx, "k", -1, 10))
	w, err = db.Trim(ctx, 10, true)
	require.NoError(t, err)
	require.Equal(t, int64(8), w)
	w, err = db.Trim(ctx, 3, false)
	require.NoError(t, err)
	require.Equal(t, int64(8), w)
	w, err = db.Trim(ctx, 9, false)
	require.NoError(t, err)
	require.Equal(t, int64(9), w)
	rs, trimmed, _, err = db.Read(ctx, streamdriver.Query{Limit: 10})
	require.NoError(t, err)
	require.Equal(t, []int64{10}, seqs(rs))
	require.Equal(t, int64(9), trimmed)
}

func seqs(rs []streamdriver.Record) []int64 {
	out := make([]int64, len(rs))
	for i, r := range rs {
		out[i] = r.Seq
	}
	return out
}

// TestMigrateFromV1: a database made by the first schema version (records,
// stream, leases) gets the stream tables from Init's second migration,
// keeping its data.
func TestMigrateFromV1(t *testing.T) {
	db, err := Open(serverURL(t), WithTimeout(time.Minute))
	require.NoError(t, err)
	defer db.Close()
	ctx := context.Background()
	if serverKind != "rqlitetest" {
		dropAll(t, db)
	}
	_, _, _, err = db.Read(ctx, streamdriver.Query{Limit: 1})
	require.ErrorIs(t, err, driver.ErrNotInitialized)
	_, _, err = db.Acquire(ctx, "l", "me", t0, time.Minute)
	require.ErrorIs(t, err, driver.ErrNotInitialized)

	require.NoError(t, db.migrate(ctx, migrations[0]))
	// Store writes need the request log of a later migration: refused,
	// nothing applied.
	_, err = db.Apply(ctx, driver.Batch{Now: t0, Ops: []driver.Op{{Kind: driver.OpPut, Key: "x", Version: -1, Value: []byte(`1`)}}})
	require.ErrorIs(t, err, driver.ErrNotInitialized)
	// A record as a driver of that schema version wrote it.
	_, err = db.conn.WriteContext(ctx, []string{
		"INSERT INTO records (namespace, key, version, type, created, updated, value) VALUES ('', 'k', 1, '', 1, 1, '1')",
		"INSERT INTO stream (namespace, key, action, version, type, value, ts) VALUES ('', 'k', 'create', 1, '', '1', 1)",
	})
	require.NoError(t, err)
	_, err = db.Consumers(ctx)
	require.ErrorIs(t, err, driver.ErrNotInitialized)
	_, err = db.Trim(ctx, 1, false)
	require.ErrorIs(t, err, driver.ErrNotInitialized)

	require.NoError(t, db.Init(ctx))
	require.NoError(t, db.Init(ctx), "idempotent")
	rs, trimmed, _, err := db.Read(ctx, streamdriver.Query{Limit: 10})
	require.NoError(t, err)
	require.Equal(t, int64(0), trimmed)
	require.Len(t, rs, 1)
	cs, err := db.Consumers(ctx)
	require.NoError(t, err)
	require.Empty(t, cs)
}

// TestWritesNeedThePutView: on a database an older kv left at schema
// version 9 (no put_op view), a batch with a put is refused with
// ErrNotInitialized and changes nothing, its delete included (rqlite
// would run the rest of a request whose statement cannot be prepared);
// after Init the same batch applies.
func TestWritesNeedThePutView(t *testing.T) {
	db := openUninitialised(t)
	ctx := context.Background()
	for _, m := range migrations {
		if m.version <= sqlitedialect.Converged {
			require.NoError(t, db.migrate(ctx, m), m.name)
		}
	}
	_, err := db.conn.WriteOneContext(ctx, "INSERT INTO records (namespace, key, version, type, created, updated, value) VALUES ('', 'old', 1, '', 1, 1, '1')")
	require.NoError(t, err)
	batch := driver.Batch{Now: t0, Ops: []driver.Op{
		{Kind: driver.OpDelete, Key: "old", Version: -1},
		{Kind: driver.OpPut, Key: "new", Version: -1, Value: []byte(`2`)},
	}}
	_, err = db.Apply(ctx, batch)
	require.ErrorIs(t, err, driver.ErrNotInitialized)
	require.Contains(t, err.Error(), "Init")
	n, err := db.Count(ctx, driver.Selector{Keys: []string{"old"}}, t0)
	require.NoError(t, err)
	require.Equal(t, int64(1), n, "the delete was not applied")

	require.NoError(t, db.Init(ctx))
	res, err := db.Apply(ctx, batch)
	require.NoError(t, err)
	require.Equal(t, []driver.Result{{Rows: 1}, {Rows: 1}}, res)
}
