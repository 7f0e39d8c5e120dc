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
	st, err := db.Store(storeOptions(cfg)...)
	if err != nil {
		_ = db.Close()
		return nil, err
	}
	return &Backend{Store: st, db: db, closers: []func() error{db.Close, st.Close}}, nil
}
