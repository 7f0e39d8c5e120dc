package main

import (
	"context"
	"fmt"

	"github.com/peterbourgon/ff/v3/ffcli"

	"github.com/kvsuite/kv/cli/internal/open"
)

func (a *app) initCommand() *ffcli.Command {
	const path = "init"
	return a.command(spec{
		path:  path,
		short: "Initialize the store.",
		long: `Creates the store's schema, or migrates it to this version of kv; running it
again changes nothing. With SQLite and the default connection it creates
data.db in the current directory. Every command that writes also does this
first, unless the connection is read-only. A command that only reads (get,
count, list, export, status, stream get and seq, consumer status, lock
status, the graph's and the tasks' reads, import --dry-run) opens an
existing SQLite database file only: it fails rather than create one.`,
		run: func(ctx context.Context, args []string) error {
			if err := checkArgs(path, args, 0, 0, "no arguments"); err != nil {
				return err
			}
			// withBackend does the work: it runs Init unless read-only.
			return a.withBackend(ctx, func(b *open.Backend) error {
				if b.ReadOnly {
					return fmt.Errorf("init: %w (mode=ro): init needs a connection that can write", errReadOnly)
				}
				return nil
			})
		},
	})
}
