// Package rqlitekv is kv's rqlite backend over rqlite's HTTP API, through
// github.com/rqlite/gorqlite: *DB implements the Store SPI of
// github.com/kvsuite/kv/kvcore/driver, the Locker SPI of
// github.com/kvsuite/kv/kvlock/driver, the Stream SPI of
// github.com/kvsuite/kv/kvstream/driver and the Queue SPI of
// github.com/kvsuite/kv/kvtask/driver (tasks and cron schedules), with
// the Notifiers of kvstream and kvtask for this process's commits.
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
// and readers never see a gap. rqlite cannot notify: *DB signals the
// commits of its own process only (NotifiesOtherProcesses is false), and
// continuous consumers poll for other processes' writes with bounded
// backoff.
//
// # Semantics
//
// The schema is the SQLite backend's (package sqlitedialect: tables,
// columns and indexes, by name and definition) plus the guard and
// request_log tables. Times are
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
// by default, which is rqlite's own default; WithReadConsistency sets
// another level for the reads of one call, through its context. A weak read is served by the
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
// A connection string may name several nodes of one cluster
// (http://h1:4001,h2:4001,h3:4001). With cluster discovery (the default)
// the connection asks the first node that answers for the cluster's
// members at Open, and every request tries the leader first and then each
// other node in turn; a follower forwards the request to the leader. With
// discovery off, requests go to the nodes named, the next one after a
// failure. While a cluster has no leader (an election after the leader
// failed) the driver retries requests, for up to WithLeaderWait.
//
// Store writes and sweeps are recorded requests: each records, in its own
// transaction, its id and its results in the request_log table, whose key
// refuses the same request twice. A request sent again after its answer
// was lost (gorqlite tries the next node after any failure; the driver
// retries after timeouts and broken connections) is therefore applied at
// most once, and answered with the results of the attempt that was
// applied: a committed conditional write is never reported as a version
// mismatch. Only when no attempt was answered and the write is not found
// applied does the call fail with an error wrapping ErrOutcomeUnknown.
// Lease, stream and task writes are not recorded: one whose outcome is
// unknown is not sent again, and fails with ErrOutcomeUnknown.
package rqlitekv
