package sqlitekv

// Benchmarks of the kv path (kvcore.Store over this backend) beside a
// baseline measured in the same run: the same SQL statements through plain
// database/sql with the same pragmas (WAL, synchronous=FULL, busy timeout).
//
// Each kv sub-benchmark runs after its baseline and reports "x-baseline":
// its ops/s divided by the baseline's. Failed operations are reported as
// "failed" (kv must have none).
//
//	go test -run '^$' -bench . -benchtime 2000x
//
// bench_targets_test.go holds the backend's performance targets (see its comment).

import (
	"context"
	"database/sql"
	"encoding/json"
	"errors"
	"fmt"
	"path/filepath"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	jsonpatch "github.com/evanphx/json-patch/v5"

	"github.com/kvsuite/kv/kvcore"
)

// benchValue is a ~100 byte JSON document.
var benchValue = json.RawMessage(`{"name":"benchmark record","n":123456,"tags":["a","b","c"],"payload":"` + strings.Repeat("x", 40) + `"}`)

// baselines holds the last baseline rate per benchmark, for the ratio.
var baselines sync.Map

// runParallel runs op(i) for i in [0, b.N) on workers goroutines and
// reports ops/s (successful operations only) and failed operations.
func runParallel(b *testing.B, workers int, op func(i int) error) float64 {
	b.Helper()
	var next, failed atomic.Int64
	var firstErr atomic.Value
	var wg sync.WaitGroup
	b.ResetTimer()
	b.StartTimer()
	start := time.Now()
	for w := 0; w < workers; w++ {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for {
				i := next.Add(1) - 1
				if i >= int64(b.N) {
					return
				}
				if err := op(int(i)); err != nil {
					failed.Add(1)
					firstErr.CompareAndSwap(nil, err.Error())
				}
			}
		}()
	}
	wg.Wait()
	elapsed := time.Since(start)
	b.StopTimer()
	ok := float64(int64(b.N) - failed.Load())
	rate := ok / elapsed.Seconds()
	b.ReportMetric(rate, "ops/s")
	b.ReportMetric(float64(failed.Load()), "failed")
	if e := firstErr.Load(); e != nil {
		b.Logf("%d of %d failed; first: %s", failed.Load(), b.N, e)
	}
	return rate
}

func reportRatio(b *testing.B, key string, rate float64) {
	reportRatioAs(b, key, "x-baseline", rate)
}

// reportRatioAs reports rate divided by the baseline stored under key as
// the metric unit.
func reportRatioAs(b *testing.B, key, unit string, rate float64) {
	if base, ok := baselines.Load(key); ok && base.(float64) > 0 {
		b.ReportMetric(rate/base.(float64), unit)
	}
}

// openBaseline opens a plain database/sql pool of conns connections with
// the pragmas the kv writer uses, and BEGIN IMMEDIATE so that contending
// writers wait (up to the busy timeout) instead of failing at once on a
// lock upgrade, as they do with the default deferred BEGIN.
func openBaseline(b *testing.B, path string, conns int) *sql.DB {
	b.Helper()
	raw, err := sql.Open("sqlite", "file:"+path+"?_busy_timeout=5000&_journal_mode=WAL&_synchronous=FULL&_txlock=immediate")
	if err != nil {
		b.Fatal(err)
	}
	setPool(raw, conns)
	if err := raw.Ping(); err != nil {
		b.Fatal(err)
	}
	return raw
}

func openBench(b *testing.B, path string, opts ...Option) (*DB, *kvcore.Store) {
	b.Helper()
	db, err := Open(path, opts...)
	if err != nil {
		b.Fatal(err)
	}
	if err := db.Init(context.Background()); err != nil {
		b.Fatal(err)
	}
	s, err := db.Store(kvcore.WithSweepInterval(0))
	if err != nil {
		b.Fatal(err)
	}
	return db, s
}

// baselinePut is one put as a plain program does it: one transaction with
// the writer's statements (read the key, upsert, append to the stream).
func baselinePut(ctx context.Context, raw *sql.DB, key string, value []byte, now int64) error {
	tx, err := raw.BeginTx(ctx, nil)
	if err != nil {
		return err
	}
	defer tx.Rollback()
	var version, created int64
	var typ string
	var exp sql.NullInt64
	action := "update"
	err = tx.QueryRowContext(ctx, writerSQL[sState], "", key).Scan(&version, &typ, &created, &exp)
	if errors.Is(err, sql.ErrNoRows) {
		version, created, action = 0, now, "create"
	} else if err != nil {
		return err
	}
	version++
	if _, err := tx.ExecContext(ctx, writerSQL[sUpsert], "", key, version, "", created, now, nil, string(value)); err != nil {
		return err
	}
	if _, err := tx.ExecContext(ctx, writerSQL[sStream], "", key, action, version, "", string(value), now); err != nil {
		return err
	}
	return tx.Commit()
}

func BenchmarkPut(b *testing.B) {
	ctx := context.Background()
	for _, writers := range []int{1, 4, 16} {
		key := fmt.Sprintf("put/%d", writers)
		b.Run(fmt.Sprintf("writers=%d/baseline", writers), func(b *testing.B) {
			b.StopTimer()
			path := filepath.Join(b.TempDir(), "base.db")
			db, _ := openBench(b, path) // creates the schema
			db.Close()
			raw := openBaseline(b, path, writers)
			defer raw.Close()
			now := time.Now().UnixMicro()
			rate := runParallel(b, writers, func(i int) error {
				return baselinePut(ctx, raw, fmt.Sprintf("k%09d", i), benchValue, now)
			})
			baselines.Store(key, rate)
		})
		if writers == 16 {
			// The target: kv with 16 writers reaches at least 40% of
			// this rate ("x-batched100" on writers=16/kv).
			b.Run("writers=16/batched-100", func(b *testing.B) {
				b.StopTimer()
				path := filepath.Join(b.TempDir(), "base.db")
				db, _ := openBench(b, path) // creates the schema
				db.Close()
				raw := openBaseline(b, path, 1)
				defer raw.Close()
				baselines.Store("put/batched-100", runBatched(b, raw, 100))
			})
		}
		b.Run(fmt.Sprintf("writers=%d/kv", writers), func(b *testing.B) {
			b.StopTimer()
			db, s := openBench(b, filepath.Join(b.TempDir(), "kv.db"))
			defer db.Close()
			rate := runParallel(b, writers, func(i int) error {
				return s.Put(ctx, fmt.Sprintf("k%09d", i), -1, benchValue)
			})
			reportRatio(b, key, rate)
			b.ReportMetric(float64(db.grouped.Load())/float64(max(db.groups.Load(), 1)), "reqs/commit")
			if writers == 16 {
				reportRatioAs(b, "put/batched-100", "x-batched100", rate)
			}
		})
		if writers == 16 {
			// The same at synchronous=NORMAL: no fsync per commit, so the
			// writer's own cost per put bounds the rate.
			b.Run("writers=16/kv-normal", func(b *testing.B) {
				b.StopTimer()
				db, s := openBench(b, filepath.Join(b.TempDir(), "kv.db"), WithSynchronous(Normal))
				defer db.Close()
				runParallel(b, writers, func(i int) error {
					return s.Put(ctx, fmt.Sprintf("k%09d", i), -1, benchValue)
				})
				b.ReportMetric(float64(db.grouped.Load())/float64(max(db.groups.Load(), 1)), "reqs/commit")
			})
		}
	}
}

const benchKeys = 10000

// populate writes benchKeys records to a fresh database at path.
func populate(b *testing.B, path string) {
	b.Helper()
	db, s := openBench(b, path)
	defer db.Close()
	ms := make([]kvcore.Mutation, benchKeys)
	for i := range ms {
		ms[i] = kvcore.Put(fmt.Sprintf("k%09d", i), -1, benchValue)
	}
	if _, err := s.MutateAll(context.Background(), ms...); err != nil {
		b.Fatal(err)
	}
}

// getKey is the key the i-th get reads: spread over the populated keys.
func getKey(i int) string { return fmt.Sprintf("k%09d", (i*7919)%benchKeys) }

// baselineGetter returns a get as a plain program does it: the kv reader's
// single-key SELECT, prepared once on raw, through QueryRowContext and Scan.
func baselineGetter(b *testing.B, raw *sql.DB) func(i int) error {
	b.Helper()
	stmt, err := raw.Prepare(qOneKey)
	if err != nil {
		b.Fatal(err)
	}
	b.Cleanup(func() { stmt.Close() })
	now := time.Now().UnixMicro()
	return func(i int) error {
		var k, typ string
		var version, created, updated int64
		var exp sql.NullInt64
		var value []byte
		return stmt.QueryRowContext(context.Background(), "", getKey(i), now).
			Scan(&k, &version, &typ, &created, &updated, &exp, &value)
	}
}

// kvGetter returns a get through s, failing if the key is missing.
func kvGetter(s *kvcore.Store) func(i int) error {
	return func(i int) error {
		_, ok, err := s.Get(context.Background(), getKey(i), nil)
		if err == nil && !ok {
			err = errors.New("missing")
		}
		return err
	}
}

func BenchmarkGet(b *testing.B) {
	path := filepath.Join(b.TempDir(), "get.db")
	populate(b, path)
	for _, readers := range []int{1, 4} {
		key := fmt.Sprintf("get/%d", readers)
		b.Run(fmt.Sprintf("readers=%d/baseline", readers), func(b *testing.B) {
			b.StopTimer()
			b.ReportAllocs()
			raw := openBaseline(b, path, readers)
			defer raw.Close()
			baselines.Store(key, runParallel(b, readers, baselineGetter(b, raw)))
		})
		b.Run(fmt.Sprintf("readers=%d/kv", readers), func(b *testing.B) {
			b.StopTimer()
			b.ReportAllocs()
			db, s := openBench(b, path, WithReaders(readers))
			defer db.Close()
			reportRatio(b, key, runParallel(b, readers, kvGetter(s)))
		})
	}
}

func BenchmarkPatch(b *testing.B) {
	ctx := context.Background()
	for _, writers := range []int{1, 16} {
		key := fmt.Sprintf("patch/%d", writers)
		// Each operation patches one of benchKeys existing records: rarely
		// the same one at the same time.
		b.Run(fmt.Sprintf("writers=%d/baseline", writers), func(b *testing.B) {
			b.StopTimer()
			path := filepath.Join(b.TempDir(), "base.db")
			populate(b, path)
			raw := openBaseline(b, path, writers)
			defer raw.Close()
			now := time.Now().UnixMicro()
			rate := runParallel(b, writers, func(i int) error {
				return baselinePatch(ctx, raw, fmt.Sprintf("k%09d", (i*7919)%benchKeys), []byte(fmt.Sprintf(`{"n":%d}`, i)), now)
			})
			baselines.Store(key, rate)
		})
		b.Run(fmt.Sprintf("writers=%d/kv", writers), func(b *testing.B) {
			b.StopTimer()
			path := filepath.Join(b.TempDir(), "kv.db")
			populate(b, path)
			db, s := openBench(b, path)
			defer db.Close()
			rate := runParallel(b, writers, func(i int) error {
				return s.Patch(ctx, fmt.Sprintf("k%09d", (i*7919)%benchKeys), -1, json.RawMessage(fmt.Sprintf(`{"n":%d}`, i)))
			})
			reportRatio(b, key, rate)
		})
	}
}

// baselinePatch reads, merges and writes back in one transaction.
func baselinePatch(ctx context.Context, raw *sql.DB, key string, patch []byte, now int64) error {
	tx, err := raw.BeginTx(ctx, nil)
	if err != nil {
		return err
	}
	defer tx.Rollback()
	var version, created int64
	var typ string
	var value []byte
	if err := tx.QueryRowContext(ctx, "SELECT version, type, created, value FROM records WHERE namespace = ? AND key = ?", "", key).
		Scan(&version, &typ, &created, &value); err != nil {
		return err
	}
	merged, err := jsonpatch.MergePatch(value, patch)
	if err != nil {
		return err
	}
	version++
	if _, err := tx.ExecContext(ctx, writerSQL[sUpsert], "", key, version, typ, created, now, nil, string(merged)); err != nil {
		return err
	}
	if _, err := tx.ExecContext(ctx, writerSQL[sStream], "", key, "update", version, typ, string(merged), now); err != nil {
		return err
	}
	return tx.Commit()
}
