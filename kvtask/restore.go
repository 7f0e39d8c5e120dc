package kvtask

import (
	"context"
	"fmt"
	"strings"
	"time"
	"unicode/utf8"

	"github.com/kvsuite/kv/kvcore"
	"github.com/kvsuite/kv/kvtask/driver"
)

// Restore stores tasks exactly as they were elsewhere: with their ID,
// status, attempts, times, lease, token and last error, for moving tasks
// between stores (kv import). It is not for adding work: use Enqueue. A
// restored pending task is claimed at its ScheduledFor, a restored running
// task once its lease (LockedUntil) has expired - the runner that held it
// elsewhere cannot finish it here - and a terminal task never changes.
//
// Every task is checked first (ValidateRestore; an ID used twice, or a
// unique key held by two pending or running tasks, is an error naming
// their indexes), then all are written in one driver call, or none: a task
// whose ID exists, or a pending or running one whose unique key a pending
// or running task of the store holds, fails the whole call. It needs a
// backend that implements driver.Restorer (all of kv's do); otherwise the
// error wraps errors.ErrUnsupported.
func (s *Scheduler) Restore(ctx context.Context, tasks ...Task) error {
	if len(tasks) == 0 {
		return nil
	}
	r, ok := s.q.(driver.Restorer)
	if !ok {
		return kvcore.Unsupported("task restore", s.q, "driver.Restorer")
	}
	dts := make([]driver.Task, len(tasks))
	ids := make(map[string]int, len(tasks))
	keys := map[string]int{}
	for i, t := range tasks {
		dt, err := restored(t)
		if err != nil {
			return fmt.Errorf("kv task restore: task %d: %w", i, err)
		}
		if j, dup := ids[dt.ID]; dup {
			return fmt.Errorf("%w: kv task restore: tasks %d and %d have the same id %q", ErrInvalidArgument, j, i, dt.ID)
		}
		ids[dt.ID] = i
		if dt.UniqueKey != "" && !Terminal(dt.Status) {
			if j, dup := keys[dt.UniqueKey]; dup {
				return fmt.Errorf("%w: kv task restore: tasks %d and %d are both %s or %s with unique key %q", ErrInvalidArgument, j, i, StatusPending, StatusRunning, dt.UniqueKey)
			}
			keys[dt.UniqueKey] = i
		}
		dts[i] = dt
	}
	if err := r.RestoreTasks(ctx, dts); err != nil {
		return fmt.Errorf("kv task restore: %w", err)
	}
	return nil
}

// ValidateRestore reports whether Restore accepts t, without storing it:
// an error wrapping ErrInvalidArgument or kvcore.ErrInvalidValue, else nil.
// Besides what Enqueue checks (a name, a JSON payload, retries and a
// timeout that are not negative), t needs an ID, a known status, created
// and scheduled times, attempts and a token that are not negative, lost
// attempts no more than its attempts; a
// running task needs its lease (LockedBy and LockedUntil), which no other
// task may have, nor CancelRequested; and only a terminal task may have a
// Completed time.
func ValidateRestore(t Task) error {
	_, err := restored(t)
	return err
}

// restored validates a task to restore and returns it as the driver stores
// it: times in UTC at microsecond precision.
func restored(t Task) (driver.Task, error) {
	if t.ID == "" {
		return driver.Task{}, fmt.Errorf("%w: a restored task needs its id", ErrInvalidArgument)
	}
	dt, err := prepare(t, time.Time{})
	if err != nil {
		return driver.Task{}, err
	}
	bad := func(format string, args ...any) (driver.Task, error) {
		return driver.Task{}, fmt.Errorf("%w: task %q: %s", ErrInvalidArgument, t.ID, fmt.Sprintf(format, args...))
	}
	if _, err := ParseStatus(string(t.Status)); err != nil {
		return bad("status %q: want pending, running, completed, failed or cancelled", t.Status)
	}
	norm := func(p *time.Time) time.Time {
		if p == nil {
			return time.Time{}
		}
		return p.UTC().Truncate(time.Microsecond)
	}
	dt.Status = t.Status
	dt.Created = t.Created.UTC().Truncate(time.Microsecond)
	dt.Started, dt.Completed, dt.LockedUntil = norm(t.Started), norm(t.Completed), norm(t.LockedUntil)
	dt.Attempts, dt.LastError, dt.LockedBy, dt.Token, dt.CancelRequested = t.Attempts, t.LastError, t.LockedBy, t.Token, t.CancelRequested
	dt.Lost = t.Lost
	switch {
	case t.Created.IsZero():
		return bad("no created time")
	case t.ScheduledFor.IsZero():
		return bad("no scheduled time")
	case t.Attempts < 0:
		return bad("attempts %d is negative", t.Attempts)
	case t.Token < 0:
		return bad("token %d is negative", t.Token)
	case t.Lost < 0 || t.Lost > t.Attempts:
		return bad("lost %d is out of range: want 0 to its attempts, %d", t.Lost, t.Attempts)
	case t.Status == StatusRunning && (t.LockedBy == "" || dt.LockedUntil.IsZero()):
		return bad("a running task needs its lease: locked_by and locked_until")
	case t.Status != StatusRunning && (t.LockedBy != "" || !dt.LockedUntil.IsZero() || t.CancelRequested):
		return bad("only a running task holds a lease (locked_by, locked_until, cancel_requested); this one is %s", t.Status)
	case !Terminal(t.Status) && !dt.Completed.IsZero():
		return bad("only a terminal task has a completed time; this one is %s", t.Status)
	}
	if t.LockedBy != "" {
		if err := kvcore.ValidateName("task runner", t.LockedBy); err != nil {
			return driver.Task{}, err
		}
	}
	if !utf8.ValidString(t.LastError) || strings.ContainsRune(t.LastError, 0) {
		return bad("its last error is not UTF-8 text without NUL")
	}
	return dt, nil
}
