package main

import (
	"context"
	"encoding/json"
	"flag"
	"fmt"
	"io"
	"strings"
	"testing"
	"time"

	"github.com/kvsuite/kv/cli/internal/open"
	"github.com/kvsuite/kv/kvcore"
)

var benchExportRecords = flag.Int("kvexport.records", 10000, "records in the store that BenchmarkExport exports")

// BenchmarkExport measures kv export (a snapshot, with its trailer) of a
// store of -kvexport.records records of about 100 bytes, in-process, on
// every backend (PostgreSQL if a server answers; a real rqlited with
// KV_RQLITED), beside a baseline read in the same iteration: the same
// records read page by page outside any snapshot and written as JSON Lines,
// as kv export did before it read a snapshot. It reports the export's
// records/s and x_baseline, its time over the baseline's.
func BenchmarkExport(b *testing.B) {
	n := *benchExportRecords
	for _, be := range exportBackends(b) {
		b.Run(be.typ, func(b *testing.B) {
			ctx := context.Background()
			cfg := open.Config{Type: be.typ, Connection: strings.TrimPrefix(be.conn, "--connection=")}
			bk, err := open.Open(ctx, cfg)
			if err != nil {
				b.Fatal(err)
			}
			defer bk.Close()
			if err := bk.Store.Init(ctx); err != nil {
				b.Fatal(err)
			}
			value := json.RawMessage(`{"name":"` + strings.Repeat("x", 80) + `","n":1}`)
			for start := 0; start < n; start += 500 {
				var ms []kvcore.Mutation
				for i := start; i < min(start+500, n); i++ {
					ms = append(ms, kvcore.Put(fmt.Sprintf("rec/%08d", i), -1, value))
				}
				if _, err := bk.Store.MutateAll(ctx, ms...); err != nil {
					b.Fatal(err)
				}
			}
			args := []string{"export", "--type", be.typ, be.conn}
			var exported, baseline time.Duration
			b.ResetTimer()
			for range b.N {
				t0 := time.Now()
				var stderr strings.Builder
				if code := run(ctx, args, nil, io.Discard, &stderr); code != 0 {
					b.Fatalf("kv export: exit %d: %s", code, stderr.String())
				}
				exported += time.Since(t0)
				t0 = time.Now()
				if err := plainExport(ctx, cfg, io.Discard); err != nil {
					b.Fatal(err)
				}
				baseline += time.Since(t0)
			}
			b.ReportMetric(float64(n)*float64(b.N)/exported.Seconds(), "records/s")
			b.ReportMetric(exported.Seconds()/baseline.Seconds(), "x_baseline")
		})
	}
}

// plainExport is BenchmarkExport's baseline: it opens the store as kv
// export does and writes the records of every namespace as JSON Lines,
// read page by page outside any snapshot.
func plainExport(ctx context.Context, cfg open.Config, w io.Writer) error {
	return withOpen(ctx, cfg, func(b *open.Backend) error {
		namespaces, err := b.Store.Namespaces(ctx)
		if err != nil {
			return err
		}
		enc := json.NewEncoder(w)
		for _, ns := range namespaces {
			st, err := b.Store.Namespace(ns)
			if err != nil {
				return err
			}
			for r, err := range st.All(ctx) {
				if err != nil {
					return err
				}
				if err := enc.Encode(recordLine{Kind: kindRecord, Namespace: ns, Record: r}); err != nil {
					return err
				}
			}
		}
		return nil
	})
}
