package main

import (
	"context"
	"fmt"
	mrand "math/rand/v2"

	"github.com/peterbourgon/ff/v3/ffcli"
)

func (a *app) benchmarkPatchCommand() *ffcli.Command {
	const (
		path = "benchmark patch"
		want = "[<n> [<w>]]"
	)
	var opts benchOptions
	return a.command(spec{
		path:  path,
		args:  want,
		short: "Benchmark patching records.",
		long: fmt.Sprintf(`Writes min(<n>, %d) records (not measured), then applies <n> JSON merge
patches (default %d) to them in turn, each in its own transaction, with <w>
concurrent workers (default %d). The check: the records' versions show
exactly as many patches as were reported done.`, defaultBenchRecords, defaultBenchWrites, defaultBenchWorkers),
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
			records := min(n, defaultBenchRecords)
			return a.withBench(ctx, "patch", opts, func(b *benchRun) (benchReport, error) {
				if err := b.prepare(ctx, "r/", records); err != nil {
					return benchReport{}, err
				}
				res := a.runOps(ctx, "patch", n, w, func(ctx context.Context, i int, _ *mrand.Rand) (string, error) {
					return "patch", b.st.Patch(ctx, b.key("r/", i%records), -1, benchPatch(i))
				})
				rep := b.report(res, records, w)
				if ctx.Err() != nil {
					return rep, nil
				}
				got, err := b.patchesDone(ctx, "r/")
				if err != nil {
					return benchReport{}, err
				}
				rep.Check = benchCheck{OK: got == rep.Done, Want: rep.Done, Got: got,
					Detail: fmt.Sprintf("the records' versions show %d patches, %d reported done", got, rep.Done)}
				return rep, nil
			})
		},
	})
}
