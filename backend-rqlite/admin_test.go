package rqlitekv

import (
	"context"
	"testing"

	"github.com/stretchr/testify/require"

	coredriver "github.com/kvsuite/kv/kvcore/driver"
	lockdriver "github.com/kvsuite/kv/kvlock/driver"
)

// The optional interfaces the conformance suites test (and would skip
// without): a *DB must implement every one.
var (
	_ coredriver.NamespaceLister = (*DB)(nil)
	_ coredriver.SchemaVersioner = (*DB)(nil)
	_ lockdriver.LeaseLister     = (*DB)(nil)
)

// TestAdminSchemaVersion: the applied version after Init is the driver's;
// its notifications cover this process only, so consumers keep polling
// for other processes' and nodes' writes.
func TestAdminSchemaVersion(t *testing.T) {
	db := openEmpty(t)
	applied, required, err := db.SchemaVersion(context.Background())
	require.NoError(t, err)
	require.Equal(t, []int{latestVersion(), latestVersion()}, []int{applied, required})
	require.False(t, db.NotifiesOtherProcesses())
}
