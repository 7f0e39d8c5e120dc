package rqlitekv

import (
	"context"
	"errors"
	"fmt"
	"net"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/kvsuite/kv/backend-rqlite/rqlitetest"
)

// The rqlite the tests run against, chosen once per run (see TestMain):
//   - KV_TEST_RQLITE_URL, if set: a server someone runs (its tables are
//     dropped before each test that needs an empty store);
//   - else an rqlited found on PATH, started here on loopback as a single
//     node in a temporary directory;
//   - else rqlitetest, the project's stand-in, one new server per test.
var (
	serverKind string // "env", "rqlited" or "rqlitetest"
	sharedURL  string // for env and rqlited
	rqlitedBin string // rqlited's path, when found
)

func TestMain(m *testing.M) {
	os.Exit(runTests(m))
}

func runTests(m *testing.M) int {
	if u := os.Getenv("KV_TEST_RQLITE_URL"); u != "" {
		serverKind, sharedURL = "env", u
		cfg, err := parseConnString(u)
		if err != nil {
			fmt.Fprintln(os.Stderr, "rqlitekv tests: KV_TEST_RQLITE_URL:", err)
			return 2
		}
		fmt.Printf("rqlitekv tests: using the rqlite server of KV_TEST_RQLITE_URL (%s)\n", cfg.redactedString())
		return m.Run()
	}
	if p, err := exec.LookPath("rqlited"); err == nil {
		rqlitedBin = p
		dir, err := os.MkdirTemp("", "rqlitekv-test-")
		if err != nil {
			fmt.Fprintln(os.Stderr, "rqlitekv tests:", err)
			return 2
		}
		defer os.RemoveAll(dir)
		n, err := startNode(dir, "node1", "")
		if err != nil {
			fmt.Fprintln(os.Stderr, "rqlitekv tests: starting rqlited:", err)
			return 2
		}
		defer n.stop()
		serverKind, sharedURL = "rqlited", n.url()
		fmt.Printf("rqlitekv tests: using a real rqlited (%s) started at %s\n", p, n.url())
		return m.Run()
	}
	serverKind = "rqlitetest"
	fmt.Println("rqlitekv tests: no KV_TEST_RQLITE_URL and no rqlited on PATH: using rqlitetest, the in-process STAND-IN for rqlite (not a real rqlite)")
	return m.Run()
}

// serverURL returns the URL of an rqlite whose database the caller may
// use: a fresh rqlitetest server, or the shared real server.
func serverURL(t testing.TB) string {
	t.Helper()
	if serverKind == "rqlitetest" {
		return rqlitetest.Start(t).URL
	}
	return sharedURL
}

// openEmpty opens a DB on an empty, initialised database: a new rqlitetest
// server, or the shared real server with every table of the schema dropped
// first.
func openEmpty(t testing.TB, opts ...Option) *DB {
	t.Helper()
	// Large batches under the race detector can take longer than the
	// default 10s per request.
	opts = append([]Option{WithTimeout(2 * time.Minute)}, opts...)
	db, err := Open(serverURL(t), opts...)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { db.Close() })
	ctx := context.Background()
	if serverKind != "rqlitetest" {
		dropAll(t, db)
	}
	if err := db.Init(ctx); err != nil {
		t.Fatal(err)
	}
	return db
}

// dropAll drops the schema's tables in one request.
func dropAll(t testing.TB, db *DB) {
	t.Helper()
	var stmts []string
	for _, tbl := range []string{"records", "stream", "leases", "stream_meta", "consumers", "tasks", "schedules", "schema_migrations", "guard", "raw_kv"} {
		stmts = append(stmts, "DROP TABLE IF EXISTS "+tbl)
	}
	if _, err := db.conn.WriteContext(context.Background(), stmts); err != nil {
		t.Fatalf("dropping tables: %v", err)
	}
}

// node is an rqlited process started by the tests.
type node struct {
	id, dir        string
	httpAddr, raft string
	cmd            *exec.Cmd
	log            *os.File
	done           chan struct{}
}

func (n *node) url() string { return "http://" + n.httpAddr }

// freeAddr returns a loopback address with a port that was free a moment ago.
func freeAddr() (string, error) {
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		return "", err
	}
	defer l.Close()
	return l.Addr().String(), nil
}

// startNode starts rqlited on loopback ports with its data under dir/id;
// join is the Raft address of a node to join ("" for a new cluster). It
// waits until the node is ready (has a leader).
func startNode(dir, id, join string, extra ...string) (*node, error) {
	h, err := freeAddr()
	if err != nil {
		return nil, err
	}
	r, err := freeAddr()
	if err != nil {
		return nil, err
	}
	n := &node{id: id, dir: filepath.Join(dir, id), httpAddr: h, raft: r, done: make(chan struct{})}
	if n.log, err = os.Create(filepath.Join(dir, id+".log")); err != nil {
		return nil, err
	}
	args := []string{"-node-id", id, "-http-addr", h, "-raft-addr", r}
	if join != "" {
		args = append(args, "-join", join)
	}
	args = append(args, extra...)
	args = append(args, n.dir)
	n.cmd = exec.Command(rqlitedBin, args...)
	n.cmd.Stdout, n.cmd.Stderr = n.log, n.log
	if err := n.cmd.Start(); err != nil {
		n.log.Close()
		return nil, err
	}
	go func() { n.cmd.Wait(); close(n.done) }()
	if err := n.waitReady(30 * time.Second); err != nil {
		n.stop()
		return nil, fmt.Errorf("node %s: %w (log: %s)", id, err, tail(n.log.Name()))
	}
	return n, nil
}

// waitReady polls /readyz until the node answers 200.
func (n *node) waitReady(d time.Duration) error {
	deadline := time.Now().Add(d)
	c := &http.Client{Timeout: time.Second}
	for time.Now().Before(deadline) {
		select {
		case <-n.done:
			return errors.New("rqlited exited")
		default:
		}
		resp, err := c.Get(n.url() + "/readyz")
		if err == nil {
			resp.Body.Close()
			if resp.StatusCode == http.StatusOK {
				return nil
			}
		}
		time.Sleep(100 * time.Millisecond)
	}
	return errors.New("not ready in time")
}

// stop ends the node (SIGTERM, then SIGKILL after 10s).
func (n *node) stop() {
	if n.cmd.Process != nil {
		n.cmd.Process.Signal(syscall.SIGTERM)
		select {
		case <-n.done:
		case <-time.After(10 * time.Second):
			n.cmd.Process.Kill()
			<-n.done
		}
	}
	n.log.Close()
}

// kill ends the node at once, as a crash would.
func (n *node) kill() {
	if n.cmd.Process != nil {
		n.cmd.Process.Kill()
		<-n.done
	}
}

func tail(path string) string {
	b, _ := os.ReadFile(path)
	s := string(b)
	if len(s) > 2000 {
		s = s[len(s)-2000:]
	}
	return strings.TrimSpace(s)
}
