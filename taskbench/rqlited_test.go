package taskbench

import (
	"errors"
	"fmt"
	"net"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"syscall"
	"time"
)

// rqlited is a single-node rqlited process started for one scenario.
type rqlited struct {
	url  string
	cmd  *exec.Cmd
	done chan struct{}
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

// startRqlited starts bin as a new single-node cluster with its data and
// log under dir, and waits until it is ready.
func startRqlited(bin, dir string) (*rqlited, error) {
	httpAddr, err := freeAddr()
	if err != nil {
		return nil, err
	}
	raftAddr, err := freeAddr()
	if err != nil {
		return nil, err
	}
	logf, err := os.Create(filepath.Join(dir, "rqlited.log"))
	if err != nil {
		return nil, err
	}
	defer logf.Close()
	n := &rqlited{url: "http://" + httpAddr, done: make(chan struct{})}
	n.cmd = exec.Command(bin, "-node-id", "n1", "-http-addr", httpAddr, "-raft-addr", raftAddr, filepath.Join(dir, "data"))
	n.cmd.Stdout, n.cmd.Stderr = logf, logf
	if err := n.cmd.Start(); err != nil {
		return nil, fmt.Errorf("start rqlited: %w", err)
	}
	go func() { _ = n.cmd.Wait(); close(n.done) }()
	c := &http.Client{Timeout: time.Second}
	for deadline := time.Now().Add(30 * time.Second); time.Now().Before(deadline); time.Sleep(100 * time.Millisecond) {
		select {
		case <-n.done:
			return nil, fmt.Errorf("rqlited exited while starting (log: %s)", logf.Name())
		default:
		}
		if resp, err := c.Get(n.url + "/readyz"); err == nil {
			resp.Body.Close()
			if resp.StatusCode == http.StatusOK {
				return n, nil
			}
		}
	}
	n.stop()
	return nil, errors.New("rqlited not ready within 30s (log: " + logf.Name() + ")")
}

// stop ends the process (SIGTERM, then SIGKILL after 10s) and waits for it.
func (n *rqlited) stop() {
	_ = n.cmd.Process.Signal(syscall.SIGTERM)
	select {
	case <-n.done:
	case <-time.After(10 * time.Second):
		_ = n.cmd.Process.Kill()
		<-n.done
	}
}
