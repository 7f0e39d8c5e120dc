package main

import (
	"bufio"
	"context"
	"encoding/json"
	"fmt"
	"os/exec"
	"path/filepath"
	"runtime"
	"strings"
	"testing"
	"time"

	sqlitekv "github.com/kvsuite/kv/backend-sqlite"
)

// sqliteSchema is the schema version the SQLite backend creates.
func sqliteSchema(t *testing.T) int {
	t.Helper()
	db, err := sqlitekv.Open(filepath.Join(t.TempDir(), "version.db"))
	if err != nil {
		t.Fatal(err)
	}
	defer db.Close()
	_, required, err := db.SchemaVersion(context.Background())
	if err != nil {
		t.Fatal(err)
	}
	return required
}

func TestStatusJSON(t *testing.T) {
	version := sqliteSchema(t)
	conn, _ := newDB(t)
	fillExport(t, conn)
	mustKV(t, "", "lock", "acquire", "jobs", "me", conn)
	out := mustKV(t, "", "status", "--json", "--lease", "jobs", "--lease", "never", conn)
	var fields map[string]json.RawMessage
	if err := json.Unmarshal([]byte(out), &fields); err != nil {
		t.Fatalf("status --json %q: %v", out, err)
	}
	for _, f := range []string{"type", "connection", "read_only", "schema", "namespaces", "stream", "consumers", "leases", "tasks"} {
		if _, ok := fields[f]; !ok {
			t.Errorf("status --json has no %q: %s", f, out)
		}
	}
	var st statusJSON
	if err := json.Unmarshal([]byte(out), &st); err != nil {
		t.Fatal(err)
	}
	// 7 writes to the stream: put, patch, put, put, put (other), and the
	// graph edge's 4 records -> 9. Without --namespace: every namespace
	// with keys, in byte order.
	want := statusJSON{Type: "sqlite", Connection: strings.TrimPrefix(conn, "--connection="),
		Schema:     schemaJSON{Version: version, Required: version},
		Namespaces: []namespaceJSON{{"", 3}, {"kvgraph", 4}, {"other", 1}},
		Stream:     &streamStatusJSON{First: 1, Last: 9, Length: 9},
		Consumers:  []consumerRowJSON{{Name: "c1", Position: 3, Lag: 6}},
		Tasks:      map[string]int{"pending": 2, "running": 0, "completed": 0, "failed": 0, "cancelled": 0},
	}
	got := st
	got.Leases = nil
	if g, w := mustJSON(t, got), mustJSON(t, want); g != w {
		t.Errorf("status\n%s\nwant\n%s", g, w)
	}
	// The held lease is listed; --lease adds "never", not held.
	if len(st.Leases) != 2 || st.Leases[0].Name != "jobs" || !st.Leases[0].Held || st.Leases[0].Owner != "me" || st.Leases[1].Name != "never" || st.Leases[1].Held || st.Leases[1].Token != 0 {
		t.Errorf("leases %+v", st.Leases)
	}
	// Two namespaces, and the text form.
	st = statusJSON{}
	if err := json.Unmarshal([]byte(mustKV(t, "", "status", "--json", "--namespace", "other", "--namespace", "", conn)), &st); err != nil {
		t.Fatal(err)
	}
	if mustJSON(t, st.Namespaces) != `[{"namespace":"other","keys":1},{"namespace":"","keys":3},{"namespace":"kvgraph","keys":4}]` {
		t.Errorf("namespaces %s", mustJSON(t, st.Namespaces))
	}
	// KV_NAMESPACE chooses a namespace as --namespace does.
	t.Setenv("KV_NAMESPACE", "other")
	st = statusJSON{}
	if err := json.Unmarshal([]byte(mustKV(t, "", "status", "--json", conn)), &st); err != nil {
		t.Fatal(err)
	}
	if mustJSON(t, st.Namespaces) != `[{"namespace":"other","keys":1},{"namespace":"kvgraph","keys":4}]` {
		t.Errorf("KV_NAMESPACE=other: namespaces %s", mustJSON(t, st.Namespaces))
	}
	t.Setenv("KV_NAMESPACE", "")
	text := mustKV(t, "", "status", conn)
	for _, w := range []string{"Backend:     sqlite", fmt.Sprintf("Schema:      version %d\n", version), "other      1", "first seq 1, last seq 9, 9 entries", "c1        3         6",
		"jobs   me       1", "Tasks:  2 pending, 0 running"} {
		if !strings.Contains(text, w) {
			t.Errorf("status text lacks %q:\n%s", w, text)
		}
	}
}

// TestStatusLeases: every held lease by default, those under --lease-prefix
// with it; released and expired leases are not held; an empty store.
func TestStatusLeases(t *testing.T) {
	conn, _ := newDB(t)
	mustKV(t, "", "init", conn)
	leases := func(args ...string) string {
		t.Helper()
		var st statusJSON
		if err := json.Unmarshal([]byte(mustKV(t, "", append([]string{"status", "--json", conn}, args...)...)), &st); err != nil {
			t.Fatal(err)
		}
		var names []string
		for _, l := range st.Leases {
			names = append(names, fmt.Sprintf("%s:%s:%v", l.Name, l.Owner, l.Held))
		}
		return strings.Join(names, ",")
	}
	if got := leases(); got != "" {
		t.Errorf("no leases: %q", got)
	}
	if text := mustKV(t, "", "status", conn); !strings.Contains(text, "Namespaces:  none with keys") || !strings.Contains(text, "Leases:  none held") {
		t.Errorf("empty store:\n%s", text)
	}
	mustKV(t, "", "lock", "acquire", "job/b", "bob", conn)
	mustKV(t, "", "lock", "acquire", "job/a", "alice", conn)
	mustKV(t, "", "lock", "acquire", "web", "carol", conn)
	mustKV(t, "", "lock", "acquire", "job/done", "dan", conn)
	mustKV(t, "", "lock", "release", "job/done", "dan", conn)
	mustKV(t, "", "lock", "acquire", "job/short", "erin", "--duration", "1ms", conn)
	time.Sleep(5 * time.Millisecond)
	if got := leases(); got != "job/a:alice:true,job/b:bob:true,web:carol:true" {
		t.Errorf("every held lease: %q", got)
	}
	if got := leases("--lease-prefix", "job/"); got != "job/a:alice:true,job/b:bob:true" {
		t.Errorf("--lease-prefix job/: %q", got)
	}
	if got := leases("--lease-prefix", "job/", "--lease", "web", "--lease", "job/done"); got != "job/a:alice:true,job/b:bob:true,web:carol:true,job/done::false" {
		t.Errorf("--lease-prefix job/ --lease web --lease job/done: %q", got)
	}
	if r := kv(t, "", "status", "--lease-prefix", "a\x00", conn); r.code != 2 || !strings.Contains(r.stderr, "--lease-prefix") {
		t.Errorf("bad --lease-prefix: exit %d stderr %q", r.code, r.stderr)
	}
}

func TestStatusRedactsPassword(t *testing.T) {
	clearEnv(t)
	r := kv(t, "", "status", "--type", "postgres", "--connection", "postgres://kv:hunter22@127.0.0.1:1/kv?connect_timeout=5")
	if r.code != 1 || strings.Contains(r.stderr+r.stdout, "hunter22") {
		t.Errorf("exit %d, output shows the password: %s %s", r.code, r.stdout, r.stderr)
	}
}

func mustJSON(t *testing.T, v any) string {
	t.Helper()
	b, err := json.Marshal(v)
	if err != nil {
		t.Fatal(err)
	}
	return string(b)
}

func TestVersion(t *testing.T) {
	clearEnv(t)
	var v versionJSON
	if err := json.Unmarshal([]byte(mustKV(t, "", "version", "--json")), &v); err != nil {
		t.Fatal(err)
	}
	if v.GoVersion != runtime.Version() || v.Version == "" {
		t.Errorf("version %+v", v)
	}
	if out := mustKV(t, "", "version"); !strings.HasPrefix(out, "kv "+v.Version) || !strings.HasSuffix(out, runtime.Version()+"\n") {
		t.Errorf("version: %q", out)
	}
	if r := kv(t, "", "version", "x"); r.code != 2 {
		t.Errorf("version x: exit %d", r.code)
	}
}

func TestUnknownCommandSuggestion(t *testing.T) {
	clearEnv(t)
	for _, tt := range []struct {
		args []string
		want string
	}{
		{[]string{"gte"}, "kv: gte: unknown command; did you mean get?\n"},
		{[]string{"stauts"}, "kv: stauts: unknown command; did you mean status?\n"},
		{[]string{"exprot"}, "kv: exprot: unknown command; did you mean export?\n"},
		{[]string{"frobnicate"}, "kv: frobnicate: unknown command\n"},
		{[]string{"x"}, "kv: x: unknown command\n"},
		{[]string{"get", "prefx"}, `kv: get: unknown subcommand "prefx"; did you mean prefix?: want one of key, prefix, range, batch` + "\n"},
		{[]string{"get", "user/1"}, `kv: get: unknown subcommand "user/1": want one of key, prefix, range, batch; for the key "user/1": kv get key "user/1"` + "\n"},
	} {
		r := kv(t, "", tt.args...)
		if r.code != 2 || !strings.HasPrefix(r.stderr, tt.want) {
			t.Errorf("kv %q: exit %d stderr %q, want %q", tt.args, r.code, r.stderr, tt.want)
		}
	}
	for _, tt := range []struct {
		a, b string
		d    int
	}{{"", "", 0}, {"get", "gte", 1}, {"get", "get", 0}, {"kitten", "sitting", 3}, {"ab", "ba", 1}, {"ü", "u", 1}} {
		if d := editDistance(tt.a, tt.b); d != tt.d {
			t.Errorf("editDistance(%q, %q) = %d, want %d", tt.a, tt.b, d, tt.d)
		}
	}
}

func TestCompletionBash(t *testing.T) {
	clearEnv(t)
	script := mustKV(t, "", "completion", "bash")
	if r := kv(t, "", "completion", "fish"); r.code != 2 {
		t.Errorf("completion fish: exit %d", r.code)
	}
	bash, err := exec.LookPath("bash")
	if err != nil {
		t.Skip("SKIP: bash is not installed")
	}
	// complete -p shows the registration; _kv completes a partial word.
	cmd := exec.Command(bash, "--norc", "-c", script+`
complete -p kv
COMP_WORDS=(kv gr); COMP_CWORD=1; _kv; echo "1:${COMPREPLY[*]}"
COMP_WORDS=(kv get --type sqlite pr); COMP_CWORD=4; _kv; echo "2:${COMPREPLY[*]}"
COMP_WORDS=(kv export --con); COMP_CWORD=2; _kv; echo "3:${COMPREPLY[*]}"
`)
	out, err := cmd.CombinedOutput()
	if err != nil {
		t.Fatalf("bash: %v\n%s", err, out)
	}
	want := "complete -F _kv kv\n1:graph\n2:prefix\n3:--config --connection --consumers\n"
	if string(out) != want {
		t.Errorf("bash completion:\n%s\nwant\n%s", out, want)
	}
}

func TestLogFormatJSON(t *testing.T) {
	conn, _ := newDB(t)
	mustKV(t, `{"hello":"world"}`, "task", "new", "log", conn)
	r := kv(t, "", "task", "run", "--idle-exit", "--poll-interval", "50ms", "--log-format", "json", "--log-level", "debug", conn)
	if r.code != 0 {
		t.Fatalf("task run: exit %d stderr %s", r.code, r.stderr)
	}
	n := 0
	sc := bufio.NewScanner(strings.NewReader(r.stderr))
	sawTask := false
	for sc.Scan() {
		var rec map[string]any
		if err := json.Unmarshal(sc.Bytes(), &rec); err != nil {
			t.Fatalf("stderr line %q is not JSON: %v", sc.Text(), err)
		}
		if rec["time"] == nil || rec["level"] == nil || rec["msg"] == nil {
			t.Errorf("log line %q lacks time, level or msg", sc.Text())
		}
		if rec["msg"] == "task" && rec["payload"] == `{"hello":"world"}` {
			sawTask = true
		}
		n++
	}
	if n == 0 || !sawTask {
		t.Errorf("%d JSON log lines, task logged %v:\n%s", n, sawTask, r.stderr)
	}
	// Text is the default; bad values are usage errors.
	mustKV(t, `1`, "task", "new", "log", conn)
	r = kv(t, "", "task", "run", "--idle-exit", "--poll-interval", "50ms", conn)
	if r.code != 0 || !strings.Contains(r.stderr, "level=INFO msg=task") {
		t.Errorf("text log: exit %d stderr %s", r.code, r.stderr)
	}
	for _, args := range [][]string{{"--log-format", "xml"}, {"--log-level", "loud"}, {"--log-level", "info+2"}} {
		r := kv(t, "", append([]string{"task", "list", conn}, args...)...)
		if r.code != 2 || !strings.Contains(r.stderr, args[0]) {
			t.Errorf("kv %q: exit %d stderr %s", args, r.code, r.stderr)
		}
	}
	// KV_LOG_FORMAT works like the flag.
	mustKV(t, `3`, "task", "new", "log", conn)
	t.Setenv("KV_LOG_FORMAT", "json")
	r = kv(t, "", "task", "run", "--idle-exit", "--poll-interval", "50ms", conn)
	if r.code != 0 || !strings.HasPrefix(r.stderr, `{"time":`) {
		t.Errorf("KV_LOG_FORMAT=json: exit %d stderr %s", r.code, r.stderr)
	}
	t.Setenv("KV_LOG_FORMAT", "")
	// warn hides the info lines.
	mustKV(t, `2`, "task", "new", "log", conn)
	mustKV(t, "", "task", "run", "--idle-exit", "--poll-interval", "50ms", "--log-level", "warn", conn)
}

func TestConsumerStreamLogs(t *testing.T) {
	conn, _ := newDB(t)
	fillStream(t, conn)
	r := kv(t, "", "consumer", "stream", "c", "--idle-exit", "200ms", "--log-format", "json", "--log-level", "debug", conn)
	if r.code != 0 {
		t.Fatalf("consumer stream: exit %d stderr %s", r.code, r.stderr)
	}
	msgs := map[string]bool{}
	sc := bufio.NewScanner(strings.NewReader(r.stderr))
	for sc.Scan() {
		var rec struct {
			Msg      string `json:"msg"`
			Consumer string `json:"consumer"`
		}
		if err := json.Unmarshal(sc.Bytes(), &rec); err != nil || rec.Consumer != "c" {
			t.Fatalf("stderr line %q: %v", sc.Text(), err)
		}
		msgs[rec.Msg] = true
	}
	for _, m := range []string{"consumer took its lease", "consumer read a batch", "consumer idle: waiting", "consumer stopped, releasing its lease"} {
		if !msgs[m] {
			t.Errorf("no %q in the log:\n%s", m, r.stderr)
		}
	}
}

// TestConsumerTakeOverLogged: a lease left by an instance that never
// released it is taken over with a warning.
func TestConsumerTakeOverLogged(t *testing.T) {
	conn, _ := newDB(t)
	fillStream(t, conn)
	mustKV(t, "", "lock", "acquire", "kvstream/consumer/c", "dead-instance", "--duration", "300ms", conn)
	time.Sleep(400 * time.Millisecond) // let the dead instance's lease expire
	r := kv(t, "", "consumer", "stream", "c", "--idle-exit", "100ms", "--log-level", "warn", conn)
	if r.code != 0 || !strings.Contains(r.stderr, `level=WARN msg="consumer took over the lease of an instance that did not release it" consumer=c`) ||
		!strings.Contains(r.stderr, "previous_owner=dead-instance") || strings.Count(r.stderr, "\n") != 1 {
		t.Errorf("exit %d stderr %s", r.code, r.stderr)
	}
}
