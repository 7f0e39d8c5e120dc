package rqlitekv

import (
	"context"
	"database/sql"
	"fmt"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/rqlite/gorqlite"
	"github.com/stretchr/testify/require"
	"modernc.org/sqlite"

	taskdriver "github.com/kvsuite/kv/kvtask/driver"
	"github.com/kvsuite/kv/sqlitedialect"
)

// sqlClaimWalk is Claim's statement before the loose index scan, over the
// indexes of migration 4 (its parameters are walkArgs'): the pending
// candidates were a walk of tasks_pending in claim order that reads every
// pending task scheduled later than now when fewer than the limit are due.
// It is kept as the baseline of BenchmarkClaimIdle and TestClaimIdleWork.
func sqlClaimWalk(withNames bool) string {
	names := ""
	if withNames {
		names = " AND name IN (SELECT value FROM json_each(?))"
	}
	return "UPDATE tasks SET status = 'running', locked_by = " + textArg + ", locked_until = ?, started = ?, " +
		"attempts = attempts + 1, token = token + 1 WHERE id IN (SELECT id FROM (" +
		"SELECT * FROM (SELECT id, priority, scheduled_for FROM tasks INDEXED BY tasks_pending WHERE status = 'pending'" +
		" AND scheduled_for <= ?" + names + " ORDER BY priority DESC, scheduled_for, id LIMIT ?) " +
		"UNION ALL SELECT * FROM (SELECT id, priority, scheduled_for FROM tasks INDEXED BY tasks_running " +
		"WHERE status = 'running' AND locked_until <= ?" + names + " ORDER BY priority DESC, scheduled_for, id LIMIT ?)) " +
		"ORDER BY priority DESC, scheduled_for, id LIMIT ?) RETURNING " + taskCols
}

// walkArgs are sqlClaimWalk's parameters, in the order of its
// placeholders (names is the JSON array of names, or "" for none).
func walkArgs(runner string, until, now int64, limit int, names string) []any {
	a := []any{txt(runner), until, now}
	for range 2 {
		a = append(a, now)
		if names != "" {
			a = append(a, names)
		}
		a = append(a, limit)
	}
	return append(a, limit)
}

// seedNotDue is a statement that stores tasks that no claim at now may
// take (see seedArgs): every 20th is running with its lease ending an
// hour after now, the others are pending and scheduled then. Their
// priorities cycle through 0 to priorities-1 and their names through
// "job", "other" and "report".
const seedNotDue = `WITH RECURSIVE s (i) AS (SELECT ? UNION ALL SELECT i + 1 FROM s WHERE i < ?)
INSERT INTO tasks (id, name, payload, status, priority, created, scheduled_for, attempts, max_retries, timeout,
	last_error, locked_by, locked_until, token, cancel_requested)
SELECT printf('t%09d', i), CASE i % 3 WHEN 0 THEN 'job' WHEN 1 THEN 'other' ELSE 'report' END, 'null',
	CASE WHEN i % 20 = 0 THEN 'running' ELSE 'pending' END, i % ?, ?, ?, 0, 3, 0, '',
	CASE WHEN i % 20 = 0 THEN 'r' ELSE '' END, CASE WHEN i % 20 = 0 THEN ? END, 0, 0 FROM s`

// seedArgs are seedNotDue's parameters: tasks numbered first to
// first+n-1, due an hour after now.
func seedArgs(now time.Time, first, n, priorities int) []any {
	later := now.Add(time.Hour).UnixMicro()
	return []any{first, first + n - 1, priorities, now.UnixMicro(), later, later}
}

// seed runs seedNotDue on db's server.
func seed(tb testing.TB, db *DB, now time.Time, first, n, priorities int) {
	tb.Helper()
	_, err := db.conn.WriteOneParameterizedContext(context.Background(), gorqlite.ParameterizedStatement{
		Query: seedNotDue, Arguments: seedArgs(now, first, n, priorities)})
	if err != nil {
		tb.Fatal(err)
	}
}

// claimStmt returns the statement and parameters of a claim, Claim's
// (claimStatement) or (walk) sqlClaimWalk.
func claimStmt(c taskdriver.Claim, walk bool) (string, []any) {
	if !walk {
		return claimStatement(c)
	}
	names := ""
	if len(c.Names) > 0 {
		names = `["` + strings.Join(c.Names, `","`) + `"]`
	}
	return sqlClaimWalk(names != ""), walkArgs(c.Runner, c.Now.Add(c.Lease).UnixMicro(), c.Now.UnixMicro(), c.Limit, names)
}

// claimWith runs a claim's statement on db's server as Claim does and
// returns the number of tasks it took.
func claimWith(ctx context.Context, db *DB, c taskdriver.Claim, walk bool) (int, error) {
	q, a := claimStmt(c, walk)
	var b batch
	b.add(roleOther, -1, q, a...)
	res, err := db.send(ctx, "claim tasks", &b)
	if err != nil {
		return 0, err
	}
	ts, err := scanRows("claim tasks", res[0].Query, taskFields, scanTask)
	return len(ts), err
}

// planStep is one line of SQLite's EXPLAIN QUERY PLAN.
type planStep struct {
	id, parent int
	detail     string
}

// claimPlan returns the plan of a claim's statement on db's server.
func claimPlan(t *testing.T, db *DB, c taskdriver.Claim, walk bool) []planStep {
	t.Helper()
	q, a := claimStmt(c, walk)
	res, err := db.conn.QueryParameterizedContext(context.Background(), []gorqlite.ParameterizedStatement{{
		Query: "EXPLAIN QUERY PLAN " + q, Arguments: a,
	}})
	require.NoError(t, err)
	var steps []planStep
	for res[0].Next() {
		row, err := res[0].Slice()
		require.NoError(t, err)
		require.Len(t, row, 4)
		id, err := strconv.Atoi(fmt.Sprint(row[0]))
		require.NoError(t, err)
		parent, err := strconv.Atoi(fmt.Sprint(row[1]))
		require.NoError(t, err)
		steps = append(steps, planStep{id, parent, fmt.Sprint(row[3])})
	}
	return steps
}

// checkClaimPlan returns what is wrong with the plan of Claim for names
// distinct names ("" if nothing; see sqlitedialect.CheckClaimPlan).
func checkClaimPlan(steps []planStep, names int) string {
	ps := make([]sqlitedialect.PlanStep, len(steps))
	for i, s := range steps {
		ps[i] = sqlitedialect.PlanStep{ID: s.id, Parent: s.parent, Detail: s.detail}
	}
	return sqlitedialect.CheckClaimPlan(ps, names)
}

// TestClaimUsesIndex: SQLite plans Claim as seeks of each pending
// priority's due range in tasks_pending, or with names of each distinct
// name's in tasks_pending_name, and of the expired leases in tasks_running
// (no full scan, no sort of pending tasks), with or without names, with or
// without ANALYZE statistics; the previous statement's plan (a walk of
// tasks_pending) does not pass.
func TestClaimUsesIndex(t *testing.T) {
	db := openEmpty(t)
	now := t0
	seed(t, db, now, 1, 2000, 4)
	for _, analyzed := range []bool{false, true} {
		if analyzed {
			_, err := db.conn.WriteOneContext(context.Background(), "ANALYZE")
			require.NoError(t, err)
		}
		for _, tc := range []struct {
			names    []string
			distinct int
		}{{nil, 0}, {[]string{"job"}, 1}, {[]string{"job", "other"}, 2}, {[]string{"other", "job", "other"}, 2}} {
			c := taskdriver.Claim{Runner: "r", Now: now, Lease: time.Minute, Limit: 10, Names: tc.names}
			require.Empty(t, checkClaimPlan(claimPlan(t, db, c, false), tc.distinct), "names %v, analyzed %v", tc.names, analyzed)
			if !analyzed {
				require.NotEmpty(t, checkClaimPlan(claimPlan(t, db, c, true), tc.distinct), "the walk, names %v", tc.names)
			}
		}
	}
}

// localClaimDB returns a connection to a local in-memory SQLite database
// with this driver's schema (SQLite is what rqlite runs the statements on)
// and a function that returns the database pages the connection has read
// so far (its page cache counters, hits and misses).
func localClaimDB(t *testing.T) (*sql.Conn, func() int) {
	t.Helper()
	ctx := context.Background()
	ldb, err := sql.Open("sqlite", "file::memory:")
	require.NoError(t, err)
	t.Cleanup(func() { ldb.Close() })
	conn, err := ldb.Conn(ctx)
	require.NoError(t, err)
	t.Cleanup(func() { conn.Close() })
	for _, m := range migrations {
		for _, s := range m.stmts {
			_, err := conn.ExecContext(ctx, s)
			require.NoError(t, err, m.name)
		}
	}
	pages := func() int {
		var n int
		require.NoError(t, conn.Raw(func(dc any) error {
			st, ok := dc.(sqlite.DBStatus)
			if !ok {
				return fmt.Errorf("driver connection %T has no status counters", dc)
			}
			for _, op := range []sqlite.DBStatusOp{sqlite.DBStatusCacheHit, sqlite.DBStatusCacheMiss} {
				v, _, err := st.Status(op, false)
				if err != nil {
					return err
				}
				n += v
			}
			return nil
		}))
		return n
	}
	return conn, pages
}

// TestClaimIdleWork: the work of a claim that finds nothing due (the
// database pages SQLite reads, from its page cache counters, no timing)
// does not grow with the pending tasks scheduled later or with the running
// tasks whose lease has not expired, with or without names; the previous
// statement (sqlClaimWalk), measured alike, reads them all. The counters
// are a connection's, so this runs the statements on a local SQLite
// database with this driver's schema (SQLite is what rqlite runs them on).
func TestClaimIdleWork(t *testing.T) {
	t.Parallel() // it uses no shared server
	ctx := context.Background()
	conn, pages := localClaimDB(t)
	// work returns the pages one claim (or the walk) reads.
	work := func(c taskdriver.Claim, walk bool) int {
		q, a := claimStmt(c, walk)
		p0 := pages()
		rows, err := conn.QueryContext(ctx, q, a...)
		require.NoError(t, err)
		n := 0
		for rows.Next() {
			n++
		}
		require.NoError(t, rows.Err())
		require.NoError(t, rows.Close())
		require.Zero(t, n, "an idle claim took tasks")
		return pages() - p0
	}
	now := t0
	claims := []taskdriver.Claim{
		{Runner: "r", Now: now, Lease: time.Minute, Limit: 10},
		{Runner: "r", Now: now, Lease: time.Minute, Limit: 10, Names: []string{"job", "other"}},
	}
	_, err := conn.ExecContext(ctx, seedNotDue, seedArgs(now, 1, 40, 4)...)
	require.NoError(t, err)
	small := make([]int, len(claims))
	for i, c := range claims {
		small[i] = work(c, false)
	}
	_, err = conn.ExecContext(ctx, seedNotDue, seedArgs(now, 41, 40000, 4)...)
	require.NoError(t, err)
	for i, c := range claims {
		big, walk := work(c, false), work(c, true)
		t.Logf("idle claim, names %v: %d pages over 40 tasks, %d over 40,040; the walk: %d", c.Names, small[i], big, walk)
		// Deeper B-trees cost a few more pages per probe: about 3 probes
		// per priority and the running range, each a level or two deeper.
		require.LessOrEqual(t, big, small[i]+40, "names %v: pages over 40,040 tasks against 40", c.Names)
		require.GreaterOrEqual(t, walk, 5*big, "names %v: the walk no longer stands out", c.Names)
	}
}

// TestMigrateClaimIndexes: a database at schema version 3, with pending
// and running tasks, gets migration 4's indexes (tasks_claim dropped) and
// its tasks are claimed as before.
func TestMigrateClaimIndexes(t *testing.T) {
	ctx := context.Background()
	db, err := Open(serverURL(t), WithTimeout(time.Minute))
	require.NoError(t, err)
	defer db.Close()
	if serverKind != "rqlitetest" {
		dropAll(t, db)
	}
	for _, m := range migrations[:3] {
		require.NoError(t, db.migrate(ctx, m))
	}
	indexes := func() []string {
		qr, err := db.conn.QueryOneContext(ctx, "SELECT name FROM sqlite_master WHERE type = 'index' AND tbl_name = 'tasks' AND sql IS NOT NULL ORDER BY name")
		require.NoError(t, err)
		var out []string
		for qr.Next() {
			var s string
			require.NoError(t, qr.Scan(&s))
			out = append(out, s)
		}
		return out
	}
	require.Contains(t, indexes(), "tasks_claim")
	seed(t, db, t0, 1, 100, 3)
	// A due task, written as the schema of migration 3 holds it.
	_, err = db.conn.WriteOneParameterizedContext(ctx, gorqlite.ParameterizedStatement{Query: seedDue, Arguments: seedDueArgs(t0, 0, 1, "job")})
	require.NoError(t, err)

	require.NoError(t, db.Init(ctx))
	require.Equal(t, []string{"tasks_by_created", "tasks_by_status", "tasks_pending", "tasks_pending_name", "tasks_running", "tasks_unique"}, indexes())
	got, err := db.Claim(ctx, taskdriver.Claim{Runner: "r", Now: t0, Lease: time.Minute, Limit: 10})
	require.NoError(t, err)
	require.Len(t, got, 1)
	require.Equal(t, "t000000000", got[0].ID)
	got, err = db.Claim(ctx, taskdriver.Claim{Runner: "r", Now: t0.Add(time.Hour), Lease: time.Minute, Limit: 200})
	require.NoError(t, err)
	require.Equal(t, 101, len(got), "the seeded tasks, due an hour later, and the first, its lease expired")
}

// seedDue is a statement that stores pending tasks of one name, due (see
// seedDueArgs): scheduled from an hour before now, a microsecond apart,
// with priorities cycling through 0 to 3.
const seedDue = `WITH RECURSIVE s (i) AS (SELECT ? UNION ALL SELECT i + 1 FROM s WHERE i < ?)
INSERT INTO tasks (id, name, payload, status, priority, created, scheduled_for, attempts, max_retries, timeout,
	last_error, locked_by, token, cancel_requested)
SELECT printf('t%09d', i), ?, 'null', 'pending', i % 4, ?, ? + i, 0, 3, 0, '', '', 0, 0 FROM s`

// seedDueArgs are seedDue's parameters: tasks numbered first to
// first+n-1, of name.
func seedDueArgs(now time.Time, first, n int, name string) []any {
	due := now.Add(-time.Hour).UnixMicro()
	return []any{first, first + n - 1, name, due, due}
}

// TestClaimOtherNamesWork: the work of a claim with names (the database
// pages SQLite reads, as in TestClaimIdleWork) does not grow with the due
// tasks of other names. Before tasks_pending_name a runner's every claim
// (kvtask's Runner claims with its handlers' names) read them all: beside
// 40,040 due tasks of another name, 20,177 pages a claim (15 beside 40),
// against 89 now (16 beside 40).
func TestClaimOtherNamesWork(t *testing.T) {
	t.Parallel() // it uses no shared server
	ctx := context.Background()
	conn, pages := localClaimDB(t)
	now := t0
	// work returns the pages one claim of 5 "job" tasks reads (with a
	// duplicate name and a name no task has), and releases the tasks (they
	// are pending again, as they were).
	work := func() int {
		c := taskdriver.Claim{Runner: "r", Now: now, Lease: time.Minute, Limit: 5, Names: []string{"job", "job", "nothing"}}
		q, a := claimStmt(c, false)
		p0 := pages()
		rows, err := conn.QueryContext(ctx, q, a...)
		require.NoError(t, err)
		var names []string
		for rows.Next() {
			row := make([]any, taskFields)
			ptrs := make([]any, taskFields)
			for i := range row {
				ptrs[i] = &row[i]
			}
			require.NoError(t, rows.Scan(ptrs...))
			names = append(names, fmt.Sprint(row[1]))
		}
		require.NoError(t, rows.Err())
		require.NoError(t, rows.Close())
		n := pages() - p0
		require.Equal(t, []string{"job", "job", "job", "job", "job"}, names)
		_, err = conn.ExecContext(ctx, "UPDATE tasks SET status = 'pending', locked_by = '', locked_until = NULL, "+
			"started = NULL, attempts = 0 WHERE status = 'running'")
		require.NoError(t, err)
		return n
	}
	_, err := conn.ExecContext(ctx, seedDue, seedDueArgs(now, 1, 40, "other")...)
	require.NoError(t, err)
	_, err = conn.ExecContext(ctx, seedDue, seedDueArgs(now, 1000001, 20, "job")...)
	require.NoError(t, err)
	small := work()
	_, err = conn.ExecContext(ctx, seedDue, seedDueArgs(now, 41, 40000, "other")...)
	require.NoError(t, err)
	big := work()
	t.Logf("claim of 5 job tasks: %d pages beside 40 due tasks of another name, %d beside 40,040", small, big)
	// Deeper B-trees cost more pages per probe and per index entry the
	// claim moves (5 tasks, each leaving two indexes and entering two).
	require.LessOrEqual(t, big, small+200, "pages beside 40,040 due tasks of another name against 40")
}
