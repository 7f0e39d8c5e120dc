package sqlitekv

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"time"

	coredriver "github.com/kvsuite/kv/kvcore/driver"
	lockdriver "github.com/kvsuite/kv/kvlock/driver"
	streamdriver "github.com/kvsuite/kv/kvstream/driver"
	"github.com/kvsuite/kv/sqlitedialect"
)

// The SPIs a *DB implements.
var (
	_ coredriver.Store      = (*DB)(nil)
	_ lockdriver.Locker     = (*DB)(nil)
	_ streamdriver.Stream   = (*DB)(nil)
	_ streamdriver.Notifier = (*DB)(nil)
)

// Read returns stream entries after q.After in seq order, with the trim
// watermark and the highest seq read in the same statement (one snapshot).
// The stream is gap-free by construction: one writer assigns seqs inside
// its serial transactions, and a reader sees whole commits.
func (db *DB) Read(ctx context.Context, q streamdriver.Query) ([]streamdriver.Record, int64, int64, error) {
	if err := db.usable(ctx); err != nil {
		return nil, 0, 0, err
	}
	if q.Limit <= 0 {
		return nil, 0, 0, optionError("stream read limit %d must be positive", q.Limit)
	}
	query, args := sqlitedialect.SQLite.StreamRead(q)
	stmt, err := db.readStmt(ctx, query)
	if err != nil {
		return nil, 0, 0, db.dbError("stream read", err)
	}
	rows, err := stmt.QueryContext(ctx, args...)
	if err != nil {
		return nil, 0, 0, db.dbError("stream read", err)
	}
	defer rows.Close()
	var trimmed, last int64
	out := []streamdriver.Record{}
	for rows.Next() {
		var seq, version, ts sql.NullInt64
		var ns, key, action, typ sql.NullString
		var value []byte
		if err := rows.Scan(&trimmed, &last, &seq, &ns, &key, &action, &version, &typ, &value, &ts); err != nil {
			return nil, 0, 0, db.dbError("stream read", err)
		}
		if !seq.Valid {
			continue // no entries: the row only carries the watermark
		}
		out = append(out, streamdriver.Record{
			Seq: seq.Int64, Namespace: ns.String, Key: key.String, Action: action.String,
			Version: version.Int64, Type: typ.String, Value: value, Time: time.UnixMicro(ts.Int64).UTC(),
		})
	}
	if err := rows.Err(); err != nil {
		return nil, 0, 0, db.dbError("stream read", err)
	}
	return out, trimmed, last, nil
}

// qBounds reads the trim watermark and the highest seq Read can return.
var qBounds = sqlitedialect.SQLite.StreamBounds()

// Bounds returns the trim watermark and the highest seq Read can return
// (the watermark itself if everything was trimmed, 0 if none).
func (db *DB) Bounds(ctx context.Context) (trimmed, last int64, err error) {
	if err := db.usable(ctx); err != nil {
		return 0, 0, err
	}
	stmt, err := db.readStmt(ctx, qBounds)
	if err != nil {
		return 0, 0, db.dbError("stream bounds", err)
	}
	if err := stmt.QueryRowContext(ctx).Scan(&trimmed, &last); err != nil {
		return 0, 0, db.dbError("stream bounds", err)
	}
	return trimmed, last, nil
}

// Trim removes entries with seq <= upTo (never above the highest seq ever
// assigned, and with keepConsumers none above the lowest consumer position)
// and returns the watermark, which never decreases. A negative upTo is an
// error wrapping kvcore.ErrInvalidArgument.
func (db *DB) Trim(ctx context.Context, upTo int64, keepConsumers bool) (int64, error) {
	if upTo < 0 {
		return 0, optionError("stream trim seq %d is negative", upTo)
	}
	if err := db.writable(ctx); err != nil {
		return 0, err
	}
	var mark int64
	err := db.submit(ctx, func(w *wtx) error {
		var assigned int64
		err := w.tx.QueryRowContext(w.ctx, "SELECT coalesce((SELECT seq FROM sqlite_sequence WHERE name = 'stream'), 0)").Scan(&assigned)
		if err != nil {
			return err
		}
		to := min(upTo, assigned)
		if keepConsumers {
			var low sql.NullInt64
			if err := w.tx.QueryRowContext(w.ctx, "SELECT min(position) FROM consumers").Scan(&low); err != nil {
				return err
			}
			if low.Valid {
				to = min(to, low.Int64)
			}
		}
		if err := w.tx.QueryRowContext(w.ctx, "SELECT trimmed FROM stream_meta WHERE id = 1").Scan(&mark); err != nil {
			return err
		}
		if to <= mark {
			return nil
		}
		if _, err := w.tx.ExecContext(w.ctx, "DELETE FROM stream WHERE seq <= ?", to); err != nil {
			return err
		}
		if _, err := w.tx.ExecContext(w.ctx, "UPDATE stream_meta SET trimmed = ? WHERE id = 1", to); err != nil {
			return err
		}
		mark = to
		return nil
	})
	if err != nil {
		return 0, db.dbError("stream trim", err)
	}
	return mark, nil
}

func scanConsumer(sc interface{ Scan(...any) error }) (streamdriver.Consumer, error) {
	var c streamdriver.Consumer
	var updated int64
	if err := sc.Scan(&c.Name, &c.Position, &updated); err != nil {
		return c, err
	}
	c.Updated = time.UnixMicro(updated).UTC()
	return c, nil
}

// Consumer returns a consumer's state and whether it exists.
func (db *DB) Consumer(ctx context.Context, name string) (streamdriver.Consumer, bool, error) {
	if err := db.usable(ctx); err != nil {
		return streamdriver.Consumer{}, false, err
	}
	return readOne(ctx, db, "consumer", sqlitedialect.SQLite.Consumer(), scanConsumer, name)
}

// readOne reads at most one row on the reader pool and scans it; a missing
// row is (zero, false, nil).
func readOne[T any](ctx context.Context, db *DB, op, query string, scan func(interface{ Scan(...any) error }) (T, error), args ...any) (T, bool, error) {
	var zero T
	stmt, err := db.readStmt(ctx, query)
	if err != nil {
		return zero, false, db.dbError(op, err)
	}
	v, err := scan(stmt.QueryRowContext(ctx, args...))
	if errors.Is(err, sql.ErrNoRows) {
		return zero, false, nil
	}
	if err != nil {
		return zero, false, db.dbError(op, err)
	}
	return v, true, nil
}

// Consumers returns every consumer, ordered by name.
func (db *DB) Consumers(ctx context.Context) ([]streamdriver.Consumer, error) {
	if err := db.usable(ctx); err != nil {
		return nil, err
	}
	rows, err := db.rdb.QueryContext(ctx, sqlitedialect.SQLite.Consumers())
	if err != nil {
		return nil, db.dbError("consumers", err)
	}
	defer rows.Close()
	out := []streamdriver.Consumer{}
	for rows.Next() {
		c, err := scanConsumer(rows)
		if err != nil {
			return nil, db.dbError("consumers", err)
		}
		out = append(out, c)
	}
	if err := rows.Err(); err != nil {
		return nil, db.dbError("consumers", err)
	}
	return out, nil
}

// CreateConsumer creates name at position (raised to the trim watermark if
// it is below it) if it does not exist, and returns the stored consumer
// either way.
func (db *DB) CreateConsumer(ctx context.Context, name string, position int64, now time.Time) (streamdriver.Consumer, error) {
	if err := db.writable(ctx); err != nil {
		return streamdriver.Consumer{}, err
	}
	var c streamdriver.Consumer
	err := db.submit(ctx, func(w *wtx) error {
		// A new consumer starts no lower than where the stream now starts.
		if _, err := w.tx.ExecContext(w.ctx, sqlitedialect.SQLite.CreateConsumer(), name, position, now.UnixMicro()); err != nil {
			return err
		}
		var err error
		c, err = scanConsumer(w.tx.QueryRowContext(w.ctx, sqlitedialect.SQLite.Consumer(), name))
		return err
	})
	if err != nil {
		return streamdriver.Consumer{}, db.dbError("create consumer", err)
	}
	return c, nil
}

// Commit sets an existing consumer's position; with a fence, only while the
// fence's lease is held with its token at now (checked in the same
// transaction).
func (db *DB) Commit(ctx context.Context, name string, position int64, fence *coredriver.Fence, now time.Time) error {
	if err := db.writable(ctx); err != nil {
		return err
	}
	err := db.submit(ctx, func(w *wtx) error {
		nowU := now.UnixMicro()
		if err := w.checkFence(fence, nowU); err != nil {
			return err
		}
		r, err := w.tx.ExecContext(w.ctx, sqlitedialect.SQLite.CommitConsumer(), position, nowU, name)
		if err != nil {
			return err
		}
		n, err := r.RowsAffected()
		if err != nil {
			return err
		}
		if n == 0 {
			return fmt.Errorf("sqlitekv: consumer %q: %w", name, streamdriver.ErrNoConsumer)
		}
		return nil
	})
	if err != nil && !errors.Is(err, streamdriver.ErrNoConsumer) {
		return db.dbError("commit consumer", err)
	}
	return err
}

// DeleteConsumer deletes a consumer and reports whether it existed.
func (db *DB) DeleteConsumer(ctx context.Context, name string) (bool, error) {
	if err := db.writable(ctx); err != nil {
		return false, err
	}
	return db.deleteOne(ctx, "delete consumer", sqlitedialect.SQLite.DeleteConsumer(), name)
}

// deleteOne runs a DELETE of at most one row through the writer and reports
// whether it deleted one.
func (db *DB) deleteOne(ctx context.Context, op, query string, args ...any) (bool, error) {
	var deleted bool
	err := db.submit(ctx, func(w *wtx) error {
		r, err := w.tx.ExecContext(w.ctx, query, args...)
		if err != nil {
			return err
		}
		n, err := r.RowsAffected()
		deleted = n == 1
		return err
	})
	if err != nil {
		return false, db.dbError(op, err)
	}
	return deleted, nil
}

// Subscribe returns a channel that receives a value after this DB commits
// changes (signals are coalesced). Writes by other processes are not
// signalled (consumers also poll). It is closed when ctx ends or the DB is
// closed.
func (db *DB) Subscribe(ctx context.Context) (<-chan struct{}, error) {
	return db.notify.Subscribe(ctx)
}
