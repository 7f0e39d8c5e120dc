package kvtask

import (
	"context"
	"fmt"
	"log/slog"
	"runtime"
	"sync"
	"sync/atomic"
	"time"

	"github.com/kvsuite/kv/kvtask/driver"
)

// Bounds of a completer.
const (
	// maxFinishBatch is the most outcomes one FinishMany call records.
	maxFinishBatch = 500
	// finishYields is how many times a flush yields the processor to let
	// handlers that are about to end hand their outcomes over.
	finishYields = 4
	// finishTimeout bounds the recording of a batch of outcomes.
	finishTimeout = 30 * time.Second
)

// completion is an attempt's outcome waiting to be recorded.
type completion struct {
	t   Task
	o   Outcome
	ran time.Duration // how long its handler ran
	log *slog.Logger
}

// completer records the outcomes of a runner's attempts: handlers hand
// their outcomes over and return, and one goroutine records every outcome
// waiting in one FinishMany call: a lone outcome at once, the ones that
// arrive meanwhile together in the next call (group commit, without a
// timer). Each task's handler slot is freed (release) only once its
// outcome is stored, so the runner holds at most Concurrency tasks and
// RunUntilIdle and shutdown still wait for every outcome.
type completer struct {
	s       *Scheduler
	base    context.Context // the runner's context without its cancellation: outcomes are recorded during shutdown
	runner  string
	observe func(Attempt) // the runner's Observer, or nil
	release func(n int)   // frees n handler slots
	active  atomic.Int64  // handlers running, about to hand over an outcome

	mu    sync.Mutex
	queue []completion
	kick  chan struct{} // has room for one signal: the queue is not empty
}

// newCompleter returns the completer of runner; run is its goroutine.
func newCompleter(s *Scheduler, base context.Context, runner string, observe func(Attempt), release func(n int)) *completer {
	return &completer{s: s, base: base, runner: runner, observe: observe, release: release, kick: make(chan struct{}, 1)}
}

// started counts n claimed tasks whose handlers are starting.
func (c *completer) started(n int) { c.active.Add(int64(n)) }

// abandon is for an attempt that records no outcome (its lease was lost
// after its handler ran for ran): it frees the slot.
func (c *completer) abandon(t Task, ran time.Duration) {
	if c.observe != nil {
		c.observe(Attempt{Task: t, Outcome: AttemptLost, Duration: ran})
	}
	c.active.Add(-1)
	c.release(1)
}

// finish queues the outcome of attempt t, whose handler ran for ran.
func (c *completer) finish(t Task, o Outcome, ran time.Duration, log *slog.Logger) {
	c.mu.Lock()
	c.queue = append(c.queue, completion{t: t, o: o, ran: ran, log: log})
	c.mu.Unlock()
	c.active.Add(-1)
	select {
	case c.kick <- struct{}{}:
	default:
	}
}

// run records queued outcomes until stop closes (after every slot was
// released, so nothing is left in the queue).
func (c *completer) run(stop <-chan struct{}) {
	for {
		select {
		case <-stop:
			return
		case <-c.kick:
		}
		for c.flush() {
		}
	}
}

// queued returns how many outcomes wait.
func (c *completer) queued() int {
	c.mu.Lock()
	defer c.mu.Unlock()
	return len(c.queue)
}

// flush records up to maxFinishBatch waiting outcomes in one call and
// reports whether more wait. While handlers are about to hand over
// outcomes, it first yields a few times so that they join this call.
func (c *completer) flush() bool {
	for i := 0; i < finishYields && c.active.Load() > 0; i++ {
		n := c.queued()
		if n >= maxFinishBatch {
			break
		}
		runtime.Gosched()
		if c.queued() == n {
			break
		}
	}
	c.mu.Lock()
	take := c.queue[:min(len(c.queue), maxFinishBatch)]
	c.queue = c.queue[len(take):]
	more := len(c.queue) > 0
	if len(c.queue) == 0 {
		c.queue = nil // let the array go
	}
	c.mu.Unlock()
	if len(take) == 0 {
		return more
	}
	cs := make([]driver.Completion, len(take))
	for i, w := range take {
		cs[i] = driver.Completion{ID: w.t.ID, Runner: c.runner, Token: w.t.Token, Outcome: w.o.driver()}
	}
	ctx, cancel := context.WithTimeout(c.base, finishTimeout)
	errs, err := c.s.q.FinishMany(ctx, cs, c.s.Now())
	cancel()
	if err == nil && len(errs) != len(cs) {
		err = fmt.Errorf("the backend answered %d results for %d outcomes", len(errs), len(cs))
	}
	for i, w := range take {
		e := err
		if e == nil {
			e = errs[i]
		}
		if e != nil {
			w.log.Warn("recording the outcome failed", "status", w.o.Status, "err", fmt.Errorf("kv task finish %q: %w", w.t.ID, e))
		}
		if c.observe != nil {
			c.observe(Attempt{Task: w.t, Outcome: outcomeOf(w.o), Duration: w.ran, Err: e})
		}
	}
	c.release(len(take))
	return more
}
