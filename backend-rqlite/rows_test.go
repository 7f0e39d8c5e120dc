package rqlitekv

import (
	"context"
	"testing"

	"github.com/rqlite/gorqlite"
	"github.com/stretchr/testify/require"
)

// TestScanRows: the row helpers read every row, or the first, check the
// column count and name the operation in their errors.
func TestScanRows(t *testing.T) {
	db, err := Open(serverURL(t))
	require.NoError(t, err)
	defer db.Close()
	ctx := context.Background()
	query := func(q string) *gorqlite.QueryResult {
		qr, err := db.queryOne(ctx, "test", gorqlite.ParameterizedStatement{Query: q})
		require.NoError(t, err)
		return qr
	}
	const three = "SELECT '1' UNION ALL SELECT '2' UNION ALL SELECT '3'"
	got, err := scanRows("test", query(three), 1, firstInt)
	require.NoError(t, err)
	require.Equal(t, []int64{1, 2, 3}, got)

	n, ok, err := scanOne("test", query(three), 1, firstInt)
	require.NoError(t, err)
	require.True(t, ok)
	require.Equal(t, int64(1), n)

	_, ok, err = scanOne("test", query("SELECT 1 WHERE 0"), 1, firstInt)
	require.NoError(t, err)
	require.False(t, ok)
	_, ok, err = scanOne[int64]("test", nil, 1, firstInt)
	require.NoError(t, err)
	require.False(t, ok)
	none, err := scanRows[int64]("test", nil, 1, firstInt)
	require.NoError(t, err)
	require.Empty(t, none)

	_, err = scanRows("test", query("SELECT '1', '2'"), 1, firstInt)
	require.EqualError(t, err, "rqlitekv: test: row has 2 columns, want 1")
	_, _, err = scanOne("test", query("SELECT 'x'"), 1, firstInt)
	require.ErrorContains(t, err, "rqlitekv: test: ")
	require.ErrorContains(t, err, `"x"`)
}
