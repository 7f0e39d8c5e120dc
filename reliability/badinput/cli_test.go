package badinput

import (
	"os"
	"path/filepath"
	"strings"
	"testing"
)

// cliCase is one bad command line: kv must exit with code (any non-zero if
// 0), print a message on stderr that starts "kv: " and contains each part
// of stderr (parts separated by " && "), nothing on stdout, and change
// nothing. "@DIR@" in an argument is the test's directory, which
// holds the files named below.
type cliCase struct {
	name   string
	stdin  string
	args   []string
	code   int
	stderr string
}

// cliCases are the bad command lines. cli/bad_input_test.go has more
// (in-process, on an empty store); these run the real binary against a
// store with data in every layer.
func cliCases() []cliCase {
	long := strings.Repeat("k", 1025)
	huge := `"` + strings.Repeat("v", 16<<20) + `"`
	return []cliCase{
		// Malformed JSON and NUL bytes.
		{"put malformed JSON", `{"a":`, []string{"put", "k1"}, 1, "stdin is not a JSON document"},
		{"put two documents", `{"a":1}{"b":2}`, []string{"put", "k1"}, 1, "stdin is not a JSON document"},
		{"put raw NUL byte", "\"a\x00b\"", []string{"put", "k1"}, 1, "not a JSON document"},
		{"put value not UTF-8", "\"a\xffb\"", []string{"put", "k1"}, 1, "UTF-8"},
		{"patch malformed JSON", `{"a":}`, []string{"patch", "k1"}, 1, "stdin is not a JSON document"},
		{"patch empty stdin", "", []string{"patch", "k1"}, 1, "stdin is empty"},
		{"task new malformed payload", `{"p":`, []string{"task", "new", "echo"}, 1, "not a JSON document"},
		{"schedule malformed payload", `[`, []string{"task", "schedule", "s9", "@hourly", "echo"}, 1, "not a JSON document"},
		{"edge properties malformed", "", []string{"graph", "add-edge", "User", "a", "User", "b", "follows", `{"x":`}, 2, "not valid JSON"},
		{"edge properties an array", "", []string{"graph", "add-edge", "User", "a", "User", "b", "follows", `[1]`}, 2, "must be a JSON object"},
		// Huge keys and values.
		{"put key of 1025 bytes", `1`, []string{"put", long}, 2, "longer than 1024 bytes"},
		{"get key of 64 KiB", "", []string{"get", "key", strings.Repeat("x", 64<<10)}, 2, "longer than 1024 bytes"},
		{"put value over 16 MiB", huge, []string{"put", "k1"}, 1, "over the"},
		{"lock name of 1025 bytes", "", []string{"lock", "acquire", long, "me"}, 2, "longer than 1024 bytes"},
		// Offsets and limits.
		{"list offset -1", "", []string{"list", "-1"}, 2, "-1 is negative"},
		{"list limit -1", "", []string{"list", "0", "-1"}, 2, "limit -1 is negative"},
		{"list offset 1e12", "", []string{"list", "1e12"}, 2, `offset "1e12" is not a whole number`},
		{"list offset ten", "", []string{"list", "ten"}, 2, `offset "ten" is not a whole number`},
		{"prefix limit overflows int64", "", []string{"get", "prefix", "k", "0", "99999999999999999999"}, 2, "is out of range"},
		{"delete prefix negative limit", "", []string{"delete", "prefix", "k", "0", "-3"}, 2, "-3 is negative"},
		{"task list offset -1", "", []string{"task", "list", "-1"}, 2, "-1 is negative"},
		{"consumer get limit 0", "", []string{"consumer", "get", "c1", "--limit=0"}, 2, "--limit 0"},
		{"consumer get limit 1e12", "", []string{"consumer", "get", "c1", "--limit=1000000000000"}, 2, "--limit"},
		// Wrong types.
		{"version is a string", `1`, []string{"put", "k1", "--version=abc"}, 2, `--version "abc": not a whole number in decimal digits`},
		{"version -2", `1`, []string{"put", "k1", "--version=-2"}, 2, "--version -2"},
		{"priority is a string", `{}`, []string{"task", "new", "echo", "--priority=high"}, 2, `--priority "high": not a whole number in decimal digits`},
		{"concurrency is a float", "", []string{"task", "run", "--concurrency=1.5", "--idle-exit"}, 2, "-concurrency"},
		{"at is not a time", `{}`, []string{"task", "new", "echo", "--at=tomorrow"}, 2, "not an RFC 3339 time"},
		// SQL fragments (valid keys: not found, and the table survives).
		{"get SQL fragment key", "", []string{"get", "key", "'; DROP TABLE kv; --"}, 1, "key not found"},
		{"delete version SQL fragment", "", []string{"delete", "--version=1", "k1' OR '1'='1"}, 1, "version mismatch"},
		// Statuses, durations, cron expressions.
		{"unknown task status", "", []string{"task", "list", "--status=done"}, 2, `--status "done"`},
		{"ttl -5s", `1`, []string{"put", "k1", "--ttl=-5s"}, 2, "--ttl -5s is negative"},
		{"ttl abc", `1`, []string{"put", "k1", "--ttl=abc"}, 2, `--ttl "abc": not a duration`},
		{"touch ttl -1h", "", []string{"touch", "k1", "--ttl=-1h"}, 2, "--ttl"},
		{"lock duration 0", "", []string{"task", "run", "--lock-duration=0", "--idle-exit"}, 2, "--lock-duration 0s"},
		{"lock duration abc", "", []string{"task", "run", "--lock-duration=abc", "--idle-exit"}, 2, "-lock-duration"},
		{"lease duration -1s", "", []string{"lock", "acquire", "l9", "me", "--duration=-1s"}, 2, "--duration -1s"},
		{"task timeout fractional", `{}`, []string{"task", "new", "echo", "--timeout=1.5s"}, 2, "--timeout 1.5s"},
		{"cron minute 61", `{}`, []string{"task", "schedule", "s9", "61 * * * *", "echo"}, 1, "cron expression"},
		{"cron words", `{}`, []string{"task", "schedule", "s9", "every tuesday", "echo"}, 1, "cron expression"},
		{"cron every -1m", `{}`, []string{"task", "schedule", "s9", "@every -1m", "echo"}, 1, "@every interval"},
		{"cron February 30th", `{}`, []string{"task", "schedule", "s9", "0 0 30 2 *", "echo"}, 1, "never fires"},
		{"cron TZ without fields", `{}`, []string{"task", "schedule", "s9", "TZ=UTC", "echo"}, 1, "cron expression"},
		// Versions.
		{"put version mismatch", `1`, []string{"put", "k1", "--version=7"}, 1, "version mismatch"},
		{"create existing key", `1`, []string{"put", "k1", "--version=0"}, 1, "version mismatch"},
		// Graph.
		{"edge empty from id", "", []string{"graph", "add-edge", "User", "", "User", "bob", "follows"}, 2, "from id is empty"},
		{"edge empty type", "", []string{"graph", "add-edge", "User", "alice", "User", "bob", ""}, 2, "edge type is empty"},
		{"path from empty node", "", []string{"graph", "find-path", "", "", "User", "bob"}, 2, "is empty"},
		{"outgoing empty entity", "", []string{"graph", "get-outgoing", "", "x"}, 2, "entity type is empty"},
		{"view depth -1", "", []string{"graph", "view", "--depth=-1"}, 2, "--depth -1"},
		// Stream positions and consumers.
		{"stream get seq overflows", "", []string{"stream", "get", "99999999999999999999"}, 2, "is out of range"},
		{"stream trim -1", "", []string{"stream", "trim", "--", "-1"}, 2, "-1 is negative"},
		{"consumer commit past the end", "", []string{"consumer", "commit", "c1", "1000000000000"}, 1, "after the end of the stream"},
		{"consumer commit not a number", "", []string{"consumer", "commit", "c1", "last"}, 2, "not a whole number"},
		{"consumer empty name", "", []string{"consumer", "get", ""}, 2, "consumer name is empty"},
		{"consumer name of 1025 bytes", "", []string{"consumer", "status", long}, 2, "longer than 1024 bytes"},
		{"consumer unknown", "", []string{"consumer", "status", "nobody"}, 1, "no consumer named"},
		{"consumer bad commit mode", "", []string{"consumer", "get", "c1", "--commit-mode=often"}, 2, "--commit-mode"},
		{"lock release not the owner", "", []string{"lock", "release", "l1", "you"}, 1, "not held by"},
		// Commands, flags, global settings, connection strings.
		{"unknown command", "", []string{"frobnicate"}, 2, "unknown command && frobnicate"},
		{"unknown subcommand", "", []string{"task", "explode"}, 2, "unknown subcommand"},
		{"unknown flag", "", []string{"list", "--colour=red"}, 2, "flag provided but not defined: -colour"},
		{"unknown store type", "", []string{"--type=mysql", "list"}, 2, `unknown store type "mysql"`},
		{"unknown log level", "", []string{"--log-level=loud", "list"}, 2, "--log-level"},
		{"config file missing", "", []string{"--config=@DIR@/missing.conf", "list"}, 2, "missing.conf"},
		{"config file unknown setting", "", []string{"--config=@DIR@/bad.conf", "list"}, 2, "line 1 && known name"},
		{"NUL byte in namespace (config file)", "", []string{"--config=@DIR@/nul.conf", "list"}, 2, "--namespace && NUL"},
		{"postgres bad host", "", []string{"--type=postgres", "--connection=postgres://postgres@no-such-host.invalid:5432/db?connect_timeout=5", "list"}, 1, "no-such-host.invalid"},
		{"postgres refused", "", []string{"--type=postgres", "--connection=postgres://postgres@127.0.0.1:1/db", "list"}, 1, "connection refused"},
		{"postgres bad scheme", "", []string{"--type=postgres", "--connection=mysql://x/db", "list"}, 1, "invalid connection string"},
		{"rqlite unreachable", "", []string{"--type=rqlite", "--connection=http://127.0.0.1:1?leaderWait=0s", "list"}, 1, "connection refused"},
		{"rqlite bad scheme", "", []string{"--type=rqlite", "--connection=ftp://127.0.0.1:4001", "list"}, 1, "ftp"},
		{"sqlite missing directory", "", []string{"--connection=file:@DIR@/no/such/dir/x.db?mode=rwc", "list"}, 1, "does not exist"},
		{"sqlite read-only put", `1`, []string{"--connection=file:@DIR@/ro.db?mode=ro", "put", "k1"}, 1, "does not exist"},
	}
}

// TestCLIBadInput runs each bad command line against a SQLite file store
// holding records in two namespaces, a lease, a consumer, a task, a
// schedule and a graph edge, and checks that it fails clearly and that
// every table (the stream and its seq included) is as it was.
func TestCLIBadInput(t *testing.T) {
	f := newAPIFixture(t)
	dir := t.TempDir()
	for name, text := range map[string]string{"bad.conf": "colour red\n", "nul.conf": "namespace a\x00b\n"} {
		if err := os.WriteFile(filepath.Join(dir, name), []byte(text), 0o600); err != nil {
			t.Fatal(err)
		}
	}
	env := []string{"KV_CONNECTION=file:" + f.path + "?mode=rwc"}
	before := dump(t, f.path)
	cases := cliCases()
	t.Logf("%d CLI bad-input cases", len(cases))
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			args := make([]string, len(c.args))
			for i, a := range c.args {
				args[i] = strings.ReplaceAll(a, "@DIR@", dir)
			}
			r := runKV(t, dir, c.stdin, env, args...)
			switch {
			case r.code == 0:
				t.Errorf("exit 0, want an error (stdout %.200q)", r.stdout)
			case c.code != 0 && r.code != c.code:
				t.Errorf("exit %d, want %d (stderr %.300q)", r.code, c.code, r.stderr)
			}
			for _, want := range strings.Split(c.stderr, " && ") {
				if !strings.HasPrefix(r.stderr, "kv: ") || !strings.Contains(r.stderr, want) {
					t.Errorf("stderr %.400q, want \"kv: ...%s...\"", r.stderr, want)
				}
			}
			if panicked(r.stderr) {
				t.Errorf("stderr shows a panic: %.600q", r.stderr)
			}
			if r.stdout != "" {
				t.Errorf("stdout %.200q, want nothing", r.stdout)
			}
			if after := dump(t, f.path); after != before {
				t.Errorf("the command changed the database:\n%s", diff(before, after))
				before = after // so that the next cases are judged on their own
			}
		})
	}
}

// TestCLISQLFragmentKey: a key made of SQL is stored literally and read
// back, and every table survives.
func TestCLISQLFragmentKey(t *testing.T) {
	f := newAPIFixture(t)
	dir := t.TempDir()
	env := []string{"KV_CONNECTION=file:" + f.path + "?mode=rwc"}
	const key = "'; DROP TABLE kv; --"
	if r := runKV(t, dir, `{"sql":1}`, env, "put", "--", key); r.code != 0 {
		t.Fatalf("put: %+v", r)
	}
	r := runKV(t, dir, "", env, "get", "key", "--", key)
	if r.code != 0 || !strings.Contains(r.stdout, `"key":"'; DROP TABLE kv; --"`) || !strings.Contains(r.stdout, `"value":{"sql":1}`) {
		t.Fatalf("get: %+v", r)
	}
	if r := runKV(t, dir, "", env, "count", "all"); r.code != 0 || r.stdout != "3\n" {
		t.Fatalf("count all after the SQL key: %+v", r)
	}
	if r := runKV(t, dir, "", env, "graph", "get-edge", "User", "alice", "User", "bob", "follows"); r.code != 0 {
		t.Fatalf("the graph did not survive: %+v", r)
	}
}
