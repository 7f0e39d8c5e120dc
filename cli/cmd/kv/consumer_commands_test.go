package main

import (
	"context"
	"encoding/json"
	"testing"
	"time"

	"github.com/kvsuite/kv/cli/internal/open"
	"github.com/kvsuite/kv/kvstream"
)

// outConsumer is a consumer's status as kv prints it.
type outConsumer struct {
	Name     string    `json:"name"`
	Position int64     `json:"position"`
	Updated  time.Time `json:"updated"`
	Lag      int64     `json:"lag"`
	Held     bool      `json:"held"`
	Lease    outLease  `json:"lease"`
}

func consumerStatus(t *testing.T, conn, name string) outConsumer {
	t.Helper()
	out := mustKV(t, "", "consumer", "status", name, conn)
	var fields map[string]json.RawMessage
	if err := json.Unmarshal([]byte(out), &fields); err != nil {
		t.Fatalf("output %q: %v", out, err)
	}
	for _, f := range []string{"name", "position", "updated", "lag", "held", "lease"} {
		if _, ok := fields[f]; !ok {
			t.Fatalf("output %q has no %q field", out, f)
		}
	}
	var c outConsumer
	if err := json.Unmarshal([]byte(out), &c); err != nil {
		t.Fatal(err)
	}
	return c
}

func TestConsumerCommands(t *testing.T) {
	conn, _ := newDB(t)
	fillStream(t, conn)
	runSteps(t, conn, []step{
		{name: "status of unknown", args: []string{"consumer", "status", "c"}, code: 1, stderr: `consumer status: no consumer named "c"`},
		{name: "delete unknown", args: []string{"consumer", "delete", "c"}, code: 1, stderr: `consumer delete: no consumer named "c"`},
	})
	// get --commit-mode=batch reads batches after the position and commits them.
	for _, want := range []string{"1,2", "3,4", "5,6", "", ""} {
		if got := streamOut(t, "consumer", "get", "c", "--limit=2", "--commit-mode=batch", conn); got != want {
			t.Fatalf("consumer get: %q, want %q", got, want)
		}
	}
	c := consumerStatus(t, conn, "c")
	if c.Name != "c" || c.Position != 6 || c.Lag != 0 || c.Held || c.Lease.Name != kvstream.LeasePrefix+"c" || c.Lease.Owner != "" || c.Updated.IsZero() {
		t.Errorf("status = %+v", c)
	}
	if c.Lease.Token < 1 {
		t.Errorf("the consumer's lease was never taken: %+v", c.Lease)
	}

	// An administrator's commit moves it back; none peeks; all commits.
	runSteps(t, conn, []step{
		{name: "commit", args: []string{"consumer", "commit", "c", "2"}, wantOut: true, stdout: ""},
	})
	if c := consumerStatus(t, conn, "c"); c.Position != 2 || c.Lag != 4 {
		t.Errorf("status after commit 2 = %+v", c)
	}
	for i := 0; i < 2; i++ {
		if got := streamOut(t, "consumer", "get", "c", "--limit", "3", "--commit-mode=none", conn); got != "3,4,5" {
			t.Errorf("peek %d: %q", i, got)
		}
	}
	if got := streamOut(t, "consumer", "get", "c", "--commit-mode=all", "--limit=1", conn); got != "3" {
		t.Errorf("commit-mode all: %q", got)
	}
	if c := consumerStatus(t, conn, "c"); c.Position != 3 {
		t.Errorf("position after get --commit-mode=all = %d", c.Position)
	}
	// Filters: --of-type and --stream (a namespace).
	if got := streamOut(t, "consumer", "get", "c", "--of-type=User", conn); got != "4,5,6" {
		t.Errorf("--of-type=User: %q", got)
	}
	if c := consumerStatus(t, conn, "c"); c.Position != 3 {
		t.Errorf("position after a get without --commit-mode = %d, want 3 (unmoved)", c.Position)
	}
	if got := streamOut(t, "consumer", "get", "d", "--stream=other", "--owner=me", "--commit-mode=batch", conn); got != "5" {
		t.Errorf("--stream=other: %q", got)
	}
	// A filtered consumer's position moves past the entries it skipped
	// (6, of another namespace): it does not lag behind them.
	if c := consumerStatus(t, conn, "d"); c.Position != 6 || c.Lag != 0 {
		t.Errorf("status of d = %+v", c)
	}
	if got := streamOut(t, "consumer", "get", "e", "--of-type=None", "--commit-mode=all", conn); got != "" {
		t.Errorf("--of-type=None: %q", got)
	}
	if c := consumerStatus(t, conn, "e"); c.Position != 6 || c.Lag != 0 {
		t.Errorf("status of e, which matched nothing = %+v", c)
	}
	if got := streamOut(t, "consumer", "get", "f", "--of-type=User", "--commit-mode=none", conn); got != "1,3,4,5,6" {
		t.Errorf("peek --of-type=User: %q", got)
	}
	if c := consumerStatus(t, conn, "f"); c.Position != 0 {
		t.Errorf("status of f, which peeked = %+v", c)
	}

	// Commits outside the stream are refused and change nothing.
	runSteps(t, conn, []step{
		{name: "commit past the end", args: []string{"consumer", "commit", "c", "7"}, code: 1, stderr: "last-seq 7 is after the end of the stream (its last seq is 6)"},
		{name: "commit creates", args: []string{"consumer", "commit", "new", "0"}},
		{name: "trim", args: []string{"stream", "trim", "2", "--force"}, wantOut: true, stdout: "2\n"},
		{name: "commit trimmed", args: []string{"consumer", "commit", "c", "1"}, code: 1, stderr: "last-seq 1 was trimmed: the stream now starts at 3 (commit 2 or more)"},
		{name: "new consumer was trimmed", args: []string{"consumer", "get", "new"}, code: 1, stderr: "stream position 1 was trimmed: the stream now starts at 3"},
		{name: "delete", args: []string{"consumer", "delete", "c"}, wantOut: true, stdout: ""},
		{name: "deleted", args: []string{"consumer", "status", "c"}, code: 1, stderr: `no consumer named "c"`},
	})
	if c := consumerStatus(t, conn, "new"); c.Position != 0 {
		t.Errorf("a refused get moved the position: %+v", c)
	}
	// A deleted consumer starts again where the stream starts.
	if got := streamOut(t, "consumer", "get", "c", conn); got != "3,4,5,6" {
		t.Errorf("get after delete: %q", got)
	}
}

// TestTrimKeepsConsumers: without --force, trim stops at the lowest
// position a consumer committed, and says so.
func TestTrimKeepsConsumers(t *testing.T) {
	conn, _ := newDB(t)
	fillStream(t, conn)
	streamOut(t, "consumer", "get", "slow", "--limit=2", "--commit-mode=batch", conn)
	streamOut(t, "consumer", "get", "fast", "--commit-mode=batch", conn)
	runSteps(t, conn, []step{
		{name: "trim stops at the consumer, and fails", args: []string{"stream", "trim", "5"}, code: 1, wantOut: true, stdout: "2\n",
			stderr: `stream trim: trimmed only part of what was asked: stopped at 2, short of 5: consumer slow has committed only up to 2 (use --force to trim past it)`},
		{name: "slow reads on", args: []string{"consumer", "get", "slow", "--limit=1", "--commit-mode=batch"}, keys: nil},
		{name: "trim follows it", args: []string{"stream", "trim", "5"}, code: 1, wantOut: true, stdout: "3\n", stderr: `consumer slow has committed only up to 3`},
		{name: "force", args: []string{"stream", "trim", "5", "--force"}, wantOut: true, stdout: "5\n"},
		{name: "slow is trimmed", args: []string{"consumer", "get", "slow"}, code: 1, stderr: "stream position 4 was trimmed: the stream now starts at 6"},
		{name: "fast is not", args: []string{"consumer", "get", "fast"}, wantOut: true, stdout: ""},
		{name: "an admin moves slow on", args: []string{"consumer", "commit", "slow", "5"}},
	})
	if got := streamOut(t, "consumer", "get", "slow", conn); got != "6" {
		t.Errorf("slow after commit: %q", got)
	}
}

// TestConsumerStream: a running consumer prints the records written while it
// runs, commits them, and keeps other instances out; with --idle-exit it
// stops by itself once nothing new arrives, releasing its lease.
func TestConsumerStream(t *testing.T) {
	conn, path := newDB(t)
	mustKV(t, `{"n":0}`, "put", "before", conn)
	ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
	defer cancel()
	// No --idle-exit for this run: the checks made while it runs take an
	// unknown time on a loaded machine, and an idle limit could end it in
	// the middle of them. It is stopped as Ctrl+C stops it, below.
	runCtx, interrupt := context.WithCancel(ctx)
	defer interrupt()
	stdout, _, wait := background(runCtx, "consumer", "stream", "c", "--poll-interval=20ms", "--owner=runner", "--log-level=warn", conn)
	eventually(t, "the consumer to hold its lease", func() bool {
		return *lockStatus(t, conn, kvstream.LeasePrefix+"c").Held
	})
	eventually(t, "the record written before", func() bool { return seqs(streamRecords(t, stdout.String())) == "1" })

	// Another instance cannot read meanwhile.
	runSteps(t, conn, []step{
		{name: "get while streaming", args: []string{"consumer", "get", "c"}, code: 1, stderr: `lease held by another owner (owner "runner")`},
		{name: "second stream", args: []string{"consumer", "stream", "c", "--idle-exit=1ms", "--log-level=warn"}, code: 1, stderr: `lease held by another owner (owner "runner"`},
	})
	if s := consumerStatus(t, conn, "c"); !s.Held || s.Lease.Owner != "runner" {
		t.Errorf("status while streaming = %+v", s)
	}

	// Write through the library, from another goroutine and connection.
	errc := make(chan error, 1)
	go func() {
		b, err := open.Open(ctx, open.Config{Type: "sqlite", Connection: "file:" + path + "?mode=rwc", Namespace: "ns"})
		if err != nil {
			errc <- err
			return
		}
		defer b.Close()
		for _, k := range []string{"x", "y", "z"} {
			if err := b.Store.Put(ctx, k, -1, []byte(`{"k":"`+k+`"}`)); err != nil {
				errc <- err
				return
			}
			time.Sleep(50 * time.Millisecond)
		}
		errc <- nil
	}()
	if err := <-errc; err != nil {
		t.Fatal(err)
	}
	eventually(t, "the records written while it runs", func() bool { return seqs(streamRecords(t, stdout.String())) == "1,2,3,4" })
	interrupt()
	r := wait()
	if r.code != 0 || r.stderr != "" {
		t.Fatalf("consumer stream: exit %d stderr %q", r.code, r.stderr)
	}
	rs := streamRecords(t, r.stdout)
	if seqs(rs) != "1,2,3,4" || rs[3].Namespace != "ns" || rs[3].Key != "z" || string(rs[3].Value) != `{"k":"z"}` {
		t.Fatalf("consumer stream printed %s", r.stdout)
	}
	if s := consumerStatus(t, conn, "c"); s.Held || s.Position != 4 || s.Lag != 0 {
		t.Errorf("status after the interrupt = %+v", s)
	}

	// --idle-exit: it prints what is new, then stops by itself (exit 0),
	// having committed it and released its lease.
	mustKV(t, `{}`, "put", "t", "--record-type=T", conn)
	if got := streamOut(t, "consumer", "stream", "c", "runner", "--idle-exit=200ms", "--poll-interval=20ms", "--log-level=warn", conn); got != "5" {
		t.Errorf("stream --idle-exit: %q", got)
	}
	if s := consumerStatus(t, conn, "c"); s.Held || s.Position != 5 || s.Lag != 0 {
		t.Errorf("status after idle exit = %+v", s)
	}

	// Nothing new: the next run prints nothing and exits after the idle time.
	start := time.Now()
	runSteps(t, conn, []step{
		{name: "nothing new", args: []string{"consumer", "stream", "c", "--idle-exit=100ms", "--commit-mode=all", "--log-level=warn"}, wantOut: true, stdout: ""},
	})
	if d := time.Since(start); d > 5*time.Second {
		t.Errorf("--idle-exit=100ms took %v", d)
	}
	// --stream follows one namespace; --of-type one type.
	if got := streamOut(t, "consumer", "stream", "n", "--stream=ns", "--idle-exit=200ms", "--poll-interval=20ms", "--log-level=warn", conn); got != "2,3,4" {
		t.Errorf("--stream=ns: %q", got)
	}
	if got := streamOut(t, "consumer", "stream", "d", "--stream=", "--idle-exit=200ms", "--of-type=T", "--limit=1", "--log-level=warn", conn); got != "5" {
		t.Errorf("--stream= --of-type=T: %q", got)
	}
}

// TestConsumerStreamInterrupt: cancelling the context (what Ctrl+C and
// SIGTERM do in main) stops a consumer cleanly: exit 0 and its lease free.
func TestConsumerStreamInterrupt(t *testing.T) {
	conn, _ := newDB(t)
	fillStream(t, conn)
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	stdout, _, wait := background(ctx, "consumer", "stream", "c", "--commit-mode=all", "--log-level=warn", conn)
	eventually(t, "the records", func() bool { return seqs(streamRecords(t, stdout.String())) == "1,2,3,4,5,6" })
	if !*lockStatus(t, conn, kvstream.LeasePrefix+"c").Held {
		t.Fatal("the running consumer does not hold its lease")
	}
	cancel()
	r := wait()
	if r.code != 0 || r.stderr != "" {
		t.Fatalf("interrupted consumer stream: exit %d stderr %q", r.code, r.stderr)
	}
	if l := lockStatus(t, conn, kvstream.LeasePrefix+"c"); *l.Held || l.Owner != "" {
		t.Errorf("lease after interrupt = %+v", l)
	}
	if c := consumerStatus(t, conn, "c"); c.Position != 6 {
		t.Errorf("position after interrupt = %d", c.Position)
	}
	// A new run takes over at once and goes on from there.
	mustKV(t, `{}`, "put", "later", conn)
	if got := streamOut(t, "consumer", "stream", "c", "--idle-exit=100ms", "--log-level=warn", conn); got != "7" {
		t.Errorf("next run: %q", got)
	}
}
