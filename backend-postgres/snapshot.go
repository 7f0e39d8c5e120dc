package postgreskv

import (
	"context"
	"time"

	"github.com/jackc/pgx/v5"

	coredriver "github.com/kvsuite/kv/kvcore/driver"
)

var _ coredriver.Snapshotter = (*DB)(nil)

// snapshotTries is how many times Snapshot begins again when the snapshot
// holds changes not yet numbered.
const snapshotTries = 3

// Snapshot runs fn in one REPEATABLE READ, READ ONLY transaction: every
// read sees the snapshot its first statement took. The stream is numbered
// after commit (see stream.go), so a sequencer step runs first, to number
// what is committed by then; the first statement reads the last position
// and whether the snapshot holds rows still without one (committed
// between the step and the snapshot). If it does, the position is not
// exact: Snapshot begins again, up to snapshotTries times, then settles
// for an inexact position.
func (db *DB) Snapshot(ctx context.Context, fn func(coredriver.Reader) error) error {
	if err := db.check(); err != nil {
		return err
	}
	for try := 1; ; try++ {
		if _, _, err := db.Bounds(ctx); err != nil { // runs a sequencer step
			return err
		}
		tx, err := db.pool.BeginTx(ctx, pgx.TxOptions{IsoLevel: pgx.RepeatableRead, AccessMode: pgx.ReadOnly})
		if err != nil {
			return db.mapError(err)
		}
		r := &snapshotReader{db: db, tx: tx}
		var unnumbered bool
		err = tx.QueryRow(ctx, "SELECT last_pos, EXISTS (SELECT 1 FROM "+db.stream+" WHERE pos IS NULL) FROM "+db.streamMeta).Scan(&r.seq, &unnumbered)
		if err == nil && unnumbered && try < snapshotTries {
			_ = tx.Rollback(ctx)
			continue
		}
		if err == nil {
			r.exact = !unnumbered
			err = fn(r)
		}
		if err != nil {
			_ = tx.Rollback(context.WithoutCancel(ctx))
			return db.mapError(err)
		}
		return db.mapError(tx.Commit(ctx))
	}
}

// snapshotReader reads in the transaction of Snapshot.
type snapshotReader struct {
	db    *DB
	tx    pgx.Tx
	seq   int64
	exact bool
}

func (r *snapshotReader) Query(ctx context.Context, sel coredriver.Selector, now time.Time) ([]coredriver.Record, error) {
	sql, a := r.db.rangeSQL(sel, now)
	return queryRowsOn(ctx, r.db, r.tx, scanRecord, sql, a...)
}

func (r *snapshotReader) Namespaces(ctx context.Context, now time.Time) ([]string, error) {
	return queryRowsOn(ctx, r.db, r.tx, pgx.RowTo[string], r.db.namespacesSQL(), utc(now))
}

func (r *snapshotReader) StreamSeq(context.Context) (int64, bool, error) { return r.seq, r.exact, nil }
