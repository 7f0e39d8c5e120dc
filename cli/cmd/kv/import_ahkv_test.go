package main

import (
	"context"
	"encoding/json"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/kvsuite/kv/cli/internal/open"
	"github.com/kvsuite/kv/cli/internal/seedimport/seedtest"
	"github.com/kvsuite/kv/kvtask"
)

// ahkvSource makes an a-h/kv database of type typ with seedtest (its
// schema and fillAHKV's data) and returns its connection string.
func ahkvSource(t *testing.T, typ string, now time.Time) string {
	t.Helper()
	conn := seedtest.NewDatabase(t, typ)
	ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
	defer cancel()
	if err := seedtest.CreateSchema(ctx, typ, conn); err != nil {
		t.Fatal(err)
	}
	fillAHKV(t, typ, conn, now)
	return conn
}

// fillAHKV writes a-h/kv data with its edge cases: a record at version 3,
// non-ASCII keys, keys with % and _, values that are a JSON string, a long
// number and null, a deleted key, keys that look like a consumer's but are
// not, the graph's records, consumers (one that had not read everything,
// with a type filter), locks (held, expired, a consumer's) and a task in
// every status. Times are in the writer's time zone, as a-h/kv wrote them.
// a-h/kv's stream gets seqs 1 to 18 (17 on SQLite and rqlite).
func fillAHKV(t *testing.T, typ, conn string, now time.Time) {
	t.Helper()
	w := &seedtest.Writer{Type: typ, Conn: conn}
	created := now.Add(-48 * time.Hour).In(time.FixedZone("CEST", 2*3600))
	for _, age := range []string{"30", "31", "32"} {
		w.Put("user/alice", `{"name": "Alice", "age": `+age+`}`, "map[string]interface {}", created) // seqs 1-3
	}
	w.Put("naïve/ключ/日本語", `{"n": 1}`, "map[string]interface {}", created.Add(time.Minute)) // 4
	w.Put("50%_off", `"a JSON string"`, "string", created)                                   // 5
	w.Put("pi", `3.14159265358979323846264338327950288`, "float64", created)                 // 6
	w.Put("nothing", `null`, "nil", created)                                                 // 7
	w.Put("gone", `{}`, "map[string]interface {}", created)                                  // 8
	w.Delete("gone")                                                                         // 9
	w.Put("GitHub.com/A-H/kv/stream/x", `{"seq": 1}`, "map[string]interface {}", created)    // 10
	w.Put("github.com/a-h/kv/streamer", `{}`, "map[string]interface {}", created)            // 11
	w.Put("graph/edge/not-an-edge", `{"x": 1}`, "map[string]interface {}", created)          // 12
	w.Edge("User", "alice", "follows", "User", "bob", `{"since": "2024"}`, created)          // 13-15
	w.Edge("User", "a/b c%", "likes", "Post", "1", "", created)                              // 16-18
	w.Consumer("mailer", "all", 19, now)
	w.Consumer("audit", "string", 2, now) // had not read seq 5 (of type string)
	w.Lock("report", "worker-1", now.Add(-time.Minute), now.Add(time.Hour))
	w.Lock("stale", "worker-2", now.Add(-time.Hour), now.Add(-time.Minute))
	w.Lock("github.com/a-h/kv/stream/mailer", "mailer-1", now, now.Add(time.Hour))
	ago := func(d time.Duration) *time.Time { x := now.Add(-d).In(time.FixedZone("CEST", 2*3600)); return &x }
	task := func(id, status string, retries, max int) seedtest.Task {
		return seedtest.Task{ID: id, Name: "log", Status: status, Payload: []byte(`{"message": "` + id + `"}`),
			Created: *ago(2 * time.Hour), ScheduledFor: *ago(time.Hour), RetryCount: retries, MaxRetries: max, Timeout: 300}
	}
	retry := task("pending-retry", "pending", 1, 3)
	retry.LastError = "timeout"
	later := task("pending-later", "pending", 0, 3)
	later.ScheduledFor, later.Payload = now.Add(time.Hour), []byte(`"just a string"`)
	running := task("running", "running", 0, 3)
	running.LockedBy, running.LockedAt, running.Until = "runner-9", ago(time.Minute), ago(-4*time.Minute)
	completed := task("completed", "completed", 0, 3)
	completed.CompletedAt = ago(30 * time.Minute)
	failed := task("failed", "failed", 3, 3)
	failed.LastError, failed.CompletedAt = "boom", ago(10*time.Minute)
	cancelled := task("cancelled", "cancelled", 0, 3)
	cancelled.LockedBy = "runner-9" // a-h/kv's cancel left it
	once := task("zero-retries", "pending", 0, 0)
	for _, x := range []seedtest.Task{retry, later, running, completed, failed, cancelled, once} {
		w.Task(x)
	}
	ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
	defer cancel()
	if err := w.Flush(ctx); err != nil {
		t.Fatal(err)
	}
}

// ahkvOut is what kv import a-h/kv prints.
type ahkvOut struct {
	Records, Edges, Tasks, Locks int
	GraphIndex                   int `json:"graph_index_records_skipped"`
	LocksSkipped                 int `json:"locks_skipped"`
	Consumers                    []ahkvConsumer
	Stream                       struct{ First, Last, Entries int64 }
	Namespace                    string
	DryRun                       bool `json:"dry_run"`
}

// TestImportAHKV moves an a-h/kv database into kv on each backend: SQLite
// into a new SQLite file, PostgreSQL into the same database (kv's tables
// are named kv_*), rqlite (a real rqlited if there is one) into SQLite.
func TestImportAHKV(t *testing.T) {
	for _, typ := range []string{"sqlite", "postgres", "rqlite"} {
		t.Run(typ, func(t *testing.T) {
			clearEnv(t)
			now := time.Now()
			src := ahkvSource(t, typ, now)
			targetType, targetConn := "sqlite", "file:"+filepath.Join(t.TempDir(), "kv.db")+"?mode=rwc"
			if typ == "postgres" {
				targetType, targetConn = "postgres", src
			}
			t.Setenv("KV_TYPE", targetType) // so that one --connection names the store
			target := []string{"--connection=" + targetConn}
			// The stream's entries: SQLite's LIKE ignores case, so a-h/kv's
			// trigger left the key GitHub.com/A-H/kv/stream/x out of it there.
			entries := int64(17)
			if typ == "postgres" {
				entries = 18
			}
			run := func(args ...string) result {
				return kv(t, "", append(append([]string{"import", "a-h/kv", typ, src}, args...), target...)...)
			}

			// --dry-run checks and writes nothing.
			r := run("--dry-run")
			var dry ahkvOut
			if r.code != 0 || json.Unmarshal([]byte(r.stdout), &dry) != nil || !dry.DryRun || dry.Records != 8 || dry.Tasks != 7 {
				t.Fatalf("--dry-run: exit %d, stdout %q, stderr %q", r.code, r.stdout, r.stderr)
			}
			if targetType == "postgres" {
				if v := schemaVersion(t, targetType, targetConn); v != 0 {
					t.Fatalf("--dry-run created kv's schema (version %d)", v)
				}
			} else if fileExists(strings.TrimSuffix(strings.TrimPrefix(targetConn, "file:"), "?mode=rwc")) {
				t.Fatal("--dry-run created the database file")
			}

			r = run()
			if r.code != 0 {
				t.Fatalf("import: exit %d, stdout %q, stderr %q", r.code, r.stdout, r.stderr)
			}
			var out ahkvOut
			if err := json.Unmarshal([]byte(r.stdout), &out); err != nil {
				t.Fatalf("output %q: %v", r.stdout, err)
			}
			if out.Records != 8 || out.Edges != 2 || out.GraphIndex != 4 || out.Tasks != 7 || out.Locks != 1 || out.LocksSkipped != 2 ||
				out.Stream.First != 1 || out.Stream.Last != entries || out.Stream.Entries != entries || out.DryRun || len(out.Consumers) != 2 {
				t.Errorf("counts %+v", out)
			}
			for _, want := range []string{
				`consumer "audit" had not read 1 entries of a-h/kv's stream; they are not carried over`,
				`consumer "audit" read only records of type "string": kv keeps no filter with a consumer, so give --of-type string`,
			} {
				if !strings.Contains(r.stderr, want) {
					t.Errorf("stderr %q has no %q", r.stderr, want)
				}
			}
			checkImported(t, target, now)

			// Consumers start at the head: after the import's entries.
			var head int64
			_ = json.Unmarshal([]byte(mustKV(t, "", append([]string{"stream", "seq"}, target...)...)), &head)
			for _, c := range out.Consumers {
				if c.Position != head || (c.Name == "audit") != (c.Unread == 1) {
					t.Errorf("consumer %+v, want position %d", c, head)
				}
				if st := consumerStatus(t, target[0], c.Name); st.Position != head {
					t.Errorf("consumer %s at %d, want %d", c.Name, st.Position, head)
				}
			}
			if got := streamOut(t, append([]string{"consumer", "get", "mailer"}, target...)...); got != "" {
				t.Errorf("mailer reads %q after the import, want nothing", got)
			}
			if r := kv(t, "", append([]string{"get", "key", "github.com/a-h/kv/stream/mailer"}, target...)...); r.code != 1 || !strings.Contains(r.stderr, "not found") {
				t.Errorf("a consumer record was imported as a key: %q", r.stdout)
			}

			// A second import finds everything there and writes nothing.
			r = run()
			if r.code != 1 || !strings.Contains(r.stderr, "exists") {
				t.Errorf("second import: exit %d, stderr %q", r.code, r.stderr)
			}
			var again int64
			_ = json.Unmarshal([]byte(mustKV(t, "", append([]string{"stream", "seq"}, target...)...)), &again)
			if again != head {
				t.Errorf("the refused import wrote: the stream went from %d to %d", head, again)
			}
		})
	}
}

// checkImported checks the store behind target after an import of
// fillAHKV's data.
func checkImported(t *testing.T, target []string, now time.Time) {
	t.Helper()
	get := func(args ...string) string { return mustKV(t, "", append(args, target...)...) }
	rs := records(t, get("list"))
	if got := keysOf(rs); got != "50%_off,GitHub.com/A-H/kv/stream/x,github.com/a-h/kv/streamer,graph/edge/not-an-edge,naïve/ключ/日本語,nothing,pi,user/alice" {
		t.Errorf("keys %s", got)
	}
	created := now.Add(-48 * time.Hour).UTC().Truncate(time.Microsecond)
	values := map[string]string{"50%_off": `"a JSON string"`, "nothing": `null`, "pi": `3.14159265358979323846264338327950288`,
		"user/alice": `{"age":32,"name":"Alice"}`, "naïve/ключ/日本語": `{"n":1}`}
	for _, r := range rs {
		if want, ok := values[r.Key]; ok && compactJSON(t, r.Value) != compactJSON(t, []byte(want)) {
			t.Errorf("%s = %s, want %s", r.Key, r.Value, want)
		}
		if r.Key == "user/alice" && (r.Version != 3 || r.Type != "map[string]interface {}" || !r.Created.Equal(created) || !r.Updated.Equal(created) || r.Expires != nil) {
			t.Errorf("user/alice = %+v, want version 3, created and updated %v", r, created)
		}
	}
	if !strings.Contains(get("graph", "get-edge", "User", "alice", "User", "bob", "follows"), `"properties":{"since":"2024"}`) {
		t.Error("the edge alice follows bob lost its properties")
	}
	if out := get("graph", "get-outgoing", "User", "a/b c%", "likes"); !strings.Contains(out, `"to":{"type":"Post","id":"1"}`) {
		t.Errorf("get-outgoing of a/b c%%: %s", out)
	}
	type task struct {
		ID          string
		Status      string
		Attempts    int
		MaxRetries  int    `json:"max_retries"`
		LastError   string `json:"last_error"`
		LockedBy    string `json:"locked_by"`
		Payload     json.RawMessage
		LockedUntil *time.Time `json:"locked_until"`
	}
	tasks := map[string]task{}
	for _, line := range strings.Split(strings.TrimSpace(get("task", "list")), "\n") {
		var tk task
		if err := json.Unmarshal([]byte(line), &tk); err != nil {
			t.Fatal(err)
		}
		tasks[tk.ID] = tk
	}
	for id, want := range map[string]struct {
		status              string
		attempts, max       int
		lastError, lockedBy string
	}{
		"pending-retry": {"pending", 1, 2, "timeout", ""}, "pending-later": {"pending", 0, 2, "", ""},
		"running": {"running", 1, 2, "", "runner-9"}, "completed": {"completed", 1, 2, "", ""},
		"failed": {"failed", 3, 2, "boom", ""}, "cancelled": {"cancelled", 0, 2, "", ""}, "zero-retries": {"pending", 0, 0, "", ""},
	} {
		got, ok := tasks[id]
		if !ok || got.Status != want.status || got.Attempts != want.attempts || got.MaxRetries != want.max ||
			got.LastError != want.lastError || got.LockedBy != want.lockedBy {
			t.Errorf("task %s = %+v, want %+v", id, got, want)
		}
	}
	if lu := tasks["running"].LockedUntil; lu == nil || !lu.Equal(now.Add(4*time.Minute).UTC().Truncate(time.Microsecond)) {
		t.Errorf("running task's lease: %v", lu)
	}
	if compactJSON(t, tasks["pending-later"].Payload) != `"just a string"` {
		t.Errorf("payload %s", tasks["pending-later"].Payload)
	}
	if l := lockStatus(t, target[0], "report"); !*l.Held || l.Owner != "worker-1" {
		t.Errorf("lock report = %+v", l)
	}
	for _, name := range []string{"stale", "github.com/a-h/kv/stream/mailer"} {
		if l := lockStatus(t, target[0], name); *l.Held {
			t.Errorf("lock %s was imported: %+v", name, l)
		}
	}
}

// compactJSON is a JSON document without insignificant space, with object
// members sorted (PostgreSQL's jsonb reorders them).
func compactJSON(t *testing.T, b []byte) string {
	t.Helper()
	var v any
	dec := json.NewDecoder(strings.NewReader(string(b)))
	dec.UseNumber()
	if err := dec.Decode(&v); err != nil {
		t.Fatalf("%s: %v", b, err)
	}
	out, _ := json.Marshal(v)
	return string(out)
}

// TestImportAHKVChecksFirst: anything the store cannot take fails the
// import before it writes anything - rows kv refuses, and keys, tasks,
// consumers and locks the store holds already - and so do usage errors.
func TestImportAHKVChecksFirst(t *testing.T) {
	clearEnv(t)
	ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
	defer cancel()
	now := time.Now()
	newSource := func(extra ...seedtest.Stmt) string {
		src := ahkvSource(t, "sqlite", now)
		if err := seedtest.Exec(ctx, "sqlite", src, extra...); err != nil {
			t.Fatal(err)
		}
		return src
	}
	newTarget := func() (flag, path string) {
		path = filepath.Join(t.TempDir(), "kv.db")
		return "--connection=file:" + path + "?mode=rwc", path
	}

	// Rows kv refuses: nothing is written, not even the database file.
	for _, c := range []struct {
		name string
		row  seedtest.Stmt
		want string
	}{
		{"task payload not JSON", seedtest.Stmt{SQL: "UPDATE tasks SET payload = 'not json' WHERE id = 'failed'"},
			`import a-h/kv: task "failed": cannot be imported: `},
		{"unreadable time", seedtest.Stmt{SQL: "UPDATE kv SET created = 'yesterday' WHERE key = 'pi'"},
			`table kv: created of key "pi": "yesterday" is not an RFC 3339 time`},
		{"empty key", seedtest.Stmt{SQL: "INSERT INTO kv (key, version, value, type, created) VALUES ('', 1, jsonb('1'), 'T', '2025-01-01T00:00:00Z')"},
			`import a-h/kv: key "": cannot be imported: `},
		{"unknown task status", seedtest.Stmt{SQL: "UPDATE tasks SET status = 'pending', name = '' WHERE id = 'completed'"},
			`task "completed": cannot be imported`},
		{"consumer without a position", seedtest.Stmt{SQL: "UPDATE kv SET value = jsonb('{\"name\":\"mailer\"}') WHERE key = 'github.com/a-h/kv/stream/mailer'"},
			`consumer record "github.com/a-h/kv/stream/mailer": want {"seq":...}`},
	} {
		src := newSource(c.row)
		flag, path := newTarget()
		r := kv(t, "", "import", "a-h/kv", "sqlite", src, flag)
		if r.code != 1 || !strings.Contains(r.stderr, c.want) || r.stdout != "" {
			t.Errorf("%s: exit %d, stdout %q, stderr %q", c.name, r.code, r.stdout, r.stderr)
		}
		if fileExists(path) {
			t.Errorf("%s: the refused import created the database", c.name)
		}
	}

	// What the store holds already: nothing more is written.
	src := newSource()
	flag, _ := newTarget()
	for _, c := range []struct {
		name  string
		setup [][]string
		want  string
	}{
		{"a key", [][]string{{"put", "pi"}}, `key "pi" exists in namespace ""`},
		{"a task", nil, `task "running" exists in the store already`},
		{"a consumer", [][]string{{"consumer", "commit", "audit", "0"}}, `consumer "audit" exists in the store already`},
		{"a lock", [][]string{{"lock", "acquire", "report", "someone-else", "--duration=1h"}}, `lock "report" is held by "worker-1" in a-h/kv and by "someone-else" in the store`},
		{"an edge", [][]string{{"graph", "add-edge", "User", "alice", "User", "bob", "follows"}}, `graph edge User:alice -[follows]-> User:bob exists in the store already`},
	} {
		flag, _ = newTarget()
		for _, args := range c.setup {
			mustKV(t, `{}`, append(args, flag)...)
		}
		if c.setup == nil { // a task with the id of one of a-h/kv's
			b, err := open.Open(ctx, open.Config{Type: "sqlite", Connection: strings.TrimPrefix(flag, "--connection=")})
			if err == nil {
				err = b.Store.Init(ctx)
			}
			var s *kvtask.Scheduler
			if err == nil {
				s, err = schedulerOf(b)
			}
			if err == nil {
				err = s.New(ctx, kvtask.NewTask("log", nil))
				if err == nil {
					task := kvtask.NewTask("log", nil)
					task.ID = "running"
					err = s.New(ctx, task)
				}
			}
			if err != nil {
				t.Fatal(err)
			}
			b.Close()
		}
		seq := mustKV(t, "", "stream", "seq", flag)
		r := kv(t, "", "import", "a-h/kv", "sqlite", src, flag)
		if r.code != 1 || !strings.Contains(r.stderr, c.want) {
			t.Errorf("%s: exit %d, stderr %q", c.name, r.code, r.stderr)
		}
		if after := mustKV(t, "", "stream", "seq", flag); after != seq {
			t.Errorf("%s: the refused import wrote (stream seq %s -> %s)", c.name, seq, after)
		}
	}

	// Usage errors, and a database that is not a-h/kv's (the store of the
	// last case above).
	kvdb := strings.TrimPrefix(flag, "--connection=")
	flag, _ = newTarget()
	same := strings.TrimPrefix(flag, "--connection=")
	t.Setenv(ahkvConnectionEnv, src)
	for _, c := range []struct {
		name string
		args []string
		code int
		want string
	}{
		{"no type", []string{"import", "a-h/kv"}, 2, "want <type> [<connection>]"},
		{"unknown type", []string{"import", "a-h/kv", "mysql", src}, 2, `<type> "mysql": want sqlite, postgres or rqlite`},
		{"bad --consumers-at", []string{"import", "a-h/kv", "sqlite", "--consumers-at=middle"}, 2, `--consumers-at "middle": want head or start`},
		{"bad --batch-size", []string{"import", "a-h/kv", "sqlite", "--batch-size=0"}, 2, "--batch-size 0"},
		{"the store's own file", []string{"import", "a-h/kv", "sqlite", same}, 2, "the a-h/kv database is the store's own file"},
		{"a kv database", []string{"import", "a-h/kv", "sqlite", kvdb}, 1,
			"open the a-h/kv database: not a database of github.com/a-h/kv: it has no table kv, locks"},
		{"from the environment, dry run", []string{"import", "a-h/kv", "sqlite", "--dry-run"}, 0, ""},
	} {
		r := kv(t, "", append(c.args, flag)...)
		if r.code != c.code || !strings.Contains(r.stderr, c.want) {
			t.Errorf("%s: exit %d, stderr %q", c.name, r.code, r.stderr)
		}
	}
	clearEnv(t)
	t.Setenv(ahkvConnectionEnv, "")
	if r := kv(t, "", "import", "a-h/kv", "sqlite", flag); r.code != 2 || !strings.Contains(r.stderr, "no <connection> for the a-h/kv database (give it, or set KV_AHKV_CONNECTION)") {
		t.Errorf("no connection: exit %d, stderr %q", r.code, r.stderr)
	}
}

// TestImportAHKVConsumersAtStart: --consumers-at start puts the consumers
// before the import's entries, so they read every imported record.
func TestImportAHKVConsumersAtStart(t *testing.T) {
	clearEnv(t)
	src := ahkvSource(t, "sqlite", time.Now())
	flag, _ := newDB(t)
	mustKV(t, `{}`, "put", "before", flag)
	r := kv(t, "", "import", "a-h/kv", "sqlite", src, "--consumers-at", "start", flag)
	if r.code != 0 {
		t.Fatalf("exit %d, stderr %q", r.code, r.stderr)
	}
	if c := consumerStatus(t, flag, "mailer"); c.Position != 1 {
		t.Errorf("mailer at %d, want 1 (after the store's own entry)", c.Position)
	}
	rs := streamRecords(t, mustKV(t, "", "consumer", "get", "mailer", "--limit=100", flag))
	keys := map[string]bool{}
	for _, r := range rs {
		keys[r.Key] = r.Action == "create"
	}
	if len(rs) < 8 || !keys["user/alice"] || !keys["naïve/ключ/日本語"] || keys["before"] {
		t.Errorf("mailer reads %d entries: %v", len(rs), keys)
	}
}

// TestImportAHKVSecret: the a-h/kv connection's password is never printed.
func TestImportAHKVSecret(t *testing.T) {
	clearEnv(t)
	flag, _ := newDB(t)
	const secret = "Zq8-secret-pw"
	for _, typ := range []string{"postgres", "rqlite"} {
		conn := "postgres://kv:" + secret + "@127.0.0.1:1/db?sslmode=disable&connect_timeout=2"
		if typ == "rqlite" {
			conn = "http://kv:" + secret + "@127.0.0.1:1?disableClusterDiscovery=true&timeout=1s"
		}
		r := kv(t, "", "import", "a-h/kv", typ, conn, flag)
		if r.code != 1 || strings.Contains(r.stderr+r.stdout, secret) || !strings.Contains(r.stderr, "open the a-h/kv database") {
			t.Errorf("%s: exit %d, stderr %q", typ, r.code, r.stderr)
		}
	}
}

// TestAHKVDatabaseAsStore: kv pointed at an a-h/kv database says so and
// how to move the data. On SQLite and rqlite it refuses to create its
// schema there (its tables stream and tasks have a-h/kv's names) and
// writes nothing; on PostgreSQL its own tables live beside a-h/kv's.
func TestAHKVDatabaseAsStore(t *testing.T) {
	for _, typ := range []string{"sqlite", "postgres", "rqlite"} {
		t.Run(typ, func(t *testing.T) {
			clearEnv(t)
			src := ahkvSource(t, typ, time.Now())
			t.Setenv("KV_TYPE", typ)
			flag := "--connection=" + src
			r := kv(t, "", "list", flag)
			if r.code != 1 || !strings.Contains(r.stderr, "the database is not initialised") || !strings.Contains(r.stderr, "it holds the tables of github.com/a-h/kv") ||
				!strings.Contains(r.stderr, "kv import a-h/kv "+typ+" <this connection>") {
				t.Errorf("list: exit %d, stderr %q", r.code, r.stderr)
			}
			for _, args := range [][]string{{"put", "k"}, {"init"}} {
				r := kv(t, `{}`, append(args, flag)...)
				if typ == "postgres" {
					if r.code != 0 {
						t.Errorf("kv %s on PostgreSQL: exit %d, stderr %q", args[0], r.code, r.stderr)
					}
					continue
				}
				if r.code != 1 || !strings.Contains(r.stderr, "the database holds the tables of github.com/a-h/kv: kv cannot create its schema beside a-h/kv's") ||
					!strings.Contains(r.stderr, "--connection <another database>") {
					t.Errorf("kv %s: exit %d, stderr %q", args[0], r.code, r.stderr)
				}
			}
			if typ != "postgres" {
				if v := schemaVersion(t, typ, src); v != 0 {
					t.Errorf("kv's schema was created in a-h/kv's database (version %d)", v)
				}
			}
		})
	}
}
