package kvtask

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"math/rand/v2"
	"slices"
	"sync"
	"time"

	"github.com/kvsuite/kv/kvcore"
	"github.com/kvsuite/kv/kvtask/driver"
)

// Handler runs one attempt of a task. Returning nil completes the task; an
// error fails the attempt, which is retried while retries remain. ctx ends
// when the task is cancelled, its timeout passes, the runner loses the task,
// or the runner shuts down past its grace period.
type Handler func(ctx context.Context, t Task) error

// Runner claims tasks and runs their handlers. Set its fields before Run.
//
// It records each attempt's outcome after its handler returns; the
// outcomes of handlers that end together are recorded in one FinishMany
// call (one statement, transaction or request): a lone outcome at once,
// those that end while a call is under way in the next one. A handler's
// slot is free again once its outcome is stored.
type Runner struct {
	// ID names the runner in the tasks it holds.
	ID string
	// PollInterval is how long an idle runner waits before looking for work
	// again (default 1s, at most MaxWait). It looks again at once while
	// work is waiting, and wakes early when the backend signals new tasks.
	// Due cron schedules are looked for at most once per PollInterval,
	// busy or idle.
	PollInterval time.Duration
	// LockDuration is the lease on a claimed task (default 5m, from
	// 3*MinLease to MaxLease); the runner renews it every third of that
	// while the handler runs. A task whose runner stops renewing is
	// claimed again when its lease expires: that attempt is lost.
	LockDuration time.Duration
	// MaxLost is how many lost attempts a task survives (default
	// DefaultMaxLost, 5, when 0; at most MaxRetriesLimit). An attempt is
	// lost when its runner crashes or stalls past its lease before it
	// records an outcome; it uses none of the task's retries, and the task
	// is run again. A task claimed with more lost attempts than MaxLost -
	// one whose handler kills its runner every time - fails without
	// running, its last error saying how many times its runner was lost.
	// An AtMostOnce task fails at its first lost attempt instead.
	MaxLost int
	// Concurrency is how many handlers run at once (default 1, at most
	// MaxClaimLimit).
	Concurrency int
	// TaskTypes limits the task names claimed (default: the registered
	// handlers' names).
	TaskTypes []string
	// RetryBase and RetryMax shape the backoff before retry n: RetryBase *
	// 2^(n-1), at most RetryMax, scaled by a random factor in [0.5, 1]
	// (defaults DefaultRetryBase and DefaultRetryMax, 1s and 10m; at most
	// MaxWait). See FailureOutcome.
	RetryBase, RetryMax time.Duration
	// ShutdownGrace is how long Run waits for running handlers after its
	// context ends before cancelling them and giving their tasks back
	// (default 30s, at most MaxWait).
	ShutdownGrace time.Duration
	// Logger receives the runner's log (default slog.Default()).
	Logger *slog.Logger
	// Observer, if set, is told of each attempt the runner claimed, once
	// its outcome is recorded (or, for a lost attempt, abandoned). It is
	// called from the runner's goroutines, so it must be quick and safe for
	// concurrent use. kvtask depends on no metrics library: an Observer
	// adapts the calls to one (package kvweb/kvmetrics does it for
	// Prometheus).
	Observer func(Attempt)

	s        *Scheduler
	mu       sync.Mutex
	handlers map[string]Handler
	jitter   func() float64
	retryDue time.Time // the latest retry this runner scheduled (RunUntilIdle waits for it)
}

// NewRunner returns a runner named id that takes tasks from s.
func NewRunner(s *Scheduler, id string) *Runner {
	return &Runner{ID: id, s: s, handlers: map[string]Handler{}, jitter: rand.Float64}
}

// RegisterHandler sets the handler for tasks named name.
func (r *Runner) RegisterHandler(name string, h Handler) {
	r.mu.Lock()
	defer r.mu.Unlock()
	r.handlers[name] = h
}

func (r *Runner) handler(name string) Handler {
	r.mu.Lock()
	defer r.mu.Unlock()
	return r.handlers[name]
}

// settings are a runner's fields with defaults applied, fixed for one Run.
type settings struct {
	ID                  string
	PollInterval        time.Duration
	LockDuration        time.Duration
	MaxLost             int
	Concurrency         int
	RetryBase, RetryMax time.Duration
	ShutdownGrace       time.Duration
	Logger              *slog.Logger
	Observer            func(Attempt)
}

// beatInterval is a third of the lock duration: how often a heartbeat
// renews a task's lease, and the most one heartbeat or claim may take.
func (c settings) beatInterval() time.Duration { return c.LockDuration / 3 }

// config checks the fields and returns the settings with defaults applied.
func (r *Runner) config() (settings, []string, error) {
	c := settings{ID: r.ID, PollInterval: r.PollInterval, LockDuration: r.LockDuration, MaxLost: r.MaxLost,
		Concurrency: r.Concurrency, RetryBase: r.RetryBase, RetryMax: r.RetryMax, ShutdownGrace: r.ShutdownGrace,
		Logger: r.Logger, Observer: r.Observer}
	if r.s == nil {
		return c, nil, fmt.Errorf("%w: runner has no scheduler (use NewRunner)", ErrInvalidArgument)
	}
	if err := kvcore.ValidateName("runner id", c.ID); err != nil {
		return c, nil, err
	}
	// Each setting: 0 takes its default, anything else must be within its
	// bounds.
	dur := func(d *time.Duration, def, lo, hi time.Duration, what string) error {
		if *d == 0 {
			*d = def
		}
		return checkDuration(what, *d, lo, hi)
	}
	count := func(n *int, def, hi int, what string) error {
		if *n == 0 {
			*n = def
		}
		return checkCount(what, *n, 0, hi)
	}
	for _, e := range []error{
		dur(&c.PollInterval, time.Second, time.Nanosecond, MaxWait, "poll interval"),
		dur(&c.LockDuration, 5*time.Minute, 3*MinLease, MaxLease, "lock duration"),
		dur(&c.RetryBase, DefaultRetryBase, time.Nanosecond, MaxWait, "retry base"),
		dur(&c.RetryMax, DefaultRetryMax, time.Nanosecond, MaxWait, "retry max"),
		dur(&c.ShutdownGrace, 30*time.Second, time.Nanosecond, MaxWait, "shutdown grace"),
		count(&c.MaxLost, DefaultMaxLost, MaxRetriesLimit, "max lost"),
		count(&c.Concurrency, 1, MaxClaimLimit, "concurrency"),
	} {
		if e != nil {
			return c, nil, e
		}
	}
	if c.Logger == nil {
		c.Logger = slog.Default()
	}
	names := slices.Clone(r.TaskTypes)
	if len(names) == 0 {
		r.mu.Lock()
		for n := range r.handlers {
			names = append(names, n)
		}
		r.mu.Unlock()
	}
	if len(names) == 0 {
		return c, nil, fmt.Errorf("%w: no task types: register a handler or set TaskTypes", ErrInvalidArgument)
	}
	slices.Sort(names)
	return c, names, nil
}

// Run claims and runs tasks, and fires due cron schedules, until ctx ends;
// then it stops claiming, lets running handlers finish for ShutdownGrace,
// cancels the rest and gives their tasks back (as it does with tasks a
// claim in flight took as ctx ended: their attempt unused). It returns nil
// after a graceful shutdown.
func (r *Runner) Run(ctx context.Context) error { return r.loop(ctx, false) }

// RunUntilIdle is Run that also returns once no task is claimable, none is
// running and no retry this runner scheduled is still to come (for scripts
// and tests).
func (r *Runner) RunUntilIdle(ctx context.Context) error { return r.loop(ctx, true) }

func (r *Runner) loop(ctx context.Context, untilIdle bool) error {
	c, names, err := r.config()
	if err != nil {
		return err
	}
	log := c.Logger.With("runner", c.ID)
	work, stopWork := context.WithCancel(context.WithoutCancel(ctx))
	defer stopWork()
	// freed receives counts of handler slots whose outcomes are stored:
	// each send frees at least one of at most Concurrency, so it never
	// blocks. wg counts the slots taken.
	freed := make(chan int, c.Concurrency)
	var wg sync.WaitGroup
	comp := newCompleter(r.s, context.WithoutCancel(ctx), c.ID, c.Observer, func(n int) {
		freed <- n
		wg.Add(-n)
	})
	stopComp := make(chan struct{})
	compDone := make(chan struct{})
	go func() { defer close(compDone); comp.run(stopComp) }()
	running := 0
	wake := r.subscribe(ctx)
	var fired time.Time // when this loop last looked for due schedules
	for ctx.Err() == nil {
		if fired.IsZero() || time.Since(fired) >= c.PollInterval {
			fired = time.Now()
			if _, err := r.s.FireDue(ctx); err != nil && ctx.Err() == nil {
				log.Warn("firing cron schedules failed", "err", err)
			}
		}
		free := c.Concurrency - running
		claimed := 0
		claimedAt := r.s.Now()
		if free > 0 {
			ts, err := r.claim(ctx, c, free, names)
			if err != nil && ctx.Err() == nil {
				log.Warn("claiming tasks failed", "err", err)
			}
			running += len(ts)
			wg.Add(len(ts))
			comp.started(len(ts))
			for _, t := range ts {
				if ctx.Err() != nil {
					// Claimed as the runner stops: given back unrun.
					comp.finish(t, r.shutDown(), 0, log)
					continue
				}
				go r.execute(work, c, log, comp, t)
			}
			claimed = len(ts)
		}
		if untilIdle && claimed == 0 && running == 0 && !r.retryAfter(claimedAt) {
			break
		}
		if free > 0 && claimed == free {
			running -= drain(freed)
			continue // work is waiting: look again at once
		}
		select {
		case <-ctx.Done():
		case n := <-freed:
			running -= n
		case <-wake:
		case <-time.After(c.PollInterval):
		}
		running -= drain(freed)
	}
	// Shut down: wait for handlers, then cancel them (they give their
	// tasks back) and wait again.
	done := make(chan struct{})
	go func() { wg.Wait(); close(done) }()
	select {
	case <-done:
	case <-time.After(c.ShutdownGrace):
		log.Info("shutdown grace period over: cancelling running handlers")
		stopWork()
		<-done
	}
	close(stopComp)
	<-compDone
	if untilIdle && ctx.Err() != nil {
		return ctx.Err()
	}
	return nil
}

// retryAfter reports whether a retry this runner scheduled was not yet due
// at t (so a claim made at t could not have found it).
func (r *Runner) retryAfter(t time.Time) bool {
	r.mu.Lock()
	defer r.mu.Unlock()
	return t.Before(r.retryDue)
}

// drain returns the sum of the counts waiting in ch.
func drain(ch chan int) int {
	n := 0
	for {
		select {
		case k := <-ch:
			n += k
		default:
			return n
		}
	}
}

func (r *Runner) subscribe(ctx context.Context) <-chan struct{} {
	n, ok := r.s.q.(driver.Notifier)
	if !ok {
		return nil
	}
	ch, err := n.SubscribeTasks(ctx)
	if err != nil {
		return nil
	}
	return ch
}

var (
	errCancelled = errors.New("task cancelled")
	errTimeout   = errors.New("task timed out")
)

// claim claims up to limit tasks for the runner. ctx's end does not cut
// the claim short: cancelled while it commits, a claim could still take
// its tasks on the server and leave them running under this runner, unrun,
// until their leases expired. It is bounded by beatInterval instead; the
// loop gives back what it claims after ctx ended.
func (r *Runner) claim(ctx context.Context, c settings, limit int, names []string) ([]Task, error) {
	cctx, cancel := context.WithTimeout(context.WithoutCancel(ctx), c.beatInterval())
	defer cancel()
	return r.s.Claim(cctx, c.ID, c.LockDuration, limit, names...)
}

// shutDown is the outcome of an attempt the runner gives back as it stops:
// pending again at once, its attempt unused.
func (r *Runner) shutDown() Outcome {
	return Outcome{Status: StatusPending, RetryAt: r.s.Now(), LastError: "runner shut down", GiveBack: true}
}

// execute runs one claimed task and hands its outcome to comp, which
// records it and frees the task's slot.
func (r *Runner) execute(work context.Context, c settings, log *slog.Logger, comp *completer, t Task) {
	log = log.With("task", t.ID, "name", t.Name, "attempt", t.Attempts)
	var ran time.Duration // how long the handler ran
	finish := func(o Outcome) { comp.finish(t, o, ran, log) }
	h := r.handler(t.Name)
	if t.CancelRequested {
		finish(Outcome{Status: StatusCancelled, LastError: "cancelled"})
		return
	}
	if o, stop := LostOutcome(t, c.MaxLost); stop {
		finish(o)
		return
	}
	switch {
	case h == nil:
		finish(Outcome{Status: StatusFailed, LastError: fmt.Sprintf("no handler registered for %q", t.Name)})
		return
	}
	hctx, cancel := context.WithCancelCause(work)
	defer cancel(nil)
	if t.TimeoutSeconds > 0 {
		var stop context.CancelFunc
		hctx, stop = context.WithTimeoutCause(hctx, time.Duration(t.TimeoutSeconds)*time.Second, errTimeout)
		defer stop()
	}
	beat := make(chan struct{})
	lost := make(chan struct{})
	go r.heartbeat(c, log, t, cancel, beat, lost)
	start := time.Now()
	err := call(h, hctx, t)
	ran = time.Since(start)
	close(beat)
	select {
	case <-lost:
		log.Warn("lost the task's lease; another runner may run it", "err", err)
		comp.abandon(t, ran)
		return
	default:
	}
	cause := context.Cause(hctx)
	switch {
	case err == nil:
		finish(Outcome{Status: StatusCompleted})
	case errors.Is(cause, errCancelled):
		finish(Outcome{Status: StatusCancelled, LastError: "cancelled: " + err.Error()})
	case work.Err() != nil && !errors.Is(cause, errTimeout):
		finish(r.shutDown())
	default:
		msg := err.Error()
		if errors.Is(cause, errTimeout) {
			msg = fmt.Sprintf("timed out after %ds: %s", t.TimeoutSeconds, msg)
		}
		o := FailureOutcome(t, msg, r.s.Now(), c.RetryBase, c.RetryMax, r.jitter())
		if o.Status == StatusPending {
			r.mu.Lock()
			if o.RetryAt.After(r.retryDue) {
				r.retryDue = o.RetryAt
			}
			r.mu.Unlock()
		}
		finish(o)
	}
}

// heartbeat renews t's lease every third of the lock duration until beat
// closes; it cancels the handler when cancellation is requested or the
// lease is lost (closing lost).
func (r *Runner) heartbeat(c settings, log *slog.Logger, t Task, cancel context.CancelCauseFunc, beat, lost chan struct{}) {
	tick := time.NewTicker(c.beatInterval())
	defer tick.Stop()
	for {
		select {
		case <-beat:
			return
		case <-tick.C:
		}
		ctx, stop := context.WithTimeout(context.Background(), c.beatInterval())
		want, err := r.s.Heartbeat(ctx, t, c.ID, c.LockDuration)
		stop()
		switch {
		case errors.Is(err, ErrLost):
			close(lost)
			cancel(ErrLost)
			return
		case err != nil:
			log.Warn("heartbeat failed", "err", err)
		case want:
			cancel(errCancelled)
		}
	}
}

// call runs a handler, turning a panic into an error.
func call(h Handler, ctx context.Context, t Task) (err error) {
	defer func() {
		if p := recover(); p != nil {
			err = fmt.Errorf("handler panicked: %v", p)
		}
	}()
	return h(ctx, t)
}
