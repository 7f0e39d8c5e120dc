package main

import (
	"context"

	"github.com/peterbourgon/ff/v3/ffcli"

	"github.com/kvsuite/kv/kvcore"
)

func (a *app) getKeyCommand() *ffcli.Command {
	const path = "get key"
	var key keyFlag
	return a.command(spec{
		path:  path,
		reads: true,
		args:  "<key>",
		short: "Get a key.",
		long: `Prints the record at <key> as one JSON object. A missing (or expired) key is
an error (exit status 1). The key may be given as --key <key> instead.`,
		flags: key.define,
		run: func(ctx context.Context, args []string) error {
			args, err := key.args(path, args)
			if err != nil {
				return err
			}
			if err := checkArgs(path, args, 1, 1, "<key>"); err != nil {
				return err
			}
			if err := checkKey(path, args[0]); err != nil {
				return err
			}
			return a.withStore(ctx, func(st *kvcore.Store) error {
				r, err := st.GetRecord(ctx, args[0])
				if err != nil {
					return err
				}
				return a.printRecords(r)
			})
		},
	})
}
