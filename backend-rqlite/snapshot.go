package rqlitekv

import (
	"context"
	"fmt"
	"time"

	coredriver "github.com/kvsuite/kv/kvcore/driver"
)

var _ coredriver.Snapshotter = (*DB)(nil)

// Snapshot gives fn what rqlite can: it has no read transaction that spans
// requests, so each of fn's reads is one request at the connection's read
// consistency, as outside a snapshot. What makes it a snapshot is a check:
// the stream's last seq is read before fn and again after it, and since
// rqlite applies writes one at a time in seq order and every change of a
// record appends an entry (a Touch too), equal seqs mean no record changed
// while fn read. Otherwise Snapshot
// returns an error wrapping ErrSnapshotChanged.
func (db *DB) Snapshot(ctx context.Context, fn func(coredriver.Reader) error) error {
	_, before, err := db.Bounds(ctx)
	if err != nil {
		return err
	}
	if err := fn(&snapshotReader{db: db, seq: before}); err != nil {
		return err
	}
	_, after, err := db.Bounds(ctx)
	if err != nil {
		return err
	}
	if after != before {
		return fmt.Errorf("rqlitekv: %w: the stream moved from seq %d to %d (rqlite has no read transaction across requests)", coredriver.ErrSnapshotChanged, before, after)
	}
	return nil
}

// snapshotReader reads for Snapshot: plain reads, checked afterwards.
type snapshotReader struct {
	db  *DB
	seq int64
}

func (r *snapshotReader) Query(ctx context.Context, sel coredriver.Selector, now time.Time) ([]coredriver.Record, error) {
	return r.db.Query(ctx, sel, now)
}

func (r *snapshotReader) Namespaces(ctx context.Context, now time.Time) ([]string, error) {
	return r.db.Namespaces(ctx, now)
}

func (r *snapshotReader) StreamSeq(context.Context) (int64, bool, error) { return r.seq, true, nil }
