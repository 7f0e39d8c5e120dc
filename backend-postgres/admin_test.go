package postgreskv_test

import (
	"context"
	"testing"

	"github.com/stretchr/testify/require"

	postgreskv "github.com/kvsuite/kv/backend-postgres"
	coredriver "github.com/kvsuite/kv/kvcore/driver"
	lockdriver "github.com/kvsuite/kv/kvlock/driver"
	streamdriver "github.com/kvsuite/kv/kvstream/driver"
)

// The optional interfaces the conformance suites test (and would skip
// without): a *DB must implement every one.
var (
	_ coredriver.NamespaceLister = (*postgreskv.DB)(nil)
	_ coredriver.SchemaVersioner = (*postgreskv.DB)(nil)
	_ lockdriver.LeaseLister     = (*postgreskv.DB)(nil)
	_ streamdriver.NotifyScope   = (*postgreskv.DB)(nil)
)

// TestAdminSchemaVersion: 0 before Init (no tables yet, no error), the
// driver's version after it.
func TestAdminSchemaVersion(t *testing.T) {
	ctx := context.Background()
	db := postgreskv.New(testPool, postgreskv.WithSchema(newSchemaName(t)))
	defer db.Close()
	applied, required, err := db.SchemaVersion(ctx)
	require.NoError(t, err)
	require.Equal(t, []int{0, postgreskv.SchemaVersion}, []int{applied, required})
	require.NoError(t, db.Init(ctx))
	applied, required, err = db.SchemaVersion(ctx)
	require.NoError(t, err)
	require.Equal(t, []int{postgreskv.SchemaVersion, postgreskv.SchemaVersion}, []int{applied, required})
}

// TestAdminNotifyScope: LISTEN/NOTIFY reaches every process, unless the DB
// was opened without notifications.
func TestAdminNotifyScope(t *testing.T) {
	needServer(t)
	require.True(t, postgreskv.New(testPool).NotifiesOtherProcesses())
	require.False(t, postgreskv.New(testPool, postgreskv.WithoutNotify()).NotifiesOtherProcesses())
}
