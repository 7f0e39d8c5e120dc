package main

import (
	"context"

	"github.com/peterbourgon/ff/v3/ffcli"

	"github.com/kvsuite/kv/kvcore"
)

func (a *app) getRangeCommand() *ffcli.Command {
	const path = "get range"
	return a.command(spec{
		path:  path,
		reads: true,
		args:  "<from> <to> [<offset> [<limit>]]",
		short: "Get a range of keys.",
		long: `Prints the records with <from> <= key < <to> (byte order; <from> may be "")
in key order, skipping <offset> records (default 0) and printing at most
<limit> (default 0: no limit).`,
		run: func(ctx context.Context, args []string) error {
			if err := checkArgs(path, args, 2, 4, "<from> <to> [<offset> [<limit>]]"); err != nil {
				return err
			}
			if err := checkRange(path, args[0], args[1]); err != nil {
				return err
			}
			offset, limit, err := page(path, args[2:])
			if err != nil {
				return err
			}
			return a.withStore(ctx, func(st *kvcore.Store) error {
				if offset == 0 && limit == 0 {
					return a.printAll(st.AllRange(ctx, args[0], args[1]))
				}
				rs, err := st.GetRange(ctx, args[0], args[1], offset, limit)
				if err != nil {
					return err
				}
				return a.printRecords(rs...)
			})
		},
	})
}
