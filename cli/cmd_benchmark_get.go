package main

import (
	"context"
	"fmt"
	mrand "math/rand/v2"

	"github.com/peterbourgon/ff/v3/ffcli"
)

func (a *app) benchmarkGetCommand() *ffcli.Command {
	const (
		path = "benchmark get"
		want = "[<x> [<n> [<w>]]]"
	)
	var opts benchOptions
	return a.command(spec{
		path:  path,
		args:  want,
		short: "Benchmark getting records.",
		long: fmt.Sprintf(`Writes <x> records (default %d; not measured), then gets a random one of
them <n> times (default %d) with <w> concurrent workers (default %d). A get
that finds no record counts as failed. The check: every get found its record.`,
			defaultBenchRecords, defaultBenchGets, defaultBenchWorkers),
		flags: opts.define,
		run: func(ctx context.Context, args []string) error {
			if err := checkArgs(path, args, 0, 3, want); err != nil {
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
				res := a.runOps(ctx, "get", n, w, func(ctx context.Context, i int, rng *mrand.Rand) (string, error) {
					_, ok, err := b.st.Get(ctx, b.key("r/", rng.IntN(x)), nil)
					if err == nil && !ok {
						err = errMissing
					}
					return "get", err
				})
				rep := b.report(res, x, w)
				rep.Check = benchCheck{OK: rep.Done == n, Want: n, Got: rep.Done,
					Detail: fmt.Sprintf("%d of %d gets found their record", rep.Done, n)}
				return rep, nil
			})
		},
	})
}
