package main

import (
	"context"

	"github.com/peterbourgon/ff/v3/ffcli"

	"github.com/kvsuite/kv/kvcore"
)

func (a *app) countAllCommand() *ffcli.Command {
	const path = "count all"
	return a.command(spec{
		path:  path,
		reads: true,
		short: "Count the number of keys.",
		run: func(ctx context.Context, args []string) error {
			if err := checkArgs(path, args, 0, 0, "no arguments"); err != nil {
				return err
			}
			return a.withStore(ctx, func(st *kvcore.Store) error {
				n, err := st.Count(ctx)
				if err != nil {
					return err
				}
				return a.printNumber(int64(n))
			})
		},
	})
}
