package rqlitekv

import (
	"context"
	"testing"

	"github.com/stretchr/testify/require"

	coredriver "github.com/kvsuite/kv/kvcore/driver"
	lockdriver "github.com/kvsuite/kv/kvlock/driver"
	streamdriver "github.com/kvsuite/kv/kvstream/driver"
)

// The optional interfaces the conformance suites test (and would skip
// without): a *DB must implement every one. It has no Notifier, so it
// needs no NotifyScope.
var (
	_ coredriver.NamespaceLister = (*DB)(nil)
	_ coredriver.SchemaVersioner = (*DB)(nil)
	_ lockdriver.LeaseLister     = (*DB)(nil)
)

// TestAdminSchemaVersion: the applied version after Init is the driver's;
// a DB that is not a Notifier declares no notify scope.
func TestAdminSchemaVersion(t *testing.T) {
	db := openEmpty(t)
	applied, required, err := db.SchemaVersion(context.Background())
	require.NoError(t, err)
	require.Equal(t, []int{latestVersion(), latestVersion()}, []int{applied, required})
	_, notifies := any(db).(streamdriver.Notifier)
	require.False(t, notifies)
}
