package main

import (
	"context"

	"github.com/kvsuite/kv/cli/internal/open"
)

// prepareSchema readies b's schema for a command: one that only reads
// (cfg.MustExist) never writes, so it only checks that the schema is
// current (an error naming kv init if not); one that writes creates or
// migrates it first, as kv init does, unless the connection is read-only.
func prepareSchema(ctx context.Context, cfg open.Config, b *open.Backend) error {
	if cfg.MustExist {
		return b.CheckSchema(ctx)
	}
	if b.ReadOnly {
		return nil
	}
	_, _, err := b.InitSchema(ctx)
	return err
}
