package main

import (
	"context"
	"flag"

	"github.com/peterbourgon/ff/v3/ffcli"
)

func (a *app) deleteKeyCommand() *ffcli.Command {
	const path = "delete key"
	var version int64
	return a.command(spec{
		path:  path,
		args:  "<key>...",
		short: "Delete keys (the same as kv delete <key>...).",
		long: `Deletes the keys given, in one transaction, and prints how many existed; the
same as "kv delete <key>...", for keys named like a subcommand.`,
		flags: func(fs *flag.FlagSet) {
			fs.Int64Var(&version, "version", -1, "with a single key: delete it only if it is at this version")
		},
		run: func(ctx context.Context, args []string) error {
			if err := checkArgs(path, args, 1, -1, "one or more keys"); err != nil {
				return err
			}
			return a.deleteKeys(ctx, path, args, version)
		},
	})
}
