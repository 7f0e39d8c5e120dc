package rqlitekv

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"slices"
	"sort"
	"strings"
	"time"
	"unicode/utf8"

	"github.com/rqlite/gorqlite"

	"github.com/kvsuite/kv/kvcore"
	taskdriver "github.com/kvsuite/kv/kvtask/driver"
	"github.com/kvsuite/kv/sqlitedialect"
)

var _ taskdriver.Queue = (*DB)(nil)

// taskCols are the columns every task read returns, in scanTask's order;
// integers come back as text so that they are exact.
const taskCols = "id, name, payload, status, CAST(priority AS TEXT), unique_key, CAST(created AS TEXT), " +
	"CAST(scheduled_for AS TEXT), CAST(started AS TEXT), CAST(completed AS TEXT), CAST(attempts AS TEXT), " +
	"CAST(max_retries AS TEXT), CAST(timeout AS TEXT), last_error, locked_by, CAST(locked_until AS TEXT), " +
	"CAST(token AS TEXT), CAST(cancel_requested AS TEXT), CAST(lost AS TEXT), CAST(at_most_once AS TEXT)"

// held is the fence of Heartbeat and FinishMany: the task is running, held by
// runner with token. Its parameters are id, runner, token.
const held = "id = " + textArg + " AND locked_by = " + textArg + " AND token = ? AND status = 'running'"

// holdsKey selects a task that holds a unique key (pending or running); its
// condition matches the partial indexes' WHERE, which the upsert's conflict
// target must name.
const holdsKey = "status IN ('pending', 'running')"

// The statements of the Queue.
var (
	sqlTaskInsertHead = "INSERT INTO tasks (id, name, payload, status, priority, unique_key, created, scheduled_for, " +
		"attempts, max_retries, timeout, last_error, locked_by, token, cancel_requested, lost, at_most_once) "
	sqlTaskValues = "CAST(? AS TEXT), CAST(? AS TEXT), CAST(? AS TEXT), 'pending', ?, CAST(? AS TEXT), ?, ?, 0, ?, ?, '', '', 0, 0, 0, ?"
	// A task whose unique key a pending or running task holds is not
	// stored: the partial unique index decides, atomically.
	sqlTaskOnKey  = " ON CONFLICT (unique_key) WHERE " + holdsKey + " DO NOTHING"
	sqlTaskInsert = sqlTaskInsertHead + "VALUES (" + sqlTaskValues + ")" + sqlTaskOnKey
	// sqlTasksInserted reads the tasks InsertMany stored, or the ones
	// holding the keys that kept tasks out: its parameters are JSON arrays
	// of the IDs and of the unique keys.
	sqlTasksInserted = "SELECT " + taskCols + " FROM tasks WHERE id IN (SELECT value FROM json_each(?))" +
		" OR (unique_key IN (SELECT value FROM json_each(?)) AND " + holdsKey + ")"
	sqlTaskGet = "SELECT " + taskCols + " FROM tasks WHERE id = " + textArg

	sqlHeartbeat      = "UPDATE tasks SET locked_until = ? WHERE " + held
	sqlHeartbeatCheck = "SELECT CAST(cancel_requested AS TEXT) FROM tasks WHERE " + held
	// sqlFinish records an outcome. Its parameters: status, last error,
	// completed (NULL unless terminal), whether to reschedule, the retry
	// time, how many attempts to give back, then held's.
	sqlFinish = "UPDATE tasks SET status = ?, last_error = " + textArg + ", completed = ?, " +
		"scheduled_for = CASE WHEN ? THEN ? ELSE scheduled_for END, attempts = max(attempts - ?, 0), " +
		"locked_by = '', locked_until = NULL WHERE " + held
	// sqlCancel cancels a pending task and flags a running one; terminal
	// tasks are left alone. SET expressions read the row as it was.
	sqlCancel = "UPDATE tasks SET " +
		"status = CASE WHEN status = 'pending' THEN 'cancelled' ELSE status END, " +
		"completed = CASE WHEN status = 'pending' THEN ? ELSE completed END, " +
		"cancel_requested = CASE WHEN status = 'running' THEN 1 ELSE cancel_requested END " +
		"WHERE id = " + textArg + " AND " + holdsKey

	sqlPutSchedule = "INSERT INTO schedules (name, spec, template, next) VALUES (" + textArg + ", " + textArg + ", " + textArg + ", ?) " +
		"ON CONFLICT (name) DO UPDATE SET spec = excluded.spec, template = excluded.template, next = excluded.next"
	sqlDeleteSchedule = "DELETE FROM schedules WHERE name = " + textArg
	sqlSchedules      = "SELECT name, spec, template, CAST(next AS TEXT) FROM schedules ORDER BY name"
	// sqlFireInsert inserts the tick's task only if the schedule is still
	// at the tick; sqlFireMove then moves it on. One transaction: runners
	// racing for a tick are serialised by rqlite, and only the first sees
	// the schedule at the tick.
	sqlFireInsert = sqlTaskInsertHead + "SELECT " + sqlTaskValues +
		" WHERE EXISTS (SELECT 1 FROM schedules WHERE name = " + textArg + " AND next = ?)" + sqlTaskOnKey
	sqlFireMove = "UPDATE schedules SET next = ? WHERE name = " + textArg + " AND next = ?"
)

// claimStatement is the statement and parameters of claim c, its names
// sorted and de-duplicated (the statement seeks each once; see
// sqlitedialect's Dialect.Claim).
func claimStatement(c taskdriver.Claim) (string, []any) {
	names := c.DistinctNames()
	return dialect.Claim(len(names), taskCols), dialect.ClaimArgs(c.Runner, c.Now.Add(c.Lease).UnixMicro(), c.Now.UnixMicro(), c.Limit, names)
}

// checkText refuses text that rqlite's JSON API cannot carry unchanged.
func checkText(what, s string) error {
	if !utf8.ValidString(s) {
		return fmt.Errorf("rqlitekv: %s is not valid UTF-8: %w", what, kvcore.ErrInvalidArgument)
	}
	return nil
}

// cleanError is a last error as stored: valid UTF-8 without NUL bytes
// (it comes from a handler and is only read by people).
func cleanError(s string) string {
	return strings.ReplaceAll(strings.ToValidUTF8(s, "\uFFFD"), "\x00", "\uFFFD")
}

// taskArgs are the parameters of sqlTaskValues for t.
func taskArgs(t taskdriver.Task) ([]any, error) {
	for _, f := range []struct{ what, s string }{{"task id", t.ID}, {"task name", t.Name}, {"unique key", t.UniqueKey}} {
		if err := checkText(f.what, f.s); err != nil {
			return nil, err
		}
	}
	if t.ID == "" || t.Name == "" {
		return nil, fmt.Errorf("rqlitekv: a task needs an id and a name: %w", kvcore.ErrInvalidArgument)
	}
	if !utf8.Valid(t.Payload) {
		return nil, fmt.Errorf("rqlitekv: task payload is not valid UTF-8: %w", kvcore.ErrInvalidValue)
	}
	payload := string(t.Payload)
	if payload == "" {
		payload = "null"
	}
	var key any
	if t.UniqueKey != "" {
		key = txt(t.UniqueKey)
	}
	sched := t.ScheduledFor
	if sched.IsZero() {
		sched = t.Created
	}
	return []any{txt(t.ID), txt(t.Name), txt(payload), t.Priority, key, t.Created.UnixMicro(), sched.UnixMicro(),
		t.MaxRetries, t.Timeout.Microseconds(), t.AtMostOnce}, nil
}

// InsertMany stores ts as pending, each unless a pending or running task
// holds its unique key: one request, so one transaction (a failed insert,
// an existing ID, rolls the whole batch back) - a conditional insert per
// task, then one read of the stored tasks and of the holders.
func (db *DB) InsertMany(ctx context.Context, ts []taskdriver.Task) ([]taskdriver.Inserted, error) {
	if len(ts) == 0 {
		return []taskdriver.Inserted{}, nil
	}
	if err := db.usable(ctx); err != nil {
		return nil, err
	}
	var q batch
	ids := make([]string, len(ts))
	keys := []string{}
	for i, t := range ts {
		args, err := taskArgs(t)
		if err != nil {
			return nil, fmt.Errorf("rqlitekv: insert task %d: %w", i, err)
		}
		q.add(roleRows, i, sqlTaskInsert, args...)
		ids[i] = t.ID
		if t.UniqueKey != "" {
			keys = append(keys, t.UniqueKey)
		}
	}
	idList, err := json.Marshal(ids)
	if err != nil {
		return nil, fmt.Errorf("rqlitekv: insert tasks: %w", err)
	}
	keyList, err := json.Marshal(keys)
	if err != nil {
		return nil, fmt.Errorf("rqlitekv: insert tasks: %w", err)
	}
	q.add(roleOther, -1, sqlTasksInserted, string(idList), string(keyList))
	res, failed, err := db.request(ctx, "insert tasks", q.stmts)
	if failed >= 0 {
		// Statement i < len(ts) inserts ts[i].
		if failed < len(ts) && !partlyApplied(res, failed) && strings.Contains(res[failed].Err.Error(), "UNIQUE constraint failed: tasks.id") {
			return nil, fmt.Errorf("rqlitekv: insert tasks: %w: task id %q already exists", kvcore.ErrInvalidArgument, ts[failed].ID)
		}
		return nil, db.statementError("insert tasks", &q, res, failed)
	}
	if err != nil {
		return nil, err
	}
	got, err := scanRows("insert tasks", res[len(ts)].Query, taskFields, scanTask)
	if err != nil {
		return nil, err
	}
	byID := make(map[string]taskdriver.Task, len(got))
	holders := map[string]taskdriver.Task{}
	for _, t := range got {
		byID[t.ID] = t
		if t.UniqueKey != "" && (t.Status == taskdriver.Pending || t.Status == taskdriver.Running) {
			holders[t.UniqueKey] = t
		}
	}
	out := make([]taskdriver.Inserted, len(ts))
	for i, t := range ts {
		added := res[i].Write != nil && res[i].Write.RowsAffected == 1
		stored, ok := byID[t.ID]
		if !added {
			stored, ok = holders[t.UniqueKey]
		}
		if !ok {
			return nil, fmt.Errorf("rqlitekv: insert task %q: neither the task nor the holder of its key is there after the insert", t.ID)
		}
		out[i] = taskdriver.Inserted{Task: stored, Added: added}
	}
	if slices.ContainsFunc(out, func(in taskdriver.Inserted) bool { return in.Added }) {
		db.taskNotify.Signal()
	}
	return out, nil
}

// Get returns the task with id and whether it exists.
func (db *DB) Get(ctx context.Context, id string) (taskdriver.Task, bool, error) {
	if err := db.usable(ctx); err != nil {
		return taskdriver.Task{}, false, err
	}
	qr, err := db.queryOne(ctx, "get task", gorqlite.ParameterizedStatement{Query: sqlTaskGet, Arguments: []any{txt(id)}})
	if err != nil {
		return taskdriver.Task{}, false, err
	}
	return scanOne("get task", qr, taskFields, scanTask)
}

// List returns the tasks f selects, ordered by created then id.
func (db *DB) List(ctx context.Context, f taskdriver.Filter) ([]taskdriver.Task, error) {
	if err := db.usable(ctx); err != nil {
		return nil, err
	}
	if f.Offset < 0 || f.Limit < 0 {
		return nil, fmt.Errorf("rqlitekv: list tasks: offset %d and limit %d must not be negative: %w", f.Offset, f.Limit, kvcore.ErrInvalidArgument)
	}
	var where []string
	var args []any
	if f.Status != "" {
		where = append(where, "status = "+textArg)
		args = append(args, txt(string(f.Status)))
	}
	if f.Name != "" {
		where = append(where, "name = "+textArg)
		args = append(args, txt(f.Name))
	}
	sql := "SELECT " + taskCols + " FROM tasks"
	if len(where) > 0 {
		sql += " WHERE " + strings.Join(where, " AND ")
	}
	sql += " ORDER BY created, id LIMIT ? OFFSET ?"
	args = append(args, sqlitedialect.LimitArg(f.Limit), f.Offset)
	qr, err := db.queryOne(ctx, "list tasks", gorqlite.ParameterizedStatement{Query: sql, Arguments: args})
	if err != nil {
		return nil, err
	}
	ts, err := scanRows("list tasks", qr, taskFields, scanTask)
	if err != nil {
		return nil, err
	}
	return ts, nil
}

// Claim takes up to c.Limit claimable tasks for c.Runner in one statement
// (an UPDATE of the rows a subquery picks, RETURNING them), so overlapping
// claims, serialised by rqlite, never share a task.
func (db *DB) Claim(ctx context.Context, c taskdriver.Claim) ([]taskdriver.Task, error) {
	if err := db.usable(ctx); err != nil {
		return nil, err
	}
	var q batch
	stmt, args := claimStatement(c)
	q.add(roleOther, -1, stmt, args...)
	res, err := db.send(ctx, "claim tasks", &q)
	if err != nil {
		return nil, err
	}
	ts, err := scanRows("claim tasks", res[0].Query, taskFields, scanTask)
	if err != nil {
		return nil, err
	}
	// RETURNING gives the rows in no promised order.
	sort.Slice(ts, func(i, j int) bool {
		a, b := ts[i], ts[j]
		if a.Priority != b.Priority {
			return a.Priority > b.Priority
		}
		if !a.ScheduledFor.Equal(b.ScheduledFor) {
			return a.ScheduledFor.Before(b.ScheduledFor)
		}
		return a.ID < b.ID
	})
	return ts, nil
}

// Heartbeat extends the lease runner holds with token: one request, the
// fenced update then the fenced read of the cancellation flag (no row:
// ErrLost).
func (db *DB) Heartbeat(ctx context.Context, id, runner string, token int64, now time.Time, lease time.Duration) (bool, error) {
	if err := db.usable(ctx); err != nil {
		return false, err
	}
	if lease <= 0 {
		return false, fmt.Errorf("rqlitekv: heartbeat: lease %v must be positive: %w", lease, kvcore.ErrInvalidArgument)
	}
	var q batch
	q.add(roleOther, -1, sqlHeartbeat, now.Add(lease).UnixMicro(), txt(id), txt(runner), token)
	q.add(roleOther, -1, sqlHeartbeatCheck, txt(id), txt(runner), token)
	res, err := db.send(ctx, "heartbeat", &q)
	if err != nil {
		return false, err
	}
	c, ok, err := scanOne("heartbeat", res[1].Query, 1, firstInt)
	if err != nil {
		return false, err
	}
	if !ok {
		return false, fmt.Errorf("rqlitekv: heartbeat %q: %w", id, taskdriver.ErrLost)
	}
	return c != 0, nil
}

// FinishMany records the outcomes of many attempts in one request, so in
// one transaction (see kvtask/driver.Queue): one fenced statement
// per item, and an item whose statement matched nothing is ErrLost.
func (db *DB) FinishMany(ctx context.Context, cs []taskdriver.Completion, now time.Time) ([]error, error) {
	if err := taskdriver.CheckCompletions(cs); err != nil {
		return nil, fmt.Errorf("rqlitekv: finish: %w", err)
	}
	for _, c := range cs {
		for _, f := range []struct{ what, s string }{{"task id", c.ID}, {"runner", c.Runner}} {
			if err := checkText(f.what, f.s); err != nil {
				return nil, err
			}
		}
	}
	if len(cs) == 0 {
		return nil, nil
	}
	if err := db.usable(ctx); err != nil {
		return nil, err
	}
	var q batch
	for _, c := range cs {
		o := c.Outcome
		var completed any
		retry, retryAt, giveBack := false, int64(0), 0
		if o.Status == taskdriver.Pending {
			retry = true
			at := o.RetryAt
			if at.IsZero() {
				at = now
			}
			retryAt = at.UnixMicro()
			if o.GiveBack {
				giveBack = 1
			}
		} else {
			completed = now.UnixMicro()
		}
		q.add(roleRows, -1, sqlFinish, string(o.Status), txt(cleanError(o.LastError)), completed, retry, retryAt, giveBack,
			txt(c.ID), txt(c.Runner), c.Token)
	}
	res, err := db.send(ctx, "finish tasks", &q)
	if err != nil {
		return nil, err
	}
	var done []string
	retried := false
	for i, c := range cs {
		if w := res[i].Write; w != nil && w.RowsAffected == 1 {
			done = append(done, c.ID)
			retried = retried || c.Outcome.Status == taskdriver.Pending
		}
	}
	if retried {
		db.taskNotify.Signal()
	}
	return taskdriver.Lost(cs, done), nil
}

// Cancel cancels a pending task, flags a running one and leaves a terminal
// one: one request, the update then the read of the task.
func (db *DB) Cancel(ctx context.Context, id string, now time.Time) (taskdriver.Task, bool, error) {
	if err := db.usable(ctx); err != nil {
		return taskdriver.Task{}, false, err
	}
	var q batch
	q.add(roleOther, -1, sqlCancel, now.UnixMicro(), txt(id))
	q.add(roleOther, -1, sqlTaskGet, txt(id))
	res, err := db.send(ctx, "cancel task", &q)
	if err != nil {
		return taskdriver.Task{}, false, err
	}
	return scanOne("cancel task", res[1].Query, taskFields, scanTask)
}

// template is a schedule's task as stored, a JSON document in the
// schedules table.
type template struct {
	ID           string          `json:"id"`
	Name         string          `json:"name"`
	Payload      json.RawMessage `json:"payload"`
	Priority     int             `json:"priority"`
	UniqueKey    string          `json:"unique_key,omitempty"`
	Created      int64           `json:"created"`
	ScheduledFor int64           `json:"scheduled_for"`
	MaxRetries   int             `json:"max_retries"`
	AtMostOnce   bool            `json:"at_most_once,omitempty"`
	TimeoutUS    int64           `json:"timeout_us"`
}

// PutSchedule creates or replaces a schedule: one statement.
func (db *DB) PutSchedule(ctx context.Context, s taskdriver.Schedule) error {
	if err := db.usable(ctx); err != nil {
		return err
	}
	if s.Name == "" {
		return fmt.Errorf("rqlitekv: put schedule: empty name: %w", kvcore.ErrInvalidArgument)
	}
	for _, f := range []struct{ what, s string }{{"schedule name", s.Name}, {"schedule spec", s.Spec}} {
		if err := checkText(f.what, f.s); err != nil {
			return err
		}
	}
	t := s.Template
	if _, err := taskArgs(taskdriver.Task{ID: "template", Name: t.Name, Payload: t.Payload, UniqueKey: t.UniqueKey}); err != nil {
		return err
	}
	payload := t.Payload
	if len(payload) == 0 {
		payload = []byte("null")
	}
	if !json.Valid(payload) {
		return fmt.Errorf("rqlitekv: put schedule: the template's payload is not JSON: %w", kvcore.ErrInvalidValue)
	}
	doc, err := json.Marshal(template{
		ID: t.ID, Name: t.Name, Payload: payload, Priority: t.Priority, UniqueKey: t.UniqueKey,
		Created: micros0(t.Created), ScheduledFor: micros0(t.ScheduledFor), MaxRetries: t.MaxRetries, AtMostOnce: t.AtMostOnce,
		TimeoutUS: t.Timeout.Microseconds(),
	})
	if err != nil {
		return fmt.Errorf("rqlitekv: put schedule: %w", err)
	}
	var q batch
	q.add(roleOther, -1, sqlPutSchedule, txt(s.Name), txt(s.Spec), txt(string(doc)), s.Next.UnixMicro())
	_, err = db.send(ctx, "put schedule", &q)
	return err
}

// micros0 is a time as Unix microseconds, 0 for the zero time.
func micros0(t time.Time) int64 {
	if t.IsZero() {
		return 0
	}
	return t.UnixMicro()
}

// timeOf is the time of Unix microseconds, the zero time for 0.
func timeOf(us int64) time.Time {
	if us == 0 {
		return time.Time{}
	}
	return time.UnixMicro(us).UTC()
}

// DeleteSchedule deletes a schedule and reports whether it existed.
func (db *DB) DeleteSchedule(ctx context.Context, name string) (bool, error) {
	if err := db.usable(ctx); err != nil {
		return false, err
	}
	var q batch
	q.add(roleRows, -1, sqlDeleteSchedule, txt(name))
	res, err := db.send(ctx, "delete schedule", &q)
	if err != nil {
		return false, err
	}
	return res[0].Write != nil && res[0].Write.RowsAffected > 0, nil
}

// Schedules returns every schedule, ordered by name (byte order).
func (db *DB) Schedules(ctx context.Context) ([]taskdriver.Schedule, error) {
	if err := db.usable(ctx); err != nil {
		return nil, err
	}
	qr, err := db.queryOne(ctx, "schedules", gorqlite.ParameterizedStatement{Query: sqlSchedules})
	if err != nil {
		return nil, err
	}
	return scanRows("schedules", qr, 4, scanSchedule)
}

// scanSchedule reads a row of sqlSchedules.
func scanSchedule(row []any) (taskdriver.Schedule, error) {
	var s taskdriver.Schedule
	var ok bool
	if s.Name, ok = row[0].(string); !ok {
		return s, fmt.Errorf("schedule name: unexpected %T", row[0])
	}
	if s.Spec, ok = row[1].(string); !ok {
		return s, fmt.Errorf("schedule %q: spec: unexpected %T", s.Name, row[1])
	}
	doc, ok := row[2].(string)
	if !ok {
		return s, fmt.Errorf("schedule %q: template: unexpected %T", s.Name, row[2])
	}
	var t template
	if err := json.Unmarshal([]byte(doc), &t); err != nil {
		return s, fmt.Errorf("schedule %q: template: %w", s.Name, err)
	}
	s.Template = taskdriver.Task{
		ID: t.ID, Name: t.Name, Payload: []byte(t.Payload), Status: taskdriver.Pending, Priority: t.Priority,
		UniqueKey: t.UniqueKey, Created: timeOf(t.Created), ScheduledFor: timeOf(t.ScheduledFor),
		MaxRetries: t.MaxRetries, AtMostOnce: t.AtMostOnce, Timeout: time.Duration(t.TimeoutUS) * time.Microsecond,
	}
	next, err := intCol(row, 3)
	if err != nil {
		return s, fmt.Errorf("schedule %q: next: %w", s.Name, err)
	}
	s.Next = time.UnixMicro(next).UTC()
	return s, nil
}

// Fire inserts t and moves schedule name from tick to next, if it is at
// tick: one request, one transaction (see sqlFireInsert).
func (db *DB) Fire(ctx context.Context, name string, tick, next time.Time, t taskdriver.Task) (bool, error) {
	if err := db.usable(ctx); err != nil {
		return false, err
	}
	args, err := taskArgs(t)
	if err != nil {
		return false, err
	}
	var q batch
	q.add(roleOther, -1, sqlFireInsert, append(args, txt(name), tick.UnixMicro())...)
	q.add(roleRows, -1, sqlFireMove, next.UnixMicro(), txt(name), tick.UnixMicro())
	res, err := db.send(ctx, "fire schedule", &q)
	if err != nil {
		return false, err
	}
	fired := res[1].Write != nil && res[1].Write.RowsAffected == 1
	if fired {
		db.taskNotify.Signal()
	}
	return fired, nil
}

// taskFields is the number of taskCols.
const taskFields = 20

// scanTask reads one row of taskCols.
func scanTask(row []any) (taskdriver.Task, error) {
	var t taskdriver.Task
	str := func(i int, what string, null bool) (string, error) {
		if row[i] == nil && null {
			return "", nil
		}
		s, ok := row[i].(string)
		if !ok {
			return "", fmt.Errorf("task %q: %s: unexpected %T", t.ID, what, row[i])
		}
		return s, nil
	}
	num := func(i int, what string) (int64, error) {
		if row[i] == nil {
			return 0, nil
		}
		n, err := intCol(row, i)
		if err != nil {
			return 0, fmt.Errorf("task %q: %s: %w", t.ID, what, err)
		}
		return n, nil
	}
	var errs []error
	s := func(i int, what string, null bool) string {
		v, err := str(i, what, null)
		errs = append(errs, err)
		return v
	}
	n := func(i int, what string) int64 {
		v, err := num(i, what)
		errs = append(errs, err)
		return v
	}
	t.ID = s(0, "id", false)
	t.Name = s(1, "name", false)
	t.Payload = []byte(s(2, "payload", false))
	t.Status = taskdriver.Status(s(3, "status", false))
	t.Priority = int(n(4, "priority"))
	t.UniqueKey = s(5, "unique key", true)
	t.Created = timeOf(n(6, "created"))
	t.ScheduledFor = timeOf(n(7, "scheduled for"))
	t.Started = timeOf(n(8, "started"))
	t.Completed = timeOf(n(9, "completed"))
	t.Attempts = int(n(10, "attempts"))
	t.MaxRetries = int(n(11, "max retries"))
	t.Timeout = time.Duration(n(12, "timeout")) * time.Microsecond
	t.LastError = s(13, "last error", true)
	t.LockedBy = s(14, "locked by", true)
	t.LockedUntil = timeOf(n(15, "locked until"))
	t.Token = n(16, "token")
	t.CancelRequested = n(17, "cancel requested") != 0
	t.Lost = int(n(18, "lost"))
	t.AtMostOnce = n(19, "at most once") != 0
	if err := errors.Join(errs...); err != nil {
		return t, err
	}
	return t, nil
}
