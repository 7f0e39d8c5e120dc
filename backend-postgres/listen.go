package postgreskv

import (
	"context"
	"time"

	"github.com/jackc/pgx/v5"
)

// Writes that append stream entries have the DB's notifier (notifier.go)
// send pg_notify(channel, '') after they commit; task writes that make a
// task claimable (Insert, Fire, Finish with a retry) notify taskChannel. The
// channels are derived from the schema, so stores in different schemas of
// one database do not wake each other.
//
// Subscribers of one DB, of either channel, share one listener: a goroutine
// that holds a dedicated connection (made from the pool's config, outside
// the pool, so it never takes a pooled connection away from the store),
// LISTENs on both channels and waits for notifications, and fans each one
// out to the subscribers of its channel. It starts with the first
// subscriber, stops with the last, and reconnects with backoff if its
// connection fails. After each (re)LISTEN it signals every subscriber, since
// writes may have committed while nobody was listening.

// listener is the shared LISTEN connection of a DB.
type listener struct {
	subs   map[chan struct{}]string // the NOTIFY channel each wants; guarded by DB.lmu
	cancel context.CancelFunc
	done   chan struct{}
}

// Subscribe returns a channel that receives a value after new stream entries
// may have become readable (coalesced: it holds at most one pending signal;
// spurious signals happen, e.g. after a reconnect). It is closed when ctx
// ends or the DB is closed. Notifications need a direct session (not
// PgBouncer in transaction mode); without them consumers still poll.
func (db *DB) Subscribe(ctx context.Context) (<-chan struct{}, error) {
	return db.subscribe(ctx, db.channel)
}

// SubscribeTasks returns a channel that receives a value after tasks may
// have been inserted or become claimable again (see kvtask/driver.Notifier),
// coalesced and possibly spurious. It is closed when ctx ends or the DB is
// closed. Without notifications (WithoutTaskNotify, or PgBouncer in
// transaction mode) runners still poll.
func (db *DB) SubscribeTasks(ctx context.Context) (<-chan struct{}, error) {
	return db.subscribe(ctx, db.taskChannel)
}

// subscribe adds a subscriber of the NOTIFY channel name to the shared
// listener, starting it if needed.
func (db *DB) subscribe(ctx context.Context, name string) (<-chan struct{}, error) {
	if err := db.check(); err != nil {
		return nil, err
	}
	if err := ctx.Err(); err != nil {
		return nil, err
	}
	ch := make(chan struct{}, 1)
	db.lmu.Lock()
	if db.closed.Load() {
		db.lmu.Unlock()
		return nil, db.check()
	}
	l := db.listener
	if l == nil {
		lctx, cancel := context.WithCancel(context.Background())
		l = &listener{subs: map[chan struct{}]string{}, cancel: cancel, done: make(chan struct{})}
		db.listener = l
		go db.listen(lctx, l)
	}
	l.subs[ch] = name
	db.lmu.Unlock()

	go func() {
		select {
		case <-ctx.Done():
		case <-l.done:
			return // stopListener closed ch
		}
		db.lmu.Lock()
		defer db.lmu.Unlock()
		if _, ok := l.subs[ch]; !ok {
			return
		}
		delete(l.subs, ch)
		close(ch)
		if len(l.subs) == 0 && db.listener == l {
			db.listener = nil
			l.cancel()
		}
	}()
	return ch, nil
}

// stopListener stops the shared listener and closes every subscriber's
// channel (on Close).
func (db *DB) stopListener() {
	db.lmu.Lock()
	l := db.listener
	db.listener = nil
	if l != nil {
		l.cancel()
		for ch := range l.subs {
			delete(l.subs, ch)
			close(ch)
		}
	}
	db.lmu.Unlock()
	if l != nil {
		<-l.done
	}
}

// signal wakes, without blocking, every subscriber of l that wants the
// NOTIFY channel name ("": every subscriber).
func (db *DB) signal(l *listener, name string) {
	db.lmu.Lock()
	defer db.lmu.Unlock()
	for ch, want := range l.subs {
		if name != "" && want != name {
			continue
		}
		select {
		case ch <- struct{}{}:
		default:
		}
	}
}

// listen runs l's connection until ctx ends, reconnecting with backoff.
func (db *DB) listen(ctx context.Context, l *listener) {
	defer close(l.done)
	const minBackoff, maxBackoff = 50 * time.Millisecond, 5 * time.Second
	backoff := minBackoff
	for ctx.Err() == nil {
		if db.listenOnce(ctx, l) {
			backoff = minBackoff // it was up: retry quickly
		}
		t := time.NewTimer(backoff)
		select {
		case <-ctx.Done():
		case <-t.C:
		}
		t.Stop()
		backoff = min(backoff*2, maxBackoff)
	}
}

// listenOnce connects, listens and forwards notifications until the
// connection fails or ctx ends. It reports whether LISTEN succeeded.
func (db *DB) listenOnce(ctx context.Context, l *listener) bool {
	conn, err := db.connect(ctx)
	if err != nil {
		return false
	}
	defer closeConn(conn, 5*time.Second)
	for _, name := range []string{db.channel, db.taskChannel} {
		if _, err := conn.Exec(ctx, "LISTEN "+pgx.Identifier{name}.Sanitize()); err != nil {
			return false
		}
	}
	db.signal(l, "") // writes may have committed while nobody listened
	for {
		n, err := conn.WaitForNotification(ctx)
		if err != nil {
			return true
		}
		db.signal(l, n.Channel)
	}
}
