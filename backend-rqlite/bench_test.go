package rqlitekv

import (
	"context"
	"fmt"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/rqlite/gorqlite"

	"github.com/kvsuite/kv/kvcore"
	"github.com/kvsuite/kv/kvcore/driver"
	"github.com/kvsuite/kv/kvlock"
	streamdriver "github.com/kvsuite/kv/kvstream/driver"
	taskdriver "github.com/kvsuite/kv/kvtask/driver"
)

// The benchmarks measure kvcore.Store over this driver beside raw gorqlite
// calls doing the nearest equivalent (one upsert; one indexed select) on
// the same server in the same run, so their ratio is the cost of kv's
// semantics (version checks, the stream entry, expiry) and of the front.
//
//	go test -run '^$' -bench . -benchtime 2s
//
// The server is the one the tests chose (see TestMain): compare ratios,
// not absolute numbers, across servers.

// runWorkers splits b.N operations over w goroutines.
func runWorkers(b *testing.B, w int, op func(i int) error) {
	b.Helper()
	var next atomic.Int64
	var failed atomic.Int64
	var wg sync.WaitGroup
	b.ResetTimer()
	for g := 0; g < w; g++ {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for {
				i := int(next.Add(1)) - 1
				if i >= b.N {
					return
				}
				if err := op(i); err != nil {
					failed.Add(1)
				}
			}
		}()
	}
	wg.Wait()
	b.StopTimer()
	if n := failed.Load(); n > 0 {
		b.Fatalf("%d of %d operations failed", n, b.N)
	}
}

func benchStore(b *testing.B) (*kvcore.Store, *DB) {
	db := openEmpty(b)
	s, err := db.Store(kvcore.WithSweepInterval(0))
	if err != nil {
		b.Fatal(err)
	}
	b.Cleanup(func() { s.Close() })
	rawSetup(b, db)
	return s, db
}

// rawSetup creates the raw benchmarks' table.
func rawSetup(b *testing.B, db *DB) {
	if _, err := db.conn.WriteOne("CREATE TABLE IF NOT EXISTS raw_kv (k TEXT PRIMARY KEY, v TEXT NOT NULL)"); err != nil {
		b.Fatal(err)
	}
}

func rawPut(db *DB, key, val string) error {
	_, err := db.conn.WriteOneParameterizedContext(context.Background(), gorqlite.ParameterizedStatement{
		Query:     "INSERT INTO raw_kv (k, v) VALUES (?, ?) ON CONFLICT (k) DO UPDATE SET v = excluded.v",
		Arguments: []any{key, val},
	})
	return err
}

func rawGet(db *DB, key string) error {
	qr, err := db.conn.QueryOneParameterizedContext(context.Background(), gorqlite.ParameterizedStatement{
		Query: "SELECT v FROM raw_kv WHERE k = ?", Arguments: []any{key},
	})
	if err != nil {
		return err
	}
	if !qr.Next() {
		return fmt.Errorf("no row for %q", key)
	}
	return nil
}

const benchValue = `{"name":"Alice","age":30,"tags":["a","b","c"]}`

func BenchmarkPut(b *testing.B) {
	b.Logf("server: %s", serverKind)
	for _, w := range []int{1, 4, 16} {
		b.Run(fmt.Sprintf("kv/writers=%d", w), func(b *testing.B) {
			s, _ := benchStore(b)
			ctx := context.Background()
			runWorkers(b, w, func(i int) error {
				return s.Put(ctx, fmt.Sprintf("key/%d", i%1000), -1, []byte(benchValue))
			})
		})
		b.Run(fmt.Sprintf("kv-alone/writers=%d", w), func(b *testing.B) {
			// Each Put its own request, as before group commit.
			s, db := benchStore(b)
			db.sendAlone = true
			ctx := context.Background()
			runWorkers(b, w, func(i int) error {
				return s.Put(ctx, fmt.Sprintf("key/%d", i%1000), -1, []byte(benchValue))
			})
		})
		b.Run(fmt.Sprintf("raw/writers=%d", w), func(b *testing.B) {
			_, db := benchStore(b)
			runWorkers(b, w, func(i int) error {
				return rawPut(db, fmt.Sprintf("key/%d", i%1000), benchValue)
			})
		})
	}
}

func BenchmarkGet(b *testing.B) {
	for _, w := range []int{1, 4} {
		b.Run(fmt.Sprintf("kv/readers=%d", w), func(b *testing.B) {
			s, _ := benchStore(b)
			ctx := context.Background()
			var ms []kvcore.Mutation
			for i := 0; i < 100; i++ {
				ms = append(ms, kvcore.Put(fmt.Sprintf("key/%d", i), -1, []byte(benchValue)))
			}
			if _, err := s.MutateAll(ctx, ms...); err != nil {
				b.Fatal(err)
			}
			runWorkers(b, w, func(i int) error {
				_, ok, err := s.Get(ctx, fmt.Sprintf("key/%d", i%100), nil)
				if err == nil && !ok {
					err = fmt.Errorf("missing")
				}
				return err
			})
		})
		b.Run(fmt.Sprintf("raw/readers=%d", w), func(b *testing.B) {
			_, db := benchStore(b)
			for i := 0; i < 100; i++ {
				if err := rawPut(db, fmt.Sprintf("key/%d", i), benchValue); err != nil {
					b.Fatal(err)
				}
			}
			runWorkers(b, w, func(i int) error { return rawGet(db, fmt.Sprintf("key/%d", i%100)) })
		})
	}
}

// BenchmarkLease measures kvlock on this driver: Acquire (an extension by
// the holder: the conditional upsert and the read of the row, one request)
// and a fenced consumer Commit (the fence guard and the update, one
// request). Compare with raw/writers=1 of BenchmarkPut (one bare upsert).
func BenchmarkLease(b *testing.B) {
	b.Run("acquire", func(b *testing.B) {
		_, db := benchStore(b)
		l, err := kvlock.New(db)
		if err != nil {
			b.Fatal(err)
		}
		ctx := context.Background()
		runWorkers(b, 1, func(i int) error {
			_, ok, err := l.Acquire(ctx, "bench", "me", time.Minute)
			if err == nil && !ok {
				err = fmt.Errorf("refused")
			}
			return err
		})
	})
	b.Run("fenced-commit", func(b *testing.B) {
		_, db := benchStore(b)
		ctx := context.Background()
		now := time.Now()
		le, _, err := db.Acquire(ctx, "bench", "me", now, time.Hour)
		if err != nil {
			b.Fatal(err)
		}
		if _, err := db.CreateConsumer(ctx, "c", 0, now); err != nil {
			b.Fatal(err)
		}
		fence := &driver.Fence{Name: "bench", Token: le.Token}
		runWorkers(b, 1, func(i int) error { return db.Commit(ctx, "c", int64(i), fence, now) })
	})
}

// BenchmarkStreamRead measures reading pages of 100 entries from a stream
// of 1000: kv (Read: the page and the watermark in one statement) beside a
// raw select of the same page.
func BenchmarkStreamRead(b *testing.B) {
	s, db := benchStore(b)
	ctx := context.Background()
	var ms []kvcore.Mutation
	for i := 0; i < 1000; i++ {
		ms = append(ms, kvcore.Put(fmt.Sprintf("key/%d", i), -1, []byte(benchValue)))
	}
	if _, err := s.MutateAll(ctx, ms...); err != nil {
		b.Fatal(err)
	}
	b.Run("kv", func(b *testing.B) {
		runWorkers(b, 1, func(i int) error {
			rs, _, _, err := db.Read(ctx, streamdriver.Query{After: int64(i % 900), Limit: 100})
			if err == nil && len(rs) != 100 {
				err = fmt.Errorf("read %d entries", len(rs))
			}
			return err
		})
	})
	b.Run("raw", func(b *testing.B) {
		runWorkers(b, 1, func(i int) error {
			qr, err := db.conn.QueryOneParameterizedContext(ctx, gorqlite.ParameterizedStatement{
				Query:     "SELECT seq, namespace, key, action, version, type, value, ts FROM stream WHERE seq > ? ORDER BY seq LIMIT 100",
				Arguments: []any{i % 900},
			})
			if err == nil && qr.NumRows() != 100 {
				err = fmt.Errorf("read %d entries", qr.NumRows())
			}
			return err
		})
	})
}

// BenchmarkClaimIdle measures a claim that finds nothing due over 50,000
// tasks that are not due (pending tasks scheduled an hour later, a
// twentieth running with leases not expired), one request each: "walk" is
// the previous statement (sqlClaimWalk, the baseline), "claim" is Claim's.
// With 4 priorities Claim probes each priority's due range; with 1,000 (as
// many priorities as 50 tasks each) its probes cost more than the walk,
// the case the loose index scan does not serve.
//
//	go test -run '^$' -bench ClaimIdle
func BenchmarkClaimIdle(b *testing.B) {
	ctx := context.Background()
	for _, prios := range []int{4, 1000} {
		b.Run(fmt.Sprintf("priorities=%d", prios), func(b *testing.B) {
			db := openEmpty(b)
			seed(b, db, t0, 1, 50000, prios)
			c := taskdriver.Claim{Runner: "r", Now: t0, Lease: time.Minute, Limit: 10}
			for _, walk := range []bool{true, false} {
				name := "claim"
				if walk {
					name = "walk"
				}
				b.Run(name, func(b *testing.B) {
					for range b.N {
						if n, err := claimWith(ctx, db, c, walk); err != nil || n != 0 {
							b.Fatalf("claimed %d: %v", n, err)
						}
					}
				})
			}
		})
	}
}
