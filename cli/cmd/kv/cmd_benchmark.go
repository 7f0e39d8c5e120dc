package main

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"encoding/json"
	"errors"
	"flag"
	"fmt"
	"io"
	mrand "math/rand/v2"
	"sort"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"github.com/HdrHistogram/hdrhistogram-go"
	"github.com/peterbourgon/ff/v3/ffcli"

	"github.com/kvsuite/kv/cli/internal/open"
	"github.com/kvsuite/kv/cli/internal/redact"
	"github.com/kvsuite/kv/kvcore"
	"github.com/kvsuite/kv/kvstream"
)

// Benchmark defaults: quick on a laptop with SQLite.
const (
	defaultBenchRecords = 1000 // records prepared for get, patch and mixed
	defaultBenchGets    = 10000
	defaultBenchWrites  = 1000
	defaultBenchMixed   = 5000
	defaultBenchWorkers = 1
	maxBenchWorkers     = 1024
	benchChunk          = 500 // records per MutateAll when preparing
)

// maxLatencyUS is the largest latency the histograms hold (one hour, in
// microseconds); longer operations are recorded as one hour.
const maxLatencyUS = int64(time.Hour / time.Microsecond)

func (a *app) benchmarkCommand() *ffcli.Command {
	return a.command(spec{
		path:  "benchmark",
		short: "Measure the store.",
		long: `Runs operations against the configured store and reports, for all of them:
how many ran, how many failed (a failed operation is never counted as done),
throughput (done operations per second of wall time, with every worker
running) and latency percentiles (p50, p95, p99, max, measured per done
operation, in an HDR histogram). --json prints the report as one JSON
object. Exit status 1 if any operation failed or the final check failed.

Every run writes in a namespace of its own, "` + benchNamespace + `" (whatever
--namespace says), under its own key prefix, bench/<run-id>/, and removes
what it wrote at the end unless --keep: your keys are never touched.
Every write is recorded in the change stream, though, as every change is
(the removal too): consumers that follow every namespace will read them,
and it warns when the store has consumers. The report says how much the
stream grew during the run; kv stream trim removes what no consumer needs.
Benchmark a database of its own to keep its stream clean.
A progress line is shown on stderr when stderr is a terminal.`,
		subs: []*ffcli.Command{
			a.benchmarkGetCommand(),
			a.benchmarkPutCommand(),
			a.benchmarkPatchCommand(),
			a.benchmarkMixedCommand(),
		},
	})
}

// benchOptions are the flags every benchmark takes.
type benchOptions struct {
	json bool
	keep bool
}

func (o *benchOptions) define(fs *flag.FlagSet) {
	fs.BoolVar(&o.json, "json", false, "print the report as one JSON object")
	fs.BoolVar(&o.keep, "keep", false, "keep the records the benchmark wrote (under bench/<run-id>/)")
}

// benchArgs reads the optional whole-number arguments of a benchmark, each
// at least 1; the workers (the last one) at most maxBenchWorkers.
func benchArgs(path string, args []string, names []string, defaults []int) ([]int, error) {
	vals := append([]int(nil), defaults...)
	for i, s := range args {
		n64, err := intArg(path, path+": <"+names[i]+">", s, strconv.IntSize)
		if err != nil {
			return nil, err
		}
		n := int(n64)
		if n < 1 {
			return nil, usagef(path, "%s: <%s> %d: want 1 or more", path, names[i], n)
		}
		vals[i] = n
	}
	if w := vals[len(vals)-1]; w > maxBenchWorkers {
		return nil, usagef(path, "%s: <w> %d: want at most %d workers", path, w, maxBenchWorkers)
	}
	return vals, nil
}

// benchOp runs operation i (0 <= i < n) with the worker's random source and
// returns the kind of operation it was (for mixed runs).
type benchOp func(ctx context.Context, i int, rng *mrand.Rand) (kind string, err error)

// opStats are the counts and latencies of one kind of operation.
type opStats struct {
	done, failed int
	hist         *hdrhistogram.Histogram
}

func newHist() *hdrhistogram.Histogram { return hdrhistogram.New(1, maxLatencyUS, 3) }

func (s *opStats) merge(o *opStats) {
	s.done += o.done
	s.failed += o.failed
	s.hist.Merge(o.hist)
}

// benchResult is what a run measured.
type benchResult struct {
	wall     time.Duration
	all      opStats
	byKind   map[string]*opStats
	firstErr error
}

// runOps runs n operations on w workers and measures them.
func (a *app) runOps(ctx context.Context, name string, n, w int, op benchOp) benchResult {
	var (
		next    atomic.Int64
		settled atomic.Int64
		mu      sync.Mutex
		res     = benchResult{all: opStats{hist: newHist()}, byKind: map[string]*opStats{}}
	)
	stop := a.progress(func() string { return fmt.Sprintf("kv benchmark %s: %d/%d ops", name, settled.Load(), n) })
	begin := time.Now()
	var wg sync.WaitGroup
	for range w {
		seed := mrand.Uint64()
		wg.Go(func() {
			rng := mrand.New(mrand.NewPCG(seed, seed^0x9e3779b97f4a7c15))
			all := opStats{hist: newHist()}
			kinds := map[string]*opStats{}
			var firstErr error
			for ctx.Err() == nil {
				i := int(next.Add(1) - 1)
				if i >= n {
					break
				}
				t0 := time.Now()
				kind, err := op(ctx, i, rng)
				us := min(max(time.Since(t0).Microseconds(), 1), maxLatencyUS)
				settled.Add(1)
				ks := kinds[kind]
				if ks == nil {
					ks = &opStats{hist: newHist()}
					kinds[kind] = ks
				}
				if err != nil {
					all.failed++
					ks.failed++
					if firstErr == nil {
						firstErr = err
					}
					continue
				}
				all.done++
				ks.done++
				_ = all.hist.RecordValue(us) // in range: clamped above
				_ = ks.hist.RecordValue(us)
			}
			mu.Lock()
			defer mu.Unlock()
			res.all.merge(&all)
			for k, s := range kinds {
				if res.byKind[k] == nil {
					res.byKind[k] = &opStats{hist: newHist()}
				}
				res.byKind[k].merge(s)
			}
			if res.firstErr == nil {
				res.firstErr = firstErr
			}
		})
	}
	wg.Wait()
	res.wall = time.Since(begin)
	stop()
	return res
}

// benchCheck is the check a benchmark makes of the store after its run.
type benchCheck struct {
	OK     bool   `json:"ok"`
	Want   int    `json:"want"`
	Got    int    `json:"got"`
	Detail string `json:"detail"`
}

// latencyJSON is a latency summary in microseconds.
type latencyJSON struct {
	P50  int64   `json:"p50"`
	P95  int64   `json:"p95"`
	P99  int64   `json:"p99"`
	Max  int64   `json:"max"`
	Mean float64 `json:"mean"`
}

// opJSON is the report of one kind of operation.
type opJSON struct {
	Ops       int         `json:"ops"`
	Done      int         `json:"done"`
	Failed    int         `json:"failed"`
	OpsPerSec float64     `json:"ops_per_sec"`
	LatencyUS latencyJSON `json:"latency_us"`
}

// benchReport is what kv benchmark prints (with --json, as is).
type benchReport struct {
	Benchmark string `json:"benchmark"`
	Store     string `json:"store"`
	Prefix    string `json:"prefix"`
	Prepared  int    `json:"prepared"`
	Workers   int    `json:"workers"`
	opJSON
	Seconds    float64           `json:"seconds"`
	ByOp       map[string]opJSON `json:"by_op,omitempty"`
	Check      benchCheck        `json:"check"`
	FirstError string            `json:"first_error,omitempty"`
	Kept       bool              `json:"kept"`
	Cache      *benchCacheJSON   `json:"cache,omitempty"` // benchmark get --cache
	Namespace  string            `json:"namespace"`
	// StreamGrowth is by how many entries the change stream grew from
	// the start of the run to the end (its clean-up included); writes of
	// other clients meanwhile are counted too.
	StreamGrowth int64 `json:"stream_growth"`
}

func summarize(s *opStats, wall time.Duration) opJSON {
	o := opJSON{Ops: s.done + s.failed, Done: s.done, Failed: s.failed}
	if wall > 0 {
		o.OpsPerSec = float64(s.done) / wall.Seconds()
	}
	if s.done > 0 {
		o.LatencyUS = latencyJSON{
			P50:  s.hist.ValueAtQuantile(50),
			P95:  s.hist.ValueAtQuantile(95),
			P99:  s.hist.ValueAtQuantile(99),
			Max:  s.hist.Max(),
			Mean: s.hist.Mean(),
		}
	}
	return o
}

// benchRun is one benchmark: its store, its own key prefix and options.
type benchRun struct {
	a      *app
	be     *open.Backend
	st     *kvcore.Store
	name   string
	prefix string
	opts   benchOptions
}

// benchNamespace is the namespace benchmarks write in.
const benchNamespace = "kvbench"

// withBench opens the store, picks a fresh prefix in benchNamespace, runs
// body, removes what the run wrote (unless --keep) and prints the report
// that body returns, with how much the stream grew meanwhile.
func (a *app) withBench(ctx context.Context, name string, opts benchOptions, body func(b *benchRun) (benchReport, error)) error {
	path := "benchmark " + name
	return a.withBackend(ctx, func(be *open.Backend) (err error) {
		st, err := be.Store.Namespace(benchNamespace)
		if err != nil {
			return err
		}
		s, err := streamOf(be, nil)
		if err != nil {
			return err
		}
		if err := a.warnConsumers(ctx, path, s); err != nil {
			return err
		}
		seq0, err := s.Seq(ctx)
		if err != nil {
			return err
		}
		var id [6]byte
		if _, err := rand.Read(id[:]); err != nil {
			return err
		}
		prefix := "bench/" + time.Now().UTC().Format("20060102T150405") + "-" + hex.EncodeToString(id[:]) + "/"
		if n, err := st.CountPrefix(ctx, prefix); err != nil {
			return err
		} else if n != 0 {
			return fmt.Errorf("%s: prefix %q is already in use", path, prefix)
		}
		b := &benchRun{a: a, be: be, st: st, name: name, prefix: prefix, opts: opts}
		rep, err := body(b)
		var cleanErr error
		if !opts.keep && !be.ReadOnly {
			// Clean up even after an interrupt, within a bounded time,
			// before the report, which counts the stream's growth.
			cctx, cancel := context.WithTimeout(context.WithoutCancel(ctx), time.Minute)
			defer cancel()
			if _, derr := st.DeletePrefix(cctx, prefix, 0, 0); derr != nil {
				cleanErr = fmt.Errorf("%s: remove the benchmark's records under %q: %w", path, prefix, derr)
			}
		}
		if err != nil {
			return err
		}
		if ctx.Err() != nil {
			return fmt.Errorf("%s: interrupted after %d operations: %w", path, rep.Ops, ctx.Err())
		}
		seq1, err := s.Seq(ctx)
		if err != nil {
			return err
		}
		rep.Benchmark, rep.Store, rep.Prefix, rep.Kept = name, a.cfg.Type, prefix, opts.keep
		rep.Namespace, rep.StreamGrowth = benchNamespace, seq1-seq0
		if err := a.printBench(rep, opts.json); err != nil {
			return err
		}
		switch {
		case rep.Failed > 0:
			return fmt.Errorf("%s: %d of %d operations failed (first: %s)", path, rep.Failed, rep.Ops, rep.FirstError)
		case !rep.Check.OK:
			return fmt.Errorf("%s: check failed: %s", path, rep.Check.Detail)
		}
		return cleanErr
	})
}

// warnConsumers warns on stderr, before a benchmark at path writes, that
// the consumers of the store will read its writes in the change stream.
func (a *app) warnConsumers(ctx context.Context, path string, s *kvstream.Stream) error {
	cs, err := s.Consumers(ctx)
	if err != nil || len(cs) == 0 {
		return err
	}
	names := make([]string, 0, min(len(cs), 4))
	for _, c := range cs[:min(len(cs), 3)] {
		names = append(names, strconv.Quote(c.Name))
	}
	if len(cs) > 3 {
		names = append(names, fmt.Sprintf("and %d more", len(cs)-3))
	}
	fmt.Fprintf(a.stderr, "kv: %s: warning: the store has %d consumer(s) (%s): the change stream records every write of this benchmark (namespace %q), and a consumer that follows every namespace will read them\n",
		path, len(cs), strings.Join(names, ", "), benchNamespace)
	return nil
}

// report builds the report of a run.
func (b *benchRun) report(res benchResult, prepared, workers int) benchReport {
	rep := benchReport{
		Prepared: prepared,
		Workers:  workers,
		opJSON:   summarize(&res.all, res.wall),
		Seconds:  res.wall.Seconds(),
	}
	if len(res.byKind) > 1 {
		rep.ByOp = map[string]opJSON{}
		for k, s := range res.byKind {
			rep.ByOp[k] = summarize(s, res.wall)
		}
	}
	if res.firstErr != nil {
		msg := strings.TrimPrefix(res.firstErr.Error(), "kv ")
		msg = redact.Scrub(msg, b.a.cfg.Connection)
		rep.FirstError = msg
	}
	return rep
}

// prepare writes count records under b.prefix+sub, numbered 0..count-1,
// in a few transactions (not measured).
func (b *benchRun) prepare(ctx context.Context, sub string, count int) error {
	for start := 0; start < count; start += benchChunk {
		end := min(start+benchChunk, count)
		ms := make([]kvcore.Mutation, 0, end-start)
		for i := start; i < end; i++ {
			ms = append(ms, kvcore.Put(b.key(sub, i), -1, benchValue(i)))
		}
		if _, err := b.st.MutateAll(ctx, ms...); err != nil {
			return fmt.Errorf("benchmark %s: prepare %d records: %w", b.name, count, err)
		}
	}
	return nil
}

// key is the benchmark's key number i under sub.
func (b *benchRun) key(sub string, i int) string {
	return fmt.Sprintf("%s%s%09d", b.prefix, sub, i)
}

// benchValue is the value the benchmark writes: a small JSON object.
func benchValue(i int) json.RawMessage {
	return json.RawMessage(fmt.Sprintf(`{"i":%d,"name":"benchmark record","tags":["kv","benchmark"],"data":"0123456789abcdef0123456789abcdef0123456789abcdef0123456789abcdef"}`, i))
}

// benchPatch is the patch operation i applies.
func benchPatch(i int) json.RawMessage {
	return json.RawMessage(fmt.Sprintf(`{"patched":%d,"tags":["kv","patched"]}`, i))
}

// patchesDone counts the patches applied to the records under sub:
// every patch adds one to a record's version, and each was written at
// version 1.
func (b *benchRun) patchesDone(ctx context.Context, sub string) (int, error) {
	n := 0
	for r, err := range b.st.AllPrefix(ctx, b.prefix+sub) {
		if err != nil {
			return 0, err
		}
		n += int(r.Version - 1)
	}
	return n, nil
}

// printBench prints a report as text, or as JSON with --json.
func (a *app) printBench(rep benchReport, asJSON bool) error {
	if asJSON {
		return a.printJSON(rep)
	}
	var sb strings.Builder
	fmt.Fprintf(&sb, "benchmark %s (%s): %d ops by %d worker(s) in %s\n", rep.Benchmark, rep.Store, rep.Ops, rep.Workers, time.Duration(rep.Seconds*float64(time.Second)).Round(time.Millisecond))
	if rep.Prepared > 0 {
		fmt.Fprintf(&sb, "  prepared:   %d records (not measured)\n", rep.Prepared)
	}
	writeOpText(&sb, "", rep.opJSON)
	kinds := make([]string, 0, len(rep.ByOp))
	for k := range rep.ByOp {
		kinds = append(kinds, k)
	}
	sort.Strings(kinds)
	for _, k := range kinds {
		writeOpText(&sb, k, rep.ByOp[k])
	}
	status := "ok"
	if !rep.Check.OK {
		status = "FAILED"
	}
	if rep.Cache != nil {
		writeCacheText(&sb, rep.Cache)
	}
	fmt.Fprintf(&sb, "  check:      %s: %s\n", status, rep.Check.Detail)
	if rep.FirstError != "" {
		fmt.Fprintf(&sb, "  first error: %s\n", rep.FirstError)
	}
	what := "removed"
	if rep.Kept {
		what = "kept (--keep)"
	}
	fmt.Fprintf(&sb, "  records:    in namespace %s under %s, %s\n", rep.Namespace, rep.Prefix, what)
	fmt.Fprintf(&sb, "  stream:     grew by %d entries during the run (kv stream trim removes them)\n", rep.StreamGrowth)
	if _, err := io.WriteString(a.stdout, sb.String()); err != nil {
		return fmt.Errorf("write output: %w", err)
	}
	return nil
}

func writeOpText(sb *strings.Builder, kind string, o opJSON) {
	us := func(v int64) string { return (time.Duration(v) * time.Microsecond).String() }
	indent := "  "
	if kind != "" {
		fmt.Fprintf(sb, "  %s:\n", kind)
		indent = "    "
	}
	fmt.Fprintf(sb, "%sops:        %d done, %d failed\n", indent, o.Done, o.Failed)
	fmt.Fprintf(sb, "%sthroughput: %.1f ops/s\n", indent, o.OpsPerSec)
	if o.Done > 0 {
		fmt.Fprintf(sb, "%slatency:    p50 %s, p95 %s, p99 %s, max %s (mean %s)\n", indent,
			us(o.LatencyUS.P50), us(o.LatencyUS.P95), us(o.LatencyUS.P99), us(o.LatencyUS.Max),
			(time.Duration(o.LatencyUS.Mean*1000) * time.Nanosecond).Round(time.Microsecond))
	}
}

// errMissing: a get found no record where the benchmark wrote one.
var errMissing = errors.New("a prepared record is missing")
