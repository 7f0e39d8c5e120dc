package taskbench

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"log/slog"
	"os"
	"strconv"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgxpool"
	"github.com/riverqueue/river"
	"github.com/riverqueue/river/riverdriver/riverpgxv5"
	"github.com/riverqueue/river/rivermigrate"
)

// River's fetch settings. Zero keeps River's own defaults (FetchCooldown
// 100ms, FetchPollInterval 1s), which is what the benchmark reports.
var (
	riverCooldown = flag.Duration("taskbench.river-cooldown", 0, "River FetchCooldown (0: River's default, 100ms)")
	riverPoll     = flag.Duration("taskbench.river-poll", 0, "River FetchPollInterval (0: River's default, 1s)")
)

// noopArgs are the River job's arguments: the same JSON ({"n":i}) as the
// kv tasks' payload.
type noopArgs struct {
	N int `json:"n"`
}

// Kind is the River job kind.
func (noopArgs) Kind() string { return taskName }

// noopWorker records each invocation and does nothing else.
type noopWorker struct {
	river.WorkerDefaults[noopArgs]
	calls *calls
}

// Work records the job's invocation.
func (w *noopWorker) Work(_ context.Context, job *river.Job[noopArgs]) error {
	w.calls.hit(strconv.FormatInt(job.ID, 10))
	return nil
}

// migrateRiver brings River's schema in pool's database up to date.
func migrateRiver(ctx context.Context, pool *pgxpool.Pool) error {
	m, err := rivermigrate.New(riverpgxv5.New(pool), nil)
	if err != nil {
		return err
	}
	_, err = m.Migrate(ctx, rivermigrate.DirectionUp, nil)
	return err
}

// riverLogger passes River's warnings and errors to stderr.
var riverLogger = slog.New(slog.NewTextHandler(os.Stderr, &slog.HandlerOptions{Level: slog.LevelWarn}))

// drainRiver empties River's job table, inserts sc.tasks jobs with
// InsertManyFast, then starts sc.runners River clients (each with
// MaxWorkers = sc.concurrency on the default queue) and waits for a
// completed event of every job; then it stops the clients and checks the
// table.
func drainRiver(tb testing.TB, sc scenario) ([]string, result, error) {
	needPostgres(tb)
	ctx, cancel := context.WithTimeout(context.Background(), drainTimeout)
	defer cancel()
	if _, err := riverPool.Exec(ctx, "TRUNCATE river_job"); err != nil {
		return nil, result{}, fmt.Errorf("empty river_job: %w", err)
	}
	res := result{calls: newCalls(sc.tasks)}
	workers := river.NewWorkers()
	river.AddWorker(workers, &noopWorker{calls: res.calls})
	driver := riverpgxv5.New(riverPool)

	inserter, err := river.NewClient(driver, &river.Config{Workers: workers, Logger: riverLogger})
	if err != nil {
		return nil, res, err
	}
	params := make([]river.InsertManyParams, sc.tasks)
	for i := range params {
		params[i] = river.InsertManyParams{Args: noopArgs{N: i}}
	}
	start := time.Now()
	n, err := inserter.InsertManyFast(ctx, params)
	res.insert = time.Since(start)
	if err != nil || n != sc.tasks {
		return nil, res, fmt.Errorf("insert: %d of %d jobs: %v", n, sc.tasks, err)
	}
	ids, err := riverJobIDs(ctx)
	if err != nil {
		return nil, res, err
	}

	clients := make([]*river.Client[pgx.Tx], sc.runners)
	for i := range clients {
		clients[i], err = river.NewClient(driver, &river.Config{
			Queues:            map[string]river.QueueConfig{river.QueueDefault: {MaxWorkers: sc.concurrency}},
			Workers:           workers,
			FetchCooldown:     *riverCooldown,
			FetchPollInterval: *riverPoll,
			Logger:            riverLogger,
		})
		if err != nil {
			return ids, res, err
		}
	}
	// Every client reports its own jobs' events: count the completions of
	// all of them; any other outcome ends the wait with an error.
	var completed atomic.Int64
	allDone := make(chan struct{})
	var other atomic.Pointer[river.Event]
	otherSeen := make(chan struct{})
	var once, otherOnce sync.Once
	var subs sync.WaitGroup
	for _, c := range clients {
		events, unsubscribe := c.SubscribeConfig(&river.SubscribeConfig{ChanSize: sc.tasks, Kinds: []river.EventKind{
			river.EventKindJobCompleted, river.EventKindJobFailed, river.EventKindJobCancelled, river.EventKindJobSnoozed}})
		defer unsubscribe()
		subs.Go(func() {
			for {
				select {
				case <-ctx.Done():
					return
				case e, ok := <-events:
					if !ok {
						return
					}
					if e.Kind != river.EventKindJobCompleted {
						other.CompareAndSwap(nil, e)
						otherOnce.Do(func() { close(otherSeen) })
						continue
					}
					if completed.Add(1) == int64(sc.tasks) {
						once.Do(func() { close(allDone) })
					}
				}
			}
		})
	}

	start = time.Now()
	var startErr error
	for _, c := range clients {
		if err := c.Start(ctx); err != nil {
			startErr = err
			break
		}
	}
	if startErr == nil {
		select {
		case <-allDone:
		case <-otherSeen:
		case <-ctx.Done():
		}
	}
	res.drain = time.Since(start)
	stopCtx, stopCancel := context.WithTimeout(context.Background(), time.Minute)
	defer stopCancel()
	var stops sync.WaitGroup
	stopErrs := make([]error, len(clients))
	for i, c := range clients {
		stops.Go(func() { stopErrs[i] = c.Stop(stopCtx) })
	}
	stops.Wait()
	cancel()
	subs.Wait()
	switch e := other.Load(); {
	case startErr != nil:
		return ids, res, fmt.Errorf("start: %w", startErr)
	case e != nil:
		return ids, res, fmt.Errorf("job %d: event %s (error %v)", e.Job.ID, e.Kind, e.Job.Errors)
	case completed.Load() != int64(sc.tasks):
		return ids, res, fmt.Errorf("%d of %d jobs completed before the time limit", completed.Load(), sc.tasks)
	}
	if err := errors.Join(stopErrs...); err != nil {
		return ids, res, fmt.Errorf("stop: %w", err)
	}
	var done int
	if err := riverPool.QueryRow(context.Background(), "SELECT count(*) FROM river_job WHERE state = 'completed'").Scan(&done); err != nil {
		return ids, res, err
	}
	if done != sc.tasks {
		return ids, res, fmt.Errorf("%d of %d jobs completed in river_job", done, sc.tasks)
	}
	return ids, res, nil
}

// riverJobIDs returns the IDs of the jobs in river_job.
func riverJobIDs(ctx context.Context) ([]string, error) {
	rows, err := riverPool.Query(ctx, "SELECT id FROM river_job ORDER BY id")
	if err != nil {
		return nil, err
	}
	ids, err := pgx.CollectRows(rows, pgx.RowTo[int64])
	if err != nil {
		return nil, err
	}
	out := make([]string, len(ids))
	for i, id := range ids {
		out[i] = strconv.FormatInt(id, 10)
	}
	return out, nil
}
