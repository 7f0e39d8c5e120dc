package main

import (
	"bytes"
	"errors"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
	"time"
)

// TestBinary builds the kv command itself (from this module only: nothing
// external is fetched or started) and runs it as a user would, to check
// main's wiring: exit statuses, stdin, stdout, stderr and the process
// environment.
func TestBinary(t *testing.T) {
	goTool, err := exec.LookPath("go")
	if err != nil {
		t.Fatalf("the go tool is needed to build kv: %v", err)
	}
	dir := t.TempDir()
	bin := filepath.Join(dir, "kv")
	build := exec.Command(goTool, "build", "-o", bin, ".")
	if out, err := build.CombinedOutput(); err != nil {
		t.Fatalf("go build: %v\n%s", err, out)
	}

	env := []string{"KV_CONNECTION=file:" + filepath.Join(dir, "data.db") + "?mode=rwc"}
	for _, kv := range os.Environ() {
		if !strings.HasPrefix(kv, "KV_") {
			env = append(env, kv)
		}
	}
	runKV := func(stdin string, args ...string) (string, string, int) {
		t.Helper()
		cmd := exec.Command(bin, args...)
		cmd.Dir = dir
		cmd.Env = env
		cmd.Stdin = strings.NewReader(stdin)
		var stdout, stderr bytes.Buffer
		cmd.Stdout, cmd.Stderr = &stdout, &stderr
		err := cmd.Run()
		var ee *exec.ExitError
		switch {
		case err == nil:
			return stdout.String(), stderr.String(), 0
		case errors.As(err, &ee):
			return stdout.String(), stderr.String(), ee.ExitCode()
		}
		t.Fatalf("run kv %q: %v", args, err)
		return "", "", -1
	}

	if out, _, code := runKV("", "--help"); code != 0 || !strings.HasPrefix(out, "Usage: kv") {
		t.Errorf("kv --help: exit %d, %q", code, firstLine(out))
	}
	if _, errOut, code := runKV(""); code != 2 || !strings.Contains(errOut, "Usage: kv") {
		t.Errorf("kv: exit %d", code)
	}
	if _, errOut, code := runKV("", "init"); code != 0 || errOut != "" {
		t.Fatalf("kv init: exit %d, %s", code, errOut)
	}
	if _, errOut, code := runKV(`{"hello": "world"}`, "put", "greeting"); code != 0 {
		t.Fatalf("kv put: exit %d, %s", code, errOut)
	}
	out, _, code := runKV("", "get", "key", "greeting")
	if code != 0 || !strings.Contains(out, `"value":{"hello":"world"}`) {
		t.Errorf("kv get key: exit %d, %q", code, out)
	}
	if !fileExists(filepath.Join(dir, "data.db")) {
		t.Error("KV_CONNECTION from the process environment was not used")
	}
	if _, errOut, code := runKV("", "get", "key", "missing"); code != 1 || !strings.HasPrefix(errOut, "kv: ") {
		t.Errorf("kv get key missing: exit %d, %q", code, errOut)
	}
	if _, errOut, code := runKV("", "list", "x"); code != 2 || !strings.HasPrefix(errOut, "kv: ") {
		t.Errorf("kv list x: exit %d, %q", code, errOut)
	}
	if out, errOut, code := runKV(`{"n": 1}`, "task", "new", "echo"); code != 0 || !strings.Contains(out, `"payload":{"n":1}`) {
		t.Errorf("kv task new: exit %d, %q %q", code, out, errOut)
	}
	// Edge properties from a real stdin pipe.
	if _, errOut, code := runKV(`{"since": "2024"}`, "graph", "add-edge", "User", "alice", "User", "bob", "follows"); code != 0 {
		t.Errorf("kv graph add-edge: exit %d, %q", code, errOut)
	}
	if out, errOut, code := runKV("", "graph", "get-edge", "User", "alice", "User", "bob", "follows"); code != 0 || !strings.Contains(out, `"properties":{"since":"2024"}`) {
		t.Errorf("kv graph get-edge: exit %d, %q %q", code, out, errOut)
	}

	// Ctrl+C (SIGINT) stops kv consumer stream cleanly: it prints what it
	// read, exits 0 and releases the consumer's lease. The signal is sent
	// once it holds the lease and has printed the entry.
	held := func() bool {
		out, errOut, code := runKV("", "lock", "status", "kvstream/consumer/c")
		if code != 0 {
			t.Fatalf("kv lock status: exit %d, %s", code, errOut)
		}
		return strings.Contains(out, `"held":true`)
	}
	cmd := exec.Command(bin, "consumer", "stream", "c")
	cmd.Dir, cmd.Env = dir, env
	var stdout, stderr syncBuffer
	cmd.Stdout, cmd.Stderr = &stdout, &stderr
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	for deadline := time.Now().Add(20 * time.Second); !held() || !strings.Contains(stdout.String(), `"key":"greeting"`); time.Sleep(20 * time.Millisecond) {
		if time.Now().After(deadline) {
			_ = cmd.Process.Kill()
			t.Fatalf("kv consumer stream never took its lease and printed the entry: %q", stdout.String())
		}
	}
	if err := cmd.Process.Signal(os.Interrupt); err != nil {
		t.Fatal(err)
	}
	if err := cmd.Wait(); err != nil {
		t.Errorf("kv consumer stream after SIGINT: %v, stderr %q", err, stderr.String())
	}
	if !strings.Contains(stdout.String(), `"key":"greeting"`) {
		t.Errorf("kv consumer stream printed %q", stdout.String())
	}
	if held() {
		t.Error("kv consumer stream kept its lease after SIGINT")
	}
}
