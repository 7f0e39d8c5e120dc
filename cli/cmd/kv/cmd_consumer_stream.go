package main

import (
	"context"
	"errors"
	"flag"
	"sync"
	"time"

	"github.com/peterbourgon/ff/v3/ffcli"

	"github.com/kvsuite/kv/cli/internal/open"
	"github.com/kvsuite/kv/kvstream"
	streamdriver "github.com/kvsuite/kv/kvstream/driver"
)

// Defaults of kv consumer stream.
const (
	defaultPollInterval  = time.Second
	defaultLeaseDuration = 30 * time.Second
)

func (a *app) consumerStreamCommand() *ffcli.Command {
	const path = "consumer stream"
	var (
		ofType, mode, owner, stream string
		limit                       int
		idleExit, poll, d           time.Duration
	)
	return a.command(spec{
		path:  path,
		args:  "<name> [<owner>]",
		short: "Continuously consume records from a stream.",
		long: `Follows the change stream as the consumer <name>, printing each record as a
JSON line as it arrives, and committing the consumer's position per
--commit-mode (after each record with "all", after each batch of at most
--limit records with "batch", never with "none"). It runs until interrupted
(Ctrl+C or SIGTERM), then releases the consumer's lease and exits with
status 0; --idle-exit makes it exit the same way once nothing new arrived
for that long.

<name> is the consumer: its position is kept under that name (kv consumer
status <name> shows it). <owner> (or --owner) names this instance in the
consumer's lease; several instances of one consumer take turns, one at a
time. It reads the form of a-h/kv's CLI, consumer stream <stream-name>
<consumer-name>, as that CLI did: the position under <stream-name>, and
<consumer-name> in the lease. So kv consumer stream events mailer follows
the stream as consumer "events", instance "mailer" (see MIGRATING.md).

Every namespace's changes are followed unless --stream names one, and
every type unless --of-type names one; it logs what it follows when it
starts. The consumer's position is one seq in the whole stream, so keep
using the same --stream and --of-type for a given consumer.

A new consumer starts at the start of the stream. Only one instance of a
consumer runs at a time: another one (or a kv consumer get) fails while this
one holds the lease. Changes made by other processes are seen within
--poll-interval (on SQLite; PostgreSQL also notifies). Delivery is at least
once: records printed after the last commit are printed again by the next run.
It logs to stderr (what it follows, taking the lease, a lost lease, failed
commits; idle waits at debug level) per the global --log-format and
--log-level.`,
		flags: func(fs *flag.FlagSet) {
			defineStreamFilters(fs, &ofType, &stream)
			fs.StringVar(&mode, "commit-mode", string(kvstream.CommitBatch), "when to commit the position: all, batch or none")
			fs.IntVar(&limit, "limit", defaultBatch, "read at most this many records at a time (the batch size)")
			fs.StringVar(&owner, "owner", "", "the `id` of this instance in the consumer's lease, as <owner> (default host-pid-time)")
			fs.DurationVar(&idleExit, "idle-exit", 0, "exit (status 0) after this `duration` with no new record; 0 runs until interrupted")
			fs.DurationVar(&poll, "poll-interval", defaultPollInterval, "the longest `wait` between reads when idle")
			fs.DurationVar(&d, "lease-duration", defaultLeaseDuration, "the consumer's lease lasts this long between renewals; a killed run holds it until then")
		},
		run: func(ctx context.Context, args []string) error {
			name, owner, err := consumerStreamArgs(path, args, owner)
			if err != nil {
				return err
			}
			opts, m, err := consumerOptions(path, name, ofType, mode, owner, stream, limit)
			if err != nil {
				return err
			}
			if idleExit < 0 {
				return usagef(path, "--idle-exit %v is negative", idleExit)
			}
			if poll <= 0 {
				return usagef(path, "--poll-interval %v: want a positive duration (e.g. 1s)", poll)
			}
			if err := checkDuration(path, "lease-duration", d); err != nil {
				return err
			}
			opts = append(opts, kvstream.Commit(m), kvstream.LeaseDuration(d))
			w := &idleWatch{idle: idleExit}
			return a.withBackend(ctx, func(b *open.Backend) error {
				s, err := streamOf(b, w.wrap, kvstream.WithMaxPoll(poll), kvstream.WithLogger(a.log))
				if err != nil {
					return err
				}
				c, err := s.Consumer(name, opts...)
				if err != nil {
					return err
				}
				if err := a.logFollowing(ctx, b.Store, s, name, owner, stream, ofType, m); err != nil {
					return err
				}
				return a.consume(ctx, c, w)
			})
		},
	})
}

// consume runs c, printing each record as it arrives, until ctx ends or w
// sees it idle. Either way it returns nil, once Run released the consumer's
// lease.
func (a *app) consume(ctx context.Context, c *kvstream.Consumer, w *idleWatch) error {
	ctx, cancel := context.WithCancel(ctx)
	defer cancel()
	w.start(cancel)
	defer w.stop()
	err := c.Run(ctx, func(ctx context.Context, r kvstream.Record) error {
		if err := a.printStreamRecords(r); err != nil {
			return err
		}
		return a.flush()
	})
	if err != nil && ctx.Err() != nil && errors.Is(err, ctx.Err()) {
		return nil // interrupted while taking the lease
	}
	return err
}

// idleWatch implements --idle-exit. It watches the consumer's reads of the
// stream: the first read that finds nothing after one that found records
// (or the first read of all) starts a timer, a read that finds records
// stops it, and if it runs out the consumer is stopped. Since a consumer
// reads again only after it handled (and committed) the previous batch, it
// is never stopped in the middle of a batch, nor before it took its lease.
type idleWatch struct {
	idle time.Duration // 0: never stop

	mu      sync.Mutex
	cancel  context.CancelFunc
	gen     int  // counts the timers started, to ignore a stale one
	waiting bool // the last read found nothing: a timer runs
	fired   bool
	timer   *time.Timer
}

// wrap returns d with its reads watched (d itself if there is no idle limit).
func (w *idleWatch) wrap(d streamdriver.Stream) streamdriver.Stream {
	if w.idle <= 0 {
		return d
	}
	ws := &watchedStream{Stream: d, w: w}
	if n, ok := d.(streamdriver.Notifier); ok {
		return watchedNotifier{ws, n}
	}
	return ws
}

func (w *idleWatch) start(cancel context.CancelFunc) {
	w.mu.Lock()
	defer w.mu.Unlock()
	w.cancel = cancel
}

func (w *idleWatch) stop() {
	w.mu.Lock()
	defer w.mu.Unlock()
	if w.timer != nil {
		w.timer.Stop()
	}
}

// read notes a read that found n records. It reports false once the watch
// stopped the consumer: records read then are not handed out.
func (w *idleWatch) read(n int) bool {
	w.mu.Lock()
	defer w.mu.Unlock()
	switch {
	case w.fired:
		return false
	case n > 0:
		w.waiting = false
		if w.timer != nil {
			w.timer.Stop()
		}
	case !w.waiting:
		w.waiting = true
		w.gen++
		gen := w.gen
		w.timer = time.AfterFunc(w.idle, func() { w.fire(gen) })
	}
	return true
}

func (w *idleWatch) fire(gen int) {
	w.mu.Lock()
	defer w.mu.Unlock()
	if gen != w.gen || !w.waiting || w.fired || w.cancel == nil {
		return
	}
	w.fired = true
	w.cancel()
}

// watchedStream is a stream driver whose reads an idleWatch sees.
type watchedStream struct {
	streamdriver.Stream
	w *idleWatch
}

// Read reads from the backend and tells the watch what it found. Once the
// watch has stopped the consumer it returns nothing, as if the stream ended
// at q.After, so that the consumer's position does not move.
func (s *watchedStream) Read(ctx context.Context, q streamdriver.Query) ([]streamdriver.Record, int64, int64, error) {
	entries, trimmed, last, err := s.Stream.Read(ctx, q)
	if err != nil {
		return entries, trimmed, last, err
	}
	if !s.w.read(len(entries)) {
		return nil, trimmed, q.After, nil
	}
	return entries, trimmed, last, nil
}

// watchedNotifier is a watchedStream over a backend that notifies.
type watchedNotifier struct {
	*watchedStream
	streamdriver.Notifier
}
