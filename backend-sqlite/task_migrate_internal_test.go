package sqlitekv

import (
	"context"
	"path/filepath"
	"testing"
	"time"

	"github.com/kvsuite/kv/conformance"
)

// TestMigrateTasksLost: tasks stored before migration 0005 read back with
// no lost attempts and not at-most-once, and a claim that takes one over
// from an expired lease counts the lost attempt.
func TestMigrateTasksLost(t *testing.T) {
	ctx := context.Background()
	db, err := Open(filepath.Join(t.TempDir(), "kv.db"))
	if err != nil {
		t.Fatal(err)
	}
	defer db.Close()
	// The schema as migrations 1 to 4 left it, with a running task whose
	// lease has expired.
	if _, err := db.wdb.ExecContext(ctx, createMigrationsTable); err != nil {
		t.Fatal(err)
	}
	for _, m := range migrations[:4] {
		if _, err := db.wdb.ExecContext(ctx, m.sql); err != nil {
			t.Fatalf("%s: %v", m.name, err)
		}
		if _, err := db.wdb.ExecContext(ctx, "INSERT INTO schema_migrations (version, name, applied) VALUES (?, ?, 0)", m.version, m.name); err != nil {
			t.Fatal(err)
		}
	}
	now := time.Date(2030, 1, 1, 0, 0, 0, 0, time.UTC)
	if _, err := db.wdb.ExecContext(ctx, `INSERT INTO tasks (id, name, payload, status, priority, unique_key, created,
scheduled_for, started, completed, attempts, max_retries, timeout, last_error, locked_by, locked_until, token, cancel_requested)
VALUES ('old', 'job', 'null', 'running', 0, NULL, ?1, ?1, ?1, NULL, 1, 0, 0, '', 'dead', ?1, 1, 0)`, now.UnixMicro()); err != nil {
		t.Fatal(err)
	}
	if err := db.Init(ctx); err != nil {
		t.Fatal(err)
	}
	conformance.CheckTaskMigrated(t, db, "old", now)
}
