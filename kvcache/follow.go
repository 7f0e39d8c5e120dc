package kvcache

import (
	"context"
	"errors"
	"fmt"
	"sync"
	"time"

	"github.com/kvsuite/kv/kvstream"
)

// Follower backoff after a failed stream read.
const (
	retryMin = 10 * time.Millisecond
	retryMax = time.Second
)

// headCheckPolls is how many idle polls the follower makes between two
// queries of the stream's head, which find a head below its position (a
// replaced or restored database: new entries would come at positions it
// has passed). Reads of a fresh cache and Sync query the head anyway.
const headCheckPolls = 8

// follow is the follower: it reads the stream from the cache's position
// and applies each entry of the cache's namespace (every entry moves the
// position), until the cache is closed. It starts, and starts again after
// a trimmed position or a gap (the stream's head below its position), at
// the stream's head with an empty cache.
func (c *Cache) follow() {
	defer close(c.done)
	var wakeups <-chan struct{}
	if c.notify != nil {
		if ch, err := c.notify.Subscribe(c.ctx); err == nil {
			wakeups = ch
		}
	}
	timer := time.NewTimer(time.Hour)
	timer.Stop()
	retry := time.Duration(0) // the backoff after a failure; 0 while reads succeed
	idlePolls := 0
	restart := true
	for c.ctx.Err() == nil {
		var err error
		idle := false
		if restart || c.gap.Load() {
			err = c.restart()
			restart = err != nil
		} else {
			idle, err = c.step()
			if errors.Is(err, kvstream.ErrTrimmed) {
				c.opts.log.Info("kv cache: the stream was trimmed past the follower's position; dropping the cache", "position", c.pos.Load(), "error", err)
				restart, err = true, nil
			}
		}
		if c.ctx.Err() != nil {
			return
		}
		var wait time.Duration
		switch {
		case err != nil:
			c.followErrors.Add(1)
			c.lastErr.Store(&errorBox{err})
			if retry == 0 {
				c.opts.log.Warn("kv cache: reading the stream failed; reads go to the database until it recovers", "error", err)
			}
			retry = min(max(retry*2, retryMin), retryMax)
			wait = retry
		case idle:
			if retry > 0 {
				c.opts.log.Info("kv cache: reading the stream works again")
				retry = 0
			}
			wait = c.opts.poll
			if idlePolls++; idlePolls%headCheckPolls == 0 {
				// Now and then, while idle, compare the stream's head
				// with the position (head flags a head below it).
				_, _ = c.head(c.ctx)
			}
		}
		c.signalProgress()
		if wait == 0 {
			continue
		}
		timer.Reset(wait)
		if err != nil {
			// Back off: neither notifications nor reads shorten the wait.
			select {
			case <-c.ctx.Done():
				return
			case <-timer.C:
			}
			continue
		}
		select {
		case <-c.ctx.Done():
			return
		case _, ok := <-wakeups:
			if !ok {
				wakeups = nil // the notifier stopped: poll
			}
		case <-c.wake:
		case <-timer.C:
		}
		timer.Stop()
	}
}

// restart drops the cache and moves the follower to the stream's head.
// The head is read first: a fill registered after the clear reads the
// database after that, so it misses no change up to the head, and the
// follower applies every later one.
func (c *Cache) restart() error {
	start := c.now()
	_, head, err := c.stream.Bounds(c.ctx)
	if err != nil {
		return fmt.Errorf("kv cache: stream head: %w", err)
	}
	first := c.pos.Load() < 0
	c.clear()
	if !first {
		// Before the position: whoever sees the new position (Sync, a
		// read) finds the reset counted in Stats.
		c.resets.Add(1)
	}
	// Only now: a read that sees the new position finds the cache cleared.
	c.pos.Store(head)
	c.caughtUp.Store(start)
	// Last: until the cache is cleared and the position moved, a read that
	// finds the gap goes to the database. (A gap found again meanwhile is
	// found again by the next query of the head.)
	c.gap.Store(false)
	return nil
}

// step reads the next batch of the stream and applies it. It reports
// whether the follower reached the end of the stream (the batch was not
// full).
func (c *Cache) step() (idle bool, err error) {
	start := c.now()
	pos := c.pos.Load()
	recs, err := c.stream.Read(c.ctx, pos+1, c.opts.batch)
	if err != nil {
		return false, err
	}
	for _, r := range recs {
		// Every action drops the key: a touch entry carries no expiry, so
		// the next read takes the record's new one from the database.
		if r.Namespace == c.ns {
			c.invalidate(r.Key)
		}
	}
	if len(recs) > 0 {
		c.pos.Store(recs[len(recs)-1].Seq)
	}
	if len(recs) < c.opts.batch {
		c.caughtUp.Store(start)
		return true, nil
	}
	return false, nil
}

// signalProgress wakes the reads waiting for the follower.
func (c *Cache) signalProgress() {
	c.progressMu.Lock()
	close(c.progress)
	c.progress = make(chan struct{})
	c.progressMu.Unlock()
}

func (c *Cache) progressChan() <-chan struct{} {
	c.progressMu.Lock()
	defer c.progressMu.Unlock()
	return c.progress
}

// nudge asks the follower to read the stream now.
func (c *Cache) nudge() {
	select {
	case c.wake <- struct{}{}:
	default:
	}
}

// waitApplied waits until the follower has applied the stream up to head,
// at most wait (or until ctx ends), and reports whether it has.
func (c *Cache) waitApplied(ctx context.Context, head int64, wait time.Duration) bool {
	if c.pos.Load() >= head {
		return true
	}
	timer := time.NewTimer(wait)
	defer timer.Stop()
	for {
		ch := c.progressChan()
		if c.pos.Load() >= head {
			return true
		}
		c.nudge()
		select {
		case <-ch:
		case <-timer.C:
			return c.pos.Load() >= head
		case <-ctx.Done():
			return false
		}
	}
}

// head returns the stream's head from a query that began after the call:
// every change committed before the call is at or below it. Calls that
// arrive together share a query (see heads).
func (c *Cache) head(ctx context.Context) (int64, error) {
	call := c.heads.join()
	select {
	case <-call.done:
		return call.head, call.err
	case <-ctx.Done():
		return 0, ctx.Err()
	}
}

// heads shares queries of the stream's head. A call joins the query that
// is waiting to start, if one is; otherwise it starts one at once, unless
// maxHeads are in flight, in which case its query waits for one of them
// to end. So a query always starts after every call that uses it.
type heads struct {
	c        *Cache
	mu       sync.Mutex
	pending  *headCall // the query waiting to start, shared by the calls that arrive meanwhile
	inFlight int
	stopped  bool // the cache is closing: no query starts
}

// maxHeads bounds the head queries in flight at once.
const maxHeads = 4

type headCall struct {
	done chan struct{}
	head int64
	err  error
}

// join returns a query that has not started yet.
func (h *heads) join() *headCall {
	h.mu.Lock()
	defer h.mu.Unlock()
	if h.pending != nil {
		return h.pending
	}
	call := &headCall{done: make(chan struct{})}
	switch {
	case h.stopped:
		call.err = fmt.Errorf("kv cache: stream head: %w", ErrClosed)
		close(call.done)
	case h.inFlight < maxHeads:
		h.inFlight++
		h.c.bg.Add(1)
		go h.run(call)
	default:
		h.pending = call
	}
	return call
}

// stop makes later calls fail and waits for the queries in flight.
func (h *heads) stop() {
	h.mu.Lock()
	h.stopped = true
	h.mu.Unlock()
	h.c.bg.Wait()
}

// run runs call, then, while a query is waiting to start, that one.
func (h *heads) run(call *headCall) {
	c := h.c
	defer c.bg.Done()
	for call != nil {
		before := c.pos.Load()
		_, call.head, call.err = c.stream.Bounds(c.ctx)
		switch {
		case call.err != nil:
			call.err = fmt.Errorf("kv cache: stream head: %w", call.err)
		case call.head < before:
			// The stream's head went below what the follower had applied
			// before the query: the database was replaced or restored.
			// Reads go to the database until the follower starts again.
			c.gap.Store(true)
			c.nudge()
		}
		close(call.done)
		h.mu.Lock()
		call, h.pending = h.pending, nil
		if call == nil {
			h.inFlight--
		}
		h.mu.Unlock()
	}
}

// Sync waits until the cache reflects every change committed before the
// call: it reads the stream's head and waits for the follower to apply
// the stream up to it (or for ctx to end). After Sync, a read of the
// cache (in either mode) sees every write that completed before Sync was
// called.
func (c *Cache) Sync(ctx context.Context) error {
	if err := c.checkOpen("sync"); err != nil {
		return err
	}
	h, err := c.head(ctx)
	if err != nil {
		return err
	}
	for !c.waitApplied(ctx, h, time.Hour) {
		if err := ctx.Err(); err != nil {
			return fmt.Errorf("kv cache sync: %w", err)
		}
	}
	return nil
}

// syncOrClear makes a write whose keys the cache does not know visible to
// the cache's readers before it returns: it waits for the follower to
// reach the stream's head, for at most the catch-up wait, and otherwise
// clears the whole cache.
func (c *Cache) syncOrClear(ctx context.Context) {
	h, err := c.head(ctx)
	if err == nil && c.waitApplied(ctx, h, c.opts.catchUpWait) {
		return
	}
	c.clear()
}
