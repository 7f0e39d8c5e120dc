package reliability_test

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"log/slog"
	"math/rand/v2"
	"os"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/kvsuite/kv/kvtask"
	taskdriver "github.com/kvsuite/kv/kvtask/driver"
	"github.com/kvsuite/kv/reliability/internal/reltest"
)

// Task test settings.
const (
	taskName     = "rel-task"
	taskLock     = 2 * time.Second // short, so that a killed runner's tasks are reclaimed soon
	taskRunners  = 4
	taskFailRate = 30 // one handler execution in taskFailRate fails (and is retried)
)

// loggedQueue prints "fin <id> <token> <status>" for each outcome that the
// backend accepted.
type loggedQueue struct {
	taskdriver.Queue
	out *lineWriter
}

// FinishMany forwards to the backend and logs each accepted item.
func (q loggedQueue) FinishMany(ctx context.Context, cs []taskdriver.Completion, now time.Time) ([]error, error) {
	errs, err := q.Queue.FinishMany(ctx, cs, now)
	if err == nil {
		for i, c := range cs {
			if errs[i] == nil {
				q.out.printf("fin %s %d %s", c.ID, c.Token, c.Outcome.Status)
			}
		}
	}
	return errs, err
}

// taskRunner is the child: a kvtask.Runner whose handler prints
// "exec <id> <token> ok|fail" when it starts, works a few milliseconds and
// then (mostly) succeeds. It runs until killed.
func taskRunner() error {
	ctx := context.Background()
	b, err := childBackend(ctx)
	if err != nil {
		return err
	}
	defer b.close()
	out := &lineWriter{}
	s, err := kvtask.New(loggedQueue{Queue: b.queue, out: out})
	if err != nil {
		return err
	}
	r := kvtask.NewRunner(s, os.Getenv(envName))
	r.LockDuration = taskLock
	r.Concurrency = 4
	r.PollInterval = 50 * time.Millisecond
	r.RetryBase, r.RetryMax = 10*time.Millisecond, 100*time.Millisecond
	r.Logger = slog.New(slog.NewJSONHandler(os.Stderr, &slog.HandlerOptions{Level: slog.LevelWarn}))
	r.RegisterHandler(taskName, func(ctx context.Context, t kvtask.Task) error {
		fail := rand.IntN(taskFailRate) == 0
		out.printf("exec %s %d %s", t.ID, t.Token, map[bool]string{false: "ok", true: "fail"}[fail])
		time.Sleep(time.Duration(rand.IntN(10)) * time.Millisecond)
		if fail {
			return errors.New("planned failure")
		}
		return nil
	})
	out.printf("ready")
	return r.Run(ctx)
}

// TestTasksUnderKills enqueues many tasks and runs them with taskRunners
// runner processes that are killed with SIGKILL and restarted at random
// moments. Half the tasks have the default settings (MaxRetries 0), half
// two retries; one handler execution in taskFailRate fails by plan. At the
// end every task is terminal and no kill failed one: a task is completed,
// exactly once (one accepted completion, by a token that ran the handler),
// or failed because its handler failed by plan on its last attempt, after
// MaxRetries+1 failed attempts (lost attempts use no retry), or - the
// bound against tasks that kill their runner - lost more than MaxLost
// times. No task fails without a handler run. Every extra handler
// execution is accounted for: a planned failure that was retried, an
// attempt in a process that was killed, or an attempt whose lease was lost;
// and the attempts that were not lost match the outcomes recorded.
// Execution is at least once; completion is exactly once.
func TestTasksUnderKills(t *testing.T) {
	forEachBackend(t, "tasks", testTasks)
}

// testTasks runs TestTasksUnderKills on one backend.
func testTasks(t *testing.T, kind, where string) {
	ctx := context.Background()
	n := reltest.ShortOrLong(1000, 10000)
	b, err := openBackend(ctx, kind, where)
	if err != nil {
		t.Fatal(err)
	}
	defer b.close()
	s, err := kvtask.New(b.queue)
	if err != nil {
		t.Fatal(err)
	}
	enqueue(t, s, n)

	var all []*child
	stopChildren(t, &all)
	gen := 0
	start := func() *child {
		gen++
		c, err := startChild("task-runner", fmt.Sprintf("%s-runner%d", kind, gen), envBackend+"="+kind, envWhere+"="+where)
		if err != nil {
			t.Fatal(err)
		}
		all = append(all, c)
		return c
	}
	runners := make([]*child, taskRunners)
	for i := range runners {
		runners[i] = start()
	}
	kills := 0
	maxKills := reltest.ShortOrLong(8, 1000)
	began := time.Now()
	deadline := began.Add(reltest.ShortOrLong(4*time.Minute, 30*time.Minute))
	for {
		time.Sleep(time.Duration(300+rand.IntN(900)) * time.Millisecond)
		if done(t, s) {
			break
		}
		if time.Now().After(deadline) {
			t.Fatalf("tasks still pending or running after %v (stranded?)", time.Since(began))
		}
		if kills >= maxKills {
			continue // enough kills for this form: let the runners finish
		}
		i := rand.IntN(taskRunners)
		select {
		case <-runners[i].done:
			t.Fatalf("runner %s exited by itself: %v; stderr:\n%s", runners[i].name, runners[i].exitErr(), runners[i].stderrText())
		default:
		}
		runners[i].kill()
		kills++
		runners[i] = start()
	}
	elapsed := time.Since(began)
	time.Sleep(500 * time.Millisecond) // let the last acknowledgements reach the pipes
	for _, c := range runners {
		c.kill() // idle now: every task is terminal
	}
	completed := checkTasks(t, s, n, all)
	t.Logf("%s: %d tasks terminal, %d of them completed exactly once and the others failed by plan, in %v by %d runner processes; %d SIGKILLs with restarts",
		kind, n, completed, elapsed.Round(time.Millisecond), len(all), kills)
}

// taskRetries is the MaxRetries of task i: the default (0) for even i, 2
// for odd i.
func taskRetries(i int) int { return 2 * (i % 2) }

// enqueue adds n tasks, half with the default settings (no retries: a
// killed runner's attempt uses none), half with two retries.
func enqueue(t *testing.T, s *kvtask.Scheduler, n int) {
	t.Helper()
	var wg sync.WaitGroup
	errs := make(chan error, 8)
	for w := range 8 {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for i := w; i < n; i += 8 {
				task := kvtask.NewTask(taskName, json.RawMessage(fmt.Sprintf(`{"i":%d}`, i)))
				task.MaxRetries = taskRetries(i)
				if err := s.New(context.Background(), task); err != nil {
					errs <- err
					return
				}
			}
		}()
	}
	wg.Wait()
	close(errs)
	for err := range errs {
		t.Fatal(err)
	}
}

// done reports whether no task is pending or running.
func done(t *testing.T, s *kvtask.Scheduler) bool {
	t.Helper()
	for _, st := range []kvtask.Status{kvtask.StatusPending, kvtask.StatusRunning} {
		ts, err := s.List(context.Background(), st, "", 0, 1)
		if err != nil {
			t.Fatal(err)
		}
		if len(ts) > 0 {
			return false
		}
	}
	return true
}

// execution is one handler start in one runner process.
type execution struct {
	runner *child
	token  int64
	fail   bool
}

// checkTasks checks the final state against what the runners printed and
// returns how many tasks were completed.
func checkTasks(t *testing.T, s *kvtask.Scheduler, n int, runners []*child) int {
	t.Helper()
	tasks := map[string]kvtask.Task{}
	for off := 0; ; off += 1000 {
		page, err := s.List(context.Background(), "", "", off, 1000)
		if err != nil {
			t.Fatal(err)
		}
		for _, task := range page {
			tasks[task.ID] = task
		}
		if len(page) < 1000 {
			break
		}
	}
	if len(tasks) != n {
		t.Fatalf("%d tasks stored, want %d", len(tasks), n)
	}
	execs := map[string][]execution{}
	fins := map[string][]string{}        // task -> "token status" of accepted Finish calls
	finToken := map[string]int64{}       // task -> the token whose completion was accepted
	lost := map[*child]map[string]bool{} // runner -> tasks whose lease it logged lost
	for _, c := range runners {
		for _, line := range c.output() {
			f := strings.Fields(line)
			switch {
			case len(f) == 4 && f[0] == "exec":
				var tok int64
				fmt.Sscan(f[2], &tok)
				execs[f[1]] = append(execs[f[1]], execution{runner: c, token: tok, fail: f[3] == "fail"})
			case len(f) == 4 && f[0] == "fin":
				fins[f[1]] = append(fins[f[1]], f[2]+" "+f[3])
				if f[3] == string(kvtask.StatusCompleted) {
					var tok int64
					fmt.Sscan(f[2], &tok)
					finToken[f[1]] = tok
				}
			default:
				t.Fatalf("runner %s: unexpected line %q", c.name, line)
			}
		}
		lost[c] = lostTasks(c.stderrText())
	}
	var executions, retried, killedAttempts, lostAttempts, unacked, failedByPlan, lostTooOften, lostCounted int
	for id, task := range tasks {
		es := execs[id]
		executions += len(es)
		lostCounted += task.Lost
		checkAttempts(t, task, fins[id], es)
		if task.Status == kvtask.StatusFailed {
			if failedTooOften(t, task, es) {
				lostTooOften++
			} else {
				failedByPlan++
			}
			for _, e := range es {
				if e.fail {
					retried++
				}
			}
			continue
		}
		if task.Status != kvtask.StatusCompleted || task.Completed == nil {
			t.Fatalf("task %s is %s (completed %v, last error %q), want completed or failed by plan", id, task.Status, task.Completed, task.LastError)
		}
		completions := 0
		for _, f := range fins[id] {
			if strings.HasSuffix(f, " "+string(kvtask.StatusCompleted)) {
				completions++
			}
		}
		if completions > 1 {
			t.Fatalf("task %s was completed %d times: %v", id, completions, fins[id])
		}
		if len(es) == 0 {
			t.Fatalf("task %s is completed but its handler never ran", id)
		}
		final := task.Token
		if completions == 1 && finToken[id] != final {
			t.Fatalf("task %s: completion accepted for token %d but the task ended with token %d", id, finToken[id], final)
		}
		ranFinal := false
		for _, e := range es {
			if e.token == final && !e.fail {
				ranFinal = true
				continue
			}
			switch {
			case e.fail:
				retried++
			case e.runner.killed:
				killedAttempts++
			case lost[e.runner][id]:
				lostAttempts++
			default:
				t.Fatalf("task %s: execution with token %d in runner %s (not killed, lease not lost) did not complete it", id, e.token, e.runner.name)
			}
		}
		if !ranFinal {
			t.Fatalf("task %s: completed with token %d, but no successful handler execution had that token", id, final)
		}
		if completions == 0 {
			// Killed after the completion committed, before it was printed.
			if !killedRunnerRan(es, final) {
				t.Fatalf("task %s is completed, the completion was never acknowledged, and its runner was not killed", id)
			}
			unacked++
		}
	}
	t.Logf("%d handler executions for %d tasks: %d planned failures (%d tasks failed by plan on their last attempt), %d attempts cut short by SIGKILL, %d by a lost lease; %d lost attempts counted; %d tasks failed for being lost more than %d times; %d completions committed but unacknowledged because of a kill",
		executions, n, retried, failedByPlan, killedAttempts, lostAttempts, lostCounted, lostTooOften, kvtask.DefaultMaxLost, unacked)
	return n - failedByPlan - lostTooOften
}

// failedTooOften checks a failed task: its handler ran and failed by plan
// on its last attempt, after MaxRetries+1 failed attempts; or (reported
// true) it was lost more than the runners' MaxLost times. A kill never
// fails a task otherwise.
func failedTooOften(t *testing.T, task kvtask.Task, es []execution) bool {
	t.Helper()
	if task.Lost > kvtask.DefaultMaxLost {
		want := fmt.Sprintf("the runner was lost %d times", task.Lost)
		if !strings.HasPrefix(task.LastError, want) {
			t.Fatalf("task %s lost %d times failed with %q, want %q", task.ID, task.Lost, task.LastError, want)
		}
		return true
	}
	if task.LastError != "planned failure" {
		t.Fatalf("task %s failed with %q (attempts %d, lost %d): not by plan", task.ID, task.LastError, task.Attempts, task.Lost)
	}
	ran := false
	for _, e := range es {
		ran = ran || (e.token == task.Token && e.fail)
	}
	if !ran {
		t.Fatalf("task %s failed with token %d, but no handler execution with that token failed", task.ID, task.Token)
	}
	if failed := task.Attempts - task.Lost; failed != task.MaxRetries+1 {
		t.Fatalf("task %s failed after %d failed attempts (attempts %d, lost %d), want MaxRetries+1 = %d", task.ID, failed, task.Attempts, task.Lost, task.MaxRetries+1)
	}
	return false
}

// checkAttempts checks a task's counts against what the runners printed:
// every outcome recorded belongs to an attempt that was not lost, and an
// attempt that was not lost but has no printed outcome ran in a runner
// that was killed (after its outcome committed, before it was printed).
func checkAttempts(t *testing.T, task kvtask.Task, fins []string, es []execution) {
	t.Helper()
	killed := 0
	for _, e := range es {
		if e.runner.killed {
			killed++
		}
	}
	if kept := task.Attempts - task.Lost; kept < len(fins) || kept > len(fins)+killed {
		t.Fatalf("task %s: %d attempts, %d lost, %d outcomes recorded (%v), %d executions in killed runners",
			task.ID, task.Attempts, task.Lost, len(fins), fins, killed)
	}
}

// killedRunnerRan reports whether the execution with token ran in a runner
// that was killed.
func killedRunnerRan(es []execution, token int64) bool {
	for _, e := range es {
		if e.token == token && e.runner.killed {
			return true
		}
	}
	return false
}

// lostTasks returns the tasks whose lease a runner's log says it lost.
func lostTasks(stderr string) map[string]bool {
	out := map[string]bool{}
	for _, line := range strings.Split(stderr, "\n") {
		var rec struct {
			Msg  string `json:"msg"`
			Task string `json:"task"`
		}
		if json.Unmarshal([]byte(line), &rec) == nil && strings.HasPrefix(rec.Msg, "lost the task's lease") {
			out[rec.Task] = true
		}
	}
	return out
}
