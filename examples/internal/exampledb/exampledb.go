// Package exampledb opens the SQLite database the example programs share:
// the file a -db flag names, or a new file in a temporary directory that is
// removed when the program ends.
package exampledb

import (
	"context"
	"fmt"
	"os"
	"path/filepath"

	sqlitekv "github.com/kvsuite/kv/backend-sqlite"
)

// Open opens (creating if needed) the SQLite database at path, or at a new
// temporary file if path is "", and creates or migrates kv's schema.
// The returned close function closes the database and removes the temporary
// directory, if one was made.
func Open(ctx context.Context, path string) (*sqlitekv.DB, func(), error) {
	cleanup := func() {}
	if path == "" {
		dir, err := os.MkdirTemp("", "kv-example-")
		if err != nil {
			return nil, nil, err
		}
		cleanup = func() { _ = os.RemoveAll(dir) }
		path = filepath.Join(dir, "data.db")
	}
	db, err := sqlitekv.Open(path)
	if err != nil {
		cleanup()
		return nil, nil, err
	}
	if err := db.Init(ctx); err != nil { // idempotent: creates or migrates the schema
		_ = db.Close()
		cleanup()
		return nil, nil, fmt.Errorf("init %s: %w", path, err)
	}
	return db, func() { _ = db.Close(); cleanup() }, nil
}
