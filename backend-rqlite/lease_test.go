package rqlitekv

import (
	"context"
	"testing"

	"github.com/stretchr/testify/require"

	"github.com/kvsuite/kv/conformance"
)

// TestLeaseAcquiredMigration: migration 0007_lease_acquired over a held
// lease. Init applies the migrations after the newest one recorded, so the
// schema goes back to before 0007: the later 0008 is undone too.
func TestLeaseAcquiredMigration(t *testing.T) {
	db := openEmpty(t)
	conformance.RunLeaseAcquiredMigration(t, db, func(t *testing.T) {
		ctx := context.Background()
		_, err := db.conn.WriteContext(ctx, []string{
			"ALTER TABLE leases DROP COLUMN acquired",
			"DROP TABLE request_log",
			"DELETE FROM schema_migrations WHERE version >= 7",
		})
		require.NoError(t, err)
		require.NoError(t, db.Init(ctx))
	})
}
