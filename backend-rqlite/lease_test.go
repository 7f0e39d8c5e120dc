package rqlitekv

import (
	"context"
	"testing"

	"github.com/stretchr/testify/require"

	"github.com/kvsuite/kv/conformance"
)

// TestLeaseAcquiredMigration: migration 0007_lease_acquired over a held
// lease.
func TestLeaseAcquiredMigration(t *testing.T) {
	db := openEmpty(t)
	conformance.RunLeaseAcquiredMigration(t, db, func(t *testing.T) {
		ctx := context.Background()
		_, err := db.conn.WriteContext(ctx, []string{
			"ALTER TABLE leases DROP COLUMN acquired",
			"DELETE FROM schema_migrations WHERE name = '0007_lease_acquired'",
		})
		require.NoError(t, err)
		require.NoError(t, db.Init(ctx))
	})
}
