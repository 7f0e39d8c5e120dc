package main

import (
	"context"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"errors"
	"flag"
	"fmt"
	"hash"
	"io"
	"slices"
	"sync/atomic"

	"github.com/peterbourgon/ff/v3/ffcli"

	"github.com/kvsuite/kv/cli/internal/open"
	"github.com/kvsuite/kv/kvcore"
	"github.com/kvsuite/kv/kvgraph"
	"github.com/kvsuite/kv/kvstream"
	"github.com/kvsuite/kv/kvtask"
)

// exportOptions says what kv export writes besides the namespaces' records.
type exportOptions struct {
	graph, consumers, tasks, all bool
}

func (a *app) exportCommand() *ffcli.Command {
	const path = "export"
	var o exportOptions
	return a.command(spec{
		path:  path,
		reads: true,
		short: "Write the store's data to stdout as JSON Lines (for kv import).",
		long: `Writes every live record of every namespace that holds any (the graph's
"kvgraph" included) to stdout, one JSON object a line, streaming (it holds
one page of records in memory at a time). With the global --namespace (or
KV_NAMESPACE, or namespace in the config file) it writes only the namespace
named; give --namespace several times to export several.

The records are a snapshot: they are read as of one moment, every write
wholly in or wholly out (a MutateAll's records are all there or none is).
On SQLite that is one read transaction, on PostgreSQL one REPEATABLE READ,
READ ONLY transaction. rqlite has no read transaction across requests: each
page is one request, and the export checks that the change stream did not
move while it read; if it did, kv export fails, and what it wrote has no
trailer (kv import refuses it): export again. The consumers, tasks and
schedules are read after the snapshot, not in it.

The lines, each with a "kind":
  {"kind":"header","format":"kv-export","version":2,"source":<backend type>,
   "exported":...,"namespaces":[...],"graph":...,"consumers":...,"tasks":...,
   "stream_seq":...,"stream_seq_exact":...}
  {"kind":"record","namespace":...,"key":...,"version":...,"value":<JSON>,
   "type":...,"created":...,"updated":...,"expires":<time or null>}
  {"kind":"consumer","name":...,"position":<its committed seq>}
  {"kind":"task","id":...,"name":...,"payload":...,"status":...,"priority":...,
   "unique_key":...,"scheduled_for":...,"max_retries":...,"timeout_seconds":...}
  {"kind":"schedule","name":...,"spec":<cron>,"template":{<a task's fields>}}
  {"kind":"trailer","lines":<the lines before it>,"sha256":<of their bytes>}
The header comes first, then records by namespace in key order, then
consumers, tasks and schedules, and the trailer last. "exported" is the
time the snapshot judged expiry by; every change of the source's stream up
to "stream_seq" is in the records, and if "stream_seq_exact" no later one
is (on PostgreSQL, which numbers changes after they commit, a few changes
committed just before the snapshot may have later numbers). kv import
checks the trailer before it writes anything.

--graph adds the graph (the records of namespace "kvgraph") to the
namespaces named with --namespace (without --namespace it is exported
anyway); --consumers the stream consumers' positions; --tasks the pending
and running tasks and the cron schedules (finished tasks are not exported);
--all all three.
A progress line is shown on stderr when stderr is a terminal.`,
		flags: func(fs *flag.FlagSet) {
			fs.BoolVar(&o.graph, "graph", false, "also export the graph (namespace \"kvgraph\") with --namespace")
			fs.BoolVar(&o.consumers, "consumers", false, "also export the stream consumers' positions")
			fs.BoolVar(&o.tasks, "tasks", false, "also export pending and running tasks and cron schedules")
			fs.BoolVar(&o.all, "all", false, "export the graph, consumers and tasks too")
		},
		run: func(ctx context.Context, args []string) error {
			if err := checkArgs(path, args, 0, 0, "no arguments"); err != nil {
				return err
			}
			if o.all {
				o.graph, o.consumers, o.tasks = true, true, true
			}
			return a.withBackend(ctx, func(b *open.Backend) error { return a.export(ctx, b, o) })
		},
	})
}

// export writes the export of b to stdout: the header and the records
// from one snapshot of the store (kvcore.Store.Snapshot), then the
// consumers, tasks and schedules (read after it), then the trailer.
func (a *app) export(ctx context.Context, b *open.Backend, o exportOptions) error {
	// Open what the options need before writing anything.
	var (
		stream *kvstream.Stream
		sched  *kvtask.Scheduler
		err    error
	)
	if o.consumers {
		if stream, err = streamOf(b, nil); err != nil {
			return err
		}
	}
	if o.tasks {
		if sched, err = schedulerOf(b); err != nil {
			return err
		}
	}
	out := newExportWriter(a.stdout)
	var n atomic.Int64
	stop := a.progress(func() string { return fmt.Sprintf("kv export: %d records", n.Load()) })
	defer stop()
	err = b.Store.Snapshot(ctx, func(sn *kvcore.Snapshot) error {
		namespaces := a.selectedNamespaces(o.graph)
		if !a.namespaceChosen {
			var err error
			if namespaces, err = sn.Namespaces(ctx); err != nil {
				return err
			}
		}
		seq, exact := sn.StreamSeq()
		err := out.line(headerLine{Kind: kindHeader, Format: exportFormat, Version: exportVersion,
			Source: a.cfg.Type, Exported: sn.Now().UTC(), Namespaces: namespaces,
			Graph: slices.Contains(namespaces, kvgraph.DefaultNamespace), Consumers: o.consumers, Tasks: o.tasks,
			StreamSeq: seq, StreamSeqExact: exact})
		if err != nil {
			return err
		}
		for _, ns := range namespaces {
			for r, err := range sn.All(ctx, ns) {
				if err != nil {
					return err
				}
				if err := out.line(recordLine{Kind: kindRecord, Namespace: ns, Record: r}); err != nil {
					return err
				}
				n.Add(1)
			}
		}
		return nil
	})
	if errors.Is(err, kvcore.ErrSnapshotChanged) {
		return fmt.Errorf("export: %w; what was written has no trailer, so kv import refuses it: export again (rqlite has no read transaction across requests: the export is whole only if no record changes while it runs)", err)
	}
	if err != nil {
		return err
	}
	if stream != nil {
		cs, err := stream.Consumers(ctx)
		if err != nil {
			return err
		}
		for _, c := range cs {
			if err := out.line(consumerLine{Kind: kindConsumer, Name: c.Name, Position: c.Position}); err != nil {
				return err
			}
		}
	}
	if sched != nil {
		if err := exportTasks(ctx, sched, out); err != nil {
			return err
		}
	}
	return out.trailer()
}

// exportWriter writes the lines of an export and keeps their count and
// SHA-256 for the trailer.
type exportWriter struct {
	w     io.Writer
	sum   hash.Hash
	lines int64
	enc   *json.Encoder
}

func newExportWriter(w io.Writer) *exportWriter {
	e := &exportWriter{w: w, sum: sha256.New()}
	e.enc = json.NewEncoder(io.MultiWriter(w, e.sum))
	e.enc.SetEscapeHTML(false)
	return e
}

// line writes v as one line.
func (e *exportWriter) line(v any) error {
	if err := e.enc.Encode(v); err != nil {
		return fmt.Errorf("write output: %w", err)
	}
	e.lines++
	return nil
}

// trailer writes the trailer line: the count and checksum of the lines
// before it.
func (e *exportWriter) trailer() error {
	b, err := json.Marshal(trailerLine{Kind: kindTrailer, Lines: e.lines, SHA256: hex.EncodeToString(e.sum.Sum(nil))})
	if err == nil {
		_, err = e.w.Write(append(b, '\n'))
	}
	if err != nil {
		return fmt.Errorf("write output: %w", err)
	}
	return nil
}

// selectedNamespaces returns the namespaces that --namespace selects, each
// once, and the graph's namespace too if graph.
func (a *app) selectedNamespaces(graph bool) []string {
	var out []string
	for _, ns := range a.namespaces {
		if !slices.Contains(out, ns) {
			out = append(out, ns)
		}
	}
	if graph && !slices.Contains(out, kvgraph.DefaultNamespace) {
		out = append(out, kvgraph.DefaultNamespace)
	}
	return out
}

// exportPage is how many tasks kv export lists at a time.
const exportPage = 500

// exportTasks writes the pending and running tasks, then the schedules.
func exportTasks(ctx context.Context, s *kvtask.Scheduler, out *exportWriter) error {
	for _, status := range []kvtask.Status{kvtask.StatusPending, kvtask.StatusRunning} {
		for offset := 0; ; offset += exportPage {
			ts, err := s.List(ctx, status, "", offset, exportPage)
			if err != nil {
				return err
			}
			for _, t := range ts {
				if err := out.line(taskLineOf(t)); err != nil {
					return err
				}
			}
			if len(ts) < exportPage {
				break
			}
		}
	}
	scheds, err := s.Schedules(ctx)
	if err != nil {
		return err
	}
	for _, sc := range scheds {
		if err := out.line(scheduleLine{Kind: kindSchedule, Name: sc.Name, Spec: sc.Spec, Template: templateLineOf(sc.Template)}); err != nil {
			return err
		}
	}
	return nil
}

// errBadImport: kv import's input is not a valid export.
var errBadImport = errors.New("not a valid kv export")
