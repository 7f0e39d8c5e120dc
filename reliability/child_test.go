package reliability_test

import (
	"bufio"
	"bytes"
	"context"
	"fmt"
	"io"
	"os"
	"os/exec"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"

	"github.com/kvsuite/kv/kvcore"
	"github.com/kvsuite/kv/kvlock"
	lockdriver "github.com/kvsuite/kv/kvlock/driver"
	streamdriver "github.com/kvsuite/kv/kvstream/driver"
	taskdriver "github.com/kvsuite/kv/kvtask/driver"

	postgreskv "github.com/kvsuite/kv/backend-postgres"
	rqlitekv "github.com/kvsuite/kv/backend-rqlite"
	sqlitekv "github.com/kvsuite/kv/backend-sqlite"
)

// Environment variables that pass a child its settings.
const (
	envBackend = "KV_REL_BACKEND" // "sqlite", "postgres" or "rqlite"
	envWhere   = "KV_REL_WHERE"   // the SQLite file, or the PostgreSQL schema
	envPGURL   = "KV_REL_PG_URL"  // the PostgreSQL database
	envName    = "KV_REL_NAME"    // the child's name (runner id, owner prefix)
	envArg     = "KV_REL_ARG"     // a mode-specific number
	envUntil   = "KV_REL_UNTIL"   // when to stop, Unix milliseconds
)

// runChild runs the helper mode and returns the process's exit code.
func runChild(mode string) int {
	var err error
	switch mode {
	case "crash-writer":
		err = crashWriter()
	case "lease-contender":
		err = leaseContender()
	case "task-runner":
		err = taskRunner()
	case "cache-workload":
		err = cacheWorkload()
	default:
		err = fmt.Errorf("unknown child mode %q", mode)
	}
	if err != nil {
		fmt.Fprintln(os.Stderr, "child", mode, "failed:", err)
		return 3
	}
	return 0
}

// lineWriter writes whole lines to stdout, one write each, so that lines of
// concurrent goroutines never interleave and a line is in the pipe once
// the write returns.
type lineWriter struct{ mu sync.Mutex }

func (w *lineWriter) printf(format string, args ...any) {
	line := fmt.Sprintf(format, args...) + "\n"
	w.mu.Lock()
	defer w.mu.Unlock()
	if _, err := io.WriteString(os.Stdout, line); err != nil {
		os.Exit(5) // the parent is gone
	}
}

// backend is what the children and the parent use of one database.
type backend struct {
	db     backendDB
	store  *kvcore.Store
	locker *kvlock.Locker
	queue  taskdriver.Queue
	close  func()
}

// backendDB is what every backend's *DB offers that the tests use.
type backendDB interface {
	Init(context.Context) error
	Store(...kvcore.Option) (*kvcore.Store, error)
	Close() error
	lockdriver.Locker
	taskdriver.Queue
	streamdriver.Stream
}

// openBackend opens kind ("sqlite", "postgres" or "rqlite") at where (a
// file, a schema of this run's PostgreSQL database, or an rqlite URL) and
// initialises it.
func openBackend(ctx context.Context, kind, where string) (*backend, error) {
	var (
		d   backendDB
		err error
	)
	switch kind {
	case "sqlite":
		d, err = sqlitekv.Open(where)
	case "postgres":
		d, err = postgreskv.Open(ctx, pgURL, postgreskv.WithSchema(where))
	case "rqlite":
		d, err = rqlitekv.Open(where)
	default:
		err = fmt.Errorf("unknown backend %q", kind)
	}
	if err != nil {
		return nil, err
	}
	locker, err := kvlock.New(d)
	if err == nil {
		err = d.Init(ctx)
	}
	var store *kvcore.Store
	if err == nil {
		store, err = d.Store(kvcore.WithSweepInterval(0))
	}
	if err != nil {
		d.Close()
		return nil, err
	}
	return &backend{db: d, store: store, locker: locker, queue: d, close: func() { store.Close(); d.Close() }}, nil
}

// childBackend opens the backend that the child's environment names.
func childBackend(ctx context.Context) (*backend, error) {
	if u := os.Getenv(envPGURL); u != "" {
		pgURL = u
	}
	return openBackend(ctx, os.Getenv(envBackend), os.Getenv(envWhere))
}

// child is a re-executed test binary running a helper mode.
type child struct {
	name   string
	cmd    *exec.Cmd
	done   chan struct{}
	ready  chan struct{}
	killed bool

	mu     sync.Mutex
	lines  []string // complete stdout lines
	stderr bytes.Buffer
	err    error // from Wait
}

// startChild starts the test binary in mode with env added to its
// environment. The child's first line "ready" closes c.ready.
func startChild(mode, name string, env ...string) (*child, error) {
	c := &child{name: name, done: make(chan struct{}), ready: make(chan struct{})}
	c.cmd = exec.Command(os.Args[0])
	c.cmd.Env = append(os.Environ(), childEnv+"="+mode, envName+"="+name, envPGURL+"="+pgURL)
	c.cmd.Env = append(c.cmd.Env, env...)
	c.cmd.Stderr = &lockedWriter{mu: &c.mu, w: &c.stderr}
	out, err := c.cmd.StdoutPipe()
	if err != nil {
		return nil, err
	}
	if err := c.cmd.Start(); err != nil {
		return nil, err
	}
	go func() {
		r := bufio.NewReader(out)
		var once sync.Once
		for {
			line, err := r.ReadString('\n')
			if err != nil {
				break // a last line without its newline was cut by a kill: not counted
			}
			line = strings.TrimSuffix(line, "\n")
			if line == "ready" {
				once.Do(func() { close(c.ready) })
				continue
			}
			c.mu.Lock()
			c.lines = append(c.lines, line)
			c.mu.Unlock()
		}
		err := c.cmd.Wait()
		c.mu.Lock()
		c.err = err
		c.mu.Unlock()
		close(c.done)
	}()
	return c, nil
}

// waitReady waits for the child's "ready" line.
func (c *child) waitReady(d time.Duration) error {
	select {
	case <-c.ready:
		return nil
	case <-c.done:
		return fmt.Errorf("child %s exited before it was ready: %v; stderr: %s", c.name, c.exitErr(), c.stderrText())
	case <-time.After(d):
		return fmt.Errorf("child %s not ready after %v", c.name, d)
	}
}

// kill sends SIGKILL and waits until the child is gone and its output read.
func (c *child) kill() {
	c.killed = true
	_ = c.cmd.Process.Signal(syscall.SIGKILL)
	<-c.done
}

// wait waits for the child to exit by itself, killing it after d.
func (c *child) wait(d time.Duration) error {
	select {
	case <-c.done:
		return c.exitErr()
	case <-time.After(d):
		c.kill()
		return fmt.Errorf("child %s still running after %v: killed", c.name, d)
	}
}

func (c *child) exitErr() error {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.err
}

func (c *child) output() []string {
	c.mu.Lock()
	defer c.mu.Unlock()
	return append([]string(nil), c.lines...)
}

func (c *child) stderrText() string {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.stderr.String()
}

// lockedWriter guards a writer with a mutex.
type lockedWriter struct {
	mu *sync.Mutex
	w  io.Writer
}

func (l *lockedWriter) Write(p []byte) (int, error) {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.w.Write(p)
}

// stopChildren kills every child still running when t ends.
func stopChildren(t testing.TB, cs *[]*child) {
	t.Cleanup(func() {
		for _, c := range *cs {
			select {
			case <-c.done:
			default:
				c.kill()
			}
		}
	})
}
