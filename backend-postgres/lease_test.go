package postgreskv_test

import (
	"context"
	"testing"

	"github.com/jackc/pgx/v5"
	"github.com/stretchr/testify/require"

	"github.com/kvsuite/kv/conformance"
)

// TestLeaseAcquiredMigration: migration 10 over a held lease.
func TestLeaseAcquiredMigration(t *testing.T) {
	db := newDB(t)
	conformance.RunLeaseAcquiredMigration(t, db, func(t *testing.T) {
		ctx := context.Background()
		_, err := testPool.Exec(ctx, "ALTER TABLE "+pgx.Identifier{db.Schema(), "kv_leases"}.Sanitize()+" DROP COLUMN acquired; "+
			"DELETE FROM "+pgx.Identifier{db.Schema(), "kv_schema_migrations"}.Sanitize()+" WHERE version = 10")
		require.NoError(t, err)
		require.NoError(t, db.Init(ctx))
	})
}
