package faults_test

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

// rqlitedPath finds an rqlited binary: $KV_RQLITED, /tmp/rqlite-bin/rqlited
// (once /tmp/rqlite-bin/READY says its build is done), or rqlited on PATH.
func rqlitedPath() (string, error) {
	if p := os.Getenv("KV_RQLITED"); p != "" {
		if _, err := os.Stat(p); err != nil {
			return "", fmt.Errorf("KV_RQLITED: %w", err)
		}
		return p, nil
	}
	if _, err := os.Stat("/tmp/rqlite-bin/READY"); err == nil {
		if _, err := os.Stat("/tmp/rqlite-bin/rqlited"); err == nil {
			return "/tmp/rqlite-bin/rqlited", nil
		}
	}
	if p, err := exec.LookPath("rqlited"); err == nil {
		return p, nil
	}
	return "", errors.New("no rqlited binary (not in $KV_RQLITED, /tmp/rqlite-bin with READY, or on PATH)")
}

// rqNode is one rqlited process of a test cluster.
type rqNode struct {
	bin, id, dir   string
	httpAddr, raft string
	join           string // the Raft address it joined ("" for the first node)
	cmd            *exec.Cmd
	done           chan struct{}
	log            *os.File
}

// url is the node's HTTP API.
func (n *rqNode) url() string { return "http://" + n.httpAddr }

// startRQNode starts rqlited on free loopback ports with its data under
// dir/id, joining the node with Raft address join ("" for a new cluster),
// and waits until it is ready.
func startRQNode(bin, dir, id, join string) (*rqNode, error) {
	h, err := freeAddr()
	if err != nil {
		return nil, err
	}
	r, err := freeAddr()
	if err != nil {
		return nil, err
	}
	n := &rqNode{bin: bin, id: id, dir: filepath.Join(dir, id), httpAddr: h, raft: r, join: join}
	return n, n.start()
}

// start runs the node's process (again, after stop or kill, with the same
// data and addresses) and waits until it is ready.
func (n *rqNode) start() error {
	args := []string{"-node-id", n.id, "-http-addr", n.httpAddr, "-raft-addr", n.raft}
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
		n.stop()
		return fmt.Errorf("rqlited %s: %w (log: %s)", n.id, err, n.logTail())
	}
	return nil
}

// waitReady polls /readyz until the node answers 200.
func (n *rqNode) waitReady(d time.Duration) error {
	c := &http.Client{Timeout: time.Second}
	ok := waitFor(d, 100*time.Millisecond, func() bool {
		select {
		case <-n.done:
			return true
		default:
		}
		resp, err := c.Get(n.url() + "/readyz")
		if err != nil {
			return false
		}
		resp.Body.Close()
		return resp.StatusCode == http.StatusOK
	})
	select {
	case <-n.done:
		return errors.New("rqlited exited")
	default:
	}
	if !ok {
		return errors.New("not ready in time")
	}
	return nil
}

// running reports whether the node's process is running.
func (n *rqNode) running() bool {
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

// kill ends the node at once (SIGKILL), as a crash would.
func (n *rqNode) kill() {
	if n.running() {
		_ = n.cmd.Process.Kill()
		<-n.done
	}
	n.log.Close()
}

// stop ends the node with SIGTERM, then SIGKILL after 10s.
func (n *rqNode) stop() {
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
func (n *rqNode) logTail() string {
	b, _ := os.ReadFile(n.dir + ".log")
	if len(b) > 2000 {
		b = b[len(b)-2000:]
	}
	return strings.TrimSpace(string(b))
}

// freeAddr returns a loopback address whose port was free a moment ago.
func freeAddr() (string, error) {
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		return "", err
	}
	defer l.Close()
	return l.Addr().String(), nil
}
