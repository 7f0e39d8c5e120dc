package sqlitekv

import (
	"context"
	"strings"
	"testing"
)

// TestClaimPlan: Claim walks the partial index of pending tasks in claim
// order (no sort of the pending tasks) and Insert's unique-key check is an
// index search.
func TestClaimPlan(t *testing.T) {
	db, err := OpenMemory()
	if err != nil {
		t.Fatal(err)
	}
	defer db.Close()
	if err := db.Init(context.Background()); err != nil {
		t.Fatal(err)
	}
	for n := range 3 {
		args := []any{1}
		for range n {
			args = append(args, "x")
		}
		args = append(args, 2, 1)
		for range n {
			args = append(args, "x")
		}
		args = append(args, 2, 2, "r", 3, 1)
		p := queryPlan(t, db, claimSQL(n), args...)
		if !strings.Contains(p, "INDEX tasks_pending\n") || !strings.Contains(p, "USING INDEX tasks_running (locked_until<?)") || strings.Contains(p, "tasks_by_status") {
			t.Errorf("claim with %d names:\n%s", n, p)
		}
	}
	p := queryPlan(t, db, "SELECT "+taskColumns+" FROM tasks WHERE unique_key = ? AND status IN ('pending', 'running')", "k")
	if !strings.Contains(p, "USING INDEX tasks_unique (unique_key=?)") {
		t.Errorf("unique key lookup:\n%s", p)
	}
}

// queryPlan returns SQLite's EXPLAIN QUERY PLAN for q on the writer
// connection, one detail line per step.
func queryPlan(t *testing.T, db *DB, q string, args ...any) string {
	t.Helper()
	rows, err := db.wdb.Query("EXPLAIN QUERY PLAN "+q, args...)
	if err != nil {
		t.Fatalf("explain: %v", err)
	}
	defer rows.Close()
	var lines []string
	for rows.Next() {
		var id, parent, notused int
		var detail string
		if err := rows.Scan(&id, &parent, &notused, &detail); err != nil {
			t.Fatal(err)
		}
		lines = append(lines, detail)
	}
	if err := rows.Err(); err != nil {
		t.Fatal(err)
	}
	return strings.Join(lines, "\n")
}
