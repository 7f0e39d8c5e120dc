package reliability_test

import (
	"context"
	"fmt"
	"math/rand/v2"
	"path/filepath"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/kvsuite/kv/backend-rqlite/rqlitetest"
	"github.com/kvsuite/kv/kvcache"
	"github.com/kvsuite/kv/kvcore"
	"github.com/kvsuite/kv/kvstream"
)

// The cache's targets, each side measured beside the other in the same
// run, in alternating rounds (ABBA, so that both see the same load):
//
//   - BenchmarkCacheGet/<backend>/<mode>: 4 readers get random keys of a
//     hot working set of 10,000 keys, through the store (uncached) and
//     through a cache. It reports both rates, "x-uncached" (the cache's
//     rate over the store's; targets: at least 20 on PostgreSQL and
//     rqlite, at least 5 on SQLite, in the bounded mode), "hit-rate" (of
//     the cached rounds) and the follower's lag at the end of each cached
//     round, "lag-ms" (since it last read to the end of the stream) and
//     "lag-entries" (behind the stream's head), both averaged. The fresh
//     mode's line shows what linearizable reads cost: a head query per
//     read (shared by the reads waiting at once).
//   - BenchmarkCachePut/<backend>: 4 writers put random keys of the
//     working set through the store and through a cache (which drops
//     each key it writes, while its follower reads every put from the
//     stream); "x-uncached" is the cached puts' rate over the store's.
//
// On a quiet machine:
//
//	KV_RQLITED=/path/to/rqlited go test -run '^$' -bench 'Cache(Get|Put)' -benchtime 20x -count 3
const (
	cacheBenchKeys    = 10000
	cacheBenchWorkers = 4
)

// cacheBenchBackends runs bench once per backend: SQLite, PostgreSQL
// (skipped, saying why, without a server) and a real rqlited (skipped,
// saying why, without one).
func cacheBenchBackends(b *testing.B, bench func(b *testing.B, kind, where string)) {
	b.Run("sqlite", func(b *testing.B) { bench(b, "sqlite", filepath.Join(b.TempDir(), "cache.db")) })
	b.Run("postgres", func(b *testing.B) {
		needPostgres(b)
		bench(b, "postgres", fmt.Sprintf("cachebench_%d", time.Now().UnixNano()))
	})
	b.Run("rqlited", func(b *testing.B) { bench(b, "rqlite", rqlitetest.StartRqlited(b).URL()) })
}

// openCacheBench opens kind at where with the working set written.
func openCacheBench(b *testing.B, kind, where string) *backend {
	b.Helper()
	ctx := context.Background()
	be, err := openBackend(ctx, kind, where)
	if err != nil {
		b.Fatal(err)
	}
	b.Cleanup(be.close)
	for start := 0; start < cacheBenchKeys; start += 500 {
		ms := make([]kvcore.Mutation, 0, 500)
		for i := start; i < min(start+500, cacheBenchKeys); i++ {
			ms = append(ms, kvcore.Put(cacheBenchKey(i), -1, map[string]any{"i": i, "name": "a record of the hot set", "tags": []string{"kv", "cache"}}))
		}
		if _, err := be.store.MutateAll(ctx, ms...); err != nil {
			b.Fatal(err)
		}
	}
	return be
}

func cacheBenchKey(i int) string { return fmt.Sprintf("hot/%05d", i) }

// rounds runs b.N rounds of sides, alternating which goes first, each
// round running ops[side] operations of sides[side] on cacheBenchWorkers
// workers, calls after(side) after each round, and returns each side's
// total time.
func rounds(b *testing.B, ops [2]int, sides [2]func(rng *rand.Rand) error, after func(side int)) [2]time.Duration {
	b.Helper()
	var took [2]time.Duration
	for n := 0; n < b.N; n++ {
		for k := range 2 {
			side := k ^ n&1 // ABBA
			start := time.Now()
			var next, failed atomic.Int64
			var firstErr atomic.Pointer[error]
			var wg sync.WaitGroup
			for w := range cacheBenchWorkers {
				wg.Add(1)
				go func() {
					defer wg.Done()
					rng := rand.New(rand.NewPCG(uint64(n), uint64(w)))
					for next.Add(1) <= int64(ops[side]) {
						if err := sides[side](rng); err != nil {
							failed.Add(1)
							firstErr.CompareAndSwap(nil, &err)
						}
					}
				}()
			}
			wg.Wait()
			took[side] += time.Since(start)
			if failed.Load() > 0 {
				b.Fatalf("%d operations failed (side %d), first: %v", failed.Load(), side, *firstErr.Load())
			}
			if after != nil {
				after(side)
			}
		}
	}
	return took
}

// BenchmarkCacheGet measures gets of a hot working set through a cache
// against the same gets through the store.
func BenchmarkCacheGet(b *testing.B) {
	modes := []struct {
		name string
		opt  kvcache.Option
	}{{"bounded", kvcache.Bounded(time.Second)}, {"fresh", kvcache.Fresh()}}
	cacheBenchBackends(b, func(b *testing.B, kind, where string) {
		be := openCacheBench(b, kind, where)
		for _, m := range modes {
			b.Run(m.name, func(b *testing.B) {
				ctx := context.Background()
				c, err := kvcache.New(be.store, be.db, m.opt)
				if err != nil {
					b.Fatal(err)
				}
				defer c.Close()
				if err := c.Sync(ctx); err != nil {
					b.Fatal(err)
				}
				// Warm the cache with the whole working set.
				for start := 0; start < cacheBenchKeys; start += 500 {
					keys := make([]string, 0, 500)
					for i := start; i < min(start+500, cacheBenchKeys); i++ {
						keys = append(keys, cacheBenchKey(i))
					}
					if _, err := c.GetBatch(ctx, keys...); err != nil {
						b.Fatal(err)
					}
				}
				stream, err := kvstream.New(be.db)
				if err != nil {
					b.Fatal(err)
				}
				get := func(g interface {
					Get(context.Context, string, any) (kvcore.Record, bool, error)
				}) func(*rand.Rand) error {
					return func(rng *rand.Rand) error {
						_, ok, err := g.Get(ctx, cacheBenchKey(rng.IntN(cacheBenchKeys)), nil)
						if err == nil && !ok {
							err = fmt.Errorf("a key of the working set is missing")
						}
						return err
					}
				}
				// Rounds of about the same length on a quiet machine.
				ops := [2]int{2000, 200000}
				if kind == "rqlite" {
					ops[0] = 400 // a few thousand gets per second
				}
				if m.name == "fresh" {
					ops[1] = ops[0] // a head query per read
				}
				before := c.Stats()
				var lagMS, lagEntries float64
				b.ResetTimer()
				took := rounds(b, ops, [2]func(*rand.Rand) error{get(be.store), get(c)}, func(side int) {
					if side != 1 {
						return
					}
					st := c.Stats()
					lagMS += float64(st.Lag) / float64(time.Millisecond)
					if head, err := stream.Seq(ctx); err == nil {
						lagEntries += float64(max(0, head-c.Stats().Position))
					}
				})
				b.StopTimer()
				after := c.Stats()
				hits := after.Hits - before.Hits
				all := hits + after.Misses - before.Misses + after.Bypassed - before.Bypassed
				n := float64(b.N)
				reportRates(b, ops, took)
				b.ReportMetric(float64(hits)/float64(max(all, 1)), "hit-rate")
				b.ReportMetric(lagMS/n, "lag-ms")
				b.ReportMetric(lagEntries/n, "lag-entries")
			})
		}
	})
}

// BenchmarkCachePut measures puts through a cache against puts through
// the store: what a write costs with the cache on.
func BenchmarkCachePut(b *testing.B) {
	cacheBenchBackends(b, func(b *testing.B, kind, where string) {
		be := openCacheBench(b, kind, where)
		ctx := context.Background()
		c, err := kvcache.New(be.store, be.db)
		if err != nil {
			b.Fatal(err)
		}
		defer c.Close()
		if err := c.Sync(ctx); err != nil {
			b.Fatal(err)
		}
		var value atomic.Int64
		put := func(p interface {
			Put(context.Context, string, int64, any, ...kvcore.WriteOption) error
		}) func(*rand.Rand) error {
			return func(rng *rand.Rand) error {
				return p.Put(ctx, cacheBenchKey(rng.IntN(cacheBenchKeys)), -1, map[string]any{"i": value.Add(1)})
			}
		}
		ops := [2]int{400, 400}
		if kind == "rqlite" {
			ops = [2]int{100, 100}
		}
		b.ResetTimer()
		took := rounds(b, ops, [2]func(*rand.Rand) error{put(be.store), put(c)}, nil)
		b.StopTimer()
		reportRates(b, ops, took)
	})
}

// reportRates reports each side's rate over b.N rounds of ops[side]
// operations that took took[side], and the cached side's over the
// uncached side's.
func reportRates(b *testing.B, ops [2]int, took [2]time.Duration) {
	uncached := float64(b.N*ops[0]) / took[0].Seconds()
	cached := float64(b.N*ops[1]) / took[1].Seconds()
	b.ReportMetric(uncached, "uncached-ops/s")
	b.ReportMetric(cached, "cached-ops/s")
	b.ReportMetric(cached/uncached, "x-uncached")
}
