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
	// ErrInvalidArgument is kvcore.ErrInvalidArgument.
	ErrInvalidArgument = kvcore.ErrInvalidArgument
	// ErrNotFound is kvcore.ErrNotFound: no task with that ID.
	ErrNotFound = kvcore.ErrNotFound
	// ErrDuplicate: a pending or running task already has the unique key.
	ErrDuplicate = errors.New("a pending or running task has that unique key")
	// ErrLost: the runner no longer holds the task.
	ErrLost = driver.ErrLost
)

// Task is a unit of work for a handler.
type Task struct {
	ID      string          `json:"id"`
	Name    string          `json:"name"` // the handler that runs it
	Payload json.RawMessage `json:"payload"`
	Status  Status          `json:"status"`
	// Priority: higher runs first (default 0).
	Priority int `json:"priority"`
	// UniqueKey, if set: while a task with this key is pending or running,
	// another with the same key is not added (New returns ErrDuplicate).
	UniqueKey    string    `json:"unique_key,omitempty"`
	Created      time.Time `json:"created"`
	ScheduledFor time.Time `json:"scheduled_for"` // not run before this
	// Started is when the latest attempt started; Completed when the task
	// reached a terminal status.
	Started   *time.Time `json:"started,omitempty"`
	Completed *time.Time `json:"completed,omitempty"`
	// Attempts counts the attempts started. MaxRetries is how many times a
	// failed attempt is retried: a task runs at most MaxRetries+1 times.
	Attempts   int `json:"attempts"`
	MaxRetries int `json:"max_retries"`
	// TimeoutSeconds bounds each attempt (0: no limit).
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
		Started: ptrTime(d.Started), Completed: ptrTime(d.Completed), Attempts: d.Attempts, MaxRetries: d.MaxRetries,
		TimeoutSeconds: int(d.Timeout / time.Second), LastError: d.LastError, LockedBy: d.LockedBy,
		LockedUntil: ptrTime(d.LockedUntil), Token: d.Token, CancelRequested: d.CancelRequested,
	}
}

// MaxPayloadSize is the largest task payload, in bytes.
const MaxPayloadSize = 1 << 20

// ValidateTask reports whether t would be accepted by Scheduler.Enqueue
// (its ID, if set, name, unique key, payload, retries and timeout), without
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
	if t.MaxRetries < 0 {
		return driver.Task{}, fmt.Errorf("%w: max retries %d is negative", ErrInvalidArgument, t.MaxRetries)
	}
	if t.TimeoutSeconds < 0 {
		return driver.Task{}, fmt.Errorf("%w: timeout %ds is negative", ErrInvalidArgument, t.TimeoutSeconds)
	}
	sched := t.ScheduledFor.UTC().Truncate(time.Microsecond)
	if sched.IsZero() {
		sched = now
	}
	return driver.Task{
		ID: t.ID, Name: t.Name, Payload: payload, Status: StatusPending, Priority: t.Priority,
		UniqueKey: t.UniqueKey, Created: now, ScheduledFor: sched, MaxRetries: t.MaxRetries,
		Timeout: time.Duration(t.TimeoutSeconds) * time.Second,
	}, nil
}
