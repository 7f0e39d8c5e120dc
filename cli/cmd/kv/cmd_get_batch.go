package main

import (
	"context"

	"github.com/peterbourgon/ff/v3/ffcli"

	"github.com/kvsuite/kv/kvcore"
)

func (a *app) getBatchCommand() *ffcli.Command {
	const path = "get batch"
	return a.command(spec{
		path:  path,
		reads: true,
		args:  "<key>...",
		short: "Get many keys in one query.",
		long: `Prints the records found, in the order of the keys given; missing or expired
keys are left out and a repeated key is printed once.`,
		run: func(ctx context.Context, args []string) error {
			if err := checkArgs(path, args, 1, -1, "one or more keys"); err != nil {
				return err
			}
			for _, k := range args {
				if err := checkKey(path, k); err != nil {
					return err
				}
			}
			return a.withStore(ctx, func(st *kvcore.Store) error {
				rs, err := st.GetBatch(ctx, args...)
				if err != nil {
					return err
				}
				return a.printRecords(rs...)
			})
		},
	})
}
