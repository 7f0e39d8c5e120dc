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
// Insert from 16 goroutines, then Claim (one task) + Finish from 8 runners
// over a backlog of b.N tasks.
//
//	go test -run '^$' -bench Task -benchtime 5000x
func BenchmarkTask(b *testing.B) {
	ctx := context.Background()
	db, _ := openBench(b, filepath.Join(b.TempDir(), "kv.db"))
	defer db.Close()
	now := time.Date(2030, 1, 1, 0, 0, 0, 0, time.UTC)
	payload := []byte(benchValue)
	var ids atomic.Int64
	insert := func(int) error {
		_, _, err := db.Insert(ctx, taskdriver.Task{ID: fmt.Sprintf("t%09d", ids.Add(1)), Name: "job", Payload: payload,
			Status: taskdriver.Pending, Created: now, ScheduledFor: now, MaxRetries: 3})
		return err
	}
	b.Run("Insert", func(b *testing.B) {
		runParallel(b, 16, insert)
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
			return db.Finish(ctx, ts[0].ID, runner, ts[0].Token, taskdriver.Outcome{Status: taskdriver.Completed}, now)
		})
	})
}
