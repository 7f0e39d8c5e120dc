package sqlitekv

import (
	"cmp"
	"context"
	"database/sql"
	"encoding/json"
	"errors"
	"fmt"
	"slices"
	"strings"
	"time"

	taskdriver "github.com/kvsuite/kv/kvtask/driver"
	"github.com/kvsuite/kv/sqlitedialect"
)

// The kvtask SPIs a *DB implements.
var (
	_ taskdriver.Queue    = (*DB)(nil)
	_ taskdriver.Notifier = (*DB)(nil)
)

const taskColumns = `id, name, payload, status, priority, unique_key, created, scheduled_for, started, completed,
attempts, max_retries, timeout, last_error, locked_by, locked_until, token, cancel_requested, lost, at_most_once`

// scanTask reads a row of taskColumns.
func scanTask(sc interface{ Scan(...any) error }) (taskdriver.Task, error) {
	var t taskdriver.Task
	var payload string
	var status string
	var unique sql.NullString
	var created, scheduled, timeout int64
	var started, completed, lockedUntil sql.NullInt64
	var cancel bool
	err := sc.Scan(&t.ID, &t.Name, &payload, &status, &t.Priority, &unique, &created, &scheduled, &started, &completed,
		&t.Attempts, &t.MaxRetries, &timeout, &t.LastError, &t.LockedBy, &lockedUntil, &t.Token, &cancel,
		&t.Lost, &t.AtMostOnce)
	if err != nil {
		return t, err
	}
	t.Payload = []byte(payload)
	t.Status = taskdriver.Status(status)
	t.UniqueKey = unique.String
	t.Created = fromMicros(created)
	t.ScheduledFor = fromMicros(scheduled)
	t.Started = fromNullMicros(started)
	t.Completed = fromNullMicros(completed)
	t.Timeout = time.Duration(timeout) * time.Microsecond
	t.LockedUntil = fromNullMicros(lockedUntil)
	t.CancelRequested = cancel
	return t, nil
}

// fromMicros is a stored time as UTC; the zero time round-trips.
func fromMicros(us int64) time.Time {
	t := time.UnixMicro(us).UTC()
	if t.IsZero() {
		return time.Time{}
	}
	return t
}

func fromNullMicros(us sql.NullInt64) time.Time {
	if !us.Valid {
		return time.Time{}
	}
	return fromMicros(us.Int64)
}

// nullString stores "" as NULL.
func nullString(s string) any {
	if s == "" {
		return nil
	}
	return s
}

// normalTask is t as it is stored: times in UTC at microsecond precision.
func normalTask(t taskdriver.Task) taskdriver.Task {
	norm := func(x time.Time) time.Time {
		if x.IsZero() {
			return time.Time{}
		}
		return x.UTC().Truncate(time.Microsecond)
	}
	t.Created, t.ScheduledFor, t.Started = norm(t.Created), norm(t.ScheduledFor), norm(t.Started)
	t.Completed, t.LockedUntil = norm(t.Completed), norm(t.LockedUntil)
	t.Timeout = t.Timeout.Truncate(time.Microsecond)
	return t
}

// sqlHolder reads the pending or running task that holds a unique key.
const sqlHolder = "SELECT " + taskColumns + " FROM tasks WHERE unique_key = ? AND status IN ('pending', 'running')"

// sqlInsertTask stores a task row.
const sqlInsertTask = "INSERT INTO tasks (" + taskColumns + `)
VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)`

// InsertMany stores ts as pending, each unless its unique key is held by a
// pending or running task (which is then its outcome), in one request to
// the writer, so in one transaction: a failed insert (an existing ID)
// rolls the whole batch back. The check and the insert are one step (the
// partial unique index tasks_unique guards the rule as well).
func (db *DB) InsertMany(ctx context.Context, ts []taskdriver.Task) ([]taskdriver.Inserted, error) {
	if len(ts) == 0 {
		return []taskdriver.Inserted{}, nil
	}
	if err := db.writable(ctx); err != nil {
		return nil, err
	}
	var out []taskdriver.Inserted
	err := db.submit(ctx, func(w *wtx) error {
		var err error
		out, err = w.insertTasks(ts)
		return err
	})
	if err != nil {
		return nil, db.dbError("insert tasks", err)
	}
	return out, nil
}

// insertTasks is InsertMany inside the writer's transaction.
func (w *wtx) insertTasks(ts []taskdriver.Task) ([]taskdriver.Inserted, error) {
	out := make([]taskdriver.Inserted, len(ts))
	for i, t := range ts {
		t = normalTask(t)
		t.Status = taskdriver.Pending
		if t.UniqueKey != "" {
			row, err := w.holderRow(t.UniqueKey)
			if err != nil {
				return nil, err
			}
			held, err := scanTask(row)
			if err == nil {
				out[i] = taskdriver.Inserted{Task: held}
				continue
			}
			if !errors.Is(err, sql.ErrNoRows) {
				return nil, err
			}
		}
		if err := w.insertTask(t); err != nil {
			return nil, err
		}
		w.tasks = true
		out[i] = taskdriver.Inserted{Task: t, Added: true}
	}
	return out, nil
}

// Get returns the task with id and whether it exists.
func (db *DB) Get(ctx context.Context, id string) (taskdriver.Task, bool, error) {
	if err := db.usable(ctx); err != nil {
		return taskdriver.Task{}, false, err
	}
	return readOne(ctx, db, "get task", "SELECT "+taskColumns+" FROM tasks WHERE id = ?", scanTask, id)
}

// List returns the tasks f selects, oldest first (then by ID).
func (db *DB) List(ctx context.Context, f taskdriver.Filter) ([]taskdriver.Task, error) {
	if f.Offset < 0 || f.Limit < 0 {
		return nil, optionError("task list offset %d and limit %d must not be negative", f.Offset, f.Limit)
	}
	if err := db.usable(ctx); err != nil {
		return nil, err
	}
	var b strings.Builder
	var args []any
	b.WriteString("SELECT " + taskColumns + " FROM tasks WHERE 1")
	if f.Status != "" {
		b.WriteString(" AND status = ?")
		args = append(args, string(f.Status))
	}
	if f.Name != "" {
		b.WriteString(" AND name = ?")
		args = append(args, f.Name)
	}
	b.WriteString(" ORDER BY created, id LIMIT ? OFFSET ?")
	args = append(args, sqlitedialect.LimitArg(f.Limit), f.Offset)
	stmt, err := db.readStmt(ctx, b.String())
	if err != nil {
		return nil, db.dbError("list tasks", err)
	}
	rows, err := stmt.QueryContext(ctx, args...)
	if err != nil {
		return nil, db.dbError("list tasks", err)
	}
	out, err := scanTasks(rows)
	if err != nil {
		return nil, db.dbError("list tasks", err)
	}
	return out, nil
}

// scanTasks reads and closes rows of taskColumns.
func scanTasks(rows *sql.Rows) ([]taskdriver.Task, error) {
	defer rows.Close()
	out := []taskdriver.Task{}
	for rows.Next() {
		t, err := scanTask(rows)
		if err != nil {
			return nil, err
		}
		out = append(out, t)
	}
	return out, rows.Err()
}

// claimSQL is Claim's statement for n distinct names (0: any), returning
// the tasks' columns (see sqlitedialect's Dialect.Claim).
func claimSQL(n int) string { return sqlitedialect.SQLite.Claim(n, taskColumns) }

// claimArgs are claimSQL's parameters for c (its names distinct).
func claimArgs(c taskdriver.Claim) []any {
	return sqlitedialect.SQLite.ClaimArgs(c.Runner, c.Now.Add(c.Lease).UnixMicro(), c.Now.UnixMicro(), c.Limit, c.Names)
}

// Claim takes up to c.Limit claimable tasks for c.Runner in one UPDATE on
// the single writer (see claimSQL), so overlapping claims never take the
// same task.
func (db *DB) Claim(ctx context.Context, c taskdriver.Claim) ([]taskdriver.Task, error) {
	if err := db.writable(ctx); err != nil {
		return nil, err
	}
	c.Names = c.DistinctNames() // claimSQL seeks each once
	q, args := claimSQL(len(c.Names)), claimArgs(c)
	var out []taskdriver.Task
	err := db.submit(ctx, func(w *wtx) error {
		rows, err := w.tx.QueryContext(w.ctx, q, args...)
		if err != nil {
			return err
		}
		out, err = scanTasks(rows)
		return err
	})
	if err != nil {
		return nil, db.dbError("claim tasks", err)
	}
	// RETURNING does not keep an order: put the tasks in claim order.
	slices.SortFunc(out, func(a, b taskdriver.Task) int {
		return cmp.Or(cmp.Compare(b.Priority, a.Priority), a.ScheduledFor.Compare(b.ScheduledFor), strings.Compare(a.ID, b.ID))
	})
	return out, nil
}

// lost is the error for a fenced update that matched no row.
func lost(id, runner string, token int64) error {
	return fmt.Errorf("sqlitekv: task %q runner %q token %d: %w", id, runner, token, taskdriver.ErrLost)
}

// Heartbeat extends the lease runner holds on task id with token and
// reports whether cancellation was requested; ErrLost if not held.
func (db *DB) Heartbeat(ctx context.Context, id, runner string, token int64, now time.Time, lease time.Duration) (bool, error) {
	if lease <= 0 {
		return false, optionError("heartbeat lease %v must be positive", lease)
	}
	if err := db.writable(ctx); err != nil {
		return false, err
	}
	var cancel bool
	err := db.submit(ctx, func(w *wtx) error {
		err := w.tx.QueryRowContext(w.ctx, `UPDATE tasks SET locked_until = ?
WHERE id = ? AND locked_by = ? AND token = ? AND status = 'running' RETURNING cancel_requested`,
			now.Add(lease).UnixMicro(), id, runner, token).Scan(&cancel)
		if errors.Is(err, sql.ErrNoRows) {
			return lost(id, runner, token)
		}
		return err
	})
	if errors.Is(err, taskdriver.ErrLost) {
		return false, err
	}
	if err != nil {
		return false, db.dbError("heartbeat task", err)
	}
	return cancel, nil
}

// sqlFinish records an outcome: status, last error, completed (NULL
// unless terminal), whether to reschedule, the retry time and how many
// attempts to give back, fenced by id, runner, token and running.
const sqlFinish = `UPDATE tasks SET status = ?1, last_error = ?2, completed = coalesce(?3, completed),
scheduled_for = CASE WHEN ?4 THEN ?5 ELSE scheduled_for END, attempts = max(attempts - ?6, 0),
locked_by = '', locked_until = NULL WHERE id = ?7 AND locked_by = ?8 AND token = ?9 AND status = 'running'`

// FinishMany records the outcomes of many attempts in one request to the
// writer, so in one transaction (see kvtask/driver.Queue): one
// fenced UPDATE per item, and an item that matches nothing is ErrLost
// without undoing the others.
func (db *DB) FinishMany(ctx context.Context, cs []taskdriver.Completion, now time.Time) ([]error, error) {
	if err := taskdriver.CheckCompletions(cs); err != nil {
		return nil, fmt.Errorf("sqlitekv: finish: %w", err)
	}
	if len(cs) == 0 {
		return nil, nil
	}
	if err := db.writable(ctx); err != nil {
		return nil, err
	}
	var done []string
	err := db.submit(ctx, func(w *wtx) error {
		retried := false
		for _, c := range cs {
			o := c.Outcome
			var completed any
			at, back := o.RetryAt, 0
			if o.Status == taskdriver.Pending {
				if at.IsZero() {
					at = now
				}
				if o.GiveBack {
					back = 1
				}
			} else {
				completed = now.UnixMicro()
			}
			n, err := w.exec(sFinish, string(o.Status), o.LastError, completed,
				o.Status == taskdriver.Pending, at.UnixMicro(), back, c.ID, c.Runner, c.Token)
			if err != nil {
				return err
			}
			if n == 1 {
				done = append(done, c.ID)
				retried = retried || o.Status == taskdriver.Pending
			}
		}
		if retried {
			w.tasks = true
		}
		return nil
	})
	if err != nil {
		return nil, db.dbError("finish tasks", err)
	}
	return taskdriver.Lost(cs, done), nil
}

// Cancel cancels a pending task, marks a running one CancelRequested and
// leaves a terminal one as it is, in one UPDATE that returns the row.
func (db *DB) Cancel(ctx context.Context, id string, now time.Time) (taskdriver.Task, bool, error) {
	if err := db.writable(ctx); err != nil {
		return taskdriver.Task{}, false, err
	}
	var t taskdriver.Task
	var found bool
	err := db.submit(ctx, func(w *wtx) error {
		// Every SET expression sees the row as it was before the update.
		var err error
		t, err = scanTask(w.tx.QueryRowContext(w.ctx, `UPDATE tasks SET
status = CASE status WHEN 'pending' THEN 'cancelled' ELSE status END,
completed = CASE status WHEN 'pending' THEN ? ELSE completed END,
cancel_requested = CASE status WHEN 'running' THEN 1 ELSE cancel_requested END
WHERE id = ? RETURNING `+taskColumns, now.UnixMicro(), id))
		if errors.Is(err, sql.ErrNoRows) {
			return nil
		}
		found = err == nil
		return err
	})
	if err != nil {
		return taskdriver.Task{}, false, db.dbError("cancel task", err)
	}
	if !found {
		return taskdriver.Task{}, false, nil
	}
	return t, true, nil
}

// template is a schedule's task as stored in schedules.template (JSON).
type template struct {
	ID           string `json:"id"`
	Name         string `json:"name"`
	Payload      string `json:"payload"`
	Priority     int    `json:"priority"`
	UniqueKey    string `json:"unique_key,omitempty"`
	Created      int64  `json:"created"`
	ScheduledFor int64  `json:"scheduled_for"`
	MaxRetries   int    `json:"max_retries"`
	AtMostOnce   bool   `json:"at_most_once,omitempty"`
	Timeout      int64  `json:"timeout_us"`
}

func encodeTemplate(t taskdriver.Task) (string, error) {
	t = normalTask(t)
	b, err := json.Marshal(template{
		ID: t.ID, Name: t.Name, Payload: string(t.Payload), Priority: t.Priority, UniqueKey: t.UniqueKey,
		Created: t.Created.UnixMicro(), ScheduledFor: t.ScheduledFor.UnixMicro(), MaxRetries: t.MaxRetries,
		AtMostOnce: t.AtMostOnce, Timeout: t.Timeout.Microseconds(),
	})
	return string(b), err
}

func decodeTemplate(s string) (taskdriver.Task, error) {
	var tp template
	if err := json.Unmarshal([]byte(s), &tp); err != nil {
		return taskdriver.Task{}, fmt.Errorf("schedule template: %w", err)
	}
	return taskdriver.Task{
		ID: tp.ID, Name: tp.Name, Payload: []byte(tp.Payload), Status: taskdriver.Pending, Priority: tp.Priority,
		UniqueKey: tp.UniqueKey, Created: fromMicros(tp.Created), ScheduledFor: fromMicros(tp.ScheduledFor),
		MaxRetries: tp.MaxRetries, AtMostOnce: tp.AtMostOnce, Timeout: time.Duration(tp.Timeout) * time.Microsecond,
	}, nil
}

// PutSchedule creates or replaces a schedule.
func (db *DB) PutSchedule(ctx context.Context, s taskdriver.Schedule) error {
	tmpl, err := encodeTemplate(s.Template)
	if err != nil {
		return optionError("schedule %q template: %v", s.Name, err)
	}
	if err := db.writable(ctx); err != nil {
		return err
	}
	err = db.submit(ctx, func(w *wtx) error {
		_, err := w.tx.ExecContext(w.ctx, `INSERT INTO schedules (name, spec, template, next) VALUES (?, ?, ?, ?)
ON CONFLICT (name) DO UPDATE SET spec = excluded.spec, template = excluded.template, next = excluded.next`,
			s.Name, s.Spec, tmpl, s.Next.UnixMicro())
		return err
	})
	if err != nil {
		return db.dbError("put schedule", err)
	}
	return nil
}

// DeleteSchedule deletes a schedule and reports whether it existed.
func (db *DB) DeleteSchedule(ctx context.Context, name string) (bool, error) {
	if err := db.writable(ctx); err != nil {
		return false, err
	}
	return db.deleteOne(ctx, "delete schedule", "DELETE FROM schedules WHERE name = ?", name)
}

// Schedules returns every schedule, ordered by name.
func (db *DB) Schedules(ctx context.Context) ([]taskdriver.Schedule, error) {
	if err := db.usable(ctx); err != nil {
		return nil, err
	}
	stmt, err := db.readStmt(ctx, "SELECT name, spec, template, next FROM schedules ORDER BY name")
	if err != nil {
		return nil, db.dbError("schedules", err)
	}
	rows, err := stmt.QueryContext(ctx)
	if err != nil {
		return nil, db.dbError("schedules", err)
	}
	defer rows.Close()
	out := []taskdriver.Schedule{}
	for rows.Next() {
		var s taskdriver.Schedule
		var tmpl string
		var next int64
		if err := rows.Scan(&s.Name, &s.Spec, &tmpl, &next); err != nil {
			return nil, db.dbError("schedules", err)
		}
		if s.Template, err = decodeTemplate(tmpl); err != nil {
			return nil, db.dbError("schedule "+s.Name, err)
		}
		s.Next = fromMicros(next)
		out = append(out, s)
	}
	if err := rows.Err(); err != nil {
		return nil, db.dbError("schedules", err)
	}
	return out, nil
}

// Fire moves schedule name from tick to next and inserts t (as InsertMany
// does) in one writer transaction, only if its next tick was exactly tick;
// it reports whether it fired.
func (db *DB) Fire(ctx context.Context, name string, tick, next time.Time, t taskdriver.Task) (bool, error) {
	if err := db.writable(ctx); err != nil {
		return false, err
	}
	var fired bool
	err := db.submit(ctx, func(w *wtx) error {
		r, err := w.tx.ExecContext(w.ctx, "UPDATE schedules SET next = ? WHERE name = ? AND next = ?",
			next.UnixMicro(), name, tick.UnixMicro())
		if err != nil {
			return err
		}
		n, err := r.RowsAffected()
		if err != nil || n == 0 {
			return err
		}
		if _, err := w.insertTasks([]taskdriver.Task{t}); err != nil {
			return err
		}
		fired = true
		return nil
	})
	if err != nil {
		return false, db.dbError("fire schedule", err)
	}
	return fired, nil
}

// SubscribeTasks returns a channel that receives a value after this DB
// commits a change that may make tasks claimable: an insert, a retry or
// give-back, a schedule firing (signals are coalesced, possibly spurious).
// Other processes' writes are not signalled; runners poll as well. The
// channel is closed when ctx ends or the DB is closed.
func (db *DB) SubscribeTasks(ctx context.Context) (<-chan struct{}, error) {
	return db.taskNotify.Subscribe(ctx)
}
