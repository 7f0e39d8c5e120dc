package kvcache

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"math/rand/v2"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/kvsuite/kv/kvcore"
)

// These tests check the cache's own logic over fakeDB, an in-memory fake
// whose reads can be held in flight. The proof against real databases
// (linearizability, bounded staleness, writers in other processes) is in
// the reliability module.

var quiet = slog.New(slog.NewTextHandler(io.Discard, nil))

// clock is a settable clock for the store.
type clock struct{ t atomic.Int64 }

func (c *clock) now() time.Time      { return time.Unix(0, c.t.Load()) }
func (c *clock) add(d time.Duration) { c.t.Add(int64(d)) }

type setup struct {
	db    *fakeDB
	c     *Cache
	store *kvcore.Store // the cache's store
	other *kvcore.Store // another writer on the same database
	clock *clock
}

// newSetup returns a cache over a fresh fakeDB, synced to the stream's
// head, and another store on the same database. By default the follower
// reads only when woken (the poll interval is long).
func newSetup(t *testing.T, opts ...Option) *setup {
	t.Helper()
	s := &setup{db: newFakeDB(), clock: &clock{}}
	s.clock.t.Store(time.Date(2030, 1, 1, 0, 0, 0, 0, time.UTC).UnixNano())
	var err error
	if s.store, err = kvcore.New(s.db, kvcore.WithSweepInterval(0), kvcore.WithClock(s.clock.now)); err != nil {
		t.Fatal(err)
	}
	if s.other, err = kvcore.New(s.db, kvcore.WithSweepInterval(0), kvcore.WithClock(s.clock.now)); err != nil {
		t.Fatal(err)
	}
	opts = append([]Option{WithLogger(quiet), Bounded(time.Hour), PollInterval(time.Minute)}, opts...)
	if s.c, err = New(s.store, s.db, opts...); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { s.c.Close() })
	s.sync(t)
	return s
}

func (s *setup) sync(t *testing.T) {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	if err := s.c.Sync(ctx); err != nil {
		t.Fatal(err)
	}
}

// get reads key through the cache and returns its value ("" if missing).
func (s *setup) get(t *testing.T, key string) string {
	t.Helper()
	r, ok, err := s.c.Get(context.Background(), key, nil)
	if err != nil {
		t.Fatal(err)
	}
	if !ok {
		return ""
	}
	return string(r.Value)
}

func (s *setup) put(t *testing.T, st *kvcore.Store, key, value string, opts ...kvcore.WriteOption) {
	t.Helper()
	if err := st.Put(context.Background(), key, -1, json.RawMessage(value), opts...); err != nil {
		t.Fatal(err)
	}
}

func TestReadThroughAndAbsentKeys(t *testing.T) {
	s := newSetup(t)
	s.put(t, s.other, "k", `1`)
	q := s.db.queries.Load()
	if got := s.get(t, "k"); got != `1` {
		t.Fatalf("get k = %q", got)
	}
	if got := s.get(t, "k"); got != `1` {
		t.Fatalf("second get k = %q", got)
	}
	if got := s.get(t, "missing"); got != "" {
		t.Fatalf("get missing = %q", got)
	}
	if got := s.get(t, "missing"); got != "" {
		t.Fatalf("second get missing = %q", got)
	}
	if n := s.db.queries.Load() - q; n != 2 {
		t.Fatalf("4 gets of 2 keys made %d database reads, want 2 (one per key)", n)
	}
	st := s.c.Stats()
	if st.Hits != 2 || st.Misses != 2 || st.Bypassed != 0 || st.Entries != 2 {
		t.Fatalf("stats %+v: want 2 hits, 2 misses, 2 entries", st)
	}
	if st.HitRate() != 0.5 {
		t.Fatalf("hit rate %v, want 0.5", st.HitRate())
	}

	// Another writer creates the missing key and changes k: once the
	// follower has read the stream, neither is answered from memory.
	s.put(t, s.other, "missing", `2`)
	s.put(t, s.other, "k", `3`)
	s.sync(t)
	if got := s.get(t, "missing"); got != `2` {
		t.Fatalf("get of a key created by another writer = %q, want 2", got)
	}
	if got := s.get(t, "k"); got != `3` {
		t.Fatalf("get of a key changed by another writer = %q, want 3", got)
	}
	if _, err := s.other.Delete(context.Background(), "k"); err != nil {
		t.Fatal(err)
	}
	s.sync(t)
	if got := s.get(t, "k"); got != "" {
		t.Fatalf("get of a key deleted by another writer = %q", got)
	}
}

// holdRead makes the next database read of key wait, once it has read its
// answer, until release is called; reading reports when it has.
func holdRead(db *fakeDB, key string) (reading <-chan struct{}, release func()) {
	r, rel := make(chan struct{}), make(chan struct{})
	var once sync.Once
	db.setQueried(func(keys []string) {
		if len(keys) == 1 && keys[0] == key {
			once.Do(func() {
				close(r)
				<-rel
			})
		}
	})
	return r, func() { close(rel) }
}

// TestFillRacingAChange holds a read of a key in flight (its answer
// already read from the database) while the key changes, then releases
// it: the old answer must not be installed, or later reads would be
// answered with it after the follower had moved past the change.
func TestFillRacingAChange(t *testing.T) {
	for _, how := range []string{"another writer", "a write through the cache", "a delete through the cache"} {
		t.Run(how, func(t *testing.T) {
			s := newSetup(t)
			s.put(t, s.other, "k", `"old"`)
			s.sync(t)
			reading, release := holdRead(s.db, "k")
			got := make(chan string)
			go func() { got <- s.get(t, "k") }()
			<-reading
			want := `"new"`
			switch how {
			case "another writer":
				s.put(t, s.other, "k", want)
				s.sync(t) // the follower applies the change while the read is in flight
			case "a write through the cache":
				if err := s.c.Put(context.Background(), "k", -1, json.RawMessage(want)); err != nil {
					t.Fatal(err)
				}
			case "a delete through the cache":
				if _, err := s.c.Delete(context.Background(), "k"); err != nil {
					t.Fatal(err)
				}
				want = ""
			}
			release()
			if g := <-got; g != `"old"` {
				t.Fatalf("the held read returned %q, want the old value it read", g)
			}
			s.db.setQueried(nil)
			for range 2 {
				if g := s.get(t, "k"); g != want {
					t.Fatalf("after the change, get = %q, want %q", g, want)
				}
			}
		})
	}
}

// TestReadsShareAFill checks that reads of a key that misses share one
// database read, and that a read arriving after a change does not share
// one that began before it.
func TestReadsShareAFill(t *testing.T) {
	s := newSetup(t)
	s.put(t, s.other, "k", `1`)
	s.sync(t)
	reading, release := holdRead(s.db, "k")
	var wg sync.WaitGroup
	results := make([]string, 8)
	wg.Add(1)
	go func() { defer wg.Done(); results[0] = s.get(t, "k") }()
	<-reading
	q := s.db.queries.Load()
	for i := 1; i < 8; i++ {
		wg.Add(1)
		go func() { defer wg.Done(); results[i] = s.get(t, "k") }()
	}
	waitFor(t, "the 7 readers to join the read in flight", func() bool { return s.c.Stats().Shared == 7 })
	release()
	wg.Wait()
	for i, r := range results {
		if r != `1` {
			t.Fatalf("reader %d got %q", i, r)
		}
	}
	if n := s.db.queries.Load() - q; n != 0 {
		t.Fatalf("7 reads that joined a read in flight made %d database reads", n)
	}
}

func TestReadYourWrites(t *testing.T) {
	s := newSetup(t) // the follower reads only when woken: writes must not wait for it
	ctx := context.Background()
	s.put(t, s.store, "k", `1`)
	if got := s.get(t, "k"); got != `1` {
		t.Fatalf("get = %q", got)
	}
	steps := []struct {
		name  string
		write func() error
		key   string
		want  string
	}{
		{"put", func() error { return s.c.Put(ctx, "k", -1, json.RawMessage(`2`)) }, "k", `2`},
		{"patch", func() error { return s.c.Patch(ctx, "o", -1, json.RawMessage(`{"a":1}`)) }, "o", `{"a":1}`},
		{"patch again", func() error { return s.c.Patch(ctx, "o", -1, json.RawMessage(`{"b":2}`)) }, "o", `{"a":1,"b":2}`},
		{"delete", func() error { _, err := s.c.Delete(ctx, "k"); return err }, "k", ""},
		{"put after delete", func() error { return s.c.Put(ctx, "k", 0, json.RawMessage(`3`)) }, "k", `3`},
		{"delete version", func() error { _, err := s.c.DeleteVersion(ctx, "k", 1); return err }, "k", ""},
		{"mutate all", func() error {
			_, err := s.c.MutateAll(ctx, kvcore.Put("k", -1, json.RawMessage(`4`)), kvcore.Delete("o"))
			return err
		}, "k", `4`},
		{"mutate all deleted", func() error { return nil }, "o", ""},
	}
	for _, st := range steps {
		s.get(t, st.key) // cache what is there before the write
		if err := st.write(); err != nil {
			t.Fatalf("%s: %v", st.name, err)
		}
		if got := s.get(t, st.key); got != st.want {
			t.Fatalf("%s: get %s = %q, want %q", st.name, st.key, got, st.want)
		}
	}

	// A version mismatch changes nothing and keeps the entry.
	s.get(t, "k")
	inv := s.c.Stats().Invalidations
	if err := s.c.Put(ctx, "k", 99, json.RawMessage(`5`)); !errors.Is(err, kvcore.ErrVersionMismatch) {
		t.Fatalf("put with a wrong version: %v", err)
	}
	if s.c.Stats().Invalidations != inv {
		t.Fatal("a refused write dropped the key")
	}

	// Deletes of a prefix, a range, everything.
	for _, k := range []string{"p/1", "p/2", "r/1", "z"} {
		s.put(t, s.store, k, `1`)
		s.get(t, k)
	}
	if _, err := s.c.DeletePrefix(ctx, "p/", 0, 0); err != nil {
		t.Fatal(err)
	}
	if _, err := s.c.DeleteRange(ctx, "r/", "r0", 0, 0); err != nil {
		t.Fatal(err)
	}
	for _, k := range []string{"p/1", "p/2", "r/1"} {
		if got := s.get(t, k); got != "" {
			t.Fatalf("%s after its delete = %q", k, got)
		}
	}
	if got := s.get(t, "z"); got != `1` {
		t.Fatalf("z = %q", got)
	}
}

func TestExpiredRecordsAreNotServed(t *testing.T) {
	s := newSetup(t)
	ctx := context.Background()
	if err := s.c.Put(ctx, "k", -1, json.RawMessage(`1`), kvcore.WithTTL(time.Minute)); err != nil {
		t.Fatal(err)
	}
	if got := s.get(t, "k"); got != `1` {
		t.Fatalf("get = %q", got)
	}
	if got := s.get(t, "k"); got != `1` || s.c.Stats().Hits != 1 {
		t.Fatalf("second get = %q with %d hits, want a hit", got, s.c.Stats().Hits)
	}
	s.clock.add(time.Minute) // expires now: at its expiry a record is gone
	if got := s.get(t, "k"); got != "" {
		t.Fatalf("get after expiry = %q, want missing", got)
	}
	if r, _ := s.c.GetBatch(ctx, "k"); len(r) != 0 {
		t.Fatalf("get batch after expiry = %v", r)
	}

	// Touch through the cache is seen: the cache re-reads the expiry.
	if err := s.c.Put(ctx, "t", -1, json.RawMessage(`1`), kvcore.WithTTL(time.Hour)); err != nil {
		t.Fatal(err)
	}
	s.get(t, "t")
	if err := s.c.Touch(ctx, "t", time.Second); err != nil {
		t.Fatal(err)
	}
	s.get(t, "t")
	s.clock.add(time.Second)
	if got := s.get(t, "t"); got != "" {
		t.Fatalf("get after the touched expiry = %q, want missing", got)
	}
}

// TestOtherWritersTouchIsSeen: a Touch made by another writer (its touch
// entry) drops the cached record, so the cache never serves it past the
// expiry that writer set, shortened or newly set, and serves it again
// once an expiry was lengthened or cleared.
func TestOtherWritersTouchIsSeen(t *testing.T) {
	s := newSetup(t)
	ctx := context.Background()
	s.put(t, s.other, "short", `1`, kvcore.WithTTL(time.Hour))
	s.put(t, s.other, "set", `2`)
	s.put(t, s.other, "long", `3`, kvcore.WithTTL(time.Minute))
	s.sync(t)
	for _, k := range []string{"short", "set", "long"} {
		s.get(t, k)
		s.get(t, k)
	}
	if st := s.c.Stats(); st.Hits != 3 {
		t.Fatalf("%d hits, want the second read of each key from memory", st.Hits)
	}
	if err := s.other.Touch(ctx, "short", time.Second); err != nil {
		t.Fatal(err)
	}
	if err := s.other.Touch(ctx, "set", time.Second); err != nil {
		t.Fatal(err)
	}
	if err := s.other.Touch(ctx, "long", 0); err != nil {
		t.Fatal(err)
	}
	s.sync(t)
	invalidations := s.c.Stats().Invalidations
	for _, k := range []string{"short", "set", "long"} {
		if got := s.get(t, k); got == "" {
			t.Fatalf("%s missing before its new expiry", k)
		}
	}
	if invalidations < 3 {
		t.Fatalf("%d invalidations, want one per touched key", invalidations)
	}
	s.clock.add(time.Second) // the touched expiries pass
	for _, k := range []string{"short", "set"} {
		if got := s.get(t, k); got != "" {
			t.Errorf("get %s after the expiry another writer set = %q, want missing", k, got)
		}
	}
	s.clock.add(time.Hour) // past "long"'s old expiry, which the touch cleared
	if got := s.get(t, "long"); got != `3` {
		t.Errorf("get long after its cleared expiry = %q, want 3", got)
	}
}

func TestTrimmedPositionDropsTheCache(t *testing.T) {
	s := newSetup(t)
	s.put(t, s.other, "k", `1`)
	s.put(t, s.other, "j", `1`)
	s.sync(t)
	s.get(t, "k")
	s.get(t, "j")
	// k changes, and the stream is trimmed past the change before the
	// follower reads it: the follower cannot know what changed.
	s.put(t, s.other, "k", `2`)
	s.db.trim(s.db.seq)
	s.sync(t)
	st := s.c.Stats()
	if st.Resets != 1 || st.Entries != 0 {
		t.Fatalf("after a trim past the follower: %d resets, %d entries; want 1 and 0", st.Resets, st.Entries)
	}
	if got := s.get(t, "k"); got != `2` {
		t.Fatalf("get k = %q, want 2", got)
	}
	// The follower goes on from the head.
	s.put(t, s.other, "k", `3`)
	s.sync(t)
	if got := s.get(t, "k"); got != `3` {
		t.Fatalf("get k = %q, want 3", got)
	}
}

func TestStreamBelowPositionDropsTheCache(t *testing.T) {
	t.Run("fresh", func(t *testing.T) { testStreamBelowPosition(t, Fresh()) })
	t.Run("bounded", func(t *testing.T) { testStreamBelowPosition(t, Bounded(time.Hour), PollInterval(time.Millisecond)) })
}

// testStreamBelowPosition replaces the database under a cache: a fresh
// read (which asks for the head), or the idle follower's check of the
// head, finds the stream's head below the follower's position, and the
// cache starts again.
func testStreamBelowPosition(t *testing.T, opts ...Option) {
	s := newSetup(t, opts...)
	for i := range 5 {
		s.put(t, s.other, "k", fmt.Sprint(i))
	}
	if got := s.get(t, "k"); got != `4` {
		t.Fatalf("get = %q", got)
	}
	s.sync(t)
	s.db.replace() // a new database: its stream starts again at 1
	s.put(t, s.other, "k", `"new"`)
	if s.c.opts.mode == fresh {
		if got := s.get(t, "k"); got != `"new"` {
			t.Fatalf("get after the database was replaced = %q", got)
		}
	}
	waitFor(t, "the cache to start again", func() bool { return s.c.Stats().Resets == 1 })
	s.sync(t)
	if st := s.c.Stats(); st.Resets != 1 {
		t.Fatalf("%d resets, want 1", st.Resets)
	}
	if got := s.get(t, "k"); got != `"new"` {
		t.Fatalf("get = %q", got)
	}
}

func TestBoundedReadsBypassALaggingFollower(t *testing.T) {
	s := newSetup(t, Bounded(20*time.Millisecond), PollInterval(time.Millisecond))
	s.put(t, s.other, "k", `1`)
	waitFor(t, "the follower to apply the write", func() bool { s.get(t, "k"); return s.get(t, "k") == `1` && s.c.Stats().Hits > 0 })
	s.db.readFails.Store(true)
	waitFor(t, "the follower to fall behind", func() bool { return s.c.Stats().Lag > 20*time.Millisecond })
	s.put(t, s.other, "k", `2`)
	if got := s.get(t, "k"); got != `2` {
		t.Fatalf("get with the follower behind its bound = %q, want 2 (from the database)", got)
	}
	st := s.c.Stats()
	if st.Bypassed == 0 || st.FollowErrors == 0 || st.LastError == nil {
		t.Fatalf("stats %+v: want bypassed reads and follower errors", st)
	}
	s.db.readFails.Store(false)
	waitFor(t, "reads to be answered from memory again", func() bool {
		h := s.c.Stats().Hits
		s.get(t, "k")
		return s.c.Stats().Hits > h
	})
	if got := s.get(t, "k"); got != `2` {
		t.Fatalf("get = %q, want 2", got)
	}
}

func TestFreshHeadQueriesBeginAfterTheRead(t *testing.T) {
	var tick atomic.Int64
	db := newFakeDB()
	db.boundsHook = func() { time.Sleep(time.Millisecond) }
	store, err := kvcore.New(db, kvcore.WithSweepInterval(0))
	if err != nil {
		t.Fatal(err)
	}
	c, err := New(store, db, Fresh(), WithLogger(quiet))
	if err != nil {
		t.Fatal(err)
	}
	defer c.Close()
	// The fake's head is the count of writes: each reader writes, notes
	// the head it made, then asks for the head, which must be at least as
	// high (a query that began before the write would answer lower).
	const readers, rounds = 16, 20
	var wg sync.WaitGroup
	var bad atomic.Int64
	for range readers {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for range rounds {
				if err := store.Put(context.Background(), fmt.Sprint(tick.Add(1)), -1, 1); err != nil {
					t.Error(err)
					return
				}
				db.mu.Lock()
				mine := db.seq
				db.mu.Unlock()
				h, err := c.head(context.Background())
				if err != nil {
					t.Error(err)
					return
				}
				if h < mine {
					bad.Add(1)
				}
			}
		}()
	}
	wg.Wait()
	if bad.Load() > 0 {
		t.Fatalf("%d head queries answered a head below a write that completed before they were asked", bad.Load())
	}
	if n := db.bounds.Load(); n >= readers*rounds {
		t.Fatalf("%d head queries for %d reads: none were shared", n, readers*rounds)
	}
	t.Logf("%d reads shared %d head queries", readers*rounds, db.bounds.Load())
}

func TestGetBatch(t *testing.T) {
	s := newSetup(t)
	ctx := context.Background()
	for _, k := range []string{"a", "b", "c"} {
		s.put(t, s.other, k, `"`+k+`"`)
	}
	s.sync(t)
	s.get(t, "b")
	q := s.db.queries.Load()
	recs, err := s.c.GetBatch(ctx, "c", "x", "b", "a", "c")
	if err != nil {
		t.Fatal(err)
	}
	var got []string
	for _, r := range recs {
		got = append(got, r.Key)
	}
	if fmt.Sprint(got) != "[c b a]" {
		t.Fatalf("get batch keys = %v, want [c b a] (in order, missing left out, once each)", got)
	}
	if n := s.db.queries.Load() - q; n != 1 {
		t.Fatalf("get batch with 3 uncached keys made %d database reads, want 1", n)
	}
	q = s.db.queries.Load()
	if recs, err = s.c.GetBatch(ctx, "a", "b", "c", "x"); err != nil || len(recs) != 3 {
		t.Fatalf("second get batch: %v, %v", recs, err)
	}
	if n := s.db.queries.Load() - q; n != 0 {
		t.Fatalf("a get batch of cached keys made %d database reads", n)
	}
	if _, err := s.c.GetBatch(ctx, "a", ""); !errors.Is(err, kvcore.ErrInvalidKey) {
		t.Fatalf("get batch with an empty key: %v", err)
	}
	if recs, err := s.c.GetBatch(ctx); err != nil || recs != nil {
		t.Fatalf("empty get batch: %v, %v", recs, err)
	}
}

type person struct {
	Name string `json:"name"`
	Age  int    `json:"age"`
}

func TestTyped(t *testing.T) {
	s := newSetup(t)
	ctx := context.Background()
	people := NewTyped[person](s.c)
	if err := people.Put(ctx, "p/ann", -1, person{"Ann", 41}); err != nil {
		t.Fatal(err)
	}
	p, rec, err := people.Get(ctx, "p/ann")
	if err != nil || p != (person{"Ann", 41}) || rec.Type != "person" {
		t.Fatalf("get = %+v %+v %v", p, rec, err)
	}
	if err := people.Put(ctx, "p/ann", rec.Version, person{"Ann", 42}); err != nil {
		t.Fatal(err)
	}
	if p, _, _ := people.Get(ctx, "p/ann"); p.Age != 42 {
		t.Fatalf("get after a typed put = %+v (read-your-writes)", p)
	}
	if err := people.Patch(ctx, "p/ann", -1, map[string]any{"age": 43}); err != nil {
		t.Fatal(err)
	}
	items, err := people.GetBatch(ctx, "p/bob", "p/ann")
	if err != nil || len(items) != 1 || items[0].Value.Age != 43 || items[0].Key != "p/ann" {
		t.Fatalf("get batch = %+v, %v", items, err)
	}
	if ok, err := people.Delete(ctx, "p/ann"); !ok || err != nil {
		t.Fatalf("delete = %t, %v", ok, err)
	}
	if _, _, err := people.Get(ctx, "p/ann"); !errors.Is(err, kvcore.ErrNotFound) {
		t.Fatalf("get after delete: %v", err)
	}
}

func TestDecodeAndBadInput(t *testing.T) {
	s := newSetup(t)
	ctx := context.Background()
	s.put(t, s.store, "k", `{"name":"Ann","age":41}`)
	var p person
	if _, ok, err := s.c.Get(ctx, "k", &p); err != nil || !ok || p.Name != "Ann" {
		t.Fatalf("get into a struct: %+v %t %v", p, ok, err)
	}
	var n int
	if _, _, err := s.c.Get(ctx, "k", &n); err == nil {
		t.Fatal("decoding an object into an int did not fail")
	}
	if _, _, err := s.c.Get(ctx, "", nil); !errors.Is(err, kvcore.ErrInvalidKey) {
		t.Fatalf("get of an empty key: %v", err)
	}
	if _, err := s.c.GetRecord(ctx, "nope"); !errors.Is(err, kvcore.ErrNotFound) {
		t.Fatalf("get record of a missing key: %v", err)
	}
}

func TestOptions(t *testing.T) {
	db := newFakeDB()
	store, err := kvcore.New(db, kvcore.WithSweepInterval(0))
	if err != nil {
		t.Fatal(err)
	}
	bad := map[string][]Option{
		"max entries 0":           {MaxEntries(0)},
		"max bytes 1":             {MaxBytes(1)},
		"bounded 0":               {Bounded(0)},
		"negative catch-up":       {CatchUpWait(-time.Second)},
		"poll 0":                  {PollInterval(0)},
		"batch 0":                 {BatchSize(0)},
		"batch too large":         {BatchSize(1 << 20)},
		"nil logger":              {WithLogger(nil)},
		"poll longer than bound":  {Bounded(time.Second), PollInterval(time.Second)},
		"derived poll too coarse": {Bounded(time.Nanosecond)},
	}
	for name, opts := range bad {
		if _, err := New(store, db, opts...); !errors.Is(err, ErrInvalidArgument) {
			t.Errorf("%s: New = %v, want ErrInvalidArgument", name, err)
		}
	}
	if _, err := New(nil, db); !errors.Is(err, ErrInvalidArgument) {
		t.Errorf("nil store: %v", err)
	}
	if _, err := New(store, nil); !errors.Is(err, ErrInvalidArgument) {
		t.Errorf("nil stream: %v", err)
	}
}

func TestClosed(t *testing.T) {
	s := newSetup(t)
	ctx := context.Background()
	if err := s.c.Close(); err != nil {
		t.Fatal(err)
	}
	if err := s.c.Close(); err != nil {
		t.Fatalf("second close: %v", err)
	}
	if _, _, err := s.c.Get(ctx, "k", nil); !errors.Is(err, ErrClosed) {
		t.Fatalf("get after close: %v", err)
	}
	if err := s.c.Put(ctx, "k", -1, 1); !errors.Is(err, ErrClosed) {
		t.Fatalf("put after close: %v", err)
	}
	if _, err := s.c.GetBatch(ctx, "k"); !errors.Is(err, ErrClosed) {
		t.Fatalf("get batch after close: %v", err)
	}
	if err := s.c.Sync(ctx); !errors.Is(err, ErrClosed) {
		t.Fatalf("sync after close: %v", err)
	}
}

// TestConcurrentReadersAndWriters runs readers through the cache, writers
// through it and writers beside it at once (with the race detector, this
// checks the locking), then checks that once the follower has caught up
// every key reads as the database holds it.
func TestConcurrentReadersAndWriters(t *testing.T) {
	for _, mode := range []Option{Bounded(50 * time.Millisecond), Fresh()} {
		s := newSetup(t, mode, MaxEntries(64), PollInterval(time.Millisecond), CatchUpWait(time.Millisecond))
		ctx := context.Background()
		const keys = 100
		var wg sync.WaitGroup
		for w := range 6 {
			wg.Add(1)
			go func() {
				defer wg.Done()
				rng := rand.New(rand.NewPCG(uint64(w), 1))
				for i := range 300 {
					k := fmt.Sprint(rng.IntN(keys))
					var err error
					switch {
					case w < 3:
						_, _, err = s.c.Get(ctx, k, nil)
					case w == 3:
						_, err = s.c.GetBatch(ctx, k, fmt.Sprint(rng.IntN(keys)))
					case w == 4 && i%10 == 0:
						_, err = s.c.Delete(ctx, k)
					case w == 4:
						err = s.c.Put(ctx, k, -1, i)
					default:
						err = s.other.Put(ctx, k, -1, i)
					}
					if err != nil {
						t.Error(err)
						return
					}
				}
			}()
		}
		wg.Wait()
		s.sync(t)
		for i := range keys {
			k := fmt.Sprint(i)
			want, _, err := s.other.Get(ctx, k, nil)
			if err != nil {
				t.Fatal(err)
			}
			for range 2 { // a miss, then (likely) a hit
				if got := s.get(t, k); got != string(want.Value) {
					t.Fatalf("key %s reads %q, the database holds %q", k, got, want.Value)
				}
			}
		}
		if st := s.c.Stats(); st.Entries > 64 {
			t.Fatalf("%d entries, bound 64", st.Entries)
		}
	}
}

// waitFor polls cond until it holds, failing t after 10 seconds.
func waitFor(t *testing.T, what string, cond func() bool) {
	t.Helper()
	deadline := time.Now().Add(10 * time.Second)
	for !cond() {
		if time.Now().After(deadline) {
			t.Fatalf("timed out waiting for %s", what)
		}
		time.Sleep(time.Millisecond)
	}
}

// TestNoFillBeforeTheFollowerStarts holds the follower's first read of the
// stream's head: reads meanwhile go to the database and fill nothing (a
// fill could predate the head at which the follower will start).
func TestNoFillBeforeTheFollowerStarts(t *testing.T) {
	db := newFakeDB()
	release := make(chan struct{})
	var first sync.Once
	db.boundsHook = func() { first.Do(func() { <-release }) }
	store, err := kvcore.New(db, kvcore.WithSweepInterval(0))
	if err != nil {
		t.Fatal(err)
	}
	ctx := context.Background()
	if err := store.Put(ctx, "k", -1, 1); err != nil {
		t.Fatal(err)
	}
	c, err := New(store, db, WithLogger(quiet))
	if err != nil {
		t.Fatal(err)
	}
	defer c.Close()
	for range 2 {
		if r, ok, err := c.Get(ctx, "k", nil); err != nil || !ok || string(r.Value) != "1" {
			t.Fatalf("get = %s %t %v", r.Value, ok, err)
		}
		if recs, err := c.GetBatch(ctx, "k", "j"); err != nil || len(recs) != 1 {
			t.Fatalf("get batch = %v %v", recs, err)
		}
	}
	if st := c.Stats(); st.Entries != 0 || st.Bypassed != 6 {
		t.Fatalf("before the follower started: %d entries, %d bypassed; want 0 and 6", st.Entries, st.Bypassed)
	}
	close(release)
	if err := c.Sync(ctx); err != nil {
		t.Fatal(err)
	}
	c.Get(ctx, "k", nil)
	if r, ok, err := c.Get(ctx, "k", nil); err != nil || !ok || string(r.Value) != "1" || c.Stats().Hits != 1 {
		t.Fatalf("get after the follower started = %s %t %v, %d hits", r.Value, ok, err, c.Stats().Hits)
	}
}

func TestCacheStaysWithinItsBounds(t *testing.T) {
	const maxEntries, maxBytes = 200, 200 * 300
	s := newSetup(t, MaxEntries(maxEntries), MaxBytes(maxBytes))
	ctx := context.Background()
	ms := make([]kvcore.Mutation, 0, 1000)
	for i := range 1000 {
		ms = append(ms, kvcore.Put(fmt.Sprintf("k%04d", i), -1, json.RawMessage(fmt.Sprintf(`"%0*d"`, i%100, i))))
	}
	ms = append(ms, kvcore.Put("big", -1, json.RawMessage(`"`+strings.Repeat("x", maxBytes)+`"`)))
	if _, err := s.other.MutateAll(ctx, ms...); err != nil {
		t.Fatal(err)
	}
	for i := range 1000 {
		s.get(t, fmt.Sprintf("k%04d", i))
		if st := s.c.Stats(); st.Entries > maxEntries || st.Bytes > maxBytes {
			t.Fatalf("after %d keys: %d entries, %d bytes; bounds %d and %d", i+1, st.Entries, st.Bytes, maxEntries, maxBytes)
		}
	}
	if got := s.get(t, "big"); len(got) != maxBytes+2 {
		t.Fatalf("the big record read back with %d bytes", len(got))
	}
	st := s.c.Stats()
	if st.Evictions == 0 || st.TooLarge != 1 || st.Entries == 0 {
		t.Fatalf("stats %+v: want evictions, one record too large to cache", st)
	}
	// The most recently read keys are the ones kept.
	h := st.Hits
	s.get(t, "k0999")
	if s.c.Stats().Hits != h+1 {
		t.Fatal("the most recently read key was not kept")
	}
}
