package kvtask

import (
	"context"
	"fmt"
	"math/rand/v2"
	"time"

	"github.com/kvsuite/kv/kvcore"
	"github.com/kvsuite/kv/kvtask/driver"
)

// Scheduler adds, reads and cancels tasks and keeps cron schedules. It is
// safe for concurrent use.
type Scheduler struct {
	q   driver.Queue
	now func() time.Time
}

// Option configures New.
type Option func(*Scheduler)

// WithClock sets the clock used for every time the scheduler stores or
// compares (default time.Now).
func WithClock(now func() time.Time) Option {
	return func(s *Scheduler) {
		if now != nil {
			s.now = now
		}
	}
}

// New returns a Scheduler over a backend driver.
func New(q driver.Queue, opts ...Option) (*Scheduler, error) {
	if q == nil {
		return nil, fmt.Errorf("%w: nil driver", ErrInvalidArgument)
	}
	s := &Scheduler{q: q, now: time.Now}
	for _, opt := range opts {
		opt(s)
	}
	return s, nil
}

// Now returns the scheduler clock's reading, UTC at microsecond precision.
func (s *Scheduler) Now() time.Time { return s.now().UTC().Truncate(time.Microsecond) }

// New adds a task. An empty ID gets a new one; a zero ScheduledFor means now.
// If the task has a UniqueKey held by a pending or running task, New adds
// nothing and returns ErrDuplicate.
func (s *Scheduler) New(ctx context.Context, t Task) error {
	_, added, err := s.Enqueue(ctx, t)
	if err == nil && !added {
		return fmt.Errorf("kv task new %q: %w (key %q)", t.Name, ErrDuplicate, t.UniqueKey)
	}
	return err
}

// Enqueue adds a task and returns it as stored and true; if its UniqueKey
// is held by a pending or running task, it returns that task and false.
func (s *Scheduler) Enqueue(ctx context.Context, t Task) (Task, bool, error) {
	dt, err := prepare(t, s.Now())
	if err != nil {
		return Task{}, false, err
	}
	rs, err := s.insert(ctx, []driver.Task{dt})
	if err != nil {
		return Task{}, false, fmt.Errorf("kv task new %q: %w", t.Name, err)
	}
	return rs[0].Task, rs[0].Added, nil
}

// EnqueueResult is EnqueueMany's outcome for one task.
type EnqueueResult struct {
	// Task is the task as stored if Added; else the pending or running
	// task that holds its UniqueKey (stored before, or earlier in the
	// batch), and this task was not added.
	Task  Task
	Added bool
}

// EnqueueMany adds tasks in one driver call (one statement, transaction or
// request): all of them or, on error, none. Each task is checked and
// defaulted as Enqueue does it, every one before anything is written: a
// bad task, or an ID used twice in the batch, is an error naming its index
// that adds nothing. results[i] is tasks[i]'s outcome, as if the tasks
// were enqueued one after another: a task whose UniqueKey a pending or
// running task holds - or an earlier task of the batch took - is not
// added. Runners are signalled once per batch. An empty batch does nothing.
func (s *Scheduler) EnqueueMany(ctx context.Context, tasks []Task) ([]EnqueueResult, error) {
	now := s.Now()
	dts := make([]driver.Task, len(tasks))
	index := make(map[string]int, len(tasks)) // task ID -> its index
	for i, t := range tasks {
		dt, err := prepare(t, now)
		if err != nil {
			return nil, fmt.Errorf("kv task enqueue: task %d (%q): %w", i, t.Name, err)
		}
		if j, dup := index[dt.ID]; dup {
			return nil, fmt.Errorf("%w: kv task enqueue: tasks %d and %d have the same id %q", ErrInvalidArgument, j, i, dt.ID)
		}
		index[dt.ID] = i
		dts[i] = dt
	}
	rs, err := s.insert(ctx, dts)
	if err != nil {
		return nil, fmt.Errorf("kv task enqueue: %w", err)
	}
	return rs, nil
}

// insert stores prepared tasks with distinct IDs in one InsertMany call. A
// unique key repeated in the batch is sent with its first task only: the
// later ones are duplicates of whatever that task's outcome is (the task
// itself, or the one that held the key), as one Insert after another
// would have it.
func (s *Scheduler) insert(ctx context.Context, dts []driver.Task) ([]EnqueueResult, error) {
	out := make([]EnqueueResult, len(dts))
	if len(dts) == 0 {
		return out, nil
	}
	send := make([]driver.Task, 0, len(dts))
	slot := make([]int, len(dts))    // index in send of the task that decides dts[i]'s outcome
	repeat := make([]bool, len(dts)) // dts[i]'s key was taken earlier in the batch
	first := map[string]int{}        // unique key -> its slot
	for i, dt := range dts {
		if dt.UniqueKey != "" {
			if k, ok := first[dt.UniqueKey]; ok {
				slot[i], repeat[i] = k, true
				continue
			}
			first[dt.UniqueKey] = len(send)
		}
		slot[i] = len(send)
		send = append(send, dt)
	}
	got, err := s.q.InsertMany(ctx, send)
	if err != nil {
		return nil, err
	}
	if len(got) != len(send) {
		return nil, fmt.Errorf("the backend answered %d results for %d tasks", len(got), len(send))
	}
	for i := range dts {
		r := got[slot[i]]
		out[i] = EnqueueResult{Task: taskFrom(r.Task), Added: r.Added && !repeat[i]}
	}
	return out, nil
}

// Get returns a task and whether it exists.
func (s *Scheduler) Get(ctx context.Context, id string) (Task, bool, error) {
	if err := kvcore.ValidateName("task id", id); err != nil {
		return Task{}, false, err
	}
	t, ok, err := s.q.Get(ctx, id)
	if err != nil {
		return Task{}, false, fmt.Errorf("kv task get %q: %w", id, err)
	}
	return taskFrom(t), ok, nil
}

// List returns tasks with status (any if "") and name (any if ""), oldest
// first, skipping offset and returning at most limit (0: all).
func (s *Scheduler) List(ctx context.Context, status Status, name string, offset, limit int) ([]Task, error) {
	if status != "" {
		if _, err := ParseStatus(string(status)); err != nil {
			return nil, err
		}
	}
	if offset < 0 || limit < 0 {
		return nil, fmt.Errorf("%w: offset %d and limit %d must not be negative", ErrInvalidArgument, offset, limit)
	}
	ts, err := s.q.List(ctx, driver.Filter{Status: status, Name: name, Offset: offset, Limit: limit})
	if err != nil {
		return nil, fmt.Errorf("kv task list: %w", err)
	}
	out := make([]Task, len(ts))
	for i, t := range ts {
		out[i] = taskFrom(t)
	}
	return out, nil
}

// Cancel cancels a task: a pending one at once; a running one through its
// handler's context (the runner sees it at its next heartbeat and records
// the task cancelled); a terminal one stays as it is. It returns the task
// as it then stands, or ErrNotFound.
func (s *Scheduler) Cancel(ctx context.Context, id string) (Task, error) {
	if err := kvcore.ValidateName("task id", id); err != nil {
		return Task{}, err
	}
	t, ok, err := s.q.Cancel(ctx, id, s.Now())
	if err != nil {
		return Task{}, fmt.Errorf("kv task cancel %q: %w", id, err)
	}
	if !ok {
		return Task{}, fmt.Errorf("kv task cancel %q: %w", id, ErrTaskNotFound)
	}
	return taskFrom(t), nil
}

// Claim takes up to limit tasks (1 to MaxClaimLimit) for runner with a
// lease from MinLease to MaxLease (see driver.Queue.Claim): the
// lower-level call that Runner uses. Each claimed task must be heartbeated
// and finished with its Token; a claimed task's Lost counts the attempts
// whose runner was lost, this claim's takeover included. A caller of Claim
// checks LostOutcome before it runs a task, and records a failed attempt
// with FailureOutcome, as Runner does.
func (s *Scheduler) Claim(ctx context.Context, runner string, lease time.Duration, limit int, names ...string) ([]Task, error) {
	if err := kvcore.ValidateName("runner id", runner); err != nil {
		return nil, err
	}
	if err := checkDuration("lock duration", lease, MinLease, MaxLease); err != nil {
		return nil, err
	}
	if err := checkCount("claim limit", limit, 1, MaxClaimLimit); err != nil {
		return nil, err
	}
	for _, n := range names {
		if err := kvcore.ValidateName("task name", n); err != nil {
			return nil, err
		}
	}
	c := driver.Claim{Runner: runner, Names: names, Now: s.Now(), Lease: lease, Limit: limit}
	if err := c.Check(); err != nil {
		return nil, err
	}
	ts, err := s.q.Claim(ctx, c)
	if err != nil {
		return nil, fmt.Errorf("kv task claim: %w", err)
	}
	out := make([]Task, len(ts))
	for i, t := range ts {
		out[i] = taskFrom(t)
	}
	return out, nil
}

// Lock claims one task for runnerID (the seed's API; see Claim).
func (s *Scheduler) Lock(ctx context.Context, runnerID string, lockDuration time.Duration, taskTypes ...string) (Task, bool, error) {
	ts, err := s.Claim(ctx, runnerID, lockDuration, 1, taskTypes...)
	if err != nil || len(ts) == 0 {
		return Task{}, false, err
	}
	return ts[0], true, nil
}

// Heartbeat extends the lease of a claimed task to lease (from MinLease
// to MaxLease) from now and reports whether its cancellation was
// requested. ErrLost if runner no longer holds it.
func (s *Scheduler) Heartbeat(ctx context.Context, t Task, runner string, lease time.Duration) (bool, error) {
	if err := checkDuration("lock duration", lease, MinLease, MaxLease); err != nil {
		return false, err
	}
	cancel, err := s.q.Heartbeat(ctx, t.ID, runner, t.Token, s.Now(), lease)
	if err != nil {
		return false, fmt.Errorf("kv task heartbeat %q: %w", t.ID, err)
	}
	return cancel, nil
}

// Finish records the outcome of a claimed task's attempt (one FinishMany
// call; Runner records outcomes of handlers that end together in one).
// ErrLost if runner no longer holds it. For a failed attempt, pass
// FailureOutcome's outcome: it retries the task while it has retries left.
func (s *Scheduler) Finish(ctx context.Context, t Task, runner string, o Outcome) error {
	if err := driver.FinishOne(ctx, s.q, t.ID, runner, t.Token, o.driver(), s.Now()); err != nil {
		return fmt.Errorf("kv task finish %q: %w", t.ID, err)
	}
	return nil
}

// Release ends the attempt runnerID holds on task id with status completed,
// failed or cancelled (the seed's API; Runner uses Finish with the token).
// A failed attempt follows the retry rule of FailureOutcome (with
// DefaultRetryBase and DefaultRetryMax): while the task has retries left it
// is pending again after the backoff, and only its last attempt fails it.
// ErrTaskNotFound if there is no task id, ErrLost if runnerID does not hold
// it.
func (s *Scheduler) Release(ctx context.Context, id, runnerID string, status Status, errorMessage string) error {
	if !Terminal(status) {
		return fmt.Errorf("%w: release status %q: want completed, failed or cancelled", ErrInvalidArgument, status)
	}
	t, ok, err := s.Get(ctx, id)
	if err != nil {
		return err
	}
	if !ok {
		return fmt.Errorf("kv task release %q: %w", id, ErrTaskNotFound)
	}
	if t.Status != StatusRunning || t.LockedBy != runnerID {
		return fmt.Errorf("kv task release %q: %w", id, ErrLost)
	}
	o := Outcome{Status: status, LastError: errorMessage}
	if status == StatusFailed {
		o = FailureOutcome(t, errorMessage, s.Now(), DefaultRetryBase, DefaultRetryMax, rand.Float64())
	}
	return s.Finish(ctx, t, runnerID, o)
}
