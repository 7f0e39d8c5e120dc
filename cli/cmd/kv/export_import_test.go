package main

import (
	"bufio"
	"encoding/json"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/kvsuite/kv/cli/internal/seedimport/seedtest"
)

// fillExport writes records (several versions, types, an expiry, two
// namespaces), a graph edge, a consumer position, tasks and a schedule.
func fillExport(t *testing.T, conn string) {
	t.Helper()
	mustKV(t, `{"n":1}`, "put", "a", "--record-type", "User", conn)
	mustKV(t, `{"n":2}`, "patch", "a", conn)
	mustKV(t, `[1,2,"x"]`, "put", "b", "--ttl", "1h", conn)
	mustKV(t, `"café \u2028 <&>"`, "put", "c/ü", conn)
	mustKV(t, `{"deep":{"n":3.5e10}}`, "put", "d", "--record-type", "Post", "--namespace", "other", conn)
	mustKV(t, `{"w":1}`, "graph", "add-edge", "user", "1", "user", "2", "follows", conn)
	mustKV(t, "", "consumer", "commit", "c1", "3", conn)
	mustKV(t, `{"p":1}`, "task", "new", "echo", "--priority", "5", "--unique-key", "u1", "--max-retries", "2", "--timeout", "30s", "--at", "2031-01-02T03:04:05Z", conn)
	mustKV(t, `null`, "task", "new", "log", conn)
	mustKV(t, `{"s":1}`, "task", "schedule", "nightly", "0 3 * * *", "echo", "--priority", "1", conn)
}

// exportBody is kv export --all's output without its header line (which
// names the source backend, the time and the stream position) and its
// trailer (whose checksum covers the header).
func exportBody(t *testing.T, conn string, extra ...string) (header headerLine, body string) {
	t.Helper()
	args := append([]string{"export", "--all", "--namespace", "", "--namespace", "other", conn}, extra...)
	out := untrailed(t, mustKV(t, "", args...))
	first, rest, _ := strings.Cut(out, "\n")
	if err := json.Unmarshal([]byte(first), &header); err != nil || header.Kind != kindHeader {
		t.Fatalf("export header %q: %v", first, err)
	}
	return header, rest
}

func TestExportImportSQLite(t *testing.T) {
	src, _ := newDB(t)
	fillExport(t, src)
	h, body := exportBody(t, src)
	if h.Format != exportFormat || h.Version != exportVersion || h.Source != "sqlite" || !h.Graph || !h.Consumers || !h.Tasks ||
		strings.Join(h.Namespaces, ",") != ",other,kvgraph" {
		t.Errorf("header %+v", h)
	}
	kinds := map[string]int{}
	sc := bufio.NewScanner(strings.NewReader(body))
	for sc.Scan() {
		var k struct{ Kind string }
		if err := json.Unmarshal(sc.Bytes(), &k); err != nil {
			t.Fatalf("line %q: %v", sc.Text(), err)
		}
		kinds[k.Kind]++
	}
	// 3 records in "", 1 in other, 4 of the graph's edge.
	if kinds[kindRecord] != 8 || kinds[kindConsumer] != 1 || kinds[kindTask] != 2 || kinds[kindSchedule] != 1 {
		t.Errorf("kinds %v in\n%s", kinds, body)
	}
	for _, want := range []string{`"key":"a","version":2,"value":{"n":2},"type":"User"`, `"namespace":"other","key":"d"`,
		`{"kind":"consumer","name":"c1","position":3}`, `"priority":5,"unique_key":"u1","scheduled_for":"2031-01-02T03:04:05Z","max_retries":2,"timeout_seconds":30}`,
		`{"kind":"schedule","name":"nightly","spec":"0 3 * * *","template":{"name":"echo","payload":{"s":1},"priority":1,`} {
		if !strings.Contains(body, want) {
			t.Errorf("export lacks %s:\n%s", want, body)
		}
	}
	// Without flags: every namespace with records (the graph's too), no
	// consumers or tasks.
	out := mustKV(t, "", "export", src)
	if n := strings.Count(out, "\n"); n != 10 || strings.Contains(out, `"kind":"task"`) || strings.Contains(out, `"kind":"consumer"`) ||
		!strings.Contains(out, `"namespaces":["","kvgraph","other"],"graph":true,"consumers":false`) {
		t.Errorf("plain export has %d lines:\n%s", n, out)
	}
	// A chosen namespace: that one only (KV_NAMESPACE as --namespace).
	for _, env := range []string{"", "other"} {
		args := []string{"export", src}
		if env == "" {
			args = append(args, "--namespace", "other")
		}
		t.Setenv("KV_NAMESPACE", env)
		out := mustKV(t, "", args...)
		if n := strings.Count(out, "\n"); n != 3 || !strings.Contains(out, `"namespaces":["other"],"graph":false`) {
			t.Errorf("export of namespace other (KV_NAMESPACE=%q) has %d lines:\n%s", env, n, out)
		}
	}
	t.Setenv("KV_NAMESPACE", "")
	// Every namespace of a store without records: just the header.
	empty, _ := newDB(t)
	mustKV(t, "", "init", empty)
	if out := mustKV(t, "", "export", empty); strings.Count(out, "\n") != 2 || !strings.Contains(out, `"namespaces":[]`) {
		t.Errorf("export of an empty store:\n%s", out)
	}

	dst, _ := newDB(t)
	mustKV(t, "", "init", dst)
	file := filepath.Join(t.TempDir(), "e.jsonl")
	if err := os.WriteFile(file, []byte(mustKV(t, "", "export", "--all", "--namespace", "", "--namespace", "other", src)), 0o600); err != nil {
		t.Fatal(err)
	}
	if got := mustKV(t, "", "import", "--dry-run", file, dst); got != `{"records":8,"consumers":1,"tasks":2,"schedules":1,"dry_run":true}`+"\n" {
		t.Errorf("dry run: %s", got)
	}
	if _, b := exportBody(t, dst); strings.Contains(b, `"kind":"record"`) {
		t.Fatalf("dry run wrote: %s", b)
	}
	if got := mustKV(t, "", "import", file, "--batch-size", "2", dst); got != `{"records":8,"consumers":1,"tasks":2,"schedules":1,"dry_run":false}`+"\n" {
		t.Errorf("import: %s", got)
	}
	if _, got := exportBody(t, dst); got != body {
		t.Errorf("export after import differs:\n%s\nwant\n%s", got, body)
	}
	// The graph works on the imported records.
	if out := mustKV(t, "", "graph", "get-outgoing", "user", "1", dst); !strings.Contains(out, `"properties":{"w":1}`) {
		t.Errorf("graph after import: %s", out)
	}
	// Importing again: every key exists; nothing changes.
	r := kv(t, "", "import", file, dst)
	if r.code != 1 || !strings.Contains(r.stderr, `key "a" exists in namespace ""`) {
		t.Errorf("second import: exit %d stderr %s", r.code, r.stderr)
	}
}

func TestImportBadInputChangesNothing(t *testing.T) {
	src, _ := newDB(t)
	fillExport(t, src)
	good := mustKV(t, "", "export", "--all", "--namespace", "", "--namespace", "other", src)
	lines := strings.Split(strings.TrimSuffix(untrailed(t, good), "\n"), "\n")
	with := func(i int, line string) string { // good with line i replaced, and a trailer that matches
		ls := append([]string{}, lines...)
		ls[i] = line
		return trailed(strings.Join(ls, "\n") + "\n")
	}
	last := len(lines) - 1
	tests := []struct {
		name, input, stderr string
		code                int
	}{
		{"empty", "", "it is empty (no header line)", 1},
		{"no header", trailed(strings.Join(lines[1:], "\n") + "\n"), `line 1: not a valid kv export: the first line must be the header`, 1},
		{"newer format", with(0, `{"kind":"header","format":"kv-export","version":9}`), "line 1: not a valid kv export: format version 9 is newer", 1},
		{"malformed last line", with(last, `{"kind":"record",`), "line " + itoa(last+1) + ": not a valid kv export: unexpected end of JSON input", 1},
		{"bad json mid-batch", with(2, `{"kind":"record","namespace":"","key":"b","version":1,"value":{x},"created":"2026-01-01T00:00:00Z","updated":"2026-01-01T00:00:00Z","expires":null}`), "line 3: not a valid kv export", 1},
		{"unknown field", with(1, `{"kind":"record","namespace":"","key":"a","version":1,"value":1,"created":"2026-01-01T00:00:00Z","updated":"2026-01-01T00:00:00Z","expires":null,"color":"red"}`), `line 2: not a valid kv export: json: unknown field "color"`, 1},
		{"version 0", with(1, `{"kind":"record","namespace":"","key":"a","version":0,"value":1,"created":"2026-01-01T00:00:00Z","updated":"2026-01-01T00:00:00Z","expires":null}`), `line 2: not a valid kv export: invalid argument: record "a": version 0 is not positive`, 1},
		{"version at the limit", with(1, `{"kind":"record","namespace":"","key":"a","version":9223372036854775807,"value":1,"created":"2026-01-01T00:00:00Z","updated":"2026-01-01T00:00:00Z","expires":null}`), `line 2: not a valid kv export: invalid argument: record "a": version 9223372036854775807 could never be written again: the highest version a record can have is 9223372036854775807, so a restored record's is at most 9223372036854775806`, 1},
		{"value not UTF-8", with(1, "{\"kind\":\"record\",\"namespace\":\"\",\"key\":\"a\",\"version\":1,\"value\":\"\xff\",\"created\":\"2026-01-01T00:00:00Z\",\"updated\":\"2026-01-01T00:00:00Z\",\"expires\":null}"), `line 2: not a valid kv export: record "a": invalid value: not valid UTF-8`, 1},
		{"bad namespace", with(1, strings.Replace(lines[1], `"namespace":""`, `"namespace":"\u0000"`, 1)), `line 2: not a valid kv export: invalid argument: namespace "\x00": contains a NUL byte`, 1},
		{"no times", with(1, `{"kind":"record","namespace":"","key":"a","version":1,"value":1}`), `created and updated times are required`, 1},
		{"duplicate key", with(2, lines[1]), `line 3: not a valid kv export: key "a" appears twice`, 1},
		{"unknown kind", with(last, `{"kind":"widget"}`), `unknown kind "widget"`, 1},
		{"finished task", with(last-1, strings.Replace(lines[last-1], `"status":"pending"`, `"status":"completed"`, 1)), `only pending and running tasks are imported`, 1},
		{"second header", with(last, lines[0]), "a second header", 1},
		{"bad cron spec", with(last, strings.Replace(lines[last], `"spec":"0 3 * * *"`, `"spec":"bogus spec"`, 1)), "line " + itoa(last+1) + `: not a valid kv export: schedule "nightly": invalid argument: cron expression "bogus spec"`, 1},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			dst, path := newDB(t)
			// Into a database file that does not exist yet: refused
			// before the file is created.
			r := kv(t, tt.input, "import", dst)
			if r.code != tt.code || !strings.Contains(r.stderr, tt.stderr) || r.stdout != "" {
				t.Errorf("kv import into a new file: exit %d stdout %q stderr %q, want %d and %q", r.code, r.stdout, r.stderr, tt.code, tt.stderr)
			}
			if entries, _ := os.ReadDir(filepath.Dir(path)); len(entries) != 0 {
				t.Fatalf("a bad import into a new file created %v", entries)
			}
			mustKV(t, "", "init", dst)
			for _, args := range [][]string{{"import", dst}, {"import", "--dry-run", dst}} {
				r := kv(t, tt.input, args...)
				if r.code != tt.code || !strings.Contains(r.stderr, tt.stderr) || r.stdout != "" {
					t.Errorf("kv %q: exit %d stdout %q stderr %q, want %d and %q", args, r.code, r.stdout, r.stderr, tt.code, tt.stderr)
				}
			}
			if out := mustKV(t, "", "export", "--all", "--namespace", "", "--namespace", "other", dst); strings.Count(out, "\n") != 2 {
				t.Errorf("a bad import wrote:\n%s", out)
			}
		})
	}
	if r := kv(t, good, "import", "--batch-size", "0", src); r.code != 2 || !strings.Contains(r.stderr, "--batch-size 0: want 1 to") {
		t.Errorf("batch size 0: %d %s", r.code, r.stderr)
	}
}

func itoa(n int) string { b, _ := json.Marshal(n); return string(b) }

// postgresConn returns a --connection for a fresh database of the local
// PostgreSQL server (KV_TEST_POSTGRES_URL or 127.0.0.1:5432), dropped at the
// end, or skips the test if there is no server.
func postgresConn(t testing.TB) string {
	t.Helper()
	return "--connection=" + seedtest.NewDatabase(t, "postgres")
}

// TestExportImportAcrossBackends moves data from SQLite through every other
// backend (PostgreSQL, the rqlite stand-in, a real rqlited with
// KV_RQLITED) and back to SQLite, by kv export and kv import, and checks
// that each export equals the first exactly.
func TestExportImportAcrossBackends(t *testing.T) {
	src, _ := newDB(t)
	fillExport(t, src)
	dst, _ := newDB(t)
	hops := append([]exportBackend{{"sqlite", src}}, exportBackends(t)[1:]...)
	hops = append(hops, exportBackend{"sqlite", dst})
	_, want := exportBody(t, src)
	prev := hops[0]
	for _, hop := range hops[1:] {
		dump := mustKV(t, "", "export", "--all", "--namespace", "", "--namespace", "other", "--type", prev.typ, prev.conn)
		mustKV(t, dump, "import", "--type", hop.typ, hop.conn)
		h, got := exportBody(t, hop.conn, "--type", hop.typ)
		if h.Source != hop.typ {
			t.Errorf("header source %q, want %q", h.Source, hop.typ)
		}
		if got != want {
			t.Fatalf("export from %s after import differs:\n%s\nwant\n%s", hop.typ, got, want)
		}
		prev = hop
	}
}

// TestImportIntoNewFile: kv import into a SQLite database file that does
// not exist yet checks the input first: bad input, or an input file that
// is missing, is refused and leaves no database file behind; good input
// creates the file and is imported.
func TestImportIntoNewFile(t *testing.T) {
	clearEnv(t)
	in := t.TempDir()
	bad := filepath.Join(in, "bad.jsonl")
	if err := os.WriteFile(bad, []byte(importOf(2, taskJSON("t1", "u"), taskJSON("t2", "u"))), 0o600); err != nil {
		t.Fatal(err)
	}
	good := filepath.Join(in, "good.jsonl")
	if err := os.WriteFile(good, []byte(importOf(2, taskJSON("t1", "u"))), 0o600); err != nil {
		t.Fatal(err)
	}
	dir := t.TempDir()
	db := filepath.Join(dir, "data.db")
	for _, conn := range []string{db, "file:" + db + "?mode=rwc", "file:" + db} {
		for _, tt := range []struct{ file, stderr string }{
			{bad, `line 5: not a valid kv export: task unique key "u" appears twice (first on line 4)`},
			{filepath.Join(in, "missing.jsonl"), "no such file or directory"},
		} {
			r := kv(t, "", "import", tt.file, "--connection="+conn)
			if r.code != 1 || !strings.Contains(r.stderr, tt.stderr) || r.stdout != "" {
				t.Errorf("kv import %s --connection=%s: exit %d stdout %q stderr %q, want 1 and %q", tt.file, conn, r.code, r.stdout, r.stderr, tt.stderr)
			}
			if entries, _ := os.ReadDir(dir); len(entries) != 0 {
				t.Fatalf("kv import %s --connection=%s created %v", tt.file, conn, entries)
			}
		}
	}
	if got := mustKV(t, "", "import", good, "--connection="+db); got != `{"records":2,"consumers":0,"tasks":1,"schedules":0,"dry_run":false}`+"\n" {
		t.Errorf("import: %s", got)
	}
	if got := mustKV(t, "", "count", "all", "--connection="+db); got != "2\n" {
		t.Errorf("count after import: %s", got)
	}
	if got := mustKV(t, "", "task", "get", "t1", "--connection="+db); !strings.Contains(got, `"unique_key":"u"`) {
		t.Errorf("task get t1: %s", got)
	}
}
