package open

import (
	"context"
	"net/url"
	"strings"

	sqlitekv "github.com/kvsuite/kv/backend-sqlite"
)

// openSQLite opens an embedded SQLite database (sqlitekv checks the
// connection string, and that a mode=ro or mode=rw database exists).
func openSQLite(ctx context.Context, cfg Config) (*Backend, error) {
	db, err := sqlitekv.Open(cfg.Connection)
	if err != nil {
		return nil, err
	}
	b, err := newBackend(db, cfg)
	if err != nil {
		return nil, err
	}
	b.ReadOnly = sqliteReadOnly(cfg.Connection)
	return b, nil
}

// sqliteReadOnly reports whether a SQLite connection string opens the
// database read-only: a "mode=ro" parameter after the "?".
func sqliteReadOnly(dsn string) bool {
	_, query, ok := strings.Cut(dsn, "?")
	if !ok {
		return false
	}
	if i := strings.IndexByte(query, '#'); i >= 0 {
		query = query[:i]
	}
	q, err := url.ParseQuery(query)
	return err == nil && q.Get("mode") == "ro"
}
