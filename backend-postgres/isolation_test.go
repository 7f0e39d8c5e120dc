package postgreskv_test

import (
	"context"
	"testing"

	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgxpool"
	"github.com/stretchr/testify/require"

	"github.com/kvsuite/kv/backend-postgres/postgrestest"
	"github.com/kvsuite/kv/conformance"
)

// TestIsolationLevels runs the store, lease, stream and task suites on a
// database whose default transaction isolation is serializable, and on one
// whose default is repeatable read: PostgreSQL then fails concurrent writes
// of one row and, under serializable, transactions whose reads were
// invalidated (SQLSTATE 40001) where READ COMMITTED waits, and every write
// path must retry them so that writes behave as under READ COMMITTED (the
// suites' concurrent writers, patchers, lease holders, consumers and task
// claims).
func TestIsolationLevels(t *testing.T) {
	t.Parallel()
	needServer(t)
	for _, level := range []string{"serializable", "repeatable read"} {
		t.Run(level, func(t *testing.T) {
			t.Parallel()
			conformance.Run(t, harnessOn(isolatedDatabase(t, level)))
		})
	}
}

// isolatedDatabase creates a database of its own whose default transaction
// isolation is level (ALTER DATABASE ... SET default_transaction_isolation)
// and returns a pool on it; both are dropped when t ends. The pool's
// sessions are checked to run at that level.
func isolatedDatabase(t *testing.T, level string) *pgxpool.Pool {
	t.Helper()
	ctx := context.Background()
	db := postgrestest.New(t, "kv_test_"+map[string]string{"serializable": "ser", "repeatable read": "rr"}[level])
	require.NoError(t, db.Exec(ctx, "ALTER DATABASE "+pgx.Identifier{db.Name}.Sanitize()+" SET default_transaction_isolation = '"+level+"'"))
	name := db.Name
	pool := newPool(t, func(c *pgxpool.Config) { c.ConnConfig.Database = name })
	var got string
	require.NoError(t, pool.QueryRow(ctx, "SHOW transaction_isolation").Scan(&got))
	require.Equal(t, level, got, "a session of the database runs at its default isolation")
	return pool
}
