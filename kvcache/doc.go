// Package kvcache answers reads of a kvcore.Store from memory and keeps
// them exact by following the change stream (kvstream).
//
// A Cache wraps a store (any backend) and answers Get, GetRecord, GetBatch
// and typed gets (Typed) from an in-process cache bounded in entries and
// bytes (least recently used entries go first). A key read from the
// database is cached with its record, or as known to be absent. A follower
// goroutine reads the stream from the position at which the cache was
// filled, and every change of a cached key drops that key; if the stream
// was trimmed past the follower's position, or its head went below it (a
// replaced or restored database, found by a fresh read, by Sync, or by the
// idle follower every 8 polls), the whole cache is dropped and the
// follower starts again at the head.
//
// # Exactness
//
// A read of the database that fills the cache is registered before it
// starts. If the follower (or a write through the cache) meets a change of
// that key before the read's result is installed, the result is not
// installed: it may predate the change. A cached entry records the
// follower's position when its read began, so a change the read already
// saw does not drop it. A record whose expiry has passed, by the store's
// clock, is never served from memory. A Touch by another writer appends a
// touch entry, which drops the key like any other change, so an expiry set,
// shortened or cleared elsewhere is seen within the cache's promise below.
//
// # Consistency
//
// Writes made through the cache (Put, Patch, Delete, MutateAll...) are read
// by the same cache with read-your-writes: a write returns once the cache
// no longer holds anything the write may have changed. For changes made by
// other writers (other processes, or the store used directly), each cache
// makes one of two promises:
//
//   - Bounded(d), the default with d = 1s: a read reflects every change
//     committed at least d before it began. The follower reads the stream
//     at least every d/4; while it has not reached the stream's end within
//     the last d, reads go to the database.
//   - Fresh(): reads are linearizable. Each read asks the database for the
//     stream's head (one query shared by the reads waiting at the same
//     time); the cache answers once its follower has applied the stream up
//     to that head, and a read that would wait longer than the catch-up
//     wait goes to the database.
//
// Both promises assume that the database answers reads with what has been
// committed (rqlite: read level weak or stronger, not none).
//
// # What it does not do
//
// Range, prefix, type and count reads are not cached: call them on Store(),
// they go to the database.
package kvcache
