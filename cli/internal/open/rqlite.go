package open

import (
	"context"

	rqlitekv "github.com/kvsuite/kv/backend-rqlite"
)

// openRQLite opens an rqlite cluster over its HTTP API.
func openRQLite(_ context.Context, cfg Config) (*Backend, error) {
	db, err := rqlitekv.Open(cfg.Connection)
	if err != nil {
		return nil, err
	}
	return newBackend(db, cfg)
}
