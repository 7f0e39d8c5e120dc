package rqlitekv

import (
	"context"
	"testing"
	"time"

	"github.com/rqlite/gorqlite"
	"github.com/stretchr/testify/require"

	"github.com/kvsuite/kv/conformance"
)

// TestMigrateTasksLost: tasks stored before migration 6 read back with no
// lost attempts and not at-most-once, and a claim that takes one over from
// an expired lease counts the lost attempt.
func TestMigrateTasksLost(t *testing.T) {
	ctx := context.Background()
	db := openEmpty(t)
	dropAll(t, db)
	for _, m := range migrations[:5] {
		require.NoError(t, db.migrate(ctx, m), m.name)
	}
	now := time.Date(2030, 1, 1, 0, 0, 0, 0, time.UTC)
	_, err := db.conn.WriteOneParameterizedContext(ctx, gorqlite.ParameterizedStatement{
		Query: `INSERT INTO tasks (id, name, payload, status, priority, created, scheduled_for, started, attempts, max_retries,
	timeout, last_error, locked_by, locked_until, token, cancel_requested)
VALUES ('old', 'job', 'null', 'running', 0, ?, ?, ?, 1, 0, 0, '', 'dead', ?, 1, 0)`,
		Arguments: []any{now.UnixMicro(), now.UnixMicro(), now.UnixMicro(), now.UnixMicro()},
	})
	require.NoError(t, err)
	require.NoError(t, db.Init(ctx))
	conformance.CheckTaskMigrated(t, db, "old", now)
}
