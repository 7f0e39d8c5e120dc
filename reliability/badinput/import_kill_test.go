package badinput

import (
	"fmt"
	"io"
	"os"
	"os/exec"
	"path/filepath"
	"runtime"
	"strings"
	"syscall"
	"testing"
	"time"
)

// TestKilledImportLeavesNoCopy: kv import from stdin keeps the input
// between its passes in a temporary file; killed (SIGKILL) or interrupted
// (SIGINT) while it reads, it leaves nothing in the temporary folder, and
// even while it runs the folder shows no copy of the data (the file is
// removed from it as soon as it is created). On Linux the test also checks,
// through /proc, that kv did hold such a file with the data in it.
func TestKilledImportLeavesNoCopy(t *testing.T) {
	if runtime.GOOS == "windows" {
		t.Skip("SKIP: signals and unlinked open files work otherwise on Windows")
	}
	bin := kvCommand(t)
	for _, sig := range []syscall.Signal{syscall.SIGKILL, syscall.SIGINT} {
		t.Run(sig.String(), func(t *testing.T) {
			tmp := t.TempDir()
			dir := t.TempDir()
			cmd := exec.Command(bin, "import", "--connection=file:"+filepath.Join(dir, "data.db")+"?mode=rwc")
			cmd.Env = append(os.Environ(), "TMPDIR="+tmp)
			stdin, err := cmd.StdinPipe()
			if err != nil {
				t.Fatal(err)
			}
			cmd.Stdout, cmd.Stderr = io.Discard, io.Discard
			if err := cmd.Start(); err != nil {
				t.Fatal(err)
			}
			done := make(chan error, 1)
			go func() { done <- cmd.Wait() }()
			t.Cleanup(func() { _ = cmd.Process.Kill() }) // if the test ends early
			// Feed it an export that does not end: header and records.
			go func() {
				fmt.Fprintln(stdin, `{"kind":"header","format":"kv-export","version":2}`)
				for i := 0; ; i++ {
					line := fmt.Sprintf(`{"kind":"record","namespace":"","key":"k%07d","version":1,"value":"secret data %d","type":"","created":"2026-01-01T00:00:00Z","updated":"2026-01-01T00:00:00Z","expires":null}`+"\n", i, i)
					if _, err := io.WriteString(stdin, line); err != nil {
						return
					}
				}
			}()
			if runtime.GOOS == "linux" {
				waitSpooled(t, cmd.Process.Pid)
			} else {
				time.Sleep(500 * time.Millisecond) // let it read for a while
			}
			if names := entries(t, tmp); len(names) != 0 {
				t.Errorf("while kv import runs, the temporary folder holds %v", names)
			}
			if err := cmd.Process.Signal(sig); err != nil {
				t.Fatal(err)
			}
			select {
			case <-done:
			case <-time.After(time.Minute):
				_ = cmd.Process.Kill()
				t.Fatalf("kv import did not end within a minute of %v", sig)
			}
			stdin.Close()
			if names := entries(t, tmp); len(names) != 0 {
				t.Errorf("after %v, the temporary folder holds %v", sig, names)
			}
		})
	}
}

// waitSpooled waits until process pid holds an open kv-import file, removed
// from its folder, with data in it.
func waitSpooled(t *testing.T, pid int) {
	t.Helper()
	deadline := time.Now().Add(time.Minute)
	fds := fmt.Sprintf("/proc/%d/fd", pid)
	for time.Now().Before(deadline) {
		links, _ := os.ReadDir(fds)
		for _, l := range links {
			target, err := os.Readlink(filepath.Join(fds, l.Name()))
			if err != nil || !strings.Contains(target, "kv-import-") {
				continue
			}
			if !strings.HasSuffix(target, "(deleted)") {
				t.Fatalf("kv holds %s, which is still in its folder", target)
			}
			if fi, err := os.Stat(filepath.Join(fds, l.Name())); err == nil && fi.Size() > 1<<20 {
				return
			}
		}
		time.Sleep(10 * time.Millisecond)
	}
	t.Fatal("kv import never held a temporary file with the input in it")
}

func entries(t *testing.T, dir string) []string {
	t.Helper()
	es, err := os.ReadDir(dir)
	if err != nil {
		t.Fatal(err)
	}
	var names []string
	for _, e := range es {
		names = append(names, e.Name())
	}
	return names
}
