package sqlitekv

import (
	"context"
	"fmt"
	"path/filepath"
	"sync/atomic"
	"testing"
	"time"

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
