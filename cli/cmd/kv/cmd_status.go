package main

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"text/tabwriter"
	"time"

	"github.com/peterbourgon/ff/v3/ffcli"

	"github.com/kvsuite/kv/cli/internal/open"
	"github.com/kvsuite/kv/cli/internal/redact"
	"github.com/kvsuite/kv/kvtask"
)

// statusJSON is what kv status shows.
type statusJSON struct {
	Type       string            `json:"type"`
	Connection string            `json:"connection"` // redacted
	ReadOnly   bool              `json:"read_only"`
	Schema     schemaJSON        `json:"schema"`
	Namespaces []namespaceJSON   `json:"namespaces"`
	Stream     *streamStatusJSON `json:"stream"`    // null if the backend has no stream
	Consumers  []consumerRowJSON `json:"consumers"` // null likewise
	Leases     []lockStatusJSON  `json:"leases"`
	Tasks      map[string]int    `json:"tasks"` // by status; null if the backend has no tasks
}

// schemaJSON is the schema version applied to the database and the one
// this kv needs (kv init migrates to it).
type schemaJSON struct {
	Version  int `json:"version"`
	Required int `json:"required"`
}

// namespaceJSON is the number of live keys of a namespace.
type namespaceJSON struct {
	Namespace string `json:"namespace"`
	Keys      int    `json:"keys"`
}

// streamStatusJSON is the stream's extent: the first seq it can still
// return, the last, and how many entries that is.
type streamStatusJSON struct {
	First  int64 `json:"first"`
	Last   int64 `json:"last"`
	Length int64 `json:"length"`
}

// consumerRowJSON is a consumer in kv status.
type consumerRowJSON struct {
	Name     string `json:"name"`
	Position int64  `json:"position"`
	Lag      int64  `json:"lag"`
	Held     bool   `json:"held"`
	Owner    string `json:"owner"` // the lease's owner while held, else ""
}

func (a *app) statusCommand() *ffcli.Command {
	const path = "status"
	var (
		asJSON      bool
		leases      stringsFlag
		leasePrefix string
	)
	return a.command(spec{
		path:  path,
		reads: true,
		short: "Show the store's state: keys, stream, consumers, leases, tasks.",
		long: `Shows the backend type and its connection (with any password replaced by
xxxxx), the schema version applied to the database and the one this kv
needs (kv init migrates to it), the number of live keys in every namespace that
holds any (or, with the global --namespace, in the namespaces named - give
it several times for several - and in the graph's namespace "kvgraph"), the
change stream's first and last seq and its length, each consumer's
position, lag and lease, the leases held now (every one, or those whose
names start with --lease-prefix; consumers' leases are named
"kvstream/consumer/<name>"), then each lease named with --lease that is not
held (its last token), and the number of tasks by status (counting pages of
tasks: it reads every task).
--json prints one JSON object:
{"type":...,"connection":...,"read_only":...,
 "schema":{"version":...,"required":...},
 "namespaces":[{"namespace":...,"keys":...}],
 "stream":{"first":...,"last":...,"length":...},
 "consumers":[{"name":...,"position":...,"lag":...,"held":...,"owner":...}],
 "leases":[<as kv lock status prints them>],
 "tasks":{"pending":...,"running":...,"completed":...,"failed":...,"cancelled":...}}`,
		flags: func(fs *flag.FlagSet) {
			fs.BoolVar(&asJSON, "json", false, "print one JSON object")
			fs.Var(&leases, "lease", "also show the lease with this `name`, held or not (repeatable)")
			fs.StringVar(&leasePrefix, "lease-prefix", "", "show only the held leases whose names start with this `prefix` (default: every held lease)")
		},
		run: func(ctx context.Context, args []string) error {
			if err := checkArgs(path, args, 0, 0, "no arguments"); err != nil {
				return err
			}
			for _, l := range leases {
				if err := checkName(path, "lease name", l); err != nil {
					return err
				}
			}
			if leasePrefix != "" {
				if err := checkName(path, "--lease-prefix", leasePrefix); err != nil {
					return err
				}
			}
			return a.withBackend(ctx, func(b *open.Backend) error {
				st, err := a.status(ctx, b, leasePrefix, leases)
				if err != nil {
					return err
				}
				if asJSON {
					return a.printJSON(st)
				}
				return a.printStatus(st)
			})
		},
	})
}

// status gathers what kv status shows.
func (a *app) status(ctx context.Context, b *open.Backend, leasePrefix string, leases []string) (statusJSON, error) {
	st := statusJSON{Type: a.cfg.Type, Connection: redact.Connection(a.cfg.Connection), ReadOnly: b.ReadOnly,
		Namespaces: []namespaceJSON{}, Leases: []lockStatusJSON{}}
	var err error
	if st.Schema.Version, st.Schema.Required, err = b.Store.SchemaVersion(ctx); err != nil {
		return st, err
	}
	namespaces, err := a.readNamespaces(ctx, b, true)
	if err != nil {
		return st, err
	}
	for _, ns := range namespaces {
		s, err := b.Store.Namespace(ns)
		if err != nil {
			return st, err
		}
		n, err := s.Count(ctx)
		if err != nil {
			return st, err
		}
		st.Namespaces = append(st.Namespaces, namespaceJSON{ns, n})
	}
	// A backend without the stream (or tasks) shows null for them.
	stream, err := streamOf(b, nil)
	if err != nil && !errors.Is(err, open.ErrNotSupported) {
		return st, err
	}
	if stream != nil {
		first, last, err := stream.Bounds(ctx)
		if err != nil {
			return st, err
		}
		st.Stream = &streamStatusJSON{First: first, Last: last, Length: max(0, last-first+1)}
		cs, err := stream.Consumers(ctx)
		if err != nil {
			return st, err
		}
		st.Consumers = []consumerRowJSON{}
		for _, c := range cs {
			row := consumerRowJSON{Name: c.Name, Position: c.Position, Lag: c.Lag, Held: c.Held}
			if c.Held {
				row.Owner = c.Lease.Owner
			}
			st.Consumers = append(st.Consumers, row)
		}
	}
	if st.Leases, err = statusLeases(ctx, b, leasePrefix, leases); err != nil {
		return st, err
	}
	sched, err := schedulerOf(b)
	if err != nil && !errors.Is(err, open.ErrNotSupported) {
		return st, err
	}
	if sched != nil {
		if st.Tasks, err = countTasks(ctx, sched); err != nil {
			return st, err
		}
	}
	return st, nil
}

// readNamespaces returns the namespaces that kv status and kv export
// read: those chosen with --namespace (and "kvgraph" if graph), or else
// every namespace that holds a live record.
func (a *app) readNamespaces(ctx context.Context, b *open.Backend, graph bool) ([]string, error) {
	if a.namespaceChosen {
		return a.selectedNamespaces(graph), nil
	}
	return b.Store.Namespaces(ctx)
}

// statusLeases returns the leases held now under prefix, by name, then
// those of named that are not among them, in the order given.
func statusLeases(ctx context.Context, b *open.Backend, prefix string, named []string) ([]lockStatusJSON, error) {
	l, err := lockerOf(b)
	if err != nil {
		return nil, err
	}
	held, err := l.Leases(ctx, prefix)
	if err != nil {
		return nil, err
	}
	out := make([]lockStatusJSON, 0, len(held)+len(named))
	listed := map[string]bool{}
	for _, le := range held {
		out = append(out, lockStatusJSON{leaseOut(le), true})
		listed[le.Name] = true
	}
	for _, name := range named {
		if listed[name] {
			continue
		}
		le, isHeld, err := l.Status(ctx, name)
		if err != nil {
			return nil, err
		}
		out = append(out, lockStatusJSON{leaseOut(le), isHeld})
		listed[name] = true
	}
	return out, nil
}

// taskStatuses are the task statuses, in the order kv status shows them.
var taskStatuses = []kvtask.Status{kvtask.StatusPending, kvtask.StatusRunning, kvtask.StatusCompleted, kvtask.StatusFailed, kvtask.StatusCancelled}

// countTasks counts the tasks of each status, a page at a time (kvtask has
// no count).
func countTasks(ctx context.Context, s *kvtask.Scheduler) (map[string]int, error) {
	counts := map[string]int{}
	for _, status := range taskStatuses {
		n := 0
		for {
			ts, err := s.List(ctx, status, "", n, exportPage)
			if err != nil {
				return nil, err
			}
			n += len(ts)
			if len(ts) < exportPage {
				break
			}
		}
		counts[string(status)] = n
	}
	return counts, nil
}

// printStatus writes st for a person to read.
func (a *app) printStatus(st statusJSON) error {
	tw := tabwriter.NewWriter(a.stdout, 0, 4, 2, ' ', 0)
	fmt.Fprintf(tw, "Backend:\t%s\n", st.Type)
	fmt.Fprintf(tw, "Connection:\t%s\n", st.Connection)
	if st.ReadOnly {
		fmt.Fprintf(tw, "Read-only:\tyes\n")
	}
	switch {
	case st.Schema.Version < st.Schema.Required:
		fmt.Fprintf(tw, "Schema:\tversion %d, this kv needs %d (run kv init)\n", st.Schema.Version, st.Schema.Required)
	case st.Schema.Version > st.Schema.Required:
		fmt.Fprintf(tw, "Schema:\tversion %d, newer than this kv's %d\n", st.Schema.Version, st.Schema.Required)
	default:
		fmt.Fprintf(tw, "Schema:\tversion %d\n", st.Schema.Version)
	}
	if len(st.Namespaces) == 0 {
		fmt.Fprintf(tw, "\nNamespaces:\tnone with keys\n")
	} else {
		fmt.Fprintf(tw, "\nNamespace\tKeys\n")
	}
	for _, ns := range st.Namespaces {
		fmt.Fprintf(tw, "%s\t%d\n", textName(ns.Namespace), ns.Keys)
	}
	if st.Stream != nil {
		fmt.Fprintf(tw, "\nStream:\tfirst seq %d, last seq %d, %d entries\n", st.Stream.First, st.Stream.Last, st.Stream.Length)
		if len(st.Consumers) == 0 {
			fmt.Fprintf(tw, "Consumers:\tnone\n")
		} else {
			fmt.Fprintf(tw, "\nConsumer\tPosition\tLag\tHeld by\n")
			for _, c := range st.Consumers {
				owner := "-"
				if c.Held {
					owner = textName(c.Owner)
				}
				fmt.Fprintf(tw, "%s\t%d\t%d\t%s\n", textName(c.Name), c.Position, c.Lag, owner)
			}
		}
	}
	if len(st.Leases) == 0 {
		fmt.Fprintf(tw, "\nLeases:\tnone held\n")
	} else {
		fmt.Fprintf(tw, "\nLease\tHeld by\tToken\tExpires\n")
		for _, l := range st.Leases {
			owner, expires := "-", "-"
			if l.Held {
				owner = textName(l.Owner)
				expires = l.Expires.Format(time.RFC3339)
			}
			fmt.Fprintf(tw, "%s\t%s\t%d\t%s\n", textName(l.Name), owner, l.Token, expires)
		}
	}
	if st.Tasks != nil {
		fmt.Fprintf(tw, "\nTasks:\t")
		for i, s := range taskStatuses {
			if i > 0 {
				fmt.Fprint(tw, ", ")
			}
			fmt.Fprintf(tw, "%d %s", st.Tasks[string(s)], s)
		}
		fmt.Fprintln(tw)
	}
	if err := tw.Flush(); err != nil {
		return fmt.Errorf("write output: %w", err)
	}
	return nil
}
