package main

import (
	"context"
	"flag"
	"fmt"

	"github.com/peterbourgon/ff/v3/ffcli"

	"github.com/kvsuite/kv/cli/internal/open"
	"github.com/kvsuite/kv/cli/internal/redact"
)

// initJSON is what kv init --json prints.
type initJSON struct {
	// Action is "created" (there was no kv schema), "migrated" (an older
	// one was brought up to date) or "none" (it was up to date).
	Action     string `json:"action"`
	From       int    `json:"from"`    // the schema version before (0: none)
	Version    int    `json:"version"` // the schema version now
	Type       string `json:"type"`
	Connection string `json:"connection"` // without its password
}

func (a *app) initCommand() *ffcli.Command {
	const path = "init"
	var asJSON bool
	return a.command(spec{
		path:  path,
		short: "Initialize the store.",
		long: `Creates the store's schema, or migrates it to this version of kv; running it
again changes nothing. With SQLite and the default connection it creates
data.db in the current directory. It prints what it did, e.g.
"created kv's schema (version 4) in sqlite file:data.db?mode=rwc", or
"migrated ... from version 3 to 4", or "... is up to date (version 4)";
--json prints {"action":"created"|"migrated"|"none","from":...,"version":...,
"type":...,"connection":...}.

Every command that writes also does this first, unless the connection is
read-only. A command that only reads (get, count, list, export, status,
stream get and seq, consumer status, lock status, the graph's and the
tasks' reads, import --dry-run) never does: on a database without kv's
schema, or with an older one, it fails and says to run kv init, and with
SQLite it opens an existing database file only (it fails rather than
create one).`,
		flags: func(fs *flag.FlagSet) {
			fs.BoolVar(&asJSON, "json", false, "print what it did as one JSON object")
		},
		run: func(ctx context.Context, args []string) error {
			if err := checkArgs(path, args, 0, 0, "no arguments"); err != nil {
				return err
			}
			b, err := open.Open(ctx, a.cfg)
			if err != nil {
				return err
			}
			defer b.Close()
			if b.ReadOnly {
				return fmt.Errorf("init: %w (mode=ro): init needs a connection that can write", errReadOnly)
			}
			before, after, err := initSchema(ctx, a.cfg, b)
			if err != nil {
				return err
			}
			if err := b.Close(); err != nil {
				return err
			}
			out := initJSON{Action: "none", From: before, Version: after, Type: a.cfg.Type, Connection: redact.Connection(a.cfg.Connection)}
			what := fmt.Sprintf("kv's schema is up to date (version %d)", after)
			switch {
			case before == 0:
				out.Action, what = "created", fmt.Sprintf("created kv's schema (version %d)", after)
			case before < after:
				out.Action, what = "migrated", fmt.Sprintf("migrated kv's schema from version %d to %d", before, after)
			}
			if asJSON {
				return a.printJSON(out)
			}
			_, err = fmt.Fprintf(a.stdout, "%s in %s %s\n", what, out.Type, out.Connection)
			return err
		},
	})
}
