package natspublish_test

import (
	"bufio"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"log/slog"
	"os"
	"os/exec"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/nats-io/nats.go/jetstream"

	"github.com/kvsuite/kv/kvcore"
	coredriver "github.com/kvsuite/kv/kvcore/driver"
	"github.com/kvsuite/kv/kvlock"
	"github.com/kvsuite/kv/kvnats"
	"github.com/kvsuite/kv/kvnats/kvnatstest"
	"github.com/kvsuite/kv/kvstream"
	streamdriver "github.com/kvsuite/kv/kvstream/driver"
)

// The settings a publisher process takes from its environment.
const (
	envBackend  = "KV_NATSPUBLISH_BACKEND"  // "sqlite" or "postgres"
	envWhere    = "KV_NATSPUBLISH_WHERE"    // the SQLite file or the PostgreSQL database
	envPrefix   = "KV_NATSPUBLISH_PREFIX"   // the subject prefix
	envStream   = "KV_NATSPUBLISH_STREAM"   // the JetStream stream
	envConsumer = "KV_NATSPUBLISH_CONSUMER" // the consumer's name
)

// killedLease is the lease duration of the publisher processes: short,
// so that a killed one's lease expires soon.
const killedLease = 2 * time.Second

// commitDelay slows each commit of a publisher process, widening the
// window between JetStream's acknowledgements and the commit, where a kill
// makes the next process publish the batch again.
const commitDelay = 150 * time.Millisecond

// slowCommits is a stream driver whose commits wait commitDelay first.
type slowCommits struct{ streamdriver.Stream }

func (s slowCommits) Commit(ctx context.Context, name string, position int64, fence *coredriver.Fence, now time.Time) error {
	time.Sleep(commitDelay)
	return s.Stream.Commit(ctx, name, position, fence, now)
}

// runChild is a publisher process: it publishes the kv stream of the
// database in its environment until killed, taking the consumer over once
// a killed process's lease has expired. It logs JSON to stderr.
func runChild() int {
	ctx := context.Background()
	db, err := openDB(ctx, os.Getenv(envBackend), os.Getenv(envWhere))
	if err != nil {
		fmt.Fprintln(os.Stderr, "child:", err)
		return 3
	}
	defer db.Close()
	log := slog.New(slog.NewJSONHandler(os.Stderr, &slog.HandlerOptions{Level: slog.LevelInfo}))
	s, err := kvstream.New(slowCommits{db}, kvstream.WithMaxPoll(20*time.Millisecond), kvstream.WithLogger(log))
	if err != nil {
		fmt.Fprintln(os.Stderr, "child:", err)
		return 3
	}
	nc, err := kvnats.Connect(kvnatstest.URL())
	if err != nil {
		fmt.Fprintln(os.Stderr, "child:", err)
		return 3
	}
	defer nc.Close()
	p, err := kvnats.New(s, nc, os.Getenv(envConsumer), kvnats.SubjectPrefix(os.Getenv(envPrefix)),
		kvnats.JetStreamStream(os.Getenv(envStream)), kvnats.Logger(log), kvnats.RetryBackoff(10*time.Millisecond, 200*time.Millisecond),
		kvnats.ConsumerOptions(kvstream.BatchSize(200), kvstream.LeaseDuration(killedLease)))
	if err != nil {
		fmt.Fprintln(os.Stderr, "child:", err)
		return 3
	}
	// Run again whatever stopped it, as a supervisor would: the killed
	// process's lease has not expired yet (kvlock.ErrHeld), or this one
	// lost its lease on a loaded machine. The test fails if nothing
	// gets published.
	for {
		err := p.Run(ctx)
		if !errors.Is(err, kvlock.ErrHeld) {
			fmt.Fprintln(os.Stderr, "child: Run:", err)
		}
		time.Sleep(50 * time.Millisecond)
	}
}

// child is a running publisher process.
type child struct {
	cmd    *exec.Cmd
	stderr *kvnatstest.Log
	exited chan struct{}
}

// startChild starts a publisher process with env.
func startChild(t *testing.T, env ...string) *child {
	t.Helper()
	cmd := exec.Command(os.Args[0], "-test.run=^$")
	cmd.Env = append(os.Environ(), append(env, childEnv+"=publisher")...)
	c := &child{cmd: cmd, stderr: &kvnatstest.Log{}, exited: make(chan struct{})}
	cmd.Stderr = c.stderr
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	go func() {
		_ = cmd.Wait()
		close(c.exited)
	}()
	return c
}

// kill SIGKILLs the process and waits for it to end.
func (c *child) kill() {
	_ = c.cmd.Process.Signal(syscall.SIGKILL)
	<-c.exited
}

// duplicates sums what the process logged of entries JetStream dropped as
// already stored.
func (c *child) duplicates(t *testing.T) int {
	n := 0
	sc := bufio.NewScanner(strings.NewReader(c.stderr.String()))
	for sc.Scan() {
		var line struct {
			Msg        string `json:"msg"`
			Duplicates int    `json:"duplicates"`
		}
		if json.Unmarshal(sc.Bytes(), &line) == nil && strings.Contains(line.Msg, "dropped entries it already had") {
			n += line.Duplicates
		}
	}
	return n
}

// TestPublisherKilled: publisher processes are SIGKILLed again and again
// between publishing a batch and committing it, while entries are
// written; each restart publishes the batch again. At the end the
// JetStream stream holds every entry exactly once, in seq order.
func TestPublisherKilled(t *testing.T) {
	forEachBackend(t, func(t *testing.T, kind, where string) {
		const (
			total = 3000 // entries
			kills = 5
		)
		ctx := context.Background()
		nc := kvnatstest.Connect(t)
		js, err := jetstream.New(nc)
		if err != nil {
			t.Fatal(err)
		}
		name, prefix := kvnatstest.Stream(t, nc, jetstream.StreamConfig{})
		db := mustOpen(t, kind, where)
		store, err := db.Store(kvcore.WithSweepInterval(0))
		if err != nil {
			t.Fatal(err)
		}
		defer store.Close()
		s, err := kvstream.New(db)
		if err != nil {
			t.Fatal(err)
		}
		// Half the entries first, the other half while publishers run
		// and die.
		putKeys(t, store, 0, total/2)
		writeErr := make(chan error, 1)
		go func() {
			for i := total / 2; i < total; i += 50 {
				var muts []kvcore.Mutation
				for j := i; j < i+50; j++ {
					muts = append(muts, kvcore.Put(fmt.Sprintf("k/%d", j), -1, j))
				}
				if _, err := store.MutateAll(ctx, muts...); err != nil {
					writeErr <- err
					return
				}
				time.Sleep(20 * time.Millisecond)
			}
			writeErr <- nil
		}()

		env := []string{envBackend + "=" + kind, envWhere + "=" + where, envPrefix + "=" + prefix,
			envStream + "=" + name, envConsumer + "=pusher", "KV_TEST_NATS_URL=" + kvnatstest.URL()}
		dups := 0
		var killedAt uint64 // how many entries were stored at the last kill
		for k := 1; k <= kills; k++ {
			c := startChild(t, env...)
			// Kill it once it has committed what its predecessor left
			// published but uncommitted, and published entries it has
			// not committed.
			deadline := time.Now().Add(60 * time.Second)
			for {
				stored, pos := storedCount(t, js, name), position(t, s, "pusher")
				if uint64(pos) >= killedAt && stored > uint64(pos) {
					killedAt = stored
					break
				}
				select {
				case <-c.exited:
					t.Fatalf("publisher %d exited:\n%s", k, c.stderr)
				default:
				}
				if time.Now().After(deadline) {
					t.Fatalf("publisher %d published nothing past its commit (stored %d, committed %d):\n%s", k, stored, pos, c.stderr)
				}
				time.Sleep(time.Millisecond)
			}
			c.kill()
			dups += c.duplicates(t)
			t.Logf("killed publisher %d: %d stored, %d committed", k, storedCount(t, js, name), position(t, s, "pusher"))
		}
		if err := <-writeErr; err != nil {
			t.Fatal(err)
		}
		last, err := s.Seq(ctx)
		if err != nil {
			t.Fatal(err)
		}
		c := startChild(t, env...)
		waitCommitted(t, s, "pusher", last, 2*time.Minute)
		c.kill()
		dups += c.duplicates(t)

		id, err := kvnats.Identity(ctx, s)
		if err != nil {
			t.Fatal(err)
		}
		all := entries(t, s)
		if len(all) != total {
			t.Fatalf("%d entries in the kv stream, want %d", len(all), total)
		}
		checkExactlyOnce(t, nc, name, prefix, id, all)
		if dups == 0 {
			t.Fatal("JetStream dropped no duplicate: no kill fell between publishing and committing")
		}
		t.Logf("%s: %d entries exactly once after %d kills; JetStream dropped %d entries published again", kind, total, kills, dups)
	})
}
