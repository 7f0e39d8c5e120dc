package postgreskv_test

import (
	"context"
	"encoding/json"
	"testing"

	"github.com/jackc/pgx/v5"
	"github.com/stretchr/testify/require"

	postgreskv "github.com/kvsuite/kv/backend-postgres"
)

// TestStreamGapFree makes a transaction that took a smaller seq commit after
// one that took a larger seq, and shows that a seq cursor skips it for good
// while the (xid, seq) cursor of streamVisible does not.
func TestStreamGapFree(t *testing.T) {
	db := newDB(t)
	ctx := context.Background()
	s, _ := newStore(t, db)
	stream := pgx.Identifier{db.Schema(), "kv_stream"}.Sanitize()
	insert := "INSERT INTO " + stream + " (namespace, key, action, version, type, value, ts) VALUES ('', $1, 'create', 1, '', '1', now()) RETURNING seq"

	require.NoError(t, s.Put(ctx, "first", -1, json.RawMessage(`1`)))
	all, err := postgreskv.StreamVisible(ctx, db, postgreskv.StreamPos{}, 100)
	require.NoError(t, err)
	require.Len(t, all, 1)
	pos := all[0].Pos

	// A gets its transaction id first; B inserts its row (smaller seq) and
	// stays open while A inserts (larger seq) and commits.
	txA, err := testPool.Begin(ctx)
	require.NoError(t, err)
	defer txA.Rollback(ctx)
	txB, err := testPool.Begin(ctx)
	require.NoError(t, err)
	defer txB.Rollback(ctx)
	_, err = txA.Exec(ctx, "SELECT pg_current_xact_id()")
	require.NoError(t, err)
	_, err = txB.Exec(ctx, "SELECT pg_current_xact_id()")
	require.NoError(t, err)
	var seqB, seqA int64
	require.NoError(t, txB.QueryRow(ctx, insert, "b").Scan(&seqB))
	require.NoError(t, txA.QueryRow(ctx, insert, "a").Scan(&seqA))
	require.Less(t, seqB, seqA)
	require.NoError(t, txA.Commit(ctx))

	// A naive reader that follows seq sees A's row, although B's smaller seq
	// is not visible yet: its cursor would move past seqB.
	var naive []int64
	rows, err := testPool.Query(ctx, "SELECT seq FROM "+stream+" WHERE seq > $1 AND xid < pg_snapshot_xmin(pg_current_snapshot()) ORDER BY seq", pos.Seq)
	require.NoError(t, err)
	naive, err = pgx.CollectRows(rows, pgx.RowTo[int64])
	require.NoError(t, err)
	require.Equal(t, []int64{seqA}, naive, "the naive reader skips ahead")

	// streamVisible returns A's row too (A's xid is below B's, the
	// snapshot's xmin), but its cursor is (xid, seq) ...
	got, err := postgreskv.StreamVisible(ctx, db, pos, 100)
	require.NoError(t, err)
	require.Len(t, got, 1)
	require.Equal(t, "a", got[0].Key)
	pos = got[0].Pos

	// ... so once B commits, B's row comes after it, while the naive
	// reader's cursor (seqA) has passed B's row for good.
	require.NoError(t, txB.Commit(ctx))
	require.NoError(t, s.Put(ctx, "last", -1, json.RawMessage(`1`)))
	got, err = postgreskv.StreamVisible(ctx, db, pos, 100)
	require.NoError(t, err)
	var keys []string
	for _, e := range got {
		keys = append(keys, e.Key)
	}
	require.Equal(t, []string{"b", "last"}, keys)
	rows, err = testPool.Query(ctx, "SELECT key FROM "+stream+" WHERE seq > $1 AND xid < pg_snapshot_xmin(pg_current_snapshot()) ORDER BY seq", seqA)
	require.NoError(t, err)
	naiveKeys, err := pgx.CollectRows(rows, pgx.RowTo[string])
	require.NoError(t, err)
	require.Equal(t, []string{"last"}, naiveKeys, "the naive reader never sees b")
}
