package sqlitekv

// The SQLite backend's performance targets, each measured beside its baseline in the same
// run (ratios reported as metrics):
//
//   - puts: BenchmarkPut/writers=16/kv reports "x-batched100", its rate over
//     writers=16/batched-100 (the same statements through plain database/sql,
//     100 puts per transaction from one goroutine). Target: at least 0.40.
//     BenchmarkPutInterleaved measures the same ratio with the two sides
//     alternating in rounds, which resists a shared machine's drifting load.
//   - gets: BenchmarkGet/readers=4/kv reports "x-baseline", its rate over
//     readers=4/baseline (plain database/sql, 4 connections, the same
//     prepared SELECT). Target: at least 1.0; allocs/op are reported.
//     BenchmarkGetInterleaved measures the same ratio with the two sides
//     alternating in rounds.
//   - pages: BenchmarkPrefixPage reads 10-record pages of a prefix holding
//     200,000 keys. The cursor form at position 199,000 reports "x-first",
//     its cost over the first page's. Target: at most 2.
//
//	go test -run '^$' -bench 'Put/writers=16|PutInterleaved|Get/readers=4|GetInterleaved|PrefixPage' -benchtime 2s -count 3

import (
	"context"
	"database/sql"
	"fmt"
	"path/filepath"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/kvsuite/kv/kvcore"
)

// batchedPutter does puts through raw from one goroutine, per puts to a
// transaction, with the kv writer's statements prepared once (read the key,
// upsert, append to the stream).
type batchedPutter struct {
	raw   *sql.DB
	stmts [3]*sql.Stmt
	per   int
	now   int64
}

func newBatchedPutter(b *testing.B, raw *sql.DB, per int) *batchedPutter {
	b.Helper()
	p := &batchedPutter{raw: raw, per: per, now: time.Now().UnixMicro()}
	for i, id := range []int{sState, sUpsert, sStream} {
		s, err := raw.Prepare(writerSQL[id])
		if err != nil {
			b.Fatal(err)
		}
		b.Cleanup(func() { s.Close() })
		p.stmts[i] = s
	}
	return p
}

// puts writes keys k<from> to k<from+n-1>.
func (p *batchedPutter) puts(ctx context.Context, from, n int) error {
	value := string(benchValue)
	for i := from; i < from+n; {
		tx, err := p.raw.BeginTx(ctx, nil)
		if err != nil {
			return err
		}
		for end := min(i+p.per, from+n); i < end; i++ {
			if err := p.put(ctx, tx, fmt.Sprintf("k%09d", i), value); err != nil {
				_ = tx.Rollback()
				return err
			}
		}
		if err := tx.Commit(); err != nil {
			return err
		}
	}
	return nil
}

func (p *batchedPutter) put(ctx context.Context, tx *sql.Tx, key, value string) error {
	var version, created int64
	var typ string
	var exp sql.NullInt64
	action := "update"
	err := tx.StmtContext(ctx, p.stmts[0]).QueryRowContext(ctx, "", key).Scan(&version, &typ, &created, &exp)
	if err == sql.ErrNoRows {
		version, created, action = 0, p.now, "create"
	} else if err != nil {
		return err
	}
	version++
	if _, err := tx.StmtContext(ctx, p.stmts[1]).ExecContext(ctx, "", key, version, "", created, p.now, nil, value); err != nil {
		return err
	}
	_, err = tx.StmtContext(ctx, p.stmts[2]).ExecContext(ctx, "", key, action, version, "", value, p.now)
	return err
}

// runBatched does b.N puts with a batchedPutter (100 puts per transaction
// from one goroutine) and returns puts/s.
func runBatched(b *testing.B, raw *sql.DB, per int) float64 {
	b.Helper()
	p := newBatchedPutter(b, raw, per)
	b.ResetTimer()
	b.StartTimer()
	start := time.Now()
	if err := p.puts(context.Background(), 0, b.N); err != nil {
		b.Fatal(err)
	}
	elapsed := time.Since(start)
	b.StopTimer()
	rate := float64(b.N) / elapsed.Seconds()
	b.ReportMetric(rate, "ops/s")
	return rate
}

// BenchmarkPutInterleaved measures the put target with both sides under
// the same load: it alternates rounds of 1,600 puts, first batched 100 per
// transaction through plain database/sql (one goroutine), then through kv
// from 16 writers, each on its own database file, and reports both rates
// and "x-batched100" (kv over batched) from the summed times. b.N counts
// rounds. Sequential sub-benchmarks (BenchmarkPut) drift apart when the
// shared machine's load or disk latency changes between them; this does not.
func BenchmarkPutInterleaved(b *testing.B) {
	const round, writers = 1600, 16
	ctx := context.Background()
	path := filepath.Join(b.TempDir(), "base.db")
	db, _ := openBench(b, path) // creates the schema
	db.Close()
	raw := openBaseline(b, path, 1)
	defer raw.Close()
	p := newBatchedPutter(b, raw, 100)
	kdb, s := openBench(b, filepath.Join(b.TempDir(), "kv.db"))
	defer kdb.Close()
	var batched, kv time.Duration
	b.ResetTimer()
	for n := 0; n < b.N; n++ {
		start := time.Now()
		if err := p.puts(ctx, n*round, round); err != nil {
			b.Fatal(err)
		}
		batched += time.Since(start)
		start = time.Now()
		var next atomic.Int64
		var wg sync.WaitGroup
		var failed atomic.Int64
		for range writers {
			wg.Go(func() {
				for i := next.Add(1) - 1; i < round; i = next.Add(1) - 1 {
					if err := s.Put(ctx, fmt.Sprintf("k%09d", n*round+int(i)), -1, benchValue); err != nil {
						failed.Add(1)
					}
				}
			})
		}
		wg.Wait()
		kv += time.Since(start)
		if failed.Load() > 0 {
			b.Fatalf("%d kv puts failed", failed.Load())
		}
	}
	b.StopTimer()
	puts := float64(b.N * round)
	b.ReportMetric(puts/batched.Seconds(), "batched-ops/s")
	b.ReportMetric(puts/kv.Seconds(), "kv-ops/s")
	b.ReportMetric(batched.Seconds()/kv.Seconds(), "x-batched100")
	b.ReportMetric(float64(kdb.grouped.Load())/float64(max(kdb.groups.Load(), 1)), "reqs/commit")
}

// BenchmarkGetInterleaved measures the get target with both sides under the
// same load: it alternates rounds of 1,000 gets from 4 goroutines on one
// database file through plain database/sql (4 connections, the prepared
// SELECT, QueryRowContext and Scan) and through kv (4 readers), each side
// first every other round, and reports both rates and "x-baseline" (kv over
// plain) from the summed times; "x-baseline-cpu" is the same ratio from the
// process's CPU time (user and system), which a shared machine's load moves
// far less than the elapsed time. b.N counts round pairs.
func BenchmarkGetInterleaved(b *testing.B) {
	const round, readers = 1000, 4
	path := filepath.Join(b.TempDir(), "get.db")
	populate(b, path)
	raw := openBaseline(b, path, readers)
	defer raw.Close()
	db, s := openBench(b, path, WithReaders(readers))
	defer db.Close()
	sides := []func(i int) error{baselineGetter(b, raw), kvGetter(s)}
	var took, cpu [2]time.Duration
	cpuOK := true
	b.ResetTimer()
	for n := 0; n < b.N; n++ {
		for k := range sides {
			side := k ^ n&1 // ABBA: each side goes first every other round
			op := sides[side]
			cpu0, ok0 := processCPU()
			start := time.Now()
			var next, failed atomic.Int64
			var wg sync.WaitGroup
			for range readers {
				wg.Go(func() {
					for i := next.Add(1) - 1; i < round; i = next.Add(1) - 1 {
						if err := op(n*round + int(i)); err != nil {
							failed.Add(1)
						}
					}
				})
			}
			wg.Wait()
			took[side] += time.Since(start)
			cpu1, ok1 := processCPU()
			cpu[side] += cpu1 - cpu0
			cpuOK = cpuOK && ok0 && ok1
			if failed.Load() > 0 {
				b.Fatalf("%d gets failed (side %d)", failed.Load(), side)
			}
		}
	}
	b.StopTimer()
	gets := float64(b.N * round)
	b.ReportMetric(gets/took[0].Seconds(), "baseline-ops/s")
	b.ReportMetric(gets/took[1].Seconds(), "kv-ops/s")
	b.ReportMetric(took[0].Seconds()/took[1].Seconds(), "x-baseline")
	if cpuOK && cpu[1] > 0 {
		b.ReportMetric(cpu[0].Seconds()/cpu[1].Seconds(), "x-baseline-cpu")
	}
}

// Page benchmark data: pageKeys keys under pagePrefix, with pageNoise keys
// before and after it, loaded once per benchmark run.
const (
	pageKeys   = 200000
	pageNoise  = 10000
	pagePrefix = "p/"
	pageSize   = 10
	pageDeep   = 199000
)

func pageKey(i int) string { return fmt.Sprintf("%s%06d", pagePrefix, i) }

// loadPages creates a database at path holding the page benchmark's keys,
// written by one INSERT ... SELECT through a raw connection (no stream
// entries: only reads are measured).
func loadPages(b *testing.B, path string) {
	b.Helper()
	db, _ := openBench(b, path) // creates the schema
	db.Close()
	raw := openBaseline(b, path, 1)
	defer raw.Close()
	const load = `WITH RECURSIVE n(i) AS (SELECT 0 UNION ALL SELECT i + 1 FROM n WHERE i + 1 < ?)
INSERT INTO records (namespace, key, version, type, created, updated, expires, value)
SELECT '', printf(?, i), 1, '', ?, ?, NULL, ? FROM n`
	now := time.Now().UnixMicro()
	for _, part := range []struct {
		format string
		n      int
	}{{"a/%06d", pageNoise}, {pagePrefix + "%06d", pageKeys}, {"q/%06d", pageNoise}} {
		if _, err := raw.Exec(load, part.n, part.format, now, now, string(benchValue)); err != nil {
			b.Fatal(err)
		}
	}
	var n int
	if err := raw.QueryRow("SELECT count(*) FROM records WHERE namespace = '' AND key >= ? AND key < ?", pagePrefix, "p0").Scan(&n); err != nil || n != pageKeys {
		b.Fatalf("loaded %d keys under %q (err %v), want %d", n, pagePrefix, err, pageKeys)
	}
}

// BenchmarkPrefixPage times reading one 10-record page of a 200,000-key
// prefix: with the cursor form (AllPrefix with StartAfter, answered by an
// index seek) at the start and at position 199,000, and with the offset
// form (GetPrefix with an offset, which SQLite must step through) at the
// same places. Each later case reports "x-first": its time per page over
// the cursor form's first page.
func BenchmarkPrefixPage(b *testing.B) {
	ctx := context.Background()
	path := filepath.Join(b.TempDir(), "pages.db")
	loadPages(b, path) // the parent runs once: its sub-benchmarks share the load
	db, s := openBench(b, path)
	defer db.Close()

	cursor := func(after string) func() ([]string, error) {
		var opts []kvcore.IterOption
		opts = append(opts, kvcore.PageSize(pageSize))
		if after != "" {
			opts = append(opts, kvcore.StartAfter(after))
		}
		return func() ([]string, error) {
			keys := make([]string, 0, pageSize)
			for r, err := range s.AllPrefix(ctx, pagePrefix, opts...) {
				if err != nil {
					return nil, err
				}
				keys = append(keys, r.Key)
				if len(keys) == pageSize {
					break
				}
			}
			return keys, nil
		}
	}
	offset := func(n int) func() ([]string, error) {
		return func() ([]string, error) {
			rs, err := s.GetPrefix(ctx, pagePrefix, n, pageSize)
			keys := make([]string, len(rs))
			for i, r := range rs {
				keys[i] = r.Key
			}
			return keys, err
		}
	}
	cases := []struct {
		name  string
		first int // the page's first position
		read  func() ([]string, error)
	}{
		{"cursor/first", 0, cursor("")},
		{fmt.Sprintf("cursor/at=%d", pageDeep), pageDeep, cursor(pageKey(pageDeep - 1))},
		{"offset/first", 0, offset(0)},
		{fmt.Sprintf("offset/at=%d", pageDeep), pageDeep, offset(pageDeep)},
	}
	for _, c := range cases {
		b.Run(c.name, func(b *testing.B) {
			b.ReportAllocs()
			keys, err := c.read() // check the page once, untimed
			if err != nil || len(keys) != pageSize || keys[0] != pageKey(c.first) || keys[pageSize-1] != pageKey(c.first+pageSize-1) {
				b.Fatalf("page at %d: %v %v", c.first, keys, err)
			}
			b.ResetTimer()
			start := time.Now()
			for i := 0; i < b.N; i++ {
				if _, err := c.read(); err != nil {
					b.Fatal(err)
				}
			}
			perPage := float64(time.Since(start).Nanoseconds()) / float64(b.N)
			b.StopTimer()
			if c.name == "cursor/first" {
				baselines.Store("page/first", perPage)
				return
			}
			if first, ok := baselines.Load("page/first"); ok && first.(float64) > 0 {
				b.ReportMetric(perPage/first.(float64), "x-first")
			}
		})
	}
}
