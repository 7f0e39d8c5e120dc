package main

import (
	"context"
	"flag"
	"fmt"
	"text/tabwriter"

	"github.com/peterbourgon/ff/v3/ffcli"

	"github.com/kvsuite/kv/cli/internal/open"
	"github.com/kvsuite/kv/cli/internal/redact"
	"github.com/kvsuite/kv/kvlock"
	"github.com/kvsuite/kv/kvstream"
	"github.com/kvsuite/kv/kvtask"
)

// statusJSON is what kv status shows.
type statusJSON struct {
	Type       string            `json:"type"`
	Connection string            `json:"connection"` // redacted
	ReadOnly   bool              `json:"read_only"`
	Namespaces []namespaceJSON   `json:"namespaces"`
	Stream     *streamStatusJSON `json:"stream"`    // null if the backend has no stream
	Consumers  []consumerRowJSON `json:"consumers"` // null likewise
	Leases     []lockStatusJSON  `json:"leases"`
	Tasks      map[string]int    `json:"tasks"` // by status; null if the backend has no tasks
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
		asJSON bool
		leases multiFlag
	)
	return a.command(spec{
		path:  path,
		short: "Show the store's state: keys, stream, consumers, leases, tasks.",
		long: `Shows the backend type and its connection (with any password replaced by
xxxxx), the number of live keys in the namespace (the global --namespace;
several --namespace for several) and in the graph's namespace "kvgraph", the
change stream's first and last seq and its length, each consumer's
position, lag and lease, the status of the leases named with --lease (leases
cannot be listed; consumers' leases are shown with the consumers) and the
number of tasks by status (counting pages of tasks: it reads every task).
--json prints one JSON object:
{"type":...,"connection":...,"read_only":...,
 "namespaces":[{"namespace":...,"keys":...}],
 "stream":{"first":...,"last":...,"length":...},
 "consumers":[{"name":...,"position":...,"lag":...,"held":...,"owner":...}],
 "leases":[<as kv lock status prints them>],
 "tasks":{"pending":...,"running":...,"completed":...,"failed":...,"cancelled":...}}`,
		flags: func(fs *flag.FlagSet) {
			fs.BoolVar(&asJSON, "json", false, "print one JSON object")
			fs.Var(&leases, "lease", "also show the lease with this `name` (repeatable)")
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
			return a.withBackend(ctx, func(b *open.Backend) error {
				st, err := a.status(ctx, b, leases)
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

// multiFlag is a repeatable string flag.
type multiFlag []string

func (m *multiFlag) String() string     { return fmt.Sprint([]string(*m)) }
func (m *multiFlag) Set(v string) error { *m = append(*m, v); return nil }

// status gathers what kv status shows.
func (a *app) status(ctx context.Context, b *open.Backend, leases []string) (statusJSON, error) {
	st := statusJSON{Type: a.cfg.Type, Connection: redact.Connection(a.cfg.Connection), ReadOnly: b.ReadOnly, Leases: []lockStatusJSON{}}
	for _, ns := range a.selectedNamespaces(true) {
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
	if d, err := b.Stream(); err == nil {
		s, err := kvstream.New(d)
		if err != nil {
			return st, err
		}
		first, last, err := s.Bounds(ctx)
		if err != nil {
			return st, err
		}
		st.Stream = &streamStatusJSON{First: first, Last: last, Length: max(0, last-first+1)}
		cs, err := s.Consumers(ctx)
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
	if len(leases) > 0 {
		d, err := b.Locker()
		if err != nil {
			return st, err
		}
		l, err := kvlock.New(d)
		if err != nil {
			return st, err
		}
		for _, name := range leases {
			le, held, err := l.Status(ctx, name)
			if err != nil {
				return st, err
			}
			st.Leases = append(st.Leases, lockStatusJSON{leaseOut(le), held})
		}
	}
	if q, err := b.Queue(); err == nil {
		s, err := kvtask.New(q)
		if err != nil {
			return st, err
		}
		if st.Tasks, err = countTasks(ctx, s); err != nil {
			return st, err
		}
	}
	return st, nil
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
	fmt.Fprintf(tw, "\nNamespace\tKeys\n")
	for _, ns := range st.Namespaces {
		fmt.Fprintf(tw, "%q\t%d\n", ns.Namespace, ns.Keys)
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
					owner = c.Owner
				}
				fmt.Fprintf(tw, "%s\t%d\t%d\t%s\n", c.Name, c.Position, c.Lag, owner)
			}
		}
	}
	if len(st.Leases) > 0 {
		fmt.Fprintf(tw, "\nLease\tHeld by\tToken\tExpires\n")
		for _, l := range st.Leases {
			owner, expires := "-", "-"
			if l.Held {
				owner = l.Owner
				expires = l.Expires.Format("2006-01-02T15:04:05Z07:00")
			}
			fmt.Fprintf(tw, "%s\t%s\t%d\t%s\n", l.Name, owner, l.Token, expires)
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
