package sqlitekv

import (
	"context"
	"fmt"
	"path/filepath"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	sqlite "modernc.org/sqlite"

	taskdriver "github.com/kvsuite/kv/kvtask/driver"
)

// BenchmarkTask measures the queue on a file database (synchronous=FULL):
// InsertMany of one task from 16 goroutines, InsertMany of batches of
// insertBatch tasks from one goroutine, then Claim (one task) + FinishMany
// (one outcome) from 8 runners over a backlog of b.N tasks.
//
//	go test -run '^$' -bench Task -benchtime 5000x
func BenchmarkTask(b *testing.B) {
	ctx := context.Background()
	db, _ := openBench(b, filepath.Join(b.TempDir(), "kv.db"))
	defer db.Close()
	now := time.Date(2030, 1, 1, 0, 0, 0, 0, time.UTC)
	payload := []byte(benchValue)
	var ids atomic.Int64
	newTask := func() taskdriver.Task {
		return taskdriver.Task{ID: fmt.Sprintf("t%09d", ids.Add(1)), Name: "job", Payload: payload,
			Status: taskdriver.Pending, Created: now, ScheduledFor: now, MaxRetries: 3}
	}
	insert := func(int) error {
		_, err := db.InsertMany(ctx, []taskdriver.Task{newTask()})
		return err
	}
	b.Run("Insert", func(b *testing.B) {
		runParallel(b, 16, insert)
	})
	b.Run("InsertMany", func(b *testing.B) {
		const insertBatch = 500
		for done := 0; done < b.N; done += insertBatch {
			ts := make([]taskdriver.Task, min(insertBatch, b.N-done))
			for i := range ts {
				ts[i] = newTask()
			}
			if _, err := db.InsertMany(ctx, ts); err != nil {
				b.Fatal(err)
			}
		}
		b.ReportMetric(float64(b.N)/b.Elapsed().Seconds(), "tasks/s")
	})
	b.Run("ClaimFinish", func(b *testing.B) {
		// A backlog of exactly b.N claimable tasks.
		if _, err := db.wdb.Exec("DELETE FROM tasks"); err != nil {
			b.Fatal(err)
		}
		for i := range b.N {
			if err := insert(i); err != nil {
				b.Fatal(err)
			}
		}
		runParallel(b, 8, func(i int) error {
			runner := fmt.Sprintf("r%d", i%8)
			ts, err := db.Claim(ctx, taskdriver.Claim{Runner: runner, Now: now, Lease: time.Hour, Limit: 1})
			if err != nil {
				return err
			}
			if len(ts) != 1 {
				return fmt.Errorf("claimed %d tasks", len(ts))
			}
			return taskdriver.FinishOne(ctx, db, ts[0].ID, runner, ts[0].Token, taskdriver.Outcome{Status: taskdriver.Completed}, now)
		})
	})
}

// claimWalkSQL is Claim's statement before the loose index scan, with
// claimSQL's parameters: the pending candidates were a walk of
// tasks_pending in claim order that reads every pending task scheduled
// later than now when fewer than the limit are due. It is kept as the
// baseline of BenchmarkClaimIdle and TestClaimIdleWork.
func claimWalkSQL(n int) string {
	names := claimNames(n)
	return `WITH picked AS (SELECT id FROM (SELECT * FROM (SELECT id, priority, scheduled_for FROM tasks INDEXED BY tasks_pending
	WHERE status = 'pending' AND scheduled_for <= ?1` + names + ` ORDER BY priority DESC, scheduled_for, id LIMIT ?2)
UNION ALL SELECT * FROM (SELECT id, priority, scheduled_for FROM tasks INDEXED BY tasks_running
	WHERE status = 'running' AND locked_until <= ?1` + names + ` ORDER BY priority DESC, scheduled_for, id LIMIT ?2))
ORDER BY priority DESC, scheduled_for, id LIMIT ?2)
UPDATE tasks SET status = 'running', locked_by = ?3, locked_until = ?4, started = ?1,
attempts = attempts + 1, token = token + 1
WHERE id IN (SELECT id FROM picked) RETURNING ` + taskColumns
}

// claimNames is claimWalkSQL's name filter for n names (0: none), on the
// parameters numbered from ?5.
func claimNames(n int) string {
	if n == 0 {
		return ""
	}
	ps := make([]string, n)
	for i := range ps {
		ps[i] = fmt.Sprintf("?%d", i+5)
	}
	return " AND name IN (" + strings.Join(ps, ", ") + ")"
}

// seedNotDue stores tasks numbered from first to first+n-1 that no claim at
// now may take: every 20th is running with its lease ending an hour after
// now, the others are pending and scheduled an hour after now. Their
// priorities cycle through 0 to priorities-1 and their names through
// "job", "other" and "report".
func seedNotDue(tb testing.TB, db *DB, now time.Time, first, n, priorities int) {
	tb.Helper()
	later := now.Add(time.Hour).UnixMicro()
	_, err := db.wdb.Exec(`WITH RECURSIVE s (i) AS (SELECT ?1 UNION ALL SELECT i + 1 FROM s WHERE i < ?1 + ?2 - 1)
INSERT INTO tasks (`+taskColumns+`) SELECT printf('t%09d', i), CASE i % 3 WHEN 0 THEN 'job' WHEN 1 THEN 'other' ELSE 'report' END,
	'null', CASE WHEN i % 20 = 0 THEN 'running' ELSE 'pending' END, i % ?3, NULL, ?4, ?5, NULL, NULL, 0, 3, 0, '',
	CASE WHEN i % 20 = 0 THEN 'r' ELSE '' END, CASE WHEN i % 20 = 0 THEN ?5 END, 0, 0, 0, 0 FROM s`,
		first, n, priorities, now.UnixMicro(), later)
	if err != nil {
		tb.Fatal(err)
	}
}

// claimWith runs Claim's statement q for c on the writer, as Claim does,
// and returns the number of tasks it took.
func claimWith(ctx context.Context, db *DB, q string, c taskdriver.Claim) (int, error) {
	var n int
	err := db.submit(ctx, func(w *wtx) error {
		rows, err := w.tx.QueryContext(w.ctx, q, claimArgs(c)...)
		if err != nil {
			return err
		}
		ts, err := scanTasks(rows)
		n = len(ts)
		return err
	})
	return n, err
}

// pagesRead returns the database pages the writer connection has fetched
// so far (hits and misses of its page cache).
func pagesRead(tb testing.TB, db *DB) int {
	tb.Helper()
	var n int
	err := db.submit(context.Background(), func(w *wtx) error {
		return w.conn.Raw(func(dc any) error {
			c, ok := dc.(*conn)
			if !ok {
				return fmt.Errorf("writer connection is a %T", dc)
			}
			st, ok := c.sqliteConn.(sqlite.DBStatus)
			if !ok {
				return fmt.Errorf("driver connection %T has no status counters", c.sqliteConn)
			}
			for _, op := range []sqlite.DBStatusOp{sqlite.DBStatusCacheHit, sqlite.DBStatusCacheMiss} {
				v, _, err := st.Status(op, false)
				if err != nil {
					return err
				}
				n += v
			}
			return nil
		})
	})
	if err != nil {
		tb.Fatal(err)
	}
	return n
}

// BenchmarkClaimIdle measures a claim that finds nothing due on a file
// database holding 50,000 tasks that are not due (pending tasks scheduled
// an hour later, a twentieth running with leases not expired): "walk" is
// the previous statement (claimWalkSQL, the baseline), "claim" is Claim.
// With 4 priorities Claim probes each priority's due range; with 1,000 (as
// many priorities as 50 tasks each) its probes cost more than the walk,
// the case the loose index scan does not serve. pages/op is the database
// pages read per claim. The database has no ANALYZE statistics, as the
// driver leaves it (with them SQLite may serve the walk by a skip-scan).
//
//	go test -run '^$' -bench ClaimIdle
func BenchmarkClaimIdle(b *testing.B) {
	ctx := context.Background()
	now := time.Date(2030, 1, 1, 0, 0, 0, 0, time.UTC)
	for _, prios := range []int{4, 1000} {
		b.Run(fmt.Sprintf("priorities=%d", prios), func(b *testing.B) {
			db, _ := openBench(b, filepath.Join(b.TempDir(), "kv.db"))
			defer db.Close()
			seedNotDue(b, db, now, 1, 50000, prios)
			c := taskdriver.Claim{Runner: "r", Now: now, Lease: time.Minute, Limit: 10}
			for _, sql := range []struct{ name, q string }{{"walk", claimWalkSQL(0)}, {"claim", claimSQL(0)}} {
				b.Run(sql.name, func(b *testing.B) {
					p0 := pagesRead(b, db)
					b.ResetTimer()
					for range b.N {
						if n, err := claimWith(ctx, db, sql.q, c); err != nil || n != 0 {
							b.Fatalf("claimed %d: %v", n, err)
						}
					}
					b.StopTimer()
					b.ReportMetric(float64(pagesRead(b, db)-p0)/float64(b.N), "pages/op")
				})
			}
		})
	}
}
