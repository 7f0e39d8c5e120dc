package main

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"net/url"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"time"

	"github.com/peterbourgon/ff/v3/ffcli"

	"github.com/kvsuite/kv/cli/internal/open"
	"github.com/kvsuite/kv/cli/internal/redact"
	"github.com/kvsuite/kv/cli/internal/seedimport"
	"github.com/kvsuite/kv/kvcore"
	"github.com/kvsuite/kv/kvgraph"
	"github.com/kvsuite/kv/kvlock"
	"github.com/kvsuite/kv/kvstream"
	"github.com/kvsuite/kv/kvtask"
)

// ahkvConnectionEnv holds the a-h/kv connection string when the command
// line does not (it may hold a password).
const ahkvConnectionEnv = "KV_AHKV_CONNECTION"

// Where kv import a-h/kv puts the consumers it imports (--consumers-at).
const (
	consumersAtHead  = "head"
	consumersAtStart = "start"
)

func (a *app) importAHKVCommand(dryRun *bool, batch *int) *ffcli.Command {
	const path = "import a-h/kv"
	var consumersAt string
	return a.command(spec{
		path:  path,
		args:  "<type> [<connection>]",
		short: "Import a database written by github.com/a-h/kv.",
		long: `Reads the database of github.com/a-h/kv at <connection> (of <type> sqlite,
postgres or rqlite, as a-h/kv's --type and --connection took them; without
<connection>, from ` + ahkvConnectionEnv + `) and writes what it holds into the
store (the global --type, --connection and --namespace). The a-h/kv database
is only read (SQLite read-only; PostgreSQL in one read-only snapshot); stop
a-h/kv's writers first. See MIGRATING.md.

  kv import a-h/kv sqlite 'file:old.db' --connection 'file:new.db?mode=rwc'

What comes over:
- records, each with its key, value, version, type and created time; the
  updated time is the created time (a-h/kv kept no other: its stream
  entries carry the created time too). Each appends a create entry to kv's
  stream, as kv import does.
- the graph of a-h/kv's graph package (records under graph/edge/ of type
  Edge) becomes kv's graph (kv graph ...), with each edge's properties; its
  index records (graph/node/..., type EdgeRef) are derived and left out.
- tasks, with their id, name, payload, status, created and scheduled
  times, completion time, last error and timeout. a-h/kv's max_retries
  counted every attempt (a task ran at most max_retries times), kv's
  counts the retries after the first: it becomes max_retries-1 (0 at
  least), so a task runs no more times than it would have. Attempts are
  the failed attempts (retry_count), plus the one of a running or
  completed task. A running task keeps its runner and lease: kv runs it
  again once the lease has expired (the runner that held it cannot finish
  it here).
- locks still held, with their owner and expiry (a lock whose owner is
  still running extends it from kv). Expired locks, and a-h/kv's consumer
  locks, are left out.
- consumers (the records under github.com/a-h/kv/stream/, which are not
  imported as keys), at a position in kv's stream: a-h/kv's stream is not
  carried over (its seqs mean nothing here), so with --consumers-at head
  (the default) each consumer starts after the entries of the import
  (only new changes reach it), and with start before them (it reads every
  imported record again, as a create). A consumer that had not read
  a-h/kv's stream to its end is named on stderr with what it had left. A
  consumer's type filter (ofType) is not kept with it: give --of-type to
  kv consumer get or stream.

It checks everything first - every row readable and valid for kv, and
no record key, edge, task id, consumer or held lock in the store already -
and writes nothing if anything fails; then it writes, --batch-size records
(or edges, or tasks) per transaction. The target cannot be the a-h/kv
database itself on SQLite or rqlite (kv's tables stream and tasks have the
names of a-h/kv's); on PostgreSQL it can (kv's tables are named kv_*).
--dry-run does only the check (against an empty store if the store has
no file or no kv schema yet). At the end it prints what it imported as
one JSON object: {"records":...,"edges":...,"graph_index_records_skipped":
...,"tasks":...,"locks":...,"locks_skipped":...,"consumers":[{"name":...,
"position":...,"of_type":...,"unread":...}],"stream":{"first":...,"last":
...,"entries":...},"namespace":...,"dry_run":...}.`,
		flags: func(fs *flag.FlagSet) {
			fs.BoolVar(dryRun, "dry-run", false, "check the a-h/kv database against the store and write nothing")
			fs.IntVar(batch, "batch-size", defaultImportBatch, "write this many records, edges or tasks per transaction (`n`)")
			fs.StringVar(&consumersAt, "consumers-at", consumersAtHead, "where imported consumers start in kv's stream: head (after the import) or start (before it)")
		},
		run: func(ctx context.Context, args []string) error {
			if err := checkArgs(path, args, 1, 2, "<type> [<connection>]"); err != nil {
				return err
			}
			typ, conn := args[0], os.Getenv(ahkvConnectionEnv)
			if len(args) == 2 {
				conn = args[1]
			}
			switch {
			case !slices.Contains(seedimport.Types, typ):
				return usagef(path, "%s: <type> %q: want sqlite, postgres or rqlite", path, typ)
			case conn == "":
				return usagef(path, "%s: no <connection> for the a-h/kv database (give it, or set %s)", path, ahkvConnectionEnv)
			case *batch < 1 || *batch > maxImportBatch:
				return usagef(path, "--batch-size %d: want 1 to %d", *batch, maxImportBatch)
			case consumersAt != consumersAtHead && consumersAt != consumersAtStart:
				return usagef(path, "--consumers-at %q: want head or start", consumersAt)
			}
			if err := sameDatabase(typ, conn, a.cfg); err != nil {
				return usagef(path, "%s: %v", path, err)
			}
			src, err := seedimport.Open(ctx, typ, conn)
			if err != nil {
				return fmt.Errorf("%s: open the a-h/kv database: %w", path, scrubbedErr{err, conn})
			}
			defer src.Close()
			im := &ahkvImport{ctx: ctx, a: a, src: src, batch: *batch, consumersAt: consumersAt}
			if err := a.checkThenWrite(ctx, *dryRun, true, im.check, im.write); err != nil {
				return err
			}
			im.warn()
			im.out.DryRun = *dryRun
			return a.printJSON(im.out)
		},
	})
}

// scrubbedErr is an error with the a-h/kv connection's secrets removed
// from its text, as kv's own connection's are.
type scrubbedErr struct {
	err  error
	conn string
}

func (s scrubbedErr) Error() string { return redact.Scrub(s.err.Error(), s.conn) }
func (s scrubbedErr) Unwrap() error { return s.err }

// sameDatabase refuses an a-h/kv database that is the store itself on
// SQLite (the same file) or rqlite (the same server): kv's tables stream
// and tasks would meet a-h/kv's of the same names.
func sameDatabase(typ, conn string, cfg open.Config) error {
	if typ != cfg.Type {
		return nil
	}
	switch typ {
	case "sqlite":
		p1, p2 := sqliteFile(conn), sqliteFile(cfg.Connection)
		if p1 != "" && p1 == p2 {
			return fmt.Errorf("the a-h/kv database is the store's own file: kv's tables stream and tasks have the names of a-h/kv's, so import into another file (--connection)")
		}
	case "rqlite":
		u1, err1 := url.Parse(conn)
		u2, err2 := url.Parse(cfg.Connection)
		if err1 == nil && err2 == nil && strings.EqualFold(u1.Host, u2.Host) {
			return fmt.Errorf("the a-h/kv database is on the store's own rqlite server: kv's tables stream and tasks have the names of a-h/kv's, so import into another cluster (--connection)")
		}
	}
	return nil
}

// sqliteFile is the absolute path of the file a SQLite connection string
// names ("" for none).
func sqliteFile(conn string) string {
	path, _, _ := strings.Cut(strings.TrimPrefix(conn, "file:"), "?")
	if path == "" || path == ":memory:" {
		return ""
	}
	abs, err := filepath.Abs(path)
	if err != nil {
		return ""
	}
	return abs
}

// ahkvCounts is what kv import a-h/kv prints.
type ahkvCounts struct {
	Records      int            `json:"records"`
	Edges        int            `json:"edges"`
	GraphIndex   int            `json:"graph_index_records_skipped"`
	Tasks        int            `json:"tasks"`
	Locks        int            `json:"locks"`
	LocksSkipped int            `json:"locks_skipped"`
	Consumers    []ahkvConsumer `json:"consumers"`
	Stream       struct {
		First   int64 `json:"first"`
		Last    int64 `json:"last"`
		Entries int64 `json:"entries"`
	} `json:"stream"` // a-h/kv's stream, as it was
	Namespace string `json:"namespace"`
	DryRun    bool   `json:"dry_run"`
}

// ahkvConsumer is an imported consumer: its position in kv's stream (-1
// until written), the type it read in a-h/kv, and how many entries of
// a-h/kv's stream it had not read.
type ahkvConsumer struct {
	Name     string `json:"name"`
	Position int64  `json:"position"`
	OfType   string `json:"of_type"`
	Unread   int64  `json:"unread"`
}

// ahkvImport is one kv import a-h/kv: check reads the whole a-h/kv
// database and checks it against the store; write reads it again and
// writes it.
type ahkvImport struct {
	ctx         context.Context
	a           *app
	src         *seedimport.Source
	batch       int
	consumersAt string
	out         ahkvCounts
}

// errBadAHKV: a row of the a-h/kv database that kv cannot take.
var errBadAHKV = errors.New("cannot be imported")

// bad returns an error about a row, wrapping errBadAHKV and err.
func bad(what string, err error) error {
	return fmt.Errorf("import a-h/kv: %s: %w: %w", what, errBadAHKV, err)
}

// ahkvRecord is an a-h/kv record as kv restores it: updated is created.
func ahkvRecord(r seedimport.Record) kvcore.Record {
	return kvcore.Record{Key: r.Key, Version: r.Version, Value: r.Value, Type: r.Type, Created: r.Created, Updated: r.Created}
}

// ahkvEdge is an a-h/kv graph edge as kv's graph holds it.
func ahkvEdge(e seedimport.Edge) kvgraph.Edge {
	return kvgraph.NewEdge(kvgraph.NewNodeRef(e.FromID, e.FromType), kvgraph.NewNodeRef(e.ToID, e.ToType), e.Type, e.Data)
}

// ahkvRunner is the runner of an a-h/kv task found running without one.
const ahkvRunner = "a-h/kv"

// ahkvTask is an a-h/kv task as kv restores it (see the command's help).
func ahkvTask(t seedimport.Task) (kvtask.Task, error) {
	st, err := kvtask.ParseStatus(t.Status)
	if err != nil {
		return kvtask.Task{}, err
	}
	k := kvtask.Task{ID: t.ID, Name: t.Name, Payload: t.Payload, Status: st, Created: t.Created,
		ScheduledFor: t.ScheduledFor, Started: t.StartedAt, MaxRetries: max(t.MaxRetries-1, 0),
		TimeoutSeconds: t.Timeout, LastError: t.LastError, Attempts: t.RetryCount}
	if len(k.Payload) == 0 {
		k.Payload = nil // null
	}
	switch {
	case st == kvtask.StatusRunning:
		k.Attempts++
		k.LockedBy, k.LockedUntil = t.LockedBy, t.LockExpires
		if k.LockedBy == "" {
			k.LockedBy = ahkvRunner
		}
		if k.LockedUntil == nil { // no lease: expired at once
			k.LockedUntil = &k.Created
		}
		if k.Started == nil {
			k.Started = t.LockedAt
		}
	case st == kvtask.StatusCompleted:
		k.Attempts++
		k.Completed = t.CompletedAt
	case kvtask.Terminal(st):
		k.Completed = t.CompletedAt
	}
	return k, kvtask.ValidateRestore(k)
}

// targets are the parts of the store an import writes.
type targets struct {
	st     *kvcore.Store // the namespace records go to
	graph  *kvgraph.Graph
	sched  *kvtask.Scheduler
	locker *kvlock.Locker
	stream *kvstream.Stream
}

func targetsOf(b *open.Backend) (targets, error) {
	t := targets{st: b.Store}
	var err error
	if t.graph, err = kvgraph.New(b.Store); err != nil {
		return t, err
	}
	if t.sched, err = schedulerOf(b); err != nil {
		return t, err
	}
	if t.locker, err = lockerOf(b); err != nil {
		return t, err
	}
	t.stream, err = streamOf(b, nil)
	return t, err
}

// check reads the a-h/kv database and checks every row against the store.
func (im *ahkvImport) check(b *open.Backend) error {
	ctx := im.ctx
	t, err := targetsOf(b)
	if err != nil {
		return err
	}
	stream := t.stream
	im.out = ahkvCounts{Namespace: im.a.cfg.Namespace, Consumers: []ahkvConsumer{}}
	var (
		keys      []string
		consumers []seedimport.Consumer
	)
	live := func() error {
		found, err := t.st.GetBatch(ctx, keys...)
		keys = keys[:0]
		if err != nil || len(found) == 0 {
			return err
		}
		return fmt.Errorf("import a-h/kv: key %q exists in namespace %q: %w (an import writes only absent keys)", found[0].Key, im.out.Namespace, kvcore.ErrVersionMismatch)
	}
	err = im.src.Records(ctx, func(r seedimport.Record) error {
		c, isConsumer, err := seedimport.ConsumerOf(r)
		switch {
		case err != nil:
			return bad(fmt.Sprintf("key %q", r.Key), err)
		case isConsumer:
			if err := kvcore.ValidateName("consumer name", c.Name); err != nil {
				return bad(fmt.Sprintf("consumer record %q", r.Key), err)
			}
			switch _, err := stream.ConsumerStatus(ctx, c.Name); {
			case err == nil:
				return fmt.Errorf("import a-h/kv: consumer %q exists in the store already", c.Name)
			case !errors.Is(err, kvstream.ErrNotFound):
				return err
			}
			consumers = append(consumers, c)
			return nil
		}
		switch e, kind := seedimport.Graph(r); kind {
		case seedimport.GraphIndex:
			im.out.GraphIndex++
		case seedimport.GraphEdge:
			ke := ahkvEdge(e)
			if err := kvgraph.ValidateEdge(ke); err != nil {
				return bad(fmt.Sprintf("graph edge %q", r.Key), err)
			}
			if _, ok, err := t.graph.GetEdge(ctx, ke.From, ke.Type, ke.To); err != nil {
				return err
			} else if ok {
				return fmt.Errorf("import a-h/kv: graph edge %s -[%s]-> %s exists in the store already", ke.From, ke.Type, ke.To)
			}
			im.out.Edges++
		default:
			if err := t.st.ValidateRecord(ahkvRecord(r)); err != nil {
				return bad(fmt.Sprintf("key %q", r.Key), err)
			}
			im.out.Records++
			if keys = append(keys, r.Key); len(keys) >= im.batch {
				return live()
			}
		}
		return nil
	})
	if err != nil {
		return err
	}
	if err := live(); err != nil {
		return err
	}
	for _, c := range consumers { // once the scan is over: one query at a time
		unread, err := im.src.Unread(ctx, c)
		if err != nil {
			return err
		}
		im.out.Consumers = append(im.out.Consumers, ahkvConsumer{Name: c.Name, Position: -1, OfType: c.OfType, Unread: unread})
	}
	err = im.src.Tasks(ctx, func(st seedimport.Task) error {
		task, err := ahkvTask(st)
		if err != nil {
			return bad(fmt.Sprintf("task %q", st.ID), err)
		}
		if _, ok, err := t.sched.Get(ctx, task.ID); err != nil {
			return err
		} else if ok {
			return fmt.Errorf("import a-h/kv: task %q exists in the store already", task.ID)
		}
		im.out.Tasks++
		return nil
	})
	if err != nil {
		return err
	}
	locks, err := im.locks(ctx)
	if err != nil {
		return err
	}
	for _, l := range locks {
		if err := kvcore.ValidateName("lock name", l.Name); err != nil {
			return bad(fmt.Sprintf("lock %q", l.Name), err)
		}
		if err := kvcore.ValidateName("lock owner", l.LockedBy); err != nil {
			return bad(fmt.Sprintf("lock %q", l.Name), err)
		}
		if le, held, err := t.locker.Status(ctx, l.Name); err != nil {
			return err
		} else if held && le.Owner != l.LockedBy {
			return fmt.Errorf("import a-h/kv: lock %q is held by %q in a-h/kv and by %q in the store", l.Name, l.LockedBy, le.Owner)
		}
	}
	info, err := im.src.Stream(ctx)
	if err != nil {
		return err
	}
	im.out.Stream.First, im.out.Stream.Last, im.out.Stream.Entries = info.First, info.Last, info.Entries
	return nil
}

// locks returns the a-h/kv locks to import, those held now (by this
// process's clock) other than a-h/kv's consumer locks, and counts the
// others as skipped.
func (im *ahkvImport) locks(ctx context.Context) ([]seedimport.Lock, error) {
	all, err := im.src.Locks(ctx)
	if err != nil {
		return nil, err
	}
	now := time.Now()
	var out []seedimport.Lock
	im.out.Locks, im.out.LocksSkipped = 0, 0
	for _, l := range all {
		if strings.HasPrefix(l.Name, seedimport.ConsumerPrefix) || l.Expires.Sub(now) < kvlock.MinDuration {
			im.out.LocksSkipped++
			continue
		}
		out = append(out, l)
		im.out.Locks++
	}
	return out, nil
}

// write reads the a-h/kv database again and writes it into the store.
func (im *ahkvImport) write(b *open.Backend) error {
	ctx := im.ctx
	t, err := targetsOf(b)
	if err != nil {
		return err
	}
	stream := t.stream
	before, err := stream.Seq(ctx)
	if err != nil {
		return err
	}
	var (
		recs  []kvcore.Record
		edges []kvgraph.Edge
		tasks []kvtask.Task
	)
	flush := func() error {
		if err := t.st.Restore(ctx, recs...); err != nil {
			return fmt.Errorf("import a-h/kv: write records (the batches before were written): %w", err)
		}
		if err := t.graph.AddEdges(ctx, edges...); err != nil {
			return fmt.Errorf("import a-h/kv: write graph edges (the batches before were written): %w", err)
		}
		if err := t.sched.Restore(ctx, tasks...); err != nil {
			return fmt.Errorf("import a-h/kv: write tasks (the batches before were written): %w", err)
		}
		recs, edges, tasks = recs[:0], edges[:0], tasks[:0]
		return nil
	}
	err = im.src.Records(ctx, func(r seedimport.Record) error {
		if _, isConsumer, _ := seedimport.ConsumerOf(r); isConsumer {
			return nil
		}
		switch e, kind := seedimport.Graph(r); kind {
		case seedimport.GraphEdge:
			edges = append(edges, ahkvEdge(e))
		case seedimport.NotGraph:
			recs = append(recs, ahkvRecord(r))
		}
		if len(recs) >= im.batch || len(edges) >= im.batch {
			return flush()
		}
		return nil
	})
	if err == nil {
		err = im.src.Tasks(ctx, func(st seedimport.Task) error {
			task, err := ahkvTask(st)
			if err != nil {
				return bad(fmt.Sprintf("task %q", st.ID), err)
			}
			if tasks = append(tasks, task); len(tasks) >= im.batch {
				return flush()
			}
			return nil
		})
	}
	if err == nil {
		err = flush()
	}
	if err != nil {
		return err
	}
	locks, err := im.locks(ctx)
	if err != nil {
		return err
	}
	for _, l := range locks {
		if _, ok, err := t.locker.Acquire(ctx, l.Name, l.LockedBy, max(time.Until(l.Expires), kvlock.MinDuration)); err != nil {
			return fmt.Errorf("import a-h/kv: lock %q (the records, edges and tasks were written): %w", l.Name, err)
		} else if !ok {
			return fmt.Errorf("import a-h/kv: lock %q (the records, edges and tasks were written): %w", l.Name, kvlock.ErrHeld)
		}
	}
	at := before
	if im.consumersAt == consumersAtHead {
		if at, err = stream.Seq(ctx); err != nil {
			return err
		}
	}
	for i, c := range im.out.Consumers {
		if err := stream.SetPosition(ctx, c.Name, at); err != nil {
			return fmt.Errorf("import a-h/kv: consumer %q: %w", c.Name, err)
		}
		im.out.Consumers[i].Position = at
	}
	return nil
}

// warn says on stderr what the import could not carry over: consumers
// that had not read a-h/kv's stream to its end, and their type filters.
func (im *ahkvImport) warn() {
	for _, c := range im.out.Consumers {
		if c.Unread > 0 {
			fmt.Fprintf(im.a.stderr, "kv: import a-h/kv: consumer %q had not read %d entries of a-h/kv's stream; they are not carried over (it starts at seq %d of kv's stream, --consumers-at %s)\n",
				c.Name, c.Unread, c.Position, im.consumersAt)
		}
		if c.OfType != "" && c.OfType != allTypes {
			fmt.Fprintf(im.a.stderr, "kv: import a-h/kv: consumer %q read only records of type %q: kv keeps no filter with a consumer, so give --of-type %s to kv consumer get and stream\n",
				c.Name, c.OfType, shellWord(c.OfType))
		}
	}
}

// checkThenWrite runs check on the store and then, unless dryRun, write.
// A command that writes is not meant to create a SQLite file, nor kv's
// schema, for input that fails its check: so the store is opened as an
// existing one, and if it has no file or no kv schema yet (so no data),
// check runs against an empty in-memory store instead and the store is
// created only to write. A store with an older schema is migrated first,
// as by every write. dryRun needs an existing, current store, unless
// dryRunEmpty: then it checks against an empty one where there is none.
func (a *app) checkThenWrite(ctx context.Context, dryRun, dryRunEmpty bool, check, write func(*open.Backend) error) error {
	both := func(b *open.Backend) error {
		if b.ReadOnly && !dryRun {
			return fmt.Errorf("import: %w", errReadOnly)
		}
		if err := check(b); err != nil || dryRun {
			return err
		}
		return write(b)
	}
	a.cfg.MustExist = true
	err := a.withBackend(ctx, both)
	var old *open.SchemaError
	switch {
	case dryRun && !dryRunEmpty:
	case errors.Is(err, open.ErrNoDatabaseFile), errors.As(err, &old) && old.Applied == 0:
		empty := open.Config{Type: "sqlite", Connection: ":memory:", Namespace: a.cfg.Namespace}
		if err := withOpen(ctx, empty, check); err != nil || dryRun {
			return err
		}
		a.cfg.MustExist = false
		err = a.withBackend(ctx, write)
	case dryRun:
	case old != nil:
		a.cfg.MustExist = false
		err = a.withBackend(ctx, both)
	}
	return err
}
