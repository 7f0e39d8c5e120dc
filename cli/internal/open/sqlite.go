package open

import (
	"context"
	"errors"
	"fmt"
	"io/fs"
	"net/url"
	"strings"

	sqlitekv "github.com/kvsuite/kv/backend-sqlite"
)

// openSQLite opens an embedded SQLite database (sqlitekv checks the
// connection string, and that a mode=ro or mode=rw database exists). With
// cfg.MustExist, mode=rwc (the default) becomes mode=rw: a missing file is
// an error, not created.
func openSQLite(ctx context.Context, cfg Config) (*Backend, error) {
	dsn := cfg.Connection
	if cfg.MustExist {
		dsn = sqliteExisting(dsn)
	}
	db, err := sqlitekv.Open(dsn)
	if err != nil {
		if dsn != cfg.Connection && errors.Is(err, fs.ErrNotExist) {
			// "the database file does not exist; ..."
			return nil, fmt.Errorf("%w; a command that only reads does not create it: run kv init first", ErrNoDatabaseFile)
		}
		return nil, err
	}
	b, err := newBackend(db, cfg)
	if err != nil {
		return nil, err
	}
	b.ReadOnly = sqliteReadOnly(dsn)
	b.private = sqliteMemory(dsn)
	return b, nil
}

// sqliteParams splits a SQLite connection string (a path or a file: URI, as
// sqlitekv.Open reads them) into what comes before the "?" and its
// parameters; ok is false if they are malformed.
func sqliteParams(dsn string) (path string, params url.Values, ok bool) {
	if strings.HasPrefix(dsn, "file:") {
		dsn, _, _ = strings.Cut(dsn, "#")
	}
	path, query, _ := strings.Cut(dsn, "?")
	params, err := url.ParseQuery(query)
	return path, params, err == nil
}

// sqliteReadOnly reports whether a SQLite connection string opens the
// database read-only: a "mode=ro" parameter after the "?".
func sqliteReadOnly(dsn string) bool {
	_, params, ok := sqliteParams(dsn)
	return ok && params.Get("mode") == "ro"
}

// sqliteExisting returns dsn changed to open an existing file only: its
// mode rwc, or no mode, becomes rw. An in-memory database, another mode or
// a malformed dsn (which sqlitekv refuses) is returned unchanged.
func sqliteExisting(dsn string) string {
	path, params, ok := sqliteParams(dsn)
	if !ok || dsn == ":memory:" || strings.TrimPrefix(path, "file:") == ":memory:" {
		return dsn
	}
	switch params.Get("mode") {
	case "", "rwc":
		params.Set("mode", "rw")
		return path + "?" + params.Encode()
	}
	return dsn
}
