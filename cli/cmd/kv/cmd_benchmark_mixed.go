package main

import (
	"context"
	"fmt"
	mrand "math/rand/v2"
	"sync/atomic"

	"github.com/peterbourgon/ff/v3/ffcli"
)

// The mix of kv benchmark mixed, in percent.
const (
	mixGet   = 70
	mixPut   = 20
	mixPatch = 10
)

func (a *app) benchmarkMixedCommand() *ffcli.Command {
	const (
		path = "benchmark mixed"
		want = "[<x> [<n> [<w>]]]"
	)
	var opts benchOptions
	return a.command(spec{
		path:  path,
		args:  want,
		short: "Benchmark a mix of gets, puts and patches.",
		long: fmt.Sprintf(`Writes <x> records (default %d; not measured), then runs <n> operations
(default %d) with <w> concurrent workers (default %d), each chosen at random:
%d%% gets of a random record, %d%% puts of a new record, %d%% patches of a
random record. Reports all operations together and each kind on its own.
The check: the run's prefix holds <x> records plus the puts done, and the
records' versions show as many patches as were done.`,
			defaultBenchRecords, defaultBenchMixed, defaultBenchWorkers, mixGet, mixPut, mixPatch),
		flags: opts.define,
		run: func(ctx context.Context, args []string) error {
			if err := checkArgs(path, args, 0, 3, want); err != nil {
				return err
			}
			v, err := benchArgs(path, args, []string{"x", "n", "w"}, []int{defaultBenchRecords, defaultBenchMixed, defaultBenchWorkers})
			if err != nil {
				return err
			}
			x, n, w := v[0], v[1], v[2]
			return a.withBench(ctx, "mixed", opts, func(b *benchRun) (benchReport, error) {
				if err := b.prepare(ctx, "r/", x); err != nil {
					return benchReport{}, err
				}
				var puts, patches atomic.Int64
				res := a.runOps(ctx, "mixed", n, w, func(ctx context.Context, i int, rng *mrand.Rand) (string, error) {
					switch r := rng.IntN(100); {
					case r < mixGet:
						_, ok, err := b.st.Get(ctx, b.key("r/", rng.IntN(x)), nil)
						if err == nil && !ok {
							err = errMissing
						}
						return "get", err
					case r < mixGet+mixPut:
						err := b.st.Put(ctx, b.key("m/", i), 0, benchValue(i))
						if err == nil {
							puts.Add(1)
						}
						return "put", err
					default:
						err := b.st.Patch(ctx, b.key("r/", rng.IntN(x)), -1, benchPatch(i))
						if err == nil {
							patches.Add(1)
						}
						return "patch", err
					}
				})
				rep := b.report(res, x, w)
				if ctx.Err() != nil {
					return rep, nil
				}
				mine, err := b.st.CountPrefix(ctx, b.prefix)
				if err != nil {
					return benchReport{}, err
				}
				patched, err := b.patchesDone(ctx, "r/")
				if err != nil {
					return benchReport{}, err
				}
				wantRecords := x + int(puts.Load())
				rep.Check = benchCheck{
					OK:   mine == wantRecords && patched == int(patches.Load()),
					Want: wantRecords, Got: mine,
					Detail: fmt.Sprintf("the run's prefix holds %d records (want %d: %d prepared + %d puts); the versions show %d patches, %d reported done",
						mine, wantRecords, x, puts.Load(), patched, patches.Load()),
				}
				return rep, nil
			})
		},
	})
}
