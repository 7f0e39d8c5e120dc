package sqlitedialect

import "strings"

// Claim is the statement that takes up to limit claimable tasks, in
// claim order, for a runner, and returns the columns returning lists: one
// statement for n distinct names (0: any). Its parameters are numbered,
// as ClaimArgs gives them: ?1 now, ?2 the limit, ?3 the runner, ?4 the new
// locked_until, then the names from ?5 on. INDEXED BY keeps every step on
// the partial indexes tasks_pending (priority DESC, scheduled_for, id),
// tasks_pending_name (name, priority DESC, scheduled_for, id) and
// tasks_running (locked_until): without statistics SQLite would rather use
// tasks_by_status.
//
// Its cost does not grow with the pending tasks that are not due, nor with
// the due tasks of names it does not ask for. Each priority's due tasks are
// at the front of its range in tasks_pending, but the ranges are spread
// among the tasks scheduled later, so a walk of the index in claim order
// with scheduled_for <= now reads every pending task when few are due.
// Instead:
//
//   - levels walks the distinct priorities of the pending tasks, highest
//     first, one index probe each (max(priority) below the last one, a
//     loose index scan as a recursive CTE). Without names it counts at each
//     the priority's due tasks (a seek of priority = p AND scheduled_for <=
//     now in the index alone, at most limit of them) and stops once it has
//     counted limit; with names it lists every priority;
//   - the pending candidates are the due tasks of those priorities: SQLite
//     seeks (priority=? AND scheduled_for<?) per priority of the list,
//     highest first, so the rows come in claim order without a sort and
//     the scan stops after limit. With names it does so for each name in
//     tasks_pending_name, (name=? AND priority=? AND scheduled_for<?), up to
//     limit each: a name's seeks never read another name's tasks;
//   - the expired leases are a range scan of tasks_running (sorted, but
//     only the expired ones), filtered by name;
//   - picked keeps the first limit of all of them in claim order;
//   - the UPDATE counts a lost attempt for each task it takes over from an
//     expired lease (its SET expressions read the row as it was: status
//     'running').
//
// An idle claim so costs a few probes per distinct pending priority (and
// name), more than a walk only with about as many priorities as pending
// tasks.
func (d Dialect) Claim(n int, returning string) string {
	const pending = "FROM tasks INDEXED BY tasks_pending WHERE status = 'pending'"
	const due = " AND priority IN (SELECT p FROM levels) AND scheduled_for <= ?1 ORDER BY priority DESC, scheduled_for, id LIMIT ?2)"
	todo := "todo - (SELECT count(*) FROM (SELECT 1 " + pending + " AND priority = p AND scheduled_for <= ?1 LIMIT ?2))"
	candidates := "SELECT * FROM (SELECT id, priority, scheduled_for " + pending + due
	names := ""
	if n > 0 {
		todo = "todo"
		parts := make([]string, n)
		ps := make([]string, n)
		for i := range parts {
			ps[i] = d.TextN(i + 5)
			parts[i] = "SELECT * FROM (SELECT id, priority, scheduled_for FROM tasks INDEXED BY tasks_pending_name " +
				"WHERE status = 'pending' AND name = " + ps[i] + due
		}
		candidates = strings.Join(parts, "\nUNION ALL ")
		names = " AND name IN (" + strings.Join(ps, ", ") + ")"
	}
	return `WITH RECURSIVE levels (p, todo) AS (
SELECT (SELECT max(priority) ` + pending + `), ?2
UNION ALL SELECT (SELECT max(priority) ` + pending + ` AND priority < p), ` + todo + `
FROM levels WHERE p IS NOT NULL AND todo > 0),
picked AS (SELECT id FROM (` + candidates + `
UNION ALL SELECT * FROM (SELECT id, priority, scheduled_for FROM tasks INDEXED BY tasks_running
	WHERE status = 'running' AND locked_until <= ?1` + names + ` ORDER BY priority DESC, scheduled_for, id LIMIT ?2))
ORDER BY priority DESC, scheduled_for, id LIMIT ?2)
UPDATE tasks SET status = 'running', locked_by = ` + d.TextN(3) + `, locked_until = ?4, started = ?1,
attempts = attempts + 1, token = token + 1, lost = lost + (status = 'running')
WHERE id IN (SELECT id FROM picked) RETURNING ` + returning
}

// ClaimArgs are Claim's parameters: now and until in Unix microseconds,
// names distinct (Claim seeks each once).
func (d Dialect) ClaimArgs(runner string, until, now int64, limit int, names []string) []any {
	args := make([]any, 0, 4+len(names))
	args = append(args, now, limit, d.Arg(runner), until)
	for _, n := range names {
		args = append(args, d.Arg(n))
	}
	return args
}

// PlanStep is one row of EXPLAIN QUERY PLAN.
type PlanStep struct {
	ID, Parent int
	Detail     string
}

// PlanText is a plan's details, one step a line.
func PlanText(steps []PlanStep) string {
	lines := make([]string, len(steps))
	for i, s := range steps {
		lines[i] = s.Detail
	}
	return strings.Join(lines, "\n")
}

// CheckClaimPlan returns what is wrong with the plan of Claim for names
// distinct names ("" if nothing): it must seek each pending priority's due
// range in tasks_pending, or with names each name's in tasks_pending_name,
// once per name (after a probe for the next lower priority), and the
// expired leases' range in tasks_running, scan no index or table whole and
// sort no pending task.
func CheckClaimPlan(steps []PlanStep, names int) string {
	plan := PlanText(steps)
	has := func(s string) bool { return strings.Contains(plan, s) }
	switch {
	case names == 0 && !has("INDEX tasks_pending (priority=? AND scheduled_for<?)"):
		return "no seek of a priority's due range in tasks_pending:\n" + plan
	case names > 0 && strings.Count(plan, "INDEX tasks_pending_name (name=? AND priority=? AND scheduled_for<?)") != names:
		return "not one seek per name of a priority's due range in tasks_pending_name:\n" + plan
	case !has("INDEX tasks_pending (priority<?)"):
		return "no probe for the next lower pending priority:\n" + plan
	case !has("INDEX tasks_running (locked_until<?)"):
		return "no range scan of tasks_running:\n" + plan
	case has("tasks_by_status") || has("tasks_claim") || has("ANY(priority)"):
		return "not the planned indexes or seeks:\n" + plan
	}
	for _, s := range steps {
		if strings.HasPrefix(s.Detail, "SCAN tasks") {
			return "a full scan (" + s.Detail + "):\n" + plan
		}
	}
	// A seek in tasks_pending yields rows in claim order: no sort beside it.
	for _, s := range steps {
		if !strings.Contains(s.Detail, "tasks_pending") {
			continue
		}
		for _, sib := range steps {
			if sib.Parent == s.Parent && strings.Contains(sib.Detail, "TEMP B-TREE") {
				return "pending tasks sorted (" + sib.Detail + "):\n" + plan
			}
		}
	}
	return ""
}
