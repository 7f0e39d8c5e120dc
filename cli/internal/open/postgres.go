package open

import (
	"context"

	postgreskv "github.com/kvsuite/kv/backend-postgres"
)

// openPostgres opens a PostgreSQL database through a pgx pool.
func openPostgres(ctx context.Context, cfg Config) (*Backend, error) {
	db, err := postgreskv.Open(ctx, cfg.Connection)
	if err != nil {
		return nil, err
	}
	return newBackend(db, cfg)
}
