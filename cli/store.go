package main

import (
	"context"
	"errors"

	"github.com/kvsuite/kv/cli/internal/open"
	"github.com/kvsuite/kv/kvcore"
)

// withStore opens the configured store, makes sure its schema exists
// (unless the connection is read-only), runs fn and closes the store.
func (a *app) withStore(ctx context.Context, fn func(st *kvcore.Store) error) (err error) {
	b, err := open.Open(ctx, a.cfg)
	if err != nil {
		return err
	}
	defer func() {
		if cerr := b.Close(); cerr != nil && err == nil {
			err = cerr
		}
	}()
	if !b.ReadOnly {
		if err := b.Store.Init(ctx); err != nil {
			return err
		}
	}
	return fn(b.Store)
}

// errReadOnly: a write or init on a read-only connection.
var errReadOnly = errors.New("the connection is read-only")
