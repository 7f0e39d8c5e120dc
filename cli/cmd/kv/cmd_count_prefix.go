package main

import (
	"context"

	"github.com/peterbourgon/ff/v3/ffcli"

	"github.com/kvsuite/kv/kvcore"
)

func (a *app) countPrefixCommand() *ffcli.Command {
	const path = "count prefix"
	return a.command(spec{
		path:  path,
		reads: true,
		args:  "<prefix>",
		short: "Count the number of keys with a given prefix.",
		run: func(ctx context.Context, args []string) error {
			if err := checkArgs(path, args, 1, 1, "<prefix>"); err != nil {
				return err
			}
			if err := checkPrefix(path, args[0]); err != nil {
				return err
			}
			return a.withStore(ctx, func(st *kvcore.Store) error {
				n, err := st.CountPrefix(ctx, args[0])
				if err != nil {
					return err
				}
				return a.printNumber(int64(n))
			})
		},
	})
}
