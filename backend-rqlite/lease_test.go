package rqlitekv

import (
	"context"
	"testing"

	"github.com/rqlite/gorqlite"
	"github.com/stretchr/testify/require"

	"github.com/kvsuite/kv/conformance"
)

// TestLeaseAcquiredMigration: migration 0007_lease_acquired over a held
// lease. The database is built again as migrations 1 to 6 left it, with
// the leases as they stand, and Init migrates it.
func TestLeaseAcquiredMigration(t *testing.T) {
	db := openEmpty(t)
	conformance.RunLeaseAcquiredMigration(t, db, func(t *testing.T) {
		ctx := context.Background()
		qr, err := db.queryOne(ctx, "leases", gorqlite.ParameterizedStatement{
			Query: "SELECT name, owner, CAST(token AS TEXT), CAST(coalesce(expires, 0) AS TEXT) FROM leases"})
		require.NoError(t, err)
		var rows [][]any
		for qr.Next() {
			row, err := qr.Slice()
			require.NoError(t, err)
			rows = append(rows, row)
		}
		dropAll(t, db)
		for _, m := range migrations[:6] {
			require.NoError(t, db.migrate(ctx, m), m.name)
		}
		for _, row := range rows {
			_, err := db.conn.WriteOneParameterizedContext(ctx, gorqlite.ParameterizedStatement{
				Query:     "INSERT INTO leases (name, owner, token, expires) VALUES (?, ?, CAST(? AS INTEGER), CAST(? AS INTEGER))",
				Arguments: row})
			require.NoError(t, err)
		}
		require.NoError(t, db.Init(ctx))
	})
}
