package main

import (
	"context"
	"fmt"
	mrand "math/rand/v2"

	"github.com/peterbourgon/ff/v3/ffcli"

	"github.com/kvsuite/kv/kvcore"
)

func (a *app) benchmarkPutCommand() *ffcli.Command {
	const (
		path = "benchmark put"
		want = "[<n> [<w>]]"
	)
	var opts benchOptions
	return a.command(spec{
		path:  path,
		args:  want,
		short: "Benchmark putting records.",
		long: fmt.Sprintf(`Puts <n> new records (default %d), each in its own transaction, with <w>
concurrent workers (default %d). The check: the namespace holds exactly <n>
records more than before, all under the run's prefix (other writers to the
namespace during the run make it fail).`, defaultBenchWrites, defaultBenchWorkers),
		flags: opts.define,
		run: func(ctx context.Context, args []string) error {
			if err := checkArgs(path, args, 0, 2, want); err != nil {
				return err
			}
			v, err := benchArgs(path, args, []string{"n", "w"}, []int{defaultBenchWrites, defaultBenchWorkers})
			if err != nil {
				return err
			}
			n, w := v[0], v[1]
			return a.withBench(ctx, "put", opts, func(b *benchRun) (benchReport, error) {
				before, err := b.st.Count(ctx)
				if err != nil {
					return benchReport{}, err
				}
				res := a.runOps(ctx, "put", n, w, func(ctx context.Context, i int, _ *mrand.Rand) (string, error) {
					return "put", b.st.Put(ctx, b.key("p/", i), 0, benchValue(i))
				})
				rep := b.report(res, 0, w)
				if ctx.Err() != nil {
					return rep, nil
				}
				if benchPutHook != nil {
					benchPutHook(ctx, b.st)
				}
				after, err := b.st.Count(ctx)
				if err != nil {
					return benchReport{}, err
				}
				mine, err := b.st.CountPrefix(ctx, b.prefix)
				if err != nil {
					return benchReport{}, err
				}
				rep.Check = benchCheck{OK: after-before == n && mine == n, Want: n, Got: after - before,
					Detail: fmt.Sprintf("the namespace holds %d records more than before (want %d), %d of them under the run's prefix", after-before, n, mine)}
				return rep, nil
			})
		},
	})
}

// benchPutHook, when not nil, runs between the puts and the check of kv
// benchmark put (tests use it to change the store behind its back).
var benchPutHook func(ctx context.Context, st *kvcore.Store)
