package main

import (
	"bufio"
	"bytes"
	"context"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"errors"
	"flag"
	"fmt"
	"hash"
	"io"
	"os"
	"slices"
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

With the global --namespace (or KV_NAMESPACE, or namespace in the config
file), every record goes to that namespace instead: the export must hold
the records of one namespace only (kv export --namespace <name>), so that
an export can be copied under another name. Consumers, tasks and schedules
have no namespace.

It reads the input twice, streaming: first it checks every line (a
malformed line is an error naming its line number; a text field holding a
\u escape of half a UTF-16 surrogate pair, such as "\ud800", is refused),
the trailer (the count of the lines before it and their SHA-256: an export
cut short or edited is refused), that no record's key
(in its namespace), no task's id and no task's unique key appears twice
(naming both lines: every task is imported as pending, and only one
pending task may hold a unique key), and that no record's key and no
task's id exists in the store already; only then does it write,
--batch-size records per transaction. Each batch is atomic, the whole
import is not: if a write fails (a key written meanwhile by someone else,
or a unique key that a pending or running task of the store holds), the
batches before it stay. An export of format version 1 (from a kv before
the trailer) has no trailer: it is read with a warning on stderr. Input
from stdin is kept between the passes in a temporary file that is removed
from its folder as soon as it is created, so that no copy is left behind
however kv ends. With SQLite, a database file that does not exist yet
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
	seenStat := statOf(in)
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
		// Removed from the folder at once: the data lives only as long as
		// the open file, so no way of ending kv (a signal, a kill, a
		// crash) leaves a copy behind. Where an open file cannot be
		// removed (Windows), it is removed when kv is done with it.
		name := spool.Name()
		removed := os.Remove(name) == nil
		defer func() {
			spool.Close()
			if !removed {
				os.Remove(name)
			}
		}()
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
	into, err := a.importNamespace()
	if err != nil {
		return err
	}
	var (
		lines  atomic.Int64
		counts importCounts
		seen   importScan // what the check found
	)
	check := func(b *open.Backend) error {
		t := &importTarget{ctx: ctx, b: b}
		var keys importKeys
		stop := a.progress(func() string { return fmt.Sprintf("kv import: checking line %d", lines.Load()) })
		defer stop()
		seen = importScan{ctx: ctx, name: name, batch: batch, st: b.Store, lines: &lines, into: into}
		// The first conflict with the store is reported once the whole
		// input has been read: an export cut short or edited is reported
		// as that, whatever else it holds.
		var conflict error
		var err error
		counts, err = seen.run(src, func(u importUnit) error {
			keys.add(u)
			if conflict == nil {
				conflict = t.check(u)
			}
			return nil
		})
		if err != nil {
			return err
		}
		if conflict != nil {
			return conflict
		}
		return keys.repeats(again, name)
	}
	write := func(b *open.Backend) error {
		if err := sameFile(in, seenStat); err != nil {
			return fmt.Errorf("import: %s: %w", name, err)
		}
		src, err := again()
		if err != nil {
			return err
		}
		t := &importTarget{ctx: ctx, b: b}
		total := lines.Load()
		lines.Store(0)
		stop := a.progress(func() string { return fmt.Sprintf("kv import: line %d/%d", lines.Load(), total) })
		defer stop()
		scan := importScan{ctx: ctx, name: name, batch: batch, st: b.Store, lines: &lines, into: into}
		_, err = scan.run(src, t.write)
		if err == nil && scan.sum != seen.sum {
			err = fmt.Errorf("import: %s changed while it was imported (the lines before were written)", name)
		}
		return err
	}
	if err := a.checkThenWrite(ctx, dryRun, false, check, write); err != nil {
		return err
	}
	if !seen.trailer {
		fmt.Fprintf(a.stderr, "kv: import: warning: %s is a version %d export, which has no trailer: it could not be checked for being whole\n", name, seen.version)
	}
	counts.DryRun = dryRun
	return a.printJSON(counts)
}

// importNamespace returns the namespace that --namespace (or KV_NAMESPACE,
// or the config file) sends every record of an import to, or nil if none
// was chosen: then each record goes back to its own namespace.
func (a *app) importNamespace() (*string, error) {
	if !a.namespaceChosen {
		return nil, nil
	}
	ns := slices.Compact(slices.Clone(a.namespaces))
	if len(ns) > 1 {
		return nil, usagef("import", "import: --namespace given %d times: import takes one namespace, which receives every record", len(a.namespaces))
	}
	return &a.cfg.Namespace, nil
}

// fileStat is what sameFile compares: a file's size and modification
// time, read when the check began.
type fileStat struct {
	ok   bool
	size int64
	mod  int64
}

// statOf returns the fileStat of in if it is a file.
func statOf(in io.Reader) fileStat {
	f, ok := in.(*os.File)
	if !ok {
		return fileStat{}
	}
	fi, err := f.Stat()
	if err != nil || !fi.Mode().IsRegular() {
		return fileStat{}
	}
	return fileStat{true, fi.Size(), fi.ModTime().UnixNano()}
}

// sameFile returns an error if in is a file that changed since was read.
func sameFile(in io.Reader, was fileStat) error {
	if now := statOf(in); was.ok && now != was {
		return errors.New("the file changed after it was checked: nothing was written")
	}
	return nil
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

// importScan reads an export, checking each line (records as st's Restore
// will), and hands on records in batches of at most batch (of one
// namespace) and every other line on its own, in order. lines counts the
// lines read. It does not look for a key given twice (see importKeys). It
// checks the trailer: the count of the lines before it and the SHA-256 of
// their bytes, so that an export that was cut short or edited is refused
// once it has been read, before anything is written.
type importScan struct {
	ctx   context.Context // run stops once it ends (an interrupt)
	name  string          // what errors call the input
	batch int
	st    *kvcore.Store
	lines *atomic.Int64
	into  *string // with --namespace: the namespace that receives every record

	version int    // the header's format version
	trailer bool   // a trailer was read, and matched
	sum     string // the SHA-256 of the lines before the trailer, hex
}

// scanRawLines is bufio.ScanLines that keeps each line's ending, so that
// the checksum is of the bytes exactly as they were written.
func scanRawLines(data []byte, atEOF bool) (int, []byte, error) {
	if i := bytes.IndexByte(data, '\n'); i >= 0 {
		return i + 1, data[:i+1], nil
	}
	if atEOF && len(data) > 0 {
		return len(data), data, nil
	}
	return 0, nil, nil
}

// run reads r and calls fn with each unit, and returns the counts.
func (s *importScan) run(r io.Reader, fn func(importUnit) error) (importCounts, error) {
	var (
		counts    importCounts
		cur       importUnit
		size      int
		header    bool
		lineNum   int
		from      string    // with into: the namespace the records come from
		sum       hash.Hash = sha256.New()
		before    int64     // lines before the trailer
		trailerAt int
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
	sc.Buffer(make([]byte, 0, 64<<10), maxImportLine+2) // and its line ending
	sc.Split(scanRawLines)
	for sc.Scan() {
		if err := s.ctx.Err(); err != nil {
			return counts, fmt.Errorf("import: %w", err)
		}
		lineNum++
		s.lines.Store(int64(lineNum))
		raw := sc.Bytes()
		line := bytes.TrimSpace(raw)
		bad := func(format string, args ...any) error {
			return fmt.Errorf("import: %s line %d: %w: %s", s.name, lineNum, errBadImport, fmt.Sprintf(format, args...))
		}
		if len(line) > maxImportLine {
			return counts, bad("longer than %d bytes", maxImportLine)
		}
		if trailerAt > 0 {
			if len(line) == 0 {
				continue
			}
			return counts, bad("a line after the trailer (line %d), which ends an export", trailerAt)
		}
		var k struct {
			Kind string `json:"kind"`
		}
		if len(line) > 0 {
			if err := json.Unmarshal(line, &k); err != nil {
				return counts, bad("%v", err)
			}
		}
		if k.Kind == kindTrailer {
			if !header {
				return counts, bad("the first line must be the header, not the trailer")
			}
			var tl trailerLine
			if err := strictJSON(line, &tl); err != nil {
				return counts, bad("%v", err)
			}
			if tl.Lines != before {
				return counts, bad("the trailer counts %d lines before it, but %d came: the export was cut short or edited", tl.Lines, before)
			}
			s.sum = hex.EncodeToString(sum.Sum(nil))
			if tl.SHA256 != s.sum {
				return counts, bad("the checksum of the lines before the trailer does not match: the export was edited or damaged")
			}
			trailerAt, s.trailer = lineNum, true
			continue
		}
		sum.Write(raw)
		before++
		if len(line) == 0 {
			continue
		}
		if err := checkSurrogates(line); err != nil {
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
			header, s.version = true, h.Version
			continue
		}
		var u importUnit
		switch k.Kind {
		case kindRecord:
			var rl recordLine
			if err := strictJSON(line, &rl); err != nil {
				return counts, bad("%v", err)
			}
			if s.into != nil {
				if counts.Records > 0 && rl.Namespace != from {
					return counts, bad("a record of namespace %s after records of namespace %s: with --namespace, kv import moves the records of an export of one namespace into it (without --namespace each record goes back to its own namespace)", textName(rl.Namespace), textName(from))
				}
				from, rl.Namespace = rl.Namespace, *s.into
			}
			if err := checkRecord(s.st, rl); err != nil {
				return counts, bad("%v", err)
			}
			if len(cur.records) > 0 && (rl.Namespace != cur.namespace || len(cur.records) >= s.batch || size >= maxBatchBytes) {
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
			return counts, bad("unknown kind %q: want record, consumer, task, schedule or trailer", k.Kind)
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
			return counts, fmt.Errorf("import: %s line %d: %w: longer than %d bytes", s.name, lineNum+1, errBadImport, maxImportLine)
		}
		return counts, fmt.Errorf("import: read %s: %w", s.name, err)
	}
	if !header {
		return counts, fmt.Errorf("import: %s: %w: it is empty (no header line)", s.name, errBadImport)
	}
	if !s.trailer && s.version >= trailerVersion {
		return counts, fmt.Errorf("import: %s: %w: no trailer line after line %d: the export was cut short (a version %d export ends with {\"kind\":\"trailer\",...})", s.name, errBadImport, lineNum, s.version)
	}
	if !s.trailer {
		s.sum = hex.EncodeToString(sum.Sum(nil))
	}
	return counts, flush()
}

// checkSurrogates refuses a line whose text fields (every member but a
// record's value and a task's payload, which are kept as written) hold a
// \u escape of half a UTF-16 surrogate pair: no UTF-8 text can hold one,
// and Go's JSON decoder would silently turn it into U+FFFD.
func checkSurrogates(line []byte) error {
	var members map[string]json.RawMessage
	if err := json.Unmarshal(line, &members); err != nil {
		return nil // the line's own decoding reports it
	}
	for name, v := range members {
		switch name {
		case "value", "payload":
			continue
		case "template":
			if err := checkSurrogates(v); err != nil {
				return fmt.Errorf("template: %w", err)
			}
			continue
		}
		if loneSurrogate(v) {
			return fmt.Errorf("%q holds a \\u escape of half a UTF-16 surrogate pair (such as \\ud800), which is not a character: UTF-8 text cannot hold it", name)
		}
	}
	return nil
}

// loneSurrogate reports whether the JSON text v has, in a string, a \u
// escape of a surrogate (U+D800 to U+DFFF) that is not a high one followed
// at once by a low one.
func loneSurrogate(v []byte) bool {
	escape := func(i int) (rune, bool) { // the \uXXXX at v[i:], if any
		if i+6 > len(v) || v[i] != '\\' || v[i+1] != 'u' {
			return 0, false
		}
		var r rune
		for _, c := range v[i+2 : i+6] {
			switch {
			case c >= '0' && c <= '9':
				r = r<<4 | rune(c-'0')
			case c >= 'a' && c <= 'f':
				r = r<<4 | rune(c-'a'+10)
			case c >= 'A' && c <= 'F':
				r = r<<4 | rune(c-'A'+10)
			default:
				return 0, false
			}
		}
		return r, true
	}
	inString := false
	for i := 0; i < len(v); i++ {
		switch c := v[i]; {
		case c == '"':
			inString = !inString
		case inString && c == '\\':
			r, ok := escape(i)
			switch {
			case !ok:
				i++ // a two-character escape
			case r >= 0xD800 && r <= 0xDBFF:
				if low, ok := escape(i + 6); !ok || low < 0xDC00 || low > 0xDFFF {
					return true
				}
				i += 11
			case r >= 0xDC00 && r <= 0xDFFF:
				return true
			default:
				i += 5
			}
		}
	}
	return false
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
