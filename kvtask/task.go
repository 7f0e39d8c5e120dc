// Package kvtask is kv's durable task scheduler: tasks stored in the same
// database as your data, claimed atomically by any number of runners with
// leases and heartbeats, retried with capped exponential backoff, cancelled
// through their handler's context, and recurring on cron schedules that fire
// once per tick across all runners.
package kvtask

import (
	"encoding/json"
	"errors"
	"fmt"
	"time"

	"github.com/google/uuid"

	"github.com/kvsuite/kv/kvcore"
	"github.com/kvsuite/kv/kvtask/driver"
)

// Status is a task's state: pending, running, completed, failed or
// cancelled. The last three are terminal: a task in them never changes again.
type Status = driver.Status

// The statuses.
const (
	StatusPending   = driver.Pending
	StatusRunning   = driver.Running
	StatusCompleted = driver.Completed
	StatusFailed    = driver.Failed
	StatusCancelled = driver.Cancelled
)

// ParseStatus parses a status name; "" is allowed (no filter) only where a
// filter is meant, so it is an error here.
func ParseStatus(s string) (Status, error) {
	switch st := Status(s); st {
	case StatusPending, StatusRunning, StatusCompleted, StatusFailed, StatusCancelled:
		return st, nil
	}
	return "", fmt.Errorf("%w: unknown task status %q: want pending, running, completed, failed or cancelled", ErrInvalidArgument, s)
}

// Terminal reports whether a status is final.
func Terminal(s Status) bool {
	return s == StatusCompleted || s == StatusFailed || s == StatusCancelled
}

// Errors returned by kvtask. Test for them with errors.Is.
var (
	// ErrInvalidArgument is kvcore.ErrInvalidArgument (the driver
	// packages' value, which drivers wrap too).
	ErrInvalidArgument = driver.ErrInvalidArgument
	// ErrNotFound is kvcore.ErrNotFound: no such task or schedule. The
	// errors kvtask returns for a missing task or schedule are
	// ErrTaskNotFound and ErrScheduleNotFound, which match it.
	ErrNotFound = kvcore.ErrNotFound
	// ErrTaskNotFound: no task with that ID (matches ErrNotFound).
	ErrTaskNotFound error = notFound("task")
	// ErrScheduleNotFound: no schedule with that name (matches ErrNotFound).
	ErrScheduleNotFound error = notFound("schedule")
	// ErrDuplicate: a pending or running task already has the unique key.
	ErrDuplicate = errors.New("a pending or running task has that unique key")
	// ErrLost: the runner no longer holds the task.
	ErrLost = driver.ErrLost
)

// notFound is the not-found error of a kind of thing: it says which, and
// matches ErrNotFound.
type notFound string

func (n notFound) Error() string { return string(n) + " not found" }

// Is makes errors.Is(err, ErrNotFound) true.
func (n notFound) Is(target error) bool { return target == ErrNotFound }

// Task is a unit of work for a handler.
type Task struct {
	ID      string          `json:"id"`
	Name    string          `json:"name"` // the handler that runs it
	Payload json.RawMessage `json:"payload"`
	Status  Status          `json:"status"`
	// Priority: higher runs first (default 0), from MinPriority to
	// MaxPriority.
	Priority int `json:"priority"`
	// UniqueKey, if set: while a task with this key is pending or running,
	// another with the same key is not added (New returns ErrDuplicate).
	UniqueKey    string    `json:"unique_key,omitempty"`
	Created      time.Time `json:"created"`
	ScheduledFor time.Time `json:"scheduled_for"` // not run before this; zero: now; else from EarliestTime to LatestTime
	// Started is when the latest attempt started; Completed when the task
	// reached a terminal status.
	Started   *time.Time `json:"started,omitempty"`
	Completed *time.Time `json:"completed,omitempty"`
	// Attempts counts the attempts started (an attempt a stopping runner
	// gives back unrun is not counted). Lost counts those of them whose
	// runner was lost - it crashed or stalled past its lease before it
	// recorded an outcome - counted by the claim that took the task over.
	Attempts int `json:"attempts"`
	Lost     int `json:"lost"`
	// MaxRetries is how many times a failed attempt (its handler returned
	// an error, timed out or panicked) is retried: a task fails at most
	// MaxRetries+1 times. A lost attempt uses no retry: the task is run
	// again, up to Runner.MaxLost lost attempts, so a crash of its runner
	// never fails a task that has not failed. At most MaxRetriesLimit.
	MaxRetries int `json:"max_retries"`
	// AtMostOnce: the handler never runs twice. An attempt whose runner
	// was lost fails the task instead of being run again (the handler may
	// or may not have run). It needs MaxRetries 0.
	AtMostOnce bool `json:"at_most_once,omitempty"`
	// TimeoutSeconds bounds each attempt (0: no limit; at most MaxTimeout).
	TimeoutSeconds int `json:"timeout_seconds,omitempty"`
	// LastError is the error of the latest failed attempt.
	LastError string `json:"last_error,omitempty"`
	// LockedBy is the runner holding a running task, and LockedUntil the
	// end of its lease (renewed by heartbeats).
	LockedBy    string     `json:"locked_by,omitempty"`
	LockedUntil *time.Time `json:"locked_until,omitempty"`
	// Token grows with every claim; Heartbeat and Finish must pass the
	// token of the claim they belong to (a stale claim gets ErrLost).
	Token int64 `json:"token,omitempty"`
	// CancelRequested: Cancel was called on the running task; its handler's
	// context ends at the runner's next heartbeat.
	CancelRequested bool `json:"cancel_requested,omitempty"`
}

// NewTask returns a task for handler name with payload (JSON; nil is null),
// a new ID, to run as soon as possible.
func NewTask(name string, payload json.RawMessage) Task {
	return Task{ID: uuid.NewString(), Name: name, Payload: payload}
}

// NewScheduledTask returns a task that runs no earlier than at.
func NewScheduledTask(name string, payload json.RawMessage, at time.Time) Task {
	t := NewTask(name, payload)
	t.ScheduledFor = at
	return t
}

func ptrTime(t time.Time) *time.Time {
	if t.IsZero() {
		return nil
	}
	u := t.UTC()
	return &u
}

func taskFrom(d driver.Task) Task {
	return Task{
		ID: d.ID, Name: d.Name, Payload: json.RawMessage(d.Payload), Status: d.Status, Priority: d.Priority,
		UniqueKey: d.UniqueKey, Created: d.Created.UTC(), ScheduledFor: d.ScheduledFor.UTC(),
		Started: ptrTime(d.Started), Completed: ptrTime(d.Completed), Attempts: d.Attempts, Lost: d.Lost,
		MaxRetries: d.MaxRetries, AtMostOnce: d.AtMostOnce, TimeoutSeconds: int(d.Timeout / time.Second), LastError: d.LastError, LockedBy: d.LockedBy,
		LockedUntil: ptrTime(d.LockedUntil), Token: d.Token, CancelRequested: d.CancelRequested,
	}
}

// MaxPayloadSize is the largest task payload, in bytes.
const MaxPayloadSize = 1 << 20

// ValidateTask reports whether t would be accepted by Scheduler.Enqueue
// (its ID, if set, name, unique key, payload, priority, retries, timeout
// and scheduled time, each within its limit), without
// enqueueing it: an error wrapping ErrInvalidArgument or
// kvcore.ErrInvalidValue, else nil.
func ValidateTask(t Task) error {
	_, err := prepare(t, time.Time{})
	return err
}

// prepare validates a new task and fills in its defaults at now.
func prepare(t Task, now time.Time) (driver.Task, error) {
	if t.ID == "" {
		t.ID = uuid.NewString()
	}
	if err := kvcore.ValidateName("task id", t.ID); err != nil {
		return driver.Task{}, err
	}
	if err := kvcore.ValidateName("task name", t.Name); err != nil {
		return driver.Task{}, err
	}
	if t.UniqueKey != "" {
		if err := kvcore.ValidateName("unique key", t.UniqueKey); err != nil {
			return driver.Task{}, err
		}
	}
	payload := []byte(t.Payload)
	if len(payload) == 0 {
		payload = []byte("null")
	}
	if len(payload) > MaxPayloadSize {
		return driver.Task{}, fmt.Errorf("%w: payload of %d bytes is over %d", kvcore.ErrInvalidValue, len(payload), MaxPayloadSize)
	}
	if !json.Valid(payload) {
		return driver.Task{}, fmt.Errorf("%w: task payload is not a JSON document", kvcore.ErrInvalidValue)
	}
	if err := checkCount("priority", t.Priority, MinPriority, MaxPriority); err != nil {
		return driver.Task{}, err
	}
	if err := checkCount("max retries", t.MaxRetries, 0, MaxRetriesLimit); err != nil {
		return driver.Task{}, err
	}
	if t.AtMostOnce && t.MaxRetries > 0 {
		return driver.Task{}, fmt.Errorf("%w: an at-most-once task cannot be retried: max retries %d, want 0", ErrInvalidArgument, t.MaxRetries)
	}
	if err := checkCount("timeout seconds", t.TimeoutSeconds, 0, int(MaxTimeout/time.Second)); err != nil {
		return driver.Task{}, err
	}
	sched := t.ScheduledFor.UTC().Truncate(time.Microsecond)
	if sched.IsZero() {
		sched = now
	} else if err := checkTime("scheduled time", sched); err != nil {
		return driver.Task{}, err
	}
	return driver.Task{
		ID: t.ID, Name: t.Name, Payload: payload, Status: StatusPending, Priority: t.Priority,
		UniqueKey: t.UniqueKey, Created: now, ScheduledFor: sched, MaxRetries: t.MaxRetries,
		AtMostOnce: t.AtMostOnce, Timeout: time.Duration(t.TimeoutSeconds) * time.Second,
	}, nil
}
