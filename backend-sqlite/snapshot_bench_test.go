package sqlitekv_test

import (
	"context"
	"encoding/json"
	"fmt"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/kvsuite/kv/kvcore"
)

// BenchmarkSnapshot measures a Store.Snapshot that reads one page of 100
// records, beside a baseline in the same iteration: the same page read
// outside a snapshot. A file database's snapshot is a read transaction; an
// in-memory database's copies the database first (VACUUM INTO), so its
// cost grows with the records. It reports x_baseline, the snapshot's time
// over the baseline's, and ms/snapshot.
func BenchmarkSnapshot(b *testing.B) {
	ctx := context.Background()
	value := json.RawMessage(`{"name":"` + strings.Repeat("x", 80) + `","n":1}`)
	for _, mode := range []string{"file", "memory"} {
		for _, n := range []int{1_000, 10_000, 100_000} {
			b.Run(fmt.Sprintf("%s/records=%d", mode, n), func(b *testing.B) {
				dsn := ":memory:"
				if mode == "file" {
					dsn = filepath.Join(b.TempDir(), "kv.db")
				}
				db := openInit(b, dsn)
				s, err := db.Store(kvcore.WithSweepInterval(0))
				if err != nil {
					b.Fatal(err)
				}
				defer s.Close()
				for start := 0; start < n; start += 1000 {
					var ms []kvcore.Mutation
					for i := start; i < min(start+1000, n); i++ {
						ms = append(ms, kvcore.Put(fmt.Sprintf("rec/%08d", i), -1, value))
					}
					if _, err := s.MutateAll(ctx, ms...); err != nil {
						b.Fatal(err)
					}
				}
				page := func(seq func(func(kvcore.Record, error) bool)) error {
					got := 0
					for _, err := range seq {
						if err != nil {
							return err
						}
						if got++; got == 100 {
							break
						}
					}
					return nil
				}
				var snap, base time.Duration
				b.ResetTimer()
				for range b.N {
					t0 := time.Now()
					err := s.Snapshot(ctx, func(sn *kvcore.Snapshot) error {
						return page(sn.All(ctx, "", kvcore.PageSize(100)))
					})
					if err != nil {
						b.Fatal(err)
					}
					snap += time.Since(t0)
					t0 = time.Now()
					if err := page(s.All(ctx, kvcore.PageSize(100))); err != nil {
						b.Fatal(err)
					}
					base += time.Since(t0)
				}
				b.ReportMetric(snap.Seconds()/base.Seconds(), "x_baseline")
				b.ReportMetric(snap.Seconds()*1000/float64(b.N), "ms/snapshot")
			})
		}
	}
}
