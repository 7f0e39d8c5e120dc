package open

import (
	"context"
	"errors"
	"fmt"

	sqlitekv "github.com/kvsuite/kv/backend-sqlite"
)

// openSQLite opens an embedded SQLite database (sqlitekv checks the
// connection string, and that a mode=ro or mode=rw database exists). With
// cfg.MustExist a missing file is an error, never created.
func openSQLite(ctx context.Context, cfg Config) (*Backend, error) {
	var opts []sqlitekv.Option
	if cfg.MustExist {
		opts = append(opts, sqlitekv.WithMustExist())
	}
	db, err := sqlitekv.Open(cfg.Connection, opts...)
	if err != nil {
		if errors.Is(err, sqlitekv.ErrNotCreated) {
			// "the database file does not exist; ..."
			return nil, fmt.Errorf("%w; a command that only reads does not create it: run kv init first", ErrNoDatabaseFile)
		}
		return nil, err
	}
	b, err := newBackend(db, cfg)
	if err != nil {
		return nil, err
	}
	b.ReadOnly = db.ReadOnly()
	b.private = db.InMemory()
	return b, nil
}
