package postgreskv_test

import (
	"context"
	"testing"

	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgxpool"
	"github.com/stretchr/testify/require"

	postgreskv "github.com/kvsuite/kv/backend-postgres"
	"github.com/kvsuite/kv/conformance"
	"github.com/kvsuite/kv/kvcore/driver"
)

// TestConformance runs kv's store suite; every call of the factory gets a
// fresh schema of the test database, dropped when its test ends.
func TestConformance(t *testing.T) {
	needServer(t)
	conformance.RunStore(t, func(t *testing.T) driver.Store { return newDB(t) })
}

// TestConformanceSimpleProtocol runs the suite on a pool that uses the
// simple query protocol (as behind PgBouncer in transaction mode), where a
// batch is one multi-statement query string: still one implicit transaction.
func TestConformanceSimpleProtocol(t *testing.T) {
	needServer(t)
	cfg := testBase.Copy()
	cfg.ConnConfig.DefaultQueryExecMode = pgx.QueryExecModeSimpleProtocol
	pool, err := pgxpool.NewWithConfig(context.Background(), cfg)
	require.NoError(t, err)
	t.Cleanup(pool.Close)
	conformance.RunStore(t, func(t *testing.T) driver.Store {
		db := postgreskv.New(pool, postgreskv.WithSchema(newSchemaName(t)))
		require.NoError(t, db.Init(context.Background()))
		return db
	})
}

// TestConformanceLocker runs kvlock's suite (leases, tokens, fenced writes).
func TestConformanceLocker(t *testing.T) {
	needServer(t)
	conformance.RunLocker(t, func(t *testing.T) conformance.Backend {
		db := newDB(t)
		return conformance.Backend{Store: db, Locker: db}
	})
}
