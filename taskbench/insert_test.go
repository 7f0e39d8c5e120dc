package taskbench

import (
	"context"
	"fmt"
	"testing"
	"time"

	"github.com/riverqueue/river"
	"github.com/riverqueue/river/riverdriver/riverpgxv5"

	"github.com/kvsuite/kv/kvtask"
	taskdriver "github.com/kvsuite/kv/kvtask/driver"
)

// inserter inserts n tasks into an empty queue it sets up (untimed) and
// returns the time the insert took.
type inserter func(tb testing.TB, n int) (time.Duration, error)

// BenchmarkInsert inserts -taskbench.tasks tasks into an empty queue per
// iteration: River with one InsertMany call (which returns the jobs, as
// EnqueueMany returns the tasks) and one InsertManyFast call (COPY, no
// jobs returned), then each kv backend with one kvtask EnqueueMany call
// and, for comparison, one Enqueue call per task from 8 goroutines. It
// reports insert/s and x_river: insert/s over River InsertMany's in the
// same run (River runs first; a filter that leaves it out leaves this out).
//
//	go test -run '^$' -bench Insert -benchtime 3x
func BenchmarkInsert(b *testing.B) {
	if *benchTasks <= 0 {
		b.Fatalf("-taskbench.tasks %d must be positive", *benchTasks)
	}
	type line struct {
		name string
		ins  inserter
	}
	lines := []line{{"river/InsertMany", riverInsert(false)}, {"river/InsertManyFast", riverInsert(true)}}
	for _, sys := range []struct {
		name string
		open func(testing.TB) (taskdriver.Queue, error)
	}{{"sqlite", openSQLite}, {"postgres", openPostgres}, {"rqlite", openRqlite}} {
		lines = append(lines, line{sys.name + "/EnqueueMany", kvInsert(sys.open, true)},
			line{sys.name + "/Enqueue", kvInsert(sys.open, false)})
	}
	var riverRate float64
	for _, l := range lines {
		b.Run(l.name, func(b *testing.B) {
			b.StopTimer()
			var took time.Duration
			for range b.N {
				d, err := l.ins(b, *benchTasks)
				if err != nil {
					b.Fatalf("%s: %v", l.name, err)
				}
				took += d
			}
			r := rate(*benchTasks*b.N, took)
			b.ReportMetric(float64(took.Nanoseconds())/float64(b.N), "ns/op")
			b.ReportMetric(r, "insert/s")
			if l.name == "river/InsertMany" {
				riverRate = r
			} else if riverRate > 0 {
				b.ReportMetric(r/riverRate, "x_river")
			}
		})
	}
}

// kvInsert returns the inserter of a kv backend: open gives a fresh, empty
// queue; batch inserts with one EnqueueMany call, else one Enqueue call
// per task from insertWorkers goroutines.
func kvInsert(open func(testing.TB) (taskdriver.Queue, error), batch bool) inserter {
	return func(tb testing.TB, n int) (time.Duration, error) {
		ctx, cancel := context.WithTimeout(context.Background(), drainTimeout)
		defer cancel()
		q, err := open(tb)
		if err != nil {
			return 0, err
		}
		s, err := kvtask.New(q)
		if err != nil {
			return 0, err
		}
		_, tasks := benchTasksOf(n)
		start := time.Now()
		if batch {
			err = enqueueAll(ctx, s, tasks)
		} else {
			err = forEach(ctx, insertWorkers, n, func(i int) error { return s.New(ctx, tasks[i]) })
		}
		return time.Since(start), err
	}
}

// riverInsert returns River's inserter: it empties river_job and inserts
// with one InsertManyFast (fast) or InsertMany call.
func riverInsert(fast bool) inserter {
	return func(tb testing.TB, n int) (time.Duration, error) {
		needPostgres(tb)
		ctx, cancel := context.WithTimeout(context.Background(), drainTimeout)
		defer cancel()
		if _, err := riverPool.Exec(ctx, "TRUNCATE river_job"); err != nil {
			return 0, fmt.Errorf("empty river_job: %w", err)
		}
		workers := river.NewWorkers()
		river.AddWorker(workers, &noopWorker{calls: newCalls(0)})
		client, err := river.NewClient(riverpgxv5.New(riverPool), &river.Config{Workers: workers, Logger: riverLogger})
		if err != nil {
			return 0, err
		}
		params := make([]river.InsertManyParams, n)
		for i := range params {
			params[i] = river.InsertManyParams{Args: noopArgs{N: i}}
		}
		start := time.Now()
		got := 0
		if fast {
			got, err = client.InsertManyFast(ctx, params)
		} else {
			res, ierr := client.InsertMany(ctx, params)
			got, err = len(res), ierr
		}
		took := time.Since(start)
		if err != nil || got != n {
			return took, fmt.Errorf("insert: %d of %d jobs: %v", got, n, err)
		}
		return took, nil
	}
}
