package main

import (
	"io"
	"strings"
	"testing"

	"github.com/peterbourgon/ff/v3/ffcli"
)

// allPaths returns the path of every command in kv's tree.
func allPaths(t *testing.T) []string {
	t.Helper()
	a := &app{stdout: io.Discard, stderr: io.Discard, specs: map[*ffcli.Command]spec{}}
	a.rootCommand()
	var out []string
	var walk func(cs []*ffcli.Command)
	walk = func(cs []*ffcli.Command) {
		for _, c := range cs {
			out = append(out, a.specs[c].path)
			walk(c.Subcommands)
		}
	}
	walk(a.root.Subcommands)
	return out
}

// TestUsageListsSeedCommands: kv --help lists every command of the seed's
// usage text, with its arguments.
func TestUsageListsSeedCommands(t *testing.T) {
	clearEnv(t)
	r := kv(t, "", "--help")
	if r.code != 0 || r.stderr != "" {
		t.Fatalf("kv --help: exit %d stderr %q", r.code, r.stderr)
	}
	for _, want := range []string{
		"--type string", "--connection string", "--namespace string", "--config file",
		`(default "sqlite")`, `(default "file:data.db?mode=rwc")`,
		"KV_TYPE", "KV_CONNECTION", "KV_NAMESPACE", "KV_CONFIG",
		"init ", "get key <key>", "get prefix <prefix> [<offset> [<limit>]]",
		"get range <from> <to> [<offset> [<limit>]]", "get batch <key>...",
		"delete <key>...", "delete prefix <prefix> [<offset> [<limit>]]",
		"delete range <from> <to> [<offset> [<limit>]]",
		"count all", "count prefix <prefix>", "count range <from> <to>",
		"list [<offset> [<limit>]]", "put <key>", "patch <key>", "touch <key> --ttl <duration>",
		"stream get [<seq> [<limit>]]", "stream seq", "stream trim <seq>",
		"consumer get <name>", "consumer stream <name> [<owner>]",
		"consumer status <name>", "consumer commit <name> <last-seq>", "consumer delete <name>",
		"lock acquire <name> <locked-by>", "lock release <name> <locked-by>", "lock status <name>",
		"task new <name>", "task list [<offset> [<limit>]]", "task get <id>", "task cancel <id>", "task run",
		"task schedule <name> <cron-spec> <task-name>", "task unschedule <name>", "task schedules",
		"graph add-edge <from-type> <from-id> <to-type> <to-id> <edge-type> [<properties>]",
		"graph get-edge <from-type> <from-id> <to-type> <to-id> <edge-type>",
		"graph get-outgoing <entity-type> <entity-id> [<edge-type>]",
		"graph get-incoming <entity-type> <entity-id> [<edge-type>]",
		"graph remove-edge <from-type> <from-id> <to-type> <to-id> <edge-type>",
		"graph find-path <from-type> <from-id> <to-type> <to-id> [<edge-type>]",
		"graph view", "benchmark get [<x> [<n> [<w>]]]", "benchmark put [<n> [<w>]]",
		"benchmark patch [<n> [<w>]]", "benchmark mixed [<x> [<n> [<w>]]]", "JSON Lines",
	} {
		if !strings.Contains(r.stdout, want) {
			t.Errorf("kv --help does not mention %q", want)
		}
	}
	for _, flag := range []string{"-h", "-help", "--help"} {
		if r2 := kv(t, "", flag); r2.code != 0 || r2.stdout != r.stdout {
			t.Errorf("kv %s: exit %d, different text", flag, r2.code)
		}
	}
	// kv alone prints the usage to stderr and fails.
	if r2 := kv(t, ""); r2.code != 2 || r2.stdout != "" || !strings.Contains(r2.stderr, "Usage: kv") {
		t.Errorf("kv with no command: %+v", r2)
	}
}

// TestEveryCommandHasHelp: "kv <path> --help" works for every command and
// sub-command, wherever --help is placed, and changes nothing.
func TestEveryCommandHasHelp(t *testing.T) {
	conn, path := newDB(t)
	for _, p := range allPaths(t) {
		args := append(strings.Fields(p), "--help", conn)
		r := kv(t, "", args...)
		if r.code != 0 || r.stderr != "" {
			t.Errorf("kv %s --help: exit %d stderr %q", p, r.code, r.stderr)
			continue
		}
		if !strings.HasPrefix(r.stdout, "Usage: kv "+p) {
			t.Errorf("kv %s --help: starts %q", p, firstLine(r.stdout))
		}
		if !strings.Contains(r.stdout, "--connection string") {
			t.Errorf("kv %s --help: no global flags", p)
		}
		// A repeatable flag given no value has no default to show.
		if strings.Contains(r.stdout, `(default "[]")`) {
			t.Errorf("kv %s --help shows an empty list as a default:\n%s", p, r.stdout)
		}
	}
	// --help after arguments, and -h before them.
	for _, args := range [][]string{{"put", "k", "--help"}, {"get", "-h", "key", "k"}, {"list", "0", "1", "-h"}} {
		if r := kv(t, "", args...); r.code != 0 || !strings.HasPrefix(r.stdout, "Usage: kv "+args[0]) {
			t.Errorf("kv %q: exit %d stdout %q", args, r.code, firstLine(r.stdout))
		}
	}
	if r := kv(t, "", "put", "--help"); !strings.Contains(r.stdout, "--version int") || !strings.Contains(r.stdout, "--ttl duration") || !strings.Contains(r.stdout, "--record-type name") {
		t.Errorf("kv put --help does not list its flags:\n%s", r.stdout)
	}
	if fileExists(path) {
		t.Error("--help opened the database")
	}
}

func firstLine(s string) string {
	line, _, _ := strings.Cut(s, "\n")
	return line
}
