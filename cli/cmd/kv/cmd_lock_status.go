package main

import (
	"context"

	"github.com/peterbourgon/ff/v3/ffcli"

	"github.com/kvsuite/kv/kvlock"
)

func (a *app) lockStatusCommand() *ffcli.Command {
	const path = "lock status"
	return a.command(spec{
		path:  path,
		reads: true,
		args:  "<name>",
		short: "Show the status of a lock.",
		long: `Prints the lease <name>, since when its owner holds it and whether it is held now:
{"name":...,"owner":...,"token":...,"expires":...,"acquired":...,"held":true|false}.
A lease that was never acquired prints token 0 and held false.`,
		run: func(ctx context.Context, args []string) error {
			if err := checkArgs(path, args, 1, 1, "<name>"); err != nil {
				return err
			}
			if err := checkName(path, "lock name", args[0]); err != nil {
				return err
			}
			return a.withLocker(ctx, func(l *kvlock.Locker) error {
				le, held, err := l.Status(ctx, args[0])
				if err != nil {
					return err
				}
				return a.printJSON(lockStatusJSON{leaseOut(le), held})
			})
		},
	})
}
