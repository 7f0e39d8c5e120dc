package main

import (
	"context"
	"encoding/json"
	"fmt"
	"strings"
	"testing"

	"github.com/kvsuite/kv/kvcore"
)

// benchJSON runs a benchmark with --json and parses its report strictly.
func benchJSON(t *testing.T, code int, args ...string) benchReport {
	t.Helper()
	r := kv(t, "", append(args, "--json")...)
	if r.code != code {
		t.Fatalf("kv %q: exit %d, want %d; stderr %s", args, r.code, code, r.stderr)
	}
	if strings.Count(r.stdout, "\n") != 1 {
		t.Fatalf("kv %q printed %q, want one JSON line", args, r.stdout)
	}
	var fields map[string]json.RawMessage
	if err := json.Unmarshal([]byte(r.stdout), &fields); err != nil {
		t.Fatal(err)
	}
	for _, f := range []string{"benchmark", "store", "prefix", "prepared", "workers", "ops", "done", "failed", "ops_per_sec", "latency_us", "seconds", "check", "kept", "namespace", "stream_growth"} {
		if _, ok := fields[f]; !ok {
			t.Errorf("report has no %q: %s", f, r.stdout)
		}
	}
	var lat map[string]json.RawMessage
	if err := json.Unmarshal(fields["latency_us"], &lat); err != nil || len(lat) != 5 || lat["p50"] == nil || lat["p95"] == nil || lat["p99"] == nil || lat["max"] == nil || lat["mean"] == nil {
		t.Errorf("latency_us = %s", fields["latency_us"])
	}
	var rep benchReport
	dec := json.NewDecoder(strings.NewReader(r.stdout))
	dec.DisallowUnknownFields()
	if err := dec.Decode(&rep); err != nil {
		t.Fatal(err)
	}
	if code == 0 && r.stderr != "" {
		t.Errorf("stderr %q", r.stderr) // no progress line: stderr is not a terminal
	}
	return rep
}

// checkRun checks the counts and the shape of a successful run's report.
func checkRun(t *testing.T, rep benchReport, name string, ops, workers int) {
	t.Helper()
	if rep.Benchmark != name || rep.Store != "sqlite" || rep.Ops != ops || rep.Done != ops || rep.Failed != 0 || rep.Workers != workers || !rep.Check.OK || rep.FirstError != "" {
		t.Errorf("report = %+v", rep)
	}
	if !strings.HasPrefix(rep.Prefix, "bench/") || !strings.HasSuffix(rep.Prefix, "/") {
		t.Errorf("prefix %q", rep.Prefix)
	}
	l := rep.LatencyUS
	if rep.Seconds <= 0 || rep.OpsPerSec <= 0 || l.P50 < 1 || l.P50 > l.P95 || l.P95 > l.P99 || l.P99 > l.Max || l.Mean <= 0 {
		t.Errorf("timings = %+v seconds %v ops/s %v", l, rep.Seconds, rep.OpsPerSec)
	}
	if got := float64(rep.Done) / rep.Seconds; got < rep.OpsPerSec*0.99 || got > rep.OpsPerSec*1.01 {
		t.Errorf("ops_per_sec %v, but done/seconds = %v", rep.OpsPerSec, got)
	}
}

func TestBenchmark(t *testing.T) {
	conn, _ := newDB(t)
	mustKV(t, `{"mine": true}`, "put", "user/alice", conn)
	leftNothing := func() {
		t.Helper()
		runSteps(t, conn, []step{
			{name: "only the user's key is left", args: []string{"list"}, keys: strp("user/alice")},
			{name: "nothing is left in the benchmarks' namespace", args: []string{"list", "--namespace=kvbench"}, wantOut: true, stdout: ""},
		})
	}

	rep := benchJSON(t, 0, "benchmark", "put", "25", "3", conn)
	checkRun(t, rep, "put", 25, 3)
	if rep.Check.Want != 25 || rep.Check.Got != 25 || rep.Prepared != 0 || rep.Kept {
		t.Errorf("put check = %+v", rep)
	}
	leftNothing()

	rep = benchJSON(t, 0, "benchmark", "get", "10", "40", "4", conn)
	checkRun(t, rep, "get", 40, 4)
	if rep.Prepared != 10 || rep.Check.Got != 40 {
		t.Errorf("get = %+v", rep)
	}
	leftNothing()

	rep = benchJSON(t, 0, "benchmark", "patch", "30", "3", conn)
	checkRun(t, rep, "patch", 30, 3)
	if rep.Prepared != 30 || rep.Check.Got != 30 || rep.Check.Want != 30 {
		t.Errorf("patch = %+v", rep)
	}
	leftNothing()

	rep = benchJSON(t, 0, "benchmark", "mixed", "10", "60", "2", conn)
	checkRun(t, rep, "mixed", 60, 2)
	sum := 0
	for k, o := range rep.ByOp {
		if k != "get" && k != "put" && k != "patch" || o.Failed != 0 || o.Done != o.Ops {
			t.Errorf("by_op[%q] = %+v", k, o)
		}
		sum += o.Done
	}
	if sum != 60 || len(rep.ByOp) < 2 {
		t.Errorf("by_op = %+v", rep.ByOp)
	}
	leftNothing()

	// Defaults for the arguments: one worker.
	if rep := benchJSON(t, 0, "benchmark", "patch", "5", conn); rep.Workers != 1 || rep.Done != 5 {
		t.Errorf("patch 5 = %+v", rep)
	}

	// --keep leaves the records under the run's prefix.
	rep = benchJSON(t, 0, "benchmark", "put", "7", "--keep", conn)
	if !rep.Kept {
		t.Error("kept = false")
	}
	runSteps(t, conn, []step{{name: "kept", args: []string{"count", "prefix", rep.Prefix, "--namespace=kvbench"}, wantOut: true, stdout: "7\n"}})
	mustKV(t, "", "delete", "prefix", rep.Prefix, "--namespace=kvbench", conn)

	// The human report.
	out := mustKV(t, "", "benchmark", "get", "5", "20", "2", conn)
	for _, want := range []string{"benchmark get (sqlite): 20 ops by 2 worker(s)", "prepared:   5 records", "ops:        20 done, 0 failed", "ops/s", "latency:    p50 ", ", p95 ", ", p99 ", ", max ", "check:      ok: 20 of 20 gets found their record", "removed"} {
		if !strings.Contains(out, want) {
			t.Errorf("text report has no %q:\n%s", want, out)
		}
	}
	leftNothing()
}

// TestBenchmarkPutCheck: the put benchmark checks the store itself and
// reports a mismatch as a failure.
func TestBenchmarkPutCheck(t *testing.T) {
	conn, _ := newDB(t)
	t.Cleanup(func() { benchPutHook = nil })

	// Someone else adds a record during the run.
	intruders := 0
	benchPutHook = func(ctx context.Context, st *kvcore.Store) {
		intruders++
		if err := st.Put(ctx, fmt.Sprintf("intruder%d", intruders), 0, 1); err != nil {
			t.Error(err)
		}
	}
	rep := benchJSON(t, 1, "benchmark", "put", "10", conn)
	if rep.Check.OK || rep.Check.Want != 10 || rep.Check.Got != 11 || rep.Done != 10 || rep.Failed != 0 {
		t.Errorf("report = %+v", rep.Check)
	}
	r := kv(t, "", "benchmark", "put", "10", conn)
	if r.code != 1 || !strings.Contains(r.stderr, "kv: benchmark put: check failed: the namespace holds 11 records more than before (want 10)") || !strings.Contains(r.stdout, "check:      FAILED") {
		t.Errorf("exit %d stderr %q stdout %q", r.code, r.stderr, r.stdout)
	}

	// A record it wrote went missing.
	benchPutHook = func(ctx context.Context, st *kvcore.Store) {
		for rec, err := range st.AllPrefix(ctx, "bench/") {
			if err != nil {
				t.Error(err)
				return
			}
			if _, err := st.Delete(ctx, rec.Key); err != nil {
				t.Error(err)
			}
			return
		}
	}
	rep = benchJSON(t, 1, "benchmark", "put", "10", "2", conn)
	if rep.Check.OK || rep.Check.Got != 9 || !strings.Contains(rep.Check.Detail, "9 of them under the run's prefix") {
		t.Errorf("report = %+v", rep.Check)
	}
	runSteps(t, conn, []step{{name: "cleaned up", args: []string{"count", "prefix", "bench/", "--namespace=kvbench"}, wantOut: true, stdout: "0\n"}})
}

// TestBenchmarkFailedOps: failed operations are counted, never as done, and
// fail the command.
func TestBenchmarkFailedOps(t *testing.T) {
	_, path := newDB(t)
	mustKV(t, "", "init", "--connection=file:"+path+"?mode=rwc")
	ro := "--connection=file:" + path + "?mode=ro"
	r := kv(t, "", "benchmark", "put", "6", "2", "--json", ro)
	if r.code != 1 || !strings.Contains(r.stderr, "kv: benchmark put: 6 of 6 operations failed (first: ") {
		t.Fatalf("exit %d stderr %q", r.code, r.stderr)
	}
	var rep benchReport
	if err := json.Unmarshal([]byte(r.stdout), &rep); err != nil {
		t.Fatalf("%v: %q", err, r.stdout)
	}
	if rep.Ops != 6 || rep.Done != 0 || rep.Failed != 6 || rep.OpsPerSec != 0 || rep.LatencyUS.P50 != 0 || rep.FirstError == "" || rep.Check.OK {
		t.Errorf("report = %+v", rep)
	}
	if strings.Contains(rep.FirstError, path) && strings.Contains(rep.FirstError, "mode=ro") {
		t.Errorf("first error shows the connection: %q", rep.FirstError)
	}
}

func TestBenchmarkBadInput(t *testing.T) {
	conn, path := newDB(t)
	runSteps(t, conn, []step{
		{name: "zero", args: []string{"benchmark", "put", "0"}, code: 2, stderr: "<n> 0: want 1 or more"},
		{name: "negative", args: []string{"benchmark", "get", "10", "-5"}, code: 2, stderr: "<n> -5: want 1 or more"},
		{name: "not a number", args: []string{"benchmark", "patch", "ten"}, code: 2, stderr: `<n> "ten" is not a whole number`},
		{name: "too many workers", args: []string{"benchmark", "mixed", "1", "1", "5000"}, code: 2, stderr: "at most 1024 workers"},
		{name: "too many args", args: []string{"benchmark", "put", "1", "2", "3"}, code: 2, stderr: "got 3 argument(s)"},
	})
	if fileExists(path) {
		t.Error("a usage error created the database")
	}
}

// TestBenchmarkGetCache: benchmark get --cache reads through a kvcache and
// reports its hits and its follower.
func TestBenchmarkGetCache(t *testing.T) {
	conn, _ := newDB(t)
	rep := benchJSON(t, 0, "benchmark", "get", "20", "200", "4", "--cache", conn)
	checkRun(t, rep, "get", 200, 4)
	c := rep.Cache
	if c == nil || c.Mode != "bounded" || c.StalenessMS != 1000 || c.Hits != 200 || c.Misses != 0 || c.HitRate != 1 || c.Position < 20 || c.LagMS < 0 {
		t.Fatalf("cache report = %+v: want 200 hits of a warmed bounded cache", c)
	}
	rep = benchJSON(t, 0, "benchmark", "get", "20", "50", "2", "--cache", "--cache-fresh", conn)
	if c := rep.Cache; c == nil || c.Mode != "fresh" || c.StalenessMS != 0 || c.Hits != 50 {
		t.Fatalf("fresh cache report = %+v", c)
	}
	rep = benchJSON(t, 0, "benchmark", "get", "5", "10", "--cache", "--cache-staleness", "250ms", conn)
	if c := rep.Cache; c == nil || c.StalenessMS != 250 {
		t.Fatalf("cache report with a staleness of 250ms = %+v", c)
	}
	if rep := benchJSON(t, 0, "benchmark", "get", "5", "10", conn); rep.Cache != nil {
		t.Fatalf("a run without --cache reported a cache: %+v", rep.Cache)
	}
	out := mustKV(t, "", "benchmark", "get", "5", "20", "2", "--cache", conn)
	if !strings.Contains(out, "cache:      bounded (1s): hit rate 1.0000 (20 hits, 0 misses, 0 bypassed); follower at position ") {
		t.Errorf("text report has no cache line:\n%s", out)
	}
	runSteps(t, conn, []step{
		{name: "fresh without cache", args: []string{"benchmark", "get", "--cache-fresh"}, code: 2, stderr: "--cache-fresh and --cache-staleness need --cache"},
		{name: "staleness without cache", args: []string{"benchmark", "get", "--cache-staleness", "1s"}, code: 2, stderr: "need --cache"},
		{name: "fresh and staleness", args: []string{"benchmark", "get", "--cache", "--cache-fresh", "--cache-staleness", "1s"}, code: 2, stderr: "exclude each other"},
		{name: "negative staleness", args: []string{"benchmark", "get", "--cache", "--cache-staleness", "-1s"}, code: 2, stderr: "--cache-staleness -1s: want a positive duration"},
	})
}

// TestBenchmarkOwnNamespace: a benchmark writes in the namespace kvbench
// only, whatever --namespace says, reports how much the change stream grew,
// and warns beforehand when consumers will read its writes there.
func TestBenchmarkOwnNamespace(t *testing.T) {
	conn, _ := newDB(t)
	mustKV(t, `{"mine": true}`, "put", "bench/x", "--namespace=app", conn)
	seq := func() int64 {
		var n int64
		if err := json.Unmarshal([]byte(mustKV(t, "", "stream", "seq", conn)), &n); err != nil {
			t.Fatal(err)
		}
		return n
	}
	before := seq()
	rep := benchJSON(t, 0, "benchmark", "put", "5", "--namespace=app", "--keep", conn)
	if rep.Namespace != "kvbench" || rep.StreamGrowth != 5 || seq()-before != 5 {
		t.Errorf("report: namespace %q, stream_growth %d; the stream grew by %d", rep.Namespace, rep.StreamGrowth, seq()-before)
	}
	runSteps(t, conn, []step{
		{name: "the user's namespace is untouched", args: []string{"list", "--namespace=app"}, keys: strp("bench/x")},
		{name: "the benchmark's records", args: []string{"count", "prefix", rep.Prefix, "--namespace=kvbench"}, wantOut: true, stdout: "5\n"},
	})
	// Removing its records is counted in the stream's growth too.
	rep = benchJSON(t, 0, "benchmark", "put", "4", conn)
	if rep.StreamGrowth != 8 {
		t.Errorf("stream_growth %d, want 8 (4 puts and their 4 deletes)", rep.StreamGrowth)
	}
	mustKV(t, "", "consumer", "commit", "mailer", "0", conn)
	r := kv(t, "", "benchmark", "put", "3", conn)
	if r.code != 0 || !strings.Contains(r.stderr, `kv: benchmark put: warning: the store has 1 consumer(s) ("mailer"): the change stream records every write of this benchmark (namespace "kvbench")`) {
		t.Errorf("with a consumer: exit %d, stderr %q", r.code, r.stderr)
	}
	for _, want := range []string{"records:    in namespace kvbench under bench/", "stream:     grew by 6 entries during the run"} {
		if !strings.Contains(r.stdout, want) {
			t.Errorf("text report has no %q:\n%s", want, r.stdout)
		}
	}
}
