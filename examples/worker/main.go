// Command worker is a background worker built on kvtask. At start it
// enqueues one-off "email" tasks (each with a unique key, so the same email
// is never queued twice while one is waiting or running) and keeps a cron
// schedule that adds a "report" task at every tick. A Runner with several
// concurrent handlers runs both until SIGINT or SIGTERM, -duration or
// -reports ends it; it then stops claiming, lets running handlers finish and
// prints a summary.
//
//	go run ./examples/worker                          # until Ctrl+C
//	go run ./examples/worker -duration 10s -db worker.db
//	go run ./examples/worker -every '*/1 * * * *'     # a report every minute
//
// Without -db the tasks live in a temporary SQLite file that is removed at
// exit; with -db they survive restarts (start two workers on the same file
// and each task still runs once, each cron tick fires once).
package main

import (
	"context"
	"encoding/json"
	"flag"
	"fmt"
	"io"
	"log/slog"
	"os"
	"os/signal"
	"slices"
	"sync"
	"sync/atomic"
	"syscall"
	"time"

	"github.com/kvsuite/kv/examples/internal/exampledb"
	"github.com/kvsuite/kv/kvtask"
)

func main() {
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	defer stop()
	if err := run(ctx, os.Args[1:], os.Stdout); err != nil {
		fmt.Fprintln(os.Stderr, "worker:", err)
		os.Exit(1)
	}
}

// config is the parsed command line.
type config struct {
	db          string
	duration    time.Duration
	every       string
	emails      int
	concurrency int
	reports     int
}

func parseFlags(args []string, stderr io.Writer) (config, error) {
	var c config
	fs := flag.NewFlagSet("worker", flag.ContinueOnError)
	fs.SetOutput(stderr)
	fs.StringVar(&c.db, "db", "", "SQLite database file (default: a temporary file removed at exit)")
	fs.DurationVar(&c.duration, "duration", 0, "stop after running tasks for this long, counted once set-up is done (0: run until SIGINT or SIGTERM)")
	fs.StringVar(&c.every, "every", "@every 2s", "cron spec of the report schedule (five fields or a descriptor)")
	fs.IntVar(&c.emails, "emails", 5, "one-off email tasks to enqueue at start")
	fs.IntVar(&c.concurrency, "concurrency", 4, "handlers that run at once")
	fs.IntVar(&c.reports, "reports", 0, "stop after this many reports have run (0: no limit)")
	if err := fs.Parse(args); err != nil {
		return c, err
	}
	switch {
	case fs.NArg() > 0:
		return c, fmt.Errorf("unexpected arguments %q", fs.Args())
	case c.duration < 0:
		return c, fmt.Errorf("-duration %v is negative", c.duration)
	case c.emails < 0:
		return c, fmt.Errorf("-emails %d is negative", c.emails)
	case c.concurrency < 1:
		return c, fmt.Errorf("-concurrency %d: want at least 1", c.concurrency)
	case c.reports < 0:
		return c, fmt.Errorf("-reports %d is negative", c.reports)
	}
	return c, nil
}

// lockedWriter serialises the lines that concurrent handlers print.
type lockedWriter struct {
	mu sync.Mutex
	w  io.Writer
}

func (l *lockedWriter) printf(format string, args ...any) {
	l.mu.Lock()
	defer l.mu.Unlock()
	fmt.Fprintf(l.w, format, args...)
}

// email is the payload of an "email" task.
type email struct {
	To string `json:"to"`
}

func run(ctx context.Context, args []string, stdout io.Writer) error {
	c, err := parseFlags(args, os.Stderr)
	if err != nil {
		return err
	}
	// stopRun ends the runner gracefully once -reports reports have run.
	runCtx, stopRun := context.WithCancel(ctx)
	defer stopRun()

	db, closeDB, err := exampledb.Open(ctx, c.db)
	if err != nil {
		return err
	}
	defer closeDB()
	sched, err := kvtask.New(db)
	if err != nil {
		return err
	}
	out := &lockedWriter{w: stdout}

	// The recurring task: one "report" per tick, however many workers run.
	if err := sched.Schedule(ctx, "report", c.every, kvtask.NewTask("report", nil)); err != nil {
		return err
	}
	// One-off tasks. The unique key keeps a second copy out while the first
	// is pending or running.
	for i := 1; i <= c.emails; i++ {
		if err := enqueueEmail(ctx, sched, out, fmt.Sprintf("user%d@example.com", i)); err != nil {
			return err
		}
	}
	if c.emails > 0 {
		if err := enqueueEmail(ctx, sched, out, "user1@example.com"); err != nil {
			return err
		}
	}

	r := kvtask.NewRunner(sched, fmt.Sprintf("worker-%d", os.Getpid()))
	r.Concurrency = c.concurrency
	r.PollInterval = 200 * time.Millisecond // also how promptly cron ticks fire
	r.ShutdownGrace = 10 * time.Second
	r.RetryBase, r.RetryMax = 100*time.Millisecond, 5*time.Second
	r.Logger = slog.New(slog.NewTextHandler(os.Stderr, &slog.HandlerOptions{Level: slog.LevelWarn}))

	r.RegisterHandler("email", func(ctx context.Context, t kvtask.Task) error {
		var e email
		if err := json.Unmarshal(t.Payload, &e); err != nil {
			return fmt.Errorf("bad payload: %w", err)
		}
		select { // pretend to talk to a mail server
		case <-time.After(20 * time.Millisecond):
		case <-ctx.Done(): // cancelled, timed out, or the worker is shutting down
			return context.Cause(ctx)
		}
		out.printf("sent email to %s\n", e.To)
		return nil
	})
	var reports atomic.Int64
	r.RegisterHandler("report", func(ctx context.Context, t kvtask.Task) error {
		sent, err := sched.List(ctx, kvtask.StatusCompleted, "email", 0, 0)
		if err != nil {
			return err // the attempt fails and is retried
		}
		n := reports.Add(1)
		out.printf("report %d: %d emails sent\n", n, len(sent))
		if c.reports > 0 && n >= int64(c.reports) {
			stopRun()
		}
		return nil
	})

	out.printf("worker: %d concurrent handlers, report schedule %q\n", c.concurrency, c.every)
	if c.duration > 0 {
		// -duration bounds the runner only: opening the database and
		// queueing the tasks are set-up, which a short duration on a slow
		// machine must not cut short (they would fail with "context deadline
		// exceeded" instead of the worker stopping gracefully).
		var cancel context.CancelFunc
		runCtx, cancel = context.WithTimeout(runCtx, c.duration)
		defer cancel()
	}
	if err := r.Run(runCtx); err != nil { // returns after a graceful shutdown
		return err
	}
	return summary(context.WithoutCancel(ctx), sched, out)
}

// enqueueEmail adds an email task unless one to the same address is waiting.
func enqueueEmail(ctx context.Context, sched *kvtask.Scheduler, out *lockedWriter, to string) error {
	payload, err := json.Marshal(email{To: to})
	if err != nil {
		return err
	}
	t := kvtask.NewTask("email", payload)
	t.UniqueKey = "email/" + to
	t.MaxRetries = 3
	t.TimeoutSeconds = 30
	_, added, err := sched.Enqueue(ctx, t)
	if err != nil {
		return err
	}
	if !added {
		out.printf("email to %s is already queued: not added again\n", to)
	}
	return nil
}

// summary prints how many tasks of each name are in each status.
func summary(ctx context.Context, sched *kvtask.Scheduler, out *lockedWriter) error {
	ctx, cancel := context.WithTimeout(ctx, 10*time.Second)
	defer cancel()
	tasks, err := sched.List(ctx, "", "", 0, 0)
	if err != nil {
		return fmt.Errorf("summary: %w", err)
	}
	counts := map[string]int{}
	for _, t := range tasks {
		counts[fmt.Sprintf("%s %s", t.Name, t.Status)]++
	}
	keys := make([]string, 0, len(counts))
	for k := range counts {
		keys = append(keys, k)
	}
	slices.Sort(keys)
	out.printf("stopped; tasks in the database:\n")
	for _, k := range keys {
		out.printf("  %s: %d\n", k, counts[k])
	}
	return nil
}
