package kvstream

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"os"
	"strconv"
	"sync"
	"time"

	"github.com/kvsuite/kv/kvcore"
	coredriver "github.com/kvsuite/kv/kvcore/driver"
	"github.com/kvsuite/kv/kvlock"
	"github.com/kvsuite/kv/kvstream/driver"
)

// CommitMode says when a consumer commits its position.
type CommitMode string

// The commit modes.
const (
	// CommitAll commits after each record is handled.
	CommitAll CommitMode = "all"
	// CommitBatch commits after each batch is handled.
	CommitBatch CommitMode = "batch"
	// CommitNone never commits: a peek.
	CommitNone CommitMode = "none"
)

// ParseCommitMode parses "all", "batch" or "none".
func ParseCommitMode(s string) (CommitMode, error) {
	switch m := CommitMode(s); m {
	case CommitAll, CommitBatch, CommitNone:
		return m, nil
	}
	return "", fmt.Errorf("%w: commit mode %q: want all, batch or none", ErrInvalidArgument, s)
}

// LeasePrefix starts the name of every consumer's lease.
const LeasePrefix = "kvstream/consumer/"

// Consumer reads the stream under a name whose position is durable. Only the
// instance holding the consumer's lease reads and commits; an instance that
// takes the lease over reloads the position first.
type Consumer struct {
	s       *Stream
	name    string
	owner   string
	d       time.Duration
	batch   int
	mode    CommitMode
	filters []Filter
	q       driver.Query // the read: filters and batch applied, After set per read
	atEnd   bool

	mu       sync.Mutex
	token    int64 // the lease token this instance holds (0: none)
	position int64 // the last seq this instance handled
}

// ConsumerOption configures a Consumer.
type ConsumerOption func(*Consumer)

// Owner names this instance in the consumer's lease (default host-pid-time).
func Owner(id string) ConsumerOption { return func(c *Consumer) { c.owner = id } }

// LeaseDuration sets how long the consumer's lease lasts between renewals
// (default 30s).
func LeaseDuration(d time.Duration) ConsumerOption { return func(c *Consumer) { c.d = d } }

// BatchSize sets how many records a read returns at most (default 100).
func BatchSize(n int) ConsumerOption { return func(c *Consumer) { c.batch = n } }

// Commit sets the commit mode (default CommitBatch).
func Commit(m CommitMode) ConsumerOption { return func(c *Consumer) { c.mode = m } }

// Filters narrows the records the consumer receives.
func Filters(fs ...Filter) ConsumerOption {
	return func(c *Consumer) { c.filters = append(c.filters, fs...) }
}

// StartAtEnd makes a new consumer start after the last entry instead of at
// the start of the stream.
func StartAtEnd() ConsumerOption { return func(c *Consumer) { c.atEnd = true } }

// Consumer returns the consumer name. Nothing is read or locked until Get or
// Run is called.
func (s *Stream) Consumer(name string, opts ...ConsumerOption) (*Consumer, error) {
	if err := kvcore.ValidateName("consumer name", name); err != nil {
		return nil, err
	}
	host, _ := os.Hostname()
	c := &Consumer{s: s, name: name, d: 30 * time.Second, batch: 100, mode: CommitBatch,
		owner: host + "-" + strconv.Itoa(os.Getpid()) + "-" + strconv.FormatInt(time.Now().UnixNano(), 36)}
	for _, opt := range opts {
		opt(c)
	}
	if err := kvcore.ValidateName("consumer owner", c.owner); err != nil {
		return nil, err
	}
	if c.d < kvlock.MinDuration {
		return nil, fmt.Errorf("%w: lease duration %v is shorter than %v", ErrInvalidArgument, c.d, kvlock.MinDuration)
	}
	if c.batch <= 0 || c.batch > MaxLimit {
		return nil, fmt.Errorf("%w: batch size %d: want 1 to %d", ErrInvalidArgument, c.batch, MaxLimit)
	}
	if _, err := ParseCommitMode(string(c.mode)); err != nil {
		return nil, err
	}
	q, err := query(0, c.batch, c.filters)
	if err != nil {
		return nil, err
	}
	c.q = q
	return c, nil
}

// Name returns the consumer's name.
func (c *Consumer) Name() string { return c.name }

// Position returns the last seq this instance handled (or committed).
func (c *Consumer) Position() int64 {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.position
}

func (c *Consumer) leaseName() string { return LeasePrefix + c.name }

// acquire takes or extends the consumer's lease. If this instance did not
// hold it with that token before, it reloads the durable position.
func (c *Consumer) acquire(ctx context.Context) error {
	le, ok, err := c.s.locker.Acquire(ctx, c.leaseName(), c.owner, c.d)
	if err != nil {
		return err
	}
	if !ok {
		return fmt.Errorf("kv consumer %q: %w (owner %q)", c.name, kvlock.ErrHeld, le.Owner)
	}
	return c.took(ctx, le.Token)
}

// took records that this instance holds the lease with token, reloading the
// position if the token is new to it.
func (c *Consumer) took(ctx context.Context, token int64) error {
	c.mu.Lock()
	same := c.token == token
	c.mu.Unlock()
	if same {
		return nil
	}
	start := int64(0)
	if c.atEnd {
		_, last, err := c.s.d.Bounds(ctx)
		if err != nil {
			return fmt.Errorf("kv consumer %q: %w", c.name, err)
		}
		start = last
	}
	now, err := c.s.storedNow()
	if err != nil {
		return fmt.Errorf("kv consumer %q: %w", c.name, err)
	}
	st, err := c.s.d.CreateConsumer(ctx, c.name, start, now)
	if err != nil {
		return fmt.Errorf("kv consumer %q: load position: %w", c.name, err)
	}
	c.mu.Lock()
	c.token, c.position = token, st.Position
	c.mu.Unlock()
	return nil
}

// next reads the batch after the instance's position.
func (c *Consumer) next(ctx context.Context) (page, error) {
	q := c.q
	q.After = c.Position()
	p, err := c.s.read(ctx, q, true)
	if err != nil {
		return page{}, fmt.Errorf("kv consumer %q: %w", c.name, err)
	}
	return p, nil
}

// Batch is one read of a consumer: the records after its position that
// pass its filters, and how far the read looked.
type Batch struct {
	Records []Record
	// Through is the highest seq the read covered: every entry after the
	// consumer's position up to Through that passes the consumer's filters
	// is in Records; those it left out are covered too. It is at least the
	// seq of the last record. Committing Through once Records are handled
	// moves a filtered consumer past the entries it skips, so its lag
	// falls to 0 and trimming passes it.
	Through int64
}

// Get takes the consumer's lease, reads the next batch and, unless the mode
// is CommitNone (a peek), commits it before returning it (at most once).
// The position committed is the batch's Through (see GetBatch).
func (c *Consumer) Get(ctx context.Context) ([]Record, error) {
	b, err := c.GetBatch(ctx)
	return b.Records, err
}

// GetBatch is Get, returning the batch with how far the read looked
// (Batch.Through). Unless the mode is CommitNone it commits Through, even
// when the filters left every entry read out (no records); a peek commits
// nothing, and the next GetBatch reads the same entries again. A caller
// that commits by itself (a peek followed by Commit) should commit Through
// once it has handled the records.
func (c *Consumer) GetBatch(ctx context.Context) (Batch, error) {
	if err := c.acquire(ctx); err != nil {
		return Batch{}, err
	}
	p, err := c.next(ctx)
	if err != nil {
		return Batch{}, err
	}
	b := Batch{Records: p.recs, Through: p.through}
	if c.mode == CommitNone || p.through <= c.Position() {
		return b, nil
	}
	return b, c.Commit(ctx, p.through)
}

// Commit durably sets the consumer's position to seq, fenced by this
// instance's lease: if another instance took the lease over, it fails with
// ErrFenced and changes nothing.
func (c *Consumer) Commit(ctx context.Context, seq int64) error {
	if seq < 0 {
		return fmt.Errorf("%w: seq %d is negative", ErrInvalidArgument, seq)
	}
	c.mu.Lock()
	token := c.token
	c.mu.Unlock()
	if token == 0 {
		return fmt.Errorf("kv consumer %q: commit: %w (this instance never held the lease)", c.name, ErrFenced)
	}
	fence := &coredriver.Fence{Name: c.leaseName(), Token: token}
	now, err := c.s.storedNow()
	if err != nil {
		return fmt.Errorf("kv consumer %q: commit %d: %w", c.name, seq, err)
	}
	if err := c.s.d.Commit(ctx, c.name, seq, fence, now); err != nil {
		return fmt.Errorf("kv consumer %q: commit %d: %w", c.name, seq, err)
	}
	c.mu.Lock()
	c.position = seq
	c.mu.Unlock()
	return nil
}

// Close releases the consumer's lease if this instance holds it.
func (c *Consumer) Close(ctx context.Context) error {
	c.mu.Lock()
	held := c.token != 0
	c.token = 0
	c.mu.Unlock()
	if !held {
		return nil
	}
	_, err := c.s.locker.Release(ctx, c.leaseName(), c.owner)
	return err
}

// Handler handles one record. An error stops Run; the record is delivered
// again to the next run (delivery is at least once).
type Handler func(ctx context.Context, r Record) error

// Run holds the consumer's lease (renewing it in the background) and calls
// handle for each record in order, committing per the commit mode (and,
// once a batch is handled, past the entries its filters left out), until
// ctx ends (Run then returns nil), handle fails, the lease is lost, or a
// read or commit fails permanently (see IsPermanent: a fenced commit, a
// trimmed position, a deleted consumer, a closed store). A read or commit
// that fails with a transient error (a dropped connection, a restarting
// database) is retried with backoff (WithRetryBackoff) for as long as the
// lease is held - its renewals retry too, so an outage longer than the
// lease duration ends in a lost lease; a commit is retried without handling
// its records again. When ctx ends Run hands out no further record and
// commits those already handled (one more attempt, within 10 seconds, not
// cut short by ctx), so a shutdown does not deliver them again; in
// CommitBatch mode that commits the part of the batch handled, while a
// failing handler commits nothing of its batch. Taking the lease at the
// start is not retried: its error is returned. When there is nothing to read Run waits for the
// backend's notification if it has one, and polls with growing intervals
// (up to the stream's max poll) otherwise. It releases the lease when it
// returns. It logs to the stream's logger (WithLogger): a take-over of a
// lease another instance did not release and each transient failure
// (warn), a lost lease and a failed commit (error), stopping with an error
// (warn), and taking the lease, batches read and idle waits (debug).
func (c *Consumer) Run(ctx context.Context, handle Handler) error {
	return c.run(ctx, func(ctx context.Context, log *slog.Logger, hold *kvlock.Hold, p page) error {
		return c.handleBatch(ctx, log, hold, p, handle)
	})
}

// batchFunc handles one page that a continuous consumer read (its records
// may be none when its filters left out every entry it covered),
// committing per the commit mode.
type batchFunc func(ctx context.Context, log *slog.Logger, hold *kvlock.Hold, p page) error

// run is Run and RunBatch: it holds the lease and reads batch after batch,
// handing each to each.
func (c *Consumer) run(ctx context.Context, each batchFunc) (err error) {
	log := c.s.log.With("consumer", c.name, "owner", c.owner)
	// A lease last held by another owner that never released it: taking
	// it now is a take-over from an instance that died or hung.
	prev, _, _ := c.s.locker.Status(ctx, c.leaseName())
	hold, err := c.s.locker.Hold(ctx, c.leaseName(), c.owner, c.d)
	if err != nil {
		return fmt.Errorf("kv consumer %q: %w", c.name, err)
	}
	defer func() {
		rctx, cancel := context.WithTimeout(context.WithoutCancel(ctx), stopTimeout)
		defer cancel()
		_ = hold.Release(rctx)
		c.mu.Lock()
		c.token = 0
		c.mu.Unlock()
	}()
	if err := c.took(ctx, hold.Token()); err != nil {
		return err
	}
	if prev.Owner != "" && prev.Owner != c.owner {
		log.WarnContext(ctx, "consumer took over the lease of an instance that did not release it",
			"previous_owner", prev.Owner, "token", hold.Token(), "position", c.Position())
	} else {
		log.DebugContext(ctx, "consumer took its lease", "token", hold.Token(), "position", c.Position())
	}
	defer func() {
		if err != nil {
			log.WarnContext(ctx, "consumer stopped", "error", err)
		} else {
			log.DebugContext(ctx, "consumer stopped, releasing its lease", "position", c.Position())
		}
	}()
	wake := c.subscribe(ctx)
	const minWait = 10 * time.Millisecond
	wait := minWait
	for {
		if ctx.Err() != nil {
			return nil
		}
		if hold.Err() != nil {
			return c.lost(ctx, log, hold)
		}
		var p page
		err := c.retry(ctx, log, hold, "read", func() (err error) {
			p, err = c.next(ctx)
			return err
		})
		if err != nil {
			return c.stopped(ctx, log, hold, err)
		}
		if len(p.recs) == 0 {
			// Nothing for the handler; the filters may have left out
			// entries, which the position moves past.
			if err := each(ctx, log, hold, p); err != nil {
				return c.stopped(ctx, log, hold, err)
			}
			log.DebugContext(ctx, "consumer idle: waiting", "wait", wait, "position", c.Position())
			if !c.sleep(ctx, hold, wake, wait) {
				continue
			}
			wait = min(wait*2, c.s.poll)
			continue
		}
		wait = minWait
		log.DebugContext(ctx, "consumer read a batch", "records", len(p.recs), "first", p.recs[0].Seq, "last", p.recs[len(p.recs)-1].Seq, "through", p.through)
		if err := each(ctx, log, hold, p); err != nil {
			return c.stopped(ctx, log, hold, err)
		}
	}
}

// lost is Run's result once the lease was lost.
func (c *Consumer) lost(ctx context.Context, log *slog.Logger, hold *kvlock.Hold) error {
	log.ErrorContext(ctx, "consumer lost its lease", "error", hold.Err())
	return fmt.Errorf("kv consumer %q: %w", c.name, hold.Err())
}

// stopped is Run's result after a read, handler or commit error err: nil if
// ctx ended, the lost lease's error if it was lost, else err.
func (c *Consumer) stopped(ctx context.Context, log *slog.Logger, hold *kvlock.Hold, err error) error {
	switch {
	case ctx.Err() != nil:
		return nil
	case errors.Is(err, errStop) && hold.Err() != nil:
		return c.lost(ctx, log, hold)
	}
	return err
}

// handleBatch calls handle for each record of p in order and commits per
// the commit mode: once every record is handled, the position moves to
// p.through (past the entries the filters left out, committed unless the
// mode is CommitNone). Once ctx ends it hands out no further record: it
// commits the records already handled (see commitRetrying) and returns.
func (c *Consumer) handleBatch(ctx context.Context, log *slog.Logger, hold *kvlock.Hold, p page, handle Handler) error {
	var handled int64 // the last record handled and not yet committed (0: none)
	done := true      // every record was handled
	for _, r := range p.recs {
		if ctx.Err() != nil {
			done = false
			break
		}
		if err := handle(ctx, r); err != nil {
			return fmt.Errorf("kv consumer %q: record %d: %w", c.name, r.Seq, err)
		}
		if c.mode == CommitAll {
			if err := c.commitRetrying(ctx, log, hold, r.Seq); err != nil {
				return err
			}
			continue
		}
		c.mu.Lock()
		c.position = r.Seq
		c.mu.Unlock()
		handled = r.Seq
	}
	if done && p.through > c.Position() {
		handled = p.through
		if c.mode == CommitNone {
			c.mu.Lock()
			c.position = p.through
			c.mu.Unlock()
		}
	}
	if handled == 0 || c.mode == CommitNone {
		return nil
	}
	return c.commitRetrying(ctx, log, hold, handled)
}

// stopTimeout bounds what Run does after its context ended: the last
// commit and the release of the lease.
const stopTimeout = 10 * time.Second

// commitRetrying commits seq, retrying transient failures while ctx lasts,
// and logs a commit that failed for good. If ctx ends first, it tries once
// more within stopTimeout, not cut short by ctx (the lease is still held
// until Run releases it), so that records handled before a shutdown are
// not delivered again; if that fails too they will be.
func (c *Consumer) commitRetrying(ctx context.Context, log *slog.Logger, hold *kvlock.Hold, seq int64) error {
	err := c.retry(ctx, log, hold, "commit", func() error { return c.Commit(ctx, seq) })
	switch {
	case err == nil:
		return nil
	case ctx.Err() != nil && !errors.Is(hold.Err(), kvlock.ErrLost):
		sctx, cancel := context.WithTimeout(context.WithoutCancel(ctx), stopTimeout)
		defer cancel()
		if err = c.Commit(sctx, seq); err != nil {
			log.WarnContext(ctx, "consumer stopping: commit failed; its records will be delivered again", "seq", seq, "error", err)
		}
		return err
	case !errors.Is(err, errStop):
		log.ErrorContext(ctx, "consumer commit failed", "seq", seq, "error", err)
	}
	return err
}

// subscribe returns the backend's change signal, or nil if it has none.
func (c *Consumer) subscribe(ctx context.Context) <-chan struct{} {
	n, ok := c.s.d.(driver.Notifier)
	if !ok {
		return nil
	}
	ch, err := n.Subscribe(ctx)
	if err != nil {
		return nil // fall back to polling
	}
	return ch
}

// sleep waits d for a signal (none if wake is nil), the timer, the end of
// ctx or the loss of the lease. It reports whether the timer ended the wait.
func (c *Consumer) sleep(ctx context.Context, hold *kvlock.Hold, wake <-chan struct{}, d time.Duration) bool {
	t := time.NewTimer(d)
	defer t.Stop()
	select {
	case <-ctx.Done():
	case <-hold.Lost():
	case <-wake:
		return false
	case <-t.C:
		return true
	}
	return false
}
