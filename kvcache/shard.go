package kvcache

import (
	"sync"

	"github.com/kvsuite/kv/kvcore"
)

// entryOverhead is what an entry costs beyond its key, value and type
// bytes: the entry itself, its record's fixed fields and its slot in the
// shard's map (an estimate, counted in every entry's size).
const entryOverhead = 224

// entry is one cached key: its record, or the knowledge that it is absent.
type entry struct {
	key    string
	rec    kvcore.Record // when !absent
	absent bool
	size   int64

	prev, next *entry // the shard's recency list
}

// fill is a read of one key from the database whose result may be
// installed in the cache. It is registered in its shard before the read
// starts, and the follower (or a write through the cache) marks it stale
// when it applies a change of the key, which the read may have missed; a
// stale fill is not installed. (A change applied before the fill was
// registered was committed before the read began, so the read saw it.)
type fill struct {
	stale bool

	done  chan struct{} // closed when the result below is set
	rec   kvcore.Record
	found bool
	err   error
}

// shard is one part of the cache: a map of entries with a recency list,
// bounded in entries and bytes, and the fills in flight for its keys.
type shard struct {
	mu      sync.Mutex
	entries map[string]*entry
	fills   map[string]*fill
	lru     entry // sentinel: lru.next is the most recently used entry, lru.prev the least
	bytes   int64

	maxEntries int
	maxBytes   int64

	// counters, under mu
	hits, misses, shared, evictions, invalidations, tooLarge int64

	_ [64]byte // keeps the shards' hot fields on separate cache lines
}

func newShard(maxEntries int, maxBytes int64) *shard {
	s := &shard{maxEntries: maxEntries, maxBytes: maxBytes}
	s.reset()
	return s
}

// reset empties the shard (mu held, or not yet shared).
func (s *shard) reset() {
	s.entries = make(map[string]*entry)
	s.fills = make(map[string]*fill)
	s.lru.next, s.lru.prev = &s.lru, &s.lru
	s.bytes = 0
}

// lookup returns a copy of key's entry, if cached, marks it used and
// counts a hit (which expired takes back) or a miss.
func (s *shard) lookup(key string) (rec kvcore.Record, absent, ok bool) {
	s.mu.Lock()
	e := s.entries[key]
	if e == nil {
		s.misses++
		s.mu.Unlock()
		return rec, false, false
	}
	s.toFront(e)
	s.hits++
	rec, absent = copyRecord(e.rec), e.absent
	s.mu.Unlock()
	return rec, absent, true
}

// expired takes back the hit lookup counted for key, whose record has
// expired, and drops the entry if it still holds that record.
func (s *shard) expired(key string, version int64) {
	s.mu.Lock()
	s.hits--
	s.misses++
	if e := s.entries[key]; e != nil && !e.absent && e.rec.Version == version {
		s.remove(e)
	}
	s.mu.Unlock()
}

// beginFill registers a fill of key whose database read starts after this
// call. If a fill of key is already in flight, it returns that one and
// false when join is set (the caller waits for its result), and nil when
// join is not (the caller reads the database itself and installs nothing).
func (s *shard) beginFill(key string, join bool) (f *fill, leader bool) {
	s.mu.Lock()
	defer s.mu.Unlock()
	if f := s.fills[key]; f != nil {
		if join {
			s.shared++
			return f, false
		}
		return nil, false
	}
	f = &fill{done: make(chan struct{})}
	s.fills[key] = f
	return f, true
}

// finishFill sets f's result, installs it unless f failed or is stale,
// and wakes the fill's waiters. The cache and the waiters get their own
// copy of rec, which stays the caller's.
func (s *shard) finishFill(key string, f *fill, rec kvcore.Record, found bool, err error) {
	own := copyRecord(rec)
	s.mu.Lock()
	if s.fills[key] == f {
		delete(s.fills, key)
	}
	if err == nil && !f.stale {
		s.install(&entry{key: key, rec: own, absent: !found})
	}
	f.rec, f.found, f.err = own, found, err
	s.mu.Unlock()
	close(f.done)
}

// install adds e, replacing an entry of the same key (e's fill was
// registered after that entry was installed, so it is newer), and evicts
// the least recently used entries while the shard is over its bounds. An
// entry larger than the shard's byte bound is not cached. (mu held)
func (s *shard) install(e *entry) {
	if old := s.entries[e.key]; old != nil {
		s.remove(old)
	}
	e.size = entrySize(e)
	if e.size > s.maxBytes {
		s.tooLarge++
		return
	}
	s.entries[e.key] = e
	s.bytes += e.size
	e.prev, e.next = &s.lru, s.lru.next
	e.prev.next, e.next.prev = e, e
	for len(s.entries) > s.maxEntries || s.bytes > s.maxBytes {
		s.remove(s.lru.prev)
		s.evictions++
	}
}

// invalidate applies a change of key: it drops the key's entry and marks
// its fill in flight stale (and forgets it, so that the next read
// registers a fill of its own).
func (s *shard) invalidate(key string) {
	s.mu.Lock()
	if e := s.entries[key]; e != nil {
		s.remove(e)
		s.invalidations++
	}
	if f := s.fills[key]; f != nil {
		f.stale = true
		delete(s.fills, key)
	}
	s.mu.Unlock()
}

// clear drops every entry and marks every fill in flight stale.
func (s *shard) clear() {
	s.mu.Lock()
	for _, f := range s.fills {
		f.stale = true
	}
	s.invalidations += int64(len(s.entries))
	s.reset()
	s.mu.Unlock()
}

func (s *shard) toFront(e *entry) {
	if s.lru.next == e {
		return
	}
	e.prev.next, e.next.prev = e.next, e.prev
	e.prev, e.next = &s.lru, s.lru.next
	e.prev.next, e.next.prev = e, e
}

// remove unlinks e and forgets it. (mu held)
func (s *shard) remove(e *entry) {
	e.prev.next, e.next.prev = e.next, e.prev
	e.prev, e.next = nil, nil
	delete(s.entries, e.key)
	s.bytes -= e.size
}

// entrySize is what e counts against the byte bound.
func entrySize(e *entry) int64 {
	return int64(len(e.key)+len(e.rec.Value)+len(e.rec.Type)) + entryOverhead
}

// copyRecord returns r with its own copies of the value and expiry, so
// that a caller who changes them does not change the cache.
func copyRecord(r kvcore.Record) kvcore.Record {
	if r.Value != nil {
		r.Value = append([]byte(nil), r.Value...)
	}
	if r.Expires != nil {
		e := *r.Expires
		r.Expires = &e
	}
	return r
}
