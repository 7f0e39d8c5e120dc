package main

import (
	"context"

	"github.com/peterbourgon/ff/v3/ffcli"

	"github.com/kvsuite/kv/kvcore"
)

func (a *app) deleteRangeCommand() *ffcli.Command {
	const path = "delete range"
	return a.command(spec{
		path:  path,
		args:  "<from> <to> [<offset> [<limit>]]",
		short: "Delete a range of keys.",
		long: `Deletes the records with <from> <= key < <to> (byte order), in key order,
skipping <offset> records (default 0) and deleting at most <limit> (default
0: no limit). Prints how many it deleted.`,
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
				n, err := st.DeleteRange(ctx, args[0], args[1], offset, limit)
				if err != nil {
					return err
				}
				return a.printNumber(int64(n))
			})
		},
	})
}
