package main

import (
	"bufio"
	"context"
	"crypto/sha256"
	"encoding/json"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"
)

// result is what one kv invocation did.
type result struct {
	stdout, stderr string
	code           int
}

// kv runs the CLI in-process with stdin and args.
func kv(t testing.TB, stdin string, args ...string) result {
	t.Helper()
	var stdout, stderr strings.Builder
	ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
	defer cancel()
	code := run(ctx, args, strings.NewReader(stdin), &stdout, &stderr)
	return result{stdout: stdout.String(), stderr: stderr.String(), code: code}
}

// mustKV runs kv and fails the test unless it exits 0.
func mustKV(t testing.TB, stdin string, args ...string) string {
	t.Helper()
	r := kv(t, stdin, args...)
	if r.code != 0 {
		t.Fatalf("kv %q: exit %d, stderr: %s", args, r.code, r.stderr)
	}
	if r.stderr != "" {
		t.Fatalf("kv %q: exit 0 but stderr: %s", args, r.stderr)
	}
	return r.stdout
}

// clearEnv makes sure no KV_* variable of the test's environment leaks in.
func clearEnv(t testing.TB) {
	t.Helper()
	for _, k := range []string{"KV_TYPE", "KV_CONNECTION", "KV_NAMESPACE", "KV_CONFIG", "KV_LOG_FORMAT", "KV_LOG_LEVEL"} {
		t.Setenv(k, "")
	}
}

// newDB returns a --connection flag for a fresh SQLite file and its path.
func newDB(t testing.TB) (flag, path string) {
	t.Helper()
	clearEnv(t)
	path = filepath.Join(t.TempDir(), "data.db")
	return "--connection=file:" + path + "?mode=rwc", path
}

// outRecord is a record as kv prints it.
type outRecord struct {
	Key     string          `json:"key"`
	Version int64           `json:"version"`
	Value   json.RawMessage `json:"value"`
	Type    string          `json:"type"`
	Created time.Time       `json:"created"`
	Updated time.Time       `json:"updated"`
	Expires *time.Time      `json:"expires"`
}

// records parses kv's JSON Lines output strictly: every field present.
func records(t *testing.T, out string) []outRecord {
	t.Helper()
	var rs []outRecord
	sc := bufio.NewScanner(strings.NewReader(out))
	sc.Buffer(nil, 64<<20)
	for sc.Scan() {
		var fields map[string]json.RawMessage
		if err := json.Unmarshal(sc.Bytes(), &fields); err != nil {
			t.Fatalf("output line %q is not a JSON object: %v", sc.Text(), err)
		}
		for _, f := range []string{"key", "version", "value", "type", "created", "updated", "expires"} {
			if _, ok := fields[f]; !ok {
				t.Fatalf("output line %q has no %q field", sc.Text(), f)
			}
		}
		var r outRecord
		if err := json.Unmarshal(sc.Bytes(), &r); err != nil {
			t.Fatalf("output line %q: %v", sc.Text(), err)
		}
		rs = append(rs, r)
	}
	return rs
}

// keysOf returns the keys of records, in order.
func keysOf(rs []outRecord) string {
	var ks []string
	for _, r := range rs {
		ks = append(ks, r.Key)
	}
	return strings.Join(ks, ",")
}

func fileExists(path string) bool {
	_, err := os.Stat(path)
	return err == nil
}

// trailed returns the lines of an export (each ending with a newline, no
// trailer) followed by the trailer kv export would write for them.
func trailed(text string) string {
	sum := sha256.Sum256([]byte(text))
	return text + fmt.Sprintf(`{"kind":"trailer","lines":%d,"sha256":"%x"}`, strings.Count(text, "\n"), sum) + "\n"
}

// untrailed returns an export without its trailer line.
func untrailed(t *testing.T, text string) string {
	t.Helper()
	body, last, _ := cutLastLine(text)
	if !strings.Contains(last, `"kind":"trailer"`) {
		t.Fatalf("the export does not end with a trailer: %q", last)
	}
	return body
}

// cutLastLine splits text (lines ending with newlines) before its last line.
func cutLastLine(text string) (before, last string, ok bool) {
	trimmed := strings.TrimSuffix(text, "\n")
	i := strings.LastIndex(trimmed, "\n")
	if i < 0 {
		return "", trimmed, trimmed != ""
	}
	return text[:i+1], trimmed[i+1:], true
}
