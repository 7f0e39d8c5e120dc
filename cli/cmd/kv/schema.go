package main

import (
	"context"
	"errors"
	"fmt"

	"github.com/kvsuite/kv/cli/internal/open"
	"github.com/kvsuite/kv/cli/internal/seedimport"
)

// prepareSchema readies b's schema for a command: one that only reads
// (cfg.MustExist) never writes, so it only checks that the schema is
// current (an error naming kv init if not); one that writes creates or
// migrates it first, as kv init does, unless the connection is read-only.
func prepareSchema(ctx context.Context, cfg open.Config, b *open.Backend) error {
	if cfg.MustExist {
		err := b.CheckSchema(ctx)
		var se *open.SchemaError
		if errors.As(err, &se) && se.Applied == 0 {
			if hint := ahkvHint(ctx, cfg); hint != "" {
				return fmt.Errorf("%w; %s", err, hint)
			}
		}
		return err
	}
	if b.ReadOnly {
		return nil
	}
	_, _, err := initSchema(ctx, cfg, b)
	return err
}

// initSchema creates or migrates b's schema (open.Backend.InitSchema) and
// returns the versions before and after, unless the database has no kv
// schema yet but holds github.com/a-h/kv's tables on SQLite or rqlite,
// where kv's tables would meet a-h/kv's of the same names (stream, tasks):
// that is an error saying how to move the data instead.
func initSchema(ctx context.Context, cfg open.Config, b *open.Backend) (before, after int, err error) {
	return b.InitSchema(ctx, func(before int) error {
		if before != 0 || cfg.Type == "postgres" {
			return nil
		}
		if hint := ahkvHint(ctx, cfg); hint != "" {
			return fmt.Errorf("%w: kv cannot create its schema beside a-h/kv's (both have tables stream and tasks); %s", errAHKVDatabase, hint)
		}
		return nil
	})
}

// errAHKVDatabase: kv was pointed at a database of github.com/a-h/kv.
var errAHKVDatabase = errors.New("the database holds the tables of github.com/a-h/kv")

// ahkvHint returns what to do with a database that holds the tables of
// github.com/a-h/kv (cfg's, which has no kv schema), or "" if it does not
// hold them (or cannot be read so).
func ahkvHint(ctx context.Context, cfg open.Config) string {
	if cfg.Type == "sqlite" && sqliteFile(cfg.Connection) == "" {
		return "" // in memory: nothing there
	}
	found, err := seedimport.Detect(ctx, cfg.Type, cfg.Connection)
	if err != nil || !found {
		return ""
	}
	if cfg.Type == "postgres" {
		return "it holds the tables of github.com/a-h/kv: kv's own can live beside them, and kv import a-h/kv postgres <this connection> (--type postgres, --connection <this connection>) moves a-h/kv's data into them"
	}
	return "it holds the tables of github.com/a-h/kv: move a-h/kv's data into a new database with kv import a-h/kv " + cfg.Type + " <this connection> --connection <another database>"
}
