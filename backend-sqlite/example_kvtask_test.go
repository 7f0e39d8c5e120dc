package sqlitekv_test

// Runnable examples of kvtask (durable tasks, runners, cron schedules).
// They live in the SQLite backend's tests because kvtask's module depends on
// no backend.

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"log"
	"log/slog"
	"time"

	sqlitekv "github.com/kvsuite/kv/backend-sqlite"
	"github.com/kvsuite/kv/kvtask"
)

// openScheduler returns a scheduler on an in-memory database.
func openScheduler(ctx context.Context, opts ...kvtask.Option) (*sqlitekv.DB, *kvtask.Scheduler) {
	db, _ := openExample(ctx)
	sched, err := kvtask.New(db, opts...)
	if err != nil {
		log.Fatal(err)
	}
	return db, sched
}

// quietRunner returns a runner that logs nothing.
func quietRunner(s *kvtask.Scheduler, id string) *kvtask.Runner {
	r := kvtask.NewRunner(s, id)
	r.Logger = slog.New(slog.DiscardHandler)
	return r
}

// Enqueue tasks and run them with a Runner until the queue is idle. Higher
// priorities run first.
func Example_tasks() {
	ctx := context.Background()
	db, sched := openScheduler(ctx)
	defer db.Close()

	for _, img := range []string{"a.jpg", "b.jpg"} {
		t := kvtask.NewTask("resize", json.RawMessage(`{"image":"`+img+`"}`))
		t.ID = "resize-" + img // optional: NewTask gives a random one
		_, _, _ = sched.Enqueue(ctx, t)
	}
	urgent := kvtask.NewTask("resize", json.RawMessage(`{"image":"c.jpg"}`))
	urgent.ID, urgent.Priority = "resize-c.jpg", 10
	urgent, _, _ = sched.Enqueue(ctx, urgent)

	r := quietRunner(sched, "worker-1") // Concurrency 1: one handler at a time
	r.RegisterHandler("resize", func(ctx context.Context, t kvtask.Task) error {
		var p struct{ Image string }
		if err := json.Unmarshal(t.Payload, &p); err != nil {
			return err // a failed attempt; retried while retries remain
		}
		fmt.Println("resized", p.Image)
		return nil // completes the task
	})
	if err := r.RunUntilIdle(ctx); err != nil {
		log.Fatal(err)
	}
	t, _, _ := sched.Get(ctx, urgent.ID)
	fmt.Println(t.Status, t.Attempts)
	// Output:
	// resized c.jpg
	// resized a.jpg
	// resized b.jpg
	// completed 1
}

// Claim tasks and record each attempt's outcome by hand, without a Runner:
// Finish with a kvtask.Outcome, and FailureOutcome for a failed attempt
// (pending again after a backoff while retries remain).
func Example_claimAndFinish() {
	ctx := context.Background()
	db, sched := openScheduler(ctx)
	defer db.Close()

	ok := kvtask.NewTask("send", json.RawMessage(`{"to":"ann"}`))
	bad := kvtask.NewTask("send", json.RawMessage(`{"to":"bob"}`))
	bad.MaxRetries = 1
	_, _, _ = sched.Enqueue(ctx, ok)
	_, _, _ = sched.Enqueue(ctx, bad)

	claimed, err := sched.Claim(ctx, "worker-1", time.Minute, 10, "send")
	if err != nil {
		log.Fatal(err)
	}
	for _, t := range claimed {
		o := kvtask.Outcome{Status: kvtask.StatusCompleted}
		if t.ID == bad.ID {
			o = kvtask.FailureOutcome(t, "mailbox full", sched.Now(), time.Second, time.Minute, 0)
		}
		if err := sched.Finish(ctx, t, "worker-1", o); err != nil {
			log.Fatal(err)
		}
	}
	for _, id := range []string{ok.ID, bad.ID} {
		t, _, _ := sched.Get(ctx, id)
		fmt.Printf("%s, attempts %d, last error %q\n", t.Status, t.Attempts, t.LastError)
	}
	// Output:
	// completed, attempts 1, last error ""
	// pending, attempts 1, last error "mailbox full"
}

// A unique key keeps a second copy of a task out while the first is
// pending or running.
func Example_uniqueKey() {
	ctx := context.Background()
	db, sched := openScheduler(ctx)
	defer db.Close()

	sync := func() kvtask.Task {
		t := kvtask.NewTask("sync-account", json.RawMessage(`{"account":42}`))
		t.UniqueKey = "sync/42"
		return t
	}
	first, added, _ := sched.Enqueue(ctx, sync())
	fmt.Println("added:", added)
	again, added, _ := sched.Enqueue(ctx, sync())
	fmt.Println("added:", added, "- same task:", again.ID == first.ID)
	fmt.Println(errors.Is(sched.New(ctx, sync()), kvtask.ErrDuplicate))

	r := quietRunner(sched, "worker-1")
	r.RegisterHandler("sync-account", func(context.Context, kvtask.Task) error { return nil })
	_ = r.RunUntilIdle(ctx)
	_, added, _ = sched.Enqueue(ctx, sync()) // the first one has completed
	fmt.Println("added after completion:", added)
	// Output:
	// added: true
	// added: false - same task: true
	// true
	// added after completion: true
}

// A failed attempt is retried with capped exponential backoff (with
// jitter) until it succeeds or its retries run out.
func Example_retry() {
	ctx := context.Background()
	db, sched := openScheduler(ctx)
	defer db.Close()

	t := kvtask.NewTask("charge", json.RawMessage(`{"order":7}`))
	t.MaxRetries = 3 // at most 4 attempts
	t, _, _ = sched.Enqueue(ctx, t)

	r := quietRunner(sched, "worker-1")
	r.RetryBase, r.RetryMax = time.Millisecond, 10*time.Millisecond
	r.RegisterHandler("charge", func(ctx context.Context, t kvtask.Task) error {
		if t.Attempts < 3 {
			fmt.Println("attempt", t.Attempts, "failed")
			return errors.New("payment gateway timeout")
		}
		fmt.Println("attempt", t.Attempts, "succeeded")
		return nil
	})
	_ = r.RunUntilIdle(ctx) // waits for the retries it scheduled
	t, _, _ = sched.Get(ctx, t.ID)
	fmt.Println(t.Status, t.Attempts)
	// Output:
	// attempt 1 failed
	// attempt 2 failed
	// attempt 3 succeeded
	// completed 3
}

// A cron schedule adds a copy of its task at every tick, once per tick
// however many runners call FireDue (a Runner does so on each poll).
func Example_cron() {
	ctx := context.Background()
	clock := newFakeClock() // 2026-01-02 03:04:05 UTC
	db, sched := openScheduler(ctx, kvtask.WithClock(clock.Now))
	defer db.Close()

	if err := sched.Schedule(ctx, "nightly-backup", "0 2 * * *", kvtask.NewTask("backup", nil)); err != nil {
		log.Fatal(err)
	}
	ss, _ := sched.Schedules(ctx)
	fmt.Println(ss[0].Name, "next:", ss[0].Next.Format(time.RFC3339))

	n, _ := sched.FireDue(ctx)
	fmt.Println("fired before the tick:", n)
	clock.Advance(23 * time.Hour) // past 2026-01-03 02:00
	n, _ = sched.FireDue(ctx)
	fmt.Println("fired:", n)
	n, _ = sched.FireDue(ctx)
	fmt.Println("fired again:", n)

	r := quietRunner(sched, "worker-1")
	r.RegisterHandler("backup", func(ctx context.Context, t kvtask.Task) error {
		fmt.Println("backup for the tick of", t.ScheduledFor.Format(time.RFC3339))
		return nil
	})
	_ = r.RunUntilIdle(ctx)
	ss, _ = sched.Schedules(ctx)
	fmt.Println("next:", ss[0].Next.Format(time.RFC3339))
	// Output:
	// nightly-backup next: 2026-01-03T02:00:00Z
	// fired before the tick: 0
	// fired: 1
	// fired again: 0
	// backup for the tick of 2026-01-03T02:00:00Z
	// next: 2026-01-04T02:00:00Z
}

// Restore tasks exactly as another store held them (what kv import does):
// a failed task stays failed, and a pending one keeps the attempts it used.
func Example_restore() {
	ctx := context.Background()
	db, sched := openScheduler(ctx)
	defer db.Close()

	created := time.Date(2025, 3, 1, 9, 0, 0, 0, time.UTC)
	done := created.Add(time.Minute)
	err := sched.Restore(ctx,
		kvtask.Task{ID: "t1", Name: "email", Status: kvtask.StatusFailed, Created: created, ScheduledFor: created,
			Attempts: 3, MaxRetries: 2, LastError: "smtp: 550", Completed: &done},
		kvtask.Task{ID: "t2", Name: "email", Status: kvtask.StatusPending, Created: created, ScheduledFor: created,
			Attempts: 1, MaxRetries: 2, LastError: "smtp: timeout"},
	)
	if err != nil {
		log.Fatal(err)
	}
	for _, id := range []string{"t1", "t2"} {
		t, _, _ := sched.Get(ctx, id)
		fmt.Println(t.ID, t.Status, t.Attempts, "of", t.MaxRetries+1, "attempts, last error:", t.LastError)
	}
	// Output:
	// t1 failed 3 of 3 attempts, last error: smtp: 550
	// t2 pending 1 of 3 attempts, last error: smtp: timeout
}
