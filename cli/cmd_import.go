package main

import (
	"bufio"
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"flag"
	"fmt"
	"io"
	"os"
	"sync/atomic"

	"github.com/peterbourgon/ff/v3/ffcli"

	"github.com/kvsuite/kv/cli/internal/open"
	"github.com/kvsuite/kv/kvcore"
	"github.com/kvsuite/kv/kvstream"
	"github.com/kvsuite/kv/kvtask"
)

// Import limits.
const (
	defaultImportBatch = 500      // records per Restore call
	maxImportBatch     = 10000    // the largest --batch-size
	maxBatchBytes      = 16 << 20 // a batch is written early once its values reach this size
	// maxImportLine is the longest line: a record with the largest value
	// kvcore accepts, escaped, and its metadata.
	maxImportLine = maxInput + 64<<10
)

// importCounts is what an import read (and wrote), printed at the end.
type importCounts struct {
	Records   int  `json:"records"`
	Consumers int  `json:"consumers"`
	Tasks     int  `json:"tasks"`
	Schedules int  `json:"schedules"`
	DryRun    bool `json:"dry_run"`
}

func (a *app) importCommand() *ffcli.Command {
	const path = "import"
	var (
		dryRun bool
		batch  int
	)
	return a.command(spec{
		path:  path,
		args:  "[<file>]",
		short: "Read what kv export wrote (from <file> or stdin) into the store.",
		long: `Reads a kv export (JSON Lines, see kv export --help) from <file>, or from
stdin if there is none or it is "-", and writes it into the store: each
record exactly as exported (key, value, type, version, created, updated and
expiry) into its own namespace (records that have expired meanwhile are
skipped), each consumer's position as exported (creating or moving the
consumer; positions are seqs of the source's stream), each task enqueued
again as pending with its id, payload, priority, unique key, run-at time,
retries and timeout (its created time becomes the import's, attempts and
last error start afresh; a running task will run again), and each cron
schedule created or replaced (its next tick counted from now).

It reads the input twice, streaming: first it checks every line (a
malformed line is an error naming its line number), that no record's key
(in its namespace), no task's id and no task's unique key appears twice
(naming both lines: every task is imported as pending, and only one
pending task may hold a unique key), and that no record's key and no
task's id exists in the store already; only then does it write,
--batch-size records per transaction. Each batch is atomic, the whole
import is not: if a write fails (a key written meanwhile by someone else,
or a unique key that a pending or running task of the store holds), the
batches before it stay. Input from stdin is kept in a temporary file
between the passes. With SQLite, a database file that does not exist yet
is created only once the input has passed the check. --dry-run does only
the check, and needs an existing store (with SQLite it creates no
database file). At the end it prints the
counts: {"records":...,"consumers":...,"tasks":...,"schedules":...,
"dry_run":...}. A progress line is shown on stderr when stderr is a terminal.`,
		flags: func(fs *flag.FlagSet) {
			fs.BoolVar(&dryRun, "dry-run", false, "check the input against the store and write nothing")
			fs.IntVar(&batch, "batch-size", defaultImportBatch, "write this many records per transaction (`n`)")
		},
		subs: []*ffcli.Command{a.importAHKVCommand(&dryRun, &batch)},
		run: func(ctx context.Context, args []string) error {
			if err := checkArgs(path, args, 0, 1, "[<file>]"); err != nil {
				return err
			}
			if batch < 1 || batch > maxImportBatch {
				return usagef(path, "--batch-size %d: want 1 to %d", batch, maxImportBatch)
			}
			file := "-"
			if len(args) == 1 {
				file = args[0]
			}
			return a.importFile(ctx, file, batch, dryRun)
		},
	})
}

// importFile checks the input against the store, then (unless dryRun)
// writes it. The input is opened before the store, and the store is
// opened as an existing one: a SQLite database file that does not exist
// yet is empty, so the check runs against an empty in-memory store instead,
// and the file is created only once the input passed. Input that fails the
// check (or is missing) thus leaves no database file behind.
func (a *app) importFile(ctx context.Context, file string, batch int, dryRun bool) error {
	in, name, err := a.importInput(file)
	if err != nil {
		return err
	}
	defer in.Close()
	var (
		src   io.Reader = in
		spool *os.File
	)
	if file == "-" {
		// Stdin is read once: keep it for the second pass (and for
		// confirming a repeated key).
		spool, err = os.CreateTemp("", "kv-import-*.jsonl")
		if err != nil {
			return fmt.Errorf("import: %w", err)
		}
		defer func() { spool.Close(); os.Remove(spool.Name()) }()
		src = io.TeeReader(in, spool)
	}
	again := func() (io.Reader, error) { // the input from its start
		var r io.ReadSeeker = in
		if spool != nil {
			r = spool
		}
		if _, err := r.Seek(0, io.SeekStart); err != nil {
			return nil, fmt.Errorf("import: %s: %w", name, err)
		}
		return r, nil
	}
	var (
		lines  atomic.Int64
		counts importCounts
	)
	check := func(b *open.Backend) error {
		t := &importTarget{ctx: ctx, b: b}
		var keys importKeys
		stop := a.progress(func() string { return fmt.Sprintf("kv import: checking line %d", lines.Load()) })
		defer stop()
		var err error
		counts, err = scanImport(src, name, batch, b.Store, &lines, func(u importUnit) error {
			keys.add(u)
			return t.check(u)
		})
		if err != nil {
			return err
		}
		return keys.repeats(again, name)
	}
	write := func(b *open.Backend) error {
		src, err := again()
		if err != nil {
			return err
		}
		t := &importTarget{ctx: ctx, b: b}
		total := lines.Load()
		lines.Store(0)
		stop := a.progress(func() string { return fmt.Sprintf("kv import: line %d/%d", lines.Load(), total) })
		defer stop()
		_, err = scanImport(src, name, batch, b.Store, &lines, t.write)
		return err
	}
	if err := a.checkThenWrite(ctx, dryRun, false, check, write); err != nil {
		return err
	}
	counts.DryRun = dryRun
	return a.printJSON(counts)
}

// importInput opens the input: the file, or stdin for "-".
func (a *app) importInput(file string) (io.ReadSeekCloser, string, error) {
	if file != "-" {
		f, err := os.Open(file)
		if err != nil {
			return nil, "", fmt.Errorf("import: %w", err)
		}
		return f, file, nil
	}
	if a.stdin == nil {
		return nil, "", fmt.Errorf("import reads stdin, but there is no stdin")
	}
	if _, ok := terminal(a.stdin); ok {
		return nil, "", usagef("import", "import: stdin is a terminal: give a file or pipe kv export's output in")
	}
	return nopSeeker{a.stdin}, "stdin", nil
}

// nopSeeker is stdin, read once.
type nopSeeker struct{ io.Reader }

func (nopSeeker) Close() error { return nil }
func (nopSeeker) Seek(int64, int) (int64, error) {
	return 0, errors.New("stdin cannot be read twice")
}

// importUnit is what scanImport hands on: a batch of records of one
// namespace, or one consumer, task or schedule.
type importUnit struct {
	first, last int // its line numbers
	namespace   string
	records     []kvcore.Record
	consumer    *consumerLine
	task        *taskLine
	schedule    *scheduleLine
}

// scanImport reads an export from r, checks each line (records as st's
// Restore will), and calls fn with records in batches of at most batch (of
// one namespace) and with every other line on its own, in order. lines
// counts the lines read. It does not look for a key given twice (see
// importKeys).
func scanImport(r io.Reader, name string, batch int, st *kvcore.Store, lines *atomic.Int64, fn func(importUnit) error) (importCounts, error) {
	var (
		counts  importCounts
		cur     importUnit
		size    int
		header  bool
		lineNum int
	)
	flush := func() error {
		if len(cur.records) == 0 {
			return nil
		}
		u := cur
		cur, size = importUnit{}, 0
		return fn(u)
	}
	sc := bufio.NewScanner(r)
	sc.Buffer(make([]byte, 0, 64<<10), maxImportLine)
	for sc.Scan() {
		lineNum++
		lines.Store(int64(lineNum))
		line := bytes.TrimSpace(sc.Bytes())
		if len(line) == 0 {
			continue
		}
		bad := func(format string, args ...any) error {
			return fmt.Errorf("import: %s line %d: %w: %s", name, lineNum, errBadImport, fmt.Sprintf(format, args...))
		}
		var k struct {
			Kind string `json:"kind"`
		}
		if err := json.Unmarshal(line, &k); err != nil {
			return counts, bad("%v", err)
		}
		if !header {
			if k.Kind != kindHeader {
				return counts, bad("the first line must be the header ({\"kind\":\"header\",\"format\":%q,...}), not kind %q", exportFormat, k.Kind)
			}
			var h headerLine
			if err := strictJSON(line, &h); err != nil {
				return counts, bad("%v", err)
			}
			if h.Format != exportFormat || h.Version < 1 {
				return counts, bad("format %q version %d: want %q version %d", h.Format, h.Version, exportFormat, exportVersion)
			}
			if h.Version > exportVersion {
				return counts, bad("format version %d is newer than this kv reads (%d)", h.Version, exportVersion)
			}
			header = true
			continue
		}
		var u importUnit
		switch k.Kind {
		case kindRecord:
			var rl recordLine
			if err := strictJSON(line, &rl); err != nil {
				return counts, bad("%v", err)
			}
			if err := checkRecord(st, rl); err != nil {
				return counts, bad("%v", err)
			}
			if len(cur.records) > 0 && (rl.Namespace != cur.namespace || len(cur.records) >= batch || size >= maxBatchBytes) {
				if err := flush(); err != nil {
					return counts, err
				}
			}
			if len(cur.records) == 0 {
				cur.first, cur.namespace = lineNum, rl.Namespace
			}
			cur.last = lineNum
			cur.records = append(cur.records, rl.Record)
			size += len(rl.Value)
			counts.Records++
			continue
		case kindConsumer:
			var cl consumerLine
			if err := strictJSON(line, &cl); err != nil {
				return counts, bad("%v", err)
			}
			if err := kvcore.ValidateName("consumer name", cl.Name); err != nil {
				return counts, bad("%v", err)
			}
			if cl.Position < 0 {
				return counts, bad("consumer %q: position %d is negative", cl.Name, cl.Position)
			}
			u.consumer = &cl
			counts.Consumers++
		case kindTask:
			var tl taskLine
			if err := strictJSON(line, &tl); err != nil {
				return counts, bad("%v", err)
			}
			if err := tl.check(false); err != nil {
				return counts, bad("%v", err)
			}
			u.task = &tl
			counts.Tasks++
		case kindSchedule:
			var sl scheduleLine
			if err := strictJSON(line, &sl); err != nil {
				return counts, bad("%v", err)
			}
			if err := kvcore.ValidateName("schedule name", sl.Name); err != nil {
				return counts, bad("%v", err)
			}
			if err := kvtask.ValidateSpec(sl.Spec); err != nil {
				return counts, bad("schedule %q: %v", sl.Name, err)
			}
			if err := sl.Template.check(true); err != nil {
				return counts, bad("schedule %q: %v", sl.Name, err)
			}
			u.schedule = &sl
			counts.Schedules++
		case kindHeader:
			return counts, bad("a second header")
		default:
			return counts, bad("unknown kind %q: want record, consumer, task or schedule", k.Kind)
		}
		if err := flush(); err != nil {
			return counts, err
		}
		u.first, u.last = lineNum, lineNum
		if err := fn(u); err != nil {
			return counts, err
		}
	}
	if err := sc.Err(); err != nil {
		if errors.Is(err, bufio.ErrTooLong) {
			return counts, fmt.Errorf("import: %s line %d: %w: longer than %d bytes", name, lineNum+1, errBadImport, maxImportLine)
		}
		return counts, fmt.Errorf("import: read %s: %w", name, err)
	}
	if !header {
		return counts, fmt.Errorf("import: %s: %w: it is empty (no header line)", name, errBadImport)
	}
	return counts, flush()
}

// strictJSON decodes one JSON object into v, refusing unknown fields and
// anything after the object.
func strictJSON(line []byte, v any) error {
	dec := json.NewDecoder(bytes.NewReader(line))
	dec.DisallowUnknownFields()
	if err := dec.Decode(v); err != nil {
		return err
	}
	if dec.More() {
		return errors.New("more than one JSON value on the line")
	}
	return nil
}

// importTarget is the store an import writes to, with the stream and task
// scheduler opened when first needed.
type importTarget struct {
	ctx    context.Context
	b      *open.Backend
	stream *kvstream.Stream
	sched  *kvtask.Scheduler
}

func (t *importTarget) getStream() (*kvstream.Stream, error) {
	if t.stream == nil {
		s, err := streamOf(t.b, nil)
		if err != nil {
			return nil, err
		}
		t.stream = s
	}
	return t.stream, nil
}

func (t *importTarget) getScheduler() (*kvtask.Scheduler, error) {
	if t.sched == nil {
		s, err := schedulerOf(t.b)
		if err != nil {
			return nil, err
		}
		t.sched = s
	}
	return t.sched, nil
}

// check makes sure u can be written: no record's key is live and no task's
// id exists, and the backend has what u needs.
func (t *importTarget) check(u importUnit) error {
	ctx := t.ctx
	switch {
	case u.records != nil:
		st, err := t.b.Store.Namespace(u.namespace)
		if err != nil {
			return err
		}
		keys := make([]string, len(u.records))
		for i, r := range u.records {
			keys[i] = r.Key
		}
		live, err := st.GetBatch(ctx, keys...)
		if err != nil {
			return err
		}
		if len(live) > 0 {
			return fmt.Errorf("import: lines %d-%d: key %q exists in namespace %q: %w (import writes only absent keys)",
				u.first, u.last, live[0].Key, u.namespace, kvcore.ErrVersionMismatch)
		}
	case u.consumer != nil:
		_, err := t.getStream()
		return err
	case u.task != nil:
		s, err := t.getScheduler()
		if err != nil {
			return err
		}
		if _, ok, err := s.Get(ctx, u.task.ID); err != nil {
			return err
		} else if ok {
			return fmt.Errorf("import: line %d: task %q exists already", u.first, u.task.ID)
		}
	case u.schedule != nil:
		_, err := t.getScheduler()
		return err
	}
	return nil
}

// write writes u.
func (t *importTarget) write(u importUnit) error {
	ctx := t.ctx
	var err error
	switch {
	case u.records != nil:
		var st *kvcore.Store
		if st, err = t.b.Store.Namespace(u.namespace); err == nil {
			err = st.Restore(ctx, u.records...)
		}
		if err != nil {
			return fmt.Errorf("import: lines %d-%d (namespace %q; the lines before were written): %w", u.first, u.last, u.namespace, err)
		}
		return nil
	case u.consumer != nil:
		var s *kvstream.Stream
		if s, err = t.getStream(); err == nil {
			err = s.SetPosition(ctx, u.consumer.Name, u.consumer.Position)
		}
	case u.task != nil:
		var s *kvtask.Scheduler
		if s, err = t.getScheduler(); err == nil {
			err = s.New(ctx, u.task.task())
		}
	case u.schedule != nil:
		var s *kvtask.Scheduler
		if s, err = t.getScheduler(); err == nil {
			err = s.Schedule(ctx, u.schedule.Name, u.schedule.Spec, u.schedule.Template.task())
		}
	}
	if err != nil {
		return fmt.Errorf("import: line %d (the lines before were written): %w", u.first, err)
	}
	return nil
}
