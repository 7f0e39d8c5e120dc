package kvstream

import (
	"context"
	"fmt"
	"log/slog"

	"github.com/kvsuite/kv/kvlock"
)

// BatchHandler handles a batch of records, in seq order, as one unit: for
// example it sends them all to another system and waits until that system
// acknowledged every one. It returns how many records, from the first,
// it handled: len(recs) on success; fewer, with an error saying why the
// next one was not.
type BatchHandler func(ctx context.Context, recs []Record) (handled int, err error)

// RunBatch is Run with a handler that receives each batch whole instead of
// one record at a time. Everything Run says holds, except:
//
//   - The records a call of handle reports handled are committed after it
//     returns, in one commit (CommitAll and CommitBatch alike; CommitNone
//     never commits), even when it also returns an error; then Run stops
//     with that error and the next run starts with the first record not
//     handled. Once a whole batch is handled the position moves past the
//     entries the filters left out, as Run's does; handle is not called
//     for a read whose filters left out every entry.
//   - The ctx handle receives ends when Run's context ends or when the
//     consumer's lease is lost (context.Cause says which), so a handler
//     that retries its own failures can stop retrying then. Records it
//     reports handled after Run's context ended are still committed (one
//     attempt, as Run commits at a shutdown); after the lease was lost the
//     commit is fenced and Run returns the lost lease's error.
//
// A handled count below 0 or above len(recs) stops Run with an error
// wrapping ErrInvalidArgument, and nothing of that batch is committed.
func (c *Consumer) RunBatch(ctx context.Context, handle BatchHandler) error {
	return c.run(ctx, func(ctx context.Context, log *slog.Logger, hold *kvlock.Hold, p page) error {
		recs := p.recs
		if len(recs) == 0 {
			return c.commitHandled(ctx, log, hold, p.through)
		}
		hctx, cancel := context.WithCancelCause(ctx)
		defer cancel(nil)
		go func() {
			select {
			case <-hold.Lost():
				cancel(hold.Err())
			case <-hctx.Done():
			}
		}()
		n, err := handle(hctx, recs)
		if n < 0 || n > len(recs) {
			return fmt.Errorf("kv consumer %q: %w: the batch handler reported %d of %d records handled", c.name, ErrInvalidArgument, n, len(recs))
		}
		if n > 0 {
			upTo := recs[n-1].Seq
			if n == len(recs) && err == nil {
				upTo = max(upTo, p.through)
			}
			if cerr := c.commitHandled(ctx, log, hold, upTo); cerr != nil {
				return cerr
			}
		}
		switch {
		case err == nil:
			return nil
		case hold.Err() != nil:
			return fmt.Errorf("%w: %w", errStop, err)
		case n < len(recs):
			return fmt.Errorf("kv consumer %q: record %d: %w", c.name, recs[n].Seq, err)
		}
		return fmt.Errorf("kv consumer %q: %w", c.name, err)
	})
}

// commitHandled records that every record up to seq was handled: it
// commits seq per the commit mode (any mode but CommitNone commits). A seq
// not past the position changes nothing.
func (c *Consumer) commitHandled(ctx context.Context, log *slog.Logger, hold *kvlock.Hold, seq int64) error {
	if seq <= c.Position() {
		return nil
	}
	if c.mode == CommitNone {
		c.mu.Lock()
		c.position = seq
		c.mu.Unlock()
		return nil
	}
	return c.commitRetrying(ctx, log, hold, seq)
}
