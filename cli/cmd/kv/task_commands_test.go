package main

import (
	"bufio"
	"context"
	"encoding/json"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"
)

// outTask is a task as kv prints it.
type outTask struct {
	ID              string          `json:"id"`
	Name            string          `json:"name"`
	Payload         json.RawMessage `json:"payload"`
	Status          string          `json:"status"`
	Priority        int             `json:"priority"`
	UniqueKey       string          `json:"unique_key"`
	Created         time.Time       `json:"created"`
	ScheduledFor    time.Time       `json:"scheduled_for"`
	Attempts        int             `json:"attempts"`
	Lost            int             `json:"lost"`
	MaxRetries      int             `json:"max_retries"`
	AtMostOnce      bool            `json:"at_most_once"`
	TimeoutSeconds  int             `json:"timeout_seconds"`
	CancelRequested bool            `json:"cancel_requested"`
}

// tasks parses kv's JSON Lines output of tasks.
func tasks(t *testing.T, out string) []outTask {
	t.Helper()
	var ts []outTask
	sc := bufio.NewScanner(strings.NewReader(out))
	for sc.Scan() {
		var tk outTask
		if err := json.Unmarshal(sc.Bytes(), &tk); err != nil || tk.ID == "" {
			t.Fatalf("output line %q is not a task: %v", sc.Text(), err)
		}
		ts = append(ts, tk)
	}
	return ts
}

// oneTask parses the output of a command that prints one task.
func oneTask(t *testing.T, out string) outTask {
	t.Helper()
	ts := tasks(t, out)
	if len(ts) != 1 {
		t.Fatalf("output %q: %d tasks, want 1", out, len(ts))
	}
	return ts[0]
}

func ids(ts []outTask) string {
	var s []string
	for _, t := range ts {
		s = append(s, t.ID)
	}
	return strings.Join(s, ",")
}

func TestTaskNewGetListCancel(t *testing.T) {
	conn, _ := newDB(t)
	before := time.Now().UTC()
	a := oneTask(t, mustKV(t, `{"message": "Hello World"}`, "task", "new", "log", conn))
	if a.Name != "log" || string(a.Payload) != `{"message":"Hello World"}` || a.Status != "pending" ||
		a.Priority != 0 || a.MaxRetries != 0 || a.TimeoutSeconds != 0 || a.UniqueKey != "" || a.Attempts != 0 {
		t.Errorf("task new log = %+v", a)
	}
	if a.ScheduledFor.Before(before.Add(-time.Second)) || a.ScheduledFor.After(time.Now().Add(time.Second)) {
		t.Errorf("scheduled_for %v, want now", a.ScheduledFor)
	}
	b := oneTask(t, mustKV(t, `[1,2]`, "task", "new", "echo", "--priority", "5", "--max-retries=3",
		"--timeout", "30s", "--in", "1h", "--unique-key", "k1", conn))
	if b.Priority != 5 || b.MaxRetries != 3 || b.TimeoutSeconds != 30 || b.UniqueKey != "k1" || string(b.Payload) != "[1,2]" {
		t.Errorf("task new with flags = %+v", b)
	}
	if d := b.ScheduledFor.Sub(before); d < 59*time.Minute || d > 61*time.Minute {
		t.Errorf("--in 1h: scheduled_for %v, %v after the start", b.ScheduledFor, d)
	}
	c := oneTask(t, mustKV(t, `"x"`, "task", "new", "echo", "--at=2030-01-02T15:04:05+02:00", "--priority=-1", conn))
	if !c.ScheduledFor.Equal(time.Date(2030, 1, 2, 13, 4, 5, 0, time.UTC)) || c.Priority != -1 {
		t.Errorf("--at: %+v", c)
	}

	// get
	if g := oneTask(t, mustKV(t, "", "task", "get", b.ID, conn)); g.ID != b.ID || g.UniqueKey != "k1" || g.Status != "pending" {
		t.Errorf("task get = %+v", g)
	}
	if r := kv(t, "", "task", "get", "no-such-id", conn); r.code != 1 || r.stdout != "" || r.stderr != "kv: task get \"no-such-id\": task not found\n" {
		t.Errorf("task get unknown: %+v", r)
	}

	// list, filters and pages
	all := a.ID + "," + b.ID + "," + c.ID
	if got := ids(tasks(t, mustKV(t, "", "task", "list", conn))); got != all {
		t.Errorf("task list = %s, want %s", got, all)
	}
	if got := ids(tasks(t, mustKV(t, "", "task", "list", "--name=echo", conn))); got != b.ID+","+c.ID {
		t.Errorf("task list --name=echo = %s", got)
	}
	if got := ids(tasks(t, mustKV(t, "", "task", "list", "1", "1", conn))); got != b.ID {
		t.Errorf("task list 1 1 = %s", got)
	}
	if got := ids(tasks(t, mustKV(t, "", "task", "list", "2", conn))); got != c.ID {
		t.Errorf("task list 2 = %s", got)
	}
	if out := mustKV(t, "", "task", "list", "--status=cancelled", conn); out != "" {
		t.Errorf("task list --status=cancelled before any cancel = %q", out)
	}

	// cancel a pending task
	x := oneTask(t, mustKV(t, "", "task", "cancel", a.ID, conn))
	if x.ID != a.ID || x.Status != "cancelled" {
		t.Errorf("task cancel = %+v", x)
	}
	if got := ids(tasks(t, mustKV(t, "", "task", "list", "--status", "cancelled", conn))); got != a.ID {
		t.Errorf("task list --status cancelled = %s", got)
	}
	if got := ids(tasks(t, mustKV(t, "", "task", "list", "--status=pending", "--name=echo", conn))); got != b.ID+","+c.ID {
		t.Errorf("task list --status=pending --name=echo = %s", got)
	}
	// Cancelling again keeps it cancelled.
	if x := oneTask(t, mustKV(t, "", "task", "cancel", a.ID, conn)); x.Status != "cancelled" {
		t.Errorf("second cancel = %+v", x)
	}
	if r := kv(t, "", "task", "cancel", "no-such-id", conn); r.code != 1 || r.stdout != "" || !strings.Contains(r.stderr, ": task not found") {
		t.Errorf("task cancel unknown: %+v", r)
	}
}

func TestTaskUniqueKey(t *testing.T) {
	conn, _ := newDB(t)
	first := oneTask(t, mustKV(t, `{}`, "task", "new", "echo", "--unique-key=daily", conn))
	r := kv(t, `{}`, "task", "new", "echo", "--unique-key=daily", conn)
	if r.code != 1 || r.stdout != "" || !strings.Contains(r.stderr, `kv: task new: not added: task `+first.ID+` (pending) already has unique key "daily"`) {
		t.Errorf("duplicate unique key: %+v", r)
	}
	if n := len(tasks(t, mustKV(t, "", "task", "list", conn))); n != 1 {
		t.Errorf("%d tasks after a duplicate, want 1", n)
	}
	// Once the holder is cancelled, the key is free again.
	mustKV(t, "", "task", "cancel", first.ID, conn)
	second := oneTask(t, mustKV(t, `{}`, "task", "new", "echo", "--unique-key=daily", conn))
	if second.ID == first.ID || second.Status != "pending" {
		t.Errorf("new after cancel = %+v", second)
	}
}

func TestTaskBadInput(t *testing.T) {
	tests := []struct {
		name   string
		stdin  string
		args   []string
		code   int
		stderr string
	}{
		{"unknown status", "", []string{"task", "list", "--status=done"}, 2, `--status "done": want pending, running`},
		{"negative offset", "", []string{"task", "list", "0", "-1"}, 2, "-1 is negative"},
		{"bad timeout", `{}`, []string{"task", "new", "echo", "--timeout=soon"}, 2, `--timeout "soon": not a duration`},
		{"fractional timeout", `{}`, []string{"task", "new", "echo", "--timeout=1500ms"}, 2, "whole number of seconds"},
		{"negative timeout", `{}`, []string{"task", "new", "echo", "--timeout=-5s"}, 2, "whole number of seconds"},
		{"bad in", `{}`, []string{"task", "new", "echo", "--in=later"}, 2, `--in "later": not a duration`},
		{"negative in", `{}`, []string{"task", "new", "echo", "--in=-1m"}, 2, "--in -1m0s is negative"},
		{"bad at", `{}`, []string{"task", "new", "echo", "--at=tomorrow"}, 2, "not an RFC 3339 time"},
		{"at and in", `{}`, []string{"task", "new", "echo", "--at=2030-01-01T00:00:00Z", "--in=1h"}, 2, "give one of them"},
		{"negative retries", `{}`, []string{"task", "new", "echo", "--max-retries=-1"}, 2, "--max-retries -1 is negative"},
		{"bad retries", `{}`, []string{"task", "new", "echo", "--max-retries=many"}, 2, `--max-retries "many": not a whole number in decimal digits`},
		{"no name", `{}`, []string{"task", "new"}, 2, "want <name>"},
		{"empty name", `{}`, []string{"task", "new", ""}, 2, "task name is empty"},
		{"bad JSON payload", `{"a": }`, []string{"task", "new", "echo"}, 1, "stdin is not a JSON document"},
		{"empty payload", ``, []string{"task", "new", "echo"}, 1, "stdin is empty"},
		{"get no id", "", []string{"task", "get"}, 2, "want <id>"},
		{"cancel two ids", "", []string{"task", "cancel", "a", "b"}, 2, "want <id>"},
		{"run unknown task type", "", []string{"task", "run", "--task-types=echo,mystery"}, 2, `no handler for "mystery"`},
		{"run no concurrency", "", []string{"task", "run", "--concurrency=0"}, 2, "--concurrency 0"},
		{"run zero poll", "", []string{"task", "run", "--poll-interval=0s"}, 2, "--poll-interval 0s"},
		{"run short lock", "", []string{"task", "run", "--lock-duration=10ms"}, 2, "--lock-duration 10ms"},
		{"run args", "", []string{"task", "run", "now"}, 2, "want no arguments"},
		{"bad cron", `{}`, []string{"task", "schedule", "s", "every day", "echo"}, 1, `cron expression "every day"`},
		{"unschedule unknown", "", []string{"task", "unschedule", "nope"}, 1, `task unschedule "nope": schedule not found`},
		// Every bound, one step past it (TestTaskLimits: at it).
		{"retries over", `{}`, []string{"task", "new", "echo", "--max-retries=10001"}, 2, "max retries 10001 is out of range: want 0 to 10000"},
		{"retries max int", `{}`, []string{"task", "new", "echo", "--max-retries=9223372036854775807"}, 2, "max retries 9223372036854775807 is out of range: want 0 to 10000"},
		{"schedule retries over", `{}`, []string{"task", "schedule", "s", "@hourly", "echo", "--max-retries=10001"}, 2, "max retries 10001 is out of range"},
		{"timeout over", `{}`, []string{"task", "new", "echo", "--timeout=168h0m1s"}, 2, "timeout seconds 604801 is out of range: want 0 to 604800"},
		{"timeout max", `{}`, []string{"task", "new", "echo", "--timeout=2562047h"}, 2, "timeout seconds 9223369200 is out of range: want 0 to 604800"},
		{"priority over", `{}`, []string{"task", "new", "echo", "--priority=2147483648"}, 2, "priority 2147483648 is out of range: want -2147483648 to 2147483647"},
		{"priority under", `{}`, []string{"task", "new", "echo", "--priority=-2147483649"}, 2, "priority -2147483649 is out of range"},
		{"at before 1970", `{}`, []string{"task", "new", "echo", "--at=1970-01-01T00:00:00Z"}, 2, "scheduled time 1970-01-01T00:00:00Z is out of range: want after 1970-01-01T00:00:00Z and at most 9999-12-31T23:59:59.999999Z"},
		{"at-most-once retried", `{}`, []string{"task", "new", "echo", "--at-most-once", "--max-retries=1"}, 2, "an at-most-once task cannot be retried: max retries 1, want 0"},
		{"run lock over", "", []string{"task", "run", "--lock-duration=24h0m1s"}, 2, "--lock-duration 24h0m1s: want a duration from 1s to 24h0m0s"},
		{"run poll over", "", []string{"task", "run", "--poll-interval=168h0m1s"}, 2, "--poll-interval 168h0m1s: want a positive duration of at most 168h0m0s"},
		{"run concurrency over", "", []string{"task", "run", "--concurrency=10001"}, 2, "--concurrency 10001: want 1 to 10000"},
		{"run max lost zero", "", []string{"task", "run", "--max-lost=0"}, 2, "--max-lost 0: want 1 to 10000"},
		{"run max lost over", "", []string{"task", "run", "--max-lost=10001"}, 2, "--max-lost 10001: want 1 to 10000"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			conn, path := newDB(t)
			r := kv(t, tt.stdin, append(tt.args, conn)...)
			if r.code != tt.code {
				t.Errorf("exit %d, want %d (stderr %q)", r.code, tt.code, r.stderr)
			}
			if !strings.HasPrefix(r.stderr, "kv: ") || !strings.Contains(r.stderr, tt.stderr) {
				t.Errorf("stderr %q, want \"kv: ...%s...\"", r.stderr, tt.stderr)
			}
			if r.stdout != "" {
				t.Errorf("stdout %q, want nothing", r.stdout)
			}
			if tt.code == 2 && fileExists(path) {
				t.Errorf("a usage error created the database file")
			}
			if fileExists(path) {
				if out := mustKV(t, "", "task", "list", conn); out != "" {
					t.Errorf("bad input added tasks: %s", out)
				}
			}
		})
	}
}

func TestTaskRunIdleExit(t *testing.T) {
	conn, _ := newDB(t)
	e1 := oneTask(t, mustKV(t, `{"n": 1}`, "task", "new", "echo", conn))
	e2 := oneTask(t, mustKV(t, "{\n  \"n\": 2\n}", "task", "new", "echo", conn))
	lg := oneTask(t, mustKV(t, `{"message":"Hello World"}`, "task", "new", "log", conn))
	unknown := oneTask(t, mustKV(t, `{}`, "task", "new", "mystery", conn))
	later := oneTask(t, mustKV(t, `{"n": 3}`, "task", "new", "echo", "--in=1h", conn))

	// Only log tasks first: the echo tasks stay pending.
	r := kv(t, "", "task", "run", "--idle-exit", "--task-types=log", "--runner-id=r1", "--poll-interval=50ms", conn)
	if r.code != 0 || r.stdout != "" || !strings.Contains(r.stderr, `Hello World`) {
		t.Fatalf("task run --task-types=log: %+v", r)
	}
	if g := oneTask(t, mustKV(t, "", "task", "get", lg.ID, conn)); g.Status != "completed" || g.Attempts != 1 {
		t.Errorf("log task after run = %+v", g)
	}
	if g := oneTask(t, mustKV(t, "", "task", "get", e1.ID, conn)); g.Status != "pending" || g.Attempts != 0 {
		t.Errorf("echo task after a log-only run = %+v", g)
	}

	// Then everything built in, two at a time.
	r = kv(t, "", "task", "run", "--idle-exit", "--concurrency=2", "--lock-duration=1m", "--poll-interval=50ms", conn)
	if r.code != 0 {
		t.Fatalf("task run: %+v", r)
	}
	lines := strings.Split(strings.TrimSuffix(r.stdout, "\n"), "\n")
	if len(lines) != 2 || !strings.Contains(r.stdout, "{\"n\":1}\n") || !strings.Contains(r.stdout, "{\"n\":2}\n") {
		t.Errorf("task run stdout %q, want the two echo payloads as JSON lines", r.stdout)
	}
	for _, id := range []string{e1.ID, e2.ID} {
		if g := oneTask(t, mustKV(t, "", "task", "get", id, conn)); g.Status != "completed" {
			t.Errorf("echo task after run = %+v", g)
		}
	}
	// No handler: not claimed, still pending; not due yet: still pending.
	for _, id := range []string{unknown.ID, later.ID} {
		if g := oneTask(t, mustKV(t, "", "task", "get", id, conn)); g.Status != "pending" || g.Attempts != 0 {
			t.Errorf("task after run = %+v, want pending and never tried", g)
		}
	}
	if got := ids(tasks(t, mustKV(t, "", "task", "list", "--status=completed", conn))); got != e1.ID+","+e2.ID+","+lg.ID {
		t.Errorf("completed = %s", got)
	}
}

// TestTaskRunUntilSignal: without --idle-exit the runner keeps going until
// its context ends (Ctrl+C), then exits 0.
func TestTaskRunUntilSignal(t *testing.T) {
	conn, _ := newDB(t)
	e := oneTask(t, mustKV(t, `{"hello":"runner"}`, "task", "new", "echo", conn))
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	var stdout, stderr strings.Builder
	done := make(chan int)
	go func() {
		done <- run(ctx, []string{"task", "run", "--poll-interval=20ms", conn}, strings.NewReader(""), &stdout, &stderr)
	}()
	deadline := time.Now().Add(30 * time.Second)
	for {
		if g := oneTask(t, mustKV(t, "", "task", "get", e.ID, conn)); g.Status == "completed" {
			break
		}
		if time.Now().After(deadline) {
			cancel()
			<-done
			t.Fatalf("task not completed; stderr %s", stderr.String())
		}
		time.Sleep(20 * time.Millisecond)
	}
	select {
	case code := <-done:
		t.Fatalf("task run exited (%d) before it was stopped: %s", code, stderr.String())
	case <-time.After(100 * time.Millisecond):
	}
	cancel()
	if code := <-done; code != 0 || stdout.String() != "{\"hello\":\"runner\"}\n" {
		t.Errorf("task run after cancel: exit %d, stdout %q, stderr %q", code, stdout.String(), stderr.String())
	}
}

func TestTaskSchedules(t *testing.T) {
	conn, _ := newDB(t)
	out := mustKV(t, `{"report": true}`, "task", "schedule", "nightly", "0 3 * * *", "echo", "--priority=2", conn)
	var sc struct {
		Name     string    `json:"name"`
		Spec     string    `json:"spec"`
		Template outTask   `json:"template"`
		Next     time.Time `json:"next"`
	}
	if err := json.Unmarshal([]byte(out), &sc); err != nil {
		t.Fatalf("task schedule output %q: %v", out, err)
	}
	if sc.Name != "nightly" || sc.Spec != "0 3 * * *" || sc.Template.Name != "echo" || sc.Template.Priority != 2 ||
		string(sc.Template.Payload) != `{"report":true}` || sc.Next.Hour() != 3 || !sc.Next.After(time.Now()) {
		t.Errorf("task schedule = %+v", sc)
	}
	mustKV(t, `{}`, "task", "schedule", "often", "@every 1h", "log", conn)
	list := mustKV(t, "", "task", "schedules", conn)
	if n := strings.Count(list, "\n"); n != 2 || !strings.HasPrefix(list, `{"name":"nightly"`) || !strings.Contains(list, "\n{\"name\":\"often\"") {
		t.Errorf("task schedules = %q", list)
	}
	if out := mustKV(t, "", "task", "unschedule", "nightly", conn); out != "" {
		t.Errorf("task unschedule printed %q", out)
	}
	if list := mustKV(t, "", "task", "schedules", conn); strings.Contains(list, "nightly") || !strings.Contains(list, "often") {
		t.Errorf("task schedules after unschedule = %q", list)
	}
	if out := mustKV(t, "", "task", "list", conn); out != "" {
		t.Errorf("schedules added tasks before their tick: %s", out)
	}
}

// TestTaskLimits: every bounded task flag at its limit is accepted and
// stored as given; such a task (in year 9999, the largest retries and
// timeout, the lowest priority, at-most-once) is listed, exported and
// imported into another database unchanged. (TestTaskBadInput: one step
// past each limit.)
func TestTaskLimits(t *testing.T) {
	conn, _ := newDB(t)
	got := oneTask(t, mustKV(t, `{}`, "task", "new", "echo", "--max-retries=10000", "--timeout=168h",
		"--priority=-2147483648", "--at=9999-12-31T23:59:59.999999Z", conn))
	want := time.Date(9999, 12, 31, 23, 59, 59, 999999000, time.UTC)
	if got.MaxRetries != 10000 || got.TimeoutSeconds != 604800 || got.Priority != -2147483648 || !got.ScheduledFor.Equal(want) {
		t.Errorf("task new at the limits = %+v", got)
	}
	once := oneTask(t, mustKV(t, `{}`, "task", "new", "echo", "--at-most-once", "--priority=2147483647",
		"--at=1970-01-01T00:00:00.000001Z", conn))
	if !once.AtMostOnce || once.MaxRetries != 0 || once.Lost != 0 || once.Priority != 2147483647 {
		t.Errorf("task new --at-most-once = %+v", once)
	}
	if g := oneTask(t, mustKV(t, "", "task", "get", once.ID, conn)); !g.AtMostOnce {
		t.Errorf("task get of an at-most-once task = %+v", g)
	}
	if list := ids(tasks(t, mustKV(t, "", "task", "list", conn))); list != got.ID+","+once.ID {
		t.Errorf("task list = %s", list)
	}
	mustKV(t, `{}`, "task", "schedule", "s", "@hourly", "echo", "--at-most-once", "--max-retries=0", conn)

	file := filepath.Join(t.TempDir(), "tasks.jsonl")
	if err := os.WriteFile(file, []byte(mustKV(t, "", "export", "--tasks", conn)), 0o600); err != nil {
		t.Fatal(err)
	}
	dst, _ := newDB(t)
	mustKV(t, "", "init", dst)
	mustKV(t, "", "import", file, dst)
	for _, w := range []outTask{got, once} {
		g := oneTask(t, mustKV(t, "", "task", "get", w.ID, dst))
		if g.MaxRetries != w.MaxRetries || g.TimeoutSeconds != w.TimeoutSeconds || g.Priority != w.Priority ||
			!g.ScheduledFor.Equal(w.ScheduledFor) || g.AtMostOnce != w.AtMostOnce {
			t.Errorf("imported task %+v, want %+v", g, w)
		}
	}
	if list := mustKV(t, "", "task", "schedules", dst); !strings.Contains(list, `"at_most_once":true`) {
		t.Errorf("imported schedule lost at_most_once: %s", list)
	}
}
