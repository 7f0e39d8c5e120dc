package rqlitetest

// Real rqlited processes, for the tests of this module and of the modules
// that test against rqlite (reliability, taskbench): the binary is never in
// the repository; RqlitedPath finds one built or installed elsewhere.

import (
	"errors"
	"fmt"
	"net"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"syscall"
	"time"
)

// RqlitedPath finds an rqlited binary: $KV_RQLITED, else rqlited on PATH,
// else /tmp/rqlite-bin/rqlited.
func RqlitedPath() (string, error) {
	if p := os.Getenv("KV_RQLITED"); p != "" {
		if _, err := os.Stat(p); err != nil {
			return "", fmt.Errorf("KV_RQLITED: %w", err)
		}
		return p, nil
	}
	if p, err := exec.LookPath("rqlited"); err == nil {
		return p, nil
	}
	const p = "/tmp/rqlite-bin/rqlited"
	if st, err := os.Stat(p); err == nil && st.Mode().IsRegular() && st.Mode()&0o111 != 0 {
		return p, nil
	}
	return "", errors.New("no rqlited binary (not in $KV_RQLITED, on PATH or at /tmp/rqlite-bin/rqlited)")
}

// Node is one rqlited process: a single node, or one node of a cluster.
type Node struct {
	// ID is the node's Raft id.
	ID string
	// HTTPAddr is the host:port of its HTTP API (what rqlite reports as a
	// leader's address).
	HTTPAddr string
	// RaftAddr is the host:port other nodes join.
	RaftAddr string

	bin, dir string
	join     string // the Raft address it joined ("" for the first node)
	cmd      *exec.Cmd
	done     chan struct{}
	log      *os.File
}

// StartNode starts rqlited bin on free loopback ports with its data under
// dir/id, joining the node with Raft address join ("" for a new cluster),
// and waits until it is ready.
func StartNode(bin, dir, id, join string) (*Node, error) {
	h, err := FreeAddr()
	if err != nil {
		return nil, err
	}
	r, err := FreeAddr()
	if err != nil {
		return nil, err
	}
	n := &Node{ID: id, HTTPAddr: h, RaftAddr: r, bin: bin, dir: filepath.Join(dir, id), join: join}
	return n, n.Start()
}

// URL is the node's HTTP API.
func (n *Node) URL() string { return "http://" + n.HTTPAddr }

// Start runs the node's process (again, after Stop or Kill, with the same
// data and addresses) and waits until it is ready.
func (n *Node) Start() error {
	args := []string{"-node-id", n.ID, "-http-addr", n.HTTPAddr, "-raft-addr", n.RaftAddr}
	if n.join != "" {
		args = append(args, "-join", n.join)
	}
	args = append(args, n.dir)
	var err error
	if n.log, err = os.OpenFile(n.dir+".log", os.O_CREATE|os.O_WRONLY|os.O_APPEND, 0o644); err != nil {
		return err
	}
	n.cmd = exec.Command(n.bin, args...)
	n.cmd.Stdout, n.cmd.Stderr = n.log, n.log
	if err := n.cmd.Start(); err != nil {
		n.log.Close()
		return err
	}
	n.done = make(chan struct{})
	go func() { _ = n.cmd.Wait(); close(n.done) }()
	if err := n.waitReady(30 * time.Second); err != nil {
		n.Stop()
		return fmt.Errorf("rqlited %s: %w (log: %s)", n.ID, err, n.logTail())
	}
	return nil
}

// waitReady polls /readyz until the node answers 200, exits, or d passes.
func (n *Node) waitReady(d time.Duration) error {
	c := &http.Client{Timeout: time.Second}
	deadline := time.Now().Add(d)
	for {
		if !n.running() {
			return errors.New("rqlited exited")
		}
		if resp, err := c.Get(n.URL() + "/readyz"); err == nil {
			resp.Body.Close()
			if resp.StatusCode == http.StatusOK {
				return nil
			}
		}
		if time.Now().After(deadline) {
			return errors.New("not ready in time")
		}
		time.Sleep(100 * time.Millisecond)
	}
}

// running reports whether the node's process is running.
func (n *Node) running() bool {
	if n.cmd == nil {
		return false
	}
	select {
	case <-n.done:
		return false
	default:
		return true
	}
}

// Kill ends the node at once (SIGKILL), as a crash would.
func (n *Node) Kill() {
	if n.running() {
		_ = n.cmd.Process.Kill()
		<-n.done
	}
	n.log.Close()
}

// Stop ends the node with SIGTERM, then SIGKILL after 10s.
func (n *Node) Stop() {
	if n.running() {
		_ = n.cmd.Process.Signal(syscall.SIGTERM)
		select {
		case <-n.done:
		case <-time.After(10 * time.Second):
			_ = n.cmd.Process.Kill()
			<-n.done
		}
	}
	n.log.Close()
}

// logTail returns the end of the node's log.
func (n *Node) logTail() string {
	b, _ := os.ReadFile(n.dir + ".log")
	if len(b) > 2000 {
		b = b[len(b)-2000:]
	}
	return strings.TrimSpace(string(b))
}

// FreeAddr returns a loopback address whose port was free a moment ago.
func FreeAddr() (string, error) {
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		return "", err
	}
	defer l.Close()
	return l.Addr().String(), nil
}
