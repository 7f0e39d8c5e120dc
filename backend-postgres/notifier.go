package postgreskv

import (
	"context"
	"sync"
	"sync/atomic"
	"time"

	"github.com/jackc/pgx/v5"
)

// Notifications are sent after commit, not inside the writing transaction:
// a transaction that calls pg_notify takes a cluster-wide lock at commit
// and holds it through the commit's WAL flush, so notifying writers commit
// one at a time. Instead a write that committed marks its channel pending
// (notifyCommitted) and wakes the DB's notifier, a goroutine that sends one
// pg_notify per pending channel in a transaction of its own, on a connection
// of its own (made from the pool's config, outside the pool), and then
// waits notifyInterval before it sends again. A lone commit is announced at
// once; a burst of commits costs one notification per interval. Listeners
// re-read from their position when woken, so a notification only has to
// follow the commits it stands for, not match them one to one.

// notifyInterval is the least time between two sends of the notifier.
const notifyInterval = 5 * time.Millisecond

// The channels a commit can mark pending, as bits.
const (
	notifyStream uint32 = 1 << iota // the change stream's channel
	notifyTasks                     // the task queue's channel
)

// notifier is the state of a DB's notifier goroutine.
type notifier struct {
	pending atomic.Uint32 // channel bits committed but not yet sent
	wake    chan struct{} // holds one value when pending gained a bit

	mu      sync.Mutex
	running bool // the goroutine was started
	stopped bool // Close ran: start no goroutine
	cancel  context.CancelFunc
	done    chan struct{} // closed when the goroutine has ended
}

// notifyCommitted marks the channels in bits pending, to be notified by the
// notifier goroutine (started on first use). Call it only after the write
// that bits stand for has committed.
func (db *DB) notifyCommitted(bits uint32) {
	n := &db.notifier
	if n.pending.Or(bits)&bits == bits {
		return // already pending: the coming send covers this commit
	}
	n.mu.Lock()
	if !n.running && !n.stopped {
		ctx, cancel := context.WithCancel(context.Background())
		n.running, n.cancel, n.done = true, cancel, make(chan struct{})
		go db.runNotifier(ctx, n.done)
	}
	n.mu.Unlock()
	select {
	case n.wake <- struct{}{}:
	default:
	}
}

// stopNotifier ends the notifier goroutine (on Close), after it has sent
// what is pending.
func (db *DB) stopNotifier() {
	n := &db.notifier
	n.mu.Lock()
	n.stopped = true
	running := n.running
	n.mu.Unlock()
	if running {
		n.cancel()
		<-n.done
	}
}

// runNotifier sends pending notifications until ctx ends, then flushes.
func (db *DB) runNotifier(ctx context.Context, done chan<- struct{}) {
	defer close(done)
	var conn *pgx.Conn
	defer func() {
		if conn != nil {
			closeConn(conn, 5*time.Second)
		}
	}()
	n := &db.notifier
	wait := notifyInterval
	for {
		select {
		case <-ctx.Done():
			// Announce what committed before Close, if the server lets us.
			if bits := n.pending.Swap(0); bits != 0 {
				fctx, cancel := context.WithTimeout(context.Background(), 2*time.Second)
				_ = db.sendNotifications(fctx, &conn, bits)
				cancel()
			}
			return
		case <-n.wake:
		}
		if bits := n.pending.Swap(0); bits != 0 {
			sctx, cancel := context.WithTimeout(ctx, 10*time.Second)
			err := db.sendNotifications(sctx, &conn, bits)
			cancel()
			if err != nil {
				// Keep them pending and try again after a backoff.
				n.pending.Or(bits)
				select {
				case n.wake <- struct{}{}:
				default:
				}
				wait = min(wait*2, time.Second)
			} else {
				wait = notifyInterval
			}
		}
		t := time.NewTimer(wait)
		select {
		case <-ctx.Done():
		case <-t.C:
		}
		t.Stop()
	}
}

// sendNotifications sends one pg_notify for each channel in bits, in one
// statement (its own transaction) on *conn, connecting first if needed. On
// an error it closes *conn and sets it to nil.
func (db *DB) sendNotifications(ctx context.Context, conn **pgx.Conn, bits uint32) error {
	if *conn == nil {
		c, err := db.connect(ctx)
		if err != nil {
			return err
		}
		*conn = c
	}
	channels := make([]string, 0, 2)
	if bits&notifyStream != 0 {
		channels = append(channels, db.channel)
	}
	if bits&notifyTasks != 0 {
		channels = append(channels, db.taskChannel)
	}
	// A notification's transaction need not wait for its WAL flush (a
	// NOTIFY takes a transaction id, so its commit writes WAL): nothing is
	// lost if a crash loses it, as listeners re-read from their position.
	// Not waiting spares the writers' commits a flush of its own between
	// theirs.
	_, err := (*conn).Exec(ctx, "SELECT set_config('synchronous_commit', 'off', true), pg_notify(c, '') FROM unnest($1::text[]) c", channels)
	if err != nil {
		closeConn(*conn, time.Second)
		*conn = nil
	}
	return err
}
