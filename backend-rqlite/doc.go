// Package rqlitekv is kv's rqlite backend over rqlite's HTTP API, through
// github.com/rqlite/gorqlite: *DB implements the Store SPI of
// github.com/kvsuite/kv/kvcore/driver, the Locker SPI of
// github.com/kvsuite/kv/kvlock/driver, the Stream SPI of
// github.com/kvsuite/kv/kvstream/driver and the Queue SPI of
// github.com/kvsuite/kv/kvtask/driver (tasks and cron schedules; no
// Notifier: runners poll).
//
// Open a connection and get a kvcore.Store from it:
//
//	db, err := rqlitekv.Open("http://localhost:4001?user=admin&password=secret")
//	if err != nil { ... }
//	defer db.Close()
//	store, err := db.Store()
//	if err != nil { ... }
//	err = store.Init(ctx)
//
// # One request per operation
//
// rqlite has no interactive transactions, so every write (Apply), every
// schema step (Init) and every sweep is exactly one HTTP request: a batch of
// SQL statements that rqlite runs in one transaction (all or nothing) and
// replicates through Raft as one log entry. Conditions are checked inside
// the batch, never by reading first: an op's expected version, or the
// batch's fence, is checked by a statement that inserts into the guard
// table only when the condition failed, and the guard table's CHECK
// constraint refuses every row. That error aborts the transaction, and the
// driver maps it back to a *driver.OpError wrapping
// driver.ErrVersionMismatch (with the op's index) or to driver.ErrFenced.
//
// Concurrent writes share requests (group commit): the batches of callers
// waiting at the same time go in one request, and a caller whose batch
// fails is answered without failing the others (see group.go and the
// README).
//
// Leases and consumers follow the same rule: Acquire is a conditional upsert
// and a read of the lease row in one transaction (the caller's lease if
// granted, the holder's if not); a fenced consumer Commit checks the lease
// through the guard table in the same request; Trim raises the watermark,
// deletes what it covers and reads it back in one request; Read returns
// the page of entries and the trim watermark from one statement.
//
// The stream's seq is an AUTOINCREMENT key assigned while rqlite's single
// Raft leader applies one log entry at a time, so seqs are commit-ordered
// and readers never see a gap. rqlite cannot notify: *DB is not a
// kvstream/driver.Notifier, and continuous consumers poll with bounded
// backoff.
//
// # Semantics
//
// The schema has the same logical tables as the SQLite backend (records,
// stream, leases, schema_migrations) plus the guard table. Times are
// INTEGER Unix microseconds, UTC. Keys compare byte for byte (TEXT with the
// BINARY collation, plain range comparisons, never LIKE). A record whose
// expiry is at or before the caller's now is invisible to reads and absent
// for writes: a Put over it creates the key again at version 1.
//
// rqlite turns a string parameter of the form x'0A1B' into a BLOB. The
// driver sends every text parameter that could be read that way in that
// very form, hex-encoded, and casts it back to TEXT in SQL, so such keys,
// types and namespaces are stored exactly as given.
//
// # Consistency
//
// Reads use the consistency level of the connection (Consistency): "weak"
// by default, which is rqlite's own default. A weak read is served by the
// leader (a follower forwards it) after a local leadership check, so a
// client reads its own acknowledged writes; only in the short window after
// a leader change can a deposed leader serve a stale read. "linearizable"
// (rqlite 8.32 and later) closes that window at the cost of a heartbeat
// round to a quorum per read; "strong" sends every read through Raft and is
// much slower; "none" reads the local node's database, and may be stale.
// Writes always go through the leader and Raft, whatever the level.
//
// # Clusters
//
// With cluster discovery (the default) the connection asks the node it was
// given for the cluster's members at Open, and every request tries the
// leader first and then each other node in turn; a follower forwards the
// request to the leader. While a cluster has no leader (an election after
// the leader failed) the driver retries requests that rqlite refused
// without applying them, for up to WithLeaderWait. A write that timed out,
// or whose connection broke before the answer, may have been applied: it is
// not sent again, to this node or another (gorqlite would try the next node
// after any failure; the driver's HTTP transport stops it), and the call
// fails with an error wrapping ErrOutcomeUnknown.
package rqlitekv
