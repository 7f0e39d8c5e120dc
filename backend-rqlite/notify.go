package rqlitekv

import (
	"context"

	streamdriver "github.com/kvsuite/kv/kvstream/driver"
	taskdriver "github.com/kvsuite/kv/kvtask/driver"
)

// rqlite cannot notify (it has no LISTEN/NOTIFY), so a *DB signals the
// commits of its own process, as the SQLite backend does: consumers and
// runners that share the DB with the writer wake at once, and they poll to
// see other processes' and other nodes' writes.
var (
	_ streamdriver.Notifier    = (*DB)(nil)
	_ streamdriver.NotifyScope = (*DB)(nil)
	_ taskdriver.Notifier      = (*DB)(nil)
)

// Subscribe returns a channel that receives a value after this DB commits
// a write that appends to the stream (an Apply, a sweep that deleted
// expired records); signals are coalesced and may be spurious. Writes made
// through other DBs, processes or nodes are not signalled. The channel is
// closed when ctx ends or the DB is closed.
func (db *DB) Subscribe(ctx context.Context) (<-chan struct{}, error) {
	return db.notify.Subscribe(ctx)
}

// NotifiesOtherProcesses reports false: Subscribe signals this DB's
// commits only (see kvstream/driver.NotifyScope), so continuous consumers
// keep polling.
func (db *DB) NotifiesOtherProcesses() bool { return false }

// SubscribeTasks returns a channel that receives a value after this DB
// commits a change that may make tasks claimable: an insert, a retry or
// give-back, a schedule firing, restored tasks (signals are coalesced,
// possibly spurious). Other DBs', processes' and nodes' writes are not
// signalled; runners poll as well. The channel is closed when ctx ends or
// the DB is closed.
func (db *DB) SubscribeTasks(ctx context.Context) (<-chan struct{}, error) {
	return db.taskNotify.Subscribe(ctx)
}
