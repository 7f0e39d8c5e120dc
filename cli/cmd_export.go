package main

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"slices"
	"sync/atomic"

	"github.com/peterbourgon/ff/v3/ffcli"

	"github.com/kvsuite/kv/cli/internal/open"
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

The lines, each with a "kind":
  {"kind":"header","format":"kv-export","version":1,"source":<backend type>,
   "exported":...,"namespaces":[...],"graph":...,"consumers":...,"tasks":...}
  {"kind":"record","namespace":...,"key":...,"version":...,"value":<JSON>,
   "type":...,"created":...,"updated":...,"expires":<time or null>}
  {"kind":"consumer","name":...,"position":<its committed seq>}
  {"kind":"task","id":...,"name":...,"payload":...,"status":...,"priority":...,
   "unique_key":...,"scheduled_for":...,"max_retries":...,"timeout_seconds":...}
  {"kind":"schedule","name":...,"spec":<cron>,"template":{<a task's fields>}}
The header comes first, then records by namespace in key order, then
consumers, tasks and schedules.

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

// export writes the export of b to stdout.
func (a *app) export(ctx context.Context, b *open.Backend, o exportOptions) error {
	namespaces, err := a.readNamespaces(ctx, b, o.graph)
	if err != nil {
		return err
	}
	// Open what the options need before writing anything.
	var (
		stream *kvstream.Stream
		sched  *kvtask.Scheduler
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
	err = a.printJSON(headerLine{Kind: kindHeader, Format: exportFormat, Version: exportVersion,
		Source: a.cfg.Type, Exported: b.Store.Now().UTC(), Namespaces: namespaces,
		Graph: slices.Contains(namespaces, kvgraph.DefaultNamespace), Consumers: o.consumers, Tasks: o.tasks})
	if err != nil {
		return err
	}
	var n atomic.Int64
	stop := a.progress(func() string { return fmt.Sprintf("kv export: %d records", n.Load()) })
	defer stop()
	for _, ns := range namespaces {
		st, err := b.Store.Namespace(ns)
		if err != nil {
			return err
		}
		for r, err := range st.All(ctx) {
			if err != nil {
				return err
			}
			if err := a.printJSON(recordLine{Kind: kindRecord, Namespace: ns, Record: r}); err != nil {
				return err
			}
			n.Add(1)
		}
	}
	if stream != nil {
		cs, err := stream.Consumers(ctx)
		if err != nil {
			return err
		}
		for _, c := range cs {
			if err := a.printJSON(consumerLine{Kind: kindConsumer, Name: c.Name, Position: c.Position}); err != nil {
				return err
			}
		}
	}
	if sched != nil {
		return a.exportTasks(ctx, sched)
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
func (a *app) exportTasks(ctx context.Context, s *kvtask.Scheduler) error {
	for _, status := range []kvtask.Status{kvtask.StatusPending, kvtask.StatusRunning} {
		for offset := 0; ; offset += exportPage {
			ts, err := s.List(ctx, status, "", offset, exportPage)
			if err != nil {
				return err
			}
			for _, t := range ts {
				if err := a.printJSON(taskLineOf(t)); err != nil {
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
		if err := a.printJSON(scheduleLine{Kind: kindSchedule, Name: sc.Name, Spec: sc.Spec, Template: templateLineOf(sc.Template)}); err != nil {
			return err
		}
	}
	return nil
}

// errBadImport: kv import's input is not a valid export.
var errBadImport = errors.New("not a valid kv export")
