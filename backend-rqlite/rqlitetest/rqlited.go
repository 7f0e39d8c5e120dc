package rqlitetest

// Real rqlited processes, for the tests of this module and of the modules
// that test against rqlite (reliability, taskbench): the binary is never in
// the repository; RqlitedPath finds one built or installed elsewhere, and
// fixture.go holds the helpers that start them for a test.

import (
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net"
	"net/http"
	"net/url"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"syscall"
	"time"
)

// RqlitedPath finds an rqlited binary: $KV_RQLITED, else rqlited on PATH,
// else shared/bin/rqlited beside the repository (the directory holding
// go.work, found from the working directory upwards: ../shared/bin/rqlited
// from the repository's root). The error says where it looked.
func RqlitedPath() (string, error) {
	if p := os.Getenv("KV_RQLITED"); p != "" {
		if err := executable(p); err != nil {
			return "", fmt.Errorf("KV_RQLITED: %w", err)
		}
		return p, nil
	}
	if p, err := exec.LookPath("rqlited"); err == nil {
		return p, nil
	}
	root, err := repoRoot()
	if err != nil {
		return "", fmt.Errorf("no rqlited binary: KV_RQLITED is unset, none on PATH, and %v", err)
	}
	p := filepath.Join(filepath.Dir(root), "shared", "bin", "rqlited")
	if err := executable(p); err != nil {
		return "", fmt.Errorf("no rqlited binary: KV_RQLITED is unset, none on PATH, none at %s", p)
	}
	return p, nil
}

// executable reports why p is not an executable regular file (nil if it is).
func executable(p string) error {
	st, err := os.Stat(p)
	switch {
	case err != nil:
		return err
	case !st.Mode().IsRegular() || st.Mode()&0o111 == 0:
		return fmt.Errorf("%s is not an executable file", p)
	}
	return nil
}

// repoRoot returns the nearest directory from the working directory
// upwards that holds go.work.
func repoRoot() (string, error) {
	dir, err := os.Getwd()
	if err != nil {
		return "", err
	}
	for {
		if _, err := os.Stat(filepath.Join(dir, "go.work")); err == nil {
			return dir, nil
		}
		up := filepath.Dir(dir)
		if up == dir {
			return "", errors.New("no go.work above the working directory (not inside the repository)")
		}
		dir = up
	}
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
	join     string   // the Raft address it joined ("" for the first node)
	extra    []string // more flags (such as -auth FILE)
	cmd      *exec.Cmd
	done     chan struct{}
	log      *os.File
}

// StartNode starts rqlited bin on free loopback ports with its data under
// dir/id, joining the node with Raft address join ("" for a new cluster),
// and waits until it is ready. args are more flags for rqlited (such as
// "-auth", file). A port taken between choosing it and the start (other
// servers run beside the tests) is retried with new ports.
func StartNode(bin, dir, id, join string, args ...string) (*Node, error) {
	var err error
	for range 3 {
		var h, r string
		if h, err = FreeAddr(); err != nil {
			return nil, err
		}
		if r, err = FreeAddr(); err != nil {
			return nil, err
		}
		n := &Node{ID: id, HTTPAddr: h, RaftAddr: r, bin: bin, dir: filepath.Join(dir, id), join: join, extra: args}
		if err = n.Start(); err == nil {
			return n, nil
		}
		if !strings.Contains(err.Error(), "address already in use") {
			return nil, err
		}
		_ = os.RemoveAll(n.dir)
	}
	return nil, err
}

// StartAuthNode starts a single rqlited node as StartNode does that
// requires HTTP basic auth with user and password (all permissions; anyone
// may ask /readyz). Its auth file is written in dir.
func StartAuthNode(bin, dir, id, user, password string) (*Node, error) {
	users, err := json.Marshal([]map[string]any{
		{"username": user, "password": password, "perms": []string{"all"}},
		{"username": "*", "perms": []string{"ready"}},
	})
	if err != nil {
		return nil, err
	}
	file := filepath.Join(dir, id+"-auth.json")
	if err := os.MkdirAll(dir, 0o755); err != nil {
		return nil, err
	}
	if err := os.WriteFile(file, users, 0o600); err != nil {
		return nil, err
	}
	return StartNode(bin, dir, id, "", "-auth", file)
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
	args = append(args, n.extra...)
	args = append(args, n.dir)
	var err error
	if n.log, err = os.OpenFile(n.dir+".log", os.O_CREATE|os.O_WRONLY|os.O_APPEND, 0o644); err != nil {
		return err
	}
	n.cmd = exec.Command(n.bin, args...)
	n.cmd.Stdout, n.cmd.Stderr = n.log, n.log
	n.cmd.SysProcAttr = procAttr()
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
		if !n.Running() {
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

// Running reports whether the node's process is running.
func (n *Node) Running() bool {
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
	if n.Running() {
		_ = n.cmd.Process.Kill()
		<-n.done
	}
	n.log.Close()
}

// Stop ends the node with SIGTERM, then SIGKILL after 10s.
func (n *Node) Stop() {
	if n.Running() {
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

// Cluster is rqlited nodes that form one Raft cluster on loopback.
type Cluster struct {
	Nodes []*Node
}

// StartCluster starts n rqlited nodes of bin (data under dir): the first
// makes a new cluster, the others join it. It returns once every node is
// ready (and so knows the leader). args are more flags for every node.
func StartCluster(bin, dir string, n int, args ...string) (*Cluster, error) {
	first, err := StartNode(bin, dir, "n1", "", args...)
	if err != nil {
		return nil, err
	}
	c := &Cluster{Nodes: []*Node{first}}
	for i := 2; i <= n; i++ {
		node, err := StartNode(bin, dir, fmt.Sprintf("n%d", i), first.RaftAddr, args...)
		if err != nil {
			c.Stop()
			return nil, err
		}
		c.Nodes = append(c.Nodes, node)
	}
	return c, nil
}

// URL is a connection string naming every node of c, as rqlitekv.Open
// takes it: http://host1:port1,host2:port2,...
func (c *Cluster) URL() string {
	hosts := make([]string, len(c.Nodes))
	for i, n := range c.Nodes {
		hosts[i] = n.HTTPAddr
	}
	return "http://" + strings.Join(hosts, ",")
}

// Stop stops every node.
func (c *Cluster) Stop() {
	for _, n := range c.Nodes {
		n.Stop()
	}
}

// Leader returns the node that the running nodes report as the leader,
// asking each in turn (an error if none knows one: an election is under
// way, or no node of c is the leader).
func (c *Cluster) Leader() (*Node, error) {
	client := &http.Client{Timeout: 2 * time.Second}
	var errs []error
	for _, n := range c.Nodes {
		if !n.Running() {
			continue
		}
		addr, err := leaderOf(client, n)
		if err != nil {
			errs = append(errs, fmt.Errorf("%s: %w", n.ID, err))
			continue
		}
		for _, m := range c.Nodes {
			if m.HTTPAddr == addr {
				return m, nil
			}
		}
		errs = append(errs, fmt.Errorf("%s: the leader %s is not a node of this cluster", n.ID, addr))
	}
	if len(errs) == 0 {
		return nil, errors.New("no node is running")
	}
	return nil, errors.Join(errs...)
}

// Followers returns the running nodes that are not the leader.
func (c *Cluster) Followers() ([]*Node, error) {
	l, err := c.Leader()
	if err != nil {
		return nil, err
	}
	var out []*Node
	for _, n := range c.Nodes {
		if n != l && n.Running() {
			out = append(out, n)
		}
	}
	return out, nil
}

// leaderOf asks n for the leader's API address (host:port) through
// /nodes.
func leaderOf(client *http.Client, n *Node) (string, error) {
	resp, err := client.Get(n.URL() + "/nodes")
	if err != nil {
		return "", err
	}
	defer resp.Body.Close()
	body, err := io.ReadAll(resp.Body)
	if err != nil {
		return "", err
	}
	if resp.StatusCode != http.StatusOK {
		return "", fmt.Errorf("/nodes: %s", resp.Status)
	}
	var nodes map[string]struct {
		APIAddr string `json:"api_addr"`
		Leader  bool   `json:"leader"`
	}
	if err := json.Unmarshal(body, &nodes); err != nil {
		// rqlite 9 and later answer {"nodes": [...]} unless asked for the
		// older shape; both are read.
		var v struct {
			Nodes []struct {
				APIAddr string `json:"api_addr"`
				Leader  bool   `json:"leader"`
			} `json:"nodes"`
		}
		if err2 := json.Unmarshal(body, &v); err2 != nil {
			return "", fmt.Errorf("/nodes: %w", err)
		}
		for _, x := range v.Nodes {
			if x.Leader {
				return hostOf(x.APIAddr)
			}
		}
		return "", errors.New("no leader")
	}
	for _, x := range nodes {
		if x.Leader {
			return hostOf(x.APIAddr)
		}
	}
	return "", errors.New("no leader")
}

// hostOf returns the host:port of an API address (a URL or host:port).
func hostOf(addr string) (string, error) {
	u, err := url.Parse(addr)
	if err != nil || u.Host == "" {
		return addr, nil
	}
	return u.Host, nil
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
