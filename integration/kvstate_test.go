package integration_test

import (
	"bufio"
	"context"
	"fmt"
	"io"
	"os"
	"os/exec"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/kvsuite/kv/kvcore"
	"github.com/kvsuite/kv/kvstate"
	"github.com/kvsuite/kv/kvstate/kvstatetest"
	"github.com/kvsuite/kv/kvstream"
)

// TestKVState runs kvstate's suite on every backend.
func TestKVState(t *testing.T) {
	forEachBackend(t, func(t *testing.T, b backend) {
		kvstatetest.Run(t, func(t *testing.T) *kvcore.Store { return openT(t, b.newPlace(t)).store })
	})
}

// TestKVStateOutboundStream follows a machine's outbound events through
// the change stream by their type, as a kvstream consumer does: every one
// arrives once, in each entity's order, and its key and value say which
// entity, which event and what it holds.
func TestKVStateOutboundStream(t *testing.T) {
	forEachBackend(t, func(t *testing.T, b backend) {
		p := b.newPlace(t)
		o := openT(t, p)
		ctx := context.Background()
		counters, err := kvstatetest.Counters(o.store, nil)
		if err != nil {
			t.Fatal(err)
		}
		const perEntity = 5
		ids := []string{"a", "b", "c"}
		for range perEntity {
			for _, id := range ids {
				e, err := counters.Load(ctx, id)
				if err != nil {
					t.Fatal(err)
				}
				if _, err := e.Process(ctx, kvstatetest.Increment{By: 1}); err != nil {
					t.Fatal(err)
				}
			}
		}
		stream, err := kvstream.New(o.db)
		if err != nil {
			t.Fatal(err)
		}
		c, err := stream.Consumer("outbound-"+randomName(),
			kvstream.Filters(kvstream.OfType("Incremented"), kvstream.InNamespace(p.namespace)))
		if err != nil {
			t.Fatal(err)
		}
		defer c.Close(ctx)
		// Read until all are in: a reader sees an entry only once every
		// earlier one is visible, which on PostgreSQL can wait for other
		// sessions' transactions to end.
		want := perEntity * len(ids)
		var recs []kvstream.Record
		for deadline := time.Now().Add(time.Minute); len(recs) < want && time.Now().Before(deadline); {
			batch, err := c.Get(ctx)
			if err != nil {
				t.Fatal(err)
			}
			recs = append(recs, batch...)
			if len(batch) == 0 {
				time.Sleep(20 * time.Millisecond)
			}
		}
		last := map[string]int64{}
		for _, r := range recs {
			ref, ok := kvstate.ParseEventKey(r.Key)
			if !ok || !ref.Outbound || ref.Kind != "Counter" || r.Action != "create" {
				t.Fatalf("stream record %+v (%+v, %t)", r, ref, ok)
			}
			v, err := counters.DecodeEvent(r.Type, r.Value)
			if err != nil {
				t.Fatal(err)
			}
			if ref.Seq <= last[ref.ID] || v != (kvstatetest.Incremented{N: ref.Seq / 2}) {
				t.Fatalf("event %d of %s (%v) after event %d", ref.Seq, ref.ID, v, last[ref.ID])
			}
			last[ref.ID] = ref.Seq
		}
		if len(recs) != want || len(last) != len(ids) {
			t.Fatalf("%d outbound events of %d entities in the stream, want %d of %d", len(recs), len(last), want, len(ids))
		}
	})
}

// TestKVStateProcesses runs the suite's concurrent increments from two OS
// processes at once, 8 goroutines × 100 increments in each, on one entity:
// the count ends at exactly 1,600, with 1,600 inbound and 1,600 outbound
// events numbered without a gap or a duplicate.
func TestKVStateProcesses(t *testing.T) {
	const procs, goroutines, each = 2, 8, 100
	forEachBackend(t, func(t *testing.T, b backend) {
		p := b.newPlace(t)
		o := openT(t, p) // creates the schema before the children start
		var children []*child
		for i := range procs {
			c, err := startChild(t, "kvstate-increments", fmt.Sprintf("writer-%d", i), append(p.env(),
				envID+"=hot", envGoroutines+"="+strconv.Itoa(goroutines), envEach+"="+strconv.Itoa(each))...)
			if err != nil {
				t.Fatal(err)
			}
			children = append(children, c)
		}
		for _, c := range children { // both open and wait, then start together
			if err := c.waitLine("ready", time.Minute); err != nil {
				t.Fatal(err)
			}
		}
		for _, c := range children {
			c.send("go")
		}
		var transitions int64
		for _, c := range children {
			if err := c.wait(5 * time.Minute); err != nil {
				t.Fatal(err)
			}
			n, err := strconv.ParseInt(strings.TrimPrefix(c.last(), "transitions "), 10, 64)
			if err != nil {
				t.Fatalf("child %s printed %q", c.name, c.last())
			}
			transitions += n
		}
		t.Logf("%d transitions for %d commits from %d processes: %d lost to conflicts and run again",
			transitions, procs*goroutines*each, procs, transitions-procs*goroutines*each)
		kvstatetest.CheckIncrements(t, o.store, "hot", procs*goroutines*each)
	})
}

// Environment variables of the kvstate-increments child.
const (
	envID         = "KV_INT_ID"
	envGoroutines = "KV_INT_GOROUTINES"
	envEach       = "KV_INT_EACH"
)

// runChild runs the child mode and returns the process's exit code.
func runChild(mode string) int {
	var err error
	switch mode {
	case "kvstate-increments":
		err = incrementsChild()
	default:
		err = fmt.Errorf("unknown child mode %q", mode)
	}
	if err != nil {
		fmt.Fprintln(os.Stderr, "child", mode, "failed:", err)
		return 3
	}
	return 0
}

// incrementsChild opens its place, says "ready", waits for "go" on stdin,
// runs kvstatetest.Increments and prints how many transitions it ran.
func incrementsChild() error {
	ctx := context.Background()
	o, err := open(ctx, placeFromEnv())
	if err != nil {
		return err
	}
	defer o.close()
	goroutines, err1 := strconv.Atoi(os.Getenv(envGoroutines))
	each, err2 := strconv.Atoi(os.Getenv(envEach))
	if err1 != nil || err2 != nil {
		return fmt.Errorf("bad %s or %s", envGoroutines, envEach)
	}
	fmt.Println("ready")
	if line, err := bufio.NewReader(os.Stdin).ReadString('\n'); err != nil || line != "go\n" {
		return fmt.Errorf("waiting for go: %q, %v", line, err)
	}
	// One machine: its goroutines' Process calls take turns, so the
	// writes conflict only with the other process's. Those can lose many
	// times in a row to a process that commits back to back, so the
	// retries are raised: the test checks exactness, not the default.
	n, err := kvstatetest.Increments(ctx, o.store, os.Getenv(envID), kvstatetest.Writers{
		Goroutines: goroutines, Each: each, Options: []kvstate.Option{kvstate.WithRetries(100000)}})
	if err != nil {
		return err
	}
	fmt.Println("transitions", n)
	return nil
}

// child is the test binary running a child mode.
type child struct {
	name  string
	cmd   *exec.Cmd
	stdin io.WriteCloser
	lines chan string
	done  chan struct{}
	out   []string // every line, once done is closed
	err   error    // from Wait, once done is closed
	errs  strings.Builder
}

// startChild starts the test binary in mode with env added, killed when t
// ends if it is still running.
func startChild(t testing.TB, mode, name string, env ...string) (*child, error) {
	c := &child{name: name, lines: make(chan string, 100), done: make(chan struct{})}
	c.cmd = exec.Command(os.Args[0])
	c.cmd.Env = append(append(os.Environ(), childEnv+"="+mode), env...)
	c.cmd.Stderr = &c.errs
	var err error
	if c.stdin, err = c.cmd.StdinPipe(); err != nil {
		return nil, err
	}
	stdout, err := c.cmd.StdoutPipe()
	if err != nil {
		return nil, err
	}
	if err := c.cmd.Start(); err != nil {
		return nil, err
	}
	go func() {
		sc := bufio.NewScanner(stdout)
		for sc.Scan() {
			c.out = append(c.out, sc.Text())
			select {
			case c.lines <- sc.Text():
			default:
			}
		}
		c.err = c.cmd.Wait()
		close(c.done)
	}()
	t.Cleanup(func() {
		_ = c.stdin.Close()
		select {
		case <-c.done:
		default:
			_ = c.cmd.Process.Kill()
			<-c.done
		}
	})
	return c, nil
}

// waitLine waits for the child to print want.
func (c *child) waitLine(want string, d time.Duration) error {
	deadline := time.After(d)
	for {
		select {
		case line := <-c.lines:
			if line == want {
				return nil
			}
		case <-c.done:
			return fmt.Errorf("child %s exited before %q: %v; stderr: %s", c.name, want, c.err, c.errs.String())
		case <-deadline:
			return fmt.Errorf("child %s did not print %q in %v", c.name, want, d)
		}
	}
}

// send writes a line to the child's stdin.
func (c *child) send(line string) { _, _ = io.WriteString(c.stdin, line+"\n") }

// wait waits for the child to exit successfully.
func (c *child) wait(d time.Duration) error {
	select {
	case <-c.done:
		if c.err != nil {
			return fmt.Errorf("child %s: %v; stderr: %s", c.name, c.err, c.errs.String())
		}
		return nil
	case <-time.After(d):
		return fmt.Errorf("child %s still running after %v", c.name, d)
	}
}

// last is the child's last line of output, once it has exited.
func (c *child) last() string {
	if len(c.out) == 0 {
		return ""
	}
	return c.out[len(c.out)-1]
}
