package badinput

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"
)

// The kv command, built on first use into binDir (fuzz workers, which
// re-run TestMain, never build it).
var (
	binDir    string
	buildOnce sync.Once
	kvBin     string
	buildErr  error
)

func TestMain(m *testing.M) {
	dir, err := os.MkdirTemp("", "kv-badinput-")
	if err != nil {
		fmt.Fprintln(os.Stderr, "FAIL:", err)
		os.Exit(1)
	}
	binDir = dir
	code := m.Run()
	os.RemoveAll(dir)
	os.Exit(code)
}

// kvCommand returns the path of the kv binary, building it the first time.
func kvCommand(t *testing.T) string {
	t.Helper()
	buildOnce.Do(func() { kvBin, buildErr = buildKV(binDir) })
	if buildErr != nil {
		t.Fatal(buildErr)
	}
	return kvBin
}

// buildKV builds the kv command from the cli module next to this one (with
// the workspace if there is one) into dir.
func buildKV(dir string) (string, error) {
	src, err := filepath.Abs(filepath.Join("..", "..", "cli", "cmd", "kv"))
	if err != nil {
		return "", err
	}
	goTool, err := exec.LookPath("go")
	if err != nil {
		return "", fmt.Errorf("the go tool is needed to build kv: %w", err)
	}
	bin := filepath.Join(dir, "kv")
	cmd := exec.Command(goTool, "build", "-o", bin, ".")
	cmd.Dir = src
	if out, err := cmd.CombinedOutput(); err != nil {
		return "", fmt.Errorf("go build %s: %v\n%s", src, err, out)
	}
	return bin, nil
}

// cliResult is what one run of kv did.
type cliResult struct {
	stdout, stderr string
	code           int
}

// runKV runs the kv binary in dir with stdin, the process environment
// without KV_* variables plus env, and args.
func runKV(t *testing.T, dir, stdin string, env []string, args ...string) cliResult {
	t.Helper()
	bin := kvCommand(t)
	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Minute)
	defer cancel()
	cmd := exec.CommandContext(ctx, bin, args...)
	cmd.Dir = dir
	for _, kv := range os.Environ() {
		if !strings.HasPrefix(kv, "KV_") {
			cmd.Env = append(cmd.Env, kv)
		}
	}
	cmd.Env = append(cmd.Env, env...)
	cmd.Stdin = strings.NewReader(stdin)
	var stdout, stderr bytes.Buffer
	cmd.Stdout, cmd.Stderr = &stdout, &stderr
	err := cmd.Run()
	var ee *exec.ExitError
	switch {
	case err == nil:
		return cliResult{stdout.String(), stderr.String(), 0}
	case errors.As(err, &ee) && ee.ExitCode() >= 0:
		return cliResult{stdout.String(), stderr.String(), ee.ExitCode()}
	}
	t.Fatalf("kv %q: %v (stderr %q)", args, err, stderr.String())
	return cliResult{}
}

// panicked reports whether output shows a Go panic or runtime error.
func panicked(s string) bool {
	return strings.Contains(s, "panic:") || strings.Contains(s, "goroutine ") || strings.Contains(s, "runtime error")
}
