package taskbench

import (
	"context"
	"fmt"
	"path/filepath"
	"sync/atomic"
	"testing"
	"time"

	"github.com/jackc/pgx/v5"

	postgreskv "github.com/kvsuite/kv/backend-postgres"
	rqlitekv "github.com/kvsuite/kv/backend-rqlite"
	"github.com/kvsuite/kv/backend-rqlite/rqlitetest"
	sqlitekv "github.com/kvsuite/kv/backend-sqlite"
	taskdriver "github.com/kvsuite/kv/kvtask/driver"
)

// schemaSeq names the PostgreSQL schemas of the kv scenarios.
var schemaSeq atomic.Int64

// openSQLite returns a new file database in tb's temporary directory, with
// the backend's defaults (WAL, synchronous=FULL).
func openSQLite(tb testing.TB) (taskdriver.Queue, error) {
	db, err := sqlitekv.Open(filepath.Join(tb.TempDir(), "kv.db"))
	if err != nil {
		return nil, err
	}
	tb.Cleanup(func() { _ = db.Close() })
	if err := db.Init(context.Background()); err != nil {
		return nil, err
	}
	return db, nil
}

// openPostgres returns a DB in a new schema of this run's kv database, on
// the shared pool; the schema is dropped when tb ends.
func openPostgres(tb testing.TB) (taskdriver.Queue, error) {
	needPostgres(tb)
	schema := fmt.Sprintf("s%d", schemaSeq.Add(1))
	tb.Cleanup(func() {
		ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
		defer cancel()
		if _, err := kvPool.Exec(ctx, "DROP SCHEMA IF EXISTS "+pgx.Identifier{schema}.Sanitize()+" CASCADE"); err != nil {
			tb.Errorf("drop schema %s: %v", schema, err)
		}
	})
	db := postgreskv.New(kvPool, postgreskv.WithSchema(schema))
	tb.Cleanup(func() { _ = db.Close() })
	if err := db.Init(context.Background()); err != nil {
		return nil, err
	}
	return db, nil
}

// openRqlite returns a DB on a new, empty rqlite (rqlitetest.NewURL: a
// real single-node rqlited when one is found, else the in-process
// stand-in).
func openRqlite(tb testing.TB) (taskdriver.Queue, error) {
	db, err := rqlitekv.Open(rqlitetest.NewURL(tb), rqlitekv.WithTimeout(2*time.Minute))
	if err != nil {
		return nil, err
	}
	tb.Cleanup(func() { _ = db.Close() })
	if err := db.Init(context.Background()); err != nil {
		return nil, err
	}
	return db, nil
}
