package postgreskv_test

import (
	"context"
	"testing"
	"time"

	"github.com/jackc/pgx/v5"
	"github.com/stretchr/testify/require"

	postgreskv "github.com/kvsuite/kv/backend-postgres"
	"github.com/kvsuite/kv/conformance"
)

// TestMigrateTasksLost: tasks and schedules stored before migration 9 read
// back with no lost attempts and not at-most-once, and a claim that takes
// a task over from an expired lease counts the lost attempt.
func TestMigrateTasksLost(t *testing.T) {
	needServer(t)
	ctx := context.Background()
	schema := newSchemaName(t)
	db := postgreskv.New(testPool, postgreskv.WithSchema(schema))
	t.Cleanup(func() { _ = db.Close() })
	require.NoError(t, postgreskv.InitVersion(ctx, db, 8))
	now := time.Date(2030, 1, 1, 0, 0, 0, 0, time.UTC)
	_, err := testPool.Exec(ctx, `INSERT INTO `+pgx.Identifier{schema, "kv_tasks"}.Sanitize()+` (id, name, payload, status,
	priority, created, scheduled_for, started, attempts, max_retries, timeout_us, last_error, locked_by, locked_until, token,
	cancel_requested) VALUES ('old', 'job', 'null', 'running', 0, $1, $1, $1, 1, 0, 0, '', 'dead', $1, 1, false)`, now)
	require.NoError(t, err)
	_, err = testPool.Exec(ctx, `INSERT INTO `+pgx.Identifier{schema, "kv_schedules"}.Sanitize()+` (name, spec, next,
	task_name, payload, priority, max_retries, timeout_us) VALUES ('s', '@hourly', $1, 'job', 'null', 0, 0, 0)`, now)
	require.NoError(t, err)
	require.NoError(t, db.Init(ctx))
	conformance.CheckTaskMigrated(t, db, "old", now)
	ss, err := db.Schedules(ctx)
	require.NoError(t, err)
	require.Len(t, ss, 1)
	require.False(t, ss[0].Template.AtMostOnce)
}
