package sqlitekv

import (
	"context"
	"fmt"
	"strings"
	"time"

	"github.com/kvsuite/kv/kvcore/driver"
	"github.com/kvsuite/kv/sqlitedialect"
)

// migration is one schema step; versions start at 1 and increase.
type migration struct {
	version int
	name    string
	sql     string
}

// migrations are the SQLite dialect's schema steps, every one of which
// this backend applies (see sqlitedialect.Migrations).
var migrations = func() []migration {
	var ms []migration
	for _, m := range sqlitedialect.Migrations() {
		ms = append(ms, migration{version: m.Version, name: m.Name, sql: m.SQL})
	}
	return ms
}()

// latestVersion is the schema version this driver needs.
func latestVersion() int {
	if len(migrations) == 0 {
		return 0
	}
	return migrations[len(migrations)-1].version
}

const createMigrationsTable = `CREATE TABLE IF NOT EXISTS schema_migrations (
    version INTEGER PRIMARY KEY,
    name    TEXT    NOT NULL,
    applied INTEGER NOT NULL
)`

// Init creates or migrates the schema. The migrations run in the writer's
// BEGIN IMMEDIATE transaction, so two processes running Init at once apply
// each step exactly once; running Init again changes nothing. On a read-only
// database Init succeeds if the schema is current and fails otherwise.
func (db *DB) Init(ctx context.Context) error {
	if db.closed.Load() {
		return driver.ErrClosed
	}
	if db.readOnly {
		v, err := db.schemaVersion(ctx)
		if err != nil {
			return err
		}
		if v < latestVersion() {
			return fmt.Errorf("sqlitekv: init %q: %w: schema version %d needs migrating to %d: %w", db.name, ErrReadOnly, v, latestVersion(), driver.ErrNotInitialized)
		}
		db.ready.Store(true)
		return nil
	}
	err := db.submit(ctx, func(w *wtx) error { return w.migrate() })
	if err != nil {
		return db.dbError("init", err)
	}
	db.ready.Store(true)
	return nil
}

// migrate applies the missing migrations inside the writer's transaction.
func (w *wtx) migrate() error {
	if _, err := w.tx.ExecContext(w.ctx, createMigrationsTable); err != nil {
		return err
	}
	var cur int
	if err := w.tx.QueryRowContext(w.ctx, "SELECT coalesce(max(version), 0) FROM schema_migrations").Scan(&cur); err != nil {
		return err
	}
	for _, m := range migrations {
		if m.version <= cur {
			continue
		}
		if _, err := w.tx.ExecContext(w.ctx, m.sql); err != nil {
			return fmt.Errorf("migration %s: %w", m.name, err)
		}
		if _, err := w.tx.ExecContext(w.ctx, "INSERT INTO schema_migrations (version, name, applied) VALUES (?, ?, ?)",
			m.version, m.name, time.Now().UnixMicro()); err != nil {
			return fmt.Errorf("migration %s: %w", m.name, err)
		}
	}
	return nil
}

// schemaVersion reads the schema version through a reader (0: no schema).
func (db *DB) schemaVersion(ctx context.Context) (int, error) {
	var v int
	err := db.rdb.QueryRowContext(ctx, "SELECT coalesce(max(version), 0) FROM schema_migrations").Scan(&v)
	if err != nil {
		if strings.Contains(err.Error(), "no such table") {
			return 0, nil
		}
		return 0, db.dbError("schema version", err)
	}
	return v, nil
}
