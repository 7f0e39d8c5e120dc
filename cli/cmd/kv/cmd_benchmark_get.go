package main

import (
	"context"
	"flag"
	"fmt"
	mrand "math/rand/v2"

	"github.com/peterbourgon/ff/v3/ffcli"

	"github.com/kvsuite/kv/kvcache"
	"github.com/kvsuite/kv/kvcore"
)

// getter reads one key: a store, or a cache in front of it.
type getter interface {
	Get(ctx context.Context, key string, v any) (kvcore.Record, bool, error)
}

func (a *app) benchmarkGetCommand() *ffcli.Command {
	const (
		path = "benchmark get"
		want = "[<x> [<n> [<w>]]]"
	)
	var opts benchOptions
	var cache cacheFlags
	return a.command(spec{
		path:  path,
		args:  want,
		short: "Benchmark getting records.",
		long: fmt.Sprintf(`Writes <x> records (default %d; not measured), then gets a random one of
them <n> times (default %d) with <w> concurrent workers (default %d). A get
that finds no record counts as failed. The check: every get found its record.
With --cache the gets go through a kvcache (see the kvcache package) that
follows the store's change stream, warmed with the records first.`,
			defaultBenchRecords, defaultBenchGets, defaultBenchWorkers),
		flags: func(fs *flag.FlagSet) { opts.define(fs); cache.define(fs) },
		run: func(ctx context.Context, args []string) error {
			if err := checkArgs(path, args, 0, 3, want); err != nil {
				return err
			}
			if err := cache.check(path); err != nil {
				return err
			}
			v, err := benchArgs(path, args, []string{"x", "n", "w"}, []int{defaultBenchRecords, defaultBenchGets, defaultBenchWorkers})
			if err != nil {
				return err
			}
			x, n, w := v[0], v[1], v[2]
			return a.withBench(ctx, "get", opts, func(b *benchRun) (benchReport, error) {
				if err := b.prepare(ctx, "r/", x); err != nil {
					return benchReport{}, err
				}
				var get getter = b.st
				var before kvcache.Stats
				if cache.on {
					c, st, err := b.openCache(ctx, cache, "r/", x)
					if err != nil {
						return benchReport{}, err
					}
					defer c.Close()
					get, before = c, st
				}
				res := a.runOps(ctx, "get", n, w, func(ctx context.Context, i int, rng *mrand.Rand) (string, error) {
					_, ok, err := get.Get(ctx, b.key("r/", rng.IntN(x)), nil)
					if err == nil && !ok {
						err = errMissing
					}
					return "get", err
				})
				rep := b.report(res, x, w)
				rep.Check = benchCheck{OK: rep.Done == n, Want: n, Got: rep.Done,
					Detail: fmt.Sprintf("%d of %d gets found their record", rep.Done, n)}
				if c, ok := get.(*kvcache.Cache); ok {
					rep.Cache = cacheReport(c, cache, before)
				}
				return rep, nil
			})
		},
	})
}
