package kvstream

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"time"

	"github.com/kvsuite/kv/kvcore"
	"github.com/kvsuite/kv/kvlock"
	"github.com/kvsuite/kv/kvstream/driver"
)

// The default backoff of Consumer.Run after a transient error.
const (
	defaultRetryMin = 100 * time.Millisecond
	defaultRetryMax = 5 * time.Second
)

// WithRetryBackoff sets how long Consumer.Run waits before retrying a read
// or commit that failed with a transient error: first after the first
// failure, doubling after each further one, at most ceiling (defaults 100ms
// and 5s). Values <= 0 keep the defaults; a ceiling below first is raised to
// first.
func WithRetryBackoff(first, ceiling time.Duration) Option {
	return func(s *Stream) {
		if first > 0 {
			s.retryMin = first
		}
		if ceiling > 0 {
			s.retryMax = ceiling
		}
		s.retryMax = max(s.retryMax, s.retryMin)
	}
}

// IsPermanent reports whether err, from reading the stream or committing a
// consumer's position, will not go away by retrying, so a continuous
// consumer (Consumer.Run) stops on it:
//
//   - a lost lease or a fenced commit (another instance took the consumer
//     over: kvlock.ErrLost, kvlock.ErrHeld, ErrFenced),
//   - a position that was trimmed away (ErrTrimmed),
//   - a consumer deleted meanwhile (ErrNotFound, driver.ErrNoConsumer),
//   - a closed or uninitialised store (kvcore.ErrClosed,
//     kvcore.ErrNotInitialized), invalid input (ErrInvalidArgument) or a
//     missing feature (errors.ErrUnsupported).
//
// Any other error - a dropped connection, a database restarting, failing
// over or busy, a driver's own timeout - is transient: Run logs it and
// retries. The end of Run's own context is neither: Run returns nil.
func IsPermanent(err error) bool {
	for _, p := range []error{kvlock.ErrLost, kvlock.ErrHeld, ErrFenced, ErrTrimmed, ErrNotFound,
		driver.ErrNoConsumer, kvcore.ErrClosed, kvcore.ErrNotInitialized, ErrInvalidArgument, errors.ErrUnsupported} {
		if errors.Is(err, p) {
			return true
		}
	}
	return false
}

// errStop is why a retry loop stopped waiting: ctx ended or the lease was
// lost. Run turns it into its own result.
var errStop = errors.New("consumer stopping")

// retry runs op until it succeeds or fails permanently, waiting with
// capped, doubling backoff between attempts and logging each transient
// failure at warn. It stops early, returning an error wrapping errStop,
// when ctx ends or the lease is lost.
func (c *Consumer) retry(ctx context.Context, log *slog.Logger, hold *kvlock.Hold, what string, op func() error) error {
	wait := c.s.retryMin
	for attempt := 1; ; attempt++ {
		err := op()
		switch {
		case err == nil:
			return nil
		case ctx.Err() != nil, hold.Err() != nil:
			return fmt.Errorf("%w: %w", errStop, err)
		case IsPermanent(err):
			return err
		}
		log.WarnContext(ctx, "consumer "+what+" failed: retrying", "attempt", attempt, "wait", wait, "error", err)
		if !c.sleep(ctx, hold, nil, wait) {
			return fmt.Errorf("%w: %w", errStop, err)
		}
		wait = min(wait*2, c.s.retryMax)
	}
}
