package postgreskv

import (
	"context"
	"time"

	"github.com/jackc/pgx/v5"
)

// The change stream's table, kv_stream, gets one row per change in the
// writing transaction. Its seq comes from a sequence, which hands values out
// before commit: a transaction that took seq 10 can commit after one that
// took seq 11. A reader that follows seq alone (even one that only reads
// rows whose xid is below the snapshot's xmin) can therefore see 11, move
// its cursor past it, and never see 10.
//
// streamVisible shows the order that is gap-free: only rows whose
// transaction id is below pg_snapshot_xmin(pg_current_snapshot()) (every
// such transaction has ended, and no transaction that starts later can have
// a smaller id), read in (xid, seq) order after a (xid, seq) cursor. The set
// of such rows only ever grows at its end, so a reader that keeps the
// cursor misses nothing and sees nothing twice. It is the building block
// for the stream reader (kvstream), which is not built here.

// streamPos is a position in the stream: the (xid, seq) of the last entry
// read; the zero value is the start.
type streamPos struct {
	Xid uint64
	Seq int64
}

// streamEntry is one row of the change stream.
type streamEntry struct {
	Pos       streamPos
	Namespace string
	Key       string
	Action    string
	Version   int64
	Type      string
	Value     []byte // nil for a delete
	TS        time.Time
}

// streamVisible returns up to limit entries after pos, in (xid, seq) order,
// from transactions that have all ended. See the comment above.
func (db *DB) streamVisible(ctx context.Context, after streamPos, limit int) ([]streamEntry, error) {
	if err := db.check(); err != nil {
		return nil, err
	}
	rows, err := db.pool.Query(ctx, `SELECT xid, seq, namespace, key, action, version, type, value, ts FROM `+db.stream+`
WHERE xid < pg_snapshot_xmin(pg_current_snapshot()) AND (xid, seq) > ($1::xid8, $2)
ORDER BY xid, seq LIMIT $3`, after.Xid, after.Seq, int64(limit))
	if err != nil {
		return nil, db.mapError(err)
	}
	out, err := pgx.CollectRows(rows, func(r pgx.CollectableRow) (streamEntry, error) {
		var e streamEntry
		err := r.Scan(&e.Pos.Xid, &e.Pos.Seq, &e.Namespace, &e.Key, &e.Action, &e.Version, &e.Type, &e.Value, &e.TS)
		e.TS = e.TS.UTC()
		return e, err
	})
	if err != nil {
		return nil, db.mapError(err)
	}
	return out, nil
}
