package main

import (
	"os"
	"strings"
	"testing"
)

// TestBadInputChangesNothing: each bad command exits non-zero with a clear
// message on stderr, prints nothing on stdout, and leaves the store as it was;
// a usage error does not even create the database file.
func TestBadInputChangesNothing(t *testing.T) {
	long := strings.Repeat("k", 1025)
	tests := []struct {
		name   string
		stdin  string
		args   []string
		code   int
		stderr string
	}{
		{"empty key", `{}`, []string{"put", ""}, 2, "key is empty"},
		{"key too long", `{}`, []string{"put", long}, 2, "longer than 1024 bytes"},
		{"key too long get", "", []string{"get", "key", long}, 2, "longer than 1024 bytes"},
		{"key too long batch", "", []string{"get", "batch", "a", long}, 2, "longer than 1024 bytes"},
		{"key too long delete", "", []string{"delete", "a", long}, 2, "longer than 1024 bytes"},
		{"invalid utf-8 key", `{}`, []string{"put", "a\xffb"}, 2, "not valid UTF-8"},
		{"invalid JSON", `{"a": }`, []string{"put", "k"}, 1, "stdin is not a JSON document"},
		{"two JSON documents", `{"a":1} {"b":2}`, []string{"put", "k"}, 1, "stdin is not a JSON document"},
		{"empty stdin", "  \n", []string{"put", "k"}, 1, "stdin is empty"},
		{"invalid patch", `nope`, []string{"patch", "k"}, 1, "stdin is not a JSON document"},
		{"negative offset", "", []string{"list", "-1"}, 2, "-1 is negative"},
		{"negative limit", "", []string{"list", "0", "-5"}, 2, "limit -5 is negative"},
		{"negative prefix offset", "", []string{"get", "prefix", "a", "-3"}, 2, "-3 is negative"},
		{"non-numeric offset", "", []string{"list", "ten"}, 2, `offset "ten" is not a whole number`},
		{"non-numeric limit", "", []string{"get", "range", "a", "b", "0", "1.5"}, 2, `limit "1.5" is not a whole number`},
		{"unknown type", "", []string{"--type", "mysql", "list"}, 2, `unknown store type "mysql": want one of sqlite, postgres, rqlite`},
		{"unknown type after command", `{}`, []string{"put", "k", "--type=oracle"}, 2, `unknown store type "oracle"`},
		{"put without key", `{}`, []string{"put"}, 2, "want <key>"},
		{"put two keys", `{}`, []string{"put", "a", "b"}, 2, "want <key>"},
		{"get key two keys", "", []string{"get", "key", "a", "b"}, 2, "want <key>"},
		{"get range one bound", "", []string{"get", "range", "a"}, 2, "want <from> <to>"},
		{"list too many", "", []string{"list", "1", "2", "3"}, 2, "want [<offset> [<limit>]]"},
		{"count prefix no prefix", "", []string{"count", "prefix"}, 2, "want <prefix>"},
		{"count all with args", "", []string{"count", "all", "x"}, 2, "want no arguments"},
		{"get batch nothing", "", []string{"get", "batch"}, 2, "want one or more keys"},
		{"range reversed", "", []string{"get", "range", "b", "a"}, 2, `range start "b" is after range end "a"`},
		{"range empty end", "", []string{"count", "range", "a", ""}, 2, "range end is empty"},
		{"delete nothing", "", []string{"delete"}, 2, "want one or more keys, or --all"},
		{"delete empty prefix", "", []string{"delete", "prefix", ""}, 2, "use kv delete --all"},
		{"delete all with keys", "", []string{"delete", "--all", "a"}, 2, "--all takes no keys"},
		{"delete version many keys", "", []string{"delete", "--version", "1", "a", "b"}, 2, "--version applies to a single key"},
		{"bad version", `{}`, []string{"put", "k", "--version", "-2"}, 2, "--version -2"},
		{"non-numeric version", `{}`, []string{"put", "k", "--version", "x"}, 2, `--version "x": not a whole number in decimal digits`},
		{"negative ttl", `{}`, []string{"put", "k", "--ttl", "-1s"}, 2, "--ttl -1s is negative"},
		{"bad ttl", `{}`, []string{"put", "k", "--ttl", "soon"}, 2, `--ttl "soon": not a duration: want a number and a unit, ns, us, ms, s, m or h`},
		{"unknown flag", "", []string{"list", "--bogus"}, 2, "flag provided but not defined: -bogus"},
		{"unknown command", "", []string{"frobnicate"}, 2, `kv: frobnicate: unknown command`},
		{"unknown subcommand", "", []string{"get", "everything"}, 2, `unknown subcommand "everything": want one of key, prefix, range, batch`},
		{"missing subcommand", "", []string{"count"}, 2, "missing subcommand"},
		{"namespace too long", "", []string{"list", "--namespace", long}, 2, `--namespace: invalid argument: namespace "kkkk`},
		{"lock bad duration", "", []string{"lock", "acquire", "l", "me", "--duration=soon"}, 2, `--duration "soon": not a duration`},
		{"lock zero duration", "", []string{"lock", "acquire", "l", "me", "--duration=0"}, 2, "--duration 0s: want a positive duration"},
		{"lock negative duration", "", []string{"lock", "acquire", "l", "me", "--duration", "-5m"}, 2, "--duration -5m0s: want a positive duration"},
		{"lock acquire no owner", "", []string{"lock", "acquire", "l"}, 2, "got 1 argument(s), want <name> <locked-by>"},
		{"lock release no args", "", []string{"lock", "release"}, 2, "want <name> <locked-by>"},
		{"lock status two", "", []string{"lock", "status", "a", "b"}, 2, "want <name>"},
		{"lock empty name", "", []string{"lock", "status", ""}, 2, "lock name is empty"},
		{"lock empty owner", "", []string{"lock", "acquire", "l", ""}, 2, "locked-by is empty"},
		{"stream get negative seq", "", []string{"stream", "get", "-1"}, 2, "-1 is negative: offsets, limits and seqs must be 0 or more"},
		{"stream get bad seq", "", []string{"stream", "get", "one"}, 2, `seq "one" is not a whole number`},
		{"stream get negative limit", "", []string{"stream", "get", "0", "-2"}, 2, "limit -2 is negative"},
		{"stream get too many", "", []string{"stream", "get", "1", "2", "3"}, 2, "want [<seq> [<limit>]]"},
		{"stream get bad stream", "", []string{"stream", "get", "--stream=a\x00b"}, 2, "stream name"},
		{"stream seq args", "", []string{"stream", "seq", "1"}, 2, "want no arguments"},
		{"stream trim nothing", "", []string{"stream", "trim"}, 2, "want <seq>"},
		{"stream trim negative", "", []string{"stream", "trim", "-3"}, 2, "-3 is negative"},
		{"stream get negative seq after --", "", []string{"stream", "get", "--", "-1"}, 2, "seq -1 is negative"},
		{"consumer get no name", "", []string{"consumer", "get"}, 2, "want <name>"},
		{"consumer get bad mode", "", []string{"consumer", "get", "c", "--commit-mode=sometimes"}, 2, `--commit-mode "sometimes": want all, batch or none`},
		{"consumer get zero limit", "", []string{"consumer", "get", "c", "--limit=0"}, 2, "--limit 0: want 1 to 10000"},
		{"consumer get huge limit", "", []string{"consumer", "get", "c", "--limit=10001"}, 2, "--limit 10001: want 1 to 10000"},
		{"consumer get empty type", "", []string{"consumer", "get", "c", "--of-type", "a\xff"}, 2, "--of-type"},
		{"consumer stream no arg", "", []string{"consumer", "stream"}, 2, "want <name> [<owner>]"},
		{"consumer stream three args", "", []string{"consumer", "stream", "c", "o", "x"}, 2, "want <name> [<owner>]"},
		{"consumer stream star name", "", []string{"consumer", "stream", "*", "c"}, 2, `"*" is not a consumer name: the first argument names the consumer`},
		{"consumer stream empty name", "", []string{"consumer", "stream", "", "c"}, 2, `"" is not a consumer name`},
		{"consumer stream two owners", "", []string{"consumer", "stream", "c", "o", "--owner=p"}, 2, "--owner and the <owner> argument differ"},
		{"consumer stream bad mode", "", []string{"consumer", "stream", "c", "--commit-mode=each"}, 2, `--commit-mode "each"`},
		{"consumer stream negative idle", "", []string{"consumer", "stream", "c", "--idle-exit=-1s"}, 2, "--idle-exit -1s is negative"},
		{"consumer stream zero poll", "", []string{"consumer", "stream", "c", "--poll-interval=0"}, 2, "--poll-interval 0s"},
		{"consumer stream zero lease", "", []string{"consumer", "stream", "c", "--lease-duration=0"}, 2, "--lease-duration 0s"},
		{"consumer empty name", "", []string{"consumer", "status", ""}, 2, "consumer name is empty"},
		{"consumer commit negative", "", []string{"consumer", "commit", "c", "-1"}, 2, "last-seq -1 is negative"},
		{"consumer commit no seq", "", []string{"consumer", "commit", "c"}, 2, "want <name> <last-seq>"},
		{"consumer delete two", "", []string{"consumer", "delete", "a", "b"}, 2, "want <name>"},
		{"consumer get bad owner", "", []string{"consumer", "get", "c", "--owner", "a\x00"}, 2, "--owner"},
		{"secret in stray argument", `{}`, []string{"put", "k", "postgres://u:hunter22@h/db"}, 2, "got 2 argument(s), want <key>"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			conn, path := newDB(t)
			r := kv(t, tt.stdin, append(tt.args, conn)...)
			if r.code != tt.code {
				t.Errorf("exit %d, want %d (stderr %q)", r.code, tt.code, r.stderr)
			}
			if !strings.HasPrefix(r.stderr, "kv: ") || !strings.Contains(r.stderr, tt.stderr) {
				t.Errorf("stderr %q, want \"kv: ...%s...\"", r.stderr, tt.stderr)
			}
			if r.stdout != "" {
				t.Errorf("stdout %q, want nothing", r.stdout)
			}
			if strings.Contains(r.stderr, "hunter22") {
				t.Errorf("stderr shows a secret: %q", r.stderr)
			}
			if tt.code == 2 && fileExists(path) {
				t.Errorf("a usage error created the database file")
			}
		})
	}

	// And on a store with data: nothing changes.
	conn, _ := newDB(t)
	mustKV(t, `{"v":1}`, "put", "k", conn)
	before := mustKV(t, "", "list", conn)
	for _, tt := range tests {
		r := kv(t, tt.stdin, append(tt.args, conn)...)
		if r.code == 0 {
			t.Errorf("%s: exit 0 on a store with data", tt.name)
		}
	}
	if after := mustKV(t, "", "list", conn); after != before {
		t.Errorf("bad input changed the store:\nbefore %s\nafter  %s", before, after)
	}
}

// TestValueTooLarge: a value over kvcore's limit is refused.
func TestValueTooLarge(t *testing.T) {
	conn, _ := newDB(t)
	big := `"` + strings.Repeat("x", 16<<20) + `"`
	r := kv(t, big, "put", "k", conn)
	if r.code != 1 || !strings.Contains(r.stderr, "over the") {
		t.Errorf("exit %d stderr %q, want 1 and a size error", r.code, r.stderr)
	}
	if out := mustKV(t, "", "count", "all", conn); out != "0\n" {
		t.Errorf("count after refused put = %q", out)
	}
}

// TestNamespaceErrorsSayNamespace: every way of naming a namespace (the
// global --namespace, from the command line, KV_NAMESPACE and a config
// file, and a stream name) calls a bad one a namespace, not a key or a
// type name.
func TestNamespaceErrorsSayNamespace(t *testing.T) {
	conn, _ := newDB(t)
	bad := strings.Repeat("n", 1025)
	cfg := t.TempDir() + "/kv.conf"
	if err := os.WriteFile(cfg, []byte("namespace "+bad+"\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	for _, r := range []struct {
		env  string
		args []string
	}{
		{"", []string{"list", "--namespace", bad, conn}},
		{"", []string{"status", "--namespace", "ok", "--namespace", bad, conn}},
		{bad, []string{"count", "all", conn}},
		{"", []string{"export", "--config", cfg, conn}},
		{"", []string{"stream", "get", "--stream", bad, conn}},
		{"", []string{"consumer", "stream", "c", "--stream", bad, "--idle-exit=1s", conn}},
	} {
		clearEnv(t)
		t.Setenv("KV_NAMESPACE", r.env)
		res := kv(t, "", r.args...)
		if res.code != 2 || !strings.Contains(res.stderr, `namespace "nnnn`) || !strings.Contains(res.stderr, "longer than 1024 bytes") ||
			strings.Contains(res.stderr, "invalid key") || strings.Contains(res.stderr, "type name") {
			t.Errorf("kv %q: exit %d stderr %q", r.args, res.code, res.stderr)
		}
	}
}
