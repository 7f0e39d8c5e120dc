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
// moments. At the end every task is completed, exactly once (one accepted
// completion, by a token that ran the handler), and every extra handler
// execution is accounted for: a planned failure that was retried, an
// attempt in a process that was killed, or an attempt whose lease was lost.
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
	checkTasks(t, s, n, all)
	t.Logf("%s: %d tasks completed exactly once in %v by %d runner processes; %d SIGKILLs with restarts",
		kind, n, elapsed.Round(time.Millisecond), len(all), kills)
}

// enqueue adds n tasks, with retries enough for every kill.
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
				// Each claim counts as an attempt, also one whose runner
				// was killed: leave room for every kill and failure.
				task.MaxRetries = 1000
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

// checkTasks checks the final state against what the runners printed.
func checkTasks(t *testing.T, s *kvtask.Scheduler, n int, runners []*child) {
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
	var executions, retried, killedAttempts, lostAttempts, unacked int
	for id, task := range tasks {
		if task.Status != kvtask.StatusCompleted || task.Completed == nil {
			t.Fatalf("task %s is %s (completed %v), want completed", id, task.Status, task.Completed)
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
		es := execs[id]
		if len(es) == 0 {
			t.Fatalf("task %s is completed but its handler never ran", id)
		}
		executions += len(es)
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
	t.Logf("%d handler executions for %d tasks: %d planned failures retried, %d attempts cut short by SIGKILL, %d by a lost lease; %d completions committed but unacknowledged because of a kill",
		executions, n, retried, killedAttempts, lostAttempts, unacked)
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
