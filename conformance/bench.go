package conformance

import (
	"context"
	"fmt"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/kvsuite/kv/kvcore"
	taskdriver "github.com/kvsuite/kv/kvtask/driver"
)

// RunBenchmarks runs the benchmarks every backend shares, through the
// fronts and the task SPI on fresh databases from h.New:
//
//   - Put/writers=N: kvcore.Store.Put of a new key each, by N goroutines.
//   - Get/readers=N: kvcore.Store.Get of 100 keys in turn, by N goroutines.
//   - ClaimIdle/future=N: a Claim that finds nothing due (a runner polling
//     an idle queue) on an empty queue and on one holding N pending tasks
//     due an hour later; the ratio of the two is the cost of the tasks
//     that are not due (near 1 when Claim does not walk them).
//
// A backend's own benchmarks (baselines of raw statements, its options)
// stay in its bench_test.go. Compare ratios, not absolute numbers, across
// machines and servers.
func RunBenchmarks(b *testing.B, h Harness) {
	b.Run("Put", func(b *testing.B) { benchPut(b, h.New) })
	b.Run("Get", func(b *testing.B) { benchGet(b, h.New) })
	b.Run("ClaimIdle", func(b *testing.B) { benchClaimIdle(b, h.New) })
}

// benchValue is the value the store benchmarks write.
var benchValue = []byte(`{"name":"Alice","age":30,"tags":["a","b","c"]}`)

// benchStore returns a store over a fresh database from f.
func benchStore(b *testing.B, f BackendFactory) *kvcore.Store {
	b.Helper()
	s, err := kvcore.New(f(b).Store, kvcore.WithSweepInterval(0))
	if err != nil {
		b.Fatal(err)
	}
	b.Cleanup(func() { _ = s.Close() })
	return s
}

// runWorkers splits b.N calls of op over w goroutines, timing only them,
// and fails b if any call failed.
func runWorkers(b *testing.B, w int, op func(i int) error) {
	b.Helper()
	var next, failed atomic.Int64
	var first atomic.Value
	var wg sync.WaitGroup
	b.ResetTimer()
	for range w {
		wg.Go(func() {
			for {
				i := int(next.Add(1)) - 1
				if i >= b.N {
					return
				}
				if err := op(i); err != nil {
					failed.Add(1)
					first.CompareAndSwap(nil, err)
				}
			}
		})
	}
	wg.Wait()
	b.StopTimer()
	if n := failed.Load(); n > 0 {
		b.Fatalf("%d of %d operations failed, the first: %v", n, b.N, first.Load())
	}
	b.ReportMetric(float64(b.N)/b.Elapsed().Seconds(), "ops/s")
}

func benchPut(b *testing.B, f BackendFactory) {
	ctx := context.Background()
	for _, w := range []int{1, 4, 16} {
		b.Run(fmt.Sprintf("writers=%d", w), func(b *testing.B) {
			s := benchStore(b, f)
			runWorkers(b, w, func(i int) error {
				return s.Put(ctx, fmt.Sprintf("k/%09d", i), -1, benchValue)
			})
		})
	}
}

func benchGet(b *testing.B, f BackendFactory) {
	ctx := context.Background()
	for _, w := range []int{1, 4} {
		b.Run(fmt.Sprintf("readers=%d", w), func(b *testing.B) {
			s := benchStore(b, f)
			var ms []kvcore.Mutation
			for i := range 100 {
				ms = append(ms, kvcore.Put(fmt.Sprintf("k/%d", i), -1, benchValue))
			}
			if _, err := s.MutateAll(ctx, ms...); err != nil {
				b.Fatal(err)
			}
			runWorkers(b, w, func(i int) error {
				_, ok, err := s.Get(ctx, fmt.Sprintf("k/%d", i%100), nil)
				if err == nil && !ok {
					err = fmt.Errorf("k/%d is missing", i%100)
				}
				return err
			})
		})
	}
}

func benchClaimIdle(b *testing.B, f BackendFactory) {
	ctx := context.Background()
	now := time.Date(2030, 1, 2, 3, 4, 5, 0, time.UTC)
	for _, future := range []int{0, 10000} {
		b.Run(fmt.Sprintf("future=%d", future), func(b *testing.B) {
			q := f(b).Queue
			if q == nil {
				b.Skip("SKIP: the backend has no Queue")
			}
			for start := 0; start < future; start += 1000 {
				ts := make([]taskdriver.Task, 0, 1000)
				for i := start; i < min(start+1000, future); i++ {
					ts = append(ts, taskdriver.Task{ID: fmt.Sprintf("t%09d", i), Name: "job", Payload: []byte("null"),
						Status: taskdriver.Pending, Priority: i % 5, Created: now, ScheduledFor: now.Add(time.Hour)})
				}
				if _, err := q.InsertMany(ctx, ts); err != nil {
					b.Fatal(err)
				}
			}
			c := taskdriver.Claim{Runner: "r", Now: now, Lease: time.Minute, Limit: 10}
			runWorkers(b, 1, func(int) error {
				ts, err := q.Claim(ctx, c)
				if err == nil && len(ts) != 0 {
					err = fmt.Errorf("claimed %d tasks, none is due", len(ts))
				}
				return err
			})
		})
	}
}
