package main

import (
	"context"

	"github.com/peterbourgon/ff/v3/ffcli"

	"github.com/kvsuite/kv/kvcore"
)

func (a *app) getPrefixCommand() *ffcli.Command {
	const path = "get prefix"
	return a.command(spec{
		path:  path,
		reads: true,
		args:  "<prefix> [<offset> [<limit>]]",
		short: "Get all keys with a given prefix.",
		long: `Prints the records whose keys start with <prefix> (byte for byte; "" matches
every key) in key order, skipping <offset> records (default 0) and printing
at most <limit> (default 0: no limit).`,
		run: func(ctx context.Context, args []string) error {
			if err := checkArgs(path, args, 1, 3, "<prefix> [<offset> [<limit>]]"); err != nil {
				return err
			}
			if err := checkPrefix(path, args[0]); err != nil {
				return err
			}
			offset, limit, err := page(path, args[1:])
			if err != nil {
				return err
			}
			return a.withStore(ctx, func(st *kvcore.Store) error {
				if offset == 0 && limit == 0 {
					return a.printAll(st.AllPrefix(ctx, args[0]))
				}
				rs, err := st.GetPrefix(ctx, args[0], offset, limit)
				if err != nil {
					return err
				}
				return a.printRecords(rs...)
			})
		},
	})
}
