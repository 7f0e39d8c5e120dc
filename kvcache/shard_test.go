package kvcache

import (
	"encoding/json"
	"fmt"
	"slices"
	"testing"

	"github.com/kvsuite/kv/kvcore"
)

// put installs key with value v through a fill, as a read would.
func put(s *shard, key, v string) {
	f, _ := s.beginFill(key, false)
	s.finishFill(key, f, kvcore.Record{Key: key, Version: 1, Value: json.RawMessage(v)}, true, nil)
}

// keys returns the shard's keys from the most to the least recently used.
func keys(s *shard) []string {
	var out []string
	for e := s.lru.next; e != &s.lru; e = e.next {
		out = append(out, e.key)
	}
	return out
}

func TestShardEvictsLeastRecentlyUsed(t *testing.T) {
	s := newShard(3, 1<<20)
	for _, k := range []string{"a", "b", "c"} {
		put(s, k, `1`)
	}
	if _, _, ok := s.lookup("a"); !ok {
		t.Fatal("a not cached")
	}
	put(s, "d", `1`) // b is now the least recently used
	if got, want := keys(s), []string{"d", "a", "c"}; !slices.Equal(got, want) {
		t.Fatalf("keys by recency = %v, want %v", got, want)
	}
	if _, _, ok := s.lookup("b"); ok {
		t.Fatal("b still cached after it was evicted")
	}
	if s.evictions != 1 || len(s.entries) != 3 {
		t.Fatalf("evictions %d, entries %d; want 1 and 3", s.evictions, len(s.entries))
	}
	put(s, "c", `2`) // replacing a key makes it the most recent, evicts nothing
	if got, want := keys(s), []string{"c", "d", "a"}; !slices.Equal(got, want) {
		t.Fatalf("keys by recency after replacing c = %v, want %v", got, want)
	}
	if s.evictions != 1 {
		t.Fatalf("replacing a key evicted an entry")
	}
}

func TestShardByteBound(t *testing.T) {
	value := func(n int) string { return `"` + string(make([]byte, n-2)) + `"` }
	one := int64(entryOverhead + 1 + 100) // key "k" + a 100-byte value
	s := newShard(100, 3*one)
	for i := range 3 {
		put(s, fmt.Sprint(i), value(100))
	}
	if s.bytes != 3*one || len(s.entries) != 3 {
		t.Fatalf("bytes %d entries %d, want %d and 3", s.bytes, len(s.entries), 3*one)
	}
	put(s, "3", value(100)) // over by one entry: the oldest goes
	if s.bytes != 3*one || len(s.entries) != 3 || s.evictions != 1 {
		t.Fatalf("after a 4th entry: bytes %d entries %d evictions %d", s.bytes, len(s.entries), s.evictions)
	}
	if _, ok := s.entries["0"]; ok {
		t.Fatal("the least recently used entry was kept")
	}
	put(s, "big", value(int(3*one))) // alone larger than the bound: not cached, nothing evicted
	if _, ok := s.entries["big"]; ok || s.tooLarge != 1 || len(s.entries) != 3 {
		t.Fatalf("a record over the byte bound: cached %t, tooLarge %d, entries %d", ok, s.tooLarge, len(s.entries))
	}
	put(s, "1", value(10)) // a smaller value for a cached key frees its difference
	if want := 2*one + entryOverhead + 1 + 10; s.bytes != want {
		t.Fatalf("bytes %d after replacing with a smaller value, want %d", s.bytes, want)
	}
	s.invalidate("1")
	if s.bytes != 2*one {
		t.Fatalf("bytes %d after invalidating, want %d", s.bytes, 2*one)
	}
	f, _ := s.beginFill("absent", false)
	s.finishFill("absent", f, kvcore.Record{}, false, nil)
	if want := 2*one + entryOverhead + int64(len("absent")); s.bytes != want {
		t.Fatalf("bytes %d with an absent key, want %d", s.bytes, want)
	}
	s.clear()
	if s.bytes != 0 || len(s.entries) != 0 || s.lru.next != &s.lru {
		t.Fatalf("after clear: bytes %d entries %d", s.bytes, len(s.entries))
	}
}

func TestShardFillMadeStaleIsNotInstalled(t *testing.T) {
	s := newShard(10, 1<<20)
	rec := kvcore.Record{Key: "k", Version: 1, Value: json.RawMessage(`"old"`)}

	f, leader := s.beginFill("k", true)
	if !leader {
		t.Fatal("the first fill of a key is not its leader")
	}
	if g, leader := s.beginFill("k", true); g != f || leader {
		t.Fatal("a second read of the key did not join the fill in flight")
	}
	if g, _ := s.beginFill("k", false); g != nil {
		t.Fatal("a read that may not join got a fill of its own while one was in flight")
	}
	s.invalidate("k") // a change of k arrives while the read is in flight
	g, leader := s.beginFill("k", true)
	if g == f || !leader {
		t.Fatal("a read after the change joined the stale fill")
	}
	s.finishFill("k", f, rec, true, nil)
	if _, ok := s.entries["k"]; ok {
		t.Fatal("a stale fill was installed")
	}
	<-f.done
	if !f.found || string(f.rec.Value) != `"old"` {
		t.Fatal("a stale fill's waiters did not get its result")
	}
	s.finishFill("k", g, kvcore.Record{Key: "k", Version: 2, Value: json.RawMessage(`"new"`)}, true, nil)
	if e := s.entries["k"]; e == nil || e.rec.Version != 2 {
		t.Fatal("the fill that began after the change was not installed")
	}

	h, _ := s.beginFill("k2", true)
	s.clear()
	s.finishFill("k2", h, rec, true, nil)
	if _, ok := s.entries["k2"]; ok {
		t.Fatal("a fill in flight when the shard was cleared was installed")
	}
	e, _ := s.beginFill("k3", true)
	s.finishFill("k3", e, kvcore.Record{}, false, fmt.Errorf("read failed"))
	if _, ok := s.entries["k3"]; ok {
		t.Fatal("a failed read was installed")
	}
}

func TestShardCopiesRecords(t *testing.T) {
	s := newShard(10, 1<<20)
	exp := kvcore.Record{}.Created
	rec := kvcore.Record{Key: "k", Version: 1, Value: json.RawMessage(`"v"`), Expires: &exp}
	f, _ := s.beginFill("k", false)
	s.finishFill("k", f, rec, true, nil)
	rec.Value[1] = 'X' // the reader's copy
	got, _, _ := s.lookup("k")
	if string(got.Value) != `"v"` {
		t.Fatalf("changing the record a fill returned changed the cache: %s", got.Value)
	}
	got.Value[1] = 'Y'
	got.Expires = nil
	again, _, _ := s.lookup("k")
	if string(again.Value) != `"v"` || again.Expires == nil {
		t.Fatalf("changing the record a hit returned changed the cache: %s", again.Value)
	}
}

func TestShardCount(t *testing.T) {
	const mib = 1 << 20
	for _, c := range []struct {
		entries int
		bytes   int64
		want    int
	}{{1, mib, 1}, {127, mib, 1}, {128, mib, 2}, {1000, mib, 8}, {1024, 64 * mib, 16}, {100000, 64 * mib, 16},
		{100000, 2 * 64 * entryOverhead, 2}, {100000, 10 * 64 * entryOverhead, 8}, {100000, entryOverhead, 1}} {
		if got := shardCount(c.entries, c.bytes); got != c.want {
			t.Errorf("shardCount(%d, %d) = %d, want %d", c.entries, c.bytes, got, c.want)
		}
	}
}
