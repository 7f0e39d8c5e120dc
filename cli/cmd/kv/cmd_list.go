package main

import (
	"context"

	"github.com/peterbourgon/ff/v3/ffcli"

	"github.com/kvsuite/kv/kvcore"
)

func (a *app) listCommand() *ffcli.Command {
	const path = "list"
	return a.command(spec{
		path:  path,
		reads: true,
		args:  "[<offset> [<limit>]]",
		short: "List all keys.",
		long: `Prints every record of the namespace in key order, skipping <offset> records
(default 0) and printing at most <limit> (default 0: no limit).`,
		run: func(ctx context.Context, args []string) error {
			if err := checkArgs(path, args, 0, 2, "[<offset> [<limit>]]"); err != nil {
				return err
			}
			offset, limit, err := page(path, args)
			if err != nil {
				return err
			}
			return a.withStore(ctx, func(st *kvcore.Store) error {
				if offset == 0 && limit == 0 {
					return a.printAll(st.All(ctx))
				}
				rs, err := st.List(ctx, offset, limit)
				if err != nil {
					return err
				}
				return a.printRecords(rs...)
			})
		},
	})
}
