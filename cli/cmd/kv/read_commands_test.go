package main

import (
	"maps"
	"net"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"

	"github.com/peterbourgon/ff/v3/ffcli"
)

// readCommandArgs are valid arguments for each command that only reads
// (spec.reads): exactly these commands.
var readCommandArgs = map[string][]string{
	"get key": {"k"}, "get batch": {"a", "b"}, "get prefix": {"p"}, "get range": {"a", "b"},
	"count all": nil, "count prefix": {"p"}, "count range": {"a", "b"}, "list": nil,
	"export": nil, "status": nil,
	"stream get": nil, "stream seq": nil, "consumer status": {"c1"}, "lock status": {"job"},
	"graph get-edge": {"User", "a", "User", "b", "follows"}, "graph get-outgoing": {"User", "a"},
	"graph get-incoming": {"User", "a"}, "graph find-path": {"User", "a", "User", "b"}, "graph view": nil,
	"task get": {"t1"}, "task list": nil, "task schedules": nil,
	"serve": nil, // given a port in use, so that it ends
}

// TestReadCommandsDoNotCreate: a command that only reads (and kv import
// --dry-run) fails on a SQLite database file that does not exist, creating
// nothing, whatever the form of the connection string; on an existing file
// it works.
func TestReadCommandsDoNotCreate(t *testing.T) {
	clearEnv(t)
	// kv serve fails at once on a port in use, after opening the store.
	busy, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer busy.Close()
	readCommandArgs := maps.Clone(readCommandArgs)
	readCommandArgs["serve"] = []string{"--addr", busy.Addr().String()}
	// The commands marked reads are exactly those of readCommandArgs.
	a := &app{specs: map[*ffcli.Command]spec{}}
	a.rootCommand()
	var reads []string
	for _, s := range a.specs {
		if s.reads {
			reads = append(reads, s.path)
			if _, ok := readCommandArgs[s.path]; !ok {
				t.Errorf("read command %q has no arguments in readCommandArgs", s.path)
			}
		}
	}
	for path := range readCommandArgs {
		if !slices.Contains(reads, path) {
			t.Errorf("readCommandArgs names %q, which is no command marked reads", path)
		}
	}
	dir := t.TempDir()
	file := filepath.Join(dir, "in.jsonl")
	if err := os.WriteFile(file, []byte(importOf(2)), 0o600); err != nil {
		t.Fatal(err)
	}
	db := filepath.Join(dir, "data.db")
	run := func(conn string, cmd []string) result {
		t.Helper()
		if len(cmd) == 1 && cmd[0] == "import --dry-run" {
			cmd = []string{"import", "--dry-run", file}
		} else {
			cmd = append(strings.Fields(cmd[0]), readCommandArgs[cmd[0]]...)
		}
		return kv(t, "", append(cmd, "--connection="+conn)...)
	}
	cmds := [][]string{{"import --dry-run"}}
	for _, path := range reads {
		cmds = append(cmds, []string{path})
	}
	for _, conn := range []string{"file:" + db + "?mode=rwc", "file:" + db, db, "file://" + db + "?_pragma=cache_size(-2000)#x", db + "?mode=rwc"} {
		for _, cmd := range cmds {
			r := run(conn, cmd)
			if r.code != 1 || !strings.Contains(r.stderr, `: the database file does not exist; a command that only reads does not create it: run kv init first`) {
				t.Errorf("kv %s --connection=%s on a missing file: exit %d stderr %q", cmd, conn, r.code, r.stderr)
			}
			if entries, _ := os.ReadDir(dir); len(entries) != 1 {
				t.Fatalf("kv %s --connection=%s created %v", cmd, conn, entries)
			}
		}
	}
	// mode=ro and mode=rw say the file must exist already.
	for _, mode := range []string{"ro", "rw"} {
		if r := run("file:"+db+"?mode="+mode, []string{"count all"}); r.code != 1 || !strings.Contains(r.stderr, "mode="+mode+" opens an existing file") {
			t.Errorf("mode=%s on a missing file: exit %d stderr %q", mode, r.code, r.stderr)
		}
	}
	// In memory there is no file: reads work.
	for _, conn := range []string{":memory:", "file::memory:", "file:x?mode=memory"} {
		if r := run(conn, []string{"count all"}); r.code != 0 || r.stdout != "0\n" {
			t.Errorf("count all --connection=%s: exit %d stdout %q stderr %q", conn, r.code, r.stdout, r.stderr)
		}
	}
	if entries, _ := os.ReadDir(dir); len(entries) != 1 {
		t.Fatalf("created %v", entries)
	}
	// Once the file exists, every read command works on it (their own
	// errors aside: no such key, task or consumer).
	mustKV(t, "", "init", "--connection="+db)
	for _, cmd := range cmds {
		if r := run(db, cmd); strings.Contains(r.stderr, "does not exist") || r.code == 2 {
			t.Errorf("kv %s on an existing file: exit %d stderr %q", cmd, r.code, r.stderr)
		}
	}
}

// TestWriteCommandsCreate: init, a write and an import (not a dry run)
// create the SQLite database file, as before.
func TestWriteCommandsCreate(t *testing.T) {
	clearEnv(t)
	dir := t.TempDir()
	file := filepath.Join(dir, "in.jsonl")
	if err := os.WriteFile(file, []byte(importOf(2)), 0o600); err != nil {
		t.Fatal(err)
	}
	for i, cmd := range [][]string{{"init"}, {"put", "k"}, {"import", file}, {"lock", "acquire", "job", "me"}, {"task", "new", "echo"}, {"consumer", "commit", "c1", "0"}} {
		db := filepath.Join(dir, "db"+itoa(i))
		mustKV(t, "1", append(cmd, "--connection="+db)...)
		if !fileExists(db) {
			t.Errorf("kv %s did not create the database file", cmd)
		}
	}
}
