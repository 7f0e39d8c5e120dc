package main

import (
	"fmt"
	"io"
	"strings"
	"text/tabwriter"

	"github.com/peterbourgon/ff/v3/ffcli"
)

// rootCommand builds kv's command tree.
func (a *app) rootCommand() *ffcli.Command {
	a.root = a.command(spec{
		short: "kv is a key-value store on SQLite, PostgreSQL or rqlite.",
		subs: []*ffcli.Command{
			a.initCommand(),
			a.getCommand(),
			a.deleteCommand(),
			a.countCommand(),
			a.listCommand(),
			a.putCommand(),
			a.patchCommand(),
			a.touchCommand(),
			a.streamCommand(),
			a.consumerCommand(),
			a.natsCommand(),
			a.lockCommand(),
			a.taskCommand(),
			a.graphCommand(),
			a.exportCommand(),
			a.importCommand(),
			a.statusCommand(),
			a.serveCommand(),
			a.versionCommand(),
			a.completionCommand(),
			a.benchmarkCommand(),
		},
	})
	return a.root
}

// rootUsage is the help text of kv itself: every command, with its
// arguments, and the global flags.
func (a *app) rootUsage() string {
	var b strings.Builder
	fmt.Fprintf(&b, "Usage: kv <command> [flags] [arguments]\n\n")
	fmt.Fprintf(&b, "kv is a key-value store on SQLite, PostgreSQL or rqlite.\n")
	fmt.Fprintf(&b, "\nGlobal flags (before or after the command):\n")
	writeFlags(&b, a.root.FlagSet, isGlobalFlag)
	fmt.Fprintf(&b, `
A global flag given on the command line wins over its environment variable
(KV_TYPE, KV_CONNECTION, KV_NAMESPACE, KV_CONFIG, KV_LOG_FORMAT, KV_LOG_LEVEL),
which wins over the config file. The config file uses ff's plain format: one flag a line, "name value",
e.g. "type sqlite" or "connection file:/var/lib/kv/data.db?mode=rwc";
lines starting with # are comments.
`)
	// Commands in one table, except that a group with long arguments
	// (graph) gets a table of its own, so that it does not widen every
	// line.
	fmt.Fprintf(&b, "\nCommands:\n")
	tw := tabwriter.NewWriter(&b, 0, 4, 2, ' ', 0)
	var walk func(w io.Writer, cs []*ffcli.Command)
	walk = func(w io.Writer, cs []*ffcli.Command) {
		for _, c := range cs {
			s := a.specs[c]
			if s.run != nil {
				fmt.Fprintf(w, "  %s\t%s\n", strings.TrimSpace(s.path+" "+s.args), s.short)
			}
			walk(w, c.Subcommands)
		}
	}
	for _, c := range a.root.Subcommands {
		if widest(a.specs, c) > wideUsage {
			tw.Flush()
			fmt.Fprintln(&b)
			wide := tabwriter.NewWriter(&b, 0, 4, 2, ' ', 0)
			walk(wide, []*ffcli.Command{c})
			wide.Flush()
			fmt.Fprintln(&b)
			continue
		}
		walk(tw, []*ffcli.Command{c})
	}
	tw.Flush()
	fmt.Fprintf(&b, `
Output: records are printed as JSON Lines, one JSON object a line:
{"key":...,"version":...,"value":<the stored JSON>,"type":...,"created":...,
"updated":...,"expires":<time or null>} (times are RFC 3339, UTC); stream
and consumer commands print stream records, also as JSON Lines:
{"seq":...,"namespace":...,"key":...,"action":...,"version":...,"type":...,
"value":<JSON, null for a delete or a touch>,"time":...}; lock commands print a lease:
{"name":...,"owner":...,"token":...,"expires":...,"acquired":...}; graph
commands print edges, also as JSON Lines: {"from":{"type":...,"id":...},
"to":{"type":...,"id":...},"type":...,"properties":{...},"created":...,
"updated":...}, and find-path a path: {"nodes":[...],"edges":[...],
"cost":...}; task commands print tasks, also as JSON Lines: {"id":...,
"name":...,"payload":<the JSON payload>,"status":...,"priority":...,...},
and task schedule and schedules print schedules: {"name":...,"spec":...,
"template":<task>,"next":...}. graph view prints DOT, Mermaid or an image.
Counts, the number of records a delete (or edges a remove-edge) removed, and
stream seqs are printed as a JSON number. put, patch, touch, graph
add-edge, consumer commit, consumer delete, lock release and task unschedule
print nothing; init prints what it did. Benchmarks print a report (with
--json, one JSON object). export writes the kv export format (JSON Lines,
see kv export --help) and import prints its counts as one JSON object;
status and version print text (with --json, one JSON object); serve prints
one JSON object once it listens. Errors go to stderr, prefixed "kv: "; task
run, consumer stream, nats push and serve log to stderr (--log-format,
--log-level).
Exit status: 0 success, 1 failure (including a key, edge, task or schedule
not found, no path, a version mismatch, a lock held by another owner, a
duplicate task unique key, a stream trim that a consumer stopped short and
a failed benchmark operation), 2 usage error.

Run 'kv <command> --help' for more information on a command.
`)
	return b.String()
}

// wideUsage is the longest "path args" of a command that shares the main
// table of kv --help.
const wideUsage = 50

// widest returns the length of the longest "path args" under c.
func widest(specs map[*ffcli.Command]spec, c *ffcli.Command) int {
	s := specs[c]
	n := len(strings.TrimSpace(s.path + " " + s.args))
	for _, sub := range c.Subcommands {
		n = max(n, widest(specs, sub))
	}
	return n
}
