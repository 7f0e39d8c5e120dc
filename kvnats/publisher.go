package kvnats

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"time"

	"github.com/nats-io/nats.go"
	"github.com/nats-io/nats.go/jetstream"

	"github.com/kvsuite/kv/kvcore"
	"github.com/kvsuite/kv/kvlock"
	"github.com/kvsuite/kv/kvstream"
)

// Errors returned by kvnats. Test for them with errors.Is.
var (
	// ErrInvalidArgument is kvcore.ErrInvalidArgument: a bad option or
	// argument.
	ErrInvalidArgument = kvcore.ErrInvalidArgument
	// ErrDuplicateWindow: the JetStream stream forgets message ids sooner
	// than the configured bound (DuplicateWindow), so an entry published
	// again after a crash could be stored twice. Run refuses to start.
	ErrDuplicateWindow = errors.New("JetStream duplicate window too short")
	// ErrUnpublishable: an entry can never be published as it is (its
	// subject or message is larger than NATS or the JetStream stream
	// accepts). Run stops at it, having published and committed every
	// entry before it.
	ErrUnpublishable = errors.New("entry cannot be published")
	// ErrStream: the JetStream stream cannot take the entries as kvnats
	// needs (it does not acknowledge, it is sealed, another stream takes
	// the subjects, several streams take them). Run stops.
	ErrStream = errors.New("JetStream stream not usable")
)

// Defaults of a Publisher.
const (
	DefaultSubjectPrefix   = "kv"
	DefaultDuplicateWindow = 2 * time.Minute // JetStream's own default
	DefaultBatchSize       = 1000
	DefaultAckWait         = 10 * time.Second
)

// Publisher publishes kv's change stream to NATS JetStream: it follows a
// named kvstream consumer and publishes every entry the consumer receives,
// in seq order, committing the consumer's position only after JetStream
// acknowledged every message of a batch. See the package documentation
// for what it guarantees.
type Publisher struct {
	consumer *kvstream.Consumer
	copts    []kvstream.ConsumerOption
	locker   *kvlock.Locker
	nc       *nats.Conn
	js       jetstream.JetStream
	log      *slog.Logger

	prefix             string
	jsStream           string        // the JetStream stream named by an option ("": look it up)
	create             bool          // create jsStream if it is missing
	window             time.Duration // the duplicate window required (0: not checked)
	source             string        // the identity named by an option ("": the stored one)
	ackWait            time.Duration
	retryMin, retryMax time.Duration

	// Set by Run before it publishes.
	id         string // the stream identity in message ids
	target     string // the JetStream stream's name
	maxMsgSize int32  // its max message size (<= 0: none)
}

// Option configures New.
type Option func(*Publisher)

// SubjectPrefix sets the first tokens of every subject (default "kv"; see
// ValidatePrefix).
func SubjectPrefix(p string) Option { return func(pub *Publisher) { pub.prefix = p } }

// JetStreamStream names the JetStream stream the entries go to. Without
// it, Run looks for the one stream whose subjects overlap
// "<prefix>.>". Every message carries the stream's name
// (Nats-Expected-Stream), so one that another stream would capture is
// refused (ErrStream) instead of stored elsewhere.
func JetStreamStream(name string) Option { return func(pub *Publisher) { pub.jsStream = name } }

// CreateIfMissing makes Run create the stream named with JetStreamStream
// whenever it finds it missing (at the start, or after a failure): for the
// subjects "<prefix>.>", as CreateStream does, with the DuplicateWindow
// bound as its window.
func CreateIfMissing() Option { return func(pub *Publisher) { pub.create = true } }

// DuplicateWindow sets the shortest duplicate window Run accepts on the
// JetStream stream (default 2 minutes). JetStream drops a message whose
// Nats-Msg-Id it has seen within its window, and only within it: an entry
// published again later than that after its first publication (a crash
// between publishing and committing, then a restart after the window) is
// stored twice. The window must cover the consumer's lease duration (a
// crashed instance's lease must expire before another takes over) plus
// the time a restart takes. Run refuses a stream with a shorter window
// (ErrDuplicateWindow); 0 turns the check off, and with it the
// exactly-once guarantee.
func DuplicateWindow(d time.Duration) Option { return func(pub *Publisher) { pub.window = d } }

// Source sets the stream identity used in message ids (see MsgID) instead
// of the one stored in the database (see Identity): 1 to 64 bytes of
// A-Z, a-z, 0-9, '-' and '_'. Give each database publishing into one
// JetStream stream its own, and keep it across restarts.
func Source(id string) Option { return func(pub *Publisher) { pub.source = id } }

// AckWait sets how long a published message may wait for JetStream's
// acknowledgement before it counts as failed and the batch is published
// again from it (default 10s).
func AckWait(d time.Duration) Option { return func(pub *Publisher) { pub.ackWait = d } }

// RetryBackoff sets the wait before retrying after a failure that may go
// away (NATS unreachable, the JetStream stream missing, a publish
// refused for now, the database unreachable at the start): first after
// the first failure, doubling after each further one, at most ceiling
// (defaults 100ms and 5s). Values <= 0 keep the defaults.
func RetryBackoff(first, ceiling time.Duration) Option {
	return func(pub *Publisher) {
		if first > 0 {
			pub.retryMin = first
		}
		if ceiling > 0 {
			pub.retryMax = ceiling
		}
		pub.retryMax = max(pub.retryMax, pub.retryMin)
	}
}

// Logger sets where the publisher logs (default slog.Default()): each
// retried failure (warn), an entry stored out of order (error), its start
// (info) and each batch (debug). The consumer logs to the kvstream.Stream's
// logger.
func Logger(l *slog.Logger) Option {
	return func(pub *Publisher) {
		if l != nil {
			pub.log = l
		}
	}
}

// ConsumerOptions configures the kvstream consumer the publisher follows:
// kvstream.Filters (OfType, InNamespace) to publish only some entries,
// kvstream.BatchSize (default 1000 here: a batch is published at once),
// kvstream.LeaseDuration, kvstream.Owner, kvstream.StartAtEnd. The commit
// mode is always kvstream.CommitBatch.
func ConsumerOptions(opts ...kvstream.ConsumerOption) Option {
	return func(pub *Publisher) { pub.copts = append(pub.copts, opts...) }
}

// New returns a Publisher that publishes the entries of s that the
// consumer named consumer receives, through nc. nc must not buffer
// messages while it reconnects (nats.ReconnectBufSize(-1), as Connect
// sets): a message lost in a disconnect could otherwise be overtaken by
// later ones. Nothing is read, locked or published until Run.
func New(s *kvstream.Stream, nc *nats.Conn, consumer string, opts ...Option) (*Publisher, error) {
	if s == nil || nc == nil {
		return nil, fmt.Errorf("%w: kvnats.New needs a stream and a NATS connection", ErrInvalidArgument)
	}
	if nc.Opts.ReconnectBufSize >= 0 {
		return nil, fmt.Errorf("%w: the NATS connection buffers messages while it reconnects: connect with nats.ReconnectBufSize(-1) (kvnats.Connect does)", ErrInvalidArgument)
	}
	p := &Publisher{nc: nc, locker: s.Locker(), log: slog.Default(), prefix: DefaultSubjectPrefix,
		window: DefaultDuplicateWindow, ackWait: DefaultAckWait, retryMin: 100 * time.Millisecond, retryMax: 5 * time.Second}
	for _, opt := range opts {
		opt(p)
	}
	if err := ValidatePrefix(p.prefix); err != nil {
		return nil, err
	}
	if p.window < 0 {
		return nil, fmt.Errorf("%w: duplicate window %v is negative", ErrInvalidArgument, p.window)
	}
	if p.ackWait <= 0 {
		return nil, fmt.Errorf("%w: ack wait %v: want a positive duration", ErrInvalidArgument, p.ackWait)
	}
	if p.source != "" {
		if err := ValidateSource(p.source); err != nil {
			return nil, err
		}
	}
	if p.jsStream != "" {
		if err := kvcore.ValidateName("JetStream stream name", p.jsStream); err != nil {
			return nil, err
		}
	} else if p.create {
		return nil, fmt.Errorf("%w: CreateIfMissing needs the stream's name (JetStreamStream)", ErrInvalidArgument)
	}
	copts := append([]kvstream.ConsumerOption{kvstream.BatchSize(DefaultBatchSize)}, p.copts...)
	c, err := s.Consumer(consumer, append(copts, kvstream.Commit(kvstream.CommitBatch))...)
	if err != nil {
		return nil, err
	}
	p.consumer = c
	// Every batch is in flight at once, so the pending limit is the
	// largest batch; each future resolves within ackWait.
	js, err := jetstream.New(nc, jetstream.WithPublishAsyncMaxPending(kvstream.MaxLimit),
		jetstream.WithPublishAsyncTimeout(p.ackWait))
	if err != nil {
		return nil, fmt.Errorf("kvnats: %w", err)
	}
	p.js = js
	return p, nil
}

// Run publishes entries until ctx ends (it then returns nil, having
// committed what JetStream acknowledged) or a permanent error stops it.
// First it takes the stream identity (Source, or the one stored in the
// database) and finds and checks the JetStream stream, retrying while NATS
// or the stream is missing; then it runs the consumer (see
// kvstream.Consumer.RunBatch): each batch is published at once, and the
// consumer's position is committed once JetStream acknowledged every
// message of it. A failed publish is retried from the first message not
// acknowledged, with capped backoff, while the consumer's lease is held.
// What stops Run with an error: another instance holding the consumer's
// lease (kvlock.ErrHeld) or taking it over, ErrDuplicateWindow, ErrStream,
// ErrUnpublishable, a closed NATS connection, and what stops any consumer
// (see kvstream.IsPermanent). Call Run once at a time.
func (p *Publisher) Run(ctx context.Context) error {
	if err := p.prepare(ctx); err != nil {
		if ctx.Err() != nil {
			return nil
		}
		return err
	}
	p.log.InfoContext(ctx, "kvnats publisher started", "consumer", p.consumer.Name(), "stream_id", p.id,
		"jetstream_stream", p.target, "subject_prefix", p.prefix)
	err := p.consumer.RunBatch(ctx, p.publish)
	if err != nil && ctx.Err() != nil && errors.Is(err, ctx.Err()) {
		return nil // ended while taking the consumer's lease
	}
	return err
}

// prepare sets the identity and the JetStream stream, retrying what may go
// away.
func (p *Publisher) prepare(ctx context.Context) error {
	p.id = p.source
	if p.id == "" {
		err := p.retry(ctx, "reading the stream identity", func() (err error) {
			p.id, err = identity(ctx, p.locker)
			return err
		})
		if err != nil {
			return err
		}
	}
	return p.retry(ctx, "finding the JetStream stream", func() error { return p.checkStream(ctx) })
}

// retry runs op until it succeeds, fails permanently or ctx ends, waiting
// with capped, doubling backoff between attempts and logging each failure
// at warn.
func (p *Publisher) retry(ctx context.Context, what string, op func() error) error {
	wait := p.retryMin
	for attempt := 1; ; attempt++ {
		err := op()
		if err == nil || permanent(err) {
			return err
		}
		if ctx.Err() != nil {
			return fmt.Errorf("%w (stopped retrying: %w)", err, context.Cause(ctx))
		}
		p.log.WarnContext(ctx, "kvnats: "+what+" failed: retrying", "attempt", attempt, "wait", wait,
			"nats", p.nc.Status().String(), "error", err)
		t := time.NewTimer(wait)
		select {
		case <-ctx.Done():
			t.Stop()
			return fmt.Errorf("%w (stopped retrying: %w)", err, context.Cause(ctx))
		case <-t.C:
		}
		wait = min(wait*2, p.retryMax)
	}
}
