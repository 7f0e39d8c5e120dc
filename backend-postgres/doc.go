// Package postgreskv is kv's PostgreSQL backend: it implements
// kvcore/driver.Store on github.com/jackc/pgx/v5 (pgxpool).
//
// Open a database with Open (which owns its pool) or wrap a pool you own with
// New, call Init once (it is safe to call from many processes at once: the
// migrations run under a PostgreSQL advisory lock), and use the store through
// DB.Store, which returns a *kvcore.Store. DB also implements kvlock's
// driver.Locker (leases with fencing tokens, in the table that fenced writes
// check), so kvlock.New(db) gives leases on the same database, and
// kvstream's driver.Stream and driver.Notifier, so kvstream.New(db) reads the
// change stream (gap-free, in commit order: see the sequencer in stream.go)
// and keeps named consumers, woken by LISTEN/NOTIFY, and kvtask's
// driver.Queue and driver.Notifier, so kvtask.New(db) keeps a task queue
// (claims with FOR UPDATE SKIP LOCKED) and cron schedules.
//
// Keys, namespaces and types are stored as text with the "C" collation, so
// ordering and range scans are byte order (UTF-8 code point order); values
// are stored as bytea, byte for byte as the front gave them. Every write's
// version conditions, fence check and stream entries commit together or not
// at all: a lone write runs as one implicit transaction sent in one round
// trip (a pgx pipeline batch), and concurrent writes share a transaction
// (group commit, see group.go), each with its own outcome.
package postgreskv
