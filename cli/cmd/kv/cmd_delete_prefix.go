package main

import (
	"context"

	"github.com/peterbourgon/ff/v3/ffcli"

	"github.com/kvsuite/kv/kvcore"
)

func (a *app) deletePrefixCommand() *ffcli.Command {
	const path = "delete prefix"
	return a.command(spec{
		path:  path,
		args:  "<prefix> [<offset> [<limit>]]",
		short: "Delete all keys with a given prefix.",
		long: `Deletes the records whose keys start with <prefix> (byte for byte; it must not
be empty: use kv delete --all to delete everything), in key order, skipping
<offset> records (default 0) and deleting at most <limit> (default 0: no
limit). Prints how many it deleted.`,
		run: func(ctx context.Context, args []string) error {
			if err := checkArgs(path, args, 1, 3, "<prefix> [<offset> [<limit>]]"); err != nil {
				return err
			}
			if args[0] == "" {
				return usagef(path, "prefix is empty: use kv delete --all to delete everything")
			}
			if err := checkPrefix(path, args[0]); err != nil {
				return err
			}
			offset, limit, err := page(path, args[1:])
			if err != nil {
				return err
			}
			return a.withStore(ctx, func(st *kvcore.Store) error {
				n, err := st.DeletePrefix(ctx, args[0], offset, limit)
				if err != nil {
					return err
				}
				return a.printNumber(int64(n))
			})
		},
	})
}
