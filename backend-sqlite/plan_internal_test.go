package sqlitekv

import (
	"context"
	"strings"
	"testing"
	"time"

	taskdriver "github.com/kvsuite/kv/kvtask/driver"
	"github.com/kvsuite/kv/sqlitedialect"
)

// TestClaimPlan: Claim seeks each pending priority's due range in
// tasks_pending, or with names each name's in tasks_pending_name (after a
// loose index scan of the priorities), and the expired leases' range in
// tasks_running, walks no index or table whole and sorts no pending task,
// with or without names and with or without ANALYZE statistics; Insert's
// unique-key check is an index search.
func TestClaimPlan(t *testing.T) {
	db := openTest(t)
	now := time.Date(2030, 1, 1, 0, 0, 0, 0, time.UTC)
	seedNotDue(t, db, now, 1, 2000, 4)
	for _, analyzed := range []bool{false, true} {
		if analyzed {
			if _, err := db.wdb.Exec("ANALYZE"); err != nil {
				t.Fatal(err)
			}
		}
		for _, names := range [][]string{nil, {"job"}, {"job", "other"}} {
			c := taskdriver.Claim{Runner: "r", Now: now, Lease: time.Minute, Limit: 10, Names: names}
			if msg := checkClaimPlan(queryPlanSteps(t, db, claimSQL(len(names)), claimArgs(c)...), len(names)); msg != "" {
				t.Errorf("claim with %d names (analyzed %v): %s", len(names), analyzed, msg)
			}
		}
	}
	p := queryPlan(t, db, "SELECT "+taskColumns+" FROM tasks WHERE unique_key = ? AND status IN ('pending', 'running')", "k")
	if !strings.Contains(p, "USING INDEX tasks_unique (unique_key=?)") {
		t.Errorf("unique key lookup:\n%s", p)
	}
}

// TestClaimPlanOld: checkClaimPlan refuses the statement Claim had before
// the loose index scan (a walk of tasks_pending in claim order).
func TestClaimPlanOld(t *testing.T) {
	db := openTest(t)
	c := taskdriver.Claim{Runner: "r", Now: time.Now(), Lease: time.Minute, Limit: 10}
	if msg := checkClaimPlan(queryPlanSteps(t, db, claimWalkSQL(0), claimArgs(c)...), 0); msg == "" {
		t.Error("the walk's plan passes")
	}
}

// checkClaimPlan returns what is wrong with the plan of Claim for names
// names ("" if nothing; see sqlitedialect.CheckClaimPlan).
func checkClaimPlan(steps []planStep, names int) string {
	ps := make([]sqlitedialect.PlanStep, len(steps))
	for i, s := range steps {
		ps[i] = sqlitedialect.PlanStep{ID: s.id, Parent: s.parent, Detail: s.detail}
	}
	return sqlitedialect.CheckClaimPlan(ps, names)
}

// TestClaimIdleWork: the work of a claim that finds nothing due (the
// database pages the writer reads, from SQLite's page cache counters, no
// timing) does not grow with the pending tasks scheduled later or with the
// running tasks whose lease has not expired, with or without names; the
// previous statement (claimWalkSQL), measured alike, reads them all.
func TestClaimIdleWork(t *testing.T) {
	t.Parallel() // its own database file
	ctx := context.Background()
	db := openTest(t)
	now := time.Date(2030, 1, 1, 0, 0, 0, 0, time.UTC)
	claims := []taskdriver.Claim{
		{Runner: "r", Now: now, Lease: time.Minute, Limit: 10},
		{Runner: "r", Now: now, Lease: time.Minute, Limit: 10, Names: []string{"job", "other"}},
	}
	// work returns the pages one call of Claim (or of the walk) reads.
	work := func(c taskdriver.Claim, walk bool) int {
		p0 := pagesRead(t, db)
		var n int
		var err error
		if walk {
			n, err = claimWith(ctx, db, claimWalkSQL(len(c.Names)), c)
		} else {
			var ts []taskdriver.Task
			ts, err = db.Claim(ctx, c)
			n = len(ts)
		}
		if err != nil || n != 0 {
			t.Fatalf("idle claim took %d tasks: %v", n, err)
		}
		// The second pagesRead's own reads are the first's.
		return pagesRead(t, db) - p0
	}
	seedNotDue(t, db, now, 1, 40, 4)
	small := make([]int, len(claims))
	for i, c := range claims {
		small[i] = work(c, false)
	}
	seedNotDue(t, db, now, 41, 40000, 4)
	for i, c := range claims {
		big, walk := work(c, false), work(c, true)
		t.Logf("idle claim, names %v: %d pages over 40 tasks, %d over 40,040; the walk: %d", c.Names, small[i], big, walk)
		// Deeper B-trees cost a few more pages per probe: about 3 probes
		// per priority and the running range, each a level or two deeper.
		if big > small[i]+40 {
			t.Errorf("names %v: an idle claim reads %d pages over 40,040 tasks, %d over 40", c.Names, big, small[i])
		}
		if walk < 5*big {
			t.Errorf("names %v: the walk reads %d pages, Claim %d: the test no longer tells them apart", c.Names, walk, big)
		}
	}
}

// planStep is one line of SQLite's EXPLAIN QUERY PLAN.
type planStep struct {
	id, parent int
	detail     string
}

// queryPlanSteps returns SQLite's EXPLAIN QUERY PLAN for q on the writer
// connection.
func queryPlanSteps(t *testing.T, db *DB, q string, args ...any) []planStep {
	t.Helper()
	rows, err := db.wdb.Query("EXPLAIN QUERY PLAN "+q, args...)
	if err != nil {
		t.Fatalf("explain: %v", err)
	}
	defer rows.Close()
	var steps []planStep
	for rows.Next() {
		var s planStep
		var notused int
		if err := rows.Scan(&s.id, &s.parent, &notused, &s.detail); err != nil {
			t.Fatal(err)
		}
		steps = append(steps, s)
	}
	if err := rows.Err(); err != nil {
		t.Fatal(err)
	}
	return steps
}

// planText is steps' details, one a line.
func planText(steps []planStep) string {
	lines := make([]string, len(steps))
	for i, s := range steps {
		lines[i] = s.detail
	}
	return strings.Join(lines, "\n")
}

// queryPlan returns SQLite's EXPLAIN QUERY PLAN for q on the writer
// connection, one detail line per step.
func queryPlan(t *testing.T, db *DB, q string, args ...any) string {
	t.Helper()
	return planText(queryPlanSteps(t, db, q, args...))
}

// TestClaimOtherNamesWork: the work of a claim with names (the pages the
// writer reads) does not grow with the due tasks of other names: before
// tasks_pending_name a runner's every claim read them all (a backlog of
// 95,000 due tasks of another name: 200,824 pages and 75 ms a claim).
func TestClaimOtherNamesWork(t *testing.T) {
	t.Parallel() // its own database file
	ctx := context.Background()
	db := openTest(t)
	now := time.Date(2030, 1, 1, 0, 0, 0, 0, time.UTC)
	// seed adds n pending tasks of name, due since an hour before now,
	// with priorities 0 to 3.
	seed := func(first, n int, name string) {
		t.Helper()
		_, err := db.wdb.Exec(`WITH RECURSIVE s (i) AS (SELECT ?1 UNION ALL SELECT i + 1 FROM s WHERE i < ?1 + ?2 - 1)
INSERT INTO tasks (`+taskColumns+`) SELECT printf('t%09d', i), ?3, 'null', 'pending', i % 4, NULL, ?4, ?4 + i,
	NULL, NULL, 0, 3, 0, '', '', NULL, 0, 0, 0, 0 FROM s`, first, n, name, now.Add(-time.Hour).UnixMicro())
		if err != nil {
			t.Fatal(err)
		}
	}
	// work returns the pages one claim of 5 "job" tasks reads, and
	// releases them (they are pending again, as they were).
	work := func() int {
		p0 := pagesRead(t, db)
		ts, err := db.Claim(ctx, taskdriver.Claim{Runner: "r", Now: now, Lease: time.Minute, Limit: 5, Names: []string{"job", "job", "nothing"}})
		pages := pagesRead(t, db) - p0
		if err != nil || len(ts) != 5 {
			t.Fatalf("claimed %d tasks: %v", len(ts), err)
		}
		for _, task := range ts {
			if task.Name != "job" {
				t.Fatalf("claimed a %q task", task.Name)
			}
		}
		if _, err := db.wdb.Exec("UPDATE tasks SET status = 'pending', locked_by = '', locked_until = NULL WHERE status = 'running'"); err != nil {
			t.Fatal(err)
		}
		return pages
	}
	seed(1, 40, "other")
	seed(1000001, 20, "job")
	small := work()
	seed(41, 40000, "other")
	big := work()
	t.Logf("claim of 5 job tasks: %d pages beside 40 due tasks of another name, %d beside 40,040", small, big)
	// Deeper B-trees cost more pages per probe and per index entry the
	// claim moves (5 tasks, each leaving two indexes and entering two):
	// 90 against 17 here. Reading the other name's tasks cost 20,189.
	if big > small+200 {
		t.Errorf("a claim reads %d pages beside 40,040 due tasks of another name, %d beside 40", big, small)
	}
}
