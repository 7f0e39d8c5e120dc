package main

import (
	"context"

	"github.com/peterbourgon/ff/v3/ffcli"

	"github.com/kvsuite/kv/kvcore"
)

func (a *app) countRangeCommand() *ffcli.Command {
	const path = "count range"
	return a.command(spec{
		path:  path,
		reads: true,
		args:  "<from> <to>",
		short: "Count the number of keys in a range.",
		long:  `Counts the records with <from> <= key < <to> (byte order; <from> may be "").`,
		run: func(ctx context.Context, args []string) error {
			if err := checkArgs(path, args, 2, 2, "<from> <to>"); err != nil {
				return err
			}
			if err := checkRange(path, args[0], args[1]); err != nil {
				return err
			}
			return a.withStore(ctx, func(st *kvcore.Store) error {
				n, err := st.CountRange(ctx, args[0], args[1])
				if err != nil {
					return err
				}
				return a.printNumber(int64(n))
			})
		},
	})
}
