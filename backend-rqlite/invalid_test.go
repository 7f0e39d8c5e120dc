package rqlitekv

import (
	"context"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"github.com/kvsuite/kv/kvcore"
	"github.com/kvsuite/kv/kvcore/driver"
	streamdriver "github.com/kvsuite/kv/kvstream/driver"
)

// TestInvalidArguments: bad options and arguments the driver refuses wrap
// kvcore.ErrInvalidArgument (options and the connection string also
// ErrInvalidConnString), and send nothing to rqlite.
func TestInvalidArguments(t *testing.T) {
	u := serverURL(t)
	for name, opt := range map[string]Option{
		"consistency":      WithConsistency("eventual"),
		"timeout":          WithTimeout(0),
		"leader wait":      WithLeaderWait(-time.Second),
		"nil client":       WithHTTPClient(nil),
		"negative timeout": WithTimeout(-time.Second),
	} {
		_, err := Open(u, opt)
		require.ErrorIs(t, err, ErrInvalidConnString, name)
		require.ErrorIs(t, err, kvcore.ErrInvalidArgument, name)
	}
	_, err := ParseConsistency("auto")
	require.ErrorIs(t, err, ErrInvalidConnString)
	require.ErrorIs(t, err, kvcore.ErrInvalidArgument)

	db, c := openCounted(t)
	ctx := context.Background()
	before := c.get()
	_, err = db.Sweep(ctx, t0, 0)
	require.ErrorIs(t, err, kvcore.ErrInvalidArgument)
	_, _, _, err = db.Read(ctx, streamdriver.Query{Limit: 0})
	require.ErrorIs(t, err, kvcore.ErrInvalidArgument)
	_, err = db.Trim(ctx, -1, false)
	require.ErrorIs(t, err, kvcore.ErrInvalidArgument)
	_, err = db.Apply(ctx, driver.Batch{Now: t0, Ops: []driver.Op{
		{Kind: driver.OpPut, Namespace: "ns", Key: "a", Version: -1, Value: []byte(`1`)},
		{Kind: driver.OpKind(99), Namespace: "ns", Key: "b"},
	}})
	require.ErrorIs(t, err, kvcore.ErrInvalidArgument)
	var oe *driver.OpError
	require.ErrorAs(t, err, &oe)
	require.Equal(t, 1, oe.Index)
	require.Equal(t, before, c.get(), "nothing sent")
}
