package postgreskv

import (
	"context"
	"errors"
	"fmt"
	"strings"
	"time"

	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgconn"

	"github.com/kvsuite/kv/kvcore"
	taskdriver "github.com/kvsuite/kv/kvtask/driver"
)

// The task queue (kvtask) lives in kv_tasks and kv_schedules (migration 3).
// Every operation is one statement: InsertMany's dedupe is the partial
// unique index on unique_key (pending or running) used as the ON CONFLICT
// arbiter;
// Claim locks its candidates with FOR UPDATE SKIP LOCKED in CTEs (over the
// partial indexes of migration 5) and updates them in the same statement; Heartbeat is an update fenced by
// (id, runner, token, running), and FinishMany one update of many tasks,
// each fenced so; Fire updates the
// schedule and inserts the task from the update's RETURNING, so a tick
// that another runner fired inserts nothing. Times are the front's, never
// now().

var (
	_ taskdriver.Queue    = (*DB)(nil)
	_ taskdriver.Notifier = (*DB)(nil)
)

// taskColumnList are the columns scanTask reads, in order.
var taskColumnList = []string{"id", "name", "payload", "status", "priority", "unique_key", "created",
	"scheduled_for", "started", "completed", "attempts", "max_retries", "timeout_us", "last_error",
	"locked_by", "locked_until", "token", "cancel_requested", "lost", "at_most_once"}

// taskColumns is taskColumnList as SQL.
var taskColumns = strings.Join(taskColumnList, ", ")

// qualified returns taskColumns each prefixed with alias and a dot.
func qualified(alias string) string {
	return alias + "." + strings.Join(taskColumnList, ", "+alias+".")
}

// taskRow holds the scanned columns of a task row.
type taskRow struct {
	t                                  taskdriver.Task
	status                             string
	unique                             *string
	started, completed, lockedUntil    *time.Time
	priority, attempts, maxRetries, us int64
	lost                               int64
}

// dest returns the scan destinations of taskColumns.
func (r *taskRow) dest() []any {
	return []any{&r.t.ID, &r.t.Name, &r.t.Payload, &r.status, &r.priority, &r.unique, &r.t.Created,
		&r.t.ScheduledFor, &r.started, &r.completed, &r.attempts, &r.maxRetries, &r.us, &r.t.LastError,
		&r.t.LockedBy, &r.lockedUntil, &r.t.Token, &r.t.CancelRequested, &r.lost, &r.t.AtMostOnce}
}

// task returns the scanned task.
func (r *taskRow) task() taskdriver.Task {
	t := r.t
	t.Status = taskdriver.Status(r.status)
	t.Priority, t.Attempts, t.MaxRetries, t.Lost = int(r.priority), int(r.attempts), int(r.maxRetries), int(r.lost)
	t.Timeout = time.Duration(r.us) * time.Microsecond
	if r.unique != nil {
		t.UniqueKey = *r.unique
	}
	t.Created, t.ScheduledFor = t.Created.UTC(), t.ScheduledFor.UTC()
	t.Started, t.Completed, t.LockedUntil = optTime(r.started), optTime(r.completed), optTime(r.lockedUntil)
	return t
}

// scanTask reads a row of taskColumns.
func scanTask(row pgx.CollectableRow) (taskdriver.Task, error) {
	var r taskRow
	err := row.Scan(r.dest()...)
	return r.task(), err
}

// optTime is a nullable time in UTC, the zero time for NULL.
func optTime(t *time.Time) time.Time {
	if t == nil {
		return time.Time{}
	}
	return t.UTC()
}

// optText is the value stored for an optional text: NULL for "".
func optText(s string) any {
	if s == "" {
		return nil
	}
	return s
}

// cleanText makes s storable as text: PostgreSQL text holds neither NUL
// nor invalid UTF-8, and an error message may contain both.
func cleanText(s string) string {
	return strings.ToValidUTF8(strings.ReplaceAll(s, "\x00", "\uFFFD"), "\uFFFD")
}

// taskNotice returns an expression counting the rows of from (which yields
// at most a few rows): the caller, once the write has committed, marks the
// queue's notification pending if it is not 0 (notifier.go sends it outside
// the write's transaction). It is "0" without task notifications.
func (db *DB) taskNotice(from string) string {
	if !db.taskNotify {
		return "0::bigint"
	}
	return `(SELECT count(*) FROM ` + from + `)`
}

// noticeTasks marks the queue's notification pending if a committed write
// counted by taskNotice made a task claimable.
func (db *DB) noticeTasks(notified int64) {
	if notified > 0 {
		db.notifyCommitted(notifyTasks)
	}
}

// newTaskDefaults returns the payload, created and scheduled times t is
// stored with as a new task: a nil payload is JSON null, and a zero
// ScheduledFor is the created time.
func newTaskDefaults(t taskdriver.Task) (payload []byte, created, sched time.Time) {
	payload = t.Payload
	if payload == nil {
		payload = []byte("null")
	}
	created, sched = utc(t.Created), utc(t.ScheduledFor)
	if t.ScheduledFor.IsZero() {
		sched = created
	}
	return payload, created, sched
}

// newTaskExprs are the SQL expressions of the columns of a new task that
// come from the task itself (unique is "" for none).
type newTaskExprs struct {
	id, name, payload, priority, unique, created, sched, maxRetries, timeoutUS, atMostOnce string
}

// row returns the select list of a new, pending task's row in taskColumns
// order: e's expressions, and every other column as a new task has it.
func (e newTaskExprs) row() string {
	return strings.Join([]string{
		e.id, e.name, e.payload, "'pending'", e.priority, "NULLIF(" + e.unique + ", '')",
		e.created, e.sched, "NULL", "NULL", "0", e.maxRetries, e.timeoutUS,
		"''", "''", "NULL", "0", "false", "0", e.atMostOnce,
	}, ", ")
}

// newTaskValues returns the typed expressions of t's row as a new,
// pending task in taskColumns order.
func newTaskValues(t taskdriver.Task, a *args) string {
	payload, created, sched := newTaskDefaults(t)
	return newTaskExprs{
		id: a.add(t.ID) + "::text", name: a.add(t.Name) + "::text", payload: a.add(payload) + "::bytea",
		priority: a.add(int64(t.Priority)) + "::bigint", unique: a.add(t.UniqueKey) + "::text",
		created: a.add(created) + "::timestamptz", sched: a.add(sched) + "::timestamptz",
		maxRetries: a.add(int64(t.MaxRetries)) + "::bigint", timeoutUS: a.add(t.Timeout.Microseconds()) + "::bigint",
		atMostOnce: a.add(t.AtMostOnce) + "::boolean",
	}.row()
}

// onUniqueConflict is the arbiter clause of an insert of a new task.
const onUniqueConflict = `ON CONFLICT (unique_key) WHERE status IN ('pending', 'running') DO NOTHING`

// taskError maps an error of a task write.
func (db *DB) taskError(err error) error {
	var pe *pgconn.PgError
	if errors.As(err, &pe) && pe.Code == "23505" && strings.HasSuffix(pe.ConstraintName, "_pkey") {
		return fmt.Errorf("%w: a task with that id exists (%s)", kvcore.ErrInvalidArgument, pe.Detail)
	}
	return db.mapError(err)
}

// InsertMany stores ts as new pending tasks in one statement: the tasks
// are passed as arrays, inserted with the unique-key arbiter, and each
// row of the answer is a task inserted or the holder of the key that kept
// it out (see kvtask/driver.Queue). Rows are inserted in unique-key order,
// so that batches sharing keys wait for each other in one order, never in
// a cycle (a deadlock). A failed insert (an existing ID) fails the
// statement, which stores nothing. A holder committed while the statement
// ran is not in its snapshot: a task it kept out would then be neither
// inserted nor held, so the statement fails (kv_fail 'again', storing
// nothing) and is run again, with a new snapshot. (The check is the
// preserved side of a left join, so it runs even if no row does.) Inserted
// tasks send the queue's notification at commit.
func (db *DB) InsertMany(ctx context.Context, ts []taskdriver.Task) ([]taskdriver.Inserted, error) {
	if len(ts) == 0 {
		return []taskdriver.Inserted{}, nil
	}
	if err := db.check(); err != nil {
		return nil, err
	}
	sql, a := db.insertSQL(ts)
	for attempt := 0; ; attempt++ {
		out := make([]taskdriver.Inserted, len(ts))
		var notified int64
		rows, err := db.pool.Query(ctx, sql, a...)
		if err == nil {
			_, err = pgx.CollectRows(rows, func(row pgx.CollectableRow) (struct{}, error) {
				var r taskRow
				var ord, n int64
				var added bool
				if err := row.Scan(append(r.dest(), &ord, &added, &n)...); err != nil {
					return struct{}{}, err
				}
				if ord < 0 || ord >= int64(len(ts)) {
					return struct{}{}, fmt.Errorf("postgreskv: insert tasks: row for task %d of %d", ord, len(ts))
				}
				out[ord] = taskdriver.Inserted{Task: r.task(), Added: added}
				notified += n
				return struct{}{}, nil
			})
		}
		var pe *pgconn.PgError
		if errors.As(err, &pe) && pe.Code == codeAgain && attempt < 20 || retryAgain(ctx, err, attempt+1) {
			continue
		}
		if err != nil {
			return nil, db.taskError(err)
		}
		db.noticeTasks(notified)
		return out, nil
	}
}

// insertSQL returns InsertMany's statement for ts, and its arguments. Each
// row it returns is a task's columns, its index in ts, whether it was
// inserted, and (on one row at most being needed) the count for
// taskNotice.
func (db *DB) insertSQL(ts []taskdriver.Task) (string, args) {
	n := len(ts)
	ords, priorities, maxRetries, timeouts := make([]int64, n), make([]int64, n), make([]int64, n), make([]int64, n)
	ids, names, keys := make([]string, n), make([]string, n), make([]string, n)
	atMostOnce := make([]bool, n)
	payloads := make([][]byte, n)
	created, scheduled := make([]time.Time, n), make([]time.Time, n)
	for i, t := range ts {
		ords[i], ids[i], names[i], keys[i] = int64(i), t.ID, t.Name, t.UniqueKey
		payloads[i], created[i], scheduled[i] = newTaskDefaults(t)
		priorities[i], maxRetries[i], timeouts[i] = int64(t.Priority), int64(t.MaxRetries), t.Timeout.Microseconds()
		atMostOnce[i] = t.AtMostOnce
	}
	var a args
	v := `unnest(` + a.add(ords) + `::bigint[], ` + a.add(ids) + `::text[], ` + a.add(names) + `::text[], ` +
		a.add(payloads) + `::bytea[], ` + a.add(priorities) + `::bigint[], ` + a.add(keys) + `::text[], ` +
		a.add(created) + `::timestamptz[], ` + a.add(scheduled) + `::timestamptz[], ` + a.add(maxRetries) + `::bigint[], ` +
		a.add(timeouts) + `::bigint[], ` + a.add(atMostOnce) + `::boolean[]) AS v(ord, id, name, payload, priority, unique_key, created, scheduled_for, max_retries, timeout_us, at_most_once)`
	sql := `WITH v AS MATERIALIZED (SELECT * FROM ` + v + `),
ins AS (INSERT INTO ` + db.tasks + ` (` + taskColumns + `)
	SELECT ` + newTaskExprs{id: "id", name: "name", payload: "payload", priority: "priority", unique: "unique_key",
		created: "created", sched: "scheduled_for", maxRetries: "max_retries", timeoutUS: "timeout_us", atMostOnce: "at_most_once"}.row() + `
	FROM v ORDER BY unique_key, id
	` + onUniqueConflict + ` RETURNING ` + taskColumns + `),
res AS (SELECT ` + qualified("ins") + `, v.ord, true AS added, ` + db.taskNotice("ins") + ` AS notice FROM ins JOIN v ON v.id = ins.id
UNION ALL
SELECT ` + qualified("t") + `, v.ord, false, 0::bigint FROM ` + db.tasks + ` t JOIN v ON t.unique_key = v.unique_key
	WHERE t.status IN ('pending', 'running') AND NOT EXISTS (SELECT 1 FROM ins WHERE ins.id = v.id))
SELECT res.* FROM (SELECT CASE WHEN (SELECT count(*) FROM res) = ` + a.add(int64(n)) + ` THEN 0
	ELSE ` + db.fail + `('again', -1) END AS ok) c LEFT JOIN res ON c.ok = 0`
	return sql, a
}

// Get returns the task with id and whether it exists.
func (db *DB) Get(ctx context.Context, id string) (taskdriver.Task, bool, error) {
	if err := db.check(); err != nil {
		return taskdriver.Task{}, false, err
	}
	return queryOne(ctx, db, scanTask, "SELECT "+taskColumns+" FROM "+db.tasks+" WHERE id = $1", id)
}

// List returns the tasks f selects, ordered by created then id.
func (db *DB) List(ctx context.Context, f taskdriver.Filter) ([]taskdriver.Task, error) {
	if err := db.check(); err != nil {
		return nil, err
	}
	if f.Offset < 0 || f.Limit < 0 {
		return nil, fmt.Errorf("%w: offset %d and limit %d must not be negative", kvcore.ErrInvalidArgument, f.Offset, f.Limit)
	}
	var a args
	var conds []string
	if f.Status != "" {
		conds = append(conds, "status = "+a.add(string(f.Status)))
	}
	if f.Name != "" {
		conds = append(conds, "name = "+a.add(f.Name))
	}
	sql := "SELECT " + taskColumns + " FROM " + db.tasks
	if len(conds) > 0 {
		sql += " WHERE " + strings.Join(conds, " AND ")
	}
	sql += " ORDER BY created, id"
	if f.Limit > 0 {
		sql += " LIMIT " + a.add(int64(f.Limit))
	}
	if f.Offset > 0 {
		sql += " OFFSET " + a.add(int64(f.Offset))
	}
	return queryRows(ctx, db, scanTask, sql, a...)
}

// Claim takes up to c.Limit claimable tasks for c.Runner in one statement
// (see claimSQL): the candidates are locked FOR UPDATE SKIP LOCKED (so
// concurrent claims pass over each other's rows instead of waiting, and a
// row another claim changed since this statement's snapshot is checked
// again in its new version before it is locked) and then updated.
func (db *DB) Claim(ctx context.Context, c taskdriver.Claim) ([]taskdriver.Task, error) {
	if err := db.check(); err != nil {
		return nil, err
	}
	sql, a := db.claimSQL(c)
	var claimed []taskdriver.Task
	err := retryTx(ctx, func() (err error) {
		claimed, err = queryRows(ctx, db, scanTask, sql, a...)
		return err
	})
	return claimed, err
}

// claimSQL returns Claim's statement and its arguments. Its cost does not
// grow with the tasks that are not due: a pending task is claimable from
// scheduled_for on, so the pending index (priority DESC, scheduled_for,
// id) holds the due tasks of each priority at the front of that priority's
// range, but those ranges are spread among tasks scheduled later. So:
//
//   - p lists the distinct priorities of the pending tasks, highest first,
//     one index probe each (a loose index scan, as a recursive CTE, which
//     PostgreSQL runs only as far as its reader asks);
//   - w takes, for each priority of p in turn, its due tasks in claim order
//     (an index seek to the front of the priority's range that stops at
//     its first task not due), locking each FOR UPDATE SKIP LOCKED as it
//     goes, and stops at c.Limit: the nested loop of the LATERAL join
//     yields p's order and each seek's order, which is claim order. An
//     idle claim so costs a few probes per priority, a busy one the probes
//     of the priorities it takes from. With names, each name of a priority
//     has a seek of its own in the pending index by name (name, priority
//     DESC, scheduled_for, id), up to c.Limit tasks each, merged in claim
//     order, so a backlog of other names' due tasks costs nothing (before,
//     the seek read them all and filtered them out); the tasks a name's
//     seek locked beyond the merge's c.Limit stay as they were;
//   - r locks up to c.Limit running tasks whose lease expired, in claim
//     order, found by a range scan of the running index on locked_until;
//   - c keeps the first c.Limit of both in claim order. Only when r locked
//     any may rows locked stay unclaimed (they are left as they were);
//   - u claims them, and counts a lost attempt for each task it takes over
//     from an expired lease (its SET expressions read the row as it was:
//     status 'running').
//
// Each lock re-checks its row's condition in the row's newest version, so
// no task goes to two claims, and a row a concurrent claim holds is skipped
// for the next one, so a claim still gets c.Limit tasks if so many are
// claimable and not taken.
//
// The plan must not depend on the values: the time, the limit and the
// names reach the conditions through scalar subqueries, which the planner
// does not look into, so PostgreSQL runs the prepared statement on its
// generic plan instead of planning it again for each call (a custom plan
// looked cheaper to it, and planning cost more than running: 0.3 ms an
// idle claim). Not knowing the limit, the planner guesses a tenth of the
// table; so u finds its rows by id through an array, which it cannot turn
// into a join that hashes the whole table. (A limit written into the
// statement would make one prepared statement per limit, and a runner
// claims as many as it has free slots.)
func (db *DB) claimSQL(c taskdriver.Claim) (string, args) {
	var a args
	nowArg := a.add(utc(c.Now))
	now := "(SELECT " + nowArg + "::timestamptz)"
	limit := "(SELECT " + a.add(int64(c.Limit)) + "::bigint)"
	names, due := "", `SELECT priority, scheduled_for, id FROM `+db.tasks+`
	WHERE status = 'pending' AND priority = p.priority AND scheduled_for <= `+now+`
	ORDER BY scheduled_for, id LIMIT `+limit+` FOR UPDATE SKIP LOCKED`
	if len(c.Names) > 0 {
		list := a.add(c.DistinctNames()) // each name sought once
		names = " AND name = ANY((SELECT " + list + "::text[])::text[])"
		due = `SELECT k.* FROM unnest((SELECT ` + list + `::text[])) n (name) CROSS JOIN LATERAL (
	SELECT priority, scheduled_for, id FROM ` + db.tasks + `
	WHERE status = 'pending' AND name = n.name AND priority = p.priority AND scheduled_for <= ` + now + `
	ORDER BY scheduled_for, id LIMIT ` + limit + ` FOR UPDATE SKIP LOCKED) k
	ORDER BY scheduled_for, id LIMIT ` + limit
	}
	sql := `WITH RECURSIVE p (priority) AS (
	(SELECT priority FROM ` + db.tasks + ` WHERE status = 'pending' ORDER BY priority DESC LIMIT 1)
	UNION ALL
	SELECT (SELECT t.priority FROM ` + db.tasks + ` t WHERE t.status = 'pending' AND t.priority < p.priority
		ORDER BY t.priority DESC LIMIT 1) FROM p WHERE p.priority IS NOT NULL),
w AS MATERIALIZED (SELECT d.* FROM p CROSS JOIN LATERAL (` + due + `) d LIMIT ` + limit + `),
r AS MATERIALIZED (SELECT priority, scheduled_for, id FROM ` + db.tasks + `
	WHERE status = 'running' AND locked_until <= ` + now + names + `
	ORDER BY priority DESC, scheduled_for, id LIMIT ` + limit + ` FOR UPDATE SKIP LOCKED),
c AS MATERIALIZED (SELECT id FROM (SELECT * FROM w UNION ALL SELECT * FROM r) k
	ORDER BY priority DESC, scheduled_for, id LIMIT ` + limit + `),
u AS (UPDATE ` + db.tasks + ` t SET status = 'running', locked_by = ` + a.add(c.Runner) + `,
	locked_until = ` + a.add(utc(c.Now.Add(c.Lease))) + `, started = ` + nowArg + `,
	attempts = t.attempts + 1, token = t.token + 1, lost = t.lost + CASE WHEN t.status = 'running' THEN 1 ELSE 0 END
	WHERE t.id = ANY(ARRAY(SELECT id FROM c)) RETURNING ` + qualified("t") + `)
SELECT ` + taskColumns + ` FROM u ORDER BY priority DESC, scheduled_for, id`
	return sql, a
}

// Heartbeat extends the lease runner holds on task id with token to
// now+lease and reports whether cancellation was requested; ErrLost if it
// does not hold it.
func (db *DB) Heartbeat(ctx context.Context, id, runner string, token int64, now time.Time, lease time.Duration) (bool, error) {
	if err := db.check(); err != nil {
		return false, err
	}
	var cancel bool
	err := retryTx(ctx, func() error {
		return db.pool.QueryRow(ctx, `UPDATE `+db.tasks+` SET locked_until = $4
WHERE id = $1 AND locked_by = $2 AND token = $3 AND status = 'running' RETURNING cancel_requested`,
			id, runner, token, utc(now.Add(lease))).Scan(&cancel)
	})
	if errors.Is(err, pgx.ErrNoRows) {
		return false, taskdriver.ErrLost
	}
	if err != nil {
		return false, db.mapError(err)
	}
	return cancel, nil
}

// FinishMany records the outcomes of many attempts in one statement (see
// kvtask/driver.Queue): the completions are passed as arrays and
// joined to their tasks under each one's fence (id, runner, token,
// running); the matching rows are locked in id order (so two calls that
// share tasks - a stalled runner's and the new holder's - cannot deadlock)
// and then updated; the ids updated are returned and every other item is
// ErrLost. A retry (pending again) sends the queue's notification at commit.
func (db *DB) FinishMany(ctx context.Context, cs []taskdriver.Completion, now time.Time) ([]error, error) {
	if err := db.check(); err != nil {
		return nil, err
	}
	if err := taskdriver.CheckCompletions(cs); err != nil {
		return nil, err
	}
	if len(cs) == 0 {
		return nil, nil
	}
	n := len(cs)
	ids, runners, statuses, lastErrors := make([]string, n), make([]string, n), make([]string, n), make([]string, n)
	tokens, retryAt, giveBack := make([]int64, n), make([]time.Time, n), make([]bool, n)
	retries := false
	for i, c := range cs {
		ids[i], runners[i], tokens[i] = c.ID, c.Runner, c.Token
		statuses[i], lastErrors[i], giveBack[i] = string(c.Outcome.Status), cleanText(c.Outcome.LastError), c.Outcome.GiveBack
		retryAt[i] = utc(now)
		if c.Outcome.Status == taskdriver.Pending {
			retries = true
			if !c.Outcome.RetryAt.IsZero() {
				retryAt[i] = utc(c.Outcome.RetryAt)
			}
		}
	}
	var a args
	v := `unnest(` + a.add(ids) + `::text[], ` + a.add(runners) + `::text[], ` + a.add(tokens) + `::bigint[], ` +
		a.add(statuses) + `::text[], ` + a.add(lastErrors) + `::text[], ` + a.add(retryAt) + `::timestamptz[], ` +
		a.add(giveBack) + `::boolean[]) AS v(id, runner, token, status, last_error, retry_at, give_back)`
	sql := `WITH l AS MATERIALIZED (SELECT t.id, v.runner, v.token, v.status, v.last_error, v.retry_at, v.give_back
	FROM ` + db.tasks + ` t JOIN ` + v + ` ON t.id = v.id
	WHERE t.locked_by = v.runner AND t.token = v.token AND t.status = 'running' ORDER BY t.id FOR UPDATE OF t),
u AS (UPDATE ` + db.tasks + ` t SET status = l.status, last_error = l.last_error, locked_by = '', locked_until = NULL,
	completed = CASE WHEN l.status = 'pending' THEN t.completed ELSE ` + a.add(utc(now)) + `::timestamptz END,
	scheduled_for = CASE WHEN l.status = 'pending' THEN l.retry_at ELSE t.scheduled_for END,
	attempts = CASE WHEN l.give_back THEN greatest(t.attempts - 1, 0) ELSE t.attempts END
	FROM l WHERE t.id = l.id AND t.locked_by = l.runner AND t.token = l.token AND t.status = 'running'
	RETURNING t.id, l.status)
SELECT id, `
	if retries {
		sql += db.taskNotice("(SELECT 1 FROM u WHERE status = 'pending' LIMIT 1) p") + ` FROM u`
	} else {
		sql += `0::bigint FROM u`
	}
	var notified int64
	var done []string
	err := retryTx(ctx, func() (err error) {
		notified = 0
		done, err = queryRows(ctx, db, func(row pgx.CollectableRow) (string, error) {
			var id string
			var n int64
			err := row.Scan(&id, &n)
			notified += n
			return id, err
		}, sql, a...)
		return err
	})
	if err != nil {
		return nil, err
	}
	db.noticeTasks(notified)
	return taskdriver.Lost(cs, done), nil
}

// Cancel cancels a pending task, marks a running one CancelRequested, and
// leaves a terminal one as it is, returning the task as it then stands.
// It is one update that matches the task whatever its status (a terminal
// task is rewritten unchanged), so it reads the row under its row lock.
func (db *DB) Cancel(ctx context.Context, id string, now time.Time) (taskdriver.Task, bool, error) {
	if err := db.check(); err != nil {
		return taskdriver.Task{}, false, err
	}
	var t taskdriver.Task
	var found bool
	err := retryTx(ctx, func() (err error) {
		t, found, err = queryOne(ctx, db, scanTask, `UPDATE `+db.tasks+` SET
	status = CASE WHEN status = 'pending' THEN 'cancelled' ELSE status END,
	completed = CASE WHEN status = 'pending' THEN $2 ELSE completed END,
	cancel_requested = cancel_requested OR status = 'running'
WHERE id = $1 RETURNING `+taskColumns, id, utc(now))
		return err
	})
	return t, found, err
}

// scheduleColumns are the columns scanSchedule reads.
const scheduleColumns = "name, spec, next, task_name, payload, priority, unique_key, max_retries, timeout_us, at_most_once"

// scanSchedule reads a row of scheduleColumns.
func scanSchedule(row pgx.CollectableRow) (taskdriver.Schedule, error) {
	var s taskdriver.Schedule
	var unique *string
	var priority, maxRetries, timeoutUS int64
	err := row.Scan(&s.Name, &s.Spec, &s.Next, &s.Template.Name, &s.Template.Payload, &priority, &unique, &maxRetries, &timeoutUS,
		&s.Template.AtMostOnce)
	s.Next = s.Next.UTC()
	s.Template.Priority, s.Template.MaxRetries = int(priority), int(maxRetries)
	s.Template.Timeout = time.Duration(timeoutUS) * time.Microsecond
	if unique != nil {
		s.Template.UniqueKey = *unique
	}
	return s, err
}

// PutSchedule creates or replaces a schedule. Of its template it keeps
// Name, Payload, Priority, UniqueKey, MaxRetries, AtMostOnce and Timeout.
func (db *DB) PutSchedule(ctx context.Context, s taskdriver.Schedule) error {
	if err := db.check(); err != nil {
		return err
	}
	payload := s.Template.Payload
	if payload == nil {
		payload = []byte("null")
	}
	_, err := db.exec(ctx, `INSERT INTO `+db.schedules+` (`+scheduleColumns+`)
VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10)
ON CONFLICT (name) DO UPDATE SET spec = EXCLUDED.spec, next = EXCLUDED.next, task_name = EXCLUDED.task_name,
	payload = EXCLUDED.payload, priority = EXCLUDED.priority, unique_key = EXCLUDED.unique_key,
	max_retries = EXCLUDED.max_retries, timeout_us = EXCLUDED.timeout_us, at_most_once = EXCLUDED.at_most_once`,
		s.Name, s.Spec, utc(s.Next), s.Template.Name, payload, int64(s.Template.Priority),
		optText(s.Template.UniqueKey), int64(s.Template.MaxRetries), s.Template.Timeout.Microseconds(), s.Template.AtMostOnce)
	return db.mapError(err)
}

// DeleteSchedule deletes a schedule and reports whether it existed.
func (db *DB) DeleteSchedule(ctx context.Context, name string) (bool, error) {
	if err := db.check(); err != nil {
		return false, err
	}
	tag, err := db.exec(ctx, "DELETE FROM "+db.schedules+" WHERE name = $1", name)
	if err != nil {
		return false, err
	}
	return tag.RowsAffected() == 1, nil
}

// Schedules returns every schedule, ordered by name (byte order).
func (db *DB) Schedules(ctx context.Context) ([]taskdriver.Schedule, error) {
	if err := db.check(); err != nil {
		return nil, err
	}
	return queryRows(ctx, db, scanSchedule, "SELECT "+scheduleColumns+" FROM "+db.schedules+" ORDER BY name")
}

// Fire, in one statement, moves schedule name from tick to next if its
// next tick is exactly tick, and only then inserts t (as InsertMany does: not
// if a pending or running task holds its unique key). A concurrent Fire of
// the same tick waits for the schedule's row lock, finds next changed and
// matches nothing, so it inserts nothing. An inserted task sends the
// queue's notification at commit.
func (db *DB) Fire(ctx context.Context, name string, tick, next time.Time, t taskdriver.Task) (bool, error) {
	if err := db.check(); err != nil {
		return false, err
	}
	var a args
	sql := `WITH s AS (UPDATE ` + db.schedules + ` SET next = ` + a.add(utc(next)) + `
	WHERE name = ` + a.add(name) + ` AND next = ` + a.add(utc(tick)) + ` RETURNING 1),
ins AS (INSERT INTO ` + db.tasks + ` (` + taskColumns + `) SELECT ` + newTaskValues(t, &a) + ` FROM s
	` + onUniqueConflict + ` RETURNING 1)
SELECT (SELECT count(*) FROM s), ` + db.taskNotice("ins")
	var fired, notified int64
	err := retryTx(ctx, func() error { return db.pool.QueryRow(ctx, sql, a...).Scan(&fired, &notified) })
	if err != nil {
		return false, db.taskError(err)
	}
	db.noticeTasks(notified)
	return fired == 1, nil
}
