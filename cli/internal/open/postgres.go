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
	st, err := db.Store(storeOptions(cfg)...)
	if err != nil {
		_ = db.Close()
		return nil, err
	}
	return &Backend{Store: st, db: db, closers: []func() error{db.Close, st.Close}}, nil
}
