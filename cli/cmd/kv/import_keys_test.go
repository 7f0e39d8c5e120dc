package main

import (
	"bufio"
	"crypto/sha256"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"runtime"
	"runtime/metrics"
	"strings"
	"sync"
	"testing"
	"time"
)

const importHeader = `{"kind":"header","format":"kv-export","version":2}`

// recordJSON is a record line of an import.
func recordJSON(namespace, key, value string) string {
	return fmt.Sprintf(`{"kind":"record","namespace":%q,"key":%q,"version":1,"value":%s,"created":"2026-01-01T00:00:00Z","updated":"2026-01-01T00:00:00Z","expires":null}`,
		namespace, key, value)
}

// importOf is an import of n records k00000... in the default namespace
// (line i+2 is record i), then extra lines, then the trailer.
func importOf(n int, extra ...string) string {
	var b strings.Builder
	b.WriteString(importHeader + "\n")
	for i := range n {
		b.WriteString(recordJSON("", fmt.Sprintf("k%05d", i), "1") + "\n")
	}
	for _, l := range extra {
		b.WriteString(l + "\n")
	}
	return trailed(b.String())
}

// taskJSON is a pending task line of an import.
func taskJSON(id, uniqueKey string) string {
	return fmt.Sprintf(`{"kind":"task","id":%q,"name":"echo","payload":null,"status":"pending","priority":0,"unique_key":%q,"scheduled_for":"2031-01-01T00:00:00Z","max_retries":0,"timeout_seconds":0}`, id, uniqueKey)
}

// TestImportRepeatedKeyAcrossBatches: a key (or task id, or task unique
// key) given twice anywhere in the input is refused before anything is written, naming both
// lines, from a file or stdin, with and without --dry-run; the same key in
// another namespace is not a repeat.
func TestImportRepeatedKeyAcrossBatches(t *testing.T) {
	task := func(id string) string { return taskJSON(id, "") }
	tests := []struct {
		name, input, stderr string
	}{
		// 1200 records: batches of 500 end on lines 501 and 1001.
		{"key in a later batch", importOf(1200, recordJSON("", "k00000", "2")), `line 1202: not a valid kv export: key "k00000" appears twice in namespace "" (first on line 2)`},
		{"key in the next batch", importOf(1200, recordJSON("", "k00499", "2")), `line 1202: not a valid kv export: key "k00499" appears twice in namespace "" (first on line 501)`},
		{"key after another namespace", importOf(3, recordJSON("other", "k00001", "2"), recordJSON("", "k00001", "3")), `line 6: not a valid kv export: key "k00001" appears twice in namespace "" (first on line 3)`},
		{"key in one batch", importOf(3, recordJSON("", "k00002", "2")), `line 5: not a valid kv export: key "k00002" appears twice in namespace "" (first on line 4)`},
		{"task id", importOf(2, task("t1"), task("t2"), task("t1")), `line 6: not a valid kv export: task id "t1" appears twice (first on line 4)`},
		{"task unique key", importOf(2, taskJSON("t1", "u1"), taskJSON("t2", "u2"), taskJSON("t3", ""), taskJSON("t4", "u1")), `line 7: not a valid kv export: task unique key "u1" appears twice (first on line 4)`},
		{"running task's unique key", importOf(2, taskJSON("t1", "u1"), strings.Replace(taskJSON("t2", "u1"), `"pending"`, `"running"`, 1)), `line 5: not a valid kv export: task unique key "u1" appears twice (first on line 4)`},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			dst, _ := newDB(t)
			mustKV(t, "", "init", dst)
			file := filepath.Join(t.TempDir(), "in.jsonl")
			if err := os.WriteFile(file, []byte(tt.input), 0o600); err != nil {
				t.Fatal(err)
			}
			for _, run := range []struct {
				stdin string
				args  []string
			}{{"", []string{"import", file}}, {"", []string{"import", "--dry-run", file}}, {tt.input, []string{"import"}}, {tt.input, []string{"import", "--dry-run"}}} {
				args := run.args
				r := kv(t, run.stdin, append(args, dst)...)
				if r.code != 1 || !strings.Contains(r.stderr, tt.stderr) || r.stdout != "" {
					t.Errorf("kv %q: exit %d stdout %q stderr %q, want 1 and %q", args, r.code, r.stdout, r.stderr, tt.stderr)
				}
			}
			if out := mustKV(t, "", "export", "--all", dst); strings.Count(out, "\n") != 2 {
				t.Errorf("a refused import wrote:\n%s", out)
			}
		})
	}

	// The same keys in two namespaces, across batches: imported.
	dst, _ := newDB(t)
	var others []string
	for i := range 600 {
		others = append(others, recordJSON("other", fmt.Sprintf("k%05d", i), "2"))
	}
	in := importOf(600, others...)
	if got := mustKV(t, in, "import", dst); got != `{"records":1200,"consumers":0,"tasks":0,"schedules":0,"dry_run":false}`+"\n" {
		t.Errorf("import: %s", got)
	}
	if got := mustKV(t, "", "count", "all", "--namespace", "other", dst); got != "600\n" {
		t.Errorf("count in other: %s", got)
	}
}

// TestImportTaskUniqueKeys: tasks of one import with different unique keys,
// or none, are all imported; a repeated unique key is not a repeated id
// or record key.
func TestImportTaskUniqueKeys(t *testing.T) {
	dst, _ := newDB(t)
	in := importOf(1, recordJSON("", "u1", "1"), taskJSON("t1", "u1"), taskJSON("t2", "u2"), taskJSON("t3", ""), taskJSON("t4", ""), taskJSON("u2", "t1"))
	if got := mustKV(t, in, "import", dst); got != `{"records":2,"consumers":0,"tasks":5,"schedules":0,"dry_run":false}`+"\n" {
		t.Errorf("import: %s", got)
	}
	out := mustKV(t, "", "task", "list", dst)
	for _, want := range []string{`"id":"t1"`, `"unique_key":"u1"`, `"id":"t2"`, `"unique_key":"u2"`, `"id":"t3"`, `"id":"t4"`, `"id":"u2"`, `"unique_key":"t1"`} {
		if !strings.Contains(out, want) {
			t.Errorf("task list has no %s:\n%s", want, out)
		}
	}
	if n := strings.Count(out, "\n"); n != 5 {
		t.Errorf("task list: %d tasks, want 5:\n%s", n, out)
	}
}

// TestImportKeysHashCollision: equal hashes of different keys do not refuse
// an input (repeats reads it again to confirm).
func TestImportKeysHashCollision(t *testing.T) {
	input := importOf(2)
	again := func() (io.Reader, error) { return strings.NewReader(input), nil }
	var k importKeys
	// k00001 is made to hash as k00000 does.
	k.sums = []uint64{k.sum(recordDomain, "", "k00000"), k.sum(recordDomain, "", "k00000")}
	if err := k.repeats(again, "in"); err != nil {
		t.Errorf("a collision refused the input: %v", err)
	}
	// A real repeat is found on the same path.
	input = importOf(2, recordJSON("", "k00001", "2"))
	k.sums = []uint64{k.sum(recordDomain, "", "k00001"), k.sum(recordDomain, "", "k00001")}
	if err := k.repeats(again, "in"); err == nil || !strings.Contains(err.Error(), `in line 4: not a valid kv export: key "k00001" appears twice in namespace "" (first on line 3)`) {
		t.Errorf("a repeat: %v", err)
	}
}

// TestImportMemory: checking an import of 100,000 records of 300 bytes (a
// 35 MB file) keeps the heap small: the check holds a batch and 8 bytes a
// record, not the file. (The write pass holds a batch, and takes long.)
func TestImportMemory(t *testing.T) {
	if testing.Short() {
		t.Skip("SKIP: 100,000 records")
	}
	const n = 100_000
	file := filepath.Join(t.TempDir(), "big.jsonl")
	f, err := os.Create(file)
	if err != nil {
		t.Fatal(err)
	}
	w := bufio.NewWriter(f)
	sum := sha256.New()
	lines := io.MultiWriter(w, sum)
	value := `"` + strings.Repeat("v", 300) + `"`
	fmt.Fprintln(lines, importHeader)
	for i := range n {
		fmt.Fprintln(lines, recordJSON("", fmt.Sprintf("key-%07d", i), value))
	}
	fmt.Fprintf(w, `{"kind":"trailer","lines":%d,"sha256":"%x"}`+"\n", n+1, sum.Sum(nil))
	if err := w.Flush(); err != nil {
		t.Fatal(err)
	}
	if err := f.Close(); err != nil {
		t.Fatal(err)
	}
	dst, _ := newDB(t)
	mustKV(t, "", "init", dst)
	var out string
	peak := peakHeap(t, func() { out = mustKV(t, "", "import", "--dry-run", file, dst) })
	t.Logf("kv import --dry-run of %d records: peak heap %.1f MB", n, float64(peak)/(1<<20))
	if peak > 32<<20 {
		t.Errorf("peak heap %d MB, want at most 32 MB", peak>>20)
	}
	if want := fmt.Sprintf(`{"records":%d,"consumers":0,"tasks":0,"schedules":0,"dry_run":true}`+"\n", n); out != want {
		t.Errorf("dry run: %s", out)
	}
}

// peakHeap runs fn and returns the largest heap (bytes in live and dead
// objects) seen while it ran, sampled every millisecond.
func peakHeap(t *testing.T, fn func()) uint64 {
	t.Helper()
	runtime.GC()
	s := []metrics.Sample{{Name: "/memory/classes/heap/objects:bytes"}}
	var (
		peak uint64
		wg   sync.WaitGroup
	)
	done := make(chan struct{})
	wg.Add(1)
	go func() {
		defer wg.Done()
		tick := time.NewTicker(time.Millisecond)
		defer tick.Stop()
		for {
			metrics.Read(s)
			peak = max(peak, s[0].Value.Uint64())
			select {
			case <-done:
				return
			case <-tick.C:
			}
		}
	}()
	fn()
	close(done)
	wg.Wait()
	return peak
}
