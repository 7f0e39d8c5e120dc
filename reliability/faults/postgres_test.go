package faults_test

import (
	"context"
	"fmt"
	"log/slog"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	postgreskv "github.com/kvsuite/kv/backend-postgres"
	"github.com/kvsuite/kv/kvcore"
	"github.com/kvsuite/kv/kvstream"
	"github.com/kvsuite/kv/kvtask"
	"github.com/kvsuite/kv/reliability/internal/reltest"
)

// Settings of the PostgreSQL fault test.
const (
	pgFaultDB      = "kvfaults"
	pgWriters      = 4
	pgTaskLock     = 3 * time.Second // a lost attempt's task is claimed again after this
	pgConsumerName = "fault-consumer"
	pgRecoverLimit = 30 * time.Second // the pool must serve a new op within this after a fault
)

// pgWritesBetween is how many writes are acknowledged before each fault
// and after the last.
var pgWritesBetween = reltest.ShortOrLong(100, 400)

// pgFault is one fault injected into the private server.
type pgFault struct {
	kind string // "restart fast", "restart immediate" or "terminate"
	// Filled in when it ran:
	down     time.Duration // restart: pg_ctl's restart time
	killed   int           // terminate: backends killed
	recovery time.Duration // from the fault's end to the first new successful put
	ackedAt  time.Duration // from the fault's end to the first writer's acknowledged write
}

// pgFaultPlan is the faults of one run: one restart and one kill round in
// the short form, several of each in the long form.
func pgFaultPlan() []string {
	return reltest.ShortOrLong(
		[]string{"restart fast", "terminate"},
		slices.Repeat([]string{"restart fast", "terminate", "restart immediate", "terminate", "restart fast",
			"terminate", "restart immediate", "terminate", "restart fast", "restart immediate"}, 2))
}

// TestPostgresServerFaults runs writers, a task runner and a stream
// consumer against a private PostgreSQL server while the server is
// restarted (pg_ctl restart -m fast or immediate) and its client
// connections are killed (pg_terminate_backend), then checks that no
// acknowledged write was lost, the errors seen were clear, the pool
// recovered within pgRecoverLimit, every task was completed exactly once
// and the consumer saw every stream entry in order (see checkConsumer).
func TestPostgresServerFaults(t *testing.T) {
	srv := startPrivatePostgres(t)
	ctx := context.Background()
	admin, err := postgreskv.Open(ctx, srv.url("postgres"))
	if err != nil {
		t.Fatal(err)
	}
	if _, err := admin.Pool().Exec(ctx, "CREATE DATABASE "+pgFaultDB); err != nil {
		t.Fatal(err)
	}
	admin.Close()
	db, err := postgreskv.Open(ctx, srv.url(pgFaultDB)+"&pool_max_conns=12")
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { db.Close() })
	if err := db.Init(ctx); err != nil {
		t.Fatal(err)
	}
	st, err := db.Store(kvcore.WithSweepInterval(0))
	if err != nil {
		t.Fatal(err)
	}
	quiet := slog.New(slog.DiscardHandler)

	writes, tasks, consumed := newWriteLog(), newTaskLog(), &consumeLog{}
	sched, err := kvtask.New(countingQueue{Queue: db, n: db, log: tasks})
	if err != nil {
		t.Fatal(err)
	}
	runner := kvtask.NewRunner(sched, "fault-runner")
	runner.LockDuration = pgTaskLock
	runner.Concurrency = 4
	runner.PollInterval = 100 * time.Millisecond
	runner.RetryBase, runner.RetryMax = 50*time.Millisecond, 500*time.Millisecond
	runner.ShutdownGrace = 10 * time.Second
	runnerErrs := &errorLog{}
	runner.Logger = slog.New(errorCapture{log: runnerErrs})
	runner.RegisterHandler(faultTask, faultHandler(tasks))
	stream, err := kvstream.New(committingStream{Stream: db, n: db, log: consumed},
		kvstream.WithMaxPoll(200*time.Millisecond), kvstream.WithLogger(quiet))
	if err != nil {
		t.Fatal(err)
	}
	consumer, err := stream.Consumer(pgConsumerName, kvstream.Commit(kvstream.CommitAll),
		kvstream.LeaseDuration(3*time.Second), kvstream.Owner("fault-consumer-1"))
	if err != nil {
		t.Fatal(err)
	}

	// Start the load: writers and the enqueuer until stop closes, the
	// runner and the consumer until their contexts end.
	stop := make(chan struct{})
	var loadWG sync.WaitGroup
	loadErrs := make(chan error, pgWriters+1)
	for i := range pgWriters {
		loadWG.Go(func() { loadErrs <- runWriter(st, fmt.Sprintf("w%d/", i), writes, stop) })
	}
	loadWG.Go(func() { loadErrs <- runEnqueuer(sched, tasks, 20*time.Millisecond, stop) })
	runCtx, stopRunner := context.WithCancel(ctx)
	runnerDone := make(chan error, 1)
	go func() { runnerDone <- runner.Run(runCtx) }()
	consumeCtx, stopConsumer := context.WithCancel(ctx)
	consumerDone := make(chan struct{})
	go func() { runConsumer(consumeCtx, consumer, consumed); close(consumerDone) }()
	stopped := false
	stopLoad := func() {
		if !stopped {
			stopped = true
			close(stop)
			loadWG.Wait()
		}
	}
	t.Cleanup(func() { stopLoad(); stopRunner(); stopConsumer(); <-consumerDone })

	// Inject the faults, each after the load has made progress.
	var faults []pgFault
	for i, kind := range pgFaultPlan() {
		before := writes.count()
		if !waitFor(30*time.Second, 20*time.Millisecond, func() bool { return writes.count() >= before+pgWritesBetween }) {
			t.Fatalf("fault %d (%s): the writers made no progress before it (%d acknowledged writes)", i+1, kind, writes.count())
		}
		f := pgFault{kind: kind}
		switch kind {
		case "terminate":
			kctx, cancel := context.WithTimeout(ctx, 30*time.Second)
			f.killed, err = srv.terminateClients(kctx, pgFaultDB)
			cancel()
			if err != nil {
				t.Fatalf("fault %d: pg_terminate_backend: %v", i+1, err)
			}
		default:
			if f.down, err = srv.restart(strings.TrimPrefix(kind, "restart ")); err != nil {
				t.Fatalf("fault %d: %v", i+1, err)
			}
		}
		end := time.Now()
		f.recovery = probeRecovery(t, st, fmt.Sprintf("probe/%d", i))
		if !waitFor(pgRecoverLimit, 10*time.Millisecond, func() bool { return writes.ackedSince(end) }) {
			t.Fatalf("fault %d (%s): no writer's write was acknowledged within %v after it", i+1, kind, pgRecoverLimit)
		}
		f.ackedAt = time.Since(end)
		faults = append(faults, f)
		t.Logf("fault %d: %s (down %v, %d backends killed): a new put succeeded %v after it, a writer's %v after it",
			i+1, kind, f.down.Round(time.Millisecond), f.killed, f.recovery.Round(time.Millisecond), f.ackedAt.Round(time.Millisecond))
	}
	// Let the load run on after the last fault, then stop it.
	final := writes.count()
	waitFor(30*time.Second, 20*time.Millisecond, func() bool { return writes.count() >= final+pgWritesBetween })
	stopLoad()
	close(loadErrs)
	for err := range loadErrs {
		if err != nil {
			t.Error(err)
		}
	}

	// Every enqueued task reaches a terminal status; then the runner stops.
	tasks.mu.Lock()
	enqueued := slices.Clone(tasks.enqueued)
	tasks.mu.Unlock()
	open := func() int {
		n := 0
		for _, s := range []kvtask.Status{kvtask.StatusPending, kvtask.StatusRunning} {
			ts, err := sched.List(ctx, s, "", 0, 0)
			if err != nil {
				t.Fatalf("listing tasks: %v", err)
			}
			n += len(ts)
		}
		return n
	}
	if !waitFor(60*time.Second, 100*time.Millisecond, func() bool { return open() == 0 }) {
		t.Errorf("%d tasks still pending or running 60s after the load stopped", open())
	}
	stopRunner()
	if err := <-runnerDone; err != nil {
		t.Errorf("runner: %v", err)
	}

	// The consumer catches up with the stream; then it stops.
	last, err := stream.Seq(ctx)
	if err != nil {
		t.Fatal(err)
	}
	if !waitFor(60*time.Second, 20*time.Millisecond, func() bool { return consumed.maxSeq() >= last }) {
		t.Errorf("the consumer reached seq %d of %d within 60s", consumed.maxSeq(), last)
	}
	stopConsumer()
	<-consumerDone

	lost := checkWrites(t, ctx, st, writes)
	taskFig := checkTasks(t, ctx, sched, tasks, enqueued)
	entries, err := readStream(ctx, stream)
	if err != nil {
		t.Fatal(err)
	}
	consumed.mu.Lock()
	rep, err := checkConsumer(consumed.events, entries)
	consumed.mu.Unlock()
	if err != nil {
		t.Error("consumer:", err)
	}
	for _, l := range []*errorLog{&writes.errs, &tasks.errs, runnerErrs, &consumed.errs} {
		l.mu.Lock()
		for _, u := range l.unclear {
			t.Errorf("unclear error (want the operation named and the cause wrapped): %s", u)
		}
		l.mu.Unlock()
	}

	// The figures.
	restarts, killedRounds, killed := 0, 0, 0
	var worst time.Duration
	for _, f := range faults {
		if f.kind == "terminate" {
			killedRounds++
			killed += f.killed
		} else {
			restarts++
		}
		worst = max(worst, f.recovery, f.ackedAt)
	}
	t.Logf("FIGURES postgres: %d restarts survived, %d kill rounds (%d backends killed); %d acknowledged writes (%d keys) checked, %d lost; %d acknowledged on a retry, %d of those because the failed attempt had committed unacknowledged; %d write errors during faults",
		restarts, killedRounds, killed, writes.count(), len(writes.acked), lost, writes.retried, writes.ambiguous, writes.errs.count())
	t.Logf("FIGURES postgres: %s; the runner logged %d failures (claim, heartbeat, finish) and carried on", taskFig, runnerErrs.count())
	t.Logf("FIGURES postgres: consumer checked %d stream entries (%d deliveries, %d re-delivered, %d runs: %d restarts after errors)",
		rep.distinct, rep.delivered, rep.redelivered, rep.runs, rep.runs-1)
	t.Logf("FIGURES postgres: worst recovery %v (a new put succeeding, or a writer's write acknowledged, after the fault ended)", worst.Round(time.Millisecond))
	for _, l := range []*errorLog{&writes.errs, &tasks.errs, runnerErrs, &consumed.errs} {
		l.mu.Lock()
		for op, msg := range l.samples {
			t.Logf("sample %s error: %s", op, msg)
		}
		l.mu.Unlock()
	}
}

// probeRecovery puts key until it succeeds and returns how long that took;
// it fails t if it takes longer than pgRecoverLimit.
func probeRecovery(t *testing.T, st *kvcore.Store, key string) time.Duration {
	t.Helper()
	start := time.Now()
	var last error
	for time.Since(start) < pgRecoverLimit {
		ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
		last = st.Put(ctx, key, -1, "probe")
		cancel()
		if last == nil {
			return time.Since(start)
		}
		time.Sleep(10 * time.Millisecond)
	}
	t.Fatalf("the pool did not recover: puts still fail %v after the fault: %v", pgRecoverLimit, last)
	return 0
}

// checkWrites checks that every acknowledged write is present with its
// value and returns how many keys were lost or changed.
func checkWrites(t *testing.T, ctx context.Context, st *kvcore.Store, log *writeLog) int {
	t.Helper()
	log.mu.Lock()
	defer log.mu.Unlock()
	lost := 0
	for key, want := range log.acked {
		var got string
		_, ok, err := st.Get(ctx, key, &got)
		if err != nil {
			t.Fatalf("get %s: %v", key, err)
		}
		if !ok || got != want {
			if lost < 10 {
				t.Errorf("acknowledged write lost: %s = %q, found %t with %q", key, want, ok, got)
			}
			lost++
		}
	}
	if lost > 0 {
		t.Errorf("%d of %d acknowledged keys lost or changed", lost, len(log.acked))
	}
	return lost
}

// checkTasks checks that every enqueued task (without retries: the
// default) is completed, that the queue accepted at most one completion
// for each, and that every attempt but the one that completed it was
// counted lost (a fault never used a retry); it returns the figures.
func checkTasks(t *testing.T, ctx context.Context, s *kvtask.Scheduler, log *taskLog, enqueued []string) string {
	t.Helper()
	all, err := s.List(ctx, "", "", 0, 0)
	if err != nil {
		t.Fatal(err)
	}
	if len(all) != len(enqueued) {
		t.Errorf("%d tasks stored, %d enqueued", len(all), len(enqueued))
	}
	byID := map[string]kvtask.Task{}
	for _, task := range all {
		byID[task.ID] = task
	}
	log.mu.Lock()
	defer log.mu.Unlock()
	reran, unseen := 0, 0
	for _, id := range enqueued {
		task, ok := byID[id]
		switch {
		case !ok:
			t.Errorf("task %s was enqueued but is not stored", id)
			continue
		case task.Status != kvtask.StatusCompleted:
			t.Errorf("task %s is %s (attempts %d, last error %q), want completed", id, task.Status, task.Attempts, task.LastError)
		case log.completes[id] > 1:
			t.Errorf("task %s was completed %d times", id, log.completes[id])
		case log.execs[id] == 0:
			t.Errorf("task %s is completed but its handler never ran", id)
		case task.Attempts-task.Lost != 1 || log.execs[id] > task.Attempts:
			t.Errorf("task %s: %d attempts, %d of them lost, %d handler runs: want every attempt but the last lost, a run at most per attempt",
				id, task.Attempts, task.Lost, log.execs[id])
		}
		if log.execs[id] > 1 {
			reran++
		}
		if log.completes[id] == 0 {
			unseen++ // its Finish committed but its answer was lost
		}
	}
	return fmt.Sprintf("%d tasks enqueued (%d found stored after a failed enqueue) and completed exactly once; %d handlers ran twice or more (their attempt's outcome was lost in a fault: Finish failed %d times, the lease expired and the task was claimed again); %d completions committed without their answer arriving",
		len(enqueued), log.ambiguous, reran, log.finishErr, unseen)
}
