// Package driver defines the interface (SPI) a backend implements for
// kvtask: a durable queue of tasks that runners claim with leases, and cron
// schedules that fire once per tick.
//
// The front (package kvtask) validates input, computes retry times, timeouts
// and cron ticks, and passes its clock's reading as now. A driver does each
// operation atomically: one statement, transaction, or (rqlite) request.
package driver

import (
	"context"
	"errors"
	"fmt"
	"slices"
	"time"

	coredriver "github.com/kvsuite/kv/kvcore/driver"
)

// Errors a driver returns.
var (
	// ErrLost: the runner no longer holds the task (its lease expired and
	// another runner claimed it, or the task was finished).
	ErrLost = errors.New("task not held by this runner")
	// ErrInvalidArgument is wrapped by the refusal of an input: kvcore's
	// (kvcore/driver.ErrInvalidArgument, re-exported by kvcore and kvtask
	// as ErrInvalidArgument).
	ErrInvalidArgument = coredriver.ErrInvalidArgument
)

// Status is a task's state. completed, failed and cancelled are terminal.
type Status string

// The statuses.
const (
	Pending   Status = "pending"
	Running   Status = "running"
	Completed Status = "completed"
	Failed    Status = "failed"
	Cancelled Status = "cancelled"
)

// Task is a task as stored. Zero times mean "not set".
type Task struct {
	ID              string
	Name            string // the handler that runs it
	Payload         []byte // JSON
	Status          Status
	Priority        int    // higher runs first
	UniqueKey       string // "" none; else at most one pending or running task has it
	Created         time.Time
	ScheduledFor    time.Time // not claimed before this
	Started         time.Time // when the latest attempt started
	Completed       time.Time // when it reached a terminal state
	Attempts        int       // attempts started so far (less those given back)
	Lost            int       // attempts whose runner was lost: taken over by a Claim after their lease expired
	MaxRetries      int       // retries allowed after failed attempts (lost ones excepted)
	AtMostOnce      bool      // the front fails the task instead of running a lost attempt again
	Timeout         time.Duration
	LastError       string
	LockedBy        string    // the runner holding a running task
	LockedUntil     time.Time // its lease
	Token           int64     // grows with every claim; fences Heartbeat and FinishMany
	CancelRequested bool
}

// Filter selects tasks for List: Status and Name if not empty, ordered by
// Created then ID, skipping Offset and returning at most Limit (0: all).
type Filter struct {
	Status Status
	Name   string
	Offset int
	Limit  int
}

// Claim says what a runner asks for. The front sends only claims that pass
// Check, so a driver's Claim does not check them again.
type Claim struct {
	Runner string
	Names  []string // only tasks with these names (empty: any)
	Now    time.Time
	Lease  time.Duration // LockedUntil = Now + Lease
	Limit  int           // at most this many (> 0)
}

// Check reports whether c is a claim a driver's Claim accepts: a runner,
// a positive lease and a positive limit (an error wrapping
// ErrInvalidArgument that says what is missing, else nil). What runner ids
// and task names may be, and the bounds of leases and limits, are the
// front's (kvtask).
func (c Claim) Check() error {
	switch {
	case c.Runner == "":
		return fmt.Errorf("%w: a claim needs a runner id", ErrInvalidArgument)
	case c.Lease <= 0:
		return fmt.Errorf("%w: claim lease %v must be positive", ErrInvalidArgument, c.Lease)
	case c.Limit <= 0:
		return fmt.Errorf("%w: claim limit %d must be positive", ErrInvalidArgument, c.Limit)
	}
	return nil
}

// DistinctNames returns the names c asks for, sorted, each once: a name
// asked twice counts once. A driver's claim seeks each of them.
func (c Claim) DistinctNames() []string {
	return slices.Compact(slices.Sorted(slices.Values(c.Names)))
}

// Outcome is how an attempt ended.
type Outcome struct {
	// Status is Completed, Failed or Cancelled (terminal), or Pending for a
	// retry at RetryAt.
	Status    Status
	LastError string
	RetryAt   time.Time
	// GiveBack (with Status Pending) returns the attempt unused: Attempts
	// goes back down by one and Lost is unchanged (a runner shutting down
	// gives its work back).
	GiveBack bool
}

// Inserted is InsertMany's outcome for one task.
type Inserted struct {
	// Task is the task as stored if Added, else the pending or running
	// task that holds its unique key.
	Task  Task
	Added bool
}

// Schedule is a recurring task: Template is inserted at every tick.
type Schedule struct {
	Name     string
	Spec     string    // a cron expression, interpreted by the front
	Template Task      // its Name, Payload, Priority, UniqueKey, MaxRetries, AtMostOnce and Timeout are kept
	Next     time.Time // the next tick
}

// Queue is what a backend implements for kvtask.
type Queue interface {
	// InsertMany stores the tasks ts as given (status pending; their
	// fields as the front set them, AtMostOnce included), in one
	// atomic operation (one statement, transaction or request): if it
	// returns an error, no task was stored (a task whose ID exists fails
	// the call, wrapping ErrInvalidArgument). The front sends
	// distinct IDs and distinct unique keys (it resolves a key repeated in
	// a batch itself). out[i] is ts[i]'s outcome: the task as stored and
	// Added, or, if a pending or running task holds ts[i].UniqueKey,
	// nothing stored for it and that task, not Added. A Notifier signals
	// once per call that stored a task. An empty ts does nothing.
	InsertMany(ctx context.Context, ts []Task) (out []Inserted, err error)

	// Get returns the task with id and whether it exists.
	Get(ctx context.Context, id string) (Task, bool, error)

	// List returns the tasks f selects.
	List(ctx context.Context, f Filter) ([]Task, error)

	// Claim atomically takes up to c.Limit claimable tasks for c.Runner:
	// pending with ScheduledFor <= c.Now, or running with LockedUntil <=
	// c.Now (its runner crashed or stalled), with a name in c.Names (a
	// CancelRequested task is claimed too, so its runner records it
	// cancelled) - highest Priority first, then earliest ScheduledFor,
	// then ID. Each becomes running with LockedBy, LockedUntil, Started =
	// c.Now, Attempts + 1 and Token + 1; a task taken over from an expired
	// lease (running, LockedUntil <= c.Now) also gets Lost + 1, in the same
	// atomic operation (its previous attempt was lost: no outcome was
	// recorded for it), and a pending task claimed does not. No task is
	// ever handed to two runners by overlapping claims.
	Claim(ctx context.Context, c Claim) ([]Task, error)

	// Heartbeat extends the lease of a task that runner holds with token
	// to now + lease and reports whether cancellation was requested.
	// ErrLost if the runner does not hold it (token differs or not running).
	Heartbeat(ctx context.Context, id, runner string, token int64, now time.Time, lease time.Duration) (cancel bool, err error)

	// FinishMany records the outcome of each attempt in cs, all at now in
	// one atomic operation (one statement, transaction or request): the
	// attempt cs[i].Runner holds with cs[i].Token becomes terminal
	// (Completed set to now) or pending again at Outcome.RetryAt (now if
	// zero), with Outcome.LastError, clearing LockedBy/LockedUntil. Each
	// item is fenced on its own: errs[i] is nil if completion i was
	// recorded, or wraps ErrLost if its runner did not hold the task with
	// its token (that item changes nothing; the others are recorded). A
	// non-nil err means no item was recorded (CheckCompletions refused the
	// input, wrapping ErrInvalidArgument) or that the result is
	// unknown (the connection failed); errs is then nil. An empty cs does
	// nothing.
	FinishMany(ctx context.Context, cs []Completion, now time.Time) (errs []error, err error)

	// Cancel cancels a pending task at once (terminal, Completed = now),
	// marks a running one CancelRequested, and leaves a terminal one as it
	// is. It returns the task as it then stands, and whether it exists.
	Cancel(ctx context.Context, id string, now time.Time) (Task, bool, error)

	// PutSchedule creates or replaces a schedule (Schedules returns it with
	// the fields of its Template that Schedule says are kept).
	PutSchedule(ctx context.Context, s Schedule) error

	// DeleteSchedule deletes a schedule and reports whether it existed.
	DeleteSchedule(ctx context.Context, name string) (bool, error)

	// Schedules returns every schedule, ordered by name.
	Schedules(ctx context.Context) ([]Schedule, error)

	// Fire atomically, if schedule name's Next is exactly tick: sets Next
	// to next and inserts t (as InsertMany does, unless a pending or
	// running task holds its unique key); returns whether it fired.
	// Runners racing for one tick fire it once.
	Fire(ctx context.Context, name string, tick, next time.Time, t Task) (bool, error)
}

// Notifier is implemented by a Queue that can signal new tasks. Without it,
// runners poll.
type Notifier interface {
	// SubscribeTasks returns a channel that receives after tasks may have
	// been inserted or become claimable (coalesced, possibly spurious),
	// closed when ctx ends.
	SubscribeTasks(ctx context.Context) (<-chan struct{}, error)
}
